"""Sequence models: linear RNNs, tensor attention, hyper-connections, neural execution engines.

Everything here imports torch, so ``theorylab.seq`` is imported only on demand (``import
theorylab`` does not import torch). Names are resolved lazily: ``from theorylab.seq import
DeltaNetLayer`` imports only the file that defines it.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it; one name per line.
_LAZY: dict[str, str] = {
    # linear RNNs with negative eigenvalues (grazzi2024_negative_eigenvalues)
    "LinearRNNConfig": "linear_rnn",
    "DiagonalLinearRNN": "linear_rnn",
    "DeltaNetLayer": "linear_rnn",
    "LinearRNNModel": "linear_rnn",
    "diagonal_scan_sequential": "linear_rnn",
    "diagonal_scan_chunked": "linear_rnn",
    "delta_rule_sequential": "linear_rnn",
    "delta_rule_chunked": "linear_rnn",
    "eigenvalue_transform": "linear_rnn",
    # state-tracking tasks (grazzi2024_negative_eigenvalues)
    "StateTrackingBatch": "tasks",
    "parity_task": "tasks",
    "mod_add_task": "tasks",
    "mod_arithmetic_task": "tasks",
    "cycle_navigation_task": "tasks",
    "make_task": "tasks",
    "task_loss": "tasks",
    "sequence_accuracy": "tasks",
    "train_state_tracking": "tasks",
    # tensor attention (alman2023_tensor_attention)
    "tensor_attention_exact": "tensor_attention",
    "tensor_attention_poly": "tensor_attention",
    "tensor_attention_bruteforce": "tensor_attention",
    "poly_feature_dim": "tensor_attention",
    "poly_features": "tensor_attention",
    "poly_error_bound": "tensor_attention",
    "softmax_attention": "tensor_attention",
    "TensorAttention": "tensor_attention",
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
