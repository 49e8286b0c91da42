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
from scipy.linalg import qr, solve_triangular

from theorylab._result import ConvergenceWarning, SolverResult
from theorylab._validation import (
    check_int,
    check_matrix,
    check_positive,
    check_vector,
)
from theorylab.sparse import _kernels

__all__ = ["SparseResult", "solve_lasso", "solve_omp", "solve_iht", "solve_exhaustive",
           "solve_random_support_regression", "prediction_error", "lambda_max",
           "compare_methods", "sparse_dependency_preconditioner", "STANDIN_NOTE"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SparseResult(SolverResult):
    """Estimate ``x`` (``w`` is a read-only alias), its ``support`` (sorted indices of
    nonzeros), the ``method`` and, for the random-support solver, the column
    ``preconditioner`` used."""

    support: np.ndarray
    method: str
    objective: float = float("nan")
    preconditioner: np.ndarray | None = None
    diagnostics: dict | None = None

    @property
    def w(self) -> np.ndarray:
        """The estimate: the same array as ``x``."""
        return self.x


def _data(X, y):
    X = check_matrix(X, name="X")
    y = check_vector(y, name="y", n=X.shape[0])
    return X, y


def _data_fortran(X, y):
    """Like :func:`_data` but returns X in Fortran order (the kernels walk columns), without
    the C-order round trip when X already is a Fortran float64 array."""
    if (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype == np.float64
            and X.flags.f_contiguous and not X.flags.c_contiguous):
        X = check_matrix(X.T, name="X").T  # validation of the transpose: no copy
        return X, check_vector(y, name="y", n=X.shape[0])
    X, y = _data(X, y)
    return np.asfortranarray(X), y


def _check_k(k, d):
    return check_int(k, name="k", minimum=1, maximum=d)


def _result(w, method, **kw):
    supp = np.flatnonzero(w)
    return SparseResult(x=w, support=supp, method=method, **kw)


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


def solve_lasso(X, y, *, lam: float, tol: float = 1e-8, max_iter: int = 100_000,
                w0=None, screening: bool = True) -> SparseResult:
    r"""Lasso by working sets, Anderson-accelerated coordinate descent and gap-safe
    screening (numba kernel), stopped by the duality gap.

    Minimises :math:`P(w) = \frac{1}{2N}\|y - Xw\|_2^2 + \lambda\|w\|_1` (scikit-learn's
    ``Lasso`` objective with ``alpha = lam`` and no intercept).

    Parameters
    ----------
    X : (N, d) array; y : (N,) array
    lam : float
        Penalty λ > 0.
    tol : float
        Stop when the duality gap is at most ``tol·P(w)``: a certified relative accuracy,
        ``P(w) − P* <= tol·P(w)``.
    max_iter : int
        Cap on coordinate-descent epochs (each over the current working set).
    w0 : (d,) array, optional
        Warm start.
    screening : bool
        Apply the gap-safe rule (drop columns proven to be zero at the optimum).

    Returns
    -------
    SparseResult
        ``.objective`` is P(w); ``.diagnostics`` holds ``gap`` (P − D, same units as P),
        ``kkt`` (largest violation of the optimality conditions), ``screened`` (columns
        removed by the gap-safe rule) and ``outer`` (working-set iterations).

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` epochs end with a relative gap above ``tol``.

    Notes
    -----
    With α = Nλ, r = y − Xw and the dual point θ = r / max(α, ‖Xᵀr‖∞),
    :math:`D(\theta) = \frac{1}{2N}(\|y\|^2 - \|y - \alpha\theta\|^2) \le P^*`, so the
    gap P(w) − D(θ) bounds the suboptimality. Gap-safe screening (Fercoq, Gramfort &
    Salmon 2015): the dual optimum lies within ρ = √(2N·gap)/α of θ, so a column with
    |x_jᵀθ| + ρ‖x_j‖ < 1 has w*_j = 0. Working sets and Anderson extrapolation of the
    coordinate-descent iterates follow the approach of Bertrand et al. 2022 (skglm),
    written independently; see :func:`theorylab.sparse._kernels.lasso_ws`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.eye(3) * np.sqrt(3); y = np.array([3.0, 0.3, -3.0]) * np.sqrt(3)
    >>> solve_lasso(X, y, lam=0.5).w.round(6)   # soft-thresholding: (y_j - λ) per coordinate
    array([ 2.5,  0. , -2.5])
    """
    Xf, y = _data_fortran(X, y)
    lam = check_positive(lam, name="lam")
    tol = check_positive(tol, name="tol")
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    n, d = Xf.shape
    w = np.zeros(d) if w0 is None else check_vector(w0, name="w0", n=d).copy()
    r = y - Xf @ w if w.any() else y.copy()
    col_sq = np.einsum("ij,ij->j", Xf, Xf)
    alpha = n * lam
    outer, epochs, gap, primal, screened = _kernels.lasso_ws(
        Xf, y, alpha, w, r, col_sq, tol, max_iter, 30, bool(screening), True)
    if not np.all(np.isfinite(w)):
        raise FloatingPointError(f"solve_lasso: non-finite coefficients after {epochs} epochs")
    grad = Xf.T @ r / n  # r = y − Xw is maintained by the kernel
    on = w != 0
    kkt = max(float(np.max(np.abs(grad[on] - lam * np.sign(w[on])), initial=0.0)),
              float(np.max(np.abs(grad[~on]), initial=0.0) - lam))
    rel = gap / primal if primal > 0 else 0.0
    converged = bool(gap <= tol * primal)
    msg = (f"{epochs} epochs, {outer} working-set iterations, relative duality gap "
           f"{rel:.2e}")
    if not converged:
        warnings.warn(f"solve_lasso: max_iter={max_iter} epochs reached with relative duality "
                      f"gap {rel:.2e} > tol {tol:g}", ConvergenceWarning, stacklevel=2)
    return _result(w, "lasso", n_iter=int(epochs), converged=converged, message=msg,
                   objective=float(primal / n),
                   diagnostics={"kkt": max(kkt, 0.0), "lam": lam, "gap": float(gap / n),
                                "screened": int(screened), "outer": int(outer)})


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


def solve_iht(X, y, *, k: int, max_iter: int = 1000, tol: float = 1e-10) -> SparseResult:
    """Iterative hard thresholding ``w ← H_k(w + Xᵀ(y − Xw)/‖X‖₂²)``, then a refit on the
    final support. Deterministic (starts from w = 0), so it takes no ``rng``."""
    X, y = _data(X, y)
    k = _check_k(k, X.shape[1])
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    tol = check_positive(tol, name="tol")
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
                "'ours' is theorylab's stand-in (sparse-dependency preconditioner + "
                "Lasso-path/OMP starts + least-squares refit + full single-swap local "
                "search), not the paper's algorithm.")


