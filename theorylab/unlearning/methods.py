"""The unlearning-method protocol and the harness side that enforces it.

A method is a function ``unlearn(model, forget, retain=None, *, config, generator,
train_set=None, oracles=None) -> model`` registered with :func:`register_method`, which
declares what the method reads:

- ``needs_retain``: the retain set D_r (SSD, for instance, does not train on it);
- ``needs_labels``: labels of every set handed over (label-free methods get none);
- ``needs_train_set``: the full training set D = D_r ∪ D_f (SSD's importance pass);
- ``needs_oracles``: retrained-from-scratch oracle models (Oracle Matching only).

:func:`apply_method` hands a method only what it declared. Everything else is replaced by a
:class:`Withheld` placeholder that raises :class:`UndeclaredInputError` on any use, so a method
that reads an input it did not declare fails loudly instead of silently cheating. The method
works on a deep copy of the model; the original is never modified.

Modes: the method gets its copy in eval mode and the harness hands the result back in eval
mode, so neither depends on the mode the caller left the model in (a method that trains sets
train mode itself). A model the methods cannot work on faithfully is refused up front by
:func:`check_model`: a frozen parameter (``requires_grad=False``) would silently be left out
of every gradient step and importance (fine-tuning would train the rest, SSD would never
dampen it), and parameters on another device or of another dtype than the data would fail
deep inside the method with torch's own message.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from theorylab.unlearning.metrics import timed

__all__ = ["Subset", "Withheld", "UndeclaredInputError", "MethodSpec", "register_method",
           "get_method", "list_methods", "apply_method", "check_model", "METHODS"]


class UndeclaredInputError(PermissionError):
    """A method used an input that it did not declare."""


class Withheld:
    """Stands in for an input the method did not declare; any use raises."""

    __slots__ = ("_what", "_method", "_flag")

    def __init__(self, what: str, method: str, flag: str) -> None:
        object.__setattr__(self, "_what", what)
        object.__setattr__(self, "_method", method)
        object.__setattr__(self, "_flag", flag)

    def _refuse(self, *_: Any, **__: Any):
        raise UndeclaredInputError(
            f"method {self._method!r} read the {self._what}, which it did not declare: set "
            f"{self._flag}=True when registering it (the harness withholds undeclared inputs)")

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        self._refuse()

    __getitem__ = __len__ = __iter__ = __bool__ = __call__ = __array__ = _refuse

    def __repr__(self) -> str:
        return f"Withheld({self._what!r})"


@dataclass(frozen=True)
class Subset:
    """Inputs ``X (n, d)`` and labels ``y (n,)`` of one set (``y`` may be :class:`Withheld`)."""

    X: Any
    y: Any

    def __len__(self) -> int:
        return int(self.X.shape[0])


@dataclass(frozen=True)
class MethodSpec:
    """A registered method: its function, config class and declarations."""

    name: str
    fn: Callable[..., nn.Module]
    config_cls: type
    needs_retain: bool = False
    needs_labels: bool = True
    needs_train_set: bool = False
    needs_oracles: bool = False

    def default_config(self, **overrides: Any) -> Any:
        """The config dataclass with ``overrides`` (unknown names raise ``TypeError``)."""
        return self.config_cls(**overrides)


METHODS: dict[str, MethodSpec] = {}


def register_method(name: str, *, config: type, needs_retain: bool = False,
                    needs_labels: bool = True, needs_train_set: bool = False,
                    needs_oracles: bool = False) -> Callable:
    """Decorator: register ``fn`` under ``name`` with its config dataclass and declarations."""
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"config must be a dataclass type, got {config!r}")

    def deco(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in METHODS and METHODS[name].fn is not fn:
            raise ValueError(f"name must be unique, got {name!r} which is already registered")
        METHODS[name] = MethodSpec(name=name, fn=fn, config_cls=config,
                                   needs_retain=needs_retain, needs_labels=needs_labels,
                                   needs_train_set=needs_train_set, needs_oracles=needs_oracles)
        fn.spec = METHODS[name]  # type: ignore[attr-defined]
        return fn

    return deco


def _load_builtin() -> None:
    import theorylab.unlearning.baselines  # noqa: F401  (registers the baselines)
    import theorylab.unlearning.dmm  # noqa: F401
    import theorylab.unlearning.iau  # noqa: F401
    import theorylab.unlearning.influence  # noqa: F401
    import theorylab.unlearning.laf  # noqa: F401
    import theorylab.unlearning.modhifi  # noqa: F401
    import theorylab.unlearning.mufac  # noqa: F401
    import theorylab.unlearning.regression  # noqa: F401
    import theorylab.unlearning.sparse  # noqa: F401
    import theorylab.unlearning.ssd  # noqa: F401


def get_method(name: str) -> MethodSpec:
    """The registered method ``name`` (baselines are registered on first use)."""
    _load_builtin()
    if name not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {name!r}")
    return METHODS[name]


def list_methods() -> list[str]:
    _load_builtin()
    return sorted(METHODS)


def check_model(model: Any, data: Any = None, *, name: str = "model",
                data_name: str = "forget.X", trainable: bool = True) -> nn.Module:
    """``model`` itself when the harness can use it with ``data`` (an input tensor).

    Raises
    ------
    TypeError
        ``model`` is not an ``nn.Module``; a floating parameter's dtype differs from a floating
        ``data``'s (integer token inputs are not compared).
    ValueError
        A parameter not on ``data``'s device. With ``trainable`` (a model handed to a
        method): no parameters at all, or any parameter with ``requires_grad=False``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(model).__name__}")
    params = list(model.named_parameters())
    if trainable:
        if not params:
            raise ValueError(f"{name} must have parameters to unlearn, got none")
        frozen = [n for n, p in params if not p.requires_grad]
        if frozen:
            shown = ", ".join(repr(n) for n in frozen[:3]) + (", ..." if len(frozen) > 3 else "")
            raise ValueError(
                f"{name} must have every parameter trainable (requires_grad=True): the methods "
                f"update or score all of them and would silently leave a frozen one out; got "
                f"{len(frozen)} frozen ({shown}). Call {name}.requires_grad_(True) first")
    if isinstance(data, torch.Tensor):
        for n, p in params:
            if p.device != data.device:
                raise ValueError(f"{name} must be on the device of {data_name} ({data.device}), "
                                 f"got parameter {n!r} on {p.device}")
            if data.is_floating_point() and p.is_floating_point() and p.dtype != data.dtype:
                raise TypeError(f"{name} must have the dtype of {data_name} ({data.dtype}), "
                                f"got parameter {n!r} of dtype {p.dtype}")
    return model


