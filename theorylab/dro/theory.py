"""Closed forms the claims compare against (Saberi et al. 2024, arXiv:2310.00027).

- :func:`exact_accuracy` — accuracy of ``sign(w.x)`` on the mixture N(y mu, Sigma), balanced
  labels: Phi(w.mu / sqrt(w' Sigma w)) (no test-sample noise).
- :func:`exact_robust_risk` — E_{P_0} phi_gamma for a linear model, by Gauss-Hermite quadrature
  of the 1-D closed form over the Gaussian margin.
- :func:`bayes_accuracy`, :func:`erm_accuracy`, :func:`pca_oracle_accuracy` — model-free oracle
  accuracies for Table 1 (our derivation, not in the paper): the Bayes rule, the mean-difference ERM
  direction (cos^2 = ||mu||^2 / (||mu||^2 + sigma^2 d/m)) and the top principal component of
  the unlabeled data (spiked covariance, BBP transition).
- :func:`bound_theorem41`, :func:`bound_theorem42` — the right-hand sides of Theorems 4.1/4.2
  with every hidden O(.) constant set to 1 (the constants are not published).

Paper symbol <-> argument: d <-> ``d``; m, n <-> ``m``, ``n``; alpha <-> ``alpha``;
mu_0, mu_1 <-> ``mu0_norm``, ``mu1_norm`` (norms); sigma_0, sigma_1 <-> ``sigma0``,
``sigma1``; gamma <-> ``gamma``; delta <-> ``delta``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad
from scipy.special import ndtr

from .._validation import check_array, check_int, check_scalar, check_vector
from .surrogate import LOSSES, _surrogate, check_gamma

__all__ = [
    "exact_accuracy",
    "exact_robust_risk",
    "bayes_accuracy",
    "erm_accuracy",
    "pca_oracle_accuracy",
    "bound_theorem41",
    "bound_theorem42",
]


def _cov_quadratic(w: np.ndarray, sigma, d: int) -> float:
    if np.ndim(sigma) == 0:
        s = check_scalar(sigma, name="sigma", lower=0.0, lower_inclusive=False)
        return s**2 * float(w @ w)
    S = check_array(sigma, name="sigma", ndim=2, shape=(d, d))
    q = float(w @ S @ w)
    if q <= 0:
        raise ValueError(f"sigma must be positive definite, got w' sigma w = {q!r}")
    return q


def exact_accuracy(w, mu, sigma=1.0, *, b: float = 0.0) -> float:
    """Exact accuracy of ``sign(w.x + b)`` on the balanced mixture N(y mu, Sigma).

    Parameters
    ----------
    w : array_like, shape (d,)
        Linear classifier (non-zero).
    mu : array_like, shape (d,)
        Mean of the positive class (the negative class has mean ``-mu``).
    sigma : float or array_like of shape (d, d)
        Noise standard deviation (isotropic, Sigma = sigma^2 I) or a covariance matrix.
    b : float
        Intercept.

    Returns
    -------
    float
        ``(Phi((w.mu + b)/s) + Phi((w.mu - b)/s)) / 2`` with ``s = sqrt(w' Sigma w)``.

    Raises
    ------
    ValueError
        On a zero ``w``, mismatched shapes or a non-positive ``sigma``.

    Examples
    --------
    >>> from theorylab.dro import exact_accuracy
    >>> round(exact_accuracy([1.0, 0.0], [1.0, 0.0], 1.0), 4)
    0.8413
    """
    mu = check_vector(mu, name="mu")
    w = check_vector(w, name="w", n=mu.shape[0])
    if not np.any(w):
        raise ValueError("w must be non-zero, got the zero vector")
    b = check_scalar(b, name="b")
    s = math.sqrt(_cov_quadratic(w, sigma, mu.shape[0]))
    a = float(w @ mu)
    return float(0.5 * (ndtr((a + b) / s) + ndtr((a - b) / s)))


def exact_robust_risk(w, mu, sigma=1.0, *, gamma: float, loss: str = "ramp",
                      ramp_slope: float = 1.0) -> float:
    """E_{P_0} phi_gamma(X, y; w) for a unit-normalised linear model on N(y mu, Sigma).

    The margin ``u = y w.X/||w||`` is N(w.mu/||w||, w' Sigma w/||w||^2) for both classes, so the
    expectation is a 1-D Gaussian integral of the closed form, done by adaptive quadrature
    (``scipy.integrate.quad``) with break points at the kinks of phi_gamma (accuracy ~1e-10).

    Parameters
    ----------
    w, mu, sigma
        As in :func:`exact_accuracy`.
    gamma : float
        Multiplier of the transport cost (``np.inf``: the plain loss).
    loss : {"ramp", "hinge", "logistic"}
    ramp_slope : float

    Returns
    -------
    float

    Examples
    --------
    >>> from theorylab.dro import exact_robust_risk
    >>> r = exact_robust_risk([1.0, 0.0], [1.0, 0.0], 1.0, gamma=np.inf, loss="hinge")
    >>> round(r, 3)   # E max(0, 1 - Z), Z ~ N(1, 1): 1/sqrt(2 pi)
    0.399
    """
    mu = check_vector(mu, name="mu")
    w = check_vector(w, name="w", n=mu.shape[0])
    nw = float(np.linalg.norm(w))
    if nw == 0:
        raise ValueError("w must be non-zero, got the zero vector")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    r = check_scalar(ramp_slope, name="ramp_slope", lower=0.0, lower_inclusive=False)
    gamma = check_gamma(gamma, name="gamma", loss=loss, ramp_slope=r)
    s = math.sqrt(_cov_quadratic(w, sigma, mu.shape[0])) / nw
    a = float(w @ mu) / nw
    g = gamma / r**2
    if math.isinf(g):
        kinks_v = [0.0, 1.0]
    else:
        kinks_v = [0.0, 0.5 / g, 1.0 + 0.25 / g, 1.0 / math.sqrt(g)]
    kinks = [k / r for k in kinks_v]

    def integrand(u: float) -> float:
        return float(_surrogate(np.array([u]), gamma, loss, r).value[0]) * math.exp(
            -0.5 * ((u - a) / s) ** 2) / (s * math.sqrt(2 * math.pi))

    lo, hi = a - 12 * s, a + 12 * s
    pts = sorted(k for k in kinks if lo < k < hi)
    val, _ = quad(integrand, lo, hi, points=pts or None, limit=400, epsabs=1e-12, epsrel=1e-10)
    if loss in ("hinge", "logistic"):  # unbounded on the left: add the Gaussian tail exactly
        val += quad(integrand, -np.inf, lo, epsabs=1e-13)[0]
    return float(val)


def bayes_accuracy(mu_norm: float, sigma: float = 1.0) -> float:
    """Phi(||mu|| / sigma): the Bayes accuracy of the isotropic symmetric mixture."""
    mu_norm = check_scalar(mu_norm, name="mu_norm", lower=0.0)
    sigma = check_scalar(sigma, name="sigma", lower=0.0, lower_inclusive=False)
    return float(ndtr(mu_norm / sigma))


def erm_accuracy(m: int, d: int, *, mu_norm: float = 1.0, sigma: float = 1.0) -> float:
    """Large-d accuracy of the mean-difference direction from ``m`` labeled samples.

    ``w = (1/m) sum y_i x_i = mu + N(0, sigma^2 I/m)``, so ``cos(w, mu)^2 ~ ||mu||^2 /
    (||mu||^2 + sigma^2 d/m)`` and the accuracy is ``Phi(||mu|| cos / sigma)``; with
    ``||mu|| = sigma = 1`` it is Phi(sqrt(m/(m + d))), the paper's ERM column.

    Examples
    --------
    >>> from theorylab.dro import erm_accuracy
    >>> round(erm_accuracy(10, 200), 3)
    0.586
    """
    m = check_int(m, name="m", minimum=1)
    d = check_int(d, name="d", minimum=1)
    mu_norm = check_scalar(mu_norm, name="mu_norm", lower=0.0, lower_inclusive=False)
    sigma = check_scalar(sigma, name="sigma", lower=0.0, lower_inclusive=False)
    cos = mu_norm / math.sqrt(mu_norm**2 + sigma**2 * d / m)
    return float(ndtr(mu_norm * cos / sigma))


def pca_oracle_accuracy(n: int, d: int, *, mu_norm: float = 1.0, sigma: float = 1.0,
                        alpha: float = 0.0) -> float:
    """Accuracy of the (correctly signed) top principal component of ``n`` unlabeled samples.

    Spiked covariance ``mu_1 mu_1' + sigma^2 I`` with SNR ``beta = ||mu_1||^2/sigma^2`` and
    ``c = d/n``: above the BBP threshold ``beta > sqrt(c)``,
    ``cos^2(v_hat, mu_1) = (1 - c/beta^2) / (1 + c/beta)``, else 0. With the shift
    ``mu_1 = mu_0 + alpha v`` (v orthogonal to mu_0), ``cos(v_hat, mu_0) = cos(v_hat, mu_1)
    ||mu_0|| / ||mu_1||`` to leading order and the accuracy is Phi(||mu_0|| cos / sigma).

    Examples
    --------
    >>> from theorylab.dro import pca_oracle_accuracy
    >>> round(pca_oracle_accuracy(10_000, 200), 3)
    0.837
    """
    n = check_int(n, name="n", minimum=1)
    d = check_int(d, name="d", minimum=1)
    mu_norm = check_scalar(mu_norm, name="mu_norm", lower=0.0, lower_inclusive=False)
    sigma = check_scalar(sigma, name="sigma", lower=0.0, lower_inclusive=False)
    alpha = check_scalar(alpha, name="alpha", lower=0.0)
    mu1 = math.hypot(mu_norm, alpha)
    beta, c = mu1**2 / sigma**2, d / n
    if beta <= math.sqrt(c):
        return 0.5
    cos1 = math.sqrt((1 - c / beta**2) / (1 + c / beta))
    cos0 = cos1 * mu_norm / mu1
    return float(ndtr(mu_norm * cos0 / sigma))


def bound_theorem41(m: int, n: int, d: int, *, alpha: float, gamma: float,
                    mu0_norm: float = 1.0, sigma0: float = 1.0, delta: float = 0.05) -> float:
    """Right-hand side of Theorem 4.1 (robust loss) with the O(.) constant set to 1.

    ``gamma * sqrt((2d/m) (alpha (||mu_0||^2 + sigma_0^2) + sqrt(2d/(2n+m))
    + sqrt(2 log(1/delta)/(2n+m)))) + sqrt(2 log(1/delta)/m)`` — an upper bound on the excess
    robust risk E phi_gamma(theta_RSS) - min_theta E phi_gamma(theta), w.p. >= 1 - delta.
    Transcribed from the authors' poster (the paper body was not read).
    """
    m = check_int(m, name="m", minimum=1)
    n = check_int(n, name="n", minimum=0)
    d = check_int(d, name="d", minimum=1)
    alpha = check_scalar(alpha, name="alpha", lower=0.0)
    gamma = check_scalar(gamma, name="gamma", lower=0.0, lower_inclusive=False)
    delta = check_scalar(delta, name="delta", lower=0.0, upper=1.0, lower_inclusive=False,
                         upper_inclusive=False)
    L = math.log(1 / delta)
    N = 2 * n + m
    inner = alpha * (mu0_norm**2 + sigma0**2) + math.sqrt(2 * d / N) + math.sqrt(2 * L / N)
    return float(gamma * math.sqrt(2 * d / m * inner) + math.sqrt(2 * L / m))


def bound_theorem42(m: int, n: int, d: int, *, alpha: float, mu0_norm: float = 1.0,
                    mu1_norm: float | None = None, sigma0: float = 1.0, sigma1: float = 1.0,
                    delta: float = 0.05) -> float:
    """Right-hand side of Theorem 4.2 (excess 0-1 risk of RSS) with the O(.) constant set to 1.

    ``e^{-||mu_0||^2/(4 sigma_0^2)} / sqrt(2 sigma_0 sqrt(2 pi)) * ((||mu_1||^2 + sigma_1^2)
    (2 d alpha/m) + (4d/m) sqrt((2d + 2 log(1/delta))/(2n + m)))^{1/4}
    + sqrt(2 log(1/delta)/m)``. The unlabeled part decays like (d/(2n+m))^{1/8}.
    ``mu1_norm`` defaults to ``sqrt(||mu_0||^2 + alpha^2)`` (shift orthogonal to mu_0).
    Transcribed from the authors' poster (the paper body was not read).

    Examples
    --------
    >>> from theorylab.dro import bound_theorem42
    >>> bound_theorem42(40, 10_000, 200, alpha=0.0) > bound_theorem42(40, 10**6, 200, alpha=0.0)
    True
    """
    m = check_int(m, name="m", minimum=1)
    n = check_int(n, name="n", minimum=0)
    d = check_int(d, name="d", minimum=1)
    alpha = check_scalar(alpha, name="alpha", lower=0.0)
    delta = check_scalar(delta, name="delta", lower=0.0, upper=1.0, lower_inclusive=False,
                         upper_inclusive=False)
    if mu1_norm is None:
        mu1_norm = math.hypot(mu0_norm, alpha)
    L = math.log(1 / delta)
    pre = math.exp(-mu0_norm**2 / (4 * sigma0**2)) / math.sqrt(2 * sigma0 * math.sqrt(2 * math.pi))
    inner = ((mu1_norm**2 + sigma1**2) * 2 * d * alpha / m
             + 4 * d / m * math.sqrt((2 * d + 2 * L) / (2 * n + m)))
    return float(pre * inner**0.25 + math.sqrt(2 * L / m))
