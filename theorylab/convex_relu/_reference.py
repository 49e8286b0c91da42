"""Plain-NumPy transcription of the paper's ADMM (dense 2dP x 2dP system A).

Used only by tests: the fast solver (reduced / Woodbury solve) must produce the same
iterates. Fixed rho, cone scale c, over-relaxation ``relax``; squared loss.
"""

from __future__ import annotations

import numpy as np


def dense_operators(X, D, c):
    """F (n, 2dP) and G (2nP, 2dP) with the variable order (u_1..u_P, z_1..z_P)."""
    n, d = X.shape
    P = D.shape[1]
    Ft = np.concatenate([D[:, i:i + 1] * X for i in range(P)], axis=1)  # [D_1 X ... D_P X]
    F = np.concatenate([Ft, -Ft], axis=1)
    blocks = [((2 * D[:, i:i + 1] - 1) * X) / c for i in range(P)]
    G1 = np.zeros((n * P, d * P))
    for i, Gi in enumerate(blocks):
        G1[i * n:(i + 1) * n, i * d:(i + 1) * d] = Gi
    G = np.block([[G1, np.zeros_like(G1)], [np.zeros_like(G1), G1]])
    return F, G


def admm_reference(X, y, D, *, beta, rho, c=1.0, relax=1.0, n_iter=10):
    """Run ``n_iter`` iterations of Algorithm 1 with a dense solve; returns (V, W, S, T)."""
    n, d = X.shape
    P = D.shape[1]
    F, G = dense_operators(X, D, c)
    m = 2 * d * P
    A = np.eye(m) + F.T @ F / rho + G.T @ G
    u = np.zeros(m)
    v = np.zeros(m)
    lam = np.zeros(m)
    s = np.zeros(2 * n * P)
    nu = np.zeros(2 * n * P)
    for _ in range(n_iter):
        b = F.T @ y / rho + v - lam + G.T @ (s - nu)
        u = np.linalg.solve(A, b)
        Gu = G @ u
        uh = relax * u + (1 - relax) * v
        Guh = relax * Gu + (1 - relax) * s
        z = uh + lam
        v = np.zeros(m)
        for g in range(2 * P):
            zi = z[g * d:(g + 1) * d]
            nz = np.linalg.norm(zi)
            if nz > beta / rho:
                v[g * d:(g + 1) * d] = (1 - beta / rho / nz) * zi
        s = np.maximum(Guh + nu, 0)
        lam = lam + uh - v
        nu = nu + Guh - s
    V = v[:d * P].reshape(P, d).T
    W = v[d * P:].reshape(P, d).T
    S = s[:n * P].reshape(P, n).T
    T = s[n * P:].reshape(P, n).T
    return V, W, S, T
