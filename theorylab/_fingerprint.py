"""What a computation *is*, as a hash: the sweep cache's notion of "the same function".

A function's fingerprint covers everything that can change what it returns:

- its code object: bytecode, constants (nested code objects too: inner functions,
  lambdas, comprehensions), the names it reads, default arguments, closure values;
- every global it reads, recursively: constants by value (numbers, strings, tuples,
  dicts, arrays, dataclass instances, ...), functions and classes of the project by their
  own code (theorylab, verify scripts, the module the function lives in and any other
  module outside site-packages/the standard library), library functions by name;
- the versions of the numerical libraries (numpy, scipy, numba, torch, scikit-learn,
  cvxpy) and a hash of theorylab's own source.

No source text is needed, so functions defined in the REPL or piped on stdin are keyed by
what they compute, not by their name. A global whose value cannot be keyed reliably (an
open file, a random generator whose state moves, an arbitrary object) raises
:class:`UnkeyableError`; the sweep then refuses to cache and says why.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import importlib.metadata
import re
import sys
import sysconfig
import types
from pathlib import Path, PurePath
from typing import Any

import numpy as np

__all__ = ["fingerprint", "UnkeyableError", "library_versions", "package_fingerprint"]

_LIBS = ("numpy", "scipy", "numba", "torch", "scikit-learn", "cvxpy")


class UnkeyableError(TypeError):
    """A value that a cache key cannot describe reliably."""


@functools.lru_cache(maxsize=1)
def library_versions() -> tuple[tuple[str, str], ...]:
    out = []
    for lib in _LIBS:
        try:
            out.append((lib, importlib.metadata.version(lib)))
        except importlib.metadata.PackageNotFoundError:
            out.append((lib, "absent"))
    out.append(("python", sys.version.split()[0]))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def package_fingerprint() -> str:
    """Hash of theorylab's own source, so that editing a solver invalidates cached values."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for p in sorted(root.rglob("*.py")):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return tuple(sorted(str(Path(d).resolve()) for d in dirs if d))


@functools.lru_cache(maxsize=4096)
def _is_project_module(modname: str | None) -> bool:
    """Functions of these modules are keyed by their code, others by name (+ versions)."""
    if not modname:
        return False
    top = modname.split(".")[0]
    if top in ("theorylab", "theorylab_verify", "__main__"):
        return True
    if top in sys.builtin_module_names or top in sys.stdlib_module_names:
        return False
    mod = sys.modules.get(modname) or sys.modules.get(top)
    f = getattr(mod, "__file__", None)
    if not f:
        return False
    path = str(Path(f).resolve())
    return not any(path.startswith(d + "/") for d in _library_dirs())


_SIMPLE = (type(None), bool, int, float, complex, str, bytes, range, slice, type(Ellipsis))


