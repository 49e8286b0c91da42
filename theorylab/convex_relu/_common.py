"""Shared validation, losses and objectives of the convex-ReLU solvers."""

from __future__ import annotations

import numpy as np

from .._validation import check_array, check_choice, check_matrix, check_positive, check_vector

LOSSES = ("squared", "logistic", "hinge")


def loss_value(yhat: np.ndarray, y: np.ndarray, loss: str) -> float:
    """l(yhat, y): squared 0.5||yhat - y||^2 (a sum), logistic sum log(1+exp(-y yhat)),
    hinge sum (1 - y yhat)_+ (labels y in {-1, +1} for the two classification losses)."""
    if loss == "squared":
        r = yhat - y
        return 0.5 * float(r @ r)
    if loss == "logistic":
        return float(np.sum(np.logaddexp(0.0, -y * yhat)))
    return float(np.sum(np.maximum(0.0, 1.0 - y * yhat)))


def convex_parts(X, D, V, W):
    """Convex-model predictions sum_i D_i X (v_i - w_i) and the cone violation
    max(0, -min_i,k [(2 D_i - I) X v_i]_k, same for w_i) of (V, W) (d, P); D (n, P) 0/1."""
    XV, XW = X @ V, X @ W
    fitted = np.einsum("np,np->n", D, XV - XW)
    E = 2.0 * D - 1.0
    viol = max(0.0, -float(np.min(E * XV, initial=0.0)), -float(np.min(E * XW, initial=0.0)))
    return fitted, viol


def group_norm_sum(V: np.ndarray) -> float:
    return float(np.sum(np.sqrt(np.einsum("dp,dp->p", V, V))))


def convex_objective(X, y, D, V, W, beta, loss) -> float:
    """l(sum_i D_i X (v_i - w_i), y) + beta sum_i (||v_i|| + ||w_i||) (constraints not
    checked: see :func:`convex_parts`)."""
    fitted, _ = convex_parts(X, D, V, W)
    return loss_value(fitted, y, loss) + beta * (group_norm_sum(V) + group_norm_sum(W))


def nonconvex_objective(X, y, U, alpha, *, beta: float, loss: str = "squared") -> float:
    """Weight-decayed loss of a ReLU network: l(sum_j (X u_j)_+ alpha_j, y)
    + (beta/2) sum_j (||u_j||^2 + alpha_j^2)."""
    X = check_matrix(X, name="X")
    y = check_vector(y, name="y", n=X.shape[0])
    U = check_matrix(U, name="U", shape=(X.shape[1], None))
    alpha = check_vector(alpha, name="alpha", n=U.shape[1])
    beta = check_positive(beta, name="beta", strict=False)
    loss = check_choice(loss, name="loss", choices=LOSSES)
    yhat = np.maximum(X @ U, 0.0) @ alpha
    return loss_value(yhat, y, loss) + 0.5 * beta * (float(np.sum(U * U)) + float(alpha @ alpha))


def check_problem(X, y, beta, loss, *, patterns=None):
    """Validate the data of a convex-ReLU problem; returns (X, y, beta, loss, D or None)."""
    X = check_matrix(X, name="X")
    n = X.shape[0]
    if n < 1 or X.shape[1] < 1:
        raise ValueError(f"X must have at least one row and one column, got shape {X.shape}")
    y = check_vector(y, name="y", n=n)
    beta = check_positive(beta, name="beta")
    loss = check_choice(loss, name="loss", choices=LOSSES)
    if loss != "squared" and not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError(f"y must hold labels in {{-1, +1}} for loss={loss!r}, got values "
                         f"{np.unique(y)[:5].tolist()}")
    D = None if patterns is None else check_patterns(patterns, n)
    return X, y, beta, loss, D


def check_patterns(patterns, n: int) -> np.ndarray:
    """An (n, P) array of 0/1 (bool or numbers) -> float64 0/1 array."""
    if patterns is None:
        raise TypeError("patterns must be an array, got None")
    arr = check_array(patterns, name="patterns", dtype=None, allow_bool=True)
    if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] < 1:
        raise ValueError(f"patterns must have shape ({n}, P) with P >= 1, got {arr.shape}")
    if arr.dtype != bool:
        try:
            f = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"patterns must be a 0/1 array, got dtype {arr.dtype}") from exc
        if not np.all((f == 0) | (f == 1)):
            raise ValueError("patterns must contain only 0/1 (or bool) entries, got other values")
        arr = f != 0
    return np.ascontiguousarray(arr, dtype=np.float64)
