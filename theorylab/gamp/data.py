"""Planted instances of the extensive-width quadratic network (Maillard et al. 2024).

Figure units: x_μ ~ N(0, I_d), W ∈ R^{d×m} with N(0, 1) entries, S* = W Wᵀ/√m and
y_μ = (1/d)(x_μᵀ S* x_μ − Tr S*) + √δ ξ_μ, i.e. a width-m network with centred
quadratic activation, y = (1/√m) Σ_k [(w_k·x)²/d − ‖w_k‖²/d] + noise.

Paper symbol ↔ argument: d ↔ ``d``, α = n/d² ↔ ``alpha``, κ = m/d ↔ ``kappa``,
δ (label-noise variance) ↔ ``delta``.  Reference: arXiv:2408.03733.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_matrix, check_positive, check_rng
from ..results import ResultRepr

__all__ = ["QuadraticNetworkInstance", "sample_quadratic_network", "quadratic_labels"]


@dataclass(frozen=True, slots=True, kw_only=True)
class QuadraticNetworkInstance(ResultRepr):
    """A planted instance (figure units).

    Attributes
    ----------
    X : ndarray, shape (n, d)
        Inputs x_μ (rows).
    y : ndarray, shape (n,)
        Labels (1/d)(x_μᵀS*x_μ − Tr S*) + √δ ξ_μ.
    S_star : ndarray, shape (d, d)
        Target matrix W Wᵀ/√m.
    W : ndarray, shape (d, m)
        Teacher weights.
    alpha, kappa, delta : float
        The realised ratios n/d², m/d and the label-noise variance.
    """

    X: np.ndarray
    y: np.ndarray
    S_star: np.ndarray
    W: np.ndarray
    alpha: float
    kappa: float
    delta: float

    def __post_init__(self) -> None:
        for name in ("X", "y", "S_star", "W"):
            getattr(self, name).flags.writeable = False


def quadratic_labels(X: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Noiseless labels (1/d)(x_μᵀ S x_μ − Tr S) for every row of ``X`` (O(n d) memory)."""
    X = check_matrix(X, name="X")
    d = X.shape[1]
    S = check_matrix(S, name="S", shape=(d, d))
    return (np.einsum("ij,ij->i", X @ S, X) - np.trace(S)) / d


def sample_quadratic_network(d: int, *, alpha: float, kappa: float, delta: float = 0.0,
                             rng=None) -> QuadraticNetworkInstance:
    """Draw inputs, labels and the target S* of the quadratic-network model.

    Parameters
    ----------
    d : int
        Input dimension (≥ 2).
    alpha : float
        Sample ratio; n = round(α d²) ≥ 1 samples are drawn.
    kappa : float
        Width ratio; the teacher has m = max(1, round(κ d)) hidden units.
    delta : float, default 0.0
        Label-noise variance δ ≥ 0.
    rng : numpy.random.Generator, int or None
        Source of randomness.

    Returns
    -------
    QuadraticNetworkInstance
        ``X`` (n, d), ``y`` (n,), ``S_star`` (d, d), ``W`` (d, m) and the realised ratios.

    Raises
    ------
    ValueError
        If ``d`` < 2, ``alpha`` ≤ 0, ``kappa`` ≤ 0 or ``delta`` < 0.

    Notes
    -----
    S* = W Wᵀ/√m has O(1) off-diagonal entries; (1/d²)‖S* − E S*‖²_F → 1, the prior
    variance, so a trivial estimator has error 1.

    References
    ----------
    arXiv:2408.03733.

    Examples
    --------
    >>> from theorylab.gamp import sample_quadratic_network
    >>> inst = sample_quadratic_network(20, alpha=0.5, kappa=0.5, rng=0)
    >>> inst.X.shape, inst.W.shape
    ((200, 20), (20, 10))
    """
    d = check_int(d, name="d", minimum=2)
    alpha = check_positive(alpha, name="alpha")
    kappa = check_positive(kappa, name="kappa")
    delta = check_positive(delta, name="delta", strict=False)
    rng = check_rng(rng)
    n = max(1, round(alpha * d * d))
    m = max(1, round(kappa * d))
    W = rng.standard_normal((d, m))
    S_star = W @ W.T / np.sqrt(m)
    X = rng.standard_normal((n, d))
    y = quadratic_labels(X, S_star)
    if delta > 0:
        y = y + np.sqrt(delta) * rng.standard_normal(n)
    return QuadraticNetworkInstance(X=X, y=y, S_star=S_star, W=W, alpha=n / d**2,
                                    kappa=m / d, delta=delta)
