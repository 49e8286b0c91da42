"""Frozen solver results and the convergence warning shared by every solver."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

__all__ = ["SolverResult", "ConvergenceWarning", "freeze_array", "ReadOnlyDict"]


class ReadOnlyDict(dict):
    """A dict that refuses changes (picklable, unlike ``types.MappingProxyType``)."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("result history is read-only")

    __setitem__ = __delitem__ = _refuse  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __reduce__(self):
        return (ReadOnlyDict, (dict(self),))


class ConvergenceWarning(UserWarning):
    """A solver stopped at its iteration cap before meeting its tolerance.

    The message carries the numbers (final gap or residual, the tolerance and the
    iteration count); the result it accompanies has ``converged=False``.
    """


def freeze_array(a: Any) -> Any:
    """Return ``a`` as a read-only ndarray when it is array-like, else unchanged."""
    if isinstance(a, np.ndarray):
        a = a.view()
        a.flags.writeable = False
        return a
    if isinstance(a, list | tuple) and a and all(np.isscalar(v) for v in a):
        out = np.asarray(a)
        out.flags.writeable = False
        return out
    return a


@dataclass(frozen=True, slots=True, kw_only=True)
class SolverResult:
    """Base result of every ``solve_*`` function.

    Attributes
    ----------
    x : object
        The solution (its meaning is given by the solver's docstring).
    n_iter : int
        Iterations performed (0 for closed-form evaluators).
    converged : bool
        Whether the stopping criterion was met.
    message : str
        Human-readable reason for stopping.
    history : Mapping[str, ndarray]
        Per-iteration traces (read-only arrays), keyed by name.
    """

    x: Any = None
    n_iter: int = 0
    converged: bool = True
    message: str = ""
    history: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Make every ndarray field and every history trace read-only, so a result
        # can be shared (cached, returned from workers) without defensive copies.
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "history":
                frozen = ReadOnlyDict({k: freeze_array(v) for k, v in dict(value).items()})
                object.__setattr__(self, "history", frozen)
            elif isinstance(value, np.ndarray):
                object.__setattr__(self, f.name, freeze_array(value))

    def __reduce__(self):
        # Rebuild through __init__ so that unpickled arrays are read-only again.
        return (_rebuild, (type(self), {f.name: getattr(self, f.name) for f in fields(self)
                                        if f.init}))


def _rebuild(cls: type, kwargs: dict[str, Any]) -> Any:
    return cls(**kwargs)
