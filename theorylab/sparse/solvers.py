"""Sparse linear regression: Lasso (numba coordinate descent), OMP, IHT, exhaustive search,
and the random-support solver that stands in for Chandrasekaran, Meka & Stavropoulos (2025).

Model: ``y = X w* + ξ`` with ``w*`` k-sparse; goal: prediction error
``(1/N)‖X(w* − ŵ)‖²`` (:func:`prediction_error`).

=========  =====================  ============
paper      meaning                argument
=========  =====================  ============
X (N×d)    design                 ``X``
y          responses              ``y``
k          sparsity               ``k``
λ          ℓ1 penalty             ``lam``
=========  =====================  ============

References
----------
G. Chandrasekaran, R. Meka, K. Stavropoulos, *Sparse Linear Regression is Easy on Random
Supports*, arXiv:2511.06211 (2025). Only its abstract and outline could be read: the paper's
Phase-1 preconditioner and Phase-2 estimator are **not available**; see
:func:`solve_random_support_regression` for what stands in for them.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np

from theorylab._result import ConvergenceWarning, SolverResult
from theorylab._validation import (
    check_int,
    check_matrix,
    check_positive,
    check_rng,
    check_vector,
)
from theorylab.sparse import _kernels

__all__ = ["SparseResult", "solve_lasso", "solve_omp", "solve_iht", "solve_exhaustive",
           "solve_random_support_regression", "prediction_error", "lambda_max",
           "compare_methods", "STANDIN_NOTE"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SparseResult(SolverResult):
    """Estimate ``w`` (also ``x``), its ``support`` (sorted indices of nonzeros), the
    ``method`` and, for the random-support solver, the column ``preconditioner`` used."""

    w: np.ndarray
    support: np.ndarray
    method: str
    objective: float = float("nan")
    preconditioner: np.ndarray | None = None
    diagnostics: dict | None = None


def _data(X, y):
    X = check_matrix(X, name="X")
    y = check_vector(y, name="y", n=X.shape[0])
    return X, y


def _check_k(k, d):
    return check_int(k, name="k", minimum=1, maximum=d)


def _result(w, method, **kw):
    supp = np.flatnonzero(w)
    return SparseResult(x=w, w=w, support=supp, method=method, **kw)


def prediction_error(X, w_hat, w_star) -> float:
    """``(1/N)‖X(w* − ŵ)‖²``.

    Examples
    --------
    >>> import numpy as np
    >>> prediction_error(np.eye(2), [1.0, 0.0], [0.0, 0.0])
    0.5
    """
    X = check_matrix(X, name="X")
    w_hat = check_vector(w_hat, name="w_hat", n=X.shape[1])
    w_star = check_vector(w_star, name="w_star", n=X.shape[1])
    r = X @ (w_star - w_hat)
    return float(r @ r / X.shape[0])


def lambda_max(X, y) -> float:
    """Smallest λ whose Lasso solution is 0: ``‖Xᵀy‖∞ / N``."""
    X, y = _data(X, y)
    return float(np.max(np.abs(X.T @ y)) / X.shape[0])


def solve_lasso(X, y, *, lam: float, tol: float = 1e-8, max_iter: int = 10_000,
                w0=None) -> SparseResult:
    r"""Lasso by cyclic coordinate descent (numba kernel).

    Minimises :math:`\frac{1}{2N}\|y - Xw\|_2^2 + \lambda\|w\|_1` (scikit-learn's ``Lasso``
    objective with ``alpha = lam`` and no intercept).

    Parameters
    ----------
    X : (N, d) array; y : (N,) array
    lam : float
        Penalty λ > 0.
    tol : float
        Stop when a full epoch changes no coordinate by more than ``tol·‖y‖/√N`` (change
        measured as ``|Δw_j|·‖X_j‖/√N``). Between full epochs, glmnet-style sweeps run over
        the nonzero coordinates only.
    max_iter : int
        Full epochs over all coordinates.
    w0 : (d,) array, optional
        Warm start.

    Returns
    -------
    SparseResult
        ``.objective`` is the Lasso objective; ``.diagnostics["kkt"]`` the largest violation
        of the optimality conditions.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` epochs do not reach ``tol``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.eye(3) * np.sqrt(3); y = np.array([3.0, 0.3, -3.0]) * np.sqrt(3)
    >>> solve_lasso(X, y, lam=0.5).w.round(6)   # soft-thresholding: (y_j - λ) per coordinate
    array([ 2.5,  0. , -2.5])
    """
    X, y = _data(X, y)
    lam = check_positive(lam, name="lam")
    tol = check_positive(tol, name="tol")
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    n, d = X.shape
    w = np.zeros(d) if w0 is None else check_vector(w0, name="w0", n=d).copy()
    Xf = np.asfortranarray(X)  # the kernel walks columns
    r = y - Xf @ w if w.any() else y.copy()
    col_sq = np.einsum("ij,ij->j", Xf, Xf) / n
    epochs, change = _kernels.lasso_cd(Xf, y, lam, w, r, col_sq, tol,
                                       max_iter)
    if not np.all(np.isfinite(w)):
        raise FloatingPointError(f"solve_lasso: non-finite coefficients after {epochs} epochs")
    grad = Xf.T @ r / n  # r = y − Xw is maintained by the kernel
    on = w != 0
    kkt = max(float(np.max(np.abs(grad[on] - lam * np.sign(w[on])), initial=0.0)),
              float(np.max(np.abs(grad[~on]), initial=0.0) - lam))
    obj = float(0.5 * (r @ r) / n + lam * np.abs(w).sum())
    converged = epochs < max_iter or change < tol
    msg = f"{epochs} epochs, last relative change {change:.2e}"
    if not converged:
        warnings.warn(f"solve_lasso: max_iter={max_iter} epochs reached with relative change "
                      f"{change:.2e} > tol {tol:g}", ConvergenceWarning, stacklevel=2)
    return _result(w, "lasso", n_iter=int(epochs), converged=bool(converged), message=msg,
                   objective=obj, diagnostics={"kkt": max(kkt, 0.0), "lam": lam})


def _lstsq_on(X, y, S):
    """Least squares restricted to columns S (SVD-based, stable for ill-conditioned X)."""
    w = np.zeros(X.shape[1])
    if len(S):
        coef, *_ = np.linalg.lstsq(X[:, S], y, rcond=None)
        w[list(S)] = coef
    return w


def solve_omp(X, y, *, k: int) -> SparseResult:
    """Orthogonal matching pursuit: k greedy steps, each refitting by least squares."""
    X, y = _data(X, y)
    k = _check_k(k, X.shape[1])
    norms = np.linalg.norm(X, axis=0)
    norms[norms == 0] = 1.0
    S: list[int] = []
    r = y.copy()
    for _ in range(k):
        c = np.abs(X.T @ r) / norms
        c[S] = -1.0
        S.append(int(np.argmax(c)))
        w = _lstsq_on(X, y, S)
        r = y - X @ w
    return _result(_lstsq_on(X, y, sorted(S)), "omp", n_iter=k, message=f"{k} greedy steps")


def solve_iht(X, y, *, k: int, max_iter: int = 1000, tol: float = 1e-10,
              rng=None) -> SparseResult:
    """Iterative hard thresholding ``w ← H_k(w + Xᵀ(y − Xw)/‖X‖₂²)``, then a refit on the
    final support. ``rng`` is unused (deterministic) and accepted for a uniform API."""
    X, y = _data(X, y)
    k = _check_k(k, X.shape[1])
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    tol = check_positive(tol, name="tol")
    check_rng(rng)
    step = 1.0 / np.linalg.norm(X, 2) ** 2
    w = np.zeros(X.shape[1])
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (it is reported after the loop)
        v = w + step * (X.T @ (y - X @ w))
        keep = np.argpartition(np.abs(v), -k)[-k:]
        new = np.zeros_like(w)
        new[keep] = v[keep]
        done = np.linalg.norm(new - w) <= tol * max(np.linalg.norm(w), 1e-300)
        w = new
        if done:
            break
    converged = it < max_iter
    if not converged:
        warnings.warn(f"solve_iht: max_iter={max_iter} reached", ConvergenceWarning,
                      stacklevel=2)
    return _result(_lstsq_on(X, y, np.sort(np.flatnonzero(w))), "iht", n_iter=it,
                   converged=converged, message=f"{it} iterations")


def solve_exhaustive(X, y, *, k: int, max_subsets: int = 2_000_000) -> SparseResult:
    """Best subset of size k by exhaustive least squares (the information-theoretic
    reference; C(d, k) least-squares fits)."""
    X, y = _data(X, y)
    d = X.shape[1]
    k = _check_k(k, d)
    n_sub = math.comb(d, k)
    if n_sub > max_subsets:
        raise ValueError(f"k must keep C(d, k) <= max_subsets={max_subsets}, got C({d}, {k}) "
                         f"= {n_sub}")
    best, best_S = np.inf, None
    for S in itertools.combinations(range(d), k):
        coef, *_ = np.linalg.lstsq(X[:, S], y, rcond=None)
        res = y - X[:, S] @ coef
        v = res @ res
        if v < best:
            best, best_S = v, S
    return _result(_lstsq_on(X, y, list(best_S)), "exhaustive", n_iter=n_sub,
                   message=f"{n_sub} subsets", objective=float(best / X.shape[0]))


STANDIN_NOTE = ("The paper's Phase-1 preconditioner and Phase-2 estimator were not available: "
                "'ours' is theorylab's stand-in (column-normalisation preconditioner + "
                "Lasso-path supports + least-squares refit + swap search), not the paper's "
                "algorithm.")


def compare_methods(X, y, *, k: int, noise: float) -> dict[str, np.ndarray]:
    """Estimates of the stand-in and of the peers on one instance, by name: ours, Lasso at
    λ = σ√(2 log d/N), scikit-learn's ``LassoCV`` and ``OrthogonalMatchingPursuit``."""
    from sklearn.linear_model import LassoCV, OrthogonalMatchingPursuit

    X, y = _data(X, y)
    n, d = X.shape
    k = _check_k(k, d)
    noise = check_positive(noise, name="noise")
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out["ours (stand-in)"] = solve_random_support_regression(X, y, k=k).w
        out["lasso (λ=σ√(2 log d/N))"] = solve_lasso(
            X, y, lam=noise * np.sqrt(2 * np.log(d) / n), max_iter=20_000).w
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's own convergence chatter
        out["sklearn LassoCV"] = LassoCV(cv=3, fit_intercept=False, alphas=30).fit(X, y).coef_
        out["sklearn OMP"] = OrthogonalMatchingPursuit(n_nonzero_coefs=k,
                                                       fit_intercept=False).fit(X, y).coef_
    return out


def solve_random_support_regression(X, y, *, k: int, n_lambdas: int = 30, swap_passes: int = 3,
                                    tol: float = 1e-7) -> SparseResult:
    """Sparse regression for random supports — a **stand-in** for the paper's algorithm.

    The paper's two phases (find a good preconditioner from X; solve sparse regression in
    the preconditioned basis) could not be read. This function implements the
    best-founded proxy we could build from its ingredients, and says so in its result:

    1. *Preconditioner (proxy):* the diagonal column scaling D that gives every column norm
       √N (removes the scale part of ill-conditioning; columns of norm 0 are dropped).
    2. *Support search:* a Lasso path (numba coordinate descent, warm starts, 30 values of
       λ from λ_max down to λ_max/1e4) on XD; every support of size ≤ k on the path is
       refit by least squares (SVD-based ``lstsq``: no normal equations, no explicit
       inverse, stable up to condition numbers ≈ 1e12) and the one with the smallest
       residual kept.
    3. *Local search:* swap passes that exchange one support column for one outside it while
       the least-squares residual decreases (a cheap fix for correlated columns that the ℓ1
       path gets wrong).

    Returns
    -------
    SparseResult
        ``.preconditioner`` = the diagonal of D; ``.diagnostics`` has the path supports'
        residuals, the swaps made and the condition number of X.
    """
    X, y = _data(X, y)
    n, d = X.shape
    k = _check_k(k, d)
    n_lambdas = check_int(n_lambdas, name="n_lambdas", minimum=2)
    swap_passes = check_int(swap_passes, name="swap_passes", minimum=0)
    tol = check_positive(tol, name="tol")
    norms = np.linalg.norm(X, axis=0)
    Dg = np.where(norms > 0, np.sqrt(n) / np.where(norms > 0, norms, 1.0), 0.0)
    Z = X * Dg
    lmax = float(np.max(np.abs(Z.T @ y)) / n)
    if lmax == 0.0:
        w = np.zeros(d)
        return _result(w, "random_support_proxy", message="y is orthogonal to every column",
                       preconditioner=Dg, diagnostics={"kappa": float("nan")})
    lams = lmax * np.logspace(0, -4, n_lambdas)[1:]
    beta = np.zeros(d)
    col_sq = np.einsum("ij,ij->j", Z, Z) / n
    Zc = np.asfortranarray(Z)  # the kernel walks columns
    best_res, best_S, path = np.inf, [], []

    def rss(S):
        c, *_ = np.linalg.lstsq(Z[:, S], y, rcond=None)
        r = y - Z[:, S] @ c
        return float(r @ r)

    seen = set()
    for lam in lams:
        r = y - Z @ beta
        _kernels.lasso_cd(Zc, y, lam, beta, r, col_sq, tol, 5000)
        S = tuple(np.flatnonzero(beta))
        if len(S) > k:
            # keep the k largest coefficients as a candidate, then stop descending
            S = tuple(sorted(np.argsort(-np.abs(beta))[:k]))
        if S and S not in seen:
            seen.add(S)
            v = rss(list(S))
            path.append((len(S), v / n))
            if v < best_res * (1 - 1e-12):
                best_res, best_S = v, list(S)
        if np.count_nonzero(beta) > k:
            break
    S = sorted(best_S)
    swaps = 0
    # pad to k columns greedily by correlation with the residual (OMP steps)
    while len(S) < k:
        c, *_ = np.linalg.lstsq(Z[:, S], y, rcond=None) if S else (np.zeros(0),)
        r = y - (Z[:, S] @ c if S else 0.0)
        sc = np.abs(Z.T @ r)
        sc[S] = -1
        S = sorted(S + [int(np.argmax(sc))])
        best_res = rss(S)
    for _ in range(swap_passes):
        improved = False
        for pos in range(len(S)):
            base = [s for t, s in enumerate(S) if t != pos]
            c, *_ = np.linalg.lstsq(Z[:, base], y, rcond=None)
            r = y - Z[:, base] @ c
            # best single replacement by residual correlation, then exact check
            sc = np.abs(Z.T @ r)
            sc[base] = -1
            j = int(np.argmax(sc))
            if j != S[pos]:
                v = rss(base + [j])
                if v < best_res * (1 - 1e-10):
                    S = sorted(base + [j])
                    best_res = v
                    swaps += 1
                    improved = True
        if not improved:
            break
    beta = _lstsq_on(Z, y, S)
    w = beta * Dg
    if not np.all(np.isfinite(w)):
        raise FloatingPointError("solve_random_support_regression: non-finite coefficients")
    s = np.linalg.svd(X, compute_uv=False)
    kappa = float(s[0] / s[min(n, d) - 1]) if s[min(n, d) - 1] > 0 else float("inf")
    return _result(w, "random_support_proxy", n_iter=len(path), message=(
        "PROXY for the paper's procedure (not available): column-normalisation "
        "preconditioner + Lasso-path supports + least-squares refit + swap search"),
        objective=best_res / n, preconditioner=Dg,
        diagnostics={"path": path, "swaps": swaps, "kappa": kappa})
