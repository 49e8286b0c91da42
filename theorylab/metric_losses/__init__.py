"""AnyLoss: confusion-matrix metrics as differentiable losses (Han, Moniz & Chawla 2024).

arXiv:2405.14745. Sigmoid outputs p_i pass through the approximation function
A(p) = 1 / (1 + exp(−L (p − 1/2))); the soft counts TP = Σ a_i y_i, FN = Σ (1 − a_i) y_i,
FP = Σ a_i (1 − y_i), TN = Σ (1 − a_i)(1 − y_i) with a_i = A(p_i) give any confusion-matrix
metric, and the loss is 1 − metric.

Public names:

- NumPy (eager): :func:`confusion_metric` (hard or soft predictions), :func:`tune_threshold`,
  :data:`METRICS`, :func:`imbalanced_dataset`, :class:`BinaryDataset`,
  :func:`split_standardize`, :class:`BinarySplit`;
- torch (imported lazily): :func:`approximation`, :func:`soft_confusion`,
  :class:`SoftConfusion`, :func:`anyloss`, :func:`weighted_bce`, :func:`hybrid_loss`,
  :func:`fit_binary_mlp`, :class:`BinaryMLPFit`.
"""

from __future__ import annotations

import importlib
from typing import Any

from .data import BinaryDataset, BinarySplit, imbalanced_dataset, split_standardize
from .metrics import METRICS, confusion_metric, tune_threshold

# public name -> submodule that defines it (torch code, imported on first use)
_LAZY: dict[str, str] = {
    "approximation": "losses",
    "soft_confusion": "losses",
    "SoftConfusion": "losses",
    "anyloss": "losses",
    "weighted_bce": "losses",
    "hybrid_loss": "losses",
    "fit_binary_mlp": "training",
    "BinaryMLPFit": "training",
}

__all__ = ["METRICS", "confusion_metric", "tune_threshold", "imbalanced_dataset",
           "BinaryDataset", "split_standardize", "BinarySplit", "approximation",
           "soft_confusion", "SoftConfusion", "anyloss", "weighted_bce", "hybrid_loss",
           "fit_binary_mlp", "BinaryMLPFit"]


def __getattr__(name: str) -> Any:
    try:
        mod = _LAZY[name]
    except KeyError:
        raise AttributeError(
            f"module 'theorylab.metric_losses' has no attribute {name!r}") from None
    return getattr(importlib.import_module(f"theorylab.metric_losses.{mod}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
