"""The speed-ups of the unlearnable-data claims, each as a ratio against its slow twin in the
same run (CPU time, one thread):

1. CUDA protection of 10 000 Fashion-MNIST-sized images (1 × 28 × 28, one 3 × 3 filter per
   image): the fused numba kernel vs the NumPy padding + per-tap products + normalisation
   (the outputs are checked to be bitwise equal).
2. Clean evaluation of the harness CNN on 10 000 images: 256-row batches under
   ``inference_mode`` vs the harness's ``predict_logits`` (4096-row batches).
3. The learners of ``bayes2025_unlearnable_examples_mix``: 10 MLPs 64-128-64-10 on 1257 rows
   each (batch 64, Adam 1e-3), trained one after the other with ``train_model`` vs as one
   stacked model (``train_mlps_stacked``); ``--epochs`` of the claim's 50 (the cost is linear
   in the epochs).

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_unlearnable_speed.py [--epochs 5]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from theorylab.unlearnable import cuda
from theorylab.unlearnable.batched import stacked_logits, train_mlps_stacked
from theorylab.unlearnable.reference import (
    convolve_normalise_fast,
    convolve_normalise_numpy,
    predict_logits_batched,
)
from theorylab.unlearning.models import Recipe, build_model, predict_logits, train_model


def cpu(fn):
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.1f}")

    rng = np.random.default_rng(0)
    X = np.floor(rng.random((10_000, 1, 28, 28)) * 256) / 255
    F = cuda.random_filters(10_000, generator=1)
    convolve_normalise_fast(X[:2], F[:2], True)  # compile / load the cache
    t_ref, ref = cpu(lambda: convolve_normalise_numpy(X, F, True))
    t_new, new = cpu(lambda: convolve_normalise_fast(X, F, True))
    assert np.array_equal(ref, new)
    print(f"1. CUDA convolution, 10 000 × 28 × 28: numpy {t_ref:.3f} s, numba {t_new:.3f} s, "
          f"ratio {t_ref / t_new:.1f}x (bitwise equal)")

    m = build_model(Recipe(arch="cnn"), 784, 10, generator=torch.Generator().manual_seed(0),
                    image_shape=(1, 28, 28))
    Xt = torch.rand(10_000, 784, generator=torch.Generator().manual_seed(1))
    t_ref, a = cpu(lambda: predict_logits(m, Xt))
    t_new, b = cpu(lambda: predict_logits_batched(m, Xt))
    assert torch.equal(a.argmax(1), b.argmax(1))
    print(f"2. CNN evaluation, 10 000 images: batch 4096 {t_ref:.3f} s, batch 256 "
          f"{t_new:.3f} s, ratio {t_ref / t_new:.1f}x")

    rec = Recipe(arch="mlp", hidden=(128, 64), epochs=args.epochs, lr=1e-3, batch_size=64)
    g = torch.Generator().manual_seed(2)
    M, n, d = 10, 1257, 64
    Xs = [torch.rand(n, d, generator=g) for _ in range(M)]
    y = torch.randint(0, 10, (n,), generator=g)
    G = lambda s: torch.Generator().manual_seed(s)  # noqa: E731

    def separate():
        out = []
        for k in range(M):
            mdl = build_model(rec, d, 10, generator=G(k))
            train_model(mdl, Xs[k], y, recipe=rec, generator=G(100 + k))
            out.append(mdl)
        return out

    def stacked():
        return train_mlps_stacked(rec, Xs, y, n_out=10, init_generators=[G(k) for k in range(M)],
                                  order_generators=[G(100 + k) for k in range(M)])

    stacked()  # warm-up
    t_ref, _ = cpu(separate)
    t_new, models = cpu(stacked)
    stacked_logits(models, Xs[0])
    print(f"3. 10 MLPs × {args.epochs} epochs on 1257 rows: one by one {t_ref:.2f} s, stacked "
          f"{t_new:.2f} s, ratio {t_ref / t_new:.1f}x")


if __name__ == "__main__":
    main()
