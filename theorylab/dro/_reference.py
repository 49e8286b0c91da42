"""Slow, plain-NumPy transcriptions of the paper's equations (used by the tests).

- :func:`psi_reference` — the closed-form 1-D inner maximisation
  ``psi_g(v) = max_{s>=0} L(v - s) - g s^2`` written with ``np.where`` (ramp, hinge) and
  ``scipy.optimize.brentq`` per point (logistic).
- :func:`psi_brute_force` — the same maximum by brute force over a grid of ``s``.
- :func:`rss_objective_reference` — the RSS objective of Saberi et al. (2024), eq. for
  theta_hat^RSS, for a unit-norm linear model, written as a direct sum over samples.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import expit


def _loss(z: np.ndarray, loss: str) -> np.ndarray:
    if loss == "ramp":
        return np.clip(1.0 - z, 0.0, 1.0)
    if loss == "hinge":
        return np.maximum(0.0, 1.0 - z)
    return np.logaddexp(0.0, -z)


def psi_reference(v, g: float, loss: str = "ramp") -> np.ndarray:
    """Closed form of ``max_{s>=0} L(v - s) - g s^2`` (plain NumPy)."""
    v = np.asarray(v, dtype=float)
    if np.isinf(g):
        return _loss(v, loss)
    if loss == "ramp":
        q = np.where(v <= 0, 1.0, np.where(v <= 0.5 / g, 1.0 - g * v**2, 1.0 + 0.25 / g - v))
        return np.maximum(q, 0.0)
    if loss == "hinge":
        return np.maximum(0.0, 1.0 + 0.25 / g - v)
    out = np.empty_like(v)
    for i, vi in np.ndenumerate(v):
        s = brentq(lambda s, vi=vi: 2 * g * s - expit(s - vi), 0.0, 0.5 / g, xtol=1e-15)
        out[i] = np.logaddexp(0.0, -(vi - s)) - g * s * s
    return out


def psi_brute_force(v, g: float, loss: str = "ramp", *, s_max: float | None = None,
                    n_grid: int = 10_001) -> np.ndarray:
    """``max_{s in [0, s_max]} L(v - s) - g s^2`` by a grid of ``n_grid`` points, each grid
    maximum polished by a bounded scalar search on its neighbouring cells."""
    v = np.asarray(v, dtype=float)
    if s_max is None:
        s_max = float(np.max(np.abs(v))) + 2.0 + 1.0 / g
    s = np.linspace(0.0, s_max, n_grid)
    h = s[1] - s[0]
    vals = _loss(v[..., None] - s, loss) - g * s**2
    best = vals.max(axis=-1)
    s_best = s[vals.argmax(axis=-1)]
    # polish each grid maximum by a bounded golden-section search on its two grid cells
    out = np.empty_like(best)
    for i, (vi, si) in enumerate(zip(v.ravel(), s_best.ravel(), strict=True)):
        f = lambda t, vi=vi: -(_loss(np.array(vi - t), loss) - g * t * t)
        res = minimize_scalar(f, bounds=(max(0.0, si - h), si + h), method="bounded",
                              options={"xatol": 1e-13})
        out.flat[i] = max(best.flat[i], -float(res.fun), -float(f(0.0)))
    return out


def rss_objective_reference(w, X, y, X_unlabeled, *, gamma, gamma_u, lam, loss="ramp",
                            ramp_slope=1.0) -> float:
    """(1/m) sum_i phi_gamma(X_i, y_i; w) + (lam/n) sum_j phi_gamma'(X'_j, h_w(X'_j); w).

    ``w`` is normalised to unit length; the pseudo-label is ``h_w(x') = sign(w.x')``, so the
    unlabeled margin is ``|w.x'|``. Each phi is the 1-D closed form along ``-y w``.
    """
    w = np.asarray(w, float) / np.linalg.norm(w)
    r = ramp_slope
    lab = np.mean(psi_reference(r * y * (X @ w), gamma / r**2, loss))
    if X_unlabeled is None or lam == 0:
        return float(lab)
    unl = np.mean(psi_reference(r * np.abs(X_unlabeled @ w), gamma_u / r**2, loss))
    return float(lab + lam * unl)
