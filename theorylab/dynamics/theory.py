"""Closed forms for linear student–teacher gradient flow (Advani & Saxe 2017).

Marchenko–Pastur quadrature in the angle variable: with
``λ = λ₋ + (λ₊ − λ₋)(1 − cos θ)/2`` the MP density becomes
``ρ(λ)dλ = ((λ₊ − λ₋)/2)² sin²θ / (2πλ) dθ``, smooth on ``θ ∈ [0, π]`` even at α = 1
(where λ₋ = 0), so one Gauss–Legendre rule in θ integrates every curve, vectorised
over times through an ``(n_t, n_nodes)`` exponent table.

Notation (paper ↔ code): σ_w² ↔ ``teacher_var`` (= 1 in our normalisation),
σ_ε² ↔ ``noise_var = teacher_var / snr``, σ_0² ↔ ``sigma0_sq``, α = P/N ↔ ``alpha``,
t/τ ↔ ``times``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "mp_edges",
    "mp_nodes",
    "mp_stieltjes",
    "gen_error_theory",
    "train_error_theory",
    "gen_error_asymptote",
    "train_error_asymptote",
    "ridge_error_theory",
    "bayes_error_theory",
]


def mp_edges(alpha: float) -> tuple[float, float]:
    """Edges ``λ± = (1 ± √α)²`` of the Marchenko–Pastur law of ``X Xᵀ``."""
    r = np.sqrt(alpha)
    return (1.0 - r) ** 2, (1.0 + r) ** 2


@lru_cache(maxsize=64)
def _gl(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return x, w


def mp_nodes(alpha: float, n_nodes: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``λ_k`` and weights ``w_k`` with ``Σ w_k f(λ_k) ≈ ∫ ρ_cont(λ) f(λ) dλ``.

    The weights sum to ``min(1, α)`` (the continuous part's mass).
    """
    lo, hi = mp_edges(alpha)
    x, w = _gl(n_nodes)
    theta = 0.5 * np.pi * (x + 1.0)
    wt = 0.5 * np.pi * w
    half = 0.5 * (hi - lo)
    lam = lo + half * 2.0 * np.sin(0.5 * theta) ** 2  # = (1 - cos θ) without cancellation
    # sin²θ/λ written so that it stays finite at α = 1, θ → 0: sin²θ = (1-cos)(1+cos)
    dens = half**2 * np.sin(theta) ** 2 / (2.0 * np.pi * lam)
    return lam, wt * dens


def mp_stieltjes(gamma: float, alpha: float) -> float:
    """``s(γ) = ∫ ρ(λ)/(λ + γ) dλ`` over the whole MP law (atom included), γ > 0."""
    a = gamma + alpha - 1.0
    return (-a + np.sqrt(a * a + 4.0 * gamma)) / (2.0 * gamma)


def _noise_factor(lam: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(1 − e^{−λt})² / λ`` computed without cancellation (→ λ t² as λ → 0)."""
    lt = np.multiply.outer(t, lam)
    one_minus = -np.expm1(-lt)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = one_minus**2 / lam
    return np.where(lam > 0, out, 0.0)


def gen_error_theory(alpha: float, times: np.ndarray, *, teacher_var: float, noise_var: float,
                     sigma0_sq: float, n_nodes: int = 600) -> np.ndarray:
    """``E_g(t)``: test error (label noise included) of gradient flow at each time."""
    lam, w = mp_nodes(alpha, n_nodes)
    t = np.asarray(times, dtype=float)
    v0 = teacher_var + sigma0_sq
    signal = np.exp(-2.0 * np.multiply.outer(t, lam)) * v0
    noise = noise_var * _noise_factor(lam, t)
    frozen = max(1.0 - alpha, 0.0) * v0
    return (signal + noise) @ w + frozen + noise_var


def train_error_theory(alpha: float, times: np.ndarray, *, teacher_var: float, noise_var: float,
                       sigma0_sq: float, n_nodes: int = 600) -> np.ndarray:
    """``E_tr(t) = ‖y − Xᵀw(t)‖²/P``; the MP atom is excluded from the noise term."""
    lam, w = mp_nodes(alpha, n_nodes)
    t = np.asarray(times, dtype=float)
    v0 = teacher_var + sigma0_sq
    decay = np.exp(-2.0 * np.multiply.outer(t, lam)) * (lam * v0 + noise_var)
    return (decay @ w) / alpha + noise_var * max(1.0 - 1.0 / alpha, 0.0)


def gen_error_asymptote(alpha: float, *, teacher_var: float, noise_var: float,
                        sigma0_sq: float) -> float:
    """``E_g(∞)``: σ_ε² α/(α−1) for α > 1; (1−α)(σ_w²+σ_0²) + σ_ε²/(1−α) for α < 1; ∞ at 1."""
    if alpha == 1.0:
        return float("inf") if noise_var > 0 else 0.0
    if alpha > 1.0:
        return noise_var * alpha / (alpha - 1.0)
    return (1.0 - alpha) * (teacher_var + sigma0_sq) + noise_var / (1.0 - alpha)


def train_error_asymptote(alpha: float, *, noise_var: float) -> float:
    """``E_tr(∞) = σ_ε² (1 − 1/α)₊``."""
    return noise_var * max(1.0 - 1.0 / alpha, 0.0)


def ridge_error_theory(alpha: float, ridge: float, *, teacher_var: float,
                       noise_var: float, n_nodes: int = 600) -> float:
    """Test error of ridge regression with penalty γ (σ_0 is irrelevant)."""
    lam, w = mp_nodes(alpha, n_nodes)
    cont = ((teacher_var * ridge**2 + noise_var * lam) / (lam + ridge) ** 2) @ w
    atom = max(1.0 - alpha, 0.0) * teacher_var  # λ = 0: the ridge estimate is 0 there
    return float(cont + atom + noise_var)


def bayes_error_theory(alpha: float, *, teacher_var: float, noise_var: float) -> float:
    """Bayes-optimal test error = ridge at γ* = σ_ε²/σ_w²: ``σ_ε² (1 + s(γ*))``."""
    return float(noise_var * (1.0 + mp_stieltjes(noise_var / teacher_var, alpha)))
