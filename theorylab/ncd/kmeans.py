"""NCD k-means: k-means on the unlabeled rows with the known-class prototypes fixed.

Troisemaine et al. 2023 (arXiv:2311.05440), NCD k-means. The known classes enter only through
their prototypes (class means in the representation): the k new centres are seeded by k-means++
with the prototypes counted as already-chosen centres, so new seeds avoid the known regions
(greedy k-means++ by default: several candidates per step, the best kept, as in scikit-learn);
Lloyd iterations then move only the new centroids, on the unlabeled rows; ``n_init`` restarts,
the lowest inertia (sum of squared distances) wins. Without prototypes this is k-means++ + Lloyd.

Differences from the reference implementation: seeding by squared distance (standard k-means++;
the reference draws by distance) and inertia as the sum of squared distances (the reference
sums distances); the tolerance is relative to the mean per-feature variance, as in scikit-learn.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .._validation import (
    check_choice,
    check_int,
    check_labels,
    check_matrix,
    check_positive,
    check_rng,
)
from ..results import ConvergenceWarning, SolverResult
from ._kernels import assign_kernel, kmeanspp_kernel, lloyd_kernel

__all__ = ["NCDKMeansResult", "ncd_kmeans", "class_prototypes"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NCDKMeansResult(SolverResult):
    """Result of :func:`ncd_kmeans`.

    Attributes
    ----------
    x : ndarray, shape (k, p)
        The new centroids (``centroids`` is a read-only alias).
    labels : ndarray of int, shape (n,)
        Cluster of each unlabeled row, in 0..k-1.
    inertia : float
        Sum of squared distances of the rows to their centroid (best restart).
    known_prototypes : ndarray, shape (c, p)
        The fixed prototypes (unchanged input).
    n_init : int
    """

    labels: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    inertia: float = float("nan")
    known_prototypes: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    n_init: int = 1

    @property
    def centroids(self) -> np.ndarray:
        return self.x

    def predict(self, X) -> np.ndarray:
        """Nearest new centroid of each row of ``X``."""
        X = check_matrix(X, name="X", shape=(None, self.x.shape[1]))
        labels = np.empty(X.shape[0], dtype=np.int64)
        assign_kernel(X, np.ascontiguousarray(self.x), labels, np.empty(X.shape[0]))
        return labels


def class_prototypes(Z, y):
    """Mean of the rows of each class, classes in sorted order: (classes, prototypes)."""
    Z = check_matrix(Z, name="Z")
    y = check_labels(y, name="y", n=Z.shape[0])
    classes = np.unique(y)
    return classes, np.stack([Z[y == c].mean(axis=0) for c in classes])


def ncd_kmeans(X, known_prototypes=None, *, k: int, n_init: int = 10, max_iter: int = 300,
               tol: float = 1e-4,
               init: Literal["greedy-k-means++", "k-means++"] = "greedy-k-means++",
               rng=None) -> NCDKMeansResult:
    """Cluster the unlabeled rows ``X`` into ``k`` new clusters, known prototypes fixed.

    Parameters
    ----------
    X : array, shape (n, p)
        Unlabeled rows (in the representation, e.g. a PBN latent), n >= k.
    known_prototypes : array, shape (c, p), optional
        Known-class centres; they steer the seeding and never move. None or 0 rows: plain
        k-means++ + Lloyd.
    k : int
        Number of new clusters.
    n_init : int
        Restarts; the lowest inertia wins.
    max_iter : int
        Lloyd iterations per restart.
    tol : float
        Stop when the squared centroid shift is <= tol * mean per-feature variance of X.
    init : {"greedy-k-means++", "k-means++"}
        Seeding: greedy (2 + floor(ln k) candidates per step, the best kept; scikit-learn's
        default) or plain k-means++ (the reference implementation's choice).
    rng : Generator, int or None

    Returns
    -------
    NCDKMeansResult
        ``converged`` is False (with a :class:`ConvergenceWarning`) when the best restart hit
        ``max_iter``.
    """
    X = check_matrix(X, name="X")
    n, p = X.shape
    k = check_int(k, name="k", minimum=1, maximum=n)
    if known_prototypes is None:
        P = np.empty((0, p))
    else:
        P = check_matrix(known_prototypes, name="known_prototypes", shape=(None, p), min_rows=0)
    n_init = check_int(n_init, name="n_init", minimum=1)
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    tol = check_positive(tol, name="tol", strict=False)
    init = check_choice(init, name="init", choices=("greedy-k-means++", "k-means++"))
    rng = check_rng(rng)
    n_trials = 1 if init == "k-means++" else 2 + int(np.log(k))
    tol_abs = tol * float(np.mean(np.var(X, axis=0)))
    best = None
    labels = np.empty(n, dtype=np.int64)
    mind2 = np.empty(n)
    for _ in range(n_init):
        u = rng.random((k, n_trials))
        first = int(rng.integers(n))
        C = np.empty((k, p))
        kmeanspp_kernel(X, P, k, u, first, C)
        it, inertia, shift = lloyd_kernel(X, C, max_iter, tol_abs, labels, mind2)
        if best is None or inertia < best[1]:
            best = (C.copy(), inertia, labels.copy(), it, shift)
    C, inertia, lab, it, shift = best
    converged = shift <= tol_abs
    if converged:
        msg = f"centroid shift {shift:.3g} <= tol {tol_abs:.3g} after {it} iterations"
    else:
        msg = f"stopped at max_iter={max_iter}: centroid shift {shift:.3g} > tol {tol_abs:.3g}"
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    return NCDKMeansResult(x=C, labels=lab, inertia=float(inertia), known_prototypes=P.copy(),
                           n_init=n_init, n_iter=int(it), converged=bool(converged),
                           message=msg)
