"""Compiled passes of the convex-ReLU ADMM (module-level ``@njit(cache=True)`` kernels).

Most of the work per iteration is dense matrix products (BLAS) and one symmetric
matrix-vector product with the stored inverse of the reduced system (``_linsolve.py``).
The element-wise passes are module-level numba kernels, each beside a NumPy twin (the tests
compare them; the twins also run when numba's JIT is disabled, where the loops would be
slow in plain Python): ``rhs_update`` and ``consensus_update`` over the (d, 2P) arrays,
``slack_dual_update`` / ``slack_dual_check`` over the n x 2P cone arrays, ``fit_pass`` for
the objective and cone violation of a check, and ``fused_step``, which chains them with the
BLAS products between two u-solves, and ``checked_step``, the same up to the slack pass
with the numbers of a residual check. Kernels are plain module-level functions (no factories,
no closures), so numba's on-disk cache serves every new process after the first.
``_reference.py`` holds the dense transcription (the full 2dP x 2dP system A).

Layout: X (n, d); patterns D (n, P) as float 0/1; E = 2D - 1; convex variables
V, W (d, P) (column i is v_i / w_i); slacks S, T (n, P).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "checked_step",
    "consensus_update",
    "fit_pass",
    "fused_step",
    "group_soft_threshold",
    "prox_loss",
    "rhs_update",
    "slack_dual_check",
    "slack_dual_update",
]


def group_soft_threshold(Z: np.ndarray, tau: float) -> np.ndarray:
    """Column-wise prox of tau * sum_i ||z_i||_2: (1 - tau/||z_i||)_+ z_i."""
    if tau <= 0.0:
        return Z.copy()
    norms = np.sqrt(np.einsum("dp,dp->p", Z, Z))
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(norms > tau, 1.0 - tau / np.where(norms > 0, norms, 1.0), 0.0)
    return Z * shrink


def prox_loss(a: np.ndarray, y: np.ndarray, rho: float, loss: str) -> np.ndarray:
    """argmin_r  l(r, y) + (rho/2) ||r - a||^2 for a separable loss (labels y in {-1, 1})."""
    if loss == "squared":
        return (y + rho * a) / (1.0 + rho)
    if loss == "hinge":  # l = sum (1 - y r)_+ ; work in t = y r
        m = y * a
        t = np.where(m >= 1.0, m, np.where(m <= 1.0 - 1.0 / rho, m + 1.0 / rho, 1.0))
        return y * t
    if loss == "logistic":  # l = sum log(1 + exp(-y r)); Newton in t = y r, 1-D convex
        m = y * a
        t = m.copy()
        for _ in range(50):
            sig = 0.5 * (1.0 - np.tanh(0.5 * t))  # sigmoid(-t)
            g = -sig + rho * (t - m)
            h = sig * (1.0 - sig) + rho
            step = g / h
            t -= step
            if np.max(np.abs(step)) < 1e-13 * (1.0 + np.max(np.abs(t))):
                break
        return y * t
    raise ValueError(f"loss must be one of 'squared', 'logistic', 'hinge', got {loss!r}")


# --- slack / cone-dual pass over the n x 2P arrays ------------------------------------
# State: the slacks s >= 0 and their scaled duals nu <= 0 are complementary (s = (w)_+,
# nu = w - (w)_+ = min(w, 0) for the pre-projection value w), so one array W = w holds both:
# s = max(W, 0), nu = min(W, 0) (bit-identical to storing them; 2/3 of the memory traffic).
# E2 may be int8 (the signs +-1; 1/8 of the traffic of float64).

def slack_dual_update_numpy(XUZ, E2, W, R, inv_c, relax):
    """NumPy twin of :func:`slack_dual_update`."""
    G = E2 * XUZ * inv_c
    W[...] = (relax * G + (1.0 - relax) * np.maximum(W, 0.0)) + np.minimum(W, 0.0)
    R[...] = E2 * np.abs(W)


def slack_dual_check_numpy(XUZ, E2, W, R, A, inv_c, relax):
    """NumPy twin of :func:`slack_dual_check`."""
    G = E2 * XUZ * inv_c
    S_old = np.maximum(W, 0.0)
    slack_dual_update_numpy(XUZ, E2, W, R, inv_c, relax)
    S, N = np.maximum(W, 0.0), np.minimum(W, 0.0)
    m = E2.shape[1]
    A[:, :m] = E2 * (S - S_old)
    A[:, m:] = E2 * N
    return float(np.sum((G - S) ** 2)), float(np.sum(G * G)), float(np.sum(S * S))


@numba.njit(cache=True)
def slack_dual_update_jit(XUZ, E2, W, R, inv_c, relax):  # pragma: no cover (compiled)
    """In place: g = E2 o XUZ / c (= G u); W = (relax g + (1 - relax) s) + nu, i.e.
    s = (g_hat + nu)_+ and nu += g_hat - s with the over-relaxed g_hat; R = E2 o (s - nu)
    = E2 o |W| (the next right-hand side's cone term before X^T)."""
    n, m = XUZ.shape
    for i in range(n):
        for j in range(m):
            e = E2[i, j]
            w = W[i, j]
            # max/min are branch-free: the sign pattern is data dependent
            w = (relax * (e * XUZ[i, j] * inv_c) + (1.0 - relax) * max(w, 0.0)) + min(w, 0.0)
            W[i, j] = w
            R[i, j] = e * abs(w)


@numba.njit(cache=True)
def slack_dual_check_jit(XUZ, E2, W, R, A, inv_c, relax):  # pragma: no cover (compiled)
    """The update of :func:`slack_dual_update_jit` and, for a residual check,
    A = [E2 o (s_new - s_old) | E2 o nu_new] (n, 4P, in place: one X^T A product gives the
    cone parts of the dual residual and of its scale); returns (||G u - s||^2, ||G u||^2,
    ||s||^2) at the new s."""
    n, m = XUZ.shape
    r2 = 0.0
    g2 = 0.0
    s2 = 0.0
    for i in range(n):
        for j in range(m):
            e = E2[i, j]
            g = e * XUZ[i, j] * inv_c
            w = W[i, j]
            s_old = max(w, 0.0)
            w = (relax * g + (1.0 - relax) * s_old) + min(w, 0.0)
            s = max(w, 0.0)
            nu = min(w, 0.0)
            W[i, j] = w
            R[i, j] = e * abs(w)
            A[i, j] = e * (s - s_old)
            A[i, j + m] = e * nu
            r2 += (g - s) * (g - s)
            g2 += g * g
            s2 += s * s
    return r2, g2, s2


# --- passes over the small (d, 2P) arrays ----------------------------------------------

def rhs_update_numpy(XtR, VW, L, kFty, inv_c, Bs, Bd):
    """NumPy twin of :func:`rhs_update`."""
    B = kFty + (VW - L) + XtR * inv_c
    P = Bs.shape[1]
    Bs[...] = B[:, :P] + B[:, P:]
    Bd[...] = B[:, :P] - B[:, P:]


def consensus_update_numpy(p, q, UZ, VW, L, tau, relax):
    """NumPy twin of :func:`consensus_update`."""
    P = p.shape[1]
    UZ[:, :P] = 0.5 * (p + q)
    UZ[:, P:] = 0.5 * (p - q)
    Zc = (relax * UZ + (1.0 - relax) * VW if relax != 1.0 else UZ) + L
    VW[...] = group_soft_threshold(Zc, tau)
    L[...] = Zc - VW


@numba.njit(cache=True)
def rhs_update_jit(XtR, VW, L, kFty, inv_c, Bs, Bd):  # pragma: no cover (compiled)
    """B = kFty + VW - L + XtR / c (the u-update's right-hand side, XtR = X^T R) and its
    halves' sum Bs = B_u + B_z, difference Bd = B_u - B_z (in place)."""
    d, P = Bs.shape
    for k in range(d):
        for i in range(P):
            bu = kFty[k, i] + (VW[k, i] - L[k, i]) + XtR[k, i] * inv_c
            j = i + P
            bz = kFty[k, j] + (VW[k, j] - L[k, j]) + XtR[k, j] * inv_c
            Bs[k, i] = bu + bz
            Bd[k, i] = bu - bz


@numba.njit(cache=True)
def consensus_update_jit(p, q, UZ, VW, L, tau, relax):  # pragma: no cover (compiled)
    """UZ = [(p + q) / 2 | (p - q) / 2]; with the over-relaxed UZh = relax UZ + (1 - relax)
    VW and Zc = UZh + L: VW = group soft-threshold of Zc at tau, L = Zc - VW, in place."""
    d, P = p.shape
    Zc = np.empty((d, 2 * P))
    for k in range(d):
        for i in range(P):
            UZ[k, i] = 0.5 * (p[k, i] + q[k, i])
            UZ[k, i + P] = 0.5 * (p[k, i] - q[k, i])
    for k in range(d):
        for j in range(2 * P):
            if relax != 1.0:
                uh = relax * UZ[k, j] + (1.0 - relax) * VW[k, j]
            else:
                uh = UZ[k, j]
            Zc[k, j] = uh + L[k, j]
    for j in range(2 * P):
        nrm = 0.0
        for k in range(d):
            nrm += Zc[k, j] * Zc[k, j]
        nrm = np.sqrt(nrm)
        shrink = 1.0 - tau / nrm if nrm > tau else 0.0
        if tau <= 0.0:
            shrink = 1.0
        for k in range(d):
            v = Zc[k, j] * shrink
            VW[k, j] = v
            L[k, j] = Zc[k, j] - v


# --- the squared-loss iteration between two u-solves, and the check pass ----------------

def fused_step_numpy(p, q, X, XT, Minv, UZ, VW, L, E2, W, R, XUZ, XtR, kFty, Bs, Bd, tau,
                     inv_c, relax):
    """NumPy twin of :func:`fused_step`."""
    consensus_update_numpy(p, q, UZ, VW, L, tau, relax)
    np.matmul(X, UZ, out=XUZ)
    slack_dual_update_numpy(XUZ, E2, W, R, inv_c, relax)
    np.matmul(XT, R, out=XtR)
    rhs_update_numpy(XtR, VW, L, kFty, inv_c, Bs, Bd)
    p[...] = Minv @ Bs


@numba.njit(cache=True)
def fused_step_jit(p, q, X, XT, Minv, UZ, VW, L, E2, W, R, XUZ, XtR, kFty, Bs, Bd, tau,
                   inv_c, relax):  # pragma: no cover (compiled)
    """Consensus / v-update, XUZ = X UZ, the slack and cone-dual pass, XtR = X^T R, the next
    right-hand side and the next p = M^-1 Bs (written into ``p``); the products are BLAS
    gemm calls from numba. Used on the iterations without a residual check."""
    consensus_update_jit(p, q, UZ, VW, L, tau, relax)
    np.dot(X, UZ, XUZ)
    slack_dual_update_jit(XUZ, E2, W, R, inv_c, relax)
    np.dot(XT, R, XtR)
    rhs_update_jit(XtR, VW, L, kFty, inv_c, Bs, Bd)
    np.dot(Minv, Bs, p)


def checked_step_numpy(p, q, X, UZ, VW, L, E2, W, R, A, XUZ, tau, inv_c, relax):
    """NumPy twin of :func:`checked_step`."""
    consensus_update_numpy(p, q, UZ, VW, L, tau, relax)
    np.matmul(X, UZ, out=XUZ)
    return slack_dual_check_numpy(XUZ, E2, W, R, A, inv_c, relax)


@numba.njit(cache=True)
def checked_step_jit(p, q, X, UZ, VW, L, E2, W, R, A, XUZ, tau, inv_c,
                     relax):  # pragma: no cover (compiled)
    """The steps of an iteration with a residual check after the u-solve: consensus /
    v-update, XUZ = X UZ and the slack / cone-dual pass with the check's numbers
    (:func:`slack_dual_check`, whose sums it returns). One compiled call, so a new process
    loads one cached library for the check path instead of two."""
    consensus_update_jit(p, q, UZ, VW, L, tau, relax)
    np.dot(X, UZ, XUZ)
    return slack_dual_check_jit(XUZ, E2, W, R, A, inv_c, relax)


def fit_pass_numpy(XVW, D2, E2, fitted):
    """NumPy twin of :func:`fit_pass`."""
    fitted[...] = np.einsum("np,np->n", D2, XVW)
    return max(0.0, -float(np.min(E2 * XVW, initial=0.0)))


@numba.njit(cache=True)
def fit_pass_jit(XVW, D2, E2, fitted):  # pragma: no cover (compiled)
    """fitted = rowsum(D2 o XVW) (in place); returns the cone violation
    max(0, -min E2 o XVW)."""
    n, m = XVW.shape
    low = 0.0
    for i in range(n):
        f = 0.0
        for j in range(m):
            x = XVW[i, j]
            f += D2[i, j] * x
            low = min(low, E2[i, j] * x)
        fitted[i] = f
    return -low


# The names the solver calls: the compiled kernels, or their NumPy twins when numba's JIT
# is disabled (NUMBA_DISABLE_JIT=1 turns the kernels into Python loops, far slower).
if numba.config.DISABLE_JIT:
    slack_dual_update, slack_dual_check = slack_dual_update_numpy, slack_dual_check_numpy
    rhs_update, consensus_update = rhs_update_numpy, consensus_update_numpy
    fused_step, fit_pass = fused_step_numpy, fit_pass_numpy
    checked_step = checked_step_numpy
else:
    slack_dual_update, slack_dual_check = slack_dual_update_jit, slack_dual_check_jit
    rhs_update, consensus_update = rhs_update_jit, consensus_update_jit
    fused_step, fit_pass = fused_step_jit, fit_pass_jit
    checked_step = checked_step_jit
