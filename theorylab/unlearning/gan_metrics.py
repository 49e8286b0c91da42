"""Sample-quality metrics for generators, computed on feature matrices (NumPy only).

Used to score GAN unlearning (Tiwary, Guha, Panda & Prathosh 2023, "Adapt then Unlearn",
arXiv:2309.14054) but independent of any model: every function takes feature matrices
(one row per sample), e.g. a judge classifier's penultimate activations.

- **Fréchet distance** between Gaussians fitted to two feature sets (the FID formula of
  Heusel et al. 2017, arXiv:1706.08500, here in a judge's features rather than Inception's):
  FD = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}).
  The matrix square root is taken of the symmetric PSD matrix Σ₁^{1/2} Σ₂ Σ₁^{1/2} by an
  eigendecomposition, so no complex parts arise; tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2} equals
  tr (Σ₁Σ₂)^{1/2}, the form ``pytorch-fid`` evaluates with ``scipy.linalg.sqrtm``.
- **k-NN precision and recall** (Kynkäänniemi et al. 2019, arXiv:1904.06991): each point of a
  set gets the ball reaching its k-th nearest neighbour *within its own set* (itself
  excluded); precision = fraction of generated points inside at least one real ball,
  recall = fraction of real points inside at least one generated ball (Euclidean distance,
  closed balls).
- **Feature rate**: the fraction of samples a judge assigns to the unwanted class.
"""

from __future__ import annotations

import numpy as np

from theorylab._validation import check_int, check_matrix, check_vector

__all__ = ["frechet_distance_gaussian", "frechet_distance", "knn_radii",
           "knn_precision_recall", "feature_rate"]


def _sqrt_psd(S: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix (negative round-off clipped to 0)."""
    w, V = np.linalg.eigh((S + S.T) / 2)
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


def frechet_distance_gaussian(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet (2-Wasserstein²) distance between N(μ₁, Σ₁) and N(μ₂, Σ₂).

    Parameters
    ----------
    mu1, mu2 : array (d,)
        Means.
    sigma1, sigma2 : array (d, d)
        Symmetric positive semi-definite covariances.

    Returns
    -------
    float
        ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2} (≥ 0 up to round-off).

    Examples
    --------
    >>> import numpy as np
    >>> round(frechet_distance_gaussian(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2)), 12)
    4.0
    """
    mu1 = check_vector(mu1, name="mu1")
    d = mu1.size
    mu2 = check_vector(mu2, name="mu2", n=d)
    sigma1 = check_matrix(sigma1, name="sigma1", shape=(d, d))
    sigma2 = check_matrix(sigma2, name="sigma2", shape=(d, d))
    for name, S in (("sigma1", sigma1), ("sigma2", sigma2)):
        if not np.allclose(S, S.T, rtol=1e-8, atol=1e-10 * max(1.0, np.abs(S).max())):
            raise ValueError(f"{name} must be symmetric, got max |S - S^T| = "
                             f"{np.abs(S - S.T).max():.3g}")
    r1 = _sqrt_psd(sigma1)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(r1 @ sigma2 @ r1), 0.0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * cross)


def frechet_distance(F1, F2) -> float:
    """Fréchet distance between Gaussians fitted to the rows of two feature matrices.

    Means and unbiased covariances (``np.cov``, divisor n − 1) of ``F1 (n1, d)`` and
    ``F2 (n2, d)``, then :func:`frechet_distance_gaussian`. Each set needs at least 2 rows.
    """
    F1 = check_matrix(F1, name="F1", min_rows=2)
    F2 = check_matrix(F2, name="F2", min_rows=2)
    if F2.shape[1] != F1.shape[1]:
        raise ValueError(f"F2 must have {F1.shape[1]} columns like F1, got {F2.shape[1]}")
    S1 = np.atleast_2d(np.cov(F1, rowvar=False))
    S2 = np.atleast_2d(np.cov(F2, rowvar=False))
    return frechet_distance_gaussian(F1.mean(0), S1, F2.mean(0), S2)


def _sq_dists(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``(len(A), len(B))``, clipped at 0."""
    d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(d2, 0.0)


def knn_radii(F, *, k: int = 3, chunk: int = 2048) -> np.ndarray:
    """Distance from each row of ``F`` to its k-th nearest *other* row, ``(n,)``."""
    F = check_matrix(F, name="F")
    k = check_int(k, name="k", minimum=1, maximum=F.shape[0] - 1)
    out = np.empty(F.shape[0])
    for s in range(0, F.shape[0], chunk):
        d2 = _sq_dists(F[s:s + chunk], F)
        # the row's own zero distance is its 0-th neighbour; ties with duplicates are kept
        out[s:s + chunk] = np.partition(d2, k, axis=1)[:, k]
    return np.sqrt(out)


def _covered(points: np.ndarray, centres: np.ndarray, radii: np.ndarray, chunk: int
             ) -> np.ndarray:
    hit = np.empty(points.shape[0], dtype=bool)
    r2 = radii ** 2
    for s in range(0, points.shape[0], chunk):
        d2 = _sq_dists(points[s:s + chunk], centres)
        hit[s:s + chunk] = (d2 <= r2[None, :] * (1 + 1e-12)).any(1)
    return hit


def knn_precision_recall(real, fake, *, k: int = 3, chunk: int = 2048) -> dict[str, float]:
    """Improved precision and recall of ``fake`` against ``real`` (rows are samples).

    Parameters
    ----------
    real : array (n_r, d)
        Reference (real-data) features.
    fake : array (n_g, d)
        Generated-sample features.
    k : int
        Neighbourhood size for the manifold balls (3 as in the paper's GAN metrics).

    Returns
    -------
    dict
        ``{"precision": P, "recall": R}``, each in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> real = np.array([[0.0], [1.0], [2.0]])
    >>> fake = np.array([[0.5], [0.6], [10.0], [10.2]])
    >>> knn_precision_recall(real, fake, k=1)
    {'precision': 0.5, 'recall': 0.0}
    """
    real = check_matrix(real, name="real", min_rows=2)
    fake = check_matrix(fake, name="fake", min_rows=2)
    if fake.shape[1] != real.shape[1]:
        raise ValueError(f"fake must have {real.shape[1]} columns like real, got "
                         f"{fake.shape[1]}")
    k = check_int(k, name="k", minimum=1, maximum=min(real.shape[0], fake.shape[0]) - 1)
    p = _covered(fake, real, knn_radii(real, k=k, chunk=chunk), chunk).mean()
    r = _covered(real, fake, knn_radii(fake, k=k, chunk=chunk), chunk).mean()
    return {"precision": float(p), "recall": float(r)}


def feature_rate(labels, cls: int) -> float:
    """Fraction of judged ``labels`` (integer class per sample) equal to ``cls``."""
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be a non-empty 1-D integer array, got dtype {y.dtype} "
                         f"and shape {y.shape}")
    cls = check_int(cls, name="cls", minimum=0)
    return float((y == cls).mean())
