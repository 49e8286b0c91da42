"""numba kernels of theorylab.sparse (no validation, no randomness)."""

import numpy as np
from numba import njit


@njit(cache=True)
def lasso_cd(X, y, lam, w, r, col_sq, tol, max_iter):
    """Cyclic coordinate descent on (1/(2N))‖y − Xw‖² + λ‖w‖₁, in place on w and the residual
    r = y − Xw. Stops when the largest coordinate change times its column norm falls below
    tol (relative to ‖y‖/√N). Returns (epochs, last max change)."""
    n, d = X.shape
    scale = np.sqrt(np.sum(y * y) / n) + 1e-300
    delta = 0.0
    for epoch in range(max_iter):
        delta = 0.0
        for j in range(d):
            cj = col_sq[j]
            if cj == 0.0:
                continue
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
            if new != wj:
                diff = new - wj
                for i in range(n):
                    r[i] -= X[i, j] * diff
                w[j] = new
                ch = abs(diff) * np.sqrt(cj)
                if ch > delta:
                    delta = ch
        if delta < tol * scale:
            return epoch + 1, delta / scale
    return max_iter, delta / scale
