"""Benchmark: closed-form cubic roots (theorylab.gamp.fast) vs the companion-matrix originals.

Same process, back to back, CPU time, one BLAS thread:
1. GAMP-RIE solves like the phase-diagram claim (d = 100, near α_PR, up to 150 iterations)
   and like the GAMP-vs-theory claim (d = 200, α = 0.3, δ = 0.25, 30 iterations);
2. the Bayes-optimal MMSE on a 30-point α grid (the claims' theory curves);
Each pair is checked to agree (GAMP error curves to 1e-9, MMSE to 1e-10 relative).

Run: OMP_NUM_THREADS=1 python benchmarks/bench_maillard2024_gamp_rie_fast.py
"""

import os
import time
import warnings

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

from theorylab.gamp import (  # noqa: E402
    bayes_optimal_mmse,
    fast,  # noqa: E402
    perfect_recovery_threshold,
    sample_quadratic_network,
    solve_gamp_rie,
)
from theorylab.results import ConvergenceWarning  # noqa: E402


def cpu(fn):
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def main():
    print(f"load average {os.getloadavg()[0]:.1f}")
    fast.bayes_optimal_mmse_fast(0.2, 0.3)  # compile / load the kernel
    warnings.simplefilter("ignore", ConvergenceWarning)
    runs = [(100, 0.2, a, 0.0, 150) for a in (0.13, 0.18, 0.23)]
    runs += [(100, 0.5, a, 0.0, 150) for a in (0.3, 0.35, 0.4)]
    runs += [(200, 0.5, 0.3, 0.25, 30)]
    tot = {"orig": 0.0, "fast": 0.0}
    for d, kappa, alpha, delta, it in runs:
        tiny = sample_quadratic_network(8, alpha=0.3, kappa=kappa, rng=0)
        for solve in (solve_gamp_rie, fast.solve_gamp_rie_fast):  # per-κ tables, untimed
            solve(tiny.X, tiny.y, kappa=kappa, max_iter=1, rng=0)
        inst = sample_quadratic_network(d, alpha=alpha, kappa=kappa, delta=delta, rng=0)
        kw = dict(kappa=kappa, delta=delta, max_iter=it, rng=1, S_star=inst.S_star)
        t0, a = cpu(lambda: solve_gamp_rie(inst.X, inst.y, **kw))  # noqa: B023
        t1, b = cpu(lambda: fast.solve_gamp_rie_fast(inst.X, inst.y, **kw))  # noqa: B023
        assert np.allclose(a.history["mse"], b.history["mse"], rtol=1e-9, atol=1e-12)
        tot["orig"] += t0
        tot["fast"] += t1
        print(f"[1] d={d} kappa={kappa} alpha={alpha} delta={delta}: {a.n_iter} iterations, "
              f"original {t0:.3f} s, fast {t1:.3f} s, ratio {t0 / t1:.2f}x")
    print(f"[1] all solves: original {tot['orig']:.2f} s, fast {tot['fast']:.2f} s, ratio "
          f"{tot['orig'] / tot['fast']:.2f}x")
    a_pr = perfect_recovery_threshold(0.5)
    grid = np.linspace(0.3 * a_pr, 0.999 * a_pr, 30)
    t0, m0 = cpu(lambda: bayes_optimal_mmse(grid, 0.5))
    t1, m1 = cpu(lambda: fast.bayes_optimal_mmse_fast(grid, 0.5))
    assert np.allclose(m0, m1, rtol=1e-10, atol=1e-13)
    print(f"[2] MMSE on 30 alphas (kappa=0.5): original {t0:.2f} s, fast {t1:.2f} s, ratio "
          f"{t0 / t1:.1f}x")


if __name__ == "__main__":
    main()
