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
| ``salun``       | RL restricted to the top-``sparsity`` weights by forget-gradient size |
| ``scrub``       | teacher θ_o, student copy: max KL on D_f, min γCE + αKL on D_r       |
| ``bad_teacher`` | distil θ_o on D_r and a random network on D_f (no labels used)       |

All use SGD (momentum and weight decay configurable) with the data order drawn from the
``generator`` handed over by the harness. Defaults follow the public reference code where it
states them (FT 10 epochs lr 0.01; GA 5 epochs lr 1e-4; RL 10 epochs lr 0.013); β of GA+GD and
γ of ℓ1-sparse are not stated there and are project choices (0.95 and 5e-4). On small CPU
models these defaults are a starting point, not tuned values.

SalUn: the mask keeps the weights whose accumulated forget-loss gradient magnitude is in the
top ``sparsity`` fraction, ranked over all weights together; other weights are reset to θ_o
after every step. SCRUB (small-scale defaults): Adam lr 5e-4, T = 2, γ = 1, α = 0.5, max steps
in the first 3 of 10 epochs, KL with T² scaling. Bad-Teacher: Adam lr 1e-4, 1 epoch, T = 1,
on D_f and a 30 % sample of D_r.

References: Jia et al. 2023 (arXiv:2304.04934) for FT, GA, ℓ1-sparse; Kurmanji et al. 2023
(arXiv:2302.09880) for NegGrad+ and SCRUB; Fan et al. 2024 (arXiv:2310.12508) for RL and SalUn;
Chundawat et al. 2023 (arXiv:2205.08096) for Bad-Teacher.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from theorylab._validation import check_int, check_positive, check_probability
from theorylab.unlearning.methods import Subset, register_method
from theorylab.unlearning.models import epoch_batches

__all__ = ["NoConfig", "SGDConfig", "GAConfig", "RLConfig", "GAGDConfig", "L1SparseConfig",
           "SalUnConfig", "SCRUBConfig", "BadTeacherConfig", "do_nothing", "finetune",
           "gradient_ascent", "ga_gd", "random_labels", "l1_sparse", "salun", "scrub",
           "bad_teacher", "reinitialise"]


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


@dataclass(frozen=True, slots=True, kw_only=True)
class SalUnConfig(SGDConfig):
    """``sparsity``: fraction of weights (ranked globally) that RL may change."""

    lr: float = 0.013
    sparsity: float = 0.5

    def __post_init__(self) -> None:
        SGDConfig.__post_init__(self)
        check_probability(self.sparsity, name="sparsity")


def saliency_mask(model: nn.Module, forget: Subset, *, sparsity: float,
                  batch_size: int = 256) -> dict[str, torch.Tensor]:
    """Boolean masks of the top-``sparsity`` weights by |Σ_batches ∇θ(−CE(D_f batch))|,
    ranked over all parameters together (ties broken by position)."""
    check_probability(sparsity, name="sparsity")
    batch_size = check_int(batch_size, name="batch_size", minimum=1)
    if len(forget) == 0:
        raise ValueError("forget must hold at least one sample, got 0")
    model.zero_grad(set_to_none=True)
    for i in range(0, len(forget), batch_size):
        (-_ce(model, forget.X[i:i + batch_size], forget.y[i:i + batch_size])).backward()
    named = [(n, p) for n, p in model.named_parameters()]
    flat = torch.cat([p.grad.abs().ravel() for _, p in named])
    k = int(round(sparsity * flat.numel()))
    keep = torch.zeros(flat.numel(), dtype=torch.bool, device=flat.device)
    if k:
        keep[torch.topk(flat, k, sorted=False).indices] = True
    model.zero_grad(set_to_none=True)
    out, start = {}, 0
    for n, p in named:
        out[n] = keep[start:start + p.numel()].view_as(p)
        start += p.numel()
    return out


