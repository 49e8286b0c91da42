"""Rotationally invariant estimator (RIE) of a Wishart matrix observed in GOE noise.

Algorithm units: R = S̃ + √Δ Z with S̃ = W Wᵀ/√(m d) (spectrum √κ × MP(ratio 1/κ, mean 1))
and Z a GOE matrix whose spectrum fills [−2, 2].  The estimator keeps the eigenvectors
of R and maps each eigenvalue λ ↦ λ − 2Δ Re g_Δ(λ), where g_Δ is the Stieltjes transform
of the asymptotic density prior ⊞ semicircle(Δ) (Bun, Allez, Bouchaud, Potters 2016).

Paper symbol ↔ argument: Δ ↔ ``delta``, κ ↔ ``kappa``.
References: arXiv:2408.03733, arXiv:1502.06736.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_array, check_matrix, check_positive
from .theory import stieltjes_th

__all__ = ["rie_denoise", "rie_shrink_eigenvalues"]


def rie_shrink_eigenvalues(lam: np.ndarray, delta: float, *, kappa: float) -> np.ndarray:
    """The RIE eigenvalue map λ ↦ λ − 2Δ Re g_Δ(λ) (algorithm units).

    Computed in theory units (λ_th = λ/√κ, σ² = Δ/κ) where the Stieltjes transform
    solves σ²g³ − (z + κσ²)g² + (1 − κ + κz)g − κ = 0; outside the asymptotic support
    (finite-size outliers) the real root on the physical branch is used, not an
    arbitrary one.
    """
    delta = check_positive(delta, name="delta")
    kappa = check_positive(kappa, name="kappa")
    return _shrink(check_array(lam, name="lam", ndim=None, min_shape=(1,)), delta, kappa)


def _shrink(lam: np.ndarray, delta: float, kappa: float, stieltjes=stieltjes_th) -> np.ndarray:
    """:func:`rie_shrink_eigenvalues` without validation, on the root solver ``stieltjes``
    (:func:`~theorylab.gamp.theory.stieltjes_th` or the fast twin's)."""
    sk = np.sqrt(kappa)
    s2 = delta / kappa
    lam_th = lam / sk
    h = stieltjes(lam_th, s2, kappa).real
    return sk * (lam_th - 2.0 * s2 * h)


def rie_denoise(R, delta: float, *, kappa: float) -> np.ndarray:
    """Denoise a symmetric matrix R = S̃ + √Δ Z with the RIE for a Wishart prior.

    Parameters
    ----------
    R : array_like, shape (d, d)
        Noisy observation in algorithm units; symmetrised as (R + Rᵀ)/2.
    delta : float
        GOE noise variance Δ > 0 (off-diagonal entries of √Δ Z have variance Δ/d).
    kappa : float
        Width ratio κ = m/d > 0 of the prior S̃ = W Wᵀ/√(m d).

    Returns
    -------
    ndarray, shape (d, d)
        The symmetric estimate Ŝ = V diag(λ − 2Δ Re g_Δ(λ)) Vᵀ.

    Raises
    ------
    ValueError
        If R is not square and finite, or ``delta`` ≤ 0, or ``kappa`` ≤ 0.

    Notes
    -----
    Uses ``numpy.linalg.eigh`` (orthonormal eigenvectors even for close eigenvalues).
    Its mean squared error (1/d)‖Ŝ − S̃‖²_F tends to
    :func:`theorylab.gamp.denoising_mmse` (Δ; κ) as d → ∞.

    References
    ----------
    arXiv:1502.06736; arXiv:2408.03733.

    Examples
    --------
    >>> import numpy as np
    >>> from theorylab.gamp import rie_denoise
    >>> rng = np.random.default_rng(0)
    >>> d, m = 200, 100
    >>> W = rng.standard_normal((d, m)); S = W @ W.T / np.sqrt(m * d)
    >>> G = rng.standard_normal((d, d)); Z = (G + G.T) / np.sqrt(2 * d)
    >>> S_hat = rie_denoise(S + np.sqrt(0.6) * Z, 0.6, kappa=0.5)
    >>> bool(abs(np.sum((S_hat - S) ** 2) / d - 0.2839) < 0.03)
    True
    """
    R = check_matrix(R, name="R")
    if R.shape[0] != R.shape[1]:
        raise ValueError(f"R must be square, got shape {R.shape}")
    delta = check_positive(delta, name="delta")
    kappa = check_positive(kappa, name="kappa")
    return _rie(R, delta, kappa)


def _rie(R: np.ndarray, delta: float, kappa: float, stieltjes=stieltjes_th) -> np.ndarray:
    lam, V = np.linalg.eigh(0.5 * (R + R.T))
    mu = _shrink(lam, delta, kappa, stieltjes)
    return (V * mu) @ V.T