def compare_methods(X, y, *, k: int, noise: float) -> dict[str, np.ndarray]:
    """Estimates of the stand-in and of the peers on one instance, by name: ours, Lasso at
    λ = σ√(2 log d/N), scikit-learn's ``LassoCV`` and ``OrthogonalMatchingPursuit``, and
    ``abess`` (best subset of size k) when it is installed."""
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
        try:
            import abess
        except ImportError:  # optional peer
            abess = None
        if abess is not None:
            out["abess"] = abess.linear.LinearRegression(
                support_size=k, fit_intercept=False).fit(X, y).coef_
    return out


def _rss(Z, y, S):
    """Least-squares residual sum of squares of y on the columns S (SVD-based)."""
    if not len(S):
        return float(y @ y)
    c, *_ = np.linalg.lstsq(Z[:, list(S)], y, rcond=None)
    r = y - Z[:, list(S)] @ c
    return float(r @ r)


def sparse_dependency_preconditioner(Z, *, max_dependency: int = 2,
                                     dependency_tol: float = 0.3):
    r"""Replace every nearly dependent column by its residual on a few others (a stand-in).

    For each column :math:`z_j` of ``Z`` (columns of norm √N), regress it on its
    ``max_dependency`` most correlated other columns :math:`D_j`; if the relative residual
    :math:`\|z_j - Z_{D_j} c_j\| / \|z_j\|` is at most ``dependency_tol`` (a *sparse
    dependency*), the column is replaced by that residual, rescaled to norm √N. Regressors
    are always original columns, so the change of basis is ``Z' = Z P`` with ``P`` the
    identity plus ``−c_j`` in the rows ``D_j`` of column ``j`` (then a diagonal scaling).
    This is theorylab's reading of the idea behind the paper's Phase 1 (decorrelate the
    few columns that make the design ill-conditioned), **not** the paper's procedure.

    Returns
    -------
    Zp : (N, d) array
        The preconditioned design.
    deps : list of tuple
        ``deps[j]`` = the columns of ``Z`` that column ``j`` of ``Zp`` is made from
        (``(j,)`` for an untouched column).
    """
    Z = check_matrix(Z, name="Z")
    max_dependency = check_int(max_dependency, name="max_dependency", minimum=0)
    dependency_tol = check_positive(dependency_tol, name="dependency_tol")
    n, d = Z.shape
    m = min(int(max_dependency), d - 1)
    deps = [(j,) for j in range(d)]
    Zp = Z.copy()
    if m < 1:
        return Zp, deps
    C = np.abs(Z.T @ Z)
    np.fill_diagonal(C, -1.0)
    nbr = np.argpartition(-C, m - 1, axis=1)[:, :m] if m < d - 1 else np.array(
        [[i for i in range(d) if i != j] for j in range(d)], dtype=np.int64)
    for j in range(d):
        D = np.sort(nbr[j])
        c, *_ = np.linalg.lstsq(Z[:, D], Z[:, j], rcond=None)
        r = Z[:, j] - Z[:, D] @ c
        nr = float(np.linalg.norm(r))
        if 0.0 < nr <= dependency_tol * float(np.linalg.norm(Z[:, j])):
            Zp[:, j] = r * (np.sqrt(n) / nr)
            deps[j] = tuple(sorted((j, *D.tolist())))
    return Zp, deps


