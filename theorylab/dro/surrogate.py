"""The robust surrogate phi_gamma of a margin loss for linear models, in closed form.

Saberi et al. (2024), arXiv:2310.00027, Sec. 3: for a loss l(Z, y; theta) and a transport
cost c(Z, X) = ||Z - X||_2^2 the Wasserstein-robust surrogate is

    phi_gamma(X, y; theta) = sup_Z  l(Z, y; theta) - gamma * c(Z, X).

For a linear score f(Z) = w.Z and a margin loss L(r * y * w.Z / ||w||) (``r`` is the ramp
slope, the paper's gamma_r; for a unit-norm ``w`` it multiplies the margin), the supremum is
attained by moving ``X`` a distance ``t`` along ``-y w / ||w||``, so with ``u = y w.X/||w||``

    phi_gamma = max_{t >= 0} L(r (u - t)) - gamma t^2 = psi_g(r u),  g = gamma / r^2,
    psi_g(v)  = max_{s >= 0} L(v - s) - g s^2.

Closed forms (derived, checked against brute force in the tests):

- ramp  L(v) = min(1, max(0, 1 - v)):
  psi = max(0, q), q = 1 (v <= 0), 1 - g v^2 (0 < v <= 1/(2g)), 1 + 1/(4g) - v (v > 1/(2g));
- hinge L(v) = max(0, 1 - v):  psi = max(0, 1 + 1/(4g) - v);
- logistic L(v) = log(1 + e^{-v}): s* solves 2 g s = sigmoid(s - v) (unique when g > 1/8).

In every case d psi / d v = -2 g s* (envelope theorem), and ``gamma = inf`` gives L itself.

Paper symbol <-> argument: gamma <-> ``gamma``; gamma_r (ramp slope) <-> ``ramp_slope``;
theta, w <-> ``w``; c <-> squared Euclidean cost (fixed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .._validation import check_array, check_choice, check_matrix, check_scalar, check_vector
from ..results import ResultRepr
from ._kernels import HINGE, LOGISTIC, RAMP, psi

__all__ = ["robust_surrogate", "robust_surrogate_linear", "SurrogateValues", "LOSSES"]

Loss = Literal["ramp", "hinge", "logistic"]
LOSSES: tuple[str, ...] = ("ramp", "hinge", "logistic")
_CODES = {"ramp": RAMP, "hinge": HINGE, "logistic": LOGISTIC}


@dataclass(frozen=True, slots=True, kw_only=True)
class SurrogateValues(ResultRepr):
    """phi_gamma at given margins, its derivative in the margin and the adversary's move.

    Attributes
    ----------
    value : ndarray
        phi_gamma(u).
    grad : ndarray
        d phi_gamma / d u.
    shift : ndarray
        The distance t* that the worst-case point moves along ``-y w/||w||``.
    """

    value: np.ndarray
    grad: np.ndarray
    shift: np.ndarray


def check_gamma(gamma, *, name: str, loss: str, ramp_slope: float) -> float:
    """gamma > 0 (``inf`` allowed: no adversary); logistic needs gamma/r^2 > 1/8."""
    if isinstance(gamma, float | int | np.floating) and not isinstance(gamma, bool) \
            and np.isinf(gamma) and gamma > 0:
        return float("inf")
    g = check_scalar(gamma, name=name, lower=0.0, lower_inclusive=False)
    if loss == "logistic" and g / ramp_slope**2 <= 0.125:
        raise ValueError(
            f"{name} must be > ramp_slope**2/8 = {ramp_slope**2 / 8:g} for loss='logistic' "
            f"(the inner maximisation is then strictly concave), got {g!r}")
    return g


def _surrogate(u: np.ndarray, gamma: float, loss: str, r: float) -> SurrogateValues:
    g = gamma / r**2
    val, s, dv = psi(r * u, g, _CODES[loss])
    shape = u.shape
    return SurrogateValues(value=val.reshape(shape), grad=(r * dv).reshape(shape),
                           shift=(s / r).reshape(shape))


def robust_surrogate(margin, *, gamma: float, loss: Loss = "ramp",
                     ramp_slope: float = 1.0) -> SurrogateValues:
    """Closed-form phi_gamma of a margin loss for a unit-norm linear model.

    Parameters
    ----------
    margin : array_like
        Margins ``u = y * w.x`` of a unit-norm ``w`` (any shape).
    gamma : float
        Multiplier of the transport cost (> 0; ``np.inf`` means no adversary).
    loss : {"ramp", "hinge", "logistic"}
        Margin loss L, evaluated at ``ramp_slope * margin``.
    ramp_slope : float
        Slope ``r`` of the loss in the margin (the paper's gamma_r), > 0.

    Returns
    -------
    SurrogateValues
        ``value`` = phi_gamma(u), ``grad`` = d phi / d u, ``shift`` = t*.

    Raises
    ------
    ValueError
        If ``gamma`` or ``ramp_slope`` is not positive, ``loss`` is unknown, the margins are
        not finite, or ``loss="logistic"`` with ``gamma <= ramp_slope**2 / 8``.

    Notes
    -----
    ``phi_gamma(u) = max_{t>=0} L(r (u - t)) - gamma t^2``; see the module docstring for the
    closed forms. ``phi_gamma >= L(r u)`` and ``phi_gamma -> L(r u)`` as ``gamma -> inf``.

    References
    ----------
    Saberi et al., "Out-of-domain unlabeled data improves generalization", ICLR 2024,
    arXiv:2310.00027. Sinha, Namkoong, Duchi, arXiv:1710.10571 (the surrogate).

    Examples
    --------
    >>> import numpy as np
    >>> from theorylab.dro import robust_surrogate
    >>> sv = robust_surrogate(np.array([-1.0, 0.1, 2.0]), gamma=1.0)
    >>> np.round(sv.value, 4).tolist()
    [1.0, 0.99, 0.0]
    """
    loss = check_choice(loss, name="loss", choices=LOSSES)
    r = check_scalar(ramp_slope, name="ramp_slope", lower=0.0, lower_inclusive=False)
    gamma = check_gamma(gamma, name="gamma", loss=loss, ramp_slope=r)
    u = check_array(margin, name="margin", ndim=None, min_shape=(1,))
    return _surrogate(u, gamma, loss, r)


def robust_surrogate_linear(w, X, y, *, gamma: float, loss: Loss = "ramp",
                            ramp_slope: float = 1.0) -> np.ndarray:
    """phi_gamma(X_i, y_i; w) for the linear score ``f(x) = w.x`` (any norm of ``w``).

    The loss is ``L(ramp_slope * y * w.Z)``; writing ``w = ||w|| * w_hat`` this is the unit-norm
    case with slope ``ramp_slope * ||w||``.

    Parameters
    ----------
    w : array_like, shape (d,)
        Linear classifier (non-zero).
    X : array_like, shape (m, d)
    y : array_like, shape (m,)
        Labels in {-1, +1}.
    gamma, loss, ramp_slope
        As in :func:`robust_surrogate`.

    Returns
    -------
    ndarray, shape (m,)
        phi_gamma per sample.

    Raises
    ------
    ValueError
        On a zero ``w``, mismatched shapes or labels other than -1/+1.

    Examples
    --------
    >>> import numpy as np
    >>> from theorylab.dro import robust_surrogate_linear
    >>> robust_surrogate_linear([2.0, 0.0], [[0.25, 3.0]], [1], gamma=4.0).round(4).tolist()
    [0.75]
    """
    X = check_matrix(X, name="X")
    w = check_vector(w, name="w", n=X.shape[1])
    y = check_labels(y, n=X.shape[0])
    nw = float(np.linalg.norm(w))
    if nw == 0.0:
        raise ValueError("w must be non-zero, got the zero vector")
    r = check_scalar(ramp_slope, name="ramp_slope", lower=0.0, lower_inclusive=False)
    loss = check_choice(loss, name="loss", choices=LOSSES)
    gamma = check_gamma(gamma, name="gamma", loss=loss, ramp_slope=r * nw)
    u = y * (X @ w) / nw
    return _surrogate(u, gamma, loss, r * nw).value


def check_labels(y, *, n: int | None, name: str = "y") -> np.ndarray:
    """A vector of -1/+1 labels (as float64)."""
    y = check_vector(y, name=name, n=n)
    bad = ~np.isin(y, (-1.0, 1.0))
    if np.any(bad):
        raise ValueError(f"{name} must contain only -1 and +1, got {y[bad][0]!r}")
    return y
