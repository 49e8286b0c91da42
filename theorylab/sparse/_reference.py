"""Plain-NumPy twin of the Lasso coordinate-descent kernel (same update order, same
active-set schedule)."""

import numpy as np


def _update(X, r, w, j, lam, cj, n):
    rho = X[:, j] @ r / n + cj * w[j]
    new = np.sign(rho) * max(abs(rho) - lam, 0.0) / cj
    if new == w[j]:
        return 0.0
    diff = new - w[j]
    r -= X[:, j] * diff
    w[j] = new
    return abs(diff) * np.sqrt(cj)


def lasso_cd(X, y, lam, w, r, col_sq, tol, max_iter):
    n, d = X.shape
    scale = np.sqrt(y @ y / n) + 1e-300
    delta = 0.0
    for epoch in range(max_iter):
        delta = max([_update(X, r, w, j, lam, col_sq[j], n) for j in range(d)
                     if col_sq[j] != 0.0], default=0.0)
        if delta < tol * scale:
            return epoch + 1, delta / scale
        active = np.flatnonzero(w)
        for _ in range(1000):
            da = max([_update(X, r, w, j, lam, col_sq[j], n) for j in active], default=0.0)
            if da < tol * scale:
                break
    return max_iter, delta / scale
