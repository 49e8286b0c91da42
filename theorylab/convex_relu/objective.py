"""The convex program's objective and constraint violation at a given (V, W), validated.

Bai, Gautam & Sojoudi, arXiv:2201.01965, Sec. 2: for patterns D_i (0/1 diagonals, the columns
of ``D``), the convex model predicts sum_i D_i X (v_i - w_i) subject to the cones
(2 D_i - I) X v_i >= 0 and (2 D_i - I) X w_i >= 0.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice, check_matrix, check_positive, check_vector
from . import _common

__all__ = ["convex_parts", "convex_objective"]


def _check(X, D, V, W):
    X = check_matrix(X, name="X")
    n, d = X.shape
    D = check_matrix(D, name="D", allow_bool=True)
    if D.shape[0] != n:
        raise ValueError(f"D must have {n} rows (one per sample of X), got shape {D.shape}")
    if not np.isin(D, (0.0, 1.0)).all():
        raise ValueError("D must hold 0/1 activation patterns, got other values")
    P = D.shape[1]
    V = check_matrix(V, name="V", shape=(d, P))
    W = check_matrix(W, name="W", shape=(d, P))
    return X, D, V, W


def convex_parts(X, D, V, W) -> tuple[np.ndarray, float]:
    """Predictions sum_i D_i X (v_i - w_i) (n,) and the largest cone violation of (V, W).

    Parameters
    ----------
    X : (n, d) array; D : (n, P) 0/1 patterns; V, W : (d, P) arrays.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]]); D = np.array([[1.0], [0.0]])
    >>> fitted, viol = convex_parts(X, D, np.array([[2.0], [0.0]]), np.zeros((2, 1)))
    >>> fitted.tolist(), viol
    ([2.0, 0.0], 0.0)
    """
    return _common.convex_parts(*_check(X, D, V, W))


def convex_objective(X, y, D, V, W, beta: float, loss: str = "squared") -> float:
    """l(sum_i D_i X (v_i - w_i), y) + beta sum_i (||v_i|| + ||w_i||); the cone constraints
    are not checked here (see :func:`convex_parts`)."""
    X, D, V, W = _check(X, D, V, W)
    y = check_vector(y, name="y", n=X.shape[0])
    beta = check_positive(beta, name="beta", strict=False)
    loss = check_choice(loss, name="loss", choices=("squared", "logistic", "hinge"))
    return _common.convex_objective(X, y, D, V, W, beta, loss)
