"""Claim-level speed-ups of zhao2024_sst_spectral and modoranu2025_dct_lowrank_training:
the former path vs the new one, CPU time in one run (one thread).

- zhao2024: one 128 × 17 character batch by ``char_batches`` (a Python loop over the rows)
  vs ``_next_char_batch`` (one gather; same draw, same windows), per call.
- modoranu2025: ``steps`` steps of the full-scale MLP (64-256-256-10, batch 64) for 5 seeds,
  one ``_train`` per seed vs one ``_train_seeds`` call (the seeds as one batched MLP with a
  batched low-rank Adam), for the SVD and the DCT reference (gap 1) arms at r = 8.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_nn_claims_speed.py [--steps 150]
"""

import argparse
import os
import time

import torch


def _load(name):
    """The verify script of claim ``name``, loaded as the harness loads it."""
    from theorylab.claims import load_claim

    return load_claim(name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=150)
    a = ap.parse_args()
    torch.set_num_threads(1)
    from theorylab.nn.data import char_batches, char_corpus

    zhao = _load("zhao2024_sst_spectral")
    codes, _ = char_corpus(400_000)
    codes_t = torch.as_tensor(codes)
    n = 300
    g = torch.Generator().manual_seed(0)
    t0 = time.process_time()
    for _ in range(n):
        char_batches(codes, batch_size=128, block=17, generator=g)
    old = (time.process_time() - t0) / n
    t0 = time.process_time()
    for _ in range(n):
        zhao._next_char_batch(codes_t, ctx=16, batch_size=128, generator=g)
    new = (time.process_time() - t0) / n
    print(f"load {os.getloadavg()[0]:.1f}; zhao char batch: char_batches {old * 1e3:.2f} ms, "
          f"gather {new * 1e3:.3f} ms ({old / new:.0f}x); saves {old * 24_000:.0f} s over the "
          "full claim's 12 x 2000 steps")

    mod = _load("modoranu2025_dct_lowrank_training")
    seeds = list(range(5))
    mod._train("svd", 8, 256, 2, 50, "cpu", 0)  # warm-up (imports, data)
    for arm in ("svd", "dct_gap1"):
        t0 = time.process_time()
        for s in seeds:
            mod._train(arm, 8, 256, a.steps, 50, "cpu", s)
        sep = time.process_time() - t0
        t0 = time.process_time()
        mod._train_seeds(arm, 8, 256, a.steps, 50, "cpu", seeds)
        bat = time.process_time() - t0
        print(f"load {os.getloadavg()[0]:.1f}; modoranu {arm} r=8, {a.steps} steps x 5 seeds: "
              f"separate {sep:.2f} s, batched {bat:.2f} s ({sep / bat:.2f}x)")


if __name__ == "__main__":
    main()
