"""Activation patterns of a two-layer ReLU network on a fixed data matrix.

A pattern is the 0/1 vector d = 1[X h >= 0] for some first-layer direction h; the
diagonal matrix D = diag(d) says which samples a neuron with weights h activates on.
The exact convex program uses every pattern of the hyperplane arrangement
{h : x_k^T h = 0}; the practical ("sampled") program uses patterns of random Gaussian
directions with duplicates removed (Bai, Gautam & Sojoudi, arXiv:2201.01965, Sec. 2).

Patterns are stored as an ``(n, P)`` boolean array whose column i is d_i.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .._validation import check_array, check_int, check_matrix, check_rng

__all__ = ["sample_activation_patterns", "enumerate_activation_patterns", "unique_patterns"]


def unique_patterns(D: np.ndarray) -> np.ndarray:
    """Remove duplicate and all-zero columns of a boolean pattern matrix, keeping order."""
    D = check_array(D, name="D", ndim=2, dtype=bool, min_shape=(1, 1))
    D = D[:, D.any(axis=0)]
    if D.shape[1] == 0:
        return D
    _, idx = np.unique(np.packbits(D, axis=0), axis=1, return_index=True)
    return np.ascontiguousarray(D[:, np.sort(idx)])


def sample_activation_patterns(X, n_patterns: int, *, rng=None) -> np.ndarray:
    """Sample distinct activation patterns D_i = diag(1[X h_i >= 0]) with h_i ~ N(0, I_d).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Data matrix (include a column of ones for a bias).
    n_patterns : int
        Number of Gaussian directions to draw (P_s). Duplicate and all-zero patterns
        are removed, so fewer columns may come back.
    rng : numpy.random.Generator, int or None
        Source of the directions.

    Returns
    -------
    patterns : ndarray of bool, shape (n, P)
        Column i is the diagonal of D_i; ``P <= n_patterns``.

    Raises
    ------
    ValueError
        If ``X`` is not a finite 2-D array or ``n_patterns < 1``.

    Notes
    -----
    The directions are drawn as one ``(d, n_patterns)`` standard-normal array, so for a
    given seed the patterns match ``(X @ rng.standard_normal((d, P)) >= 0)`` as in the
    authors' CVXPY script (arXiv:2201.01965, Sec. 2).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.c_[np.linspace(-1, 1, 5), np.ones(5)]
    >>> D = sample_activation_patterns(X, 10, rng=0)
    >>> D.shape[0], D.dtype
    (5, dtype('bool'))
    """
    X = check_matrix(X, name="X")
    n_patterns = check_int(n_patterns, name="n_patterns", minimum=1)
    rng = check_rng(rng)
    H = rng.standard_normal((X.shape[1], n_patterns))
    return unique_patterns(X @ H >= 0)


def enumerate_activation_patterns(X, *, max_candidates: int = 200_000) -> np.ndarray:
    """All activation patterns 1[X h >= 0] of the hyperplane arrangement (small d).

    Every full-dimensional cell of the central arrangement {x_k^T h = 0} has a ray
    (the intersection of d - 1 of the hyperplanes) on its boundary when rank X = d.
    For each set of d - 1 rows the ray h0 is the null vector of those rows; perturbing
    +-h0 in all 2^(d-1) sign directions of those rows visits every adjacent cell.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Data matrix, d small (1, 2 or 3 in practice).
    max_candidates : int
        Refuse when C(n, d-1) 2^d candidate directions exceed this number.

    Returns
    -------
    patterns : ndarray of bool, shape (n, P)
        The distinct non-zero patterns (the exact convex program's D_i).

    Raises
    ------
    ValueError
        If the enumeration would exceed ``max_candidates`` or ``X`` is invalid.

    Notes
    -----
    Exact for data in general position (no d rows linearly dependent); with ties a
    pattern on a lower-dimensional face counts x_k^T h = 0 as active, as in the sampled
    definition. P <= 2 r (e (n - 1) / r)^r with r = rank X.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.c_[np.array([-1.0, 0.5, 2.0]), np.ones(3)]
    >>> enumerate_activation_patterns(X).shape[1]   # 2 n patterns in 1-D with bias, minus 0
    5
    """
    X = check_matrix(X, name="X")
    max_candidates = check_int(max_candidates, name="max_candidates", minimum=1)
    n, d = X.shape
    if d == 1:
        return unique_patterns(np.c_[X[:, 0] >= 0, X[:, 0] <= 0])
    n_sub = math.comb(n, d - 1)
    if n_sub * 2**d > max_candidates:
        raise ValueError(
            f"max_candidates must be >= C(n, d-1) 2^d = {n_sub * 2**d} to enumerate the "
            f"arrangement of n={n}, d={d}, got {max_candidates}; sample patterns instead"
        )
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=d - 1)))  # (2^(d-1), d-1)
    cols = []
    for S in itertools.combinations(range(n), d - 1):
        XS = X[list(S)]
        _, sv, Vt = np.linalg.svd(XS, full_matrices=True)
        if sv.size and sv[-1] <= 1e-12 * max(sv[0], 1.0):
            continue  # rows dependent: no single ray
        h0 = Vt[-1]
        G = np.linalg.pinv(XS) @ signs.T  # (d, 2^(d-1)); x_k^T g = sign_k for k in S
        a = X @ h0
        b = X @ G
        nz = np.abs(a) > 1e-12 * np.abs(a).max()
        scale = 0.5 * np.abs(a[nz]).min() / max(np.abs(b[nz]).max(), 1e-300) if nz.any() else 1.0
        for s0 in (-1.0, 1.0):
            cols.append(s0 * a[:, None] + scale * b >= -1e-12 * np.abs(a).max())
    if not cols:
        raise ValueError(f"X must have rank d={d} to enumerate patterns, got a rank-deficient X")
    return unique_patterns(np.concatenate(cols, axis=1))
