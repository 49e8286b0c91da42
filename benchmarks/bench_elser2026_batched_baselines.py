"""Gradient baselines of the generalisation claim: S splits one by one against S splits as
members of one batched model, in the same run (CPU time, one thread).

Full-scale point: rule 30 on 8 cells (network 8-16-16-8), N = 128 training items,
``--splits`` 5, ``--steps`` of each baseline (the claim uses 2000; the time is linear in it).
Prints the CPU seconds of each route per baseline and the ratio.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_elser2026_batched_baselines.py [--steps 500]
"""

import argparse
import time

import numpy as np
import torch

from theorylab.boolean import cellular_automaton_task
from theorylab.boolean.baselines import train_penalized_mlp, train_ste_network
from theorylab.boolean.batched_baselines import train_penalized_mlps, train_ste_networks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--n-train", type=int, default=128)
    args = ap.parse_args()
    torch.set_num_threads(1)
    X, Y = cellular_automaton_task(30, 8)
    widths = (8, 16, 16, 8)
    idx = [np.random.default_rng(s).permutation(len(X))[:args.n_train]
           for s in range(args.splits)]
    Xs, Ys = [X[i] for i in idx], [Y[i] for i in idx]
    gens = lambda: [torch.Generator().manual_seed(s) for s in range(args.splits)]  # noqa: E731
    routes = {
        "ste": (lambda: [train_ste_network(widths, Xs[s], Ys[s], steps=args.steps, generator=g)
                         for s, g in enumerate(gens())],
                lambda: train_ste_networks(widths, Xs, Ys, steps=args.steps,
                                           generators=gens())),
        "adamw": (lambda: [train_penalized_mlp(widths, Xs[s], Ys[s], steps=args.steps,
                                               penalty=False, generator=g)
                           for s, g in enumerate(gens())],
                  lambda: train_penalized_mlps(widths, Xs, Ys, steps=args.steps, penalty=False,
                                               generators=gens())),
        "penalized": (lambda: [train_penalized_mlp(widths, Xs[s], Ys[s], steps=args.steps,
                                                   penalty=True, generator=g)
                               for s, g in enumerate(gens())],
                      lambda: train_penalized_mlps(widths, Xs, Ys, steps=args.steps,
                                                   penalty=True, generators=gens())),
    }
    tot_s = tot_b = 0.0
    for name, (separate, batched) in routes.items():
        t0 = time.process_time()
        separate()
        t1 = time.process_time()
        batched()
        t2 = time.process_time()
        tot_s += t1 - t0
        tot_b += t2 - t1
        print(f"{name:10s} separate {t1 - t0:7.2f} s  batched {t2 - t1:7.2f} s  "
              f"ratio {(t1 - t0) / (t2 - t1):5.2f}x")
    print(f"{'all':10s} separate {tot_s:7.2f} s  batched {tot_b:7.2f} s  "
          f"ratio {tot_s / tot_b:5.2f}x  ({args.splits} splits, {args.steps} steps)")


if __name__ == "__main__":
    main()
