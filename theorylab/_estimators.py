"""Helpers shared by the scikit-learn estimators (binary targets, convergence warnings).

Imported only by the estimator modules, so scikit-learn is loaded only where it is used.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ._result import ConvergenceWarning

__all__ = ["EstimatorConvergenceWarning", "binary_targets", "call_solver"]


class EstimatorConvergenceWarning(ConvergenceWarning, _SklearnConvergenceWarning):
    """A solver under an estimator's ``fit`` stopped at its iteration cap.

    Both theorylab's :class:`~theorylab._result.ConvergenceWarning` and scikit-learn's
    :class:`sklearn.exceptions.ConvergenceWarning`, so either filter catches it (for instance
    inside ``GridSearchCV``). The message is the solver's, with its numbers.
    """


def binary_targets(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two sorted classes of ``y`` and ``y`` mapped to -1 (first) / +1 (second).

    Raises scikit-learn's messages: ``Unknown label type`` for a continuous target,
    ``Only binary classification is supported`` for three or more classes.
    """
    check_classification_targets(y)
    y_type = type_of_target(y, input_name="y")
    if y_type != "binary":
        raise ValueError("Only binary classification is supported. The type of the target "
                         f"is {y_type}.")
    classes = np.unique(y)
    if classes.shape[0] < 2:
        raise ValueError(f"y must contain 2 classes, got one class: {classes[0].tolist()!r}")
    return classes, np.where(y == classes[1], 1.0, -1.0)


def call_solver(solve: Callable[..., Any], /, *args: Any, stacklevel: int = 3,
                **kwargs: Any) -> Any:
    """``solve(*args, **kwargs)``, re-issuing its ConvergenceWarning as an
    :class:`EstimatorConvergenceWarning` that points at the caller of ``fit``.

    ``stacklevel`` counts frames from this function (3: called directly by ``fit``).
    Other warnings pass through unchanged.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = solve(*args, **kwargs)
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            warnings.warn(str(w.message), EstimatorConvergenceWarning,
                          stacklevel=stacklevel)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result
