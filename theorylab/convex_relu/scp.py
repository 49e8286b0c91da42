"""Sampled-convex-program (random ReLU feature) training of a two-layer ReLU network.

Reconstruction of the "SCP" method of Bai, Gautam & Sojoudi (arXiv:2201.01965, Sec. 2);
the paper's exact objective and sample bound were NOT read (unconfirmed). Fix N random
first-layer directions h_j on the unit sphere; with ||h_j|| = 1 the optimal rescaling of
the weight decay (beta/2)(||u||^2 + alpha^2) is beta |a_j| for a_j = alpha ||u||, so
training only the output layer is the unconstrained convex program

    min_a  l(Phi a, y) + beta ||a||_1,   Phi = (X H)_+   (a Lasso on random ReLU features).

Symbols: H (d, N) <-> ``directions``, a <-> ``a``, N <-> ``n_neurons``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .._result import ConvergenceWarning, SolverResult
from .._validation import check_choice, check_int, check_positive, check_rng
from ._common import check_problem, loss_value

__all__ = ["solve_convex_relu_scp", "RandomFeatureReLUResult"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RandomFeatureReLUResult(SolverResult):
    """Result of :func:`solve_convex_relu_scp`: ``x`` is the output weight vector a."""

    directions: np.ndarray
    objective: float
    beta: float
    loss: str

    def relu_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Network with u_j = h_j sqrt|a_j|, alpha_j = sign(a_j) sqrt|a_j| (non-zero a_j)."""
        a = self.x
        keep = a != 0
        root = np.sqrt(np.abs(a[keep]))
        return self.directions[:, keep] * root, np.sign(a[keep]) * root

    def predict(self, X) -> np.ndarray:
        """sum_j (x^T h_j)_+ a_j for the rows of X."""
        from .._validation import check_matrix

        X = check_matrix(X, name="X", shape=(None, self.directions.shape[0]))
        return np.maximum(X @ self.directions, 0.0) @ self.x


def _grad(z, y, loss):
    if loss == "squared":
        return z - y
    return -y * 0.5 * (1.0 - np.tanh(0.5 * y * z))  # d/dz log(1 + exp(-y z))


def solve_convex_relu_scp(
    X,
    y,
    *,
    beta: float,
    n_neurons: int,
    loss: Literal["squared", "logistic"] = "squared",
    tol: float = 1e-7,
    max_iter: int = 20_000,
    rng=None,
) -> RandomFeatureReLUResult:
    r"""Train a ReLU network with N random unit first-layer directions by FISTA.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs (append a ones column for a bias).
    y : array_like, shape (n,)
        Targets (labels in {-1, +1} for ``loss="logistic"``).
    beta : float
        Weight decay (> 0); becomes an l1 penalty on the output weights.
    n_neurons : int
        Number N of sampled directions.
    loss : {"squared", "logistic"}
        Smooth losses only (FISTA).
    tol : float
        Stop when ||a_k - a_{k-1}|| <= tol (1 + ||a_k||).
    max_iter : int
        Iteration cap.
    rng : numpy.random.Generator, int or None
        Source of the directions.

    Returns
    -------
    RandomFeatureReLUResult
        ``x`` is a (N,), ``directions`` is H (d, N), ``objective`` the Lasso objective
        (equal to the weight-decayed loss of ``relu_weights()``).

    Raises
    ------
    ValueError
        Bad inputs.

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` is reached first.

    Notes
    -----
    FISTA (Beck & Teboulle 2009) with adaptive restart, step 1/L, L = ||Phi||_2^2 (squared) or
    ||Phi||_2^2 / 4 (logistic), and soft-thresholding at beta / L. This is a restriction
    of the full convex program (first layer fixed), so its optimum is an upper bound on
    the network optimum with N neurons. Reconstruction; unconfirmed against the paper.

    References
    ----------
    arXiv:2201.01965, Sec. 2.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.c_[rng.standard_normal((50, 2)), np.ones(50)]
    >>> y = np.abs(X[:, 0])
    >>> res = solve_convex_relu_scp(X, y, beta=0.01, n_neurons=40, rng=0)
    >>> bool(res.converged)
    True
    """
    X, y, beta, loss, _ = check_problem(X, y, beta, "squared" if loss == "squared" else
                                        check_choice(loss, name="loss",
                                                     choices=("squared", "logistic")))
    n_neurons = check_int(n_neurons, name="n_neurons", minimum=1)
    tol = check_positive(tol, name="tol")
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    rng = check_rng(rng)
    t0 = time.perf_counter()
    H = rng.standard_normal((X.shape[1], n_neurons))
    H /= np.linalg.norm(H, axis=0)
    Phi = np.maximum(X @ H, 0.0)
    L = np.linalg.norm(Phi, 2) ** 2 * (1.0 if loss == "squared" else 0.25)
    L = max(L, 1e-12)
    a = np.zeros(n_neurons)
    z = a.copy()
    tk = 1.0
    objs = []
    converged = False
    k = 0
    for k in range(1, max_iter + 1):
        g = Phi.T @ _grad(Phi @ z, y, loss)
        w = z - g / L
        a_new = np.sign(w) * np.maximum(np.abs(w) - beta / L, 0.0)
        if (z - a_new) @ (a_new - a) > 0:  # adaptive restart (O'Donoghue & Candes 2015)
            tk = 1.0
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * tk * tk))
        z = a_new + (tk - 1) / t_new * (a_new - a)
        step = np.linalg.norm(a_new - a)
        a, tk = a_new, t_new
        obj = loss_value(Phi @ a, y, loss) + beta * float(np.abs(a).sum())
        if not np.isfinite(obj):
            raise FloatingPointError(f"FISTA iterate became NaN/inf at iteration {k}")
        objs.append(obj)
        if step <= tol * (1.0 + np.linalg.norm(a)):
            converged = True
            break
    msg = f"converged in {k} iterations" if converged else (
        f"FISTA did not converge in max_iter={max_iter} iterations: step {step:.3e} > "
        f"{tol * (1 + np.linalg.norm(a)):.3e} (tol={tol:g})")
    if not converged:
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    return RandomFeatureReLUResult(
        x=a, n_iter=k, converged=converged, message=msg,
        history={"objective": np.asarray(objs), "time": np.array([time.perf_counter() - t0])},
        directions=H, objective=objs[-1], beta=beta, loss=loss)
