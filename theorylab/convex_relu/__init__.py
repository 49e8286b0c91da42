"""Convex training of two-layer ReLU networks (Bai, Gautam & Sojoudi, arXiv:2201.01965).

Public functions: activation patterns (sampled / enumerated), one entry point that picks
ADMM or CVXPY by problem size, the ADMM solver (certified stopping), the CVXPY reference,
robust (l_inf adversarial) convex training, the sampled-convex-program (random-feature)
method, an l_inf PGD attack, objective helpers and scikit-learn style estimators.
"""

from .._result import ConvergenceWarning
from ._common import nonconvex_objective
from ._result import ConvexReLUResult, relu_network_forward
from .admm import default_cone_scale, solve_convex_relu_admm
from .attacks import pgd_attack_linf
from .cvx import solve_convex_relu_cvxpy, solve_convex_relu_robust
from .objective import convex_objective, convex_parts
from .patterns import (
    enumerate_activation_patterns,
    sample_activation_patterns,
    unique_patterns,
)
from .scp import RandomFeatureReLUResult, solve_convex_relu_scp
from .solve import choose_method, solve_convex_relu


def __getattr__(name):
    # the scikit-learn estimators are imported on first use: importing scikit-learn takes
    # ~0.5 s (4.6 s at load 20, measured with python -X importtime), which every process
    # that only calls the solvers would otherwise pay
    if name in ("ConvexReLUClassifier", "ConvexReLURegressor"):
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ConvergenceWarning",
    "ConvexReLUClassifier",
    "ConvexReLURegressor",
    "ConvexReLUResult",
    "RandomFeatureReLUResult",
    "choose_method",
    "convex_objective",
    "convex_parts",
    "default_cone_scale",
    "pgd_attack_linf",
    "solve_convex_relu_scp",
    "enumerate_activation_patterns",
    "nonconvex_objective",
    "relu_network_forward",
    "sample_activation_patterns",
    "solve_convex_relu",
    "solve_convex_relu_admm",
    "solve_convex_relu_cvxpy",
    "solve_convex_relu_robust",
    "unique_patterns",
]
