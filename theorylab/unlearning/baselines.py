"""Standard unlearning baselines, each registered with its declarations.

| name            | definition                                                          |
|-----------------|---------------------------------------------------------------------|
| ``none``        | do nothing (the original model; the "no unlearning" reference)      |
| ``ft``          | fine-tune on D_r only (catastrophic forgetting)                     |
| ``ga``          | gradient ascent on CE(D_f) (NegGrad)                                |
| ``ga_gd``       | β·CE(D_r) − (1 − β)·CE(D_f) per paired batch (NegGrad+ / GradDiff)   |
| ``rl``          | random labels: each epoch one pass over D_f with fresh uniform       |
|                 | labels, then one pass over D_r                                      |
| ``l1_sparse``   | fine-tune on D_r + γ_t‖θ‖₁ with γ_t = γ(1 − t/T) at epoch t          |

All use SGD (momentum and weight decay configurable) with the data order drawn from the
``generator`` handed over by the harness. Defaults follow the public reference code where it
states them (FT 10 epochs lr 0.01; GA 5 epochs lr 1e-4; RL 10 epochs lr 0.013); β of GA+GD and
γ of ℓ1-sparse are not stated there and are project choices (0.95 and 5e-4). On small CPU
models these defaults are a starting point, not tuned values.

References: Jia et al. 2023 (arXiv:2304.04934) for FT, GA, ℓ1-sparse; Kurmanji et al. 2023
(arXiv:2302.09880) for NegGrad+; Fan et al. 2024 (arXiv:2310.12508) for RL.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from theorylab._validation import check_int, check_positive, check_probability
from theorylab.unlearning.methods import Subset, register_method
from theorylab.unlearning.models import epoch_batches

__all__ = ["NoConfig", "SGDConfig", "GAGDConfig", "L1SparseConfig", "do_nothing", "finetune",
           "gradient_ascent", "ga_gd", "random_labels", "l1_sparse"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NoConfig:
    """A method without options."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SGDConfig:
    """SGD options shared by the training baselines."""

    epochs: int = 10
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 64

    def __post_init__(self) -> None:
        check_int(self.epochs, name="epochs", minimum=1)
        check_positive(self.lr, name="lr")
        check_probability(self.momentum, name="momentum")
        check_positive(self.weight_decay, name="weight_decay", strict=False)
        check_int(self.batch_size, name="batch_size", minimum=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class GAConfig(SGDConfig):
    epochs: int = 5
    lr: float = 1e-4


@dataclass(frozen=True, slots=True, kw_only=True)
class RLConfig(SGDConfig):
    lr: float = 0.013


@dataclass(frozen=True, slots=True, kw_only=True)
class GAGDConfig(SGDConfig):
    """``beta`` weighs the retain loss: β·CE(D_r) − (1 − β)·CE(D_f)."""

    epochs: int = 5
    beta: float = 0.95

    def __post_init__(self) -> None:
        SGDConfig.__post_init__(self)
        check_probability(self.beta, name="beta")


@dataclass(frozen=True, slots=True, kw_only=True)
class L1SparseConfig(SGDConfig):
    """``gamma``: ℓ1 weight at the first epoch, decayed linearly to 0 over the epochs."""

    gamma: float = 5e-4

    def __post_init__(self) -> None:
        SGDConfig.__post_init__(self)
        check_positive(self.gamma, name="gamma", strict=False)


def _sgd(model: nn.Module, cfg: SGDConfig) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                           weight_decay=cfg.weight_decay)


def _ce(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(model(X), y)


def _n_classes(model: nn.Module, X: torch.Tensor) -> int:
    with torch.no_grad():
        return int(model(X[:1]).shape[1])


@register_method("none", config=NoConfig, needs_labels=False)
def do_nothing(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """Return the model unchanged (the harness already works on a copy)."""
    return model


def _fit(model, data: Subset, cfg: SGDConfig, generator, *, sign: float = 1.0,
         l1: float = 0.0, opt: torch.optim.Optimizer | None = None,
         epochs: int | None = None) -> None:
    opt = _sgd(model, cfg) if opt is None else opt
    model.train()
    X, y = data.X, data.y
    n_epochs = cfg.epochs if epochs is None else epochs
    for epoch in range(n_epochs):
        gamma_t = l1 * (1 - epoch / n_epochs)
        for idx in epoch_batches(X.shape[0], cfg.batch_size, generator):
            idx = idx.to(X.device)
            opt.zero_grad(set_to_none=True)
            loss = sign * _ce(model, X[idx], y[idx])
            if gamma_t:
                loss = loss + gamma_t * sum(p.abs().sum() for p in model.parameters())
            loss.backward()
            opt.step()
    model.eval()


@register_method("ft", config=SGDConfig, needs_retain=True)
def finetune(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """Fine-tune on D_r only; D_f is never read."""
    _fit(model, retain, config, generator)
    return model


@register_method("ga", config=GAConfig)
def gradient_ascent(model, forget, retain=None, *, config, generator, train_set=None,
                    oracles=None):
    """Gradient ascent on the cross-entropy of D_f (NegGrad)."""
    _fit(model, forget, config, generator, sign=-1.0)
    return model


@register_method("ga_gd", config=GAGDConfig, needs_retain=True)
def ga_gd(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """β·CE(D_r batch) − (1 − β)·CE(D_f batch) on paired batches; an epoch is one pass over
    D_r, the forget batches cycling in their own shuffled order."""
    opt = _sgd(model, config)
    model.train()
    for _ in range(config.epochs):
        r_batches = epoch_batches(len(retain), config.batch_size, generator)
        f_batches = epoch_batches(len(forget), config.batch_size, generator)
        for k, ir in enumerate(r_batches):
            jf = f_batches[k % len(f_batches)].to(forget.X.device)
            ir = ir.to(retain.X.device)
            opt.zero_grad(set_to_none=True)
            loss = (config.beta * _ce(model, retain.X[ir], retain.y[ir])
                    - (1 - config.beta) * _ce(model, forget.X[jf], forget.y[jf]))
            loss.backward()
            opt.step()
    model.eval()
    return model


@register_method("rl", config=RLConfig, needs_retain=True)
def random_labels(model, forget, retain=None, *, config, generator, train_set=None,
                  oracles=None):
    """Each epoch: one pass over D_f with labels drawn uniformly afresh from ``generator``,
    then one pass over D_r with its true labels."""
    K = _n_classes(model, forget.X)
    opt = _sgd(model, config)
    for _ in range(config.epochs):
        fake = torch.randint(K, (len(forget),), generator=generator).to(forget.X.device)
        _fit(model, Subset(forget.X, fake), config, generator, opt=opt, epochs=1)
        _fit(model, retain, config, generator, opt=opt, epochs=1)
    return model


@register_method("l1_sparse", config=L1SparseConfig, needs_retain=True)
def l1_sparse(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """Fine-tune on D_r with the penalty γ_t‖θ‖₁, γ_t = γ(1 − t/T) at epoch t = 0…T−1."""
    _fit(model, retain, config, generator, l1=config.gamma)
    return model
