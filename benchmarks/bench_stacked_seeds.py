"""Seeds trained as one stacked model vs one by one: xie2024_kind_diversion and
sun2024_svfit_sigma_finetune at their full-scale model sizes (5 seeds), CPU time in one run
(one thread).

Each claim's ``_reference_one`` (every seed and arm trained on its own, the former path) is
timed against ``_batch`` (the seeds — and, for SVFit, the seeds × tasks — of each arm as one
stacked model, theorylab.nn.stacked) on the full configuration with the step counts divided
by ``--div`` (the full claims keep the same pretraining : downstream step ratio, so the
ratio carries over). Both paths give the same numbers (checked here too).

Run: OMP_NUM_THREADS=1 python benchmarks/bench_stacked_seeds.py [--div 20]
"""

import argparse
import os
import time

import numpy as np
import torch


def _load(name):
    """The verify script of claim ``name``, loaded as the harness loads it."""
    from theorylab.claims import load_claim

    return load_claim(name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--div", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(1)
    for name in ("sun2024_svfit_sigma_finetune", "xie2024_kind_diversion"):
        mod = _load(name)
        cfg = dict(mod.SIZES["full"])
        seeds = list(range(cfg.pop("seeds")))
        for k in ("pre_steps", "steps"):
            cfg[k] //= a.div
        cfg["device"] = "cpu"
        cfg = {k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items()}
        mod._batch(**dict(cfg, pre_steps=2, steps=2), seeds=seeds[:1])  # warm-up
        t0 = time.process_time()
        ref = [mod._reference_one(**cfg, seed=s) for s in seeds]
        old = time.process_time() - t0
        t0 = time.process_time()
        fast = mod._batch(**cfg, seeds=seeds)
        new = time.process_time() - t0
        err = max(float(np.abs(fast[k][i] - r[k]).max()) for i, r in enumerate(ref) for k in r)
        print(f"{name}: load {os.getloadavg()[0]:.1f}, steps / {a.div}: one by one "
              f"{old:.2f} s, stacked {new:.2f} s CPU, ratio {old / new:.2f}; "
              f"max |difference| {err:.1e}")


if __name__ == "__main__":
    main()
