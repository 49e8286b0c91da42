"""Plain-NumPy transcriptions used by the tests and the benchmark (slow, small d only).

- :func:`quadratic_forms_reference`: ⟨uX_μ, Ŝ⟩ from the explicit sensing matrices.
- :func:`gamp_rie_tensor`: the GAMP-RIE iteration of the reference notebook, written with
  the n×d×d tensor uX_μ = (x_μx_μᵀ − I)/√d (memory α d⁴ · 8 bytes), the same
  initialisation, damping, stopping rule and tabulated denoiser MMSE as
  :func:`theorylab.gamp.solve_gamp_rie`, so the two produce the same iterates.
- :func:`rie_empirical_mse`: brute-force denoising error of the RIE on a sampled matrix.
"""

from __future__ import annotations

import numpy as np

from .gamp import _denoiser_mse, init_gamp_rie
from .rie import rie_denoise


def sensing_tensor(X: np.ndarray) -> np.ndarray:
    """uX[μ] = (x_μ x_μᵀ − I)/√d, shape (n, d, d)."""
    n, d = X.shape
    uX = np.einsum("ni,nj->nij", X, X)
    uX[:, np.arange(d), np.arange(d)] -= 1.0
    return uX / np.sqrt(d)


def quadratic_forms_reference(X: np.ndarray, S: np.ndarray) -> np.ndarray:
    """⟨uX_μ, S⟩ for every μ from the explicit tensor."""
    return np.einsum("nij,ij->n", sensing_tensor(X), S)


def gamp_rie_tensor(X, y, *, kappa, delta=0.0, damping=0.5, tol=1e-5, max_iter=200,
                    rng=None, S_star=None):
    """GAMP-RIE with the explicit tensor; returns (S in figure units, mse history, n_iter)."""
    rng = np.random.default_rng(rng)
    n, d = X.shape
    uX = sensing_tensor(X)
    alpha = n / d**2
    F = _denoiser_mse(kappa)
    S, C, V, omega = init_gamp_rie(d, n, kappa=kappa, rng=rng)
    S_t = None if S_star is None else np.asarray(S_star) / np.sqrt(d)

    def gout(y, w, V):
        return (y - w) / (delta + V)

    errs = []
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - `it` is returned
        V_new = C
        omega_new = np.einsum("nij,ij->n", uX, S) - gout(y, omega, V) * V_new
        V = (1 - damping) * V_new + damping * V
        omega = (1 - damping) * omega_new + damping * omega
        g = gout(y, omega, V)
        A = 2 * alpha * np.mean(g**2)
        R = S + np.einsum("n,nij->ij", g, uX) / (A * d)
        delta_A = 1 / (2 * A)
        S_new = rie_denoise(R, delta_A, kappa=kappa)
        C = 2 * F(delta_A)
        step = np.sum((S - S_new) ** 2) / d
        S = S_new
        if S_t is not None:
            errs.append(np.sum((S - S_t) ** 2) / d)
        if step < tol:
            break
    return S * np.sqrt(d), np.asarray(errs), it


def rie_empirical_mse(d: int, delta: float, *, kappa: float, rng=None) -> float:
    """(1/d)‖RIE(S̃ + √Δ Z) − S̃‖²_F for one sampled Wishart S̃ and GOE Z (algorithm units)."""
    rng = np.random.default_rng(rng)
    m = max(1, round(kappa * d))
    W = rng.standard_normal((d, m))
    S = W @ W.T / np.sqrt(m * d)
    G = rng.standard_normal((d, d))
    Z = (G + G.T) / np.sqrt(2 * d)
    S_hat = rie_denoise(S + np.sqrt(delta) * Z, delta, kappa=m / d)
    return float(np.sum((S_hat - S) ** 2) / d)
