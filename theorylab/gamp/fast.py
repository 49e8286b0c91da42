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

The iteration, the quadrature and the root bracketing are not repeated here: they live in
:mod:`theorylab.gamp.gamp` and :mod:`theorylab.gamp.theory` with the Stieltjes root solver as
a parameter.  :func:`solve_gamp_rie_fast` is :func:`theorylab.gamp.solve_gamp_rie` and
:func:`bayes_optimal_mmse_fast` is :func:`theorylab.gamp.bayes_optimal_mmse`, each run with
:func:`stieltjes_th_fast` (in the RIE and in the denoiser-MMSE table).  This module is
imported only by the claims that use it.

Reference: arXiv:2408.03733 (GAMP-RIE), arXiv:1502.06736 (RIE).
"""

from __future__ import annotations

import cmath
import math

import numpy as np
from numba import njit

from .._validation import (
    check_array,
    check_positive,
)
from .gamp import GampRieResult, _iterate, _validated
from .theory import _bayes_optimal_mmse, _cubic_coeffs_th, _cubic_roots, _pick_branch

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
    return _pick_branch(roots, s2, kappa).reshape(x.shape)  # stieltjes_th's branch choice


def solve_gamp_rie_fast(X, y, *, kappa: float, delta: float = 0.0, damping: float = 0.5,
                        tol: float = 1e-5, max_iter: int = 200, rng=None,
                        S_star=None) -> GampRieResult:
    """:func:`theorylab.gamp.solve_gamp_rie` with closed-form cubic roots in the RIE and
    in the denoiser table.

    Same arguments, validation, iteration, warnings and result; see that function.
    """
    return _iterate(**_validated(X, y, kappa=kappa, delta=delta, damping=damping, tol=tol,
                                 max_iter=max_iter, rng=rng, S_star=S_star),
                    stieltjes=stieltjes_th_fast)


def bayes_optimal_mmse_fast(alpha, kappa: float, *, delta: float = 0.0):
    """:func:`theorylab.gamp.bayes_optimal_mmse` with closed-form cubic roots.

    Same arguments, bracket, root tolerance and quadrature; see that function.
    """
    return _bayes_optimal_mmse(alpha, kappa, delta, stieltjes_th_fast)
