"""Per-iteration timing of the ADMM (iteration-cost claim): the solver run to max_iter (which
certifies its final iterate, and attempts certificates on the way) against the certificate-free
timer ``time_admm_iterations``, in the same run (CPU seconds, one thread).

Setting of the claim: synthetic classification, d = 10 (+ bias), P = n/20, beta = 1e-2, fixed
rho, 100 iterations with a check every 10. Prints CPU seconds of each route and the measured
CPU seconds per iteration (fastest 10-iteration block) of the timer.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_bai2022_iteration_timer.py [--ns 1000 2000]
"""

import argparse
import time
import warnings

import numpy as np

from theorylab.convex_relu import (
    ConvergenceWarning,
    sample_activation_patterns,
    solve_convex_relu_admm,
)
from theorylab.convex_relu.data import synthetic_classification
from theorylab.convex_relu.timing import time_admm_iterations


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", type=int, nargs="+", default=[1000, 2000])
    ap.add_argument("--iters", type=int, default=100)
    args = ap.parse_args()
    for n in args.ns:
        X, y = synthetic_classification(n, n_features=10, rng=1)
        D = sample_activation_patterns(X, max(2, n // 20), rng=0)
        time_admm_iterations(X, y, beta=1e-2, patterns=D, iters=10)  # compile / warm up
        t0 = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            solve_convex_relu_admm(X, y, beta=1e-2, patterns=D, adaptive_rho=False,
                                   tol=1e-300, max_iter=args.iters, check_every=10)
        t1 = time.process_time()
        h = time_admm_iterations(X, y, beta=1e-2, patterns=D, iters=args.iters)
        t2 = time.process_time()
        per_it = float(np.min(np.diff(h["cpu_time"]) / np.diff(h["iteration"])))
        print(f"n={n:5d} P={D.shape[1]:4d}  solver {t1 - t0:8.2f} s  timer {t2 - t1:6.2f} s  "
              f"ratio {(t1 - t0) / (t2 - t1):6.1f}x  timer s/iteration {per_it:.2e}", flush=True)


if __name__ == "__main__":
    main()
