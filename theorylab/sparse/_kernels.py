"""numba kernels of theorylab.sparse (no validation, no randomness)."""

import numpy as np
from numba import njit


@njit(cache=True)
def _cd_update(X, r, w, j, lam, cj, n):
    """One coordinate update of the Lasso; returns |Δw_j|·√c_j."""
    wj = w[j]
    rho = 0.0
    for i in range(n):
        rho += X[i, j] * r[i]
    rho = rho / n + cj * wj
    if rho > lam:
        new = (rho - lam) / cj
    elif rho < -lam:
        new = (rho + lam) / cj
    else:
        new = 0.0
    if new == wj:
        return 0.0
    diff = new - wj
    for i in range(n):
        r[i] -= X[i, j] * diff
    w[j] = new
    return abs(diff) * np.sqrt(cj)


@njit(cache=True)
def lasso_cd(X, y, lam, w, r, col_sq, tol, max_iter):
    """Coordinate descent on (1/(2N))‖y − Xw‖² + λ‖w‖₁, in place on w and r = y − Xw.

    glmnet-style active set: a full epoch over all coordinates, then epochs over the
    nonzero coordinates only until they settle, then a full epoch again; stop when a *full*
    epoch moves no coordinate by more than ``tol·‖y‖/√N`` (change measured as |Δw_j|·‖X_j‖/√N).
    ``max_iter`` counts full epochs. Returns (full epochs, last full-epoch max change).
    """
    n, d = X.shape
    scale = np.sqrt(np.sum(y * y) / n) + 1e-300
    active = np.empty(d, dtype=np.int64)
    delta = 0.0
    for epoch in range(max_iter):
        delta = 0.0
        for j in range(d):
            if col_sq[j] != 0.0:
                ch = _cd_update(X, r, w, j, lam, col_sq[j], n)
                if ch > delta:
                    delta = ch
        if delta < tol * scale:
            return epoch + 1, delta / scale
        na = 0
        for j in range(d):
            if w[j] != 0.0:
                active[na] = j
                na += 1
        for _ in range(1000):
            da = 0.0
            for a in range(na):
                j = active[a]
                ch = _cd_update(X, r, w, j, lam, col_sq[j], n)
                if ch > da:
                    da = ch
            if da < tol * scale:
                break
    return max_iter, delta / scale
