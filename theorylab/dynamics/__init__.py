"""Generalization dynamics of linear student–teacher gradient flow (Advani & Saxe 2017).

Closed forms (:func:`gd_error_curves`), exact simulation (:func:`simulate_gradient_flow`),
optimal early stopping, the Bayes/optimal-ridge error and the long-time asymptotes.
"""

from theorylab.dynamics.dynamics import (
    ErrorCurves,
    StoppingResult,
    bayes_optimal_error,
    gd_error_curves,
    long_time_errors,
    optimal_stopping,
    ridge_error,
    simulate_gradient_flow,
)

__all__ = [
    "ErrorCurves",
    "StoppingResult",
    "bayes_optimal_error",
    "gd_error_curves",
    "long_time_errors",
    "optimal_stopping",
    "ridge_error",
    "simulate_gradient_flow",
]
