"""Sparse linear regression on random supports (Chandrasekaran, Meka & Stavropoulos 2025):
a labelled stand-in for the paper's solver, Lasso/OMP/IHT/exhaustive baselines and design
generators."""

from theorylab.sparse.data import (
    SparseInstance,
    conditioned_design,
    equicorrelated_design,
    gadget_design,
    gaussian_design,
    planted_response,
    random_walk_design,
)
from theorylab.sparse.solvers import (
    STANDIN_NOTE,
    SparseResult,
    compare_methods,
    lambda_max,
    prediction_error,
    solve_exhaustive,
    solve_iht,
    solve_lasso,
    solve_omp,
    solve_random_support_regression,
    sparse_dependency_preconditioner,
)

__all__ = [
    "STANDIN_NOTE",
    "SparseInstance",
    "compare_methods",
    "SparseResult",
    "conditioned_design",
    "equicorrelated_design",
    "gadget_design",
    "gaussian_design",
    "lambda_max",
    "planted_response",
    "prediction_error",
    "random_walk_design",
    "solve_exhaustive",
    "solve_iht",
    "solve_lasso",
    "solve_omp",
    "solve_random_support_regression",
    "sparse_dependency_preconditioner",
]
