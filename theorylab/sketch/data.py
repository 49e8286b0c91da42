"""Planted least-squares instances with known x*, ‖r‖ and ‖A†‖.

- :func:`coherent_spiky_instance`: A = [I_d; 0], b with ``n_spikes`` entries ±1 at rows > d
  (x* = 0, ‖A†‖ = 1, ‖r‖ = √t) — sparse sketches collide heavy rows with the identity rows.
- :func:`two_coordinate_instance`: the follow-up's Section 3 instance, one column
  u = (e₁ + e₂)/√2 and b = r = (e₁ − e₂)/√2 (x* = 0).
- :func:`gaussian_instance`: i.i.d. Gaussian A, b = A x₀ + noise (the control).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theorylab._validation import check_int, check_positive, check_rng
from theorylab.results import ResultRepr

__all__ = ["PlantedLstsq", "coherent_spiky_instance", "gaussian_instance",
           "two_coordinate_instance"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantedLstsq(ResultRepr):
    """A least-squares instance with its ground truth.

    Attributes
    ----------
    A : ndarray (n, d)
    b : ndarray (n,)
    x_star : ndarray (d,)
        Exact least-squares solution.
    residual_norm : float
        ‖A x* − b‖₂.
    pinv_norm : float
        ‖A†‖₂ = 1/σ_min(A).
    """

    A: np.ndarray
    b: np.ndarray
    x_star: np.ndarray
    residual_norm: float
    pinv_norm: float


def coherent_spiky_instance(n: int, d: int, n_spikes: int, *, rng=None) -> PlantedLstsq:
    """A = [I_d; 0] and b with t = ``n_spikes`` entries ±1 at uniform rows j > d.

    Examples
    --------
    >>> inst = coherent_spiky_instance(64, 4, 2, rng=0)
    >>> inst.A.shape, inst.residual_norm
    ((64, 4), 1.4142135623730951)
    """
    n = check_int(n, name="n", minimum=2)
    d = check_int(d, name="d", minimum=1, maximum=n - 1)
    t = check_int(n_spikes, name="n_spikes", minimum=1, maximum=n - d)
    rng = check_rng(rng)
    A = np.zeros((n, d))
    A[np.arange(d), np.arange(d)] = 1.0
    b = np.zeros(n)
    rows = d + rng.choice(n - d, size=t, replace=False)
    b[rows] = rng.choice([-1.0, 1.0], size=t)
    return PlantedLstsq(A=A, b=b, x_star=np.zeros(d), residual_norm=float(np.sqrt(t)),
                        pinv_norm=1.0)


def two_coordinate_instance(n: int) -> PlantedLstsq:
    """One column u = (e₁ + e₂)/√2, b = (e₁ − e₂)/√2 (follow-up, Section 3); x* = 0.

    Examples
    --------
    >>> two_coordinate_instance(4).b
    array([ 0.70710678, -0.70710678,  0.        ,  0.        ])
    """
    n = check_int(n, name="n", minimum=2)
    A = np.zeros((n, 1))
    A[:2, 0] = 1 / np.sqrt(2)
    b = np.zeros(n)
    b[0], b[1] = 1 / np.sqrt(2), -1 / np.sqrt(2)
    return PlantedLstsq(A=A, b=b, x_star=np.zeros(1), residual_norm=1.0, pinv_norm=1.0)


def gaussian_instance(n: int, d: int, *, noise: float = 1.0, rng=None) -> PlantedLstsq:
    """A with i.i.d. N(0, 1) entries, b = A·1 + noise·N(0, I); x* computed exactly.

    Examples
    --------
    >>> inst = gaussian_instance(100, 3, rng=0)
    >>> inst.x_star.shape
    (3,)
    """
    n = check_int(n, name="n", minimum=2)
    d = check_int(d, name="d", minimum=1, maximum=n - 1)
    noise = check_positive(noise, name="noise")
    rng = check_rng(rng)
    A = rng.standard_normal((n, d))
    b = A @ np.ones(d) + noise * rng.standard_normal(n)
    x_star = np.linalg.lstsq(A, b, rcond=None)[0]
    sv = np.linalg.svd(A, compute_uv=False)
    return PlantedLstsq(A=A, b=b, x_star=x_star,
                        residual_norm=float(np.linalg.norm(A @ x_star - b)),
                        pinv_norm=float(1 / sv[-1]))
