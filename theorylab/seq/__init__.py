"""Sequence models (torch): linear RNNs, tensor attention, hyper-connections and neural
execution engines.

Everything here imports torch, so ``theorylab.seq`` is imported only on demand, exactly like
``theorylab.nn``: ``from theorylab.seq import HyperConnection`` imports only the file that
defines it.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it (one name per line).
_LAZY: dict[str, str] = {
    # hyper-connections (shc2026_spectral_sphere_hc)
    "HyperConfig": "hyper",
    "HyperConnection": "hyper",
    "HyperTransformerLM": "hyper",
    "sinkhorn": "hyper",
    "spectral_normalize": "hyper",
    "expand_streams": "hyper",
    "reduce_streams": "hyper",
    "composite_gain": "hyper",
    "stream_similarity": "hyper",
    # neural execution engines (yan2020_nee)
    "NEEConfig": "nee",
    "BinaryNumberEmbedding": "nee",
    "MaskedPointerExecutor": "nee",
    "selection_sort_traces": "nee",
    "SortTraces": "nee",
    "encode_bits": "nee",
    "decode_bits": "nee",
    "min_pointer_loss": "nee",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    try:
        mod = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'theorylab.seq' has no attribute {name!r}") from None
    return getattr(importlib.import_module(f"theorylab.seq.{mod}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
