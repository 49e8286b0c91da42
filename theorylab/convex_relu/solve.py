"""One entry point for the convex ReLU program: ADMM or CVXPY, chosen by problem size.

Bai, Gautam & Sojoudi, arXiv:2201.01965. Symbols as in ``admm.py``.
"""

from __future__ import annotations

from typing import Literal

from .._validation import check_choice, check_int, check_rng
from ._common import check_problem
from ._result import ConvexReLUResult
from .admm import solve_convex_relu_admm
from .cvx import solve_convex_relu_cvxpy
from .patterns import sample_activation_patterns

__all__ = ["solve_convex_relu", "choose_method", "AUTO_CVXPY_MAX_NNZ"]

#: ``method="auto"`` runs CVXPY + Clarabel when the cone constraints have at most this many
#: non-zeros (2 n d P). Measured (2026-12-03, shared 2-core CPU): two moons n = 300, d = 3,
#: P = 9 (16k non-zeros) Clarabel 0.1-0.3 s vs certified ADMM 0.5-10 s; breast cancer
#: n = 569, d = 31, P = 20 (705k) Clarabel 4-16 s vs ADMM 0.5-3 s (see the paper note).
AUTO_CVXPY_MAX_NNZ = 100_000


def choose_method(n: int, d: int, P: int, loss: str = "squared") -> str:
    """The solver ``method="auto"`` picks: ``"cvxpy"`` for small problems (2 n d P <=
    ``AUTO_CVXPY_MAX_NNZ``) and for the logistic and hinge losses (whose ADMM, through the
    loss prox, converges slowly on some instances), else ``"admm"``."""
    n = check_int(n, name="n", minimum=1)
    d = check_int(d, name="d", minimum=1)
    P = check_int(P, name="P", minimum=1)
    loss = check_choice(loss, name="loss", choices=("squared", "logistic", "hinge"))
    if loss != "squared" or 2 * n * d * P <= AUTO_CVXPY_MAX_NNZ:
        return "cvxpy"
    return "admm"


def solve_convex_relu(
    X,
    y,
    *,
    beta: float,
    patterns=None,
    n_patterns: int | None = None,
    loss: Literal["squared", "logistic", "hinge"] = "squared",
    method: Literal["auto", "admm", "cvxpy"] = "auto",
    tol: float = 1e-4,
    max_iter: int = 20_000,
    rng=None,
) -> ConvexReLUResult:
    """Globally optimal two-layer ReLU training: the convex program by ADMM or CVXPY.

    Parameters
    ----------
    X, y, beta, patterns, n_patterns, loss, rng :
        As in :func:`solve_convex_relu_admm`; patterns are sampled once, so both methods
        solve the same program.
    method : {"auto", "admm", "cvxpy"}
        ``"auto"``: :func:`choose_method` (CVXPY for small problems, ADMM for large ones).
    tol : float
        ADMM: certified relative suboptimality. CVXPY: Clarabel's gap tolerance
        ``min(tol, 1e-8)``.
    max_iter : int
        ADMM iteration cap.

    Returns
    -------
    ConvexReLUResult
        ``method`` says which solver ran.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.c_[rng.standard_normal((40, 2)), np.ones(40)]
    >>> y = np.abs(X[:, 0])
    >>> res = solve_convex_relu(X, y, beta=0.1, n_patterns=8, rng=0)
    >>> res.method, bool(res.converged)
    ('cvxpy', True)
    """
    method = check_choice(method, name="method", choices=("auto", "admm", "cvxpy"))
    X, y, beta, loss, D = check_problem(X, y, beta, loss, patterns=patterns)
    if D is None:
        if n_patterns is None:
            raise ValueError("n_patterns must be given when patterns is None, got None")
        D = sample_activation_patterns(X, n_patterns, rng=check_rng(rng))
    if method == "auto":
        method = choose_method(X.shape[0], X.shape[1], D.shape[1], loss)
    if method == "cvxpy":
        return solve_convex_relu_cvxpy(X, y, beta=beta, patterns=D, loss=loss,
                                       tol=min(float(tol), 1e-8))
    return solve_convex_relu_admm(X, y, beta=beta, patterns=D, loss=loss, tol=tol,
                                  max_iter=max_iter)
