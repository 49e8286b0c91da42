"""Public home of the result types and warnings shared by every solver.

- :class:`SolverResult` — frozen base class of every ``solve_*`` result
  (``x, n_iter, converged, message, history``); short ``repr`` and ``summary()``.
- :class:`ConvergenceWarning` — emitted when a solver stops at its iteration cap.
- :class:`ResultRepr` — the short ``repr``/``summary()`` mixin, also used by data instances.
- :func:`freeze_array`, :class:`ReadOnlyDict` — helpers that make results read-only.

Errors users catch are the built-in ones: ``ValueError`` (a wrong value: shape, sign,
NaN, empty input), ``TypeError`` (a wrong type: complex, object, string input) and
``FloatingPointError`` (a NaN/inf iterate, naming the iteration).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from numbers import Integral as numbers_Integral
from numbers import Real as numbers_Real
from typing import Any

import numpy as np

__all__ = [
    "SolverResult",
    "ConvergenceWarning",
    "ResultRepr",
    "short_repr",
    "freeze_array",
    "ReadOnlyDict",
]

_REPR_LIMIT = 400  # characters; a repr is a label, not a dump of the arrays


def _value_repr(v: Any, *, text_limit: int = 60) -> str:
    """One short token for a field value: arrays as ``shape dtype``, never their entries."""
    if v is None or isinstance(v, bool | np.bool_):
        return repr(v if v is None else bool(v))
    if isinstance(v, np.ndarray) or (hasattr(v, "shape") and hasattr(v, "dtype")):
        shape = "x".join(str(int(s)) for s in v.shape) or "scalar"
        dtype = str(v.dtype).removeprefix("torch.")
        kind = "array" if isinstance(v, np.ndarray) else type(v).__name__
        return f"<{kind} {shape} {dtype}>"
    if isinstance(v, numbers_Integral):
        return str(int(v))
    if isinstance(v, numbers_Real):
        text = repr(float(v))
        return text if len(text) <= 10 else f"{float(v):.6g}"
    if isinstance(v, str):
        return repr(v if len(v) <= text_limit else v[: text_limit - 3] + "...")
    if isinstance(v, Mapping):
        keys = [str(k) for k in v]
        shown = ", ".join(keys[:4]) + (f", ... ({len(keys)} keys)" if len(keys) > 4 else "")
        return f"<{type(v).__name__} keys: {shown}>" if keys else "{}"
    if isinstance(v, list | tuple):
        return f"<{type(v).__name__} of {len(v)}>"
    return f"<{type(v).__name__}>"


def _shown_fields(obj: Any) -> list[tuple[str, Any]]:
    if dataclasses.is_dataclass(obj):
        return [(f.name, getattr(obj, f.name)) for f in fields(obj) if f.repr]
    return list(vars(obj).items())


def short_repr(obj: Any, *, limit: int = _REPR_LIMIT) -> str:
    """``ClassName(field=value, ...)`` with arrays as ``<array shape dtype>``, at most ``limit``
    characters; ``message`` (if any) comes last and is cut first."""
    items = _shown_fields(obj)
    message = [(k, v) for k, v in items if k == "message"]
    parts = [f"{k}={_value_repr(v)}" for k, v in items if k != "message"]
    head = type(obj).__name__ + "("
    body = ", ".join(parts)
    if message:
        room = limit - len(head) - len(body) - len(", message=''") - 1
        text = str(message[0][1])
        if room < len(text):
            text = text[: max(room - 3, 0)] + "..."
        body = f"{body}, message={text!r}" if body else f"message={text!r}"
    out = head + body + ")"
    if len(out) > limit:
        out = out[: limit - 4] + "...)"
    return out


class ResultRepr:
    """Mixin: a short ``repr`` (class name, arrays as shape and dtype, scalars, message)
    and a human-readable :meth:`summary`.

    Subclasses get this ``repr`` even when decorated with ``@dataclass`` (which would
    otherwise generate a repr printing every array entry); a subclass that defines its
    own ``__repr__`` in its body keeps it.
    """

    __slots__ = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Runs before a @dataclass decorator, which leaves an existing __repr__ alone.
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = ResultRepr.__repr__  # type: ignore[method-assign]

    def __repr__(self) -> str:
        return short_repr(self)

    def _summary_lines(self) -> list[str]:
        lines = []
        for name, value in _shown_fields(self):
            if name in ("message", "history", "x", "n_iter", "converged"):
                continue
            lines.append(f"  {name}: {_value_repr(value, text_limit=100)}")
        return lines

    def summary(self) -> str:
        """A few lines for a human: the class, the key scalars and array shapes."""
        return "\n".join([type(self).__name__, *self._summary_lines()])



class ReadOnlyDict(dict):
    """A dict that refuses changes (picklable, unlike ``types.MappingProxyType``)."""

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("this mapping is part of a frozen result and is read-only")

    __setitem__ = __delitem__ = __ior__ = _refuse  # type: ignore[assignment]
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
class SolverResult(ResultRepr):
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
        # Make every ndarray field, every history trace and every dict field (also dicts
        # inside tuples) read-only, so a result can be shared (cached, returned from
        # workers) without defensive copies.
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "history":
                frozen = ReadOnlyDict({k: freeze_array(v) for k, v in dict(value).items()})
                object.__setattr__(self, "history", frozen)
            elif isinstance(value, np.ndarray):
                object.__setattr__(self, f.name, freeze_array(value))
            elif isinstance(value, dict) and not isinstance(value, ReadOnlyDict):
                object.__setattr__(self, f.name, ReadOnlyDict(value))
            elif isinstance(value, tuple) and any(isinstance(v, dict) for v in value):
                object.__setattr__(self, f.name, tuple(
                    ReadOnlyDict(v) if isinstance(v, dict) else v for v in value))

    def summary(self) -> str:
        """A few lines for a human: convergence, the stopping message, the key scalars."""
        state = "converged" if self.converged else "did NOT converge"
        first = f"{type(self).__name__}: {state}"
        if self.n_iter:
            first += f" after {self.n_iter} iteration(s)"
        lines = [first]
        if self.message:
            lines.append(f"  message: {self.message}")
        if self.x is not None:
            lines.append(f"  x: {_value_repr(self.x)}")
        lines.extend(self._summary_lines())
        if self.history:
            lines.append(f"  history: {', '.join(map(str, self.history))}")
        return "\n".join(lines)

    def __reduce__(self):
        # Rebuild through __init__ so that unpickled arrays are read-only again.
        return (_rebuild, (type(self), {f.name: getattr(self, f.name) for f in fields(self)
                                        if f.init}))


def _rebuild(cls: type, kwargs: dict[str, Any]) -> Any:
    # Pickles made before a duplicate field became a read-only alias of ``x`` (e.g. the
    # old ``S=``/``w=``/``t_opt=`` entries) still load: entries that are no longer
    # fields are dropped.
    names = {f.name for f in fields(cls) if f.init}
    return cls(**{k: v for k, v in kwargs.items() if k in names})
