"""High-dimensional dynamics of generalization error (Advani & Saxe 2017).

Linear student ``ŷ = w·x`` learns a noisy linear teacher ``y = w̄·x + ε`` by full-batch
gradient flow on ``½ Σ_μ (y_μ − w·x_μ)²``. Normalisation (as in
``paper_notes/advani2017_dynamics.md``):

=====================  ==========================  =====================
paper                  meaning                     argument
=====================  ==========================  =====================
N                      input dimension             ``n_features``
P                      training samples            ``n_samples``
α = P/N                load                        ``alpha``
x_i ~ N(0, 1/N)        inputs                      —
w̄_i ~ N(0, σ_w² = 1)   teacher weights             —
σ_ε² = 1/SNR           label-noise variance        ``snr``
σ_0²                   student initial variance    ``sigma0_sq``
t/τ                    training time               ``times``
E_g, E_tr              test / training error       ``.test_error``, ``.train_error``
=====================  ==========================  =====================

The test error includes the label noise: ``E_g = ‖w − w̄‖²/N + σ_ε²``.

References
----------
M. S. Advani, A. M. Saxe, *High-dimensional dynamics of generalization error in neural
networks*, arXiv:1710.03667 (2017); Neural Networks 132:428–446 (2020).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from theorylab._result import ConvergenceWarning, SolverResult
from theorylab._validation import check_int, check_positive, check_rng, check_scalar, check_times
from theorylab.dynamics import theory

__all__ = [
    "ErrorCurves",
    "StoppingResult",
    "gd_error_curves",
    "simulate_gradient_flow",
    "optimal_stopping",
    "bayes_optimal_error",
    "ridge_error",
    "long_time_errors",
]

TEACHER_VAR = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorCurves(SolverResult):
    """Test and training error of gradient flow at the requested times.

    ``x`` holds the final student weights for simulations, ``None`` for theory.
    """

    times: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray
    alpha: float
    snr: float
    sigma0_sq: float
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StoppingResult(SolverResult):
    """Optimal early-stopping time and the test error there (``x`` = ``t_opt``)."""

    t_opt: float
    test_error: float
    bayes_error: float
    long_time_error: float


def _common(alpha, snr, sigma0_sq):
    alpha = check_positive(alpha, name="alpha")
    snr = check_positive(snr, name="snr")
    sigma0_sq = check_positive(sigma0_sq, name="sigma0_sq", strict=False)
    return alpha, snr, sigma0_sq


def gd_error_curves(alpha: float, snr: float, times, *, sigma0_sq: float = 0.0,
                    n_nodes: int = 600) -> ErrorCurves:
    r"""Closed-form test and training error of gradient flow (Marchenko–Pastur integrals).

    Parameters
    ----------
    alpha : float
        Load α = P/N, > 0.
    snr : float
        Signal-to-noise ratio σ_w²/σ_ε² (σ_w² = 1), > 0.
    times : array_like
        Non-negative, non-decreasing times t/τ.
    sigma0_sq : float, default 0
        Variance of the student's initial weights, >= 0.
    n_nodes : int, default 600
        Gauss–Legendre nodes in the angle variable (accurate to ~1e-10 for t ≤ 1e3).

    Returns
    -------
    ErrorCurves
        ``.times``, ``.test_error`` (E_g), ``.train_error`` (E_tr).

    Notes
    -----
    .. math::

        E_g(t) = \int ρ(λ)\Big[(σ_w^2+σ_0^2) e^{-2λt} + \frac{σ_ε^2}{λ}(1-e^{-λt})^2\Big]dλ
                 + (1-α)_+ (σ_w^2+σ_0^2) + σ_ε^2,

        E_{tr}(t) = \frac1α \int ρ(λ)\,[λ(σ_w^2+σ_0^2) + σ_ε^2]\,e^{-2λt} dλ
                    + σ_ε^2 (1 - 1/α)_+,

    with ρ the continuous part of the MP law of ``X Xᵀ`` (mass min(1, α)); the atom at
    λ = 0 for α < 1 is the frozen subspace, which keeps its initial error forever.

    Raises
    ------
    ValueError
        If ``alpha`` or ``snr`` is not > 0, ``sigma0_sq`` < 0, or ``times`` is negative,
        decreasing or not finite.

    Examples
    --------
    >>> c = gd_error_curves(2.0, 5.0, [0.0, 1e6])
    >>> round(float(c.test_error[0]), 6), round(float(c.test_error[1]), 6)  # 1+σ_ε², σ_ε²α/(α-1)
    (1.2, 0.4)
    """
    alpha, snr, sigma0_sq = _common(alpha, snr, sigma0_sq)
    t = check_times(times, name="times")
    n_nodes = check_int(n_nodes, name="n_nodes", minimum=16)
    kw = dict(teacher_var=TEACHER_VAR, noise_var=TEACHER_VAR / snr, sigma0_sq=sigma0_sq,
              n_nodes=n_nodes)
    eg = theory.gen_error_theory(alpha, t, **kw)
    etr = theory.train_error_theory(alpha, t, **kw)
    return ErrorCurves(times=t, test_error=eg, train_error=etr, alpha=alpha, snr=snr,
                       sigma0_sq=sigma0_sq, source="theory", message="closed form")


def simulate_gradient_flow(n_features: int, n_samples: int, times, *, snr: float,
                           sigma0_sq: float = 0.0, rng=None) -> ErrorCurves:
    """Exact gradient flow on one random instance: one decomposition, no time stepping.

    Parameters
    ----------
    n_features, n_samples : int
        N (>= 1) and P (>= 1); α = P/N.
    times : array_like
        Non-negative, non-decreasing times t/τ.
    snr : float
        σ_w²/σ_ε², > 0.
    sigma0_sq : float, default 0
        Initial weight variance.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    ErrorCurves
        ``.test_error = ‖w(t) − w̄‖²/N + σ_ε²`` (the expected error on a fresh input,
        label noise included) and ``.train_error = ‖y − Xᵀw(t)‖²/P``; ``.x`` is w at the
        last time.

    Notes
    -----
    With ``X = V diag(√λ) Uᵀ`` and ``z = Vᵀ(w̄ − w)``, each mode obeys
    ``z_i(t) = z_i(0) e^{−λ_i t} − (ε̃_i/√λ_i)(1 − e^{−λ_i t})``; modes outside the range
    of X (N − P of them when α < 1) never move. Cost: one SVD/eigh, then O(min(N,P)) per
    time.

    Examples
    --------
    >>> sim = simulate_gradient_flow(200, 400, [0.0, 5.0], snr=5.0, rng=0)
    >>> sim.test_error.shape
    (2,)
    """
    N = check_int(n_features, name="n_features", minimum=1)
    P = check_int(n_samples, name="n_samples", minimum=1)
    snr = check_positive(snr, name="snr")
    sigma0_sq = check_positive(sigma0_sq, name="sigma0_sq", strict=False)
    t = check_times(times, name="times")
    rng = check_rng(rng)
    noise_var = TEACHER_VAR / snr
    X = rng.standard_normal((N, P)) / np.sqrt(N)  # columns are inputs x_mu
    w_bar = rng.standard_normal(N) * np.sqrt(TEACHER_VAR)
    eps = rng.standard_normal(P) * np.sqrt(noise_var)
    w0 = rng.standard_normal(N) * np.sqrt(sigma0_sq)
    e0 = w_bar - w0
    if P >= N:
        lam, V = np.linalg.eigh(X @ X.T)
    else:
        V, s, _ = np.linalg.svd(X, full_matrices=False)
        lam = s**2
    lam = np.clip(lam, 0.0, None)
    z0 = V.T @ e0
    b = V.T @ (X @ eps)
    frozen = max(float(e0 @ e0 - z0 @ z0), 0.0)  # energy outside the range of X
    lt = np.multiply.outer(t, lam)
    decay = np.exp(-lt)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(lam > 0, -np.expm1(-lt) / lam, t[:, None])  # (1 - e^{-λt})/λ
    z = z0 * decay - b * gain  # (n_t, k)
    test = (np.sum(z**2, axis=1) + frozen) / N + noise_var
    # ‖Xᵀe + ε‖² = Σ λ z² + 2 bᵀz + ‖ε‖², with e = w̄ − w
    train = (z**2 @ lam + 2.0 * (z @ b) + eps @ eps) / P
    w_last = w_bar - (e0 - V @ (z0 - z[-1]))
    return ErrorCurves(x=w_last, times=t, test_error=test, train_error=np.maximum(train, 0.0),
                       alpha=P / N, snr=snr, sigma0_sq=sigma0_sq, source="simulation",
                       message=f"exact gradient flow, N={N}, P={P}")


def long_time_errors(alpha: float, snr: float, *, sigma0_sq: float = 0.0) -> tuple[float, float]:
    """Long-time asymptotes ``(E_g(∞), E_tr(∞))`` (E_g(∞) = ∞ at α = 1).

    Examples
    --------
    >>> long_time_errors(2.0, 5.0)
    (0.4, 0.1)
    """
    alpha, snr, sigma0_sq = _common(alpha, snr, sigma0_sq)
    nv = TEACHER_VAR / snr
    return (theory.gen_error_asymptote(alpha, teacher_var=TEACHER_VAR, noise_var=nv,
                                       sigma0_sq=sigma0_sq),
            theory.train_error_asymptote(alpha, noise_var=nv))


def bayes_optimal_error(alpha: float, snr: float) -> float:
    """Bayes-optimal test error: ridge at γ* = σ_ε²/σ_w², ``σ_ε² (1 + s(γ*))``.

    ``s`` is the Stieltjes transform of the whole MP law (atom included). The label
    noise is included, so the error is always >= σ_ε².

    Examples
    --------
    >>> round(bayes_optimal_error(2.0, 5.0), 4)
    0.3483
    """
    alpha, snr, _ = _common(alpha, snr, 0.0)
    return theory.bayes_error_theory(alpha, teacher_var=TEACHER_VAR, noise_var=TEACHER_VAR / snr)


def ridge_error(alpha: float, snr: float, ridge: float) -> float:
    """Test error of ridge regression ``min ‖y − Xᵀw‖² + γ‖w‖²`` at penalty ``ridge`` = γ."""
    alpha, snr, _ = _common(alpha, snr, 0.0)
    ridge = check_positive(ridge, name="ridge")
    return theory.ridge_error_theory(alpha, ridge, teacher_var=TEACHER_VAR,
                                     noise_var=TEACHER_VAR / snr)


def optimal_stopping(alpha: float, snr: float, *, sigma0_sq: float = 0.0,
                     log10_t_bounds: tuple[float, float] = (-3.0, 5.0)) -> StoppingResult:
    """The early-stopping time minimising E_g(t) and the error there.

    A 400-point log-spaced scan of ``t ∈ [10^lo, 10^hi]`` brackets the global minimum,
    which a bounded scalar minimiser then refines.

    Returns
    -------
    StoppingResult
        ``.t_opt``, ``.test_error`` (E_g(t_opt)), ``.bayes_error``, ``.long_time_error``.

    Warns
    -----
    ConvergenceWarning
        When the minimum sits at an end of the scanned interval (``converged=False``).

    Examples
    --------
    >>> r = optimal_stopping(2.0, 5.0)
    >>> round(r.t_opt, 1), round(r.test_error, 3)
    (2.4, 0.354)
    """
    alpha, snr, sigma0_sq = _common(alpha, snr, sigma0_sq)
    lo, hi = (check_scalar(v, name="log10_t_bounds") for v in log10_t_bounds)
    if not lo < hi:
        raise ValueError(f"log10_t_bounds must be increasing, got {log10_t_bounds!r}")
    nv = TEACHER_VAR / snr
    kw = dict(teacher_var=TEACHER_VAR, noise_var=nv, sigma0_sq=sigma0_sq)
    grid = np.linspace(lo, hi, 400)
    eg = theory.gen_error_theory(alpha, 10.0**grid, **kw)
    k = int(np.argmin(eg))
    a, b = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    f = lambda s: float(theory.gen_error_theory(alpha, np.array([10.0**s]), **kw)[0])
    opt = minimize_scalar(f, bounds=(a, b), method="bounded", options={"xatol": 1e-8})
    s_opt = opt.x if opt.fun <= eg[k] else grid[k]
    t_opt = float(10.0**s_opt)
    at_edge = k in (0, len(grid) - 1)
    if at_edge:
        warnings.warn(f"optimal_stopping: the minimum of E_g lies at the edge of the scanned "
                      f"interval log10 t in [{lo:g}, {hi:g}] (t = {10.0**grid[k]:.3g}); widen "
                      "log10_t_bounds", ConvergenceWarning, stacklevel=2)
    return StoppingResult(
        x=t_opt, t_opt=t_opt, test_error=min(float(opt.fun), float(eg[k])),
        bayes_error=theory.bayes_error_theory(alpha, teacher_var=TEACHER_VAR, noise_var=nv),
        long_time_error=theory.gen_error_asymptote(alpha, **kw),
        converged=not at_edge,
        message=("minimum at the edge of the scanned interval" if at_edge else "interior minimum"),
    )
