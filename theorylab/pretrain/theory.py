"""Closed forms of the factor-model instance (Ge et al. 2023, arXiv:2303.01566).

Symbols: x = B z + eps with z ~ N(0, I_r), eps ~ N(0, sigma_x^2 I_d); y = theta^T z + xi with
xi ~ N(0, sigma_y^2). Arguments: ``B`` (d, r), ``theta`` (r,), ``sigma_x``, ``sigma_y``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validation import check_int, check_matrix, check_positive, check_vector

__all__ = ["factor_model_bayes_risk", "oracle_ols_excess_risk", "excess_risk_bounds"]


def factor_model_bayes_risk(B, theta, *, sigma_x: float, sigma_y: float) -> float:
    """Bayes risk E[(y - E[y | x])^2] of the factor model.

    Notes
    -----
    Cov(z | x) = (I + B^T B / sigma_x^2)^{-1}, so the risk is
    theta^T Cov(z | x) theta + sigma_y^2.
    """
    B = check_matrix(B, name="B")
    theta = check_vector(theta, name="theta", n=B.shape[1])
    sigma_x = check_positive(sigma_x, name="sigma_x")
    sigma_y = check_positive(sigma_y, name="sigma_y", strict=False)
    r = B.shape[1]
    cov = np.linalg.inv(np.eye(r) + B.T @ B / sigma_x**2)
    return float(theta @ cov @ theta + sigma_y**2)


def oracle_ols_excess_risk(n: int, r: int, *, noise_var: float,
                           fit_intercept: bool = False) -> float:
    """Expected excess risk of least squares on r jointly Gaussian features from n samples.

    Applies to the downstream fit on the *true* posterior mean E[z | x], whose residual
    y - E[y | x] is Gaussian, independent of the features, with variance ``noise_var`` (the
    Bayes risk).

    Notes
    -----
    Without intercept (centred features): noise_var * r / (n - r - 1). With intercept:
    noise_var * (1/n + (1 + 1/n) r / (n - r - 2)) (the inverse-Wishart mean of the centred
    scatter matrix). Requires n > r + 1 (n > r + 2 with intercept).
    """
    r = check_int(r, name="r", minimum=1)
    n = check_int(n, name="n", minimum=r + (3 if fit_intercept else 2))
    noise_var = check_positive(noise_var, name="noise_var", strict=False)
    if fit_intercept:
        return noise_var * (1.0 / n + (1.0 + 1.0 / n) * r / (n - r - 2))
    return noise_var * r / (n - r - 1)


class RateBounds(NamedTuple):
    """The two sides of the paper's comparison (constants set to the given complexities)."""

    pretrain: np.ndarray
    supervised: np.ndarray


def excess_risk_bounds(m, n, *, c_phi: float, c_psi: float, c_phi_psi: float) -> RateBounds:
    """Shape of the excess-risk bounds: sqrt(C_Phi/m) + sqrt(C_Psi/n) vs sqrt(C_{Phi o Psi}/n).

    The paper's O~(.) hides constants and log factors; this returns the bounds with constant 1,
    for plotting shapes and for the sign of the comparison only.
    """
    m = check_vector(np.atleast_1d(m), name="m")
    n = check_vector(np.atleast_1d(n), name="n")
    for name, v in (("m", m), ("n", n)):
        if np.any(v <= 0):
            raise ValueError(f"{name} must be > 0, got {float(v.min())!r}")
    c_phi = check_positive(c_phi, name="c_phi", strict=False)
    c_psi = check_positive(c_psi, name="c_psi", strict=False)
    c_phi_psi = check_positive(c_phi_psi, name="c_phi_psi", strict=False)
    pre = np.sqrt(c_phi / m) + np.sqrt(c_psi / n)
    sup = np.sqrt(c_phi_psi / n) * np.ones_like(pre)
    return RateBounds(pretrain=pre, supervised=sup)
