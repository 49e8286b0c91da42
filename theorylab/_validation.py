"""Input validation shared by all public functions.

Messages follow one shape: ``"<name> must be <rule>, got <value>"``. Wrong types
raise ``TypeError``; wrong values (shape, sign, NaN, order) raise ``ValueError``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_matrix",
    "check_vector",
    "check_array",
    "check_scalar",
    "check_positive",
    "check_int",
    "check_rng",
    "check_times",
    "check_choice",
    "check_probability",
    "check_labels",
]


def _fmt(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}"
    return repr(value)


def _is_real_target(dtype: Any) -> bool:
    # dtype=None keeps the input's dtype, but complex still has to be asked for explicitly
    return dtype is None or not np.issubdtype(np.dtype(dtype), np.complexfloating)


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" if k == 1 else f"{k} {word}s"


def check_array(
    a: Any,
    *,
    name: str,
    ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
    finite: bool = True,
    dtype: Any = np.float64,
    copy: bool = False,
    min_shape: Sequence[int] | None = None,
    allow_bool: bool = False,
    strings: bool = False,
) -> np.ndarray:
    """Convert ``a`` to a C-contiguous array of ``dtype`` and check it.

    ``shape`` may contain ``None`` for free dimensions; ``min_shape`` gives the least
    size of each leading axis (``(1, 1)``: at least one row and one column).
    Complex input is refused (``TypeError``) when ``dtype`` is real, rather than cut to
    its real part; so are object arrays, and boolean arrays unless ``allow_bool`` (or
    ``dtype`` is bool): a mask passed where numbers are expected is a mistake. Unicode
    strings pass only with ``strings=True`` (class labels).
    """
    if a is None:
        raise TypeError(f"{name} must be an array, got None")
    if isinstance(a, str | bytes):
        raise TypeError(f"{name} must be a numeric array, got {type(a).__name__}")
    try:
        raw = np.asarray(a)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {type(a).__name__}") from exc
    target = None if dtype is None else np.dtype(dtype)
    if np.iscomplexobj(raw) and _is_real_target(dtype):
        raise TypeError(f"{name} must be real-valued, got {raw.dtype}")
    if raw.dtype == object or raw.dtype.kind in ("SVMm" if strings else "USVMm"):
        raise TypeError(f"{name} must be a numeric array, got dtype {raw.dtype}")
    if raw.dtype.kind == "b" and not allow_bool and target is not None and target.kind != "b":
        raise TypeError(f"{name} must be a numeric array, got dtype bool")
    if target is not None and target.kind in "iu" and raw.dtype.kind == "f":
        if not np.all(np.isfinite(raw)) or np.any(raw != np.round(raw)):
            raise TypeError(f"{name} must hold integers, got non-integral values of dtype "
                            f"{raw.dtype}")
    try:
        arr = np.array(raw, dtype=dtype, copy=True) if copy else np.asarray(raw, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {type(a).__name__}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(
            s is not None and s != t for s, t in zip(shape, arr.shape, strict=False)
        ):
            want = tuple("n" if s is None else s for s in shape)
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if min_shape is not None:
        words = ("row", "column") if arr.ndim == 2 else ("entry",) if arr.ndim == 1 else ()
        for axis, least in enumerate(min_shape[: arr.ndim]):
            if arr.shape[axis] < least:
                what = words[axis] if axis < len(words) else f"element along axis {axis}"
                if what == "entry":
                    rule = f"at least {least} {'entry' if least == 1 else 'entries'}"
                else:
                    rule = f"at least {_plural(least, what)}"
                raise ValueError(f"{name} must have {rule}, got {arr.shape[axis]} "
                                 f"(shape {arr.shape})")
    if finite and np.issubdtype(arr.dtype, np.inexact) and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} must be finite, got {bad} NaN/inf entries")
    # np.ascontiguousarray would turn a 0-d array (a scalar query) into shape (1,)
    return arr if arr.ndim == 0 else np.ascontiguousarray(arr)


def check_matrix(X: Any, *, name: str = "X", shape: Sequence[int | None] | None = None,
                 finite: bool = True, dtype: Any = np.float64, min_rows: int = 1,
                 min_cols: int = 1, allow_bool: bool = False) -> np.ndarray:
    """A finite 2-D real array (optionally of a given shape) with at least ``min_rows``
    rows and ``min_cols`` columns (one of each by default: empty data is an error)."""
    return check_array(X, name=name, ndim=2, shape=shape, finite=finite, dtype=dtype,
                       min_shape=(min_rows, min_cols), allow_bool=allow_bool)


def check_vector(v: Any, *, name: str, n: int | None = None, finite: bool = True,
                 dtype: Any = np.float64, min_size: int = 1,
                 allow_bool: bool = False) -> np.ndarray:
    """A finite 1-D real array, of length ``n`` when given, else at least ``min_size``
    long (one entry by default)."""
    return check_array(v, name=name, ndim=1, shape=None if n is None else (n,),
                       finite=finite, dtype=dtype,
                       min_shape=None if n is not None else (min_size,),
                       allow_bool=allow_bool)


def check_scalar(value: Any, *, name: str, lower: float | None = None,
                 upper: float | None = None, lower_inclusive: bool = True,
                 upper_inclusive: bool = True) -> float:
    """A finite real number within optional bounds; returned as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        else:
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if lower is not None:
        if lower_inclusive and value < lower:
            raise ValueError(f"{name} must be >= {lower:g}, got {value!r}")
        if not lower_inclusive and value <= lower:
            raise ValueError(f"{name} must be > {lower:g}, got {value!r}")
    if upper is not None:
        if upper_inclusive and value > upper:
            raise ValueError(f"{name} must be <= {upper:g}, got {value!r}")
        if not upper_inclusive and value >= upper:
            raise ValueError(f"{name} must be < {upper:g}, got {value!r}")
    return value


