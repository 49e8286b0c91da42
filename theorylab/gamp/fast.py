"""Faster twins of GAMP-RIE and the Bayes-optimal MMSE: closed-form cubic roots.

The Stieltjes transform behind the RIE shrinkage and the denoiser MMSE solves, at every
point x, the cubic σ²g³ − (x + κσ²)g² + (1 − κ + κx)g − κ = 0 (theory units; see
:mod:`theorylab.gamp.theory`).  :func:`theorylab.gamp.theory.stieltjes_th` finds the three
roots as eigenvalues of a batch of 3×3 companion matrices (one LAPACK ``geev`` call per
point, ~10 µs each); here a numba kernel takes them in closed form (Cardano, complex
arithmetic) and polishes each with two Newton steps, ~0.1 µs per point.  The branch choice
is the same code path as ``stieltjes_th`` (largest imaginary part inside the support,
decreasing real branch of smallest modulus outside), so both give the same numbers to
round-off (checked in the tests against ``stieltjes_th`` and against the companion-matrix
solver on the GAMP iterations).

:func:`solve_gamp_rie_fast` is :func:`theorylab.gamp.solve_gamp_rie` with this root solver
in the RIE (the iteration is otherwise line-for-line the same), and
:func:`bayes_optimal_mmse_fast` is :func:`theorylab.gamp.bayes_optimal_mmse` on the same
quadrature with the fast roots.  This module is imported only by the claims that use it.

Reference: arXiv:2408.03733 (GAMP-RIE), arXiv:1502.06736 (RIE).
"""

from __future__ import annotations

import cmath
import functools
import math
import warnings

import numpy as np
from numba import njit
from scipy.interpolate import CubicSpline
from scipy.optimize import brentq

from .._result import ConvergenceWarning
from .._validation import (
    check_array,
    check_int,
    check_matrix,
    check_positive,
    check_rng,
    check_scalar,
    check_vector,
)
from . import _kernels
from .gamp import GampRieResult, init_gamp_rie
from .theory import (
    _TABLE_HI,
    _TABLE_LO,
    _TABLE_N,
    _cubic_coeffs_th,
    _cubic_roots,
    _quad_nodes,
    denoising_mmse,
    perfect_recovery_threshold,
    spectral_edges_th,
)

__all__ = ["stieltjes_th_fast", "solve_gamp_rie_fast", "bayes_optimal_mmse_fast"]


@njit(cache=True)
def _cubic_roots_kernel(x, s2, kappa, out, ok):  # pragma: no cover - compiled
    """out[i, :] = the three roots g of σ²g³ − (x_i + κσ²)g² + (1 − κ + κx_i)g − κ = 0.

    Cardano in complex arithmetic, then Newton steps on the cubic.  ``ok[i]`` is False when
    the triple cannot be trusted to round-off: a residual above 1e-14 of the sum of the
    terms' moduli (backward error), or two roots closer than 1e-5 of the largest modulus
    (near a double root — a spectral edge — roots are ill-conditioned); those points are
    recomputed by the caller with the companion-matrix solver.
    """
    om = complex(-0.5, math.sqrt(3.0) / 2.0)
    for i in range(x.shape[0]):
        xi = x[i]
        a2 = -(xi + kappa * s2)
        a1 = 1.0 - kappa + kappa * xi
        a0 = -kappa
        b, c, d = a2 / s2, a1 / s2, a0 / s2  # monic g³ + b g² + c g + d
        p = c - b * b / 3.0
        q = 2.0 * b * b * b / 27.0 - b * c / 3.0 + d
        sq = cmath.sqrt(complex(q * q / 4.0 + p * p * p / 27.0))
        w1 = -q / 2.0 + sq
        w2 = -q / 2.0 - sq
        w = w1 if abs(w1) >= abs(w2) else w2  # no cancellation
        u = w ** (1.0 / 3.0) if w != 0 else 0j
        good = True
        gmax = 0.0
        for k in range(3):
            uk = u * om**k
            g = (uk - p / (3.0 * uk) if uk != 0 else 0j) - b / 3.0
            for _ in range(3):  # Newton on the monic cubic
                fp = (3.0 * g + 2.0 * b) * g + c
                if fp == 0:
                    break
                g = g - (((g + b) * g + c) * g + d) / fp
            ag = abs(g)
            res = abs(((s2 * g + a2) * g + a1) * g + a0)
            scale = ((s2 * ag + abs(a2)) * ag + abs(a1)) * ag + abs(a0)
            if not res <= 1e-14 * scale:
                good = False
            gmax = max(gmax, ag)
            out[i, k] = g
        sep = min(abs(out[i, 0] - out[i, 1]), abs(out[i, 0] - out[i, 2]),
                  abs(out[i, 1] - out[i, 2]))
        ok[i] = good and sep > 1e-5 * gmax


