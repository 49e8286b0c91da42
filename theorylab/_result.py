"""Alias of :mod:`theorylab.results` kept for older imports; use ``theorylab.results``."""

from theorylab.results import (  # noqa: F401
    ConvergenceWarning,
    ReadOnlyDict,
    ResultRepr,
    SolverResult,
    _rebuild,
    freeze_array,
    short_repr,
)

__all__ = ["SolverResult", "ConvergenceWarning", "freeze_array", "ReadOnlyDict"]
