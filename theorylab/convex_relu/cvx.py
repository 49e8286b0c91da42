"""CVXPY formulations: the reference convex program and robust (adversarial) training.

Bai, Gautam & Sojoudi, arXiv:2201.01965, Secs. 2 and 4. Symbols as in ``admm.py``;
``eps_adv`` is the l_inf attack radius epsilon.
"""

from __future__ import annotations

import time
import warnings
from typing import Literal

import numpy as np

from .._result import ConvergenceWarning
from .._validation import check_positive, check_rng, check_vector
from ._common import check_problem, convex_objective, convex_parts
from ._result import ConvexReLUResult
from .patterns import sample_activation_patterns

__all__ = ["solve_convex_relu_cvxpy", "solve_convex_relu_robust"]


def _loss_expr(cp, yhat, y, loss):
    if loss == "squared":
        return 0.5 * cp.sum_squares(yhat - y)
    if loss == "logistic":
        return cp.sum(cp.logistic(-cp.multiply(y, yhat)))
    return cp.sum(cp.pos(1 - cp.multiply(y, yhat)))


def _solve(cp, prob, solver, accurate=True, tol=None):
    """Solve; returns whether the status is ``optimal`` (``optimal_inaccurate`` is a
    usable point that is not reported as converged); raises on any other status."""
    kw = {}
    if solver.upper() == "CLARABEL":
        if tol is not None:
            kw = dict(tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=min(tol, 1e-8))
        elif accurate:
            kw = dict(tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    with warnings.catch_warnings():
        # CVXPY's own "Solution may be inaccurate" warning: ours below carries the status
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        prob.solve(solver=solver, **kw)
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"CVXPY solver {solver} failed with status {prob.status!r}")
    return prob.status == "optimal"


def _patterns_or_sample(X, patterns, n_patterns, rng):
    """The given patterns, or ``n_patterns`` sampled with ``rng`` (as the ADMM does)."""
    if patterns is not None:
        return patterns
    if n_patterns is None:
        raise ValueError("n_patterns must be given when patterns is None, got None")
    from .._validation import check_matrix

    return sample_activation_patterns(check_matrix(X, name="X"), n_patterns,
                                      rng=check_rng(rng))


