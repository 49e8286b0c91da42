"""Numba kernels: the closed-form robust surrogate of a margin loss, elementwise.

For a margin ``v`` (already multiplied by the ramp slope) and the effective
multiplier ``g`` (``gamma / ramp_slope**2``), the kernel evaluates

    psi_g(v) = max_{s >= 0} L(v - s) - g s^2,

its maximiser ``s*`` and the derivative ``dpsi/dv = -2 g s*`` (envelope theorem;
``L'(v)`` when ``g = inf``). Loss codes: 0 ramp, 1 hinge, 2 logistic.
No validation here: the public functions in ``surrogate.py`` check inputs.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

RAMP, HINGE, LOGISTIC = 0, 1, 2


@njit(cache=True)
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit(cache=True)
def _softplus_neg(v):
    # log(1 + exp(-v)) without overflow
    if v > 0.0:
        return math.log1p(math.exp(-v))
    return -v + math.log1p(math.exp(v))


@njit(cache=True)
def _psi_scalar(v, g, code):
    """Return (psi, s*, dpsi/dv) for one margin."""
    if math.isinf(g):
        if code == 0:
            if v <= 0.0:
                return 1.0, 0.0, 0.0
            if v < 1.0:
                return 1.0 - v, 0.0, -1.0
            return 0.0, 0.0, 0.0
        if code == 1:
            if v < 1.0:
                return 1.0 - v, 0.0, -1.0
            return 0.0, 0.0, 0.0
        return _softplus_neg(v), 0.0, -_sigmoid(-v)
    if code == 0:
        # ramp: q = 1 (v <= 0), 1 - g v^2 (0 < v <= 1/(2g)), 1 + 1/(4g) - v (beyond)
        if v <= 0.0:
            return 1.0, 0.0, 0.0
        if v <= 0.5 / g:
            q = 1.0 - g * v * v
            s = v
        else:
            q = 1.0 + 0.25 / g - v
            s = 0.5 / g
        if q <= 0.0:
            return 0.0, 0.0, 0.0
        return q, s, -2.0 * g * s
    if code == 1:
        q = 1.0 + 0.25 / g - v
        if q <= 0.0:
            return 0.0, 0.0, 0.0
        s = 0.5 / g
        return q, s, -1.0
    # logistic: s* solves 2 g s = sigmoid(s - v) on (0, 1/(2g)); h(s) = 2gs - sigmoid(s - v)
    # is increasing when g > 1/8, so a safeguarded Newton iteration finds the unique root.
    lo = 0.0
    hi = 0.5 / g
    s = min(_sigmoid(-v) / (2.0 * g), hi)
    for _ in range(100):
        sg = _sigmoid(s - v)
        h = 2.0 * g * s - sg
        if h > 0.0:
            hi = s
        else:
            lo = s
        dh = 2.0 * g - sg * (1.0 - sg)
        s_new = s - h / dh
        if s_new <= lo or s_new >= hi:
            s_new = 0.5 * (lo + hi)
        if abs(s_new - s) <= 1e-15 * (1.0 + abs(s)):
            s = s_new
            break
        s = s_new
    val = _softplus_neg(v - s) - g * s * s
    return val, s, -2.0 * g * s


@njit(cache=True)
def psi_kernel(v, g, code, out_val, out_s, out_dv):
    """Elementwise robust surrogate of the margins ``v`` into preallocated outputs."""
    for i in range(v.shape[0]):
        a, b, c = _psi_scalar(v[i], g, code)
        out_val[i] = a
        out_s[i] = b
        out_dv[i] = c


def psi(v: np.ndarray, g: float, code: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allocate and call :func:`psi_kernel` on a contiguous float64 vector."""
    v = np.ascontiguousarray(v, dtype=np.float64).ravel()
    val = np.empty_like(v)
    s = np.empty_like(v)
    dv = np.empty_like(v)
    psi_kernel(v, float(g), int(code), val, s, dv)
    return val, s, dv


@njit(cache=True)
def unlabeled_trial_kernel(uu, xg, eta, nrm, r, g, code, out_u, out_v):
    """Scores of a line-search trial and the unlabeled term there, in one pass.

    ``out_u = (uu - eta * xg) / nrm`` (the scores ``X'w`` of the trial point), returns
    ``sum_j psi_g(r |out_u_j|)`` and writes ``out_v = r psi_g'(r |out_u|) sign(out_u)`` (the
    weights of the gradient ``X'^T out_v``).
    """
    total = 0.0
    for i in range(uu.shape[0]):
        u = (uu[i] - eta * xg[i]) / nrm
        out_u[i] = u
        a, _, c = _psi_scalar(r * abs(u), g, code)
        total += a
        if u > 0.0:
            out_v[i] = r * c
        elif u < 0.0:
            out_v[i] = -r * c
        else:
            out_v[i] = 0.0
    return total


@njit(cache=True)
def ramp_trial_kernel(uu, xg, eta, nrm, r, g, out_u, out_v, out_a):
    """:func:`unlabeled_trial_kernel` for the ramp loss with a finite ``g``, branch-free.

    The same arithmetic as ``_psi_scalar(r |u|, g, RAMP)`` (bitwise equal results; the tests
    check it) written with selects instead of branches, so the first loop runs without branch
    mispredictions (the signs of the scores are random); the surrogate values go to the
    scratch ``out_a`` and are summed in a second loop in the same order as before.
    """
    h = 0.5 / g
    c1 = 1.0 + 0.25 / g
    m2g = -2.0 * g
    for i in range(uu.shape[0]):
        u = (uu[i] - eta * xg[i]) / nrm
        out_u[i] = u
        v = r * abs(u)
        inner = v <= h
        q = (1.0 - g * v * v) if inner else (c1 - v)
        s = v if inner else h
        nonpos = v <= 0.0
        dead = nonpos or (q <= 0.0)
        out_a[i] = 1.0 if nonpos else (0.0 if q <= 0.0 else q)
        rc = r * (0.0 if dead else m2g * s)
        out_v[i] = rc if u > 0.0 else (-rc if u < 0.0 else 0.0)
    total = 0.0
    for i in range(uu.shape[0]):
        total += out_a[i]
    return total
