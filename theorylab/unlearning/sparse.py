"""Prune first, then unlearn: magnitude pruning, unlearners that keep a model's sparsity,
and one-shot influence unlearning.

Jia, Liu, Ram, Yao, Liu, Liu, Sharma & Liu 2023, "Model Sparsity Can Simplify Machine
Unlearning" (NeurIPS 2023, arXiv:2304.04934). Paper symbol ↔ argument:

- m (sparse mask), s (sparsity, the fraction of zero weights) ↔ :func:`omp_masks`
  (``sparsity``), masks as ``{parameter name: bool tensor}`` (True = kept);
- one-shot magnitude pruning (OMP) with rewinding ↔ :func:`prune_and_rewind`: train θ on D,
  rank every Linear/Conv weight by |θ| over all layers together, zero the smallest fraction s,
  rewind the kept weights to their values at epoch ``rewind_epoch`` and train the remaining
  epochs with the mask fixed;
- "unlearning under the mask" (FT, GA on the sparse model, pruned weights stay zero) ↔ the
  methods ``masked_ft`` and ``masked_ga``: the mask is the model's own non-zero pattern, fixed
  with a ``torch.nn.utils.prune`` reparametrisation (weight = weight_orig ⊙ m), so the
  pruned weights are exactly zero in every forward pass and after the call;
- IU (influence unlearning) ↔ ``iu``: one Newton step on the last layer,
  θ_u = θ_o + α (1/n_r) (H_r + λI)⁻¹ Σ_{x∈D_f} ∇ℓ(θ_o; x), with H_r the exact Hessian of the
  mean cross-entropy over D_r with respect to the last layer's weights and biases, solved by
  conjugate gradients on the coordinates the mask keeps (pruned weights stay zero);
- ℓ1-sparse unlearning is the baseline ``l1_sparse`` (:mod:`theorylab.unlearning.baselines`).

For a sum-form convex objective F_r(θ) = Σ_{D_r} ℓ + (c/2)‖θ‖², started from the minimiser of
F_D, the ``iu`` step with λ = c/n_r and α = 1 is exactly one Newton step on F_r (derived), so
its distance to the retrained minimiser is second order in the distance of θ_o to it.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from theorylab._validation import check_int, check_positive, check_probability, check_scalar
from theorylab.unlearning.baselines import GAConfig, SGDConfig, finetune, gradient_ascent
from theorylab.unlearning.methods import register_method
from theorylab.unlearning.models import Recipe, build_model, train_model

__all__ = ["prunable", "omp_masks", "apply_masks", "masks_from_zeros", "sparsity_of",
           "keep_mask", "train_masked", "prune_and_rewind", "IUConfig", "influence_unlearn",
           "masked_finetune", "masked_gradient_ascent"]


def prunable(model: nn.Module) -> dict[str, nn.Parameter]:
    """The weights OMP ranks: every ``nn.Linear`` / ``nn.Conv2d`` weight (biases are kept)."""
    out = {}
    for mname, mod in model.named_modules():
        if isinstance(mod, nn.Linear | nn.Conv2d):
            out[f"{mname}.weight" if mname else "weight"] = mod.weight
    return out


def omp_masks(model: nn.Module, sparsity: float) -> dict[str, torch.Tensor]:
    """Global one-shot magnitude pruning masks (True = kept).

    The ``round(sparsity · N)`` weights of smallest |θ| among all N prunable weights, ranked
    over all layers together, are pruned; ties are broken by position (``torch.topk``).
    """
    sparsity = check_probability(sparsity, name="sparsity")
    params = prunable(model)
    flat = torch.cat([p.detach().abs().ravel() for p in params.values()])
    n_keep = flat.numel() - int(round(sparsity * flat.numel()))
    keep = torch.zeros(flat.numel(), dtype=torch.bool, device=flat.device)
    if n_keep:
        keep[torch.topk(flat, n_keep, sorted=False).indices] = True
    out, start = {}, 0
    for n, p in params.items():
        out[n] = keep[start:start + p.numel()].view_as(p)
        start += p.numel()
    return out


@torch.no_grad()
def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> nn.Module:
    """Zero the pruned weights of ``model`` in place; returns the model."""
    params = prunable(model)
    unknown = sorted(set(masks) - set(params))
    if unknown:
        raise ValueError(f"masks must name prunable weights of the model, got {unknown}")
    for n, m in masks.items():
        if m.shape != params[n].shape:
            raise ValueError(f"masks[{n!r}] must have shape {tuple(params[n].shape)}, got "
                             f"{tuple(m.shape)}")
        params[n].mul_(m.to(params[n].dtype))
    return model


def masks_from_zeros(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's own sparsity pattern: True where a prunable weight is non-zero."""
    return {n: p.detach() != 0 for n, p in prunable(model).items()}