def _cubic_roots_fast(x: np.ndarray, s2: float, kappa: float) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty((x.shape[0], 3), dtype=np.complex128)
    ok = np.empty(x.shape[0], dtype=np.bool_)
    _cubic_roots_kernel(x, float(s2), float(kappa), out, ok)
    if not np.all(ok):  # ill-conditioned points: the companion-matrix eigenvalues
        bad = ~ok
        out[bad] = _cubic_roots(*_cubic_coeffs_th(x[bad].astype(np.complex128), s2, kappa))
    return out


def stieltjes_th_fast(x, s2: float, kappa: float) -> np.ndarray:
    """:func:`theorylab.gamp.theory.stieltjes_th` with closed-form cubic roots (``s2`` > 0)."""
    x = np.atleast_1d(check_array(x, name="x", ndim=None, min_shape=(1,)))
    s2 = check_positive(s2, name="s2")
    kappa = check_positive(kappa, name="kappa")
    roots = _cubic_roots_fast(x.ravel(), s2, kappa)
    # the branch choice below is that of stieltjes_th, verbatim
    im = roots.imag
    inside = (np.abs(im) > 1e-8 * np.abs(roots)).any(axis=1)
    out = np.empty(roots.shape[0], dtype=np.complex128)
    if np.any(inside):
        r = roots[inside]
        k = np.argmax(r.imag, axis=1)
        out[inside] = r[np.arange(r.shape[0]), k]
    if np.any(~inside):
        r = roots[~inside].real
        zp = -1.0 / r**2 + kappa / (kappa - r) ** 2 + s2
        cost = np.where(zp < 0, np.abs(r), np.inf)
        k = np.argmin(cost, axis=1)
        none = ~np.isfinite(cost[np.arange(r.shape[0]), k])
        if np.any(none):
            k[none] = np.argmin(zp[none], axis=1)
        out[~inside] = r[np.arange(r.shape[0]), k]
    return out.reshape(x.shape)


def _rie_fast(R: np.ndarray, delta: float, kappa: float) -> np.ndarray:
    """``theorylab.gamp.rie._rie`` with :func:`stieltjes_th_fast` (same eigh, same map)."""
    lam, V = np.linalg.eigh(0.5 * (R + R.T))
    sk = np.sqrt(kappa)
    s2 = delta / kappa
    lam_th = lam / sk
    h = stieltjes_th_fast(lam_th, s2, kappa).real
    mu = sk * (lam_th - 2.0 * s2 * h)
    return (V * mu) @ V.T


def solve_gamp_rie_fast(X, y, *, kappa: float, delta: float = 0.0, damping: float = 0.5,
                        tol: float = 1e-5, max_iter: int = 200, rng=None,
                        S_star=None) -> GampRieResult:
    """:func:`theorylab.gamp.solve_gamp_rie` with closed-form cubic roots in the RIE.

    Same arguments, validation, iteration, warnings and result; see that function.
    """
    X = check_matrix(X, name="X")
    n, d = X.shape
    if d < 2:
        raise ValueError(f"X must have at least 2 columns, got shape {X.shape}")
    y = check_vector(y, name="y", n=n)
    kappa = check_positive(kappa, name="kappa")
    delta = check_positive(delta, name="delta", strict=False)
    damping = check_scalar(damping, name="damping", lower=0.0, upper=1.0,
                           upper_inclusive=False)
    tol = check_positive(tol, name="tol")
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    rng = check_rng(rng)
    S_tilde_star = None
    if S_star is not None:
        S_tilde_star = check_matrix(S_star, name="S_star", shape=(d, d)) / np.sqrt(d)

    F = _denoiser_mse_fast(kappa)
    alpha = n / d**2
    inv_sqrt_d = 1.0 / np.sqrt(d)
    S, C, V, omega = init_gamp_rie(d, n, kappa=kappa, rng=rng)
    buf = np.empty((n, d))
    g = np.empty(n)
    steps, preds, errs = [], [], []
    converged = False
    step = np.inf
    delta_A = np.nan
    it = 0
    for it in range(1, max_iter + 1):
        V_new = C
        V_damped = (1.0 - damping) * V_new + damping * V
        np.matmul(X, S, out=buf)
        sum_g2, sum_g = _kernels.channel_update(X, buf, y, omega, float(np.trace(S)),
                                                inv_sqrt_d, V, V_new, V_damped, delta,
                                                damping, g)
        V = V_damped
        A = 2.0 * alpha * sum_g2 / n
        if not np.isfinite(A) or A <= 0:
            raise FloatingPointError(f"GAMP-RIE diverged at iteration {it}: A = {A!r}")
        np.multiply(X, g[:, None], out=buf)
        M = X.T @ buf
        M[np.diag_indices(d)] -= sum_g
        R = S + M * (inv_sqrt_d / (A * d))
        delta_A = 1.0 / (2.0 * A)
        S_new = _rie_fast(R, delta_A, kappa)
        C = 2.0 * F(delta_A)
        if not (np.all(np.isfinite(S_new)) and np.isfinite(C)):
            raise FloatingPointError(f"GAMP-RIE produced a non-finite iterate at iteration {it}")
        step = float(np.sum((S - S_new) ** 2) / d)
        S = S_new
        steps.append(step)
        preds.append(0.5 * C)
        if S_tilde_star is not None:
            errs.append(float(np.sum((S - S_tilde_star) ** 2) / d))
        if step < tol:
            converged = True
            break
    history = {"step": np.asarray(steps), "predicted_mse": np.asarray(preds)}
    if S_tilde_star is not None:
        history["mse"] = np.asarray(errs)
    if converged:
        message = f"converged: step {step:.3e} < tol {tol:.1e} after {it} iterations"
    else:
        message = (f"GAMP-RIE did not converge: step {step:.3e} >= tol {tol:.1e} after "
                   f"{max_iter} iterations")
        warnings.warn(message, ConvergenceWarning, stacklevel=2)
    S_fig = S * np.sqrt(d)
    return GampRieResult(x=S_fig, n_iter=it, converged=converged, message=message,
                         history=history, mse=errs[-1] if errs else None,
                         predicted_mse=0.5 * C, denoise_var=float(delta_A))


