"""The factor model of Ge et al. 2023 (arXiv:2303.01566), factor-model instance.

x = B z + eps, z ~ N(0, I_r), eps ~ N(0, sigma_x^2 I_d) (``B`` is (d, r)); the downstream label is
y = theta^T z + xi, xi ~ N(0, sigma_y^2). Weak per-coordinate signal means small ``loading_scale``
(B_ij ~ N(0, loading_scale^2)): every input coordinate carries little of z, so supervised
learning must estimate d coefficients while pretraining leaves only r.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import (
    check_int,
    check_matrix,
    check_positive,
    check_rng,
    check_scalar,
    check_vector,
)
from ..results import ResultRepr
from .theory import factor_model_bayes_risk

__all__ = ["FactorModel", "sample_factor_model"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FactorModel(ResultRepr):
    """A planted factor model with its ground truth.

    Attributes
    ----------
    B : ndarray, shape (d, r)
        Loadings.
    theta : ndarray, shape (r,)
        Downstream coefficients on the latent z.
    sigma_x, sigma_y : float
        Input and label noise levels.
    bayes_risk : float
        E[(y - E[y | x])^2] (:func:`factor_model_bayes_risk`).
    """

    B: np.ndarray
    theta: np.ndarray
    sigma_x: float
    sigma_y: float
    bayes_risk: float

    def __post_init__(self) -> None:
        for name in ("B", "theta"):
            a = np.array(getattr(self, name))
            a.flags.writeable = False
            object.__setattr__(self, name, a)

    @property
    def d(self) -> int:
        return int(self.B.shape[0])

    @property
    def r(self) -> int:
        return int(self.B.shape[1])

    def sample(self, n: int, *, rng=None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` pairs (X (n, d), y (n,)) drawn from the model."""
        n = check_int(n, name="n", minimum=1)
        rng = check_rng(rng)
        z = rng.standard_normal((n, self.r))
        X = z @ self.B.T + self.sigma_x * rng.standard_normal((n, self.d))
        y = z @ self.theta + self.sigma_y * rng.standard_normal(n)
        return X, y

    def posterior_mean(self, X) -> np.ndarray:
        """E[z | x] = (I + B^T B / sigma_x^2)^{-1} B^T x / sigma_x^2, row by row: (n, r)."""
        X = check_matrix(X, name="X", shape=(None, self.d))
        s2 = self.sigma_x**2
        A = np.linalg.solve(np.eye(self.r) + self.B.T @ self.B / s2, self.B.T / s2)
        return X @ A.T

    def linear_risk(self, coef, intercept: float = 0.0) -> float:
        """Exact population risk E[(y - coef^T x - intercept)^2] of a linear predictor.

        Notes
        -----
        With Sigma_x = B B^T + sigma_x^2 I and Cov(x, y) = B theta (all means zero):
        theta^T theta + sigma_y^2 - 2 coef^T B theta + coef^T Sigma_x coef + intercept^2.
        Subtract :attr:`bayes_risk` for the excess risk, free of test-set noise.
        """
        coef = check_vector(coef, name="coef", n=self.d)
        intercept = check_scalar(intercept, name="intercept")
        Bc = self.B.T @ coef
        quad = Bc @ Bc + self.sigma_x**2 * coef @ coef
        return float(self.theta @ self.theta + self.sigma_y**2 - 2 * Bc @ self.theta + quad
                     + intercept**2)

    def predict_oracle(self, X) -> np.ndarray:
        """The Bayes predictor E[y | x] = theta^T E[z | x]."""
        return self.posterior_mean(X) @ self.theta


def sample_factor_model(d: int, r: int, *, loading_scale: float = 0.15, sigma_x: float = 1.0,
                        sigma_y: float = 0.1, rng=None) -> FactorModel:
    """Draw B_ij ~ N(0, loading_scale^2) and theta ~ N(0, I_r).

    Parameters
    ----------
    d, r : int
        Input and latent dimensions (1 <= r <= d).
    loading_scale : float
        Standard deviation of each loading (weak per-coordinate signal when small).
    sigma_x, sigma_y : float
        Noise levels of x (> 0) and y (>= 0).
    rng : Generator, int or None
    """
    d = check_int(d, name="d", minimum=1)
    r = check_int(r, name="r", minimum=1, maximum=d)
    loading_scale = check_positive(loading_scale, name="loading_scale")
    sigma_x = check_positive(sigma_x, name="sigma_x")
    sigma_y = check_positive(sigma_y, name="sigma_y", strict=False)
    rng = check_rng(rng)
    B = loading_scale * rng.standard_normal((d, r))
    theta = rng.standard_normal(r)
    return FactorModel(B=B, theta=theta, sigma_x=sigma_x, sigma_y=sigma_y,
                       bayes_risk=factor_model_bayes_risk(B, theta, sigma_x=sigma_x,
                                                          sigma_y=sigma_y))


