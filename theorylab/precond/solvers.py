"""Krylov solvers for SPD (and null-space-projected SPSD) systems: preconditioned CG with the
preconditioners a numerical analyst would reach for, and the deep conjugate direction method
(DCDM) of Kaneda et al. with any direction function.

=================  ==========================================  ==================
paper              meaning                                     argument
=================  ==========================================  ==================
A                  SPD matrix (pressure Poisson)               ``A``
b                  right-hand side                             ``b``
f_θ(r/‖r‖)         learned search direction                    ``direction``
2                  directions A-orthogonalised against         ``n_orth``
ε                  stop when ‖r‖/‖b‖ < ε                       ``tol``
=================  ==========================================  ==================

Preconditioners (:func:`make_preconditioner`): ``"none"`` (plain CG), ``"sgs"`` (symmetric
Gauss–Seidel), ``"ic0"`` (incomplete Cholesky without fill, numba kernel), ``"amg_sa"`` and
``"amg_rs"`` (one V-cycle of pyamg's smoothed-aggregation / Ruge–Stüben hierarchy).
Every result carries iterations *and* wall times: ``setup_time`` (preconditioner set-up,
network loading is the caller's), ``solve_time`` (iterations, including every preconditioner
or network application) and, for DCDM, ``direction_time`` (the share spent in ``direction``).

References
----------
A. Kaneda, O. Akar, J. Chen, V. Kala, D. Hyde, J. Teran, *A Deep Conjugate Direction Method
for Iteratively Solving Linear Systems*, arXiv:2205.10763 (ICML 2023), Algorithm 1.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from theorylab._validation import check_array, check_choice, check_int, check_positive
from theorylab.precond import _kernels
from theorylab.results import ConvergenceWarning, ResultRepr, SolverResult

__all__ = ["KrylovResult", "Preconditioner", "make_preconditioner", "ic0", "solve_pcg",
           "solve_dcdm", "PRECONDITIONERS"]

PRECONDITIONERS = ("none", "sgs", "ic0", "amg_sa", "amg_rs")


@dataclass(frozen=True, slots=True, kw_only=True)
class KrylovResult(SolverResult):
    """Solution ``x`` of A x = b, iterations, final relative residual and wall times (s).

    ``history["residual"]`` holds ‖r_k‖/‖b‖ for k = 0, …, n_iter.
    """

    method: str
    residual: float
    setup_time: float = 0.0
    solve_time: float = 0.0
    direction_time: float = 0.0

    @property
    def total_time(self) -> float:
        """Set-up plus solve time."""
        return self.setup_time + self.solve_time


@dataclass(frozen=True, slots=True, kw_only=True)
class Preconditioner(ResultRepr):
    """z = M⁻¹ r as a callable, with the kind, its set-up time (s) and details (AMG levels
    and operator complexity)."""

    kind: str
    apply: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    setup_time: float = 0.0
    info: dict = field(default_factory=dict)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        return self.apply(r)


def _check_operator(A: Any, *, name: str = "A") -> sp.csr_matrix:
    if sp.issparse(A):
        if np.iscomplexobj(A.data):
            raise TypeError(f"{name} must be real-valued, got {A.dtype}")
        A = sp.csr_matrix(A, dtype=np.float64)
        if A.shape[0] == 0 or A.shape[1] == 0:
            raise ValueError(f"{name} must have at least 1 row, got shape {A.shape}")
        check_array(A.data, name=name, ndim=1)
    else:
        A = sp.csr_matrix(check_array(A, name=name, ndim=2, min_shape=(1, 1)))
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be square, got shape {A.shape}")
    A.sum_duplicates()
    A.sort_indices()
    asym = abs(A - A.T)
    scale = float(abs(A).max()) if A.nnz else 0.0
    if asym.nnz and float(asym.max()) > 1e-12 * max(scale, 1e-300):
        raise ValueError(f"{name} must be symmetric, got max |A - A^T| = {float(asym.max()):.3g}")
    return A


def _check_null_basis(null_basis: Any, n: int) -> np.ndarray:
    if null_basis is None:
        return np.zeros((n, 0))
    N = check_array(null_basis, name="null_basis", ndim=2)
    if N.shape[0] != n:
        raise ValueError(f"null_basis must have shape ({n}, k), got {N.shape}")
    if N.shape[1] and not np.allclose(N.T @ N, np.eye(N.shape[1]), atol=1e-8):
        raise ValueError("null_basis must have orthonormal columns")
    return N


def _tril_sorted(A: sp.csr_matrix) -> sp.csr_matrix:
    L = sp.tril(A, format="csr")
    L.sum_duplicates()
    L.sort_indices()
    diag_pos = L.indptr[1:] - 1
    if (np.any(L.indptr[1:] == L.indptr[:-1])
            or np.any(L.indices[diag_pos] != np.arange(A.shape[0]))
            or np.any(L.data[diag_pos] <= 0)):
        raise ValueError("A must have a positive diagonal")
    return L


def ic0(A, *, shift: float = 0.0) -> sp.csr_matrix:
    """Incomplete Cholesky factor with no fill: lower-triangular L with the pattern of
    tril(A) and (L Lᵀ)ᵢⱼ = Aᵢⱼ on that pattern (numba kernel).

    Parameters
    ----------
    A : (n, n) symmetric sparse or dense array with a positive diagonal
    shift : float
        Factor A + shift·diag(A) instead (≥ 0; a small shift rescues a singular A).

    Raises
    ------
    ValueError
        When a pivot is not positive (the message names the row).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[4.0, -1.0], [-1.0, 4.0]])      # tridiagonal: IC(0) = Cholesky
    >>> np.allclose(ic0(A).toarray(), np.linalg.cholesky(A))
    True
    """
    A = _check_operator(A)
    shift = check_positive(shift, name="shift", strict=False)
    L = _tril_sorted(A)
    data = L.data.copy()
    diag_pos = L.indptr[1:] - 1
    data[diag_pos] *= 1.0 + shift
    out = np.zeros_like(data)
    bad = _kernels.ic0_factor(L.indptr.astype(np.int64), L.indices.astype(np.int64), data, out)
    if bad >= 0:
        raise ValueError(f"A has no IC(0) factor: pivot of row {bad} is not positive "
                         f"(shift={shift:g}); pass a larger shift")
    return sp.csr_matrix((out, L.indices.copy(), L.indptr.copy()), shape=A.shape)


def make_preconditioner(A, kind: Literal["none", "sgs", "ic0", "amg_sa", "amg_rs"] = "none",
                        *, shift: float = 0.0) -> Preconditioner:
    """Build z = M⁻¹ r for a symmetric A (the set-up is timed).

    Parameters
    ----------
    A : (n, n) symmetric matrix (sparse or dense)
    kind : {"none", "sgs", "ic0", "amg_sa", "amg_rs"}
        Identity; symmetric Gauss–Seidel M = (D + L) D⁻¹ (D + L)ᵀ; IC(0) M = L Lᵀ;
        one V-cycle of pyamg's smoothed-aggregation or Ruge–Stüben AMG (pseudo-inverse
        coarse solve, so a singular A is fine).
    shift : float
        Diagonal shift of the IC(0) factorisation (see :func:`ic0`).

    Examples
    --------
    >>> import numpy as np
    >>> M = make_preconditioner(np.diag([2.0, 4.0]), "sgs")
    >>> M(np.array([2.0, 4.0]))
    array([1., 1.])
    """
    A = _check_operator(A)
    kind = check_choice(kind, name="kind", choices=PRECONDITIONERS)
    shift = check_positive(shift, name="shift", strict=False)
    n = A.shape[0]
    t0 = time.perf_counter()
    info: dict = {}
    if kind == "none":
        def apply(r):
            return np.array(r, dtype=float)
    elif kind in ("sgs", "ic0"):
        if kind == "sgs":
            L = _tril_sorted(A)
            diag = L.data[L.indptr[1:] - 1].copy()
        else:
            L = ic0(A, shift=shift)
        ip, ix, dat = L.indptr.astype(np.int64), L.indices.astype(np.int64), L.data
        tmp = np.zeros(n)

        if kind == "sgs":
            def apply(r):
                out = np.zeros(n)
                _kernels.sgs_apply(ip, ix, dat, diag, np.ascontiguousarray(r, dtype=float),
                                   tmp, out)
                return out
        else:
            def apply(r):
                out = np.zeros(n)
                _kernels.ic0_apply(ip, ix, dat, np.ascontiguousarray(r, dtype=float), tmp, out)
                return out
        apply(np.ones(n))  # numba cache load belongs to the set-up, not the first iteration
    else:
        import pyamg

        if kind == "amg_sa":
            ml = pyamg.smoothed_aggregation_solver(A, coarse_solver="pinv", max_coarse=10)
        else:
            ml = pyamg.ruge_stuben_solver(A, coarse_solver="pinv", max_coarse=10)
        M = ml.aspreconditioner(cycle="V")
        info = {"levels": len(ml.levels), "operator_complexity": float(ml.operator_complexity())}

        def apply(r):
            return np.asarray(M @ np.asarray(r, dtype=float), dtype=float)
    return Preconditioner(kind=kind, apply=apply, setup_time=time.perf_counter() - t0,
                          info=info)


def _start(A, b, null_basis, tol, max_iter, default_max_iter):
    A = _check_operator(A)
    n = A.shape[0]
    b = check_array(b, name="b", ndim=1, shape=(n,), min_shape=(1,))
    tol = check_positive(tol, name="tol")
    max_iter = (default_max_iter(n) if max_iter is None
                else check_int(max_iter, name="max_iter", minimum=1))
    N = _check_null_basis(null_basis, n)
    if N.shape[1]:
        b = b - N @ (N.T @ b)
    return A, b, N, tol, max_iter


def _project(v, N):
    return v - N @ (N.T @ v) if N.shape[1] else v


def _finish(method, x, k, res_hist, tol, max_iter, converged, msg, **times):
    if not converged:
        if not msg:
            msg = (f"max_iter={max_iter} reached with relative residual {res_hist[-1]:.3e} "
                   f"> tol {tol:g}")
        warnings.warn(f"{method}: {msg}", ConvergenceWarning, stacklevel=3)
    elif converged:
        msg = f"relative residual {res_hist[-1]:.3e} < tol {tol:g} after {k} iterations"
    return KrylovResult(x=x, n_iter=k, converged=converged, message=msg, method=method,
                        residual=float(res_hist[-1]),
                        history={"residual": np.asarray(res_hist)}, **times)


def solve_pcg(A, b, *, preconditioner: str | Preconditioner = "none", tol: float = 1e-4,
              max_iter: int | None = None, null_basis=None, shift: float = 0.0
              ) -> KrylovResult:
    r"""Preconditioned conjugate gradients, stopped when ‖b − A x‖/‖b‖ < tol.

    Parameters
    ----------
    A : (n, n) symmetric positive (semi-)definite matrix, sparse or dense
    b : (n,) array
    preconditioner : {"none", "sgs", "ic0", "amg_sa", "amg_rs"} or Preconditioner
        A kind for :func:`make_preconditioner` (its set-up is timed into ``setup_time``)
        or a ready one (its own ``setup_time`` is reported).
    tol : float
        Relative residual tolerance.
    max_iter : int, optional
        Iteration cap (default 10 n).
    null_basis : (n, k) array with orthonormal columns, optional
        Null space of a singular A: b and every preconditioned residual are projected onto
        its orthogonal complement, where A is definite (the solution is then the one
        orthogonal to the null space, for the projected b).
    shift : float
        IC(0) diagonal shift (only with ``preconditioner="ic0"``).

    Returns
    -------
    KrylovResult
        ``method`` is ``"cg"`` or ``"pcg-<kind>"``.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` is reached or the iteration breaks down (pᵀAp ≤ 0).

    Notes
    -----
    Hestenes–Stiefel recurrences with z = M⁻¹r: α = rᵀz / pᵀAp, x += αp, r −= αAp,
    β = r₊ᵀz₊ / rᵀz, p = z₊ + βp. The residual is the recursive one.

    Examples
    --------
    >>> import numpy as np
    >>> res = solve_pcg(np.array([[4.0, 1.0], [1.0, 3.0]]), np.array([1.0, 2.0]), tol=1e-12)
    >>> res.n_iter, np.allclose(res.x, [1 / 11, 7 / 11])
    (2, True)
    """
    A, b, N, tol, max_iter = _start(A, b, null_basis, tol, max_iter, lambda n: 10 * n)
    if isinstance(preconditioner, Preconditioner):
        M = preconditioner
    else:
        M = make_preconditioner(A, preconditioner, shift=shift)
    method = "cg" if M.kind == "none" else f"pcg-{M.kind}"
    t0 = time.perf_counter()
    n = A.shape[0]
    x = np.zeros(n)
    bnorm = float(np.linalg.norm(b))
    if bnorm == 0.0:
        return _finish(method, x, 0, [0.0], tol, max_iter, True, "",
                       setup_time=M.setup_time, solve_time=time.perf_counter() - t0)
    r = b.copy()
    z = _project(M(r), N)
    p = z.copy()
    rz = float(r @ z)
    hist = [1.0]
    converged, msg, k = False, "", 0
    for k in range(1, max_iter + 1):
        Ap = A @ p
        pAp = float(p @ Ap)
        if not pAp > 0.0:
            msg = f"breakdown at iteration {k}: pᵀAp = {pAp:.3g} (A or M not SPD?)"
            k -= 1
            break
        alpha = rz / pAp
        x += alpha * p
        r -= alpha * Ap
        res = float(np.linalg.norm(r)) / bnorm
        if not np.isfinite(res):
            raise FloatingPointError(f"{method}: non-finite residual at iteration {k}")
        hist.append(res)
        if res < tol:
            converged = True
            break
        z = _project(M(r), N)
        rz_new = float(r @ z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return _finish(method, x, k, hist, tol, max_iter, converged, msg,
                   setup_time=M.setup_time, solve_time=time.perf_counter() - t0)


def solve_dcdm(A, b, direction: Callable[[np.ndarray], np.ndarray], *, n_orth: int = 2,
               tol: float = 1e-4, max_iter: int = 100, null_basis=None) -> KrylovResult:
    r"""Deep conjugate direction method: conjugate directions from a direction function.

    Parameters
    ----------
    A : (n, n) symmetric positive (semi-)definite matrix, sparse or dense
    b : (n,) array
    direction : callable
        ``direction(r / ‖r‖) -> q`` of shape (n,); the paper's trained network
        (:func:`theorylab.precond.net_direction`), ``lambda r: r`` (CG) or an exact solve.
    n_orth : int
        Number of previous directions each new one is A-orthogonalised against (paper: 2).
    tol : float
        Stop when the explicitly recomputed ‖b − A x‖/‖b‖ < tol.
    max_iter : int
        Iteration cap (paper: 100).
    null_basis : (n, k) array, optional
        Null space of a singular A (b and every direction are projected off it).

    Returns
    -------
    KrylovResult
        ``method="dcdm"``; ``direction_time`` is the time spent in ``direction``.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` is reached or the iteration breaks down (qᵀAq ≤ 0).

    Notes
    -----
    x₀ = 0, r₀ = b. Iteration k: q = f(r/‖r‖);
    :math:`q \leftarrow q - \sum_{p \in \text{last } n_{orth}} \frac{q^\top A p}{p^\top A p} p`;
    α = qᵀr / qᵀAq; x += αq; r = b − Ax. Each step is an exact line search in the A-norm,
    so ‖x_k − x*‖_A never increases whatever ``direction`` returns. With
    ``direction = identity`` and n_orth ≥ 1 the iterates are CG's (the CG direction is r
    A-orthogonalised against the previous direction).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]]); b = np.array([1.0, 2.0])
    >>> solve_dcdm(A, b, lambda r: np.linalg.solve(A, r), tol=1e-12).n_iter   # exact inverse
    1
    """
    A, b, N, tol, max_iter = _start(A, b, null_basis, tol, max_iter, None)
    if not callable(direction):
        raise TypeError(f"direction must be callable, got {type(direction).__name__}")
    n_orth = check_int(n_orth, name="n_orth", minimum=0)
    t0 = time.perf_counter()
    n = A.shape[0]
    x = np.zeros(n)
    bnorm = float(np.linalg.norm(b))
    if bnorm == 0.0:
        return _finish("dcdm", x, 0, [0.0], tol, max_iter, True, "",
                       solve_time=time.perf_counter() - t0)
    r = b.copy()
    hist = [1.0]
    window: list[tuple[np.ndarray, np.ndarray, float]] = []
    t_dir = 0.0
    converged, msg, k = False, "", 0
    for k in range(1, max_iter + 1):
        td = time.perf_counter()
        q = direction(r / np.linalg.norm(r))
        t_dir += time.perf_counter() - td
        q = np.asarray(q, dtype=float).reshape(-1)
        if q.shape != (n,):
            raise ValueError(f"direction must return shape ({n},), got {q.shape}")
        if not np.all(np.isfinite(q)):
            raise FloatingPointError(f"dcdm: direction returned non-finite entries at "
                                     f"iteration {k}")
        q = _project(q, N)
        for p, Ap, pAp in window:
            q = q - (float(q @ Ap) / pAp) * p
        Aq = A @ q
        qAq = float(q @ Aq)
        if not qAq > 0.0:
            msg = f"breakdown at iteration {k}: qᵀAq = {qAq:.3g} (zero or null direction)"
            k -= 1
            break
        alpha = float(q @ r) / qAq
        x += alpha * q
        r = b - A @ x
        window.append((q, Aq, qAq))
        if len(window) > n_orth:
            window.pop(0)
        res = float(np.linalg.norm(r)) / bnorm
        if not np.isfinite(res):
            raise FloatingPointError(f"dcdm: non-finite residual at iteration {k}")
        hist.append(res)
        if res < tol:
            converged = True
            break
    return _finish("dcdm", x, k, hist, tol, max_iter, converged, msg,
                   solve_time=time.perf_counter() - t0, direction_time=t_dir)
