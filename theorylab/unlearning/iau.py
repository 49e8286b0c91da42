"""Influence Approximation Unlearning (IAU): forgetting as one incremental-learning step, and
gradient-restricted (GR) training that makes that first-order step accurate.

Liu, Wu, Lian & Chen 2025, "Efficient Machine Unlearning via Influence Approximation"
(arXiv:2507.23257). Paper symbol ↔ argument:

- θ* (trained model) ↔ ``model``; D_f ↔ ``forget``; D_r ↔ ``retain``;
- the unlearning objective of the reference code, L_IAU(θ) = mean_{D_r} CE − mean_{D_f} CE,
  each mean over the whole set (full batch) ↔ :func:`iau_loss`;
- one optimiser step on L_IAU ↔ :func:`iau` (``optimizer="adam"``: a fresh
  ``torch.optim.Adam`` with lr 1e-3, the reference; ``"sgd"``: θ ← θ − η ∇L_IAU);
- GR loss ℓ_GR = L_batch(θ) + α Σ_t ‖∇_{θ_t} L_batch(θ)‖₂ over parameter tensors t, α = 0.005
  ↔ :func:`gr_loss` / :func:`train_model_gr` (double back-propagation).

Why a gradient step (paper's link, derived): with H the Hessian at θ*, removing z moves the
optimum by ≈ (1/n) H⁻¹ ∇ℓ(z; θ*), adding a point z⁺ by ≈ −(1/n) H⁻¹ ∇ℓ(z⁺; θ*); a virtual
point with ∇ℓ(z⁺) = −∇ℓ(z) therefore has the same first-order effect as removing z, and
incremental learning of it is approximated by a gradient step, which drops H⁻¹. The step
direction is right only up to the preconditioner H⁻¹.

A single Adam step from a fresh optimiser moves every coordinate by lr · ĝ/(|ĝ| + ε) after bias
correction, i.e. ≈ −lr · sign(g): a sign-gradient step of size lr (derived).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from theorylab._validation import check_choice, check_positive
from theorylab.unlearning.methods import register_method
from theorylab.unlearning.models import Recipe, epoch_batches, make_adam

__all__ = ["IAUConfig", "iau_loss", "iau", "gr_loss", "train_model_gr", "activation_distance"]


@dataclass(frozen=True, slots=True, kw_only=True)
class IAUConfig:
    """``optimizer``: "adam" (one step of a fresh Adam, the reference code) or "sgd" (one plain
    gradient step); ``lr``: Adam's learning rate or the SGD step size η;
    ``retain_term``: include mean_{D_r} CE in the objective (reference: yes)."""

    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-3
    retain_term: bool = True

    def __post_init__(self) -> None:
        check_choice(self.optimizer, name="optimizer", choices=("adam", "sgd"))
        check_positive(self.lr, name="lr")
        if not isinstance(self.retain_term, bool):
            raise TypeError(f"retain_term must be a bool, got {type(self.retain_term).__name__}")


def iau_loss(model: nn.Module, forget, retain=None) -> torch.Tensor:
    """mean_{D_r} CE − mean_{D_f} CE (the retain mean only when ``retain`` is given)."""
    loss = -nn.functional.cross_entropy(model(forget.X), forget.y)
    if retain is not None:
        loss = loss + nn.functional.cross_entropy(model(retain.X), retain.y)
    return loss


@register_method("iau", config=IAUConfig, needs_retain=True)
def iau(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """One optimiser step on :func:`iau_loss` (full-batch means, model in eval mode as in a
    single deterministic step); no randomness is used."""
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(params, lr=config.lr)
    else:
        opt = torch.optim.SGD(params, lr=config.lr)
    opt.zero_grad(set_to_none=True)
    iau_loss(model, forget, retain if config.retain_term else None).backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return model


def gr_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, alpha: float
            ) -> torch.Tensor:
    """Batch-mean CE + α Σ_t ‖∂CE/∂θ_t‖₂, the sum over parameter tensors, differentiable in θ
    (``create_graph=True``: its gradient needs a second backward pass)."""
    check_positive(alpha, name="alpha", strict=False)
    ce = nn.functional.cross_entropy(model(X), y)
    if alpha == 0:
        return ce
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(ce, params, create_graph=True)
    return ce + alpha * sum(g.norm() for g in grads)


def train_model_gr(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, recipe: Recipe,
                   alpha: float, generator: torch.Generator) -> nn.Module:
    """:func:`~theorylab.unlearning.models.train_model` with the GR loss in place of the CE
    (the same Adam, batches and data order; ``alpha = 0`` reproduces it exactly)."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    alpha = check_positive(alpha, name="alpha", strict=False)
    if recipe.task != "classification":
        raise ValueError(f"recipe.task must be 'classification', got {recipe.task!r}")
    opt = make_adam(list(model.parameters()), recipe)
    was = model.training
    model.train()
    for _ in range(recipe.epochs):
        for idx in epoch_batches(X.shape[0], recipe.batch_size, generator):
            idx = idx.to(X.device)
            opt.zero_grad(set_to_none=True)
            gr_loss(model, X[idx], y[idx], alpha=alpha).backward()
            opt.step()
    model.train(was)
    return model


def activation_distance(probs_unlearned, probs_retrained) -> float:
    """Mean over points of ‖p_u(x) − p_r(x)‖₂ (rows are probability vectors; p_r may be the
    mean prediction of a retrained ensemble)."""
    import numpy as np

    a = np.asarray(probs_unlearned, dtype=np.float64)
    b = np.asarray(probs_retrained, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"probs_unlearned and probs_retrained must have the same (n, K) shape, "
                         f"got {a.shape} and {b.shape}")
    return float(np.linalg.norm(a - b, axis=1).mean())