def sparsity_of(model: nn.Module) -> float:
    """Fraction of prunable weights that are exactly zero."""
    ps = list(prunable(model).values())
    return float(sum(int((p == 0).sum()) for p in ps) / sum(p.numel() for p in ps))


@contextlib.contextmanager
def keep_mask(model: nn.Module, masks: dict[str, torch.Tensor] | None = None
              ) -> Iterator[nn.Module]:
    """Within the block, every masked weight is reparametrised as weight_orig ⊙ mask
    (``torch.nn.utils.prune.custom_from_mask``): the pruned weights are zero in every forward
    pass and receive no loss gradient, whatever optimiser runs inside. On exit the
    reparametrisation is removed and the weights are plain parameters again (pruned ones 0).

    ``masks=None`` uses :func:`masks_from_zeros` of the model at entry.
    """
    from torch.nn.utils import prune

    masks = masks_from_zeros(model) if masks is None else masks
    params = prunable(model)
    unknown = sorted(set(masks) - set(params))
    if unknown:
        raise ValueError(f"masks must name prunable weights of the model, got {unknown}")
    mods = []
    for n, m in masks.items():
        mod = model.get_submodule(n.rsplit(".", 1)[0]) if "." in n else model
        order = list(mod._parameters)
        prune.custom_from_mask(mod, "weight", m.to(params[n].device))
        mods.append((mod, order))
    try:
        yield model
    finally:
        for mod, order in mods:
            prune.remove(mod, "weight")
            # prune.remove re-registers ``weight`` last; restore the original order so that
            # parameters() and state_dict() list the weights as before
            for k in order:
                mod._parameters[k] = mod._parameters.pop(k)


def train_masked(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, recipe: Recipe,
                 masks: dict[str, torch.Tensor], generator: torch.Generator) -> nn.Module:
    """:func:`~theorylab.unlearning.models.train_model` with the masked weights held at 0."""
    apply_masks(model, masks)
    with keep_mask(model, masks):
        train_model(model, X, y, recipe=recipe, generator=generator)
    return model


def prune_and_rewind(recipe: Recipe, X: torch.Tensor, y: torch.Tensor, *, n_out: int,
                     sparsity: float, rewind_epoch: int, init_generator: torch.Generator,
                     order_generator: torch.Generator,
                     image_shape: tuple[int, int, int] | None = None
                     ) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """OMP with rewinding: train ``recipe.epochs`` epochs on (X, y), prune the fraction
    ``sparsity`` of smallest-magnitude weights globally, rewind the kept weights to epoch
    ``rewind_epoch`` of that run and train the remaining ``recipe.epochs − rewind_epoch``
    epochs under the mask with a fresh optimiser. ``sparsity = 0`` returns the dense model
    after its full training (identical to :func:`train_model` with the same generators).

    Returns ``(model, masks)``.
    """
    sparsity = check_probability(sparsity, name="sparsity")
    rewind_epoch = check_int(rewind_epoch, name="rewind_epoch", minimum=0,
                             maximum=recipe.epochs)
    model = build_model(recipe, X.shape[1], n_out, generator=init_generator,
                        image_shape=image_shape, device=X.device, dtype=X.dtype)
    init = copy.deepcopy(model.state_dict())
    order_state = order_generator.get_state()
    train_model(model, X, y, recipe=recipe, generator=order_generator)
    if sparsity == 0:
        return model, masks_from_zeros(model)
    masks = omp_masks(model, sparsity)
    # the epoch-``rewind_epoch`` state of that same run: replay its first epochs from the
    # same initial weights and the same data order (bit-for-bit the same iterates)
    replay = torch.Generator().set_state(order_state)
    model.load_state_dict(init)
    train_model(model, X, y, recipe=Recipe(**{**_fields(recipe), "epochs": rewind_epoch}),
                generator=replay)
    rest = Recipe(**{**_fields(recipe), "epochs": recipe.epochs - rewind_epoch})
    train_masked(model, X, y, recipe=rest, masks=masks, generator=order_generator)
    return model, masks


def _fields(recipe: Recipe) -> dict:
    return {f: getattr(recipe, f) for f in recipe.__dataclass_fields__}


@register_method("masked_ft", config=SGDConfig, needs_retain=True)
def masked_finetune(model, forget, retain=None, *, config, generator, train_set=None,
                    oracles=None):
    """FT on D_r with the model's zero pattern fixed (prune first, then fine-tune)."""
    with keep_mask(model):
        finetune(model, forget, retain, config=config, generator=generator)
    return model


@register_method("masked_ga", config=GAConfig)
def masked_gradient_ascent(model, forget, retain=None, *, config, generator, train_set=None,
                           oracles=None):
    """GA on CE(D_f) with the model's zero pattern fixed."""
    with keep_mask(model):
        gradient_ascent(model, forget, retain, config=config, generator=generator)
    return model


