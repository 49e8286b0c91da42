"""Selective Synaptic Dampening (SSD): unlearning without any optimiser step.

Foster, Schoepf & Brintrup 2023, "Fast Machine Unlearning Without Retraining Through Selective
Synaptic Dampening" (arXiv:2308.07707). Paper symbol ↔ argument:

- []_D, []_{D_f}: diagonal importances over the training set and the forget set ↔
  :func:`importance` of ``train_set`` and ``forget``;
- α (selection weighting) ↔ ``alpha``; λ (dampening constant) ↔ ``lam``.

Importance of parameter i over a set L, cut into batches of equal size B:
I_L,i = (1/#batches) Σ_batches (∂ CE_batch / ∂θ_i)², the square of each batch-*mean* gradient,
averaged over batches (a diagonal empirical Fisher), with the model in eval mode.
Selection: I_Df,i > α · I_D,i. Dampening: θ_i ← β_i θ_i with β_i = min(λ I_D,i / I_Df,i, 1)
for the selected i; nothing else changes. With λ = 1 every selected weight has
β_i < 1/α, so it shrinks at least α-fold; no weight ever grows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from theorylab._validation import check_int, check_positive
from theorylab.unlearning.methods import Subset, register_method

__all__ = ["SSDConfig", "importance", "ssd_dampen", "ssd"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SSDConfig:
    """``alpha``: selection weighting (10 for ResNet-18 in the paper's code, 5 for ViT);
    ``lam``: dampening constant (1); ``batch_size``: the same for both importance passes, so
    that the two squared batch-mean gradients are on the same scale."""

    alpha: float = 10.0
    lam: float = 1.0
    batch_size: int = 64

    def __post_init__(self) -> None:
        check_positive(self.alpha, name="alpha")
        check_positive(self.lam, name="lam", strict=False)
        check_int(self.batch_size, name="batch_size", minimum=1)


def importance(model: nn.Module, data: Subset, *, batch_size: int = 64
               ) -> dict[str, torch.Tensor]:
    """Diagonal importance per parameter: the mean over consecutive batches of the squared
    gradient of the batch-mean cross-entropy (model in eval mode, labels used)."""
    batch_size = check_int(batch_size, name="batch_size", minimum=1)
    if not isinstance(data, Subset):
        raise TypeError(f"data must be a Subset, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("data must hold at least one sample, got 0")
    was = model.training
    model.eval()
    imp = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    n_batches = 0
    for i in range(0, len(data), batch_size):
        model.zero_grad(set_to_none=True)
        xb, yb = data.X[i:i + batch_size], data.y[i:i + batch_size]
        nn.functional.cross_entropy(model(xb), yb).backward()
        for n, p in model.named_parameters():
            if p.grad is not None:
                imp[n] += p.grad.detach() ** 2
        n_batches += 1
    model.zero_grad(set_to_none=True)
    model.train(was)
    return {n: v / max(n_batches, 1) for n, v in imp.items()}


def _check_importance(imp, model: nn.Module, name: str) -> None:
    if not isinstance(imp, dict):
        raise TypeError(f"{name} must be a dict of importances per parameter name, got "
                        f"{type(imp).__name__}")
    for n, p in model.named_parameters():
        if n not in imp:
            raise ValueError(f"{name} must hold an importance for every parameter of model, "
                             f"missing {n!r}")
        if tuple(imp[n].shape) != tuple(p.shape):
            raise ValueError(f"{name}[{n!r}] must have the parameter's shape {tuple(p.shape)}, "
                             f"got {tuple(imp[n].shape)}")


@torch.no_grad()
def ssd_dampen(model: nn.Module, imp_train: dict[str, torch.Tensor],
               imp_forget: dict[str, torch.Tensor], *, alpha: float, lam: float
               ) -> dict[str, torch.Tensor]:
    """Dampen ``model`` in place; returns the boolean selection mask per parameter.

    Raises
    ------
    ValueError
        ``alpha`` not > 0 or ``lam`` negative (or either not finite); an importance dict
        without an entry of ``model``'s shape for every parameter.
    """
    check_positive(alpha, name="alpha")
    check_positive(lam, name="lam", strict=False)
    for name, imp in (("imp_train", imp_train), ("imp_forget", imp_forget)):
        _check_importance(imp, model, name)
    masks = {}
    for n, p in model.named_parameters():
        i_d, i_f = imp_train[n], imp_forget[n]
        sel = i_f > alpha * i_d
        beta = torch.clamp(lam * i_d / torch.where(sel, i_f, torch.ones_like(i_f)), max=1.0)
        p.mul_(torch.where(sel, beta, torch.ones_like(beta)))
        masks[n] = sel
    return masks


@register_method("ssd", config=SSDConfig, needs_retain=False, needs_train_set=True)
def ssd(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """SSD: two importance passes (D and D_f), then selection and dampening; no training,
    no use of the retain set on its own, no randomness."""
    imp_d = importance(model, train_set, batch_size=config.batch_size)
    imp_f = importance(model, forget, batch_size=config.batch_size)
    ssd_dampen(model, imp_d, imp_f, alpha=config.alpha, lam=config.lam)
    model.eval()
    return model