def apply_method(method: str | MethodSpec, model: nn.Module, forget: Subset,
                 retain: Subset | None = None, *, config: Any = None,
                 generator: torch.Generator, train_set: Subset | None = None,
                 oracles: Any = None, device=None) -> tuple[nn.Module, float]:
    """Run ``method`` on a deep copy of ``model``, handing over only what it declared.

    Returns ``(unlearned_model, seconds)`` where seconds is the run time of the unlearning call
    alone (RTE) and the model is in eval mode. The method starts from a copy in eval mode,
    whatever mode ``model`` is in. ``config=None`` uses the method's defaults.

    Raises
    ------
    ValueError
        When the method declares an input that is not supplied; ``model`` with a frozen
        parameter or on another device than ``forget.X`` (:func:`check_model`).
    TypeError
        When ``config`` is not the method's config class, ``model`` is not a module or has
        another dtype than ``forget.X``, or the method returns no module.
    """
    spec = method if isinstance(method, MethodSpec) else get_method(method)
    if config is None:
        config = spec.default_config()
    if not isinstance(config, spec.config_cls):
        raise TypeError(f"config must be a {spec.config_cls.__name__} for method "
                        f"{spec.name!r}, got {type(config).__name__}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if not isinstance(forget, Subset):
        raise TypeError(f"forget must be a Subset, got {type(forget).__name__}")
    check_model(model, forget.X)

    def labelled(s: Subset, what: str) -> Subset:
        if spec.needs_labels:
            return s
        return Subset(s.X, Withheld(f"labels of the {what}", spec.name, "needs_labels"))

    def gate(s: Any, what: str, flag: str, needed: bool) -> Any:
        if not needed:
            return Withheld(what, spec.name, flag)
        if s is None:
            raise ValueError(f"{what.replace(' ', '_')} must be given for method {spec.name!r} "
                             f"({flag}=True), got None")
        return labelled(s, what) if isinstance(s, Subset) else s

    args = dict(
        retain=gate(retain, "retain set", "needs_retain", spec.needs_retain),
        train_set=gate(train_set, "training set", "needs_train_set", spec.needs_train_set),
        oracles=gate(oracles, "oracles", "needs_oracles", spec.needs_oracles))
    work = copy.deepcopy(model).eval()
    call = lambda: spec.fn(work, labelled(forget, "forget set"), args["retain"],
                           config=config, generator=generator, train_set=args["train_set"],
                           oracles=args["oracles"])
    out, seconds = timed(call, device=device)
    if not isinstance(out, nn.Module):
        raise TypeError(f"method {spec.name!r} must return an nn.Module, got "
                        f"{type(out).__name__}")
    return out.eval(), seconds
