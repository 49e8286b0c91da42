"""Numba kernels of NCD k-means: Lloyd iterations on the unlabeled rows, new centroids only.

No validation here: :func:`theorylab.ncd.kmeans.ncd_kmeans` checks inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def assign_kernel(X, C, labels, mind2):
    """Nearest centroid of each row (squared Euclidean); writes labels and distances."""
    n, d = X.shape
    k = C.shape[0]
    for i in range(n):
        best = np.inf
        arg = 0
        for j in range(k):
            s = 0.0
            for t in range(d):
                diff = X[i, t] - C[j, t]
                s += diff * diff
            if s < best:
                best = s
                arg = j
        labels[i] = arg
        mind2[i] = best


@njit(cache=True)
def lloyd_kernel(X, C, max_iter, tol, labels, mind2):
    """Lloyd iterations from the centroids ``C`` (updated in place).

    A centroid that loses all its rows keeps its position. Stops when the squared centroid
    shift sum_j ||c_j - c_j'||^2 falls to ``tol`` or below. Returns (n_iter, inertia, shift);
    ``labels``/``mind2`` hold the assignment to the returned centroids.
    """
    n, d = X.shape
    k = C.shape[0]
    sums = np.zeros((k, d))
    counts = np.zeros(k)
    shift = np.inf
    it = 0
    while it < max_iter:
        assign_kernel(X, C, labels, mind2)
        sums[:, :] = 0.0
        counts[:] = 0.0
        for i in range(n):
            j = labels[i]
            counts[j] += 1.0
            for t in range(d):
                sums[j, t] += X[i, t]
        shift = 0.0
        for j in range(k):
            if counts[j] > 0.0:
                for t in range(d):
                    c = sums[j, t] / counts[j]
                    diff = c - C[j, t]
                    shift += diff * diff
                    C[j, t] = c
        it += 1
        if shift <= tol:
            break
    assign_kernel(X, C, labels, mind2)
    inertia = 0.0
    for i in range(n):
        inertia += mind2[i]
    return it, inertia, shift


@njit(cache=True)
def kmeanspp_kernel(X, P, k, u, first, out):
    """k-means++ seeding of ``k`` new centres given pre-chosen centres ``P`` (may have 0 rows).

    ``u`` holds k uniforms in [0, 1); ``first`` is the row used when P is empty (uniform pick
    drawn by the caller). Each new centre is row i with probability D(i)^2 / sum D^2, D the
    distance to the nearest centre chosen so far (pre-chosen ones included).
    """
    n, d = X.shape
    D2 = np.full(n, np.inf)
    for p in range(P.shape[0]):
        for i in range(n):
            s = 0.0
            for t in range(d):
                diff = X[i, t] - P[p, t]
                s += diff * diff
            if s < D2[i]:
                D2[i] = s
    start = 0
    if P.shape[0] == 0:
        for t in range(d):
            out[0, t] = X[first, t]
        start = 1
        for i in range(n):
            s = 0.0
            for t in range(d):
                diff = X[i, t] - X[first, t]
                s += diff * diff
            D2[i] = s
    for c in range(start, k):
        total = 0.0
        for i in range(n):
            total += D2[i]
        if total <= 0.0:  # every row sits on a centre: take them in order
            pick = c % n
        else:
            target = u[c] * total
            acc = 0.0
            pick = n - 1
            for i in range(n):
                acc += D2[i]
                if acc > target:
                    pick = i
                    break
        for t in range(d):
            out[c, t] = X[pick, t]
        for i in range(n):
            s = 0.0
            for t in range(d):
                diff = X[i, t] - X[pick, t]
                s += diff * diff
            if s < D2[i]:
                D2[i] = s
