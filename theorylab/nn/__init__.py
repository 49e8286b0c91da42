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
    # RandLoRA (albert2025_randlora)
    "RandLoRAConfig": "randlora",
    "RandLoRABasisBank": "randlora",
    "RandLoRALinear": "randlora",
    "randlora_num_terms": "randlora",
    # Monarch (dao2022_monarch)
    "MonarchConfig": "monarch",
    "MonarchLinear": "monarch",
    "monarch_multiply": "monarch",
    "monarch_dense": "monarch",
    "project_to_monarch": "monarch",
    "monarch_shapes": "monarch",
    # SLTrain (han2024_sltrain)
    "SLTrainConfig": "sltrain",
    "SparsePlusLowRankLinear": "sltrain",
    "sltrain_num_parameters": "sltrain",
    # SVFit / SST / KIND (sun2024_svfit, zhao2024_sst, xie2024_kind)
    "SVDLinear": "svd",
    "SSTLinear": "svd",
    "GatedSVDLinear": "svd",
    "rank_for_energy": "svd",
    "reset_optimizer_state": "svd",
    # WeLore (jaiswal2024_welore)
    "normalized_spectrum": "welore",
    "allocate_ranks": "welore",
    "RankAllocation": "welore",
    "FactorizedLinear": "welore",
    "compress_model": "welore",
    "CompressionReport": "welore",
    # SVD-free (DCT) low-rank gradients (modoranu2025_dct_lowrank)
    "dct_matrix": "galore",
    "dct_ii": "galore",
    "SVDProjector": "galore",
    "DCTProjector": "galore",
    "RandomProjector": "galore",
    "make_projector": "galore",
    "projection_energy": "galore",
    "LowRankAdam": "galore",
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
