"""Per-layer magnitude pruning with masks that survive fine-tuning (torch)."""

from __future__ import annotations

import torch
from torch import nn

from theorylab._validation import check_scalar

__all__ = ["magnitude_prune", "apply_masks"]


def _prunable(model: nn.Module) -> dict[str, nn.Parameter]:
    return {f"{name}.weight": m.weight for name, m in model.named_modules()
            if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d)}


def magnitude_prune(model: nn.Module, *, rate: float) -> dict[str, torch.Tensor]:
    """Zero the fraction ``rate`` of smallest-magnitude weights of every Linear/Conv layer.

    Each layer loses ``round(rate · numel)`` entries (ties broken by position, so exactly that
    many). Biases are kept. Returns the boolean keep-masks by parameter name; re-apply them
    after each optimiser step with :func:`apply_masks` so pruned entries stay exactly zero.

    Examples
    --------
    >>> import torch
    >>> lin = torch.nn.Linear(2, 2)
    >>> _ = lin.weight.data.copy_(torch.tensor([[0.1, -3.0], [2.0, 0.2]]))
    >>> masks = magnitude_prune(lin, rate=0.5)
    >>> lin.weight.detach().tolist()
    [[0.0, -3.0], [2.0, 0.0]]
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    rate = check_scalar(rate, name="rate", lower=0.0, upper=1.0, upper_inclusive=False)
    params = _prunable(model)
    if not params:
        raise ValueError("model must contain at least one Linear or Conv layer, got none")
    masks = {}
    with torch.no_grad():
        for name, w in params.items():
            k = int(round(rate * w.numel()))
            keep = torch.ones(w.numel(), dtype=torch.bool, device=w.device)
            if k > 0:
                idx = torch.argsort(w.detach().abs().flatten(), stable=True)[:k]
                keep[idx] = False
            keep = keep.view_as(w)
            w.mul_(keep)
            masks[name] = keep
    return masks


def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Set the pruned entries (mask False) of ``model``'s weights back to zero, in place."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, keep in masks.items():
            if name not in params:
                raise ValueError(f"masks must name parameters of model, got {name!r}")
            if keep.shape != params[name].shape:
                raise ValueError(f"masks[{name!r}] must have shape "
                                 f"{tuple(params[name].shape)}, got {tuple(keep.shape)}")
            params[name].mul_(keep)