def _lasso_path_supports(Z, y, max_size, n_lambdas, tol):
    """Distinct supports met on a warm-started Lasso path (λ_max → λ_max/1e4, relative gap
    ``tol``), stopping once more than ``max_size`` coefficients are nonzero (then the
    ``max_size`` largest are the last candidate)."""
    n = Z.shape[0]
    amax = float(np.max(np.abs(Z.T @ y)))
    if amax == 0.0:
        return []
    beta = np.zeros(Z.shape[1])
    Zc = np.asfortranarray(Z)  # the kernel walks columns
    col_sq = np.einsum("ij,ij->j", Zc, Zc)
    r = y.copy()
    out, seen = [], set()
    for alpha in amax * np.logspace(0, -4, n_lambdas)[1:]:
        _kernels.lasso_ws(Zc, y, alpha, beta, r, col_sq, tol, 20 * n + 1000, 10, True, True)
        S = tuple(np.flatnonzero(beta))
        if len(S) > max_size:
            S = tuple(sorted(np.argsort(-np.abs(beta))[:max_size]))
        if S and S not in seen:
            seen.add(S)
            out.append(S)
        if np.count_nonzero(beta) > max_size:
            break
    return out


def _project_out(Z, y, base):
    """Residual of y and of every column of Z after projecting out the columns ``base``."""
    if not len(base):
        return y.copy(), Z
    Q, _ = np.linalg.qr(Z[:, base])
    return y - Q @ (Q.T @ y), Z - Q @ (Q.T @ Z)


def _fit_to_k(Z, y, S, k):
    """Make S a k-subset: greedy forward steps (OMP) while short, backward elimination
    (drop the column whose removal raises the residual least) while long."""
    S = sorted(set(int(j) for j in S))
    n = Z.shape[0]
    if len(S) > max(k, n - 1):
        # more columns than rows: keep the n − 1 that a column-pivoted QR takes first
        piv = qr(Z[:, S], mode="r", pivoting=True, check_finite=False)[1]
        S = sorted(S[i] for i in piv[:max(k, n - 1)])
    while len(S) > k:
        # dropping column t raises the residual by c_t² / (R⁻¹R⁻ᵀ)_tt (X_S = QR, c = R⁻¹Qᵀy)
        Q, R = np.linalg.qr(Z[:, S])
        dg = np.abs(np.diag(R))
        if dg.min() <= 1e-13 * dg.max():  # numerically dependent: drop the dependent column
            S.pop(int(np.argmin(dg)))
            continue
        Rinv = solve_triangular(R, np.eye(len(S)), check_finite=False)
        c = Rinv @ (Q.T @ y)
        S.pop(int(np.argmin(c * c / np.einsum("ij,ij->i", Rinv, Rinv))))
    while len(S) < k:
        r, P = _project_out(Z, y, S)
        nrm = np.einsum("ij,ij->j", P, P)
        sc = np.where(nrm > 1e-20 * np.einsum("ij,ij->j", Z, Z), (P.T @ r) ** 2
                      / np.where(nrm > 0, nrm, 1.0), -1.0)
        sc[S] = -np.inf
        S = sorted(S + [int(np.argmax(sc))])
    return S