@dataclass(frozen=True, slots=True, kw_only=True)
class IUConfig:
    """``damping`` λ added to the Hessian; ``scale`` α multiplies the step; ``tol`` and
    ``max_iter`` of the conjugate-gradient solve (relative residual)."""

    damping: float = 1e-3
    scale: float = 1.0
    tol: float = 1e-10
    max_iter: int = 2000

    def __post_init__(self) -> None:
        check_positive(self.damping, name="damping")
        check_positive(self.scale, name="scale", strict=False)
        check_positive(self.tol, name="tol")
        check_int(self.max_iter, name="max_iter", minimum=1)


def _last_linear(model: nn.Module) -> nn.Linear:
    last = None
    for mod in model.modules():
        if isinstance(mod, nn.Linear):
            last = mod
    if last is None:
        raise TypeError("model must contain an nn.Linear output layer for influence "
                        "unlearning, got none")
    return last


@torch.no_grad()
def _features(model: nn.Module, last: nn.Linear, X: torch.Tensor) -> torch.Tensor:
    """Inputs of the last layer with a column of ones appended: (n, h + 1)."""
    grab: list[torch.Tensor] = []
    h = last.register_forward_pre_hook(lambda _m, inp: grab.append(inp[0].detach()))
    try:
        model.eval()
        model(X)
    finally:
        h.remove()
    phi = grab[-1]
    return torch.cat([phi, torch.ones_like(phi[:, :1])], dim=1)


def influence_unlearn(model: nn.Module, X_forget: torch.Tensor, y_forget: torch.Tensor,
                      X_retain: torch.Tensor, y_retain: torch.Tensor, *, damping: float,
                      scale: float = 1.0, tol: float = 1e-10, max_iter: int = 2000
                      ) -> dict[str, float]:
    """One influence step on the last layer in place (see the module docstring).

    The Hessian-vector product of the mean cross-entropy over D_r uses its closed form
    H V = (1/n_r) Σ_i (diag(p_i) − p_i p_iᵀ) V φ̃_i φ̃_iᵀ with φ̃ = (φ, 1); coordinates that
    the mask prunes (zero weights of the last layer) are fixed at 0. Returns the CG
    diagnostics ``{"n_iter", "residual"}``.
    """
    check_positive(damping, name="damping", strict=False)
    check_scalar(scale, name="scale")
    check_positive(tol, name="tol")
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    last = _last_linear(model)
    W, b = last.weight, last.bias
    with torch.no_grad():
        dt = torch.float64
        keep = torch.cat([(W != 0), torch.ones_like(b, dtype=torch.bool)[:, None]], 1).to(dt)
        phi_r = _features(model, last, X_retain).to(dt)  # (n_r, h+1)
        phi_f = _features(model, last, X_forget).to(dt)  # (n_f, h+1)
        theta = torch.cat([W, b[:, None]], 1).to(dt)  # (K, h+1)
        P_r = torch.softmax(phi_r @ theta.T, 1)  # (n_r, K)
        P_f = torch.softmax(phi_f @ theta.T, 1)
        R_f = P_f.clone()
        R_f[torch.arange(len(y_forget)), y_forget] -= 1.0  # dℓ/dz = p − e_y
        g = (R_f.T @ phi_f) * keep / phi_r.shape[0]  # (1/n_r) Σ_f ∇ℓ, masked

        def hvp(V: torch.Tensor) -> torch.Tensor:
            S = phi_r @ V.T  # (n_r, K)
            T = P_r * S - P_r * (P_r * S).sum(1, keepdim=True)
            return ((T.T @ phi_r) / phi_r.shape[0] + damping * V) * keep

        # conjugate gradients on (H + λI) d = g restricted to the kept coordinates
        d = torch.zeros_like(g)
        r = g.clone()
        p = r.clone()
        rs = float((r * r).sum())
        g_norm = max(float(g.norm()), 1e-300)
        k = 0
        while k < max_iter and rs ** 0.5 > tol * g_norm:
            Ap = hvp(p)
            a = rs / float((p * Ap).sum())
            d += a * p
            r -= a * Ap
            rs_new = float((r * r).sum())
            p = r + (rs_new / rs) * p
            rs = rs_new
            k += 1
        new = theta + scale * d
        W.copy_(new[:, :-1].to(W.dtype) * (W != 0))
        b.copy_(new[:, -1].to(b.dtype))
    return {"n_iter": float(k), "residual": rs ** 0.5 / g_norm}


@register_method("iu", config=IUConfig, needs_retain=True)
def iu(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """Influence unlearning of the last layer (exact Hessian on D_r, CG solve, mask kept)."""
    influence_unlearn(model, forget.X, forget.y, retain.X, retain.y, damping=config.damping,
                      scale=config.scale, tol=config.tol, max_iter=config.max_iter)
    model.eval()
    return model
