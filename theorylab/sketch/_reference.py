"""Slow plain-NumPy transcriptions of the sketches (dense matrices S), used by the tests.

Every function builds the explicit m × n matrix S from the same random draws that a
:class:`~theorylab.sketch.SketchOperator` stores, so ``S @ M`` must equal
``op.apply(M)`` to rounding.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dct
from scipy.linalg import hadamard


def fwht_dense(X: np.ndarray) -> np.ndarray:
    """``H_N @ X`` with the dense Sylvester–Hadamard matrix (unnormalised)."""
    return hadamard(X.shape[0]).astype(float) @ X


def srht_matrix(n, n_pad, signs, rows):
    """S = sqrt(N'/m) · P · (H_{N'}/sqrt(N')) · D_σ · J (J zero-pads n → N')."""
    m = len(rows)
    H = hadamard(n_pad).astype(float) / np.sqrt(n_pad)
    return np.sqrt(n_pad / m) * (H[rows][:, :n] * signs[None, :])


def srdct_matrix(n, signs, rows):
    """S = sqrt(n/m) · P · C_n · D_σ with C_n the orthonormal DCT-II matrix."""
    C = dct(np.eye(n), type=2, norm="ortho", axis=0)
    return np.sqrt(n / len(rows)) * (C[rows] * signs[None, :])


def countsketch_matrix(n, m, rows, signs):
    S = np.zeros((m, n))
    S[rows, np.arange(n)] = signs
    return S


def osnap_matrix(n, m, rows, signs):
    S = np.zeros((m, n))
    s = rows.shape[1]
    for i in range(n):
        for l in range(s):
            S[rows[i, l], i] += signs[i, l] / np.sqrt(s)
    return S


def gaussian_pooled_matrix(n, m, block, signs, perm, gamma):
    """S = B · D_γ · Π · F_N · D_σ · J (follow-up, Definition 4.1), N = m·block."""
    N = m * block
    F = hadamard(N).astype(float) / np.sqrt(N)
    T = F[:, :n] * signs[None, :]            # F_N D_σ J : N × n
    T = T[perm]                              # Π
    T = gamma[:, None] * T                   # D_γ
    return T.reshape(m, block, n).sum(axis=1)  # B


def srht_gaussian_diag_matrix(n, n_pad, gamma, rows):
    """S = m^{-1/2} · P · H_{N'} · D_γ · J (unnormalised H, rows drawn with replacement)."""
    H = hadamard(n_pad).astype(float)
    return (H[rows][:, :n] * gamma[None, :]) / np.sqrt(len(rows))


def sketched_lstsq_dense(S, A, b):
    """argmin ‖S A x − S b‖₂ (minimum norm)."""
    return np.linalg.lstsq(S @ A, S @ b, rcond=None)[0]


def sketch_error_identity(A, b, S):
    """x′ − x* = V Σ⁻¹ (UᵀSᵀSU)⁻¹ UᵀSᵀS r (follow-up's error identity; A full column rank)."""
    U, sig, Vt = np.linalg.svd(A, full_matrices=False)
    x_star = np.linalg.lstsq(A, b, rcond=None)[0]
    r = b - A @ x_star
    SU = S @ U
    return Vt.T @ ((np.linalg.solve(SU.T @ SU, SU.T @ (S @ r))) / sig)


def lsqr_preconditioned_scipy(A, b, R, y0, tol, max_iter):
    """SciPy's LSQR on the operator A R⁻¹ from y0 (two passes over A per iteration).

    The reference twin of ``lstsq._lsqr_preconditioned``: same iterates and stopping tests.
    Returns (y, istop, itn, r1norm).
    """
    from scipy.linalg import solve_triangular
    from scipy.sparse.linalg import LinearOperator, lsqr

    n, d = A.shape
    op = LinearOperator(
        (n, d), dtype=float,
        matvec=lambda y: A @ solve_triangular(R, np.ravel(y)),
        rmatvec=lambda z: solve_triangular(R, A.T @ np.ravel(z), trans="T"))
    out = lsqr(op, b, atol=tol, btol=tol, iter_lim=max_iter, x0=y0)
    return out[0], out[1], out[2], out[3]