def _swap_search(Z, y, S, max_passes):
    """Best-improvement local search over the *full* single-swap neighbourhood.

    A pass tries all k(d − k) exchanges of one support column for one outside column: for
    each position t the other k − 1 columns are projected out (Householder QR), and the
    residual after adding column j is ‖r_t‖² − (p_jᵀ r_t)²/‖p_j‖², exact for every j at once.
    The best exchange is re-checked by an SVD least-squares fit and made if it lowers the
    residual; passes stop when none does. Returns (support, rss, swaps made).
    """
    S = sorted(S)
    k = len(S)
    col = np.einsum("ij,ij->j", Z, Z)
    best = _rss(Z, y, S)
    swaps = 0
    for _ in range(max_passes):
        cand, cand_v = None, best
        for t in range(k):
            base = S[:t] + S[t + 1:]
            r, P = _project_out(Z, y, base)
            nrm = np.einsum("ij,ij->j", P, P)
            ok = nrm > 1e-20 * col
            gain = np.where(ok, (P.T @ r) ** 2 / np.where(ok, nrm, 1.0), -np.inf)
            gain[S] = -np.inf
            j = int(np.argmax(gain))
            v = float(r @ r) - float(gain[j])
            if v < cand_v * (1 - 1e-10):
                cand, cand_v = sorted(base + [j]), v
        if cand is None:
            break
        v = _rss(Z, y, cand)
        if not v < best * (1 - 1e-10):
            break
        S, best = cand, v
        swaps += 1
    return S, best, swaps


