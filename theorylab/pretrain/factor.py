"""Pretraining by maximum-likelihood factor analysis, then least squares on E[z | x].

Ge et al. 2023 (arXiv:2303.01566), factor-model instance: Phi is the factor model
x ~ N(mu, W W^T + Psi) fitted by MLE on the unlabeled sample; the downstream class Psi_head is
linear in the posterior mean E[z | x] = (I + W^T Psi^{-1} W)^{-1} W^T Psi^{-1} (x - mu), fitted
by ordinary least squares on the n labeled pairs. The rotation ambiguity of W (W R gives the same
likelihood for any orthogonal R) is absorbed by the linear head (the "informative" condition in
this instance).

Notation: ``W`` (d, r) loadings, ``noise_variance`` the diagonal of Psi, ``mean`` mu.
The EM iteration works on the sample covariance S (Ghahramani & Hinton 1996):
beta = (I + W^T Psi^{-1} W)^{-1} W^T Psi^{-1}, E[z z^T] = I - beta W + beta S beta^T,
W <- S beta^T E[z z^T]^{-1}, Psi <- diag(S - W beta S); each step costs O(d^2 r).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .._validation import check_choice, check_int, check_matrix, check_positive, check_vector
from ..results import ConvergenceWarning, SolverResult

__all__ = ["FactorAnalysisResult", "fit_factor_analysis", "DownstreamResult",
           "fit_downstream_ols"]

_PSI_FLOOR = 1e-12  # keeps Psi^{-1} finite when a coordinate is (numerically) noise-free


@dataclass(frozen=True, slots=True, kw_only=True)
class FactorAnalysisResult(SolverResult):
    """Result of :func:`fit_factor_analysis`.

    Attributes
    ----------
    x : ndarray, shape (d, r)
        The loadings W (``W`` is a read-only alias); identified only up to W R, R orthogonal.
    noise_variance : ndarray, shape (d,)
        The diagonal of Psi.
    mean : ndarray, shape (d,)
        The sample mean mu.
    loglik : float
        Average log-likelihood per sample at the returned parameters.
    history : dict
        ``loglik`` per EM iteration (non-decreasing up to rounding).
    """

    noise_variance: np.ndarray = field(default_factory=lambda: np.empty(0))
    mean: np.ndarray = field(default_factory=lambda: np.empty(0))
    loglik: float = float("nan")

    @property
    def W(self) -> np.ndarray:
        return self.x

    def covariance(self) -> np.ndarray:
        """The model covariance W W^T + Psi, shape (d, d)."""
        return self.x @ self.x.T + np.diag(self.noise_variance)

    def posterior_mean(self, X) -> np.ndarray:
        """E[z | x] for each row of ``X``: shape (n, r)."""
        X = check_matrix(X, name="X", shape=(None, self.x.shape[0]))
        return (X - self.mean) @ _beta(self.x, self.noise_variance).T


def _beta(W: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """(I + W^T Psi^{-1} W)^{-1} W^T Psi^{-1}, shape (r, d)."""
    WtPi = W.T / psi
    return np.linalg.solve(np.eye(W.shape[1]) + WtPi @ W, WtPi)


def _loglik(S: np.ndarray, W: np.ndarray, psi: np.ndarray) -> float:
    """Average Gaussian log-likelihood with covariance W W^T + Psi of data whose scatter is S."""
    d, r = W.shape
    WtPi = W.T / psi
    M = np.eye(r) + WtPi @ W
    sign, logdet_M = np.linalg.slogdet(M)
    logdet = np.sum(np.log(psi)) + logdet_M
    # tr(C^{-1} S) by Woodbury: tr(Psi^{-1} S) - tr(M^{-1} W^T Psi^{-1} S Psi^{-1} W)
    G = WtPi @ S @ WtPi.T
    tr = np.sum(np.diag(S) / psi) - np.trace(np.linalg.solve(M, G))
    return float(-0.5 * (d * np.log(2 * np.pi) + logdet + tr))


def _init(S: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilistic-PCA start: top-r eigenpairs of S above the mean of the others."""
    d = S.shape[0]
    lam, V = np.linalg.eigh(S)
    lam, V = lam[::-1], V[:, ::-1]
    s2 = float(np.mean(lam[r:])) if r < d else float(lam[-1]) * 0.5
    s2 = max(s2, _PSI_FLOOR)
    W = V[:, :r] * np.sqrt(np.maximum(lam[:r] - s2, 1e-6 * max(s2, 1e-12)))
    psi = np.maximum(np.diag(S) - np.sum(W**2, axis=1), max(s2 * 1e-3, _PSI_FLOOR))
    return W, psi


