"""Plain-NumPy NCD k-means (Troisemaine et al. 2023, arXiv:2311.05440), test-only.

Seeding: greedy k-means++ where the known-class prototypes count as already-chosen centres; at
each step n_trials candidates are drawn with probability proportional to the squared distance
to the nearest centre so far, and the one giving the lowest total squared distance is kept
(n_trials = 1: plain k-means++). Lloyd: assign every unlabeled row to its nearest *new*
centroid, move each new centroid to the mean of its rows (an empty one stays), until the squared
shift is <= tol.
"""

import numpy as np


def kmeanspp(X, P, k, u, first):
    """u: (k, n_trials) uniforms; n_trials candidates per step, the best potential wins."""
    centres = [] if P is None or len(P) == 0 else list(P)
    new = []
    if not centres:
        new.append(X[first])
    while len(new) < k:
        allc = np.array(centres + new)
        D2 = ((X[:, None, :] - allc[None]) ** 2).sum(-1).min(1)
        cum = np.cumsum(D2)
        best, best_pot = None, np.inf
        for tr in range(u.shape[1]):
            if cum[-1] <= 0:
                row = len(new) % len(X)
            else:
                row = min(int(np.searchsorted(cum, u[len(new), tr] * cum[-1], side="right")),
                          len(X) - 1)
            pot = np.minimum(D2, ((X - X[row]) ** 2).sum(-1)).sum()
            if pot < best_pot:
                best, best_pot = row, pot
        new.append(X[best])
    return np.array(new)


def lloyd(X, C, max_iter, tol):
    C = C.copy()
    it = 0
    while it < max_iter:
        D2 = ((X[:, None, :] - C[None]) ** 2).sum(-1)
        lab = D2.argmin(1)
        C_new = C.copy()
        for j in range(len(C)):
            if np.any(lab == j):
                C_new[j] = X[lab == j].mean(0)
        shift = ((C_new - C) ** 2).sum()
        C = C_new
        it += 1
        if shift <= tol:
            break
    D2 = ((X[:, None, :] - C[None]) ** 2).sum(-1)
    return C, D2.argmin(1), D2.min(1).sum(), it
