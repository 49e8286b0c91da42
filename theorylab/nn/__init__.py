"""Torch modules reproducing the claims of deep-learning papers (CPU and CUDA).

Everything here imports torch, so ``theorylab.nn`` is imported only on demand.
Names are resolved lazily: ``from theorylab.nn import LoRALinear`` imports only the
file that defines it.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it; submodules add their names here.
_LAZY: dict[str, str] = {
    "LoRALinear": "lora",
    "count_parameters": "training",
    "resolve_device": "training",
    "make_generator": "training",
    "train_steps": "training",
    "TrainHistory": "training",
    "over_seeds": "training",
    "load_digits_tensors": "data",
    "load_fashion_mnist": "data",
    "FashionMNISTMissing": "data",
    "char_corpus": "data",
    "char_batches": "data",
}

__all__ = sorted(_LAZY)


def _register(names: dict[str, str]) -> None:
    _LAZY.update(names)


def __getattr__(name: str) -> Any:
    try:
        mod = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'theorylab.nn' has no attribute {name!r}") from None
    return getattr(importlib.import_module(f"theorylab.nn.{mod}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
