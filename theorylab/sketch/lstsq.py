"""Sketched least squares: sketch-and-solve, the ℓ∞ error ratio, sketch-and-precondition.

Paper symbols ↔ names: A, b ↔ ``A``, ``b``; n, d ↔ ``A.shape``; m ↔ ``m`` / ``sketch_size``;
ε, δ ↔ ``eps``, ``delta``; x′ ↔ ``result.x``; x* ↔ the exact least-squares solution;
ρ = ‖x′ − x*‖∞ √d / (‖Ax* − b‖₂ ‖A†‖₂) ↔ :func:`linf_error_ratio`.

The ℓ∞ guarantee of Song, Ye, Yin & Zhang (arXiv:2302.00248, Thm. 1.1) is stated for a dense
sketch with m = ε⁻² d log³(n/δ) rows. A 2026 note by two of its authors argues that the
proof is incomplete; theorylab treats SRHT's ℓ∞ behaviour as an empirical finding only.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.linalg import cholesky, qr, solve_triangular
from scipy.linalg.lapack import dtrcon

from theorylab._result import ConvergenceWarning, SolverResult
from theorylab._validation import (
    check_int,
    check_matrix,
    check_rng,
    check_scalar,
    check_vector,
)
from theorylab.sketch import _kernels
from theorylab.sketch.operators import SketchKind, SketchOperator, draw_sketch, max_sketch_size

__all__ = [
    "SketchedLstsqResult",
    "linf_error_ratio",
    "paper_sketch_size",
    "solve_lstsq_preconditioned",
    "solve_sketched_lstsq",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SketchedLstsqResult(SolverResult):
    """Result of :func:`solve_sketched_lstsq` / :func:`solve_lstsq_preconditioned`.

    Attributes (besides :class:`~theorylab.SolverResult`'s)
    ----------
    sketch : str
        The sketch family used.
    sketch_size : int
        m, the rows of S actually used (``gaussian_pooled`` rounds m up to a power of two).
    rank : int
        Numerical rank of SA (< d signals a collision, e.g. CountSketch on a coherent A).
    operator : SketchOperator
        The drawn sketch (applied to A and b alike).
    """

    sketch: str = ""
    sketch_size: int = 0
    rank: int = 0
    operator: SketchOperator | None = None


def paper_sketch_size(eps: float, d: int, n: int, *, delta: float = 0.01) -> int:
    """m = ⌈ε⁻² d log³(n/δ)⌉, the row count of the paper's Theorem 1.1 (constant 1).

    The constant hidden in the O(·) is not stated in what theorylab could check
    (**unconfirmed**), and the theorem's proof is disputed by the 2026 follow-up.

    Examples
    --------
    >>> paper_sketch_size(1.0, 2, 100, delta=0.5)
    298
    """
    eps = check_scalar(eps, name="eps", lower=0.0, lower_inclusive=False)
    delta = check_scalar(delta, name="delta", lower=0.0, upper=1.0, lower_inclusive=False,
                         upper_inclusive=False)
    d = check_int(d, name="d", minimum=1)
    n = check_int(n, name="n", minimum=1)
    return int(math.ceil(d * math.log(n / delta) ** 3 / eps**2))


# Sketch families in which every entry of A enters some row of SA with a nonzero
# coefficient (±1 Hadamard/hash entries, or almost surely nonzero Gaussian weights): a NaN
# or inf in A always shows up in SA, so the solvers check A's finiteness on the m × d
# sketch instead of with a separate pass over A (about a third of an SRHT's cost at
# n = 2^18, d = 64). SRDCT is excluded: a DCT entry can be exactly zero.
_NAN_PROPAGATING = frozenset({"srht", "srht_gaussian_diag", "countsketch", "osnap", "gaussian",
                              "gaussian_pooled"})


def _check_problem(A, b, *, finite_A: bool = True):
    A = check_matrix(A, name="A", finite=finite_A)
    n, d = A.shape
    if n < d:
        raise ValueError(f"A must be tall (n >= d), got shape {A.shape}")
    b = check_vector(b, name="b", n=n)
    return A, b


def _sketch_problem(op, A, b, deferred: bool):
    """[SA | Sb] in one pass; with ``deferred`` the finiteness of A is checked here."""
    if deferred:        # NaN/inf arithmetic on bad input is expected here: caught below
        with np.errstate(invalid="ignore", over="ignore"):
            SM = op._apply_blocks(A, b[:, None])
    else:
        SM = op._apply_blocks(A, b[:, None])
    if deferred and not np.all(np.isfinite(SM)):
        check_matrix(A, name="A")       # raises "A must be finite, got k NaN/inf entries"
        raise FloatingPointError("the sketch of [A | b] overflowed float64 (entries of A or b "
                                 "too large); rescale A and b")
    return SM


# κ(SA) up to which the small sketched problem is solved through its Gram matrix: the
# rounding error κ²·u <= 1e8 · 1.1e-16 ≈ 1e-8 (relative) stays far below any sketch's own
# error √(d/m) >= 1/√n; above it (or when Cholesky fails) LAPACK gelsd is used.
_GRAM_MAX_COND = 1e4
# κ(SA) up to which the preconditioner R comes from the Cholesky factor of SAᵀSA: its
# backward error, relative to λ_min(SAᵀSA), is ≈ κ²u <= 1e-4, which moves κ(AR⁻¹) by far
# less than the sketch's own distortion (LSQR then iterates on A itself, so only the
# iteration count, never the final accuracy, depends on R)
_PRECOND_GRAM_MAX_COND = 1e6


def _gram_factor(SM, max_cond):
    """(R, QᵀSb) from the Gram matrix of SM = [SA | Sb], or None when SA is ill-conditioned.

    R is the upper Cholesky factor of SAᵀSA (so SA = QR with Q = SA R⁻¹) and QᵀSb = R⁻ᵀSAᵀSb,
    both from one product [SA | Sb]ᵀ[SA | Sb] — at m = 4096, d = 64 about 6× faster than
    gelsd, at m = 8192, d = 256 about 4× faster than a Householder QR with Q formed. None
    when Cholesky fails or LAPACK's ``trcon`` estimate of κ(R) = κ(SA) exceeds ``max_cond``.
    """
    d = SM.shape[1] - 1
    G = SM.T @ SM
    try:
        R = cholesky(G[:d, :d], lower=False, check_finite=False)
    except np.linalg.LinAlgError:
        return None
    rcond, info = dtrcon(R, norm="1", uplo="U")
    if info != 0 or not rcond * max_cond >= 1.0:
        return None
    return R, solve_triangular(R, G[:d, d], trans="T", check_finite=False)


def _solve_sketched_system(SM):
    """(x, rank) minimising ‖SA x − Sb‖ for SM = [SA | Sb] (m × (d + 1)).

    Well-conditioned SA (κ <= 1e4): x = R⁻¹QᵀSb from :func:`_gram_factor`. Otherwise —
    ill-conditioned or rank-deficient, e.g. a CountSketch collision — the minimum-norm
    solution from ``gelsd`` with its numerical rank.
    """
    d = SM.shape[1] - 1
    factor = _gram_factor(SM, _GRAM_MAX_COND)
    if factor is not None:
        R, z = factor
        return solve_triangular(R, z, check_finite=False), d
    x, _, rank, _ = np.linalg.lstsq(SM[:, :d], SM[:, d], rcond=None)
    return x, int(rank)


def solve_sketched_lstsq(A, b, *, sketch: SketchKind = "srht", m: int | None = None,
                         eps: float | None = None, delta: float = 0.01, nnz_per_col: int = 4,
                         block_size: int | None = None, rng=None) -> SketchedLstsqResult:
    """Sketch-and-solve: x′ = argmin ‖S A x − S b‖₂ with one draw of S for A and b.

    Parameters
    ----------
    A : array_like, shape (n, d)
        Design (n >= d).
    b : array_like, shape (n,)
        Targets.
    sketch : str
        Sketch family, see :func:`~theorylab.sketch.draw_sketch`.
    m : int, optional
        Sketch rows (d <= m; at most N′ for SRHT and n for SRDCT).
    eps : float, optional
        Target ε; when ``m`` is not given, m = ⌈ε⁻² d log³(n/δ)⌉ (:func:`paper_sketch_size`).
        Give exactly one of ``m`` and ``eps``.
    delta : float
        Failure probability δ in the paper's row count.
    nnz_per_col, block_size :
        OSNAP's s and the Gaussian-pooled block size (see ``draw_sketch``).
    rng : Generator, int or None

    Returns
    -------
    SketchedLstsqResult
        ``x`` (minimum-norm solution of the sketched problem), ``sketch``, ``sketch_size``,
        ``rank`` of SA, ``operator``.

    Raises
    ------
    ValueError
        Both or neither of m/eps; m < d; m above the family's maximum (also when the
        paper's formula asks for more rows than the family allows); NaN/inf or bad shapes.

    Notes
    -----
    [A | b] is sketched in one pass (for SRHT: a fused kernel that reads A once and never
    forms the padded N′ × (d + 1) transform). The m × d problem is solved through the
    Cholesky factor of its Gram matrix when κ(SA) <= 1e4 (rounding ≈ κ²u <= 1e-8, far below
    the sketch's own error), else by LAPACK ``gelsd`` (minimum norm, so a rank-deficient
    SA — a CountSketch collision — still gives an answer; ``rank`` records it).
    Finiteness of A is checked on the sketch [SA | Sb] for the families in which every
    entry of A reaches SA with a nonzero weight (all but SRDCT), saving a pass over A; the
    error still names A.

    References
    ----------
    Song, Ye, Yin, Zhang, "A Nearly-Optimal Bound for Fast Regression with ℓ∞ Guarantee",
    ICML 2023, arXiv:2302.00248.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((1024, 4)); b = A @ np.ones(4) + 0.01 * rng.standard_normal(1024)
    >>> res = solve_sketched_lstsq(A, b, sketch="srht", m=128, rng=1)
    >>> bool(np.allclose(res.x, 1.0, atol=0.01)), res.sketch_size
    (True, 128)
    """
    deferred = sketch in _NAN_PROPAGATING
    A, b = _check_problem(A, b, finite_A=not deferred)
    n, d = A.shape
    if (m is None) == (eps is None):
        raise ValueError("give exactly one of m (sketch rows) and eps (target accuracy), "
                         f"got m={m!r}, eps={eps!r}")
    if m is None:
        m = paper_sketch_size(eps, d, n, delta=delta)
        mmax = max_sketch_size(sketch, n)
        if mmax is not None and m > mmax:
            raise ValueError(f"the paper's m = eps^-2 d log^3(n/delta) = {m} exceeds the "
                             f"{mmax} rows sketch={sketch!r} allows for n={n}; pass m")
    m = check_int(m, name="m", minimum=d)
    op = draw_sketch(sketch, n, m, nnz_per_col=nnz_per_col, block_size=block_size, rng=rng)
    SM = _sketch_problem(op, A, b, deferred)   # one pass, one S for A and b
    x, rank = _solve_sketched_system(SM)
    return SketchedLstsqResult(x=x, n_iter=0, converged=True,
                               message=f"sketch-and-solve with {sketch}, m={op.sketch_size}",
                               sketch=sketch, sketch_size=op.sketch_size, rank=int(rank),
                               operator=op)


def linf_error_ratio(A, b, x, *, x_star=None) -> float:
    """Achieved ε: ρ = ‖x − x*‖∞ · √d / (‖A x* − b‖₂ · ‖A†‖₂).

    Parameters
    ----------
    A : array_like, shape (n, d)
        Full column rank.
    b : array_like, shape (n,)
    x : array_like, shape (d,)
        The approximate solution (e.g. a sketched one).
    x_star : array_like, shape (d,), optional
        The exact solution when known (planted instances); else computed by ``lstsq``.

    Returns
    -------
    float
        ρ; the paper's guarantee reads ρ <= ε.

    Raises
    ------
    ValueError
        Shapes, NaN, a rank-deficient A, or b in the range of A (ρ undefined).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.vstack([np.eye(2), np.zeros((2, 2))]); b = np.array([0, 0, 1.0, 0])
    >>> linf_error_ratio(A, b, np.array([0.5, 0.0]))
    0.7071067811865476
    """
    A, b = _check_problem(A, b)
    n, d = A.shape
    x = check_vector(x, name="x", n=d)
    R = np.linalg.qr(A, mode="r")
    sv = np.linalg.svd(R, compute_uv=False)
    if sv[-1] <= sv[0] * max(n, d) * np.finfo(float).eps:
        raise ValueError("A must have full column rank for ||A^+|| to be finite")
    if x_star is None:
        x_star = np.linalg.lstsq(A, b, rcond=None)[0]
    else:
        x_star = check_vector(x_star, name="x_star", n=d)
    r_norm = float(np.linalg.norm(A @ x_star - b))
    if r_norm <= 1e-14 * max(1.0, float(np.linalg.norm(b))):
        raise ValueError("b lies in the range of A (zero residual): the l_inf ratio is undefined")
    return float(np.max(np.abs(x - x_star)) * np.sqrt(d) * sv[-1] / r_norm)


# rows per block of the fused products below: 2048 rows × 64 columns = 1 MB stays in L2
_FUSED_BLOCK_BYTES = 1 << 20


def _blocks(A):
    step = max(1, _FUSED_BLOCK_BYTES // (8 * A.shape[1]))
    return range(0, A.shape[0], step), step


def _normal_product(A, v):
    """AᵀA v reading A from memory once (each row block is reused while in cache)."""
    out = np.zeros(A.shape[1])
    starts, step = _blocks(A)
    for i in starts:
        Ab = A[i:i + step]
        out += Ab.T @ (Ab @ v)
    return out


def _normal_residual(A, b, x):
    """(Aᵀ(b − Ax), ‖b − Ax‖) in one pass over A."""
    g = np.zeros(A.shape[1])
    rr = 0.0
    starts, step = _blocks(A)
    for i in starts:
        Ab = A[i:i + step]
        r = b[i:i + step] - Ab @ x
        g += Ab.T @ r
        rr += float(r @ r)
    return g, np.sqrt(rr)


def _cgls_preconditioned(A, b, R, x, tol, max_iter):
    """CG on the preconditioned normal equations R⁻ᵀAᵀA R⁻¹ y = R⁻ᵀAᵀb (CGLS form).

    Each iteration needs AᵀA p only, formed blockwise with one pass over A (LSQR needs two).
    The recurrence's residual is checked against the true one before stopping. Converged
    when the true residual r = b − Ax meets either ‖R⁻ᵀAᵀr‖ <= tol‖r‖ (the preconditioned
    test, LSQR's on AR⁻¹) or ‖Aᵀr‖ <= tol‖A‖_F(‖A‖_F‖x‖ + ‖b‖) (‖A‖_F estimated by ‖R‖_F).
    The right side of the second is tol times the scale at which computing Aᵀ(b − Ax)
    rounds (|δ(Aᵀr)| <= γ_n‖A‖(‖b‖ + ‖A‖‖x‖)). The first test's floor grows like eps·κ(A)
    (‖x‖ ~ κ‖b‖, so forming r loses eps·κ‖b‖), which puts it above tol = 1e-12 for
    κ(A) >= 1e8 although x is then as accurate as LSQR's; the second does not grow with κ.
    """
    def rinv(v):
        return solve_triangular(R, v, check_finite=False)

    def rinvt(v):
        return solve_triangular(R, v, trans="T", check_finite=False)

    it = 0
    anorm = float(np.linalg.norm(R))  # ‖R‖_F = ‖SA‖_F ≈ ‖A‖_F
    bnorm = float(np.linalg.norm(b))
    g, rnorm = _normal_residual(A, b, x)
    s = rinvt(g)
    history = [rnorm]
    s_prev = np.inf
    while True:
        s_true = float(np.linalg.norm(s))
        done = (s_true <= tol * rnorm or float(np.linalg.norm(g))
                <= tol * anorm * (anorm * float(np.linalg.norm(x)) + bnorm))
        # stop: converged, out of iterations, or a restart gained < 2x (rounding floor)
        if done or it >= max_iter or s_true > 0.5 * s_prev:
            return x, it, done, history
        s_prev = s_true
        p = s.copy()
        gamma = float(s @ s)
        while it < max_iter and np.sqrt(gamma) > tol * rnorm:
            q = rinv(p)
            w = rinvt(_normal_product(A, q))
            alpha = gamma / float(p @ w)
            x = x + alpha * q
            s = s - alpha * w
            gamma_new = float(s @ s)
            p = s + (gamma_new / gamma) * p
            gamma = gamma_new
            it += 1
            if not np.all(np.isfinite(x)):
                raise FloatingPointError(f"CGLS produced a non-finite iterate at iteration {it}")
        g, rnorm = _normal_residual(A, b, x)   # true residual: restart if the recurrence drifted
        s = rinvt(g)
        history.append(rnorm)


def _sketch_preconditioner(SM):
    """(R, QᵀSb) for SM = [SA | Sb]: R upper triangular with RᵀR = SAᵀSA.

    From :func:`_gram_factor` when κ(SA) <= 1e6, else by a Householder QR of [SA | Sb]
    without forming Q (its last column holds QᵀSb); a rank-deficient SA is an error.
    """
    d = SM.shape[1] - 1
    factor = _gram_factor(SM, _PRECOND_GRAM_MAX_COND)
    if factor is not None:
        return factor
    Rf = qr(SM, mode="r", check_finite=False)[0][: d + 1]
    R = np.ascontiguousarray(Rf[:d, :d])
    diag = np.abs(np.diag(R))
    if diag.min() <= diag.max() * SM.shape[0] * np.finfo(float).eps:
        raise ValueError("the sketched matrix SA is rank-deficient: A is (numerically) rank "
                         "deficient or m is too small for a preconditioner")
    return R, Rf[:d, d].copy()


def _sym_ortho(a, b):
    """Stable Givens rotation (c, s, r) with [c s; −s c]ᵀ [a; b] = [r; 0] (as in LSQR)."""
    if b == 0:
        return math.copysign(1.0, a) if a != 0 else 1.0, 0.0, abs(a)
    if a == 0:
        return 0.0, math.copysign(1.0, b), abs(b)
    if abs(b) > abs(a):
        tau = a / b
        s = math.copysign(1.0, b) / math.sqrt(1 + tau * tau)
        return s * tau, s, b / s
    tau = b / a
    c = math.copysign(1.0, a) / math.sqrt(1 + tau * tau)
    return c, c * tau, a / c


def _lsqr_preconditioned(A, b, R, y0, tol, max_iter, conlim=1e8):
    """LSQR (Paige & Saunders 1982) on min ‖A R⁻¹ y − b‖ from y0, one pass over A per iteration.

    The iterates, estimates and stopping tests are those of :func:`scipy.sparse.linalg.lsqr`
    (damp = 0, atol = btol = ``tol``, conlim) — tested against it — but the products A v and
    Aᵀu of an iteration are fused into one read of A (:func:`_kernels.lsqr_pass`), and u is
    kept with a lazy scale, so an iteration streams A once instead of twice.
    Returns (y, istop, itn, r1norm, r0).
    """
    n, d = A.shape
    eps = np.finfo(float).eps
    ctol = 1.0 / conlim if conlim > 0 else 0.0

    def rinv(v):
        return solve_triangular(R, v, check_finite=False)

    def rinvt(v):
        return solve_triangular(R, v, trans="T", check_finite=False)

    bnorm = float(np.linalg.norm(b))
    g = np.empty(d)
    u = b.copy()                              # u ← b − A R⁻¹ y0 and g ← Aᵀu in one pass
    beta = math.sqrt(_kernels.lsqr_pass(A, -rinv(y0), u, -1.0, g))
    r0 = beta
    y = y0.copy()
    if beta == 0.0:
        return y, 0, 0, 0.0, r0
    uscale = 1.0 / beta                       # the normalised u is u · uscale
    v = rinvt(g) * uscale
    alfa = float(np.linalg.norm(v))
    if alfa == 0.0:
        return y, 0, 0, beta, r0
    v /= alfa
    w = v.copy()
    rhobar, phibar, rnorm = alfa, beta, beta
    anorm = ddnorm = xxnorm = z = 0.0
    cs2, sn2 = -1.0, 0.0
    itn = istop = 0
    while itn < max_iter:
        itn += 1
        # u ← A R⁻¹ v − α u, β = ‖u‖, and Aᵀ u in one pass (u normalised lazily)
        ss = _kernels.lsqr_pass(A, rinv(v), u, alfa * uscale, g)
        beta = math.sqrt(ss)
        if beta > 0:
            uscale = 1.0 / beta
            anorm = math.sqrt(anorm * anorm + alfa * alfa + beta * beta)
            v = rinvt(g) * uscale - beta * v
            alfa = float(np.linalg.norm(v))
            if alfa > 0:
                v /= alfa
        cs, sn, rho = _sym_ortho(rhobar, beta)
        theta = sn * alfa
        rhobar = -cs * alfa
        phi = cs * phibar
        phibar = sn * phibar
        tau = sn * phi
        t1 = phi / rho
        t2 = -theta / rho
        ddnorm += float(w @ w) / (rho * rho)
        y += t1 * w
        w = v + t2 * w
        delta = sn2 * rho
        gambar = -cs2 * rho
        rhs = phi - delta * z
        zbar = rhs / gambar
        xnorm = math.sqrt(xxnorm + zbar * zbar)
        gamma = math.sqrt(gambar * gambar + theta * theta)
        cs2 = gambar / gamma
        sn2 = theta / gamma
        z = rhs / gamma
        xxnorm += z * z
        acond = anorm * math.sqrt(ddnorm)
        rnorm = abs(phibar)
        arnorm = alfa * abs(tau)
        test1 = rnorm / bnorm
        test2 = arnorm / (anorm * rnorm + eps)
        test3 = 1.0 / (acond + eps)
        t1 = test1 / (1 + anorm * xnorm / bnorm)
        rtol = tol + tol * anorm * xnorm / bnorm
        if itn >= max_iter:
            istop = 7
        if 1 + test3 <= 1:
            istop = 6
        if 1 + test2 <= 1:
            istop = 5
        if 1 + t1 <= 1:
            istop = 4
        if test3 <= ctol:
            istop = 3
        if test2 <= tol:
            istop = 2
        if test1 <= rtol:
            istop = 1
        if not np.all(np.isfinite(y)):
            raise FloatingPointError(f"LSQR produced a non-finite iterate at iteration {itn}")
        if istop != 0:
            break
    return y, istop, itn, rnorm, r0


def solve_lstsq_preconditioned(A, b, *, sketch: SketchKind = "srht", m: int | None = None,
                               method: Literal["lsqr", "cgls"] = "lsqr", tol: float = 1e-12,
                               max_iter: int = 100, rng=None) -> SketchedLstsqResult:
    """Sketch-and-precondition (Blendenpik/LSRN style): LSQR on A R⁻¹ with R from QR(SA).

    Parameters
    ----------
    A : array_like, shape (n, d)
        Full column rank, n >= d.
    b : array_like, shape (n,)
    sketch : str
        Sketch family for the preconditioner (default SRHT).
    method : {"lsqr", "cgls"}
        ``"lsqr"``: LSQR on the operator AR⁻¹ — the iterates and stopping tests of
        :func:`scipy.sparse.linalg.lsqr`, with an iteration's two products fused into one
        pass over A. ``"cgls"``: CG on the preconditioned normal equations with AᵀA p formed
        blockwise in one pass over A per iteration (the true residual is recomputed before
        it stops). Same iterates in exact arithmetic.
    m : int, optional
        Sketch rows; default min(n, 32d): √(d/m) ≈ 0.18 gives LSQR a contraction of about
        0.18 per iteration, while the SRHT's cost barely depends on m.
    tol : float
        LSQR's ``atol`` = ``btol``: stop when ‖(AR⁻¹)ᵀr‖ <= tol ‖AR⁻¹‖ ‖r‖.
    max_iter : int
        LSQR iteration cap.
    rng : Generator, int or None

    Returns
    -------
    SketchedLstsqResult
        ``x``, ``n_iter``, ``converged``, ``history["residual_norm"]`` (initial, final).

    Raises
    ------
    ValueError
        Bad shapes/NaN, m < d, SA rank-deficient (no preconditioner).

    Warns
    -----
    ConvergenceWarning
        LSQR hit ``max_iter`` before ``tol``.

    Notes
    -----
    κ(A R⁻¹) = κ(S U)⁻¹-distortion ≈ (1 + √(d/m)) / (1 − √(d/m)), so LSQR converges
    linearly at a rate independent of κ(A). LSQR starts from the sketch-and-solve point.

    References
    ----------
    Avron, Maymounkov, Toledo, "Blendenpik", SISC 2010; Meng, Saunders, Mahoney, "LSRN",
    arXiv:1109.5981.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((2048, 8)); b = rng.standard_normal(2048)
    >>> res = solve_lstsq_preconditioned(A, b, rng=1)
    >>> bool(np.allclose(res.x, np.linalg.lstsq(A, b, rcond=None)[0], atol=1e-10))
    True
    """
    deferred = sketch in _NAN_PROPAGATING
    A, b = _check_problem(A, b, finite_A=not deferred)
    n, d = A.shape
    tol = check_scalar(tol, name="tol", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    if method not in ("lsqr", "cgls"):
        raise ValueError(f"method must be one of ('lsqr', 'cgls'), got {method!r}")
    if m is None:
        m = max(d, min(n, 32 * d))
    m = check_int(m, name="m", minimum=d)
    rng = check_rng(rng)
    op = draw_sketch(sketch, n, m, rng=rng)
    SM = _sketch_problem(op, A, b, deferred)
    R, y0 = _sketch_preconditioner(SM)          # y0 = R x0 for the sketch-and-solve x0
    if method == "cgls":
        x0 = solve_triangular(R, y0, check_finite=False)
        x, itn, converged, hist = _cgls_preconditioned(A, b, R, x0, tol, max_iter)
        msg = f"CGLS after {itn} iterations (tol={tol:g}, m={op.sketch_size})"
        if not converged:
            why = (f"reached max_iter={max_iter}" if itn >= max_iter else
                   "stagnated (tol below the attainable rounding level)")
            warnings.warn(f"sketch-and-precondition CGLS {why} (iterations {itn}, residual "
                          f"{hist[-1]:.6g}, tol {tol:g})", ConvergenceWarning, stacklevel=2)
        return SketchedLstsqResult(x=x, n_iter=int(itn), converged=bool(converged), message=msg,
                                   history={"residual_norm": np.array(hist)}, sketch=sketch,
                                   sketch_size=op.sketch_size, rank=d, operator=op)
    y, istop, itn, r1, r0 = _lsqr_preconditioned(A, b, R, y0, tol, max_iter)
    x = solve_triangular(R, y, check_finite=False)
    converged = istop != 7
    msg = f"LSQR istop={istop} after {itn} iterations (tol={tol:g}, m={op.sketch_size})"
    if not converged:
        warnings.warn(f"sketch-and-precondition LSQR reached max_iter={max_iter} "
                      f"(iterations {itn}, residual {float(r1):.6g}, tol {tol:g})",
                      ConvergenceWarning, stacklevel=2)
    return SketchedLstsqResult(x=x, n_iter=int(itn), converged=bool(converged), message=msg,
                               history={"residual_norm": np.array([r0, float(r1)])},
                               sketch=sketch, sketch_size=op.sketch_size, rank=d,
                               operator=op)
