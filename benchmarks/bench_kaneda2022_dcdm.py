"""Benchmark: DCDM wall time vs AMG-PCG and CG on 2-D Poisson at 64² and 128².

A DCDM U-Net (16 channels, 3 pooling levels) is trained at 32² (its training time is printed
apart: it is paid once per system family, not per solve). Then, on the same right-hand sides
(Gaussian bumps, unit norm) and in the same run, every solver reaches ‖r‖/‖b‖ < 1e-4:
DCDM (one network forward per iteration, torch on one CPU thread), CG, SGS-PCG, IC(0)-PCG and
pyamg's smoothed-aggregation / Ruge–Stüben AMG-PCG (set-up included). Wall time = best of
``--repeats`` of set-up + solve, averaged over ``--rhs`` sources. Prints iterations, times and
the ratios DCDM / AMG-SA and DCDM / CG: is DCDM's iteration advantage a time advantage?

Run: ``python benchmarks/bench_kaneda2022_dcdm.py [--steps 600 --repeats 3 --rhs 3]``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np


def _best(fn, repeats):
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main(argv=None) -> int:
    import torch

    from theorylab.precond import (
        DCDMNet,
        bump_rhs,
        make_preconditioner,
        net_direction,
        poisson_system,
        ritz_rhs,
        solve_dcdm,
        solve_pcg,
        train_dcdm_net,
    )
    from theorylab.results import ConvergenceWarning

    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rhs", type=int, default=3)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()[0]:.1f}; torch threads 1")
    train_sys = poisson_system((32, 32))
    gen = torch.Generator().manual_seed(0)
    net = DCDMNet(2, channels=16, levels=3, generator=gen)
    tr = train_dcdm_net(net, train_sys, ritz_rhs(train_sys, 1000, rng=0), steps=a.steps,
                        batch_size=16, lr=1e-3, generator=gen)
    print(f"DCDM training at 32^2: {a.steps} steps, {tr.train_time:.1f} s, "
          f"final loss {tr.final_loss:.2e}")
    peers = {"cg": "none", "pcg-sgs": "sgs", "pcg-ic0": "ic0", "pcg-amg_sa": "amg_sa",
             "pcg-amg_rs": "amg_rs"}
    make_preconditioner(train_sys.A, "ic0")  # numba cache load and pyamg import outside
    make_preconditioner(train_sys.A, "sgs")
    make_preconditioner(train_sys.A, "amg_sa")
    for n in (64, 128):
        s = poisson_system((n, n))
        times = {m: [] for m in ("dcdm", *peers)}
        iters = {m: [] for m in times}
        dir_share = []
        for k in range(a.rhs):
            b = bump_rhs(s, rng=k)

            def dcdm(b=b, s=s):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    return solve_dcdm(s.A, b, net_direction(tr.net, s), tol=1e-4, max_iter=300)

            t, r = _best(dcdm, a.repeats)
            times["dcdm"].append(t)
            iters["dcdm"].append(r.n_iter)
            dir_share.append(r.direction_time / r.solve_time)
            for m, kind in peers.items():
                t, r = _best(lambda kind=kind, b=b, s=s: solve_pcg(
                    s.A, b, preconditioner=kind, tol=1e-4), a.repeats)
                times[m].append(t)
                iters[m].append(r.n_iter)
        print(f"\n{n}^2 ({s.n} unknowns), mean over {a.rhs} sources:")
        print(f"  {'method':<12}{'iterations':>11}{'wall s':>10}{'per it ms':>11}")
        for m in times:
            it, t = np.mean(iters[m]), np.mean(times[m])
            print(f"  {m:<12}{it:>11.1f}{t:>10.4f}{1e3 * t / max(it, 1):>11.3f}")
        td, ta, tc = (np.mean(times[m]) for m in ("dcdm", "pcg-amg_sa", "cg"))
        print(f"  DCDM / AMG-SA wall time: {td / ta:.2f}x; DCDM / CG: {td / tc:.2f}x; "
              f"network share of DCDM time {np.mean(dir_share):.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