def solve_convex_relu_cvxpy(
    X,
    y,
    *,
    beta: float,
    patterns=None,
    n_patterns: int | None = None,
    loss: Literal["squared", "logistic", "hinge"] = "squared",
    solver: str = "CLARABEL",
    accurate: bool = True,
    tol: float | None = None,
    rng=None,
) -> ConvexReLUResult:
    r"""Reference solution of the convex program by CVXPY (interior point by default).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs (append a ones column for a bias).
    y : array_like, shape (n,)
        Targets (labels in {-1, +1} for the classification losses).
    beta : float
        Weight decay, > 0.
    patterns : array_like of bool, shape (n, P), optional
        Activation patterns D_i; when omitted, ``n_patterns`` are sampled with ``rng``
        (the same patterns as :func:`solve_convex_relu_admm` draws for the same ``rng``).
    n_patterns : int, optional
        Number of Gaussian directions to sample when ``patterns`` is None.
    loss : {"squared", "logistic", "hinge"}
        As in :func:`solve_convex_relu_admm`.
    solver : str
        Any CVXPY solver name able to handle SOCs (exponential cone for logistic).
    accurate : bool
        Clarabel with gap/feasibility tolerances 1e-10 (default) instead of its own
        defaults (1e-8); benchmarks time the solver's defaults.
    tol : float, optional
        Clarabel's relative/absolute gap tolerance (overrides ``accurate``).
    rng : numpy.random.Generator, int or None
        Used only to sample patterns.

    Returns
    -------
    ConvexReLUResult
        ``solve_time`` is the wall time including CVXPY's compilation.

    Raises
    ------
    ValueError
        Bad inputs (as the ADMM solver).
    RuntimeError
        If the solver reports neither ``optimal`` nor ``optimal_inaccurate``.

    Warns
    -----
    ConvergenceWarning
        On ``optimal_inaccurate`` (then ``converged=False``).

    Notes
    -----
    min l(sum_i D_i X (v_i - w_i), y) + beta sum_i (||v_i|| + ||w_i||) s.t.
    (2D_i - I) X v_i >= 0, (2D_i - I) X w_i >= 0: n P cone rows per sign, 2 d P variables.
    Clarabel runs with gap/feasibility tolerances 1e-10 unless ``accurate=False``.

    References
    ----------
    arXiv:2201.01965, Sec. 2 (the "practical convex training" program).

    Examples
    --------
    >>> import numpy as np
    >>> from theorylab.convex_relu import sample_activation_patterns
    >>> rng = np.random.default_rng(0)
    >>> X = np.c_[rng.standard_normal((30, 2)), np.ones(30)]
    >>> y = X[:, 0] ** 2
    >>> D = sample_activation_patterns(X, 6, rng=1)
    >>> res = solve_convex_relu_cvxpy(X, y, beta=0.1, patterns=D)
    >>> res.cone_violation < 1e-7
    True
    """
    import cvxpy as cp

    t0 = time.perf_counter()
    patterns = _patterns_or_sample(X, patterns, n_patterns, rng)
    X, y, beta, loss, D = check_problem(X, y, beta, loss, patterns=patterns)
    if tol is not None:
        tol = check_positive(tol, name="tol")
    n, d = X.shape
    P = D.shape[1]
    E = 2.0 * D - 1.0
    V = cp.Variable((d, P))
    W = cp.Variable((d, P))
    yhat = cp.sum(cp.multiply(D, X @ (V - W)), axis=1)
    reg = cp.sum(cp.norm(V, 2, axis=0)) + cp.sum(cp.norm(W, 2, axis=0))
    cons = [cp.multiply(E, X @ V) >= 0, cp.multiply(E, X @ W) >= 0]
    prob = cp.Problem(cp.Minimize(_loss_expr(cp, yhat, y, loss) + beta * reg), cons)
    ok = _solve(cp, prob, solver, accurate, tol)
    return _cvx_result(prob, solver, ok, X, y, D, V, W, beta, loss, t0)


def _cvx_result(prob, solver, ok, X, y, D, V, W, beta, loss, t0, objective=None):
    """Result of a CVXPY solve; ``optimal_inaccurate`` warns and is not converged."""
    Vv, Wv = np.asarray(V.value, float), np.asarray(W.value, float)
    fitted, viol = convex_parts(X, D, Vv, Wv)
    message = f"{solver}: {prob.status}"
    if not ok:
        warnings.warn(f"CVXPY solver {solver} returned status {prob.status!r}: the point is "
                      f"not certified optimal (cone violation {viol:.2e})", ConvergenceWarning,
                      stacklevel=3)
    if objective is None:
        objective = convex_objective(X, y, D, Vv, Wv, beta, loss)
    return ConvexReLUResult(
        x=np.concatenate([Vv, Wv], axis=1), n_iter=int(prob.solver_stats.num_iters or 0),
        converged=ok, message=message, history={}, V=Vv, W=Wv, patterns=D.astype(bool),
        objective=objective, cone_violation=viol, fitted=fitted, beta=beta, loss=loss,
        solve_time=time.perf_counter() - t0, method="cvxpy",
    )