def check_positive(value: Any, *, name: str, strict: bool = True) -> float:
    """A finite number > 0 (or >= 0 when ``strict=False``)."""
    return check_scalar(value, name=name, lower=0.0, lower_inclusive=not strict)


def check_probability(value: Any, *, name: str) -> float:
    """A number in [0, 1]."""
    return check_scalar(value, name=name, lower=0.0, upper=1.0)


def check_int(value: Any, *, name: str, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """An integer (Python or NumPy, not bool) within optional bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be an integer, got {_fmt(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_rng(rng: Any, *, name: str = "rng") -> np.random.Generator:
    """Turn ``rng`` (Generator, int seed, SeedSequence or None) into a Generator.

    A legacy ``np.random.RandomState`` is refused: its stream differs from a
    Generator's and silently mixing them breaks reproducibility.
    """
    if isinstance(rng, np.random.RandomState):
        raise TypeError(
            f"{name} must be a numpy.random.Generator, an int seed or None, got a legacy "
            "numpy.random.RandomState; use np.random.default_rng(seed)"
        )
    if rng is None or isinstance(rng, np.random.Generator | np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if int(rng) < 0:
            raise ValueError(f"{name} seed must be >= 0, got {int(rng)}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{name} must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}"
    )


def check_labels(y: Any, *, name: str = "y", n: int | None = None) -> np.ndarray:
    """Class labels for an estimator: 1-D, at least one entry (``n`` when given), of any
    real, integer, boolean or string dtype; complex and NaN labels are refused."""
    arr = check_array(y, name=name, ndim=1, dtype=None, allow_bool=True,
                      shape=None if n is None else (n,), min_shape=(1,), strings=True)
    return arr


def check_times(t: Any, *, name: str = "times") -> np.ndarray:
    """A finite, non-negative, non-decreasing 1-D array of times (a scalar is one time)."""
    if t is not None and not isinstance(t, str | bytes) and np.ndim(t) == 0:
        t = [t]
    arr = check_array(t, name=name, ndim=1, min_shape=(1,))
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got min {arr.min()!r}")
    if np.any(np.diff(arr) < 0):
        i = int(np.argmax(np.diff(arr) < 0))
        raise ValueError(
            f"{name} must be non-decreasing, got {arr[i]!r} followed by {arr[i + 1]!r}"
        )
    return arr


def check_choice(value: Any, *, name: str, choices: Sequence[Any]) -> Any:
    """One of a fixed set of values (for ``Literal[...]`` options)."""
    if value not in choices:
        opts = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {opts}, got {value!r}")
    return value
