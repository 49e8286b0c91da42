"""Plain transcription of factor-analysis EM, one sample at a time (Ghahramani & Hinton 1996).

E-step per sample: E[z_i] = beta (x_i - mu), E[z_i z_i^T] = I - beta W + E[z_i] E[z_i]^T with
beta = W^T (W W^T + Psi)^{-1} (the d x d inverse, no Woodbury). M-step:
W = (sum_i x_i E[z_i]^T)(sum_i E[z_i z_i^T])^{-1}, Psi = diag(1/m sum_i x_i x_i^T - W E[z_i] x_i^T).
Test-only: the library works on the sample covariance instead.
"""

import numpy as np


def factor_analysis_em(X, W, psi, n_iter):
    X = np.asarray(X, dtype=float)
    m, d = X.shape
    r = W.shape[1]
    Xc = X - X.mean(axis=0)
    W, psi = W.copy(), psi.copy()
    for _ in range(n_iter):
        C = W @ W.T + np.diag(psi)
        beta = W.T @ np.linalg.inv(C)
        A = np.zeros((d, r))
        B = np.zeros((r, r))
        D = np.zeros(d)
        for i in range(m):
            x = Xc[i]
            ez = beta @ x
            ezz = np.eye(r) - beta @ W + np.outer(ez, ez)
            A += np.outer(x, ez)
            B += ezz
        W_new = A @ np.linalg.inv(B)
        for i in range(m):
            x = Xc[i]
            D += x * x - (W_new @ (beta @ x)) * x
        W, psi = W_new, D / m
    return W, psi


def gaussian_loglik(X, W, psi):
    """Average log N(x; mean, W W^T + Psi) with the dense covariance."""
    Xc = np.asarray(X, dtype=float) - np.mean(X, axis=0)
    C = W @ W.T + np.diag(psi)
    sign, logdet = np.linalg.slogdet(C)
    quad = np.einsum("ij,ij->i", Xc @ np.linalg.inv(C), Xc)
    return float(np.mean(-0.5 * (C.shape[0] * np.log(2 * np.pi) + logdet + quad)))