def solve_convex_relu_robust(
    X,
    y,
    *,
    beta: float,
    patterns,
    eps_adv: float,
    loss: Literal["squared", "logistic", "hinge"] = "hinge",
    perturbable=None,
    solver: str = "CLARABEL",
) -> ConvexReLUResult:
    r"""Convex adversarial (l_inf) training of a two-layer ReLU network.

    Each training input may move by delta_k with ||delta_k||_inf <= eps_adv (only the
    ``perturbable`` columns; a bias column stays fixed). Holding the patterns fixed
    under attack tightens the cone constraints to
    (2D_i - I) X v_i >= eps_adv ||v_i||_1 1_n (same for w_i); then the prediction moves by
    delta_k^T a_k with a_k = sum_i d_ik (v_i - w_i), and the worst case adds
    eps_adv ||a_k||_1 to the margin: hinge sum_k (1 - y_k yhat_k + eps ||a_k||_1)_+,
    logistic sum_k log(1 + exp(-y_k yhat_k + eps ||a_k||_1)), squared
    sum_k 0.5 (|yhat_k - y_k| + eps ||a_k||_1)^2.

    Parameters
    ----------
    X, y, beta, patterns, loss, solver :
        As in :func:`solve_convex_relu_cvxpy` (default loss: hinge).
    eps_adv : float
        Attack radius epsilon >= 0 (eps_adv = 0 gives the standard program).
    perturbable : array_like of bool, shape (d,), optional
        Columns the attacker can change (default: all columns; pass False for a bias).

    Returns
    -------
    ConvexReLUResult
        ``objective`` is the robust objective (worst-case loss plus weight decay).

    Notes
    -----
    This is a convex restriction of the robust non-convex problem: every feasible point
    gives a ReLU network whose worst-case loss within the ball is at most the objective.
    Whether these are exactly the paper's Sec. 4 formulations is unconfirmed (the paper
    text was not read); see paper_notes/bai2022_admm_convex_relu.md.

    References
    ----------
    arXiv:2201.01965, Sec. 4.

    Examples
    --------
    >>> import numpy as np
    >>> from theorylab.convex_relu import sample_activation_patterns
    >>> rng = np.random.default_rng(0)
    >>> X = np.c_[rng.standard_normal((30, 2)), np.ones(30)]
    >>> y = np.sign(X[:, 0] + 0.1)
    >>> D = sample_activation_patterns(X, 6, rng=1)
    >>> r0 = solve_convex_relu_robust(X, y, beta=0.1, patterns=D, eps_adv=0.0)
    >>> r1 = solve_convex_relu_robust(X, y, beta=0.1, patterns=D, eps_adv=0.1,
    ...                               perturbable=[True, True, False])
    >>> r1.objective >= r0.objective - 1e-6
    True
    """
    import cvxpy as cp

    X, y, beta, loss, D = check_problem(X, y, beta, loss, patterns=patterns)
    eps = check_positive(eps_adv, name="eps_adv", strict=False)
    n, d = X.shape
    if perturbable is None:
        mask = np.ones(d, bool)
    else:
        mask = check_vector(np.asarray(perturbable, dtype=float), name="perturbable", n=d) != 0
    t0 = time.perf_counter()
    P = D.shape[1]
    E = 2.0 * D - 1.0
    V = cp.Variable((d, P))
    W = cp.Variable((d, P))
    yhat = cp.sum(cp.multiply(D, X @ (V - W)), axis=1)
    reg = cp.sum(cp.norm(V, 2, axis=0)) + cp.sum(cp.norm(W, 2, axis=0))
    if eps > 0 and mask.any():
        idx = np.flatnonzero(mask)
        tv = cp.sum(cp.abs(V[idx, :]), axis=0)  # ||v_i||_1 over perturbable coordinates
        tw = cp.sum(cp.abs(W[idx, :]), axis=0)
        ones = np.ones((n, 1))
        cons = [cp.multiply(E, X @ V) >= eps * (ones @ cp.reshape(tv, (1, P), order="C")),
                cp.multiply(E, X @ W) >= eps * (ones @ cp.reshape(tw, (1, P), order="C"))]
        A = D @ (V - W)[idx, :].T  # (n, |idx|): rows a_k restricted to attacked coordinates
        spread = eps * cp.sum(cp.abs(A), axis=1)
    else:
        cons = [cp.multiply(E, X @ V) >= 0, cp.multiply(E, X @ W) >= 0]
        spread = 0.0
    if loss == "hinge":
        lossexpr = cp.sum(cp.pos(1 - cp.multiply(y, yhat) + spread))
    elif loss == "logistic":
        lossexpr = cp.sum(cp.logistic(-cp.multiply(y, yhat) + spread))
    else:
        lossexpr = 0.5 * cp.sum_squares(cp.abs(yhat - y) + spread)
    prob = cp.Problem(cp.Minimize(lossexpr + beta * reg), cons)
    ok = _solve(cp, prob, solver)
    return _cvx_result(prob, solver, ok, X, y, D, V, W, beta, loss, t0,
                       objective=float(prob.value))
