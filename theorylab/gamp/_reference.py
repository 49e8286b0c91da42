"""Plain-NumPy transcriptions used by the tests and the benchmark (slow, small d only).

Nothing here calls the solver path of :mod:`theorylab.gamp` (``gamp.py``, ``rie.py`` and
the Stieltjes-transform code of ``theory.py``): the RIE is re-derived below in algorithm
units, the initialisation and the iteration are written from the paper's algorithm with the
explicit sensing tensor. The only input shared with the solver is the denoiser's MMSE curve
F(Δ; κ) that sets Ĉ = 2F(Δ_A): a closed-form quantity (:func:`theorylab.gamp.denoising_mmse`
by default, or any callable passed as ``denoiser_mse``), so that the two iterations see the
same numbers.

- :func:`quadratic_forms_reference`: ⟨uX_μ, Ŝ⟩ from the explicit sensing matrices.
- :func:`rie_reference`: RIE of a Wishart prior in GOE noise from its free-probability
  formula.
- :func:`gamp_rie_tensor`: the GAMP-RIE iteration with the n×d×d tensor
  uX_μ = (x_μx_μᵀ − I)/√d (memory α d⁴ · 8 bytes).
- :func:`rie_empirical_mse`: brute-force denoising error of the RIE on a sampled matrix.
"""

from __future__ import annotations

import numpy as np

from .theory import denoising_mmse


def sensing_tensor(X: np.ndarray) -> np.ndarray:
    """uX[μ] = (x_μ x_μᵀ − I)/√d, shape (n, d, d)."""
    n, d = X.shape
    uX = np.einsum("ni,nj->nij", X, X)
    uX[:, np.arange(d), np.arange(d)] -= 1.0
    return uX / np.sqrt(d)


def quadratic_forms_reference(X: np.ndarray, S: np.ndarray) -> np.ndarray:
    """⟨uX_μ, S⟩ for every μ from the explicit tensor."""
    return np.einsum("nij,ij->n", sensing_tensor(X), S)


def stieltjes_reference(z: float, delta: float, kappa: float) -> float:
    """Re g(z) of ρ = √κ·MP(ratio 1/κ, mean 1) ⊞ semicircle(variance Δ) at real z.

    Algorithm units, derived here: the R-transform of the prior is √κ/(1 − w/√κ), that of
    the noise Δw, so z = 1/g + κ/(√κ − g) + Δ g, i.e.
    Δ g³ − (z + Δ√κ) g² + (√κ z + 1 − κ) g − √κ = 0.
    Inside the support two roots are complex conjugate (same real part). Outside, g is real
    and decreasing in z, so it is a root with dz/dg < 0; of those, the one of smallest
    modulus (the branch that behaves as 1/z at infinity).
    """
    sk = np.sqrt(kappa)
    roots = np.roots([delta, -(z + delta * sk), sk * z + 1.0 - kappa, -sk])
    cplx = np.abs(roots.imag) > 1e-8 * np.abs(roots)
    if cplx.any():
        return float(roots[cplx][0].real)
    g = roots.real
    dzdg = -1.0 / g**2 + kappa / (sk - g) ** 2 + delta
    good = g[dzdg < 0]
    return float(good[np.argmin(np.abs(good))] if good.size else g[np.argmin(dzdg)])


def rie_reference(R: np.ndarray, delta: float, kappa: float) -> np.ndarray:
    """Ŝ = V diag(λ − 2Δ Re g(λ)) Vᵀ for R = V diag(λ) Vᵀ (Bun et al. 2016)."""
    lam, V = np.linalg.eigh(0.5 * (R + R.T))
    mu = np.array([lv - 2.0 * delta * stieltjes_reference(lv, delta, kappa) for lv in lam])
    return V @ np.diag(mu) @ V.T


def gamp_rie_tensor(X, y, *, kappa, denoiser_mse=None, delta=0.0, damping=0.5, tol=1e-5,
                    max_iter=200, rng=None, S_star=None):
    """GAMP-RIE with the explicit tensor; returns (S in figure units, mse history, n_iter).

    Initialisation of the paper's code: Ŝ⁰ a prior sample W₀W₀ᵀ/√(m d) (W₀ drawn from
    ``rng`` as a d×m standard normal matrix), Ĉ = V = 10, ω = 10·1. ``denoiser_mse`` is
    the map Δ ↦ F(Δ; κ) giving Ĉ = 2F(Δ_A) (default :func:`denoising_mmse`).
    """
    if denoiser_mse is None:
        def denoiser_mse(delta_A):
            return denoising_mmse(delta_A, kappa=kappa)
    rng = np.random.default_rng(rng)
    n, d = X.shape
    uX = sensing_tensor(X)
    alpha = n / d**2
    m = max(1, round(kappa * d))
    W0 = rng.standard_normal((d, m))
    S = W0 @ W0.T / np.sqrt(m * d)
    C, V, omega = 10.0, 10.0, np.full(n, 10.0)
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
        S_new = rie_reference(R, delta_A, kappa)
        C = 2 * float(denoiser_mse(delta_A))
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
    S_hat = rie_reference(S + np.sqrt(delta) * Z, delta, m / d)
    return float(np.sum((S_hat - S) ** 2) / d)
