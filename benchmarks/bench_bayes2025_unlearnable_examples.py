"""Leave-one-out RBF Bayes-error surrogate, value and gradient: the chunked estimator versus
the plain dense transcription (``torch.cdist``, the kernel matrix with its diagonal zeroed,
posteriors as ratios of sums), and one BEO run.

Both compute the same surrogate (the script checks agreement to 1e-8 relative, gradients
included). The dense peer holds several n × n matrices in the autograd graph; the chunked
estimator holds one ``chunk_size × n`` block at a time and recomputes it in the backward pass.
Prints wall seconds (best of ``--repeats``, interleaved), the ratio and the peak size of the
kernel blocks. Also times one pixel-space BEO run (100 steps) on the protected half of the
digits (628 × 64). Run: ``python benchmarks/bench_bayes2025_unlearnable_examples.py
[--n 628 4000] [--d 64] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from theorylab.unlearnable.bayes_error import bayes_error_surrogate, median_heuristic_sigma
from theorylab.unlearnable.beo import beo_perturb


def dense_surrogate(f: torch.Tensor, y: torch.Tensor, sigma: float) -> torch.Tensor:
    """The estimator written directly from its definition (the peer)."""
    K = torch.exp(-torch.cdist(f, f) ** 2 / (2 * sigma**2))
    K = K * (1 - torch.eye(f.shape[0], dtype=f.dtype))
    onehot = torch.nn.functional.one_hot(y).to(f.dtype)
    eta = (K @ onehot) / K.sum(1, keepdim=True)
    yhat = eta.detach().argmax(1)
    return (1 - eta.gather(1, yhat[:, None])).sum()


def _time(fn):
    t0 = time.perf_counter()
    v = fn()
    return time.perf_counter() - t0, v


def _value_and_grad(fn, f):
    g = f.clone().requires_grad_(True)
    s = fn(g)
    s.backward()
    return float(s.detach()), g.grad


def main(argv=None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[628, 4000])
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    out: dict[str, float] = {}
    for n in args.n:
        rng = np.random.default_rng(0)
        y = torch.as_tensor(rng.integers(0, 10, n))
        f = torch.as_tensor(rng.standard_normal((10, args.d))[y.numpy()]
                            + 1.5 * rng.standard_normal((n, args.d)))
        s = median_heuristic_sigma(f)
        def chunked(g, y=y, s=s):
            return bayes_error_surrogate(g, y, sigma=s, chunk_size=args.chunk)

        def dense(g, y=y, s=s):
            return dense_surrogate(g, y, s)

        ours, peer = [], []
        for _ in range(args.repeats):
            ours.append(_time(lambda f=f: _value_and_grad(chunked, f)))
            peer.append(_time(lambda f=f: _value_and_grad(dense, f)))
        (v1, g1), (v2, g2) = ours[0][1], peer[0][1]
        if abs(v1 - v2) > 1e-8 * abs(v2) or not torch.allclose(g1, g2, rtol=1e-6, atol=1e-9):
            raise AssertionError(f"n={n}: chunked {v1!r} != dense {v2!r} (or gradients differ)")
        t_ours, t_peer = min(t for t, _ in ours), min(t for t, _ in peer)
        out[f"n{n}_chunked_s"], out[f"n{n}_dense_s"] = t_ours, t_peer
        out[f"n{n}_ratio"] = t_peer / t_ours
        print(f"n = {n}, d = {args.d}: value + gradient, chunked ({args.chunk} rows) "
              f"{t_ours:.3f} s, dense peer {t_peer:.3f} s; ratio {t_peer / t_ours:.2f}x; "
              f"kernel block {args.chunk * n * 8 / 1e6:.1f} MB vs {n * n * 8 / 1e6:.1f} MB")
    from theorylab.unlearning.data import load_digits_split

    d = load_digits_split(rng=0)
    X = torch.as_tensor(d.X_train[::2])
    yy = torch.as_tensor(d.y_train[::2])
    t, r = _time(lambda: beo_perturb(X, yy, eps=4 / 16, n_steps=100))
    out["beo_pixel_100_steps_s"] = t
    print(f"BEO pixel, {X.shape[0]} x {X.shape[1]}, 100 steps: {t:.2f} s; estimate "
          f"{r.history['error'][0]:.3f} -> {r.history['error'][-1]:.3f}")
    return out


if __name__ == "__main__":
    main()
