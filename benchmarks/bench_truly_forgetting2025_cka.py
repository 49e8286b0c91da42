"""Linear CKA on 10⁴ × 512 features: the feature-space estimator versus the plain
two-Gram-matrix implementation (n × n Gram matrices, centred, Frobenius inner products).

Both compute the same number (debiased and biased forms; the script checks agreement to
1e-9). Target: the feature-space ``linear_cka`` under 1 s at n = 10⁴, d = 512. The peer
needs two n × n float64 matrices (800 MB each at n = 10⁴). Prints wall and CPU seconds (best
of ``--repeats``, interleaved) and the ratio. Also times the SAE of the restoration module
(:func:`train_sae`, 2 × 128 latents, k = 8, on 1 257 × 128 activations, 20 epochs) for the
note. Run: ``python benchmarks/bench_truly_forgetting2025_cka.py [--n 10000] [--d 512]
[--repeats 3]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from theorylab.unlearning.representation import linear_cka, linear_cka_gram


def _time(fn) -> tuple[float, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    v = fn()
    return time.perf_counter() - t0, time.process_time() - c0, v


def main(argv=None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-sae", action="store_true")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, args.d))
    Y = np.tanh(X @ rng.standard_normal((args.d, args.d)) / np.sqrt(args.d)) \
        + 0.5 * rng.standard_normal((args.n, args.d))
    out: dict[str, float] = {"n": args.n, "d": args.d}
    for debiased in (True, False):
        tag = "debiased" if debiased else "biased"
        fast, peer = [], []
        for _ in range(args.repeats):
            fast.append(_time(lambda b=debiased: linear_cka(X, Y, debiased=b)))
            peer.append(_time(lambda b=debiased: linear_cka_gram(X, Y, debiased=b)))
        if abs(fast[0][2] - peer[0][2]) > 1e-9:
            raise AssertionError(f"{tag}: feature-space {fast[0][2]!r} != Gram {peer[0][2]!r}")
        out[f"{tag}_cka"] = fast[0][2]
        out[f"{tag}_fast_s"] = min(w for w, _, _ in fast)
        out[f"{tag}_fast_cpu_s"] = min(c for _, c, _ in fast)
        out[f"{tag}_gram_s"] = min(w for w, _, _ in peer)
        out[f"{tag}_gram_cpu_s"] = min(c for _, c, _ in peer)
        out[f"{tag}_speedup"] = out[f"{tag}_gram_s"] / out[f"{tag}_fast_s"]
        print(f"{tag:9s} CKA = {fast[0][2]:.6f}: feature space {out[f'{tag}_fast_s']:.3f} s "
              f"(cpu {out[f'{tag}_fast_cpu_s']:.3f}), two Gram matrices "
              f"{out[f'{tag}_gram_s']:.3f} s (cpu {out[f'{tag}_gram_cpu_s']:.3f}); "
              f"ratio {out[f'{tag}_speedup']:.1f}x")
    if not args.no_sae:
        import torch

        from theorylab.unlearning.restoration import train_sae

        torch.set_num_threads(1)
        H = torch.relu(torch.randn(1257, 128, generator=torch.Generator().manual_seed(0)))
        w, c, _ = _time(lambda: train_sae(H, n_latents=256, k=8, epochs=20,
                                          generator=torch.Generator().manual_seed(1)))
        out["sae_s"], out["sae_cpu_s"] = w, c
        print(f"TopK SAE 128 -> 256 (k = 8), 1257 rows, 20 epochs: {w:.2f} s (cpu {c:.2f})")
    return out


if __name__ == "__main__":
    main()
