"""Datamodel Matching (DMM) and Oracle Matching (OM): unlearning by regressing the model's
logits onto predicted (or real) retrained-model logits.

Georgiev, Rinberg, Park, Garg, Ilyas, Mądry & Neel 2024, "Attribute-to-Delete: Machine
Unlearning via Datamodel Matching" (arXiv:2410.23232; ICLR 2025 as "Machine Unlearning via
Simulated Oracle Matching"). Paper symbol ↔ argument:

- θ_o, the trained model ↔ ``model``; F ↔ ``forget``; β ↔ ``config.attribution``
  (:class:`~theorylab.unlearning.attribution.Datamodels`); c ↔ ``config.multiplier``;
- simulated oracle (DM-Direct) f̂(x) = f_θo(x) − c · Σ_{i∈F} β_i(x) ↔ :func:`simulated_oracle`;
- S = F repeated ``forget_multiplier`` times ∪ a random retain sample of
  ``retain_multiplier`` · |F| points ↔ :func:`matching_set`;
- the matching objective (1/|S|) Σ_{x∈S} ‖f_θ(x) − f̂(x)‖² (+ λ‖θ − θ_o‖²) ↔
  :func:`match_outputs`, Adam with learning rate ``lr`` multiplied by ``lr_decay`` after
  every epoch (reference defaults: lr 5e-4, 5 epochs, batch 512, decay 0.95, λ = 0).

OM runs the same loop with target = the mean logits of ``num_oracles`` real retrained models
(the harness hands them over only to a method that declares ``needs_oracles``).
Neither method reads labels: the loss is a regression on logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from theorylab._validation import check_int, check_positive, check_scalar
from theorylab.unlearning.attribution import Datamodels, row_indices
from theorylab.unlearning.methods import register_method
from theorylab.unlearning.models import epoch_batches, predict_logits

__all__ = ["MatchingConfig", "DMMConfig", "OMConfig", "matching_set", "match_outputs",
           "simulated_oracle", "dmm", "oracle_matching"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchingConfig:
    """Options of the matching loop shared by DMM and OM (reference-code defaults)."""

    forget_multiplier: float = 1.0
    retain_multiplier: float = 3.0
    lr: float = 5e-4
    epochs: int = 5
    batch_size: int = 512
    lr_decay: float = 0.95
    penalty: float = 0.0

    def __post_init__(self) -> None:
        check_positive(self.forget_multiplier, name="forget_multiplier", strict=False)
        check_positive(self.retain_multiplier, name="retain_multiplier", strict=False)
        if self.forget_multiplier == 0 and self.retain_multiplier == 0:
            raise ValueError("forget_multiplier + retain_multiplier must be > 0, got 0 and 0")
        check_positive(self.lr, name="lr")
        check_int(self.epochs, name="epochs", minimum=0)
        check_int(self.batch_size, name="batch_size", minimum=1)
        check_scalar(self.lr_decay, name="lr_decay", lower=0.0, upper=1.0,
                     lower_inclusive=False)
        check_positive(self.penalty, name="penalty", strict=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class DMMConfig(MatchingConfig):
    """``attribution``: datamodels fitted on the training set the model was trained on
    (required); ``multiplier``: c in f̂ = f_θo − c Σ_F β."""

    attribution: Datamodels | None = None
    multiplier: float = 1.0

    def __post_init__(self) -> None:
        MatchingConfig.__post_init__(self)
        if not isinstance(self.attribution, Datamodels):
            raise TypeError(f"attribution must be a Datamodels (fit_datamodels / "
                            f"datamodel_attribution), got {type(self.attribution).__name__}")
        check_positive(self.multiplier, name="multiplier", strict=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class OMConfig(MatchingConfig):
    """``num_oracles``: how many of the handed-over oracles are averaged into the target."""

    num_oracles: int = 10

    def __post_init__(self) -> None:
        MatchingConfig.__post_init__(self)
        check_int(self.num_oracles, name="num_oracles", minimum=1)


def matching_set(n_forget: int, n_retain: int, *, forget_multiplier: float,
                 retain_multiplier: float, generator: torch.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(forget_pos, retain_pos)`` of S: F cycled to ``round(forget_multiplier·|F|)``
    entries (a fresh permutation per pass) and ``round(retain_multiplier·|F|)`` distinct retain
    positions, both drawn from ``generator``."""
    n_forget = check_int(n_forget, name="n_forget", minimum=1)
    n_retain = check_int(n_retain, name="n_retain", minimum=0)
    check_positive(forget_multiplier, name="forget_multiplier", strict=False)
    check_positive(retain_multiplier, name="retain_multiplier", strict=False)
    n_f = int(round(forget_multiplier * n_forget))
    n_r = int(round(retain_multiplier * n_forget))
    if n_r > n_retain:
        raise ValueError(f"retain_multiplier * |F| must be <= |D_r| = {n_retain}, got {n_r}")
    passes = [torch.randperm(n_forget, generator=generator) for _ in range(-(-n_f // n_forget))]
    f_pos = torch.cat(passes)[:n_f] if passes else torch.empty(0, dtype=torch.long)
    r_pos = torch.randperm(n_retain, generator=generator)[:n_r]
    return f_pos.numpy(), r_pos.numpy()


def match_outputs(model: nn.Module, X: torch.Tensor, target: torch.Tensor, *,
                  config: MatchingConfig, generator: torch.Generator) -> nn.Module:
    """Minimise (1/|S|) Σ ‖f_θ(x) − target(x)‖² + penalty·‖θ − θ_start‖² over ``(X, target)``
    with Adam (lr × lr_decay after each epoch), minibatches in a fresh order every epoch.
    Modifies ``model`` in place and returns it (in eval mode)."""
    if target.shape[0] != X.shape[0]:
        raise ValueError(f"target must have {X.shape[0]} rows, got {target.shape[0]}")
    start = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=config.lr_decay)
    target = target.to(device=X.device, dtype=X.dtype)
    model.train()
    for _ in range(config.epochs):
        for idx in epoch_batches(X.shape[0], config.batch_size, generator):
            idx = idx.to(X.device)
            opt.zero_grad(set_to_none=True)
            loss = ((model(X[idx]) - target[idx]) ** 2).sum(1).mean()
            if config.penalty:
                loss = loss + config.penalty * sum(((p - p0) ** 2).sum() for p, p0 in
                                                   zip(model.parameters(), start, strict=True))
            loss.backward()
            opt.step()
        sched.step()
    model.eval()
    return model


def simulated_oracle(base_logits, attribution: Datamodels, forget_idx, points, *,
                     multiplier: float = 1.0) -> np.ndarray:
    """DM-Direct: f̂(x) = f_θo(x) − c Σ_{i∈F} β_i(x) at the attribution points ``points``,
    given the original model's logits ``base_logits`` there (``(len(points), K)``)."""
    eff = attribution.effect(forget_idx)[np.asarray(points, dtype=np.int64)]
    base = np.asarray(base_logits, dtype=np.float64)
    if base.shape != eff.shape:
        raise ValueError(f"base_logits must have shape {eff.shape}, got {base.shape}")
    return base - multiplier * eff


@register_method("dmm", config=DMMConfig, needs_retain=True, needs_labels=False,
                 needs_train_set=True)
def dmm(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """Datamodel Matching: fine-tune θ_o towards the simulated oracle on S.

    The training set is read only to locate D_f and the retain sample among the rows the
    datamodels were fitted on; no labels are read.
    """
    att = config.attribution
    if len(train_set) != att.n_train:
        raise ValueError(f"train_set must have the attribution's {att.n_train} rows, got "
                         f"{len(train_set)}")
    f_idx = row_indices(train_set.X, forget.X, name="forget")
    f_pos, r_pos = matching_set(len(forget), len(retain),
                                forget_multiplier=config.forget_multiplier,
                                retain_multiplier=config.retain_multiplier, generator=generator)
    r_idx = row_indices(train_set.X, retain.X[torch.as_tensor(r_pos, device=retain.X.device)],
                        name="retain", exclude=f_idx)
    points = np.r_[f_idx[f_pos], r_idx]
    XS = torch.cat([forget.X[torch.as_tensor(f_pos, device=forget.X.device)],
                    retain.X[torch.as_tensor(r_pos, device=retain.X.device)]])
    base = predict_logits(model, XS).double().cpu().numpy()
    target = simulated_oracle(base, att, f_idx, points, multiplier=config.multiplier)
    return match_outputs(model, XS, torch.as_tensor(target), config=config, generator=generator)


@register_method("om", config=OMConfig, needs_retain=True, needs_labels=False,
                 needs_oracles=True)
def oracle_matching(model, forget, retain=None, *, config, generator, train_set=None,
                    oracles=None):
    """Oracle Matching: the same loop with target = the mean logits of the first
    ``num_oracles`` oracles (an :class:`~theorylab.unlearning.oracle.Ensemble` or a sequence of
    modules); the oracles must not be the ones the result is evaluated against."""
    f_pos, r_pos = matching_set(len(forget), len(retain),
                                forget_multiplier=config.forget_multiplier,
                                retain_multiplier=config.retain_multiplier, generator=generator)
    XS = torch.cat([forget.X[torch.as_tensor(f_pos, device=forget.X.device)],
                    retain.X[torch.as_tensor(r_pos, device=retain.X.device)]])
    if hasattr(oracles, "logits"):
        if oracles.n_models < config.num_oracles:
            raise ValueError(f"num_oracles must be <= the {oracles.n_models} oracles given, "
                             f"got {config.num_oracles}")
        target = oracles.logits(XS)[:config.num_oracles].mean(0)
    else:
        mods = list(oracles)
        if len(mods) < config.num_oracles:
            raise ValueError(f"num_oracles must be <= the {len(mods)} oracles given, got "
                             f"{config.num_oracles}")
        target = torch.stack([predict_logits(m, XS) for m in mods[:config.num_oracles]]).mean(0)
    return match_outputs(model, XS, target, config=config, generator=generator)
