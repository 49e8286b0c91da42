"""NPO synthetic claim: the unlearning runs of all draws at once (stacked output layers, one
backward pass) against ``rf_unlearn`` once per draw, CPU time in one run.

The full-scale problem (5 draws at α = 1, pretrained with ``--pretrain-steps`` GD steps; the
claim uses 20 000 — the pretraining is the same code in both paths and timed apart), every
(method, lr, β) run of the full claim's trial, ``--steps`` unlearning steps each (the claim
runs 2000). Prints CPU seconds (one thread) of both paths, their ratio, the pretraining time
per draw and the projected ratio of a full trial (pretraining + 2000 steps), and the largest
relative difference of the curves (the paths agree to rounding).

Run: OMP_NUM_THREADS=1 python benchmarks/bench_zhang2024_npo_synthetic_batched.py [--steps 400]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from theorylab.claims import load_claim
from theorylab.unlearning.llm.synthetic_rf import PAPER_RATES, make_rf_problem, rf_unlearn


def main(argv=None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--pretrain-steps", type=int, default=20_000)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    v = load_claim("zhang2024_npo_synthetic_collapse")
    cfg = v.SIZES["full"]
    prob = dict(cfg["problem"], pretrain_steps=args.pretrain_steps)
    t = time.process_time()
    ps = [make_rf_problem(alpha=1.0, rng=np.random.default_rng(1000 + k), **prob)
          for k in range(cfg["seeds"])]
    t_pre = (time.process_time() - t) / len(ps)
    runs = sorted({(m, *PAPER_RATES[table][m]) for table in ("active", "alpha1")
                   for m in cfg["methods"] if m in PAPER_RATES[table]}, key=str)
    t_old = t_new = 0.0
    worst = 0.0
    for m, lr, beta in runs:
        t = time.process_time()
        new = v._rf_unlearn_seeds(ps, m, lr=lr, beta=beta, steps=args.steps, eval_every=25)
        t_new += time.process_time() - t
        t = time.process_time()
        old = [rf_unlearn(p, m, lr=lr, beta=beta, steps=args.steps, eval_every=25) for p in ps]
        t_old += time.process_time() - t
        for a, b in zip(new, old, strict=True):
            worst = max(worst, float(np.max(np.abs(a["forget_quality"] - b.forget_quality)
                                            / np.abs(b.forget_quality))))
    scale = 2000 / args.steps
    full_old = len(ps) * t_pre + scale * t_old
    full_new = len(ps) * t_pre + scale * t_new
    print(f"{len(runs)} runs x {len(ps)} draws, {args.steps} steps: old {t_old:.2f} s, new "
          f"{t_new:.2f} s CPU, ratio {t_old / t_new:.2f}; max relative difference {worst:.1e}")
    print(f"pretraining {t_pre:.2f} s per draw; projected trial (2000 steps) old "
          f"{full_old:.1f} s, new {full_new:.1f} s, ratio {full_old / full_new:.2f}")
    print(f"load average {os.getloadavg()[0]:.1f}")
    return {"unlearning": t_old / t_new, "trial": full_old / full_new}


if __name__ == "__main__":
    main()