@register_method("salun", config=SalUnConfig, needs_retain=True)
def salun(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """Random labelling restricted to salient weights; the others stay at θ_o."""
    mask = saliency_mask(model, forget, sparsity=config.sparsity)
    theta_o = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = _sgd(model, config)
    K = _n_classes(model, forget.X)

    def step_hook():
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(torch.where(mask[n], p, theta_o[n]))

    for _ in range(config.epochs):
        fake = torch.randint(K, (len(forget),), generator=generator).to(forget.X.device)
        for data in (Subset(forget.X, fake), retain):
            model.train()
            for idx in epoch_batches(len(data), config.batch_size, generator):
                idx = idx.to(data.X.device)
                opt.zero_grad(set_to_none=True)
                _ce(model, data.X[idx], data.y[idx]).backward()
                for n, p in model.named_parameters():
                    p.grad.mul_(mask[n])
                opt.step()
                step_hook()
    model.eval()
    return model


def _kl_t(student_logits: torch.Tensor, teacher_logits: torch.Tensor, T: float) -> torch.Tensor:
    """KL(softmax(teacher/T) ‖ softmax(student/T)) · T², batch mean."""
    ls = nn.functional.log_softmax(student_logits / T, dim=1)
    lt = nn.functional.log_softmax(teacher_logits / T, dim=1)
    return nn.functional.kl_div(ls, lt, reduction="batchmean", log_target=True) * T * T


@dataclass(frozen=True, slots=True, kw_only=True)
class SCRUBConfig:
    epochs: int = 10
    max_epochs: int = 3
    lr: float = 5e-4
    weight_decay: float = 0.1
    T: float = 2.0
    gamma: float = 1.0
    alpha: float = 0.5
    batch_size_forget: int = 32
    batch_size_retain: int = 128

    def __post_init__(self) -> None:
        check_int(self.epochs, name="epochs", minimum=1)
        check_int(self.max_epochs, name="max_epochs", minimum=0)
        check_positive(self.lr, name="lr")
        check_positive(self.weight_decay, name="weight_decay", strict=False)
        check_positive(self.T, name="T")
        check_positive(self.gamma, name="gamma", strict=False)
        check_positive(self.alpha, name="alpha", strict=False)
        check_int(self.batch_size_forget, name="batch_size_forget", minimum=1)
        check_int(self.batch_size_retain, name="batch_size_retain", minimum=1)


@register_method("scrub", config=SCRUBConfig, needs_retain=True)
def scrub(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """SCRUB: the optimiser is built on the *student's* parameters; the teacher is a frozen
    copy of θ_o. Max steps (−KL on D_f) in the first ``max_epochs`` epochs, min steps
    (γ·CE + α·KL on D_r) every epoch."""
    import copy

    teacher = copy.deepcopy(model).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    for epoch in range(config.epochs):
        model.train()
        if epoch < config.max_epochs:
            for idx in epoch_batches(len(forget), config.batch_size_forget, generator):
                xb = forget.X[idx.to(forget.X.device)]
                opt.zero_grad(set_to_none=True)
                (-_kl_t(model(xb), teacher(xb), config.T)).backward()
                opt.step()
        for idx in epoch_batches(len(retain), config.batch_size_retain, generator):
            idx = idx.to(retain.X.device)
            xb, yb = retain.X[idx], retain.y[idx]
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = config.gamma * nn.functional.cross_entropy(out, yb)
            loss = loss + config.alpha * _kl_t(out, teacher(xb), config.T)
            loss.backward()
            opt.step()
    model.eval()
    return model


@dataclass(frozen=True, slots=True, kw_only=True)
class BadTeacherConfig:
    epochs: int = 1
    lr: float = 1e-4
    T: float = 1.0
    retain_fraction: float = 0.3
    batch_size: int = 256

    def __post_init__(self) -> None:
        check_int(self.epochs, name="epochs", minimum=1)
        check_positive(self.lr, name="lr")
        check_positive(self.T, name="T")
        check_probability(self.retain_fraction, name="retain_fraction")
        check_int(self.batch_size, name="batch_size", minimum=1)


def reinitialise(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """A copy of ``model`` with every Linear/Conv weight and bias redrawn
    ``~ U(−1/√fan_in, 1/√fan_in)`` from ``generator`` (an "incompetent" network)."""
    import copy
    import math

    out = copy.deepcopy(model)
    with torch.no_grad():
        for mod in out.modules():
            if isinstance(mod, nn.Linear | nn.Conv2d):
                bound = 1.0 / math.sqrt(mod.weight[0].numel())
                for p in (mod.weight, mod.bias):
                    u = torch.rand(p.shape, generator=generator, dtype=torch.float64)
                    p.copy_((u * 2 * bound - bound).to(p))
    return out.eval()


@register_method("bad_teacher", config=BadTeacherConfig, needs_retain=True, needs_labels=False)
def bad_teacher(model, forget, retain=None, *, config, generator, train_set=None,
                oracles=None):
    """Distil the competent teacher θ_o on a ``retain_fraction`` sample of D_r and a randomly
    initialised teacher on D_f, with KL(teacher/T ‖ student/T); no labels are read."""
    import copy

    good = copy.deepcopy(model).eval()
    bad = reinitialise(model, generator)
    n_r = max(1, int(round(config.retain_fraction * len(retain))))
    keep = torch.randperm(len(retain), generator=generator)[:n_r].to(retain.X.device)
    X = torch.cat([retain.X[keep], forget.X])
    is_forget = torch.cat([torch.zeros(n_r, dtype=torch.bool),
                           torch.ones(len(forget), dtype=torch.bool)]).to(X.device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    for _ in range(config.epochs):
        model.train()
        for idx in epoch_batches(X.shape[0], config.batch_size, generator):
            idx = idx.to(X.device)
            xb = X[idx]
            with torch.no_grad():
                target = torch.where(is_forget[idx, None], bad(xb), good(xb))
            opt.zero_grad(set_to_none=True)
            _kl_t(model(xb), target, config.T).div(config.T * config.T).backward()
            opt.step()
    model.eval()
    return model
