"""Benchmarks for theorylab.dynamics, as ratios against the peers measured in the same run.

1. A 200-point E_g/E_tr curve: vectorised Gauss–Legendre (ours) vs per-point adaptive
   quadrature (scipy.integrate.quad, the way the curves are usually written by hand).
   Target: ≤ 20 ms, ≥ 40× faster.
2. Exact gradient flow at N = 1000, α = 2, 30 time points (ours: one eigh) vs time-stepped
   gradient descent to t = 100 at η = 0.1 (1000 steps). Target: ≥ 2× faster, and exact.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_advani2017_dynamics.py
"""

import time
import warnings

import numpy as np

from theorylab.dynamics import _reference as ref
from theorylab.dynamics import gd_error_curves, simulate_gradient_flow


def best_of(fn, repeat=3):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def main():
    t = np.logspace(-1, 3, 200)
    ours = best_of(lambda: gd_error_curves(2.0, 5.0, t))
    kw = dict(teacher_var=1.0, noise_var=0.2, sigma0_sq=0.0)

    def peer():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for x in t:
                ref.gen_error_quad(2.0, x, **kw)
                ref.train_error_quad(2.0, x, **kw)

    quad = best_of(peer, repeat=1)
    print(f"curve, 200 points: GL {ours * 1e3:.2f} ms, adaptive quad {quad * 1e3:.0f} ms, "
          f"speed-up {quad / ours:.0f}x (target >= 40x, <= 20 ms)")

    N, P = 1000, 2000
    times = np.linspace(0.1, 100, 30)
    flow = best_of(lambda: simulate_gradient_flow(N, P, times, snr=5.0, rng=0), repeat=2)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, P)) / np.sqrt(N)
    w_bar = rng.standard_normal(N)
    y = X.T @ w_bar + rng.standard_normal(P) * np.sqrt(0.2)
    gd = best_of(lambda: ref.gradient_descent_errors(X, y, w_bar, np.zeros(N), lr=0.1, steps=1000,
                                                     noise_var=0.2), repeat=1)
    print(f"gradient flow N={N}, P={P}: exact {flow:.3f} s, time-stepped GD (1000 steps) "
          f"{gd:.3f} s, ratio {gd / flow:.1f}x (target >= 2x)")


if __name__ == "__main__":
    main()
