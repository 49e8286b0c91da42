"""Wall time of ADMM iterations, without the certificates around them.

Bai, Gautam & Sojoudi, arXiv:2201.01965, Sec. 3: one ADMM iteration costs O(n^2) for
P = O(n) patterns after a one-off factorisation. :func:`time_admm_iterations` runs exactly
the iterations of :func:`~theorylab.convex_relu.solve_convex_relu_admm` (same state, same
steps: the fused compiled step between checks, the residual check and the next right-hand
side every ``check_every`` iterations, the settle monitor) at a fixed rho, and records the
elapsed time at each check. It never certifies: in the solver a certificate (projection onto
the cones by least squares per group, Newton polishing) costs far more than the iterations
at large n (about 100 s at n = 2000, P = 100, against 0.2 s for 100 iterations) and is not
part of the per-iteration cost.
"""

from __future__ import annotations

import time

import numpy as np

from .._validation import check_int
from ._common import check_problem
from .admm import _admm_options, _ADMMState, _SettleMonitor

__all__ = ["time_admm_iterations"]


def time_admm_iterations(X, y, *, beta: float, patterns, iters: int, check_every: int = 10,
                         rho: float | None = None) -> dict[str, np.ndarray]:
    """Run ``iters`` squared-loss ADMM iterations at fixed rho and time them.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    beta : float
        Weight decay, > 0.
    patterns : array_like of bool, shape (n, P)
        Activation patterns D_i.
    iters : int
        Number of iterations, >= 1.
    check_every : int
        A residual check (as in the solver) every ``check_every`` iterations and at the last.
    rho : float, optional
        Penalty (default as in the solver, 0.1).

    Returns
    -------
    dict
        ``iteration``, ``time`` (wall seconds since the start of the set-up, taken at each
        check), ``cpu_time`` (the same in CPU seconds of this process: not counting the time
        the process waits for a core on a loaded machine),
        ``objective``, ``primal_residual``, ``dual_residual`` (at each check) and ``VW``
        (the final iterate of the v-block, (d, 2P)).
    """
    if patterns is None:
        raise TypeError("patterns must be an array, got None")
    X, y, beta, loss, D = check_problem(X, y, beta, "squared", patterns=patterns)
    iters = check_int(iters, name="iters", minimum=1)
    opt = _admm_options(X, loss, rho=rho, adaptive_rho=False, cone_scale=None, relaxation=1.8,
                        tol=1e-3, max_iter=iters, solve_method="auto",
                        check_every=check_every, adapt_every=50)
    t0, c0 = time.perf_counter(), time.process_time()
    st = _ADMMState(X, y, D, beta, loss, opt)
    settle = _SettleMonitor(st)
    rows: dict[str, list] = {key: [] for key in ("iteration", "time", "cpu_time", "objective",
                                                 "primal_residual", "dual_residual")}
    for k in range(1, iters + 1):
        check = k % opt.check_every == 0 or k == iters
        out = st.advance(check)
        if out is None:
            continue
        r_pri, r_dual, _, _, obj, _ = out
        if not (np.isfinite(obj) and np.isfinite(r_pri) and np.isfinite(r_dual)):
            raise FloatingPointError(f"ADMM iterate became NaN/inf at iteration {k}")
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        settle.update(st)
        for key, val in zip(rows, (k, elapsed, cpu, obj, r_pri, r_dual), strict=True):
            rows[key].append(val)
        st.end_check()
    out = {key: np.asarray(val, dtype=float) for key, val in rows.items()}
    out["VW"] = st.VW.copy()
    return out
