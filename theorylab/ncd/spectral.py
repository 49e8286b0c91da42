"""NCD spectral clustering (Troisemaine et al. 2023, arXiv:2311.05440).

Spectral embedding of the known and unlabeled rows together: RBF affinities
A_ij = exp(-||x_i - x_j||^2 / (2 sigma^2)) (zero diagonal), sigma set so that the longest edge
of the minimum spanning tree of squared distances keeps affinity sqrt(min_dist)
(sigma^2 = -max_mst / log(min_dist), as in the reference code), symmetric normalised Laplacian
L = I - D^{-1/2} A D^{-1/2}, eigenvectors 2..n_components+1. The known classes give prototypes in
this embedding and :func:`ncd_kmeans` clusters the unlabeled rows. Dense: O(n^2) memory,
O(n^3) time.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import cdist

from .._validation import check_int, check_labels, check_matrix, check_rng, check_scalar
from .kmeans import NCDKMeansResult, class_prototypes, ncd_kmeans

__all__ = ["spectral_embedding", "ncd_spectral_clustering"]


def spectral_embedding(X, *, n_components: int, min_dist: float = 0.5) -> np.ndarray:
    """Rows of the normalised-Laplacian eigenvectors 2..n_components+1: shape (n, n_components).

    Eigenvectors are defined up to sign; the clustering built on them is not affected.
    """
    X = check_matrix(X, name="X", min_rows=3)
    n = X.shape[0]
    n_components = check_int(n_components, name="n_components", minimum=1, maximum=n - 1)
    min_dist = check_scalar(min_dist, name="min_dist", lower=0.0, upper=1.0,
                            lower_inclusive=False, upper_inclusive=False)
    D2 = cdist(X, X, "sqeuclidean")
    mst = minimum_spanning_tree(D2)
    max_sq = float(mst.data.max()) if mst.nnz else 1.0
    sigma2 = -max_sq / np.log(min_dist)
    A = np.exp(-D2 / (2.0 * sigma2))
    np.fill_diagonal(A, 0.0)
    deg = A.sum(axis=0)
    s = np.where(deg > 0, np.sqrt(np.where(deg > 0, deg, 1.0)), 1.0)
    L = -A / s[:, None] / s[None, :]
    np.fill_diagonal(L, 1.0)
    _, V = np.linalg.eigh(L)
    return np.ascontiguousarray(V[:, 1:n_components + 1])


def ncd_spectral_clustering(X_unlabeled, X_known, y_known, *, k: int,
                            n_components: int | None = None, min_dist: float = 0.5,
                            n_init: int = 10, rng=None) -> NCDKMeansResult:
    """Spectral embedding of known + unlabeled rows, then NCD k-means on the unlabeled rows.

    ``n_components`` defaults to k + the number of known classes (reference code).
    """
    Xu = check_matrix(X_unlabeled, name="X_unlabeled")
    Xk = check_matrix(X_known, name="X_known", shape=(None, Xu.shape[1]))
    y_known = check_labels(y_known, name="y_known", n=Xk.shape[0])
    k = check_int(k, name="k", minimum=1, maximum=Xu.shape[0])
    n_classes = len(np.unique(y_known))
    if n_components is None:
        n_components = k + n_classes
    rng = check_rng(rng)
    E = spectral_embedding(np.vstack([Xu, Xk]), n_components=n_components, min_dist=min_dist)
    _, P = class_prototypes(E[Xu.shape[0]:], y_known)
    return ncd_kmeans(E[:Xu.shape[0]], P, k=k, n_init=n_init, rng=rng)
