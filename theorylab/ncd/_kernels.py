"""Numba kernels of NCD k-means: Lloyd iterations on the unlabeled rows, new centroids only.

No validation here: :func:`theorylab.ncd.kmeans.ncd_kmeans` checks inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def assign_kernel(X, C, labels, mind2):
    """Nearest centroid of each row (squared Euclidean); writes labels and distances.

    The argmin uses ||c||^2 - 2 x.c from one BLAS product X C^T (the expensive part, as in
    scikit-learn's Lloyd); the returned distance of the chosen centroid is then computed
    directly, so inertia carries no cancellation error.
    """
    n, d = X.shape
    k = C.shape[0]
    G = np.dot(X, np.ascontiguousarray(C.T))  # (n, k)
    cc = np.empty(k)
    for j in range(k):
        s = 0.0
        for t in range(d):
            s += C[j, t] * C[j, t]
        cc[j] = s
    for i in range(n):
        best = np.inf
        arg = 0
        for j in range(k):
            v = cc[j] - 2.0 * G[i, j]
            if v < best:
                best = v
                arg = j
        labels[i] = arg
        s = 0.0
        for t in range(d):
            diff = X[i, t] - C[arg, t]
            s += diff * diff
        mind2[i] = s


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
def _sq_dists(X, xx, Y, out):
    """out[i, j] = ||X_i - Y_j||^2 by one BLAS product (clipped at 0), xx = row norms of X."""
    G = np.dot(X, np.ascontiguousarray(Y.T))
    n = X.shape[0]
    for j in range(Y.shape[0]):
        yy = 0.0
        for t in range(Y.shape[1]):
            yy += Y[j, t] * Y[j, t]
        for i in range(n):
            v = xx[i] + yy - 2.0 * G[i, j]
            out[i, j] = v if v > 0.0 else 0.0


@njit(cache=True)
def _draw(D2, target):
    n = D2.shape[0]
    acc = 0.0
    for i in range(n):
        acc += D2[i]
        if acc > target:
            return i
    return n - 1


@njit(cache=True)
def kmeanspp_kernel(X, P, k, u, first, out):
    """Greedy k-means++ seeding of ``k`` new centres given pre-chosen centres ``P`` (0 rows ok).

    ``u`` has shape (k, n_trials) of uniforms in [0, 1); ``first`` is the row used when P is
    empty (a uniform pick drawn by the caller). At each step n_trials candidate rows are drawn
    with probability D(i)^2 / sum D^2 (D: distance to the nearest centre chosen so far, the
    pre-chosen ones included) and the candidate that lowers sum D^2 the most is kept;
    n_trials = 1 is plain k-means++. Distances come from BLAS products (as in scikit-learn).
    """
    n, d = X.shape
    n_trials = u.shape[1]
    xx = np.empty(n)
    for i in range(n):
        s = 0.0
        for t in range(d):
            s += X[i, t] * X[i, t]
        xx[i] = s
    D2 = np.full(n, np.inf)
    if P.shape[0] > 0:
        DP = np.empty((n, P.shape[0]))
        _sq_dists(X, xx, P, DP)
        for i in range(n):
            for p in range(P.shape[0]):
                if DP[i, p] < D2[i]:
                    D2[i] = DP[i, p]
    start = 0
    one = np.empty((n, 1))
    if P.shape[0] == 0:
        for t in range(d):
            out[0, t] = X[first, t]
        _sq_dists(X, xx, X[first:first + 1], one)
        for i in range(n):
            D2[i] = one[i, 0]
        start = 1
    rows = np.empty(n_trials, dtype=np.int64)
    cand = np.empty((n, n_trials))
    for c in range(start, k):
        total = 0.0
        for i in range(n):
            total += D2[i]
        for tr in range(n_trials):
            # every row on a centre (total 0): take rows in order
            rows[tr] = c % n if total <= 0.0 else _draw(D2, u[c, tr] * total)
        _sq_dists(X, xx, X[rows], cand)
        best_pot = np.inf
        best = 0
        for tr in range(n_trials):
            pot = 0.0
            for i in range(n):
                pot += min(D2[i], cand[i, tr])
            if pot < best_pot:
                best_pot = pot
                best = tr
        for t in range(d):
            out[c, t] = X[rows[best], t]
        for i in range(n):
            if cand[i, best] < D2[i]:
                D2[i] = cand[i, best]
