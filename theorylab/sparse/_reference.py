"""Plain-NumPy twins of the Lasso kernels, written from the equations of
``½‖y − Xw‖² + α‖w‖₁`` (α = Nλ): exact coordinate minimisation, Anderson extrapolation
weights, and the duality gap at the rescaled-residual dual point."""

import numpy as np


def soft_threshold(z, t):
    return np.sign(z) * max(abs(z) - t, 0.0)


def cd_epoch(X, w, r, col_sq, alpha, ws, n_ws):
    """argmin over t of ½‖y − Xw + x_j(w_j − t)‖² + α|t|, for j in ws[:n_ws] in order."""
    for j in ws[:n_ws]:
        if col_sq[j] == 0.0:
            continue
        partial = r + X[:, j] * w[j]          # residual without coordinate j
        t = soft_threshold(X[:, j] @ partial / col_sq[j], alpha / col_sq[j])
        w[j] = t
        r[:] = partial - X[:, j] * t


def anderson_weights(W):
    """c minimising ‖Σ c_t (w_{t+1} − w_t)‖² subject to Σ c_t = 1 (Lagrange: c ∝ (UUᵀ)⁻¹1),
    with the same 1e-10 relative Tikhonov guard as the kernel."""
    U = np.diff(W, axis=0)
    C = U @ U.T
    C += 1e-10 * np.max(np.diag(C)) * np.eye(len(C))
    z = np.linalg.solve(C, np.ones(len(C)))
    return z / z.sum()


def duality_gap(X, y, w, alpha):
    """Primal P(w) = ½‖y − Xw‖² + α‖w‖₁; dual D(θ) = ½‖y‖² − ½‖y − αθ‖² at the feasible
    θ = r / max(α, ‖Xᵀr‖∞) (so ‖Xᵀθ‖∞ <= 1); returns (P, D, P − D)."""
    r = y - X @ w
    theta = r / max(alpha, np.max(np.abs(X.T @ r)))
    P = 0.5 * r @ r + alpha * np.abs(w).sum()
    D = 0.5 * y @ y - 0.5 * np.sum((y - alpha * theta) ** 2)
    return P, D, P - D
