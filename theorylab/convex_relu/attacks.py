"""l_inf attacks on a two-layer ReLU network f(x) = sum_j (x^T u_j)_+ alpha_j."""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_matrix, check_positive, check_vector

__all__ = ["pgd_attack_linf"]


def pgd_attack_linf(X, y, U, alpha, *, eps: float, n_steps: int = 20, step_size=None,
                    perturbable=None) -> np.ndarray:
    """Projected gradient ascent on the margin loss -y f(x) inside an l_inf ball.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Clean inputs.
    y : array_like, shape (n,)
        Labels in {-1, +1}.
    U : array_like, shape (d, m)
        First-layer weights (columns are neurons).
    alpha : array_like, shape (m,)
        Second-layer weights.
    eps : float
        Radius of the l_inf ball, >= 0.
    n_steps : int
        PGD steps (signed-gradient steps, Madry et al. 2018).
    step_size : float, optional
        Default 2.5 eps / n_steps.
    perturbable : array_like of bool, shape (d,), optional
        Columns the attacker may change (set False for a bias column).

    Returns
    -------
    X_adv : ndarray, shape (n, d)
        Attacked inputs with ||X_adv - X||_inf <= eps.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 1.0]]); U = np.eye(2); a = np.array([1.0, 0.0])
    >>> Xa = pgd_attack_linf(X, np.array([1.0]), U, a, eps=0.5, perturbable=[True, False])
    >>> float(Xa[0, 0])
    0.5
    """
    X = check_matrix(X, name="X")
    n, d = X.shape
    y = check_vector(y, name="y", n=n)
    U = check_matrix(U, name="U", shape=(d, None))
    alpha = check_vector(alpha, name="alpha", n=U.shape[1])
    eps = check_positive(eps, name="eps", strict=False)
    n_steps = check_int(n_steps, name="n_steps", minimum=1)
    step = 2.5 * eps / n_steps if step_size is None else check_positive(step_size,
                                                                         name="step_size")
    mask = np.ones(d) if perturbable is None else (
        check_vector(np.asarray(perturbable, float), name="perturbable", n=d) != 0).astype(float)
    Xa = X.copy()
    for _ in range(n_steps):
        act = (Xa @ U > 0).astype(float)  # (n, m)
        grad_f = (act * alpha) @ U.T  # d f / d x
        Xa = Xa + step * np.sign(-y[:, None] * grad_f) * mask
        Xa = X + np.clip(Xa - X, -eps, eps)
    return Xa
