"""Benchmark: tensor-free GAMP-RIE vs the notebook's tensor form of the same iteration.

Prints, from ONE run on this machine (single-threaded BLAS):
1. a full d = 200 solve (κ = 0.5, α = 0.3, δ = 0): wall time, iterations, peak memory;
2. at the largest d whose tensor {uX_μ} (α d⁴ · 8 bytes, about twice that at peak) fits
   the memory budget: the same fixed number of iterations with both implementations
   (identical iterates, checked), time and peak-memory ratios;
3. the per-iteration quadratic forms: numba kernel vs a plain NumPy einsum on X Ŝ.

Peak memory is measured with tracemalloc (NumPy reports its buffers to it).

Usage: python benchmarks/bench_maillard2024_gamp_rie.py [--budget-gb 1.5] [--iters 15]
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
import warnings

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

from theorylab.gamp import (  # noqa: E402
    denoising_mmse,
    sample_quadratic_network,
    solve_gamp_rie,
)
from theorylab.gamp.reference import (  # noqa: E402
    gamp_rie_tensor,
    quadratic_forms_kernel,
    warm_up,
)
from theorylab.results import ConvergenceWarning  # noqa: E402

KAPPA, ALPHA = 0.5, 0.3


def measure(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, peak / 2**20


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--budget-gb", type=float, default=1.5)
    p.add_argument("--iters", type=int, default=15)
    p.add_argument("--d-full", type=int, default=200)
    a = p.parse_args(argv)
    warm_up()
    denoising_mmse(0.1, kappa=KAPPA)  # build the per-kappa table outside the timings

    inst = sample_quadratic_network(a.d_full, alpha=ALPHA, kappa=KAPPA, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res, dt, peak = measure(lambda: solve_gamp_rie(inst.X, inst.y, kappa=KAPPA, rng=1,
                                                       max_iter=100, S_star=inst.S_star))
    n = inst.X.shape[0]
    print(f"[1] tensor-free d={a.d_full}, n={n}: {dt:.2f} s, {res.n_iter} iterations "
          f"({dt / res.n_iter * 1e3:.0f} ms/iter), converged={res.converged}, "
          f"MSE={res.mse:.4f}, peak {peak:.1f} MiB (X alone {inst.X.nbytes / 2**20:.1f} MiB; "
          f"the tensor would need {ALPHA * a.d_full**4 * 8 / 2**30:.1f} GiB)")

    # largest d (multiple of 10) whose tensor fits the budget at ~2x (einsum + division copy)
    d_t = 10
    while 2 * ALPHA * (d_t + 10) ** 4 * 8 <= a.budget_gb * 2**30:
        d_t += 10
    inst = sample_quadratic_network(d_t, alpha=ALPHA, kappa=KAPPA, rng=2)
    kw = dict(kappa=KAPPA, rng=3, max_iter=a.iters, tol=1e-300, S_star=inst.S_star)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fast, t_fast, m_fast = measure(lambda: solve_gamp_rie(inst.X, inst.y, **kw))
    (S_ref, _, it), t_ref, m_ref = measure(lambda: gamp_rie_tensor(inst.X, inst.y, **kw))
    same = np.allclose(S_ref, fast.S, rtol=1e-8, atol=1e-8)
    print(f"[2] d={d_t}, n={inst.X.shape[0]}, {a.iters} iterations each (identical iterates: "
          f"{same}):\n    tensor-free {t_fast:.2f} s, peak {m_fast:.1f} MiB | tensor "
          f"{t_ref:.2f} s, peak {m_ref:.1f} MiB\n    ratio time {t_ref / t_fast:.1f}x, "
          f"memory {m_ref / m_fast:.1f}x")

    # quadratic forms alone at d = 200
    inst = sample_quadratic_network(a.d_full, alpha=ALPHA, kappa=KAPPA, rng=4)
    X = inst.X
    S = inst.S_star / np.sqrt(a.d_full)
    XS = X @ S
    out = np.empty(X.shape[0])
    reps = 20
    # read-only inputs are a separate numba specialisation: compile/load it before timing
    quadratic_forms_kernel(X, XS, float(np.trace(S)), 1 / np.sqrt(a.d_full), out)
    t = time.perf_counter()
    for _ in range(reps):
        quadratic_forms_kernel(X, XS, float(np.trace(S)), 1 / np.sqrt(a.d_full), out)
    t_k = (time.perf_counter() - t) / reps
    t = time.perf_counter()
    for _ in range(reps):
        ref = (np.einsum("ij,ij->i", XS, X) - np.trace(S)) / np.sqrt(a.d_full)
    t_e = (time.perf_counter() - t) / reps
    t = time.perf_counter()
    for _ in range(reps):
        np.matmul(X, S, out=XS)
    t_m = (time.perf_counter() - t) / reps
    print(f"[3] d={a.d_full}: row-wise quadratic forms numba {t_k * 1e3:.2f} ms vs numpy einsum "
          f"{t_e * 1e3:.2f} ms (agree: {np.allclose(out, ref, rtol=1e-12)}); the X @ S product "
          f"itself (BLAS) {t_m * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