def solve_random_support_regression(X, y, *, k: int, n_lambdas: int = 30,
                                    max_swap_passes: int = 100, max_dependency: int = 2,
                                    dependency_tol: float = 0.3, n_starts: int = 3,
                                    tol: float = 1e-6) -> SparseResult:
    """Sparse regression for random supports — a **stand-in** for the paper's algorithm.

    The paper's two phases (find a good preconditioner from X; solve sparse regression in
    the preconditioned basis) could not be read. This function implements the
    best-founded proxy we could build from its ingredients, and says so in its result:

    1. *Scaling:* the diagonal D that gives every column norm √N (columns of norm 0 are
       never selected).
    2. *Preconditioner (proxy of Phase 1):* :func:`sparse_dependency_preconditioner` — each
       column that is within ``dependency_tol`` (relative residual) of the span of its
       ``max_dependency`` most correlated columns is replaced by that residual.
    3. *Starting supports:* a Lasso path (numba coordinate descent, warm starts,
       ``n_lambdas`` values of λ from λ_max to λ_max/1e4) on XD and one on the
       preconditioned design; a selected preconditioned column stands for itself and the
       columns it was made from. Every path support is brought to exactly k columns (forward
       OMP steps / backward elimination) and refit by SVD least squares (no normal
       equations, no explicit inverse: stable up to condition numbers ≈ 1e12); the best of
       each path, and OMP's support, are the starts.
    4. *Local search (proxy of Phase 2):* from each start, best-improvement exchange over
       the **full** single-swap neighbourhood (all k(d − k) swaps, each scored exactly)
       until no swap lowers the least-squares residual; the k-support with the smallest
       residual is refit and returned.

    Parameters
    ----------
    X : (N, d) array; y : (N,) array
    k : int
        Sparsity (1 <= k <= d).
    n_lambdas : int
        Points of each Lasso path (>= 2).
    max_swap_passes : int
        Cap on accepted swaps per start (>= 0; 0 skips the local search).
    max_dependency : int
        Columns a nearly dependent column is regressed on (>= 0; 0 = no preconditioner).
    dependency_tol : float
        Relative residual under which a column counts as nearly dependent (in (0, 1]).
    tol : float
        Relative duality gap of each Lasso solve on the paths.

    Returns
    -------
    SparseResult
        ``.preconditioner`` = the diagonal of D; ``.objective`` = residual/N;
        ``.diagnostics`` has each start's support, residual and swaps, the winner, the
        number of columns the preconditioner replaced and the condition number of X.

    Examples
    --------
    >>> import numpy as np
    >>> from theorylab.sparse import random_walk_design
    >>> inst = random_walk_design(60, 100, k=4, noise=0.1, rng=1)
    >>> res = solve_random_support_regression(inst.X, inst.y, k=4)
    >>> sorted(res.support.tolist()) == inst.support.tolist()
    True
    """
    X, y = _data(X, y)
    n, d = X.shape
    k = _check_k(k, d)
    n_lambdas = check_int(n_lambdas, name="n_lambdas", minimum=2)
    max_swap_passes = check_int(max_swap_passes, name="max_swap_passes", minimum=0)
    max_dependency = check_int(max_dependency, name="max_dependency", minimum=0)
    dependency_tol = check_positive(dependency_tol, name="dependency_tol")
    if dependency_tol > 1:
        raise ValueError(f"dependency_tol must be <= 1, got {dependency_tol!r}")
    n_starts = check_int(n_starts, name="n_starts", minimum=1)
    tol = check_positive(tol, name="tol")
    norms = np.linalg.norm(X, axis=0)
    Dg = np.where(norms > 0, np.sqrt(n) / np.where(norms > 0, norms, 1.0), 0.0)
    Z = X * Dg
    if not np.any(Z.T @ y):
        return _result(np.zeros(d), "random_support_proxy",
                       message="y is orthogonal to every column", preconditioner=Dg,
                       diagnostics={"kappa": float("nan")})
    Zp, deps = sparse_dependency_preconditioner(Z, max_dependency=max_dependency,
                                                dependency_tol=dependency_tol)
    # path supports up to 6k columns (pruned back to k) give starts that contain the true
    # support more often than the size-k path points do
    max_size = min(6 * k, n // 2, d)
    starts = {}
    for name, supports in (
            ("lasso path", _lasso_path_supports(Z, y, max(max_size, k), n_lambdas, tol)),
            ("preconditioned lasso path", [
                tuple(sorted({i for j in S for i in deps[j]}))
                for S in _lasso_path_supports(Zp, y, max(max_size, k), n_lambdas, tol)])):
        cands = {tuple(_fit_to_k(Z, y, S, k)) for S in supports}
        for i, S in enumerate(sorted(cands, key=lambda S: _rss(Z, y, S))[:n_starts]):
            starts[f"{name} #{i + 1}"] = list(S)
    starts["omp"] = _fit_to_k(Z, y, [], k)
    runs = {}
    for name, S0 in starts.items():
        S, v, sw = _swap_search(Z, y, S0, max_swap_passes)
        runs[name] = {"start": list(S0), "support": S, "rss": v / n, "swaps": sw}
    winner = min(runs, key=lambda m: runs[m]["rss"])
    S = runs[winner]["support"]
    w = _lstsq_on(Z, y, S) * Dg
    if not np.all(np.isfinite(w)):
        raise FloatingPointError("solve_random_support_regression: non-finite coefficients")
    s = np.linalg.svd(X, compute_uv=False)
    kappa = float(s[0] / s[min(n, d) - 1]) if s[min(n, d) - 1] > 0 else float("inf")
    return _result(w, "random_support_proxy", n_iter=sum(r["swaps"] for r in runs.values()),
                   message=("PROXY for the paper's procedure (not available): sparse-"
                            "dependency preconditioner + Lasso-path/OMP starts + full "
                            "single-swap local search"),
                   objective=runs[winner]["rss"], preconditioner=Dg,
                   diagnostics={"starts": runs, "winner": winner, "kappa": kappa,
                                "replaced_columns": sum(len(t) > 1 for t in deps)})