def _em_step(S: np.ndarray, W: np.ndarray, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    beta = _beta(W, psi)
    SbT = S @ beta.T  # (d, r)
    Ezz = np.eye(W.shape[1]) - beta @ W + beta @ SbT
    W_new = np.linalg.solve(Ezz, SbT.T).T  # S beta^T Ezz^{-1} (Ezz symmetric)
    psi_new = np.maximum(np.diag(S) - np.sum(W_new * SbT, axis=1), _PSI_FLOOR)
    return W_new, psi_new


def fit_factor_analysis(X, n_factors: int, *, tol: float = 1e-8, max_iter: int = 5000,
                        W0=None, noise_variance0=None) -> FactorAnalysisResult:
    """Maximum-likelihood factor analysis by EM on the sample covariance.

    Parameters
    ----------
    X : array, shape (m, d)
        Unlabeled samples (m >= 2).
    n_factors : int
        Latent dimension r, 1 <= r <= d.
    tol : float
        Stop when the average log-likelihood rises by less than ``tol`` in one iteration.
    max_iter : int
        Iteration cap; reaching it warns (:class:`ConvergenceWarning`) with ``converged=False``.
    W0, noise_variance0 : arrays, optional
        Starting point (both or neither); default a probabilistic-PCA start.

    Returns
    -------
    FactorAnalysisResult

    Raises
    ------
    ValueError
        Empty or non-finite ``X``, ``n_factors`` outside [1, d], a non-positive ``tol``.

    Notes
    -----
    The iterates are those of the textbook per-sample EM (``_reference.factor_analysis_em``);
    working on S makes each step O(d^2 r) independently of m.
    """
    X = check_matrix(X, name="X", min_rows=2)
    m, d = X.shape
    r = check_int(n_factors, name="n_factors", minimum=1, maximum=d)
    tol = check_positive(tol, name="tol")
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    mean = X.mean(axis=0)
    Xc = X - mean
    S = Xc.T @ Xc / m
    if (W0 is None) != (noise_variance0 is None):
        raise ValueError("W0 and noise_variance0 must be given together, got only "
                         f"{'W0' if W0 is not None else 'noise_variance0'}")
    if W0 is None:
        W, psi = _init(S, r)
    else:
        W = check_matrix(W0, name="W0", shape=(d, r)).copy()
        psi = check_vector(noise_variance0, name="noise_variance0", n=d).copy()
        if np.any(psi <= 0):
            raise ValueError(f"noise_variance0 must be > 0, got {float(psi.min())!r}")
    ll = [_loglik(S, W, psi)]
    converged = False
    for _ in range(max_iter):
        W, psi = _em_step(S, W, psi)
        ll.append(_loglik(S, W, psi))
        if not np.isfinite(ll[-1]):
            raise FloatingPointError(f"log-likelihood is not finite at iteration {len(ll) - 1}")
        if abs(ll[-1] - ll[-2]) < tol:
            converged = True
            break
    n_iter = len(ll) - 1
    if converged:
        msg = f"log-likelihood change {abs(ll[-1] - ll[-2]):.3g} < tol {tol:g}"
    else:
        msg = (f"stopped at max_iter={max_iter}: log-likelihood change "
               f"{abs(ll[-1] - ll[-2]):.3g} >= tol {tol:g}")
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    return FactorAnalysisResult(x=W, noise_variance=psi, mean=mean, loglik=ll[-1],
                                n_iter=n_iter, converged=converged, message=msg,
                                history={"loglik": np.array(ll)})


@dataclass(frozen=True, slots=True, kw_only=True)
class DownstreamResult(SolverResult):
    """Result of :func:`fit_downstream_ols`: a linear head on the pretrained features.

    Attributes
    ----------
    x : ndarray, shape (r,)
        Coefficients on E[z | x] (``coef`` is a read-only alias).
    intercept : float
    beta : ndarray, shape (r, d)
        The pretrained feature map (x - mean) -> E[z | x].
    mean : ndarray, shape (d,)
    """

    intercept: float = 0.0
    beta: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    mean: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def coef(self) -> np.ndarray:
        return self.x

    def linear_coef(self) -> tuple[np.ndarray, float]:
        """The predictor as a linear function of x: (a (d,), c) with prediction a^T x + c."""
        a = self.beta.T @ self.x
        return a, float(self.intercept - self.mean @ a)

    def predict(self, X) -> np.ndarray:
        """Predictions theta_hat^T E[z | x] + intercept, shape (n,)."""
        X = check_matrix(X, name="X", shape=(None, self.beta.shape[1]))
        return (X - self.mean) @ self.beta.T @ self.x + self.intercept


def fit_downstream_ols(W, noise_variance, mean, X, y, *,
                       fit_intercept: Literal[True, False] = True) -> DownstreamResult:
    """Ordinary least squares of ``y`` on the pretrained features E[z | x].

    Parameters
    ----------
    W, noise_variance, mean : arrays
        A fitted factor model (e.g. the fields of :class:`FactorAnalysisResult`): (d, r), (d,),
        (d,).
    X : array, shape (n, d)
        Labeled inputs.
    y : array, shape (n,)
    fit_intercept : bool

    Returns
    -------
    DownstreamResult
        With fewer rows than parameters the minimum-norm solution is returned.
    """
    W = check_matrix(W, name="W")
    d, r = W.shape
    noise_variance = check_vector(noise_variance, name="noise_variance", n=d)
    if np.any(noise_variance <= 0):
        raise ValueError(f"noise_variance must be > 0, got {float(noise_variance.min())!r}")
    mean = check_vector(mean, name="mean", n=d)
    X = check_matrix(X, name="X", shape=(None, d))
    y = check_vector(y, name="y", n=X.shape[0])
    fit_intercept = check_choice(fit_intercept, name="fit_intercept", choices=(True, False))
    beta = _beta(W, noise_variance)
    F = (X - mean) @ beta.T
    if fit_intercept:
        fm, ym = F.mean(axis=0), y.mean()
        coef = np.linalg.lstsq(F - fm, y - ym, rcond=None)[0]
        intercept = float(ym - fm @ coef)
    else:
        coef = np.linalg.lstsq(F, y, rcond=None)[0]
        intercept = 0.0
    return DownstreamResult(x=coef, intercept=intercept, beta=beta, mean=mean,
                            message="least squares on E[z | x]")
