"""Plain dense NumPy transcriptions of the preconditioners and of textbook CG (tests only).

Written from the definitions, not from the kernels: IC(0) in the right-looking (k, i, j)
order of Golub & Van Loan (Alg. 11.1.x, "no fill"), symmetric Gauss–Seidel as the explicit
matrix M = (D + L) D⁻¹ (D + U), and CG as Hestenes–Stiefel's recurrences.
"""

import numpy as np


def ic0_dense(A: np.ndarray) -> np.ndarray:
    """Dense IC(0): right-looking Cholesky that skips updates outside the pattern of A."""
    A = np.asarray(A, dtype=float)
    n = A.shape[0]
    L = np.tril(A).copy()
    pattern = np.tril(A != 0)
    for k in range(n):
        L[k, k] = np.sqrt(L[k, k])
        for i in range(k + 1, n):
            if pattern[i, k]:
                L[i, k] /= L[k, k]
        for j in range(k + 1, n):
            for i in range(j, n):
                if pattern[i, j]:
                    L[i, j] -= L[i, k] * L[j, k]
    return L


def sgs_matrix(A: np.ndarray) -> np.ndarray:
    """The symmetric Gauss–Seidel preconditioner M = (D + L) D⁻¹ (D + U) as a dense matrix."""
    A = np.asarray(A, dtype=float)
    D = np.diag(np.diag(A))
    return (D + np.tril(A, -1)) @ np.linalg.inv(D) @ (D + np.triu(A, 1))


def cg_iterates(A: np.ndarray, b: np.ndarray, n_iter: int) -> list[np.ndarray]:
    """x_0 = 0, x_1, ..., x_n_iter of unpreconditioned CG (Hestenes–Stiefel)."""
    A = np.asarray(A, dtype=float)
    x = np.zeros_like(b, dtype=float)
    r = b.astype(float).copy()
    p = r.copy()
    out = [x.copy()]
    for _ in range(n_iter):
        Ap = A @ p
        alpha = (r @ r) / (p @ Ap)
        x = x + alpha * p
        r_new = r - alpha * Ap
        beta = (r_new @ r_new) / (r @ r)
        p = r_new + beta * p
        r = r_new
        out.append(x.copy())
    return out
