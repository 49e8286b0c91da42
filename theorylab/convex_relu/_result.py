"""Result type of every convex-ReLU solver."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._result import SolverResult

__all__ = ["ConvexReLUResult", "relu_network_forward"]


def relu_network_forward(X: np.ndarray, U: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """f(x) = sum_j (x^T u_j)_+ alpha_j for rows x of X; U (d, m), alpha (m,)."""
    from .._validation import check_matrix, check_vector

    X = check_matrix(X, name="X")
    U = check_matrix(U, name="U", shape=(X.shape[1], None))
    alpha = check_vector(alpha, name="alpha", n=U.shape[1])
    return np.maximum(X @ U, 0.0) @ alpha


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvexReLUResult(SolverResult):
    """Solution of the (sampled) convex program of a two-layer ReLU network.

    Attributes
    ----------
    x : ndarray, shape (d, 2P)
        ``[V, W]`` side by side.
    V, W : ndarray, shape (d, P)
        Convex weights v_i, w_i (column i belongs to pattern i).
    patterns : ndarray of bool, shape (n, P)
        The patterns D_i the program was solved over.
    objective : float
        Convex objective l(sum_i D_i X (v_i - w_i), y) + beta sum_i (||v_i|| + ||w_i||)
        at (V, W).
    cone_violation : float
        max(0, -min_{i,k} [(2 D_i - I) X v_i]_k, same for w_i): 0 for a feasible point.
    fitted : ndarray, shape (n,)
        Convex-model predictions sum_i D_i X (v_i - w_i) on the training data.
    beta : float
        Weight decay.
    loss : str
        ``"squared"``, ``"logistic"`` or ``"hinge"``.
    rho : float
        Final ADMM penalty (``nan`` for other solvers).
    solve_time : float
        Wall time in seconds (CVXPY: including problem compilation).
    dual_bound : float
        ADMM: a Lagrange-dual lower bound g <= p* on the optimum (``nan`` for CVXPY).
    gap_bound : float
        ADMM: the certified relative suboptimality (objective - g) / |g| of the returned
        feasible point (``nan`` for CVXPY, whose status is reported in ``message``).
    method : str
        Which solver produced the result: ``"admm"`` or ``"cvxpy"``.
    history : mapping
        ADMM: ``iteration``, ``objective``, ``cone_violation``, ``primal_residual``,
        ``dual_residual``, ``rho``, ``time`` at every checked iteration and ``gap_bound``
        (the certified relative gap where a certificate was computed, else ``nan``).
    """

    V: np.ndarray
    W: np.ndarray
    patterns: np.ndarray
    objective: float
    cone_violation: float
    fitted: np.ndarray
    beta: float
    loss: str
    rho: float = float("nan")
    solve_time: float = float("nan")
    dual_bound: float = float("nan")
    gap_bound: float = float("nan")
    method: str = ""

    def relu_weights(self, *, drop_zero: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """First- and second-layer weights of the equivalent ReLU network.

        For v_i != 0: u = v_i / sqrt(||v_i||), alpha = sqrt(||v_i||); for w_i != 0:
        u = w_i / sqrt(||w_i||), alpha = -sqrt(||w_i||). Then (X u)_+ alpha = D_i X v_i
        whenever the cone constraint of v_i holds, and (beta/2)(||u||^2 + alpha^2) =
        beta ||v_i||, so the network's weight-decayed loss equals the convex objective.

        Returns
        -------
        U : ndarray, shape (d, m)
            First-layer weights (one column per neuron), m = 2P or the non-zero count.
        alpha : ndarray, shape (m,)
            Second-layer weights.
        """
        Us, alphas = [], []
        for M, sign in ((self.V, 1.0), (self.W, -1.0)):
            norms = np.linalg.norm(M, axis=0)
            keep = norms > 0 if drop_zero else np.ones(norms.shape, bool)
            root = np.sqrt(norms[keep])
            Us.append(M[:, keep] / np.where(root > 0, root, 1.0))
            alphas.append(sign * root)
        return np.concatenate(Us, axis=1), np.concatenate(alphas)

    def predict(self, X) -> np.ndarray:
        """Output of the recovered ReLU network, sum_j (x^T u_j)_+ alpha_j, on rows of X."""
        from .._validation import check_matrix

        X = check_matrix(X, name="X", shape=(None, self.V.shape[0]))
        U, alpha = self.relu_weights()
        return relu_network_forward(X, U, alpha)