class _Hasher:
    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self._seen: dict[int, int] = {}
        self._keep: list[Any] = []  # keep visited objects alive so ids stay unique

    def feed(self, *parts: Any) -> None:
        for p in parts:
            b = p if isinstance(p, bytes) else str(p).encode()
            self._h.update(len(b).to_bytes(8, "little"))
            self._h.update(b)

    def hexdigest(self) -> str:
        return self._h.hexdigest()

    def _memo(self, obj: Any) -> bool:
        """True when ``obj`` was already hashed (feeds a back-reference instead)."""
        k = id(obj)
        if k in self._seen:
            self.feed("ref", self._seen[k])
            return True
        self._seen[k] = len(self._seen)
        self._keep.append(obj)
        return False

    # --------------------------------------------------------------- code and functions
    def code(self, co: types.CodeType) -> None:
        self.feed("code", co.co_name, co.co_argcount, co.co_kwonlyargcount, co.co_flags,
                  co.co_code, ",".join(co.co_names), ",".join(co.co_varnames))
        for c in co.co_consts:
            if isinstance(c, types.CodeType):
                self.code(c)
            else:
                self.value(c, "a constant")

    @staticmethod
    def _global_names(co: types.CodeType) -> set[str]:
        names = set(co.co_names)
        for c in co.co_consts:
            if isinstance(c, types.CodeType):
                names |= _Hasher._global_names(c)
        return names

    def function(self, fn: types.FunctionType) -> None:
        if self._memo(fn):
            return
        mod = getattr(fn, "__module__", None)
        self.feed("function", mod, fn.__qualname__)
        if not _is_project_module(mod):
            return  # a library function: its name and the library versions key it
        self.code(fn.__code__)
        self.value(fn.__defaults__, f"the defaults of {fn.__qualname__}")
        self.value(fn.__kwdefaults__, f"the keyword defaults of {fn.__qualname__}")
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True):
            try:
                v = cell.cell_contents
            except ValueError:
                self.feed("cell", name, "empty")
                continue
            self.feed("cell", name)
            self.value(v, f"closure variable {name!r} of {fn.__qualname__}")
        g = fn.__globals__
        for name in sorted(self._global_names(fn.__code__)):
            if name in g:
                self.feed("global", name)
                self.value(g[name], f"global {name!r} read by {fn.__qualname__}")

    def klass(self, cls: type) -> None:
        if self._memo(cls):
            return
        mod = getattr(cls, "__module__", None)
        self.feed("class", mod, cls.__qualname__)
        if not _is_project_module(mod):
            return
        for base in cls.__mro__[1:]:
            if base is not object:
                self.klass(base)
        for name, v in sorted(vars(cls).items()):
            if name in ("__dict__", "__weakref__", "__doc__", "__module__", "__slots__",
                        "__dataclass_fields__", "__dataclass_params__", "__match_args__",
                        "__annotations__", "__orig_bases__", "__parameters__"):
                continue
            if isinstance(v, types.MemberDescriptorType | types.GetSetDescriptorType):
                continue
            self.feed("attr", name)
            self.value(v, f"attribute {name!r} of class {cls.__qualname__}")

    # --------------------------------------------------------------- values
    def value(self, v: Any, what: str) -> None:
        if isinstance(v, _SIMPLE):
            self.feed(type(v).__name__, repr(v))
            return
        if isinstance(v, enum.Enum):
            self.feed("enum", type(v).__qualname__, repr(v.value))
            return
        if isinstance(v, np.generic):
            self.feed("npscalar", v.dtype.str, repr(v.item()))
            return
        if isinstance(v, np.ndarray):
            if self._memo(v):
                return
            self.feed("ndarray", v.dtype.str, v.shape)
            if v.dtype.hasobject:
                for x in v.ravel():
                    self.value(x, what)
            else:
                self.feed(np.ascontiguousarray(v).tobytes())
            return
        if isinstance(v, np.dtype):
            self.feed("dtype", v.str)
            return
        if isinstance(v, tuple | list | set | frozenset | dict):
            if self._memo(v):
                return
            if isinstance(v, dict):
                self.feed("dict", type(v).__qualname__, len(v))
                for k in sorted(v, key=repr):
                    self.value(k, what)
                    self.value(v[k], what)
            elif isinstance(v, set | frozenset):
                sub = sorted(fingerprint_value(x, what) for x in v)
                self.feed("set", *sub)
            else:
                self.feed(type(v).__qualname__, len(v))
                for x in v:
                    self.value(x, what)
            return
        if isinstance(v, types.FunctionType):
            self.function(v)
            return
        if isinstance(v, types.MethodType):
            self.feed("method")
            self.value(v.__self__, what)
            self.value(v.__func__, what)
            return
        if isinstance(v, functools.partial):
            self.feed("partial")
            self.value(v.func, what)
            self.value(v.args, what)
            self.value(v.keywords, what)
            return
        if isinstance(v, types.BuiltinFunctionType | types.BuiltinMethodType
                      | types.MethodDescriptorType | types.WrapperDescriptorType
                      | np.ufunc):
            self.feed("builtin", getattr(v, "__module__", None) or "",
                      getattr(v, "__qualname__", getattr(v, "__name__", repr(v))))
            return
        if isinstance(v, types.ModuleType):
            self.feed("module", v.__name__, getattr(v, "__version__", ""))
            return
        if isinstance(v, type):
            self.klass(v)
            return
        py_func = getattr(v, "py_func", None)  # numba dispatchers
        if isinstance(py_func, types.FunctionType):
            self.feed("jit")
            self.function(py_func)
            return
        if isinstance(v, property):
            self.feed("property")
            for f in (v.fget, v.fset, v.fdel):
                self.value(f, what)
            return
        if isinstance(v, staticmethod | classmethod):
            self.feed(type(v).__name__)
            self.value(v.__func__, what)
            return
        if isinstance(v, functools.cached_property):
            self.feed("cached_property")
            self.value(v.func, what)
            return
        wrapped = getattr(v, "__wrapped__", None)  # lru_cache, functools.wraps wrappers
        if isinstance(wrapped, types.FunctionType):
            self.feed("wrapped")
            self.function(wrapped)
            return
        if type(v).__module__ == "dataclasses" and type(v).__name__ in (
                "_MISSING_TYPE", "_HAS_DEFAULT_FACTORY_CLASS", "_KW_ONLY_TYPE"):
            self.feed("dataclass-sentinel", type(v).__name__)
            return
        if isinstance(v, PurePath):
            self.feed("path", str(v))
            return
        if isinstance(v, re.Pattern):
            self.feed("re", v.pattern, v.flags)
            return
        if isinstance(v, types.SimpleNamespace):
            self.value(vars(v), what)
            return
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            if self._memo(v):
                return
            self.klass(type(v))
            for f in dataclasses.fields(v):
                self.feed("field", f.name)
                self.value(getattr(v, f.name), what)
            return
        mod = type(v).__module__ or ""
        if mod.split(".")[0] == "torch" and type(v).__name__ in ("device", "dtype"):
            self.feed("torch", repr(v))
            return
        if mod.split(".")[0] == "typing" or type(v).__name__ in ("TypeVar", "_GenericAlias"):
            self.feed("typing", repr(v))
            return
        if callable(v) and not _is_project_module(mod):
            # a library's callable object (scipy.fft's uarray functions, ...): its name and
            # the library versions key it
            name = getattr(v, "__qualname__", None) or getattr(v, "__name__", None)
            if isinstance(name, str):
                self.feed("libcallable", getattr(v, "__module__", mod) or mod, name)
                return
        raise UnkeyableError(f"{what} is a {type(v).__module__}.{type(v).__qualname__}, "
                             "whose value a cache key cannot describe reliably")


def fingerprint_value(v: Any, what: str = "a value") -> str:
    h = _Hasher()
    h.value(v, what)
    return h.hexdigest()


def fingerprint(fn: Any) -> str:
    """Hash of everything that can change what ``fn`` returns (see the module docstring).

    Raises
    ------
    UnkeyableError
        When ``fn`` reads a value that cannot be keyed reliably.
    """
    h = _Hasher()
    h.feed("versions", repr(library_versions()), package_fingerprint())
    if isinstance(fn, functools.partial | types.MethodType) or isinstance(
            fn, types.FunctionType) or isinstance(getattr(fn, "py_func", None),
                                                  types.FunctionType):
        h.value(fn, f"function {getattr(fn, '__qualname__', fn)!r}")
    elif callable(fn) and not isinstance(fn, type):
        h.value(type(fn), f"callable {fn!r}")  # a callable instance: its class's code
        state = getattr(fn, "__dict__", None)
        if state is None:
            raise UnkeyableError(f"callable {fn!r} has no inspectable state")
        h.value(state, f"the state of callable {type(fn).__qualname__}")
    else:
        raise UnkeyableError(f"{fn!r} is not a function that a cache key can describe")
    return h.hexdigest()
