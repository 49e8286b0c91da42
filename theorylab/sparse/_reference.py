"""Plain-NumPy twin of the Lasso coordinate-descent kernel (same update order)."""

import numpy as np


def lasso_cd(X, y, lam, w, r, col_sq, tol, max_iter):
    n, d = X.shape
    scale = np.sqrt(y @ y / n) + 1e-300
    delta = 0.0
    for epoch in range(max_iter):
        delta = 0.0
        for j in range(d):
            if col_sq[j] == 0.0:
                continue
            rho = X[:, j] @ r / n + col_sq[j] * w[j]
            new = np.sign(rho) * max(abs(rho) - lam, 0.0) / col_sq[j]
            if new != w[j]:
                diff = new - w[j]
                r -= X[:, j] * diff
                w[j] = new
                delta = max(delta, abs(diff) * np.sqrt(col_sq[j]))
        if delta < tol * scale:
            return epoch + 1, delta / scale
    return max_iter, delta / scale
