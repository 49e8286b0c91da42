"""Robust and compact networks: active-submatrix condition numbers of pruned layers,
condition-number / Lipschitz / transformed-ℓ1 penalties, magnitude pruning, and small attacks
(Gaussian noise, FGSM, PGD) — after Feng, Lin, Gao & Wei, "Lipschitz Constant Meets Condition
Number: Learning Robust and Compact Deep Neural Networks" (TSCNC), arXiv:2503.20454 (2025).

Public names:

- NumPy (eager): :func:`active_condition_number`, :class:`ActiveCondition`,
  :func:`active_submatrix`;
- torch (imported lazily): :func:`log_condition_penalty`, :func:`lipschitz_penalty`,
  :func:`transformed_l1`, :func:`magnitude_prune`, :func:`apply_masks`, :func:`fgsm`,
  :func:`pgd`, :func:`gaussian_noise`, :func:`accuracy`.
"""

from __future__ import annotations

import importlib
from typing import Any

from .conditioning import ActiveCondition, active_condition_number, active_submatrix

# public name -> submodule that defines it (torch code, imported on first use)
_LAZY: dict[str, str] = {
    "log_condition_penalty": "penalties",
    "lipschitz_penalty": "penalties",
    "transformed_l1": "penalties",
    "magnitude_prune": "pruning",
    "apply_masks": "pruning",
    "fgsm": "attacks",
    "pgd": "attacks",
    "gaussian_noise": "attacks",
    "accuracy": "attacks",
}

__all__ = ["ActiveCondition", "active_condition_number", "active_submatrix",
           "log_condition_penalty", "lipschitz_penalty", "transformed_l1", "magnitude_prune",
           "apply_masks", "fgsm", "pgd", "gaussian_noise", "accuracy"]


def __getattr__(name: str) -> Any:
    try:
        mod = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'theorylab.robust' has no attribute {name!r}") from None
    return getattr(importlib.import_module(f"theorylab.robust.{mod}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
