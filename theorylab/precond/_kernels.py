"""numba kernels of theorylab.precond: IC(0) factorisation and triangular solves on CSR
arrays (no validation; the callers pass sorted, square, float64 CSR parts).

A lower-triangular CSR matrix here has sorted column indices with the diagonal as the last
entry of every row.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def ic0_factor(indptr, indices, data, out):
    """Incomplete Cholesky with no fill: ``out`` (same pattern as the lower CSR ``data``)
    receives L with (L Lᵀ)ᵢⱼ = Aᵢⱼ on the pattern of tril(A).

    Row by row: L_ik = (A_ik − Σ_{j<k} L_ij L_kj) / L_kk for k < i, and
    L_ii = √(A_ii − Σ_{j<i} L_ij²), the sums over the common pattern of rows i and k.
    Returns −1 on success, else the row whose pivot is not positive.
    """
    n = indptr.shape[0] - 1
    for i in range(n):
        a = indptr[i]
        for p in range(a, indptr[i + 1]):
            k = indices[p]
            s = data[p]
            pi = a
            pk = indptr[k]
            end_k = indptr[k + 1] - 1 if k < i else p
            while pi < p and pk < end_k:
                ci = indices[pi]
                ck = indices[pk]
                if ci == ck:
                    s -= out[pi] * out[pk]
                    pi += 1
                    pk += 1
                elif ci < ck:
                    pi += 1
                else:
                    pk += 1
            if k < i:
                out[p] = s / out[indptr[k + 1] - 1]
            else:
                if not s > 0.0:
                    return i
                out[p] = np.sqrt(s)
    return -1


@njit(cache=True)
def lower_solve(indptr, indices, data, b, out):
    """Solve L y = b for a lower CSR L (diagonal last in each row), into ``out``."""
    n = indptr.shape[0] - 1
    for i in range(n):
        s = b[i]
        end = indptr[i + 1] - 1
        for p in range(indptr[i], end):
            s -= data[p] * out[indices[p]]
        out[i] = s / data[end]


@njit(cache=True)
def lower_transpose_solve(indptr, indices, data, b, out):
    """Solve Lᵀ z = b for a lower CSR L (column sweep over the rows of L), into ``out``."""
    n = indptr.shape[0] - 1
    for i in range(n):
        out[i] = b[i]
    for i in range(n - 1, -1, -1):
        end = indptr[i + 1] - 1
        zi = out[i] / data[end]
        out[i] = zi
        for p in range(indptr[i], end):
            out[indices[p]] -= data[p] * zi


@njit(cache=True)
def ic0_apply(indptr, indices, data, r, tmp, out):
    """z = (L Lᵀ)⁻¹ r."""
    lower_solve(indptr, indices, data, r, tmp)
    lower_transpose_solve(indptr, indices, data, tmp, out)


@njit(cache=True)
def sgs_apply(indptr, indices, data, diag, r, tmp, out):
    """Symmetric Gauss–Seidel: z = M⁻¹ r with M = (D + L) D⁻¹ (D + L)ᵀ, where D + L is the
    lower CSR ``data`` (tril(A))."""
    lower_solve(indptr, indices, data, r, tmp)
    for i in range(tmp.shape[0]):
        tmp[i] *= diag[i]
    lower_transpose_solve(indptr, indices, data, tmp, out)
