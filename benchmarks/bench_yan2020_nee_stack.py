"""Training cost of the two NEE claims: the arms (and seeds) trained as one stacked model
against the same members trained one by one, CPU time in one run.

For each claim the full-scale configuration is run for ``--steps`` optimiser steps (the
claims run 3000) twice, interleaved: the claim's ``_train_group`` (one
:class:`~theorylab.seq.nee_stack.StackedExecutor`, fused Adam) and its slow twin
``_reference_train_and_test`` called once per member. Both include the claim's evaluation.
Prints CPU seconds (``time.process_time``, one thread), the old / new ratio and the projected
seconds of the claim's 3000 steps.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_yan2020_nee_stack.py [--steps 150]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from theorylab.claims import load_claim


def _cpu(fn):
    t = time.process_time()
    fn()
    return time.process_time() - t


def main(argv=None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    out = {}

    add = load_claim("yan2020_nee_binary_addition")
    cfg = dict(add.SIZES["full"], steps=args.steps)
    kw = {k: cfg[k] for k in ("bits", "d_model", "n_layers", "n_heads", "steps", "batch", "lr",
                              "n_test")}
    kw["device"] = "cpu"
    seeds = cfg["seeds"]

    def add_new():
        add._train_group(**kw, seed=0, arms=add.ARMS, n_seeds=seeds)

    def add_old():
        for e in add.ARMS:
            for k in range(seeds):
                add._reference_train_and_test(e, **kw, seed=k)

    srt = load_claim("yan2020_nee_sort_length")
    cfg = dict(srt.SIZES["full"], steps=args.steps)
    kw2 = {k: cfg[k] for k in ("d_model", "n_layers", "n_heads", "d_ff", "steps", "batch",
                               "train_len", "lengths", "n_test", "lr")}
    kw2["device"] = "cpu"

    def sort_new():
        srt._train_group(**kw2, seed=0, arms=srt.ARMS)

    def sort_old():
        for a in srt.ARMS:
            srt._reference_train_and_test(a, **kw2, seed=0)

    for name, old, new in (("binary_addition", add_old, add_new),
                           ("sort_length", sort_old, sort_new)):
        t_old, t_new = [], []
        for _ in range(args.repeats):
            t_old.append(_cpu(old))
            t_new.append(_cpu(new))
        o, n = min(t_old), min(t_new)
        out[name] = o / n
        print(f"{name}: {args.steps} steps, old {o:.2f} s, new {n:.2f} s CPU, ratio {o / n:.2f}")
    print(f"load average {os.getloadavg()[0]:.1f}")
    return out


if __name__ == "__main__":
    main()