# ------------------------------------------------------------------ Bayes-optimal MMSE

@functools.lru_cache(maxsize=32)
def _table_fast(kappa: float) -> CubicSpline:
    """``theory._table``: the same 201-point log-log spline of F_code(Δ; κ)."""
    ld = np.linspace(math.log(_TABLE_LO), math.log(_TABLE_HI), _TABLE_N)
    f = np.array([kappa * _denoising_mmse_th_fast(math.exp(v) / kappa, kappa) for v in ld])
    return CubicSpline(ld, np.log(np.maximum(f, 1e-300)))


def _denoiser_mse_fast(kappa: float):
    """``gamp._denoiser_mse`` on :func:`_table_fast` (exact integral outside the table)."""

    def F(delta_A: float) -> float:
        if _TABLE_LO <= delta_A <= _TABLE_HI:
            return float(np.exp(_table_fast(kappa)(np.log(delta_A))))
        return float(denoising_mmse(delta_A, kappa=kappa, exact=True))

    return F


def _bulks_th_fast(s2: float, kappa: float) -> list[tuple[float, float]]:
    e = spectral_edges_th(s2, kappa)
    bulks = [(float(e[i]), float(e[i + 1])) for i in range(0, e.size - 1, 2)]
    mids = np.array([0.5 * (a + b) for a, b in bulks])
    if not np.all(stieltjes_th_fast(mids, s2, kappa).imag > 0):
        bulks = [(float(e[0]), float(e[-1]))]
    return bulks


def _denoising_mmse_th_fast(s2: float, kappa: float) -> float:
    """``theory._denoising_mmse_th``: F_th(σ²) = σ² − (4π²/3) σ⁴ ∫ρ³, same quadrature."""
    x, w = _quad_nodes(_bulks_th_fast(s2, kappa))
    rho = np.maximum(stieltjes_th_fast(x, s2, kappa).imag, 0.0) / np.pi
    return float(s2 - (4.0 * np.pi**2 / 3.0) * s2**2 * np.dot(w, rho**3))


def _mmse_one_fast(alpha: float, kappa: float, delta: float) -> float:
    dth = delta / kappa

    def G(log_s2: float) -> float:
        s2 = math.exp(log_s2)
        return _denoising_mmse_th_fast(s2, kappa) - 2.0 * alpha * s2 + 0.5 * dth

    lo, hi = math.log(1e-7), math.log(2.0 * (1.0 / kappa + 0.5 * dth) / alpha + 1.0)
    if dth == 0.0 and alpha >= perfect_recovery_threshold(kappa):
        return 0.0
    glo, ghi = G(lo), G(hi)
    if glo <= 0:
        return 0.0
    if ghi > 0:
        raise FloatingPointError(f"no MMSE root bracketed for alpha={alpha}, kappa={kappa}")
    ls = brentq(G, lo, hi, xtol=1e-13, rtol=1e-13)
    s2 = math.exp(ls)
    return float(kappa * (2.0 * alpha * s2 - 0.5 * dth))


def bayes_optimal_mmse_fast(alpha, kappa: float, *, delta: float = 0.0):
    """:func:`theorylab.gamp.bayes_optimal_mmse` with closed-form cubic roots.

    Same arguments, bracket, root tolerance and quadrature; see that function.
    """
    kappa = check_positive(kappa, name="kappa")
    delta = check_positive(delta, name="delta", strict=False)
    arr = check_array(alpha, name="alpha", ndim=None, finite=False, min_shape=(1,))
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    out = np.array([_mmse_one_fast(float(a), kappa, delta) for a in arr.ravel()])
    out = out.reshape(arr.shape)
    return float(out) if out.ndim == 0 else out
