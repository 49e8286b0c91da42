"""Deep regression unlearning: Blindspot unlearning, Gaussian fine-tuning and L1 baselines.

Tarun, Chundawat, Mandal & Kankanhalli 2023, "Deep Regression Unlearning" (ICML 2023,
arXiv:2210.08196). Paper symbol ↔ argument:

- f (model being unlearned, starts at θ_o) ↔ ``model``; g (Blindspot proxy) ↔
  :func:`train_proxy`'s result;
- D_f, D_r ↔ ``forget``, ``retain``; u (forget flag of a sample) ↔ the mask built from the
  concatenated set; c = (#forget in the batch) / (batch size);
- A_l (intermediate activations) ↔ the outputs of every ``nn.ReLU`` module of the model
  (:func:`forward_with_activations`); β (attention-transfer weight) ↔ ``beta`` (50).

Unlearning loss on one minibatch B mixing retain and forget samples (reference code
``unlearn.py``), with c = |B ∩ D_f| / |B|::

    L = (1 − c) · L1(f(x_r), y_r)
        + c · [ L1(f(x_f), g(x_f)) + β Σ_l mean‖a(A_l^f(x_f)) − a(A_l^g(x_f))‖² ]

where a(A) = L2-normalise(mean over channels of A², flattened) per sample (attention transfer).
For an MLP the activation of a layer is a vector of units; it is treated as one channel per
unit position, so a(h) = h² / ‖h²‖₂ over the units (for a (B, units) tensor the reference
formula would average the units away and leave a constant). The L1 terms are batch means over
the retain (resp. forget) rows of the batch; the attention term is the mean over forget rows and
positions of the squared difference, as in the reference ``attention_diff``.

The proxy g is a freshly initialised copy of the architecture trained briefly on (a fraction
of) D_r with L1 loss; it has never seen D_f. Gaussian fine-tuning replaces every forget target
by a draw from N(mean, std) of the training targets (D_r ∪ D_f) and fine-tunes on D_r and the
relabelled D_f together (reference notebook: one draw, one epoch, Adam 1e-3).

All methods here use Adam, the L1 loss of the reference code, and take ``out[:, 0]`` of the
model as the prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from theorylab._validation import check_int, check_positive, check_scalar
from theorylab.unlearning.baselines import reinitialise
from theorylab.unlearning.methods import Subset, register_method
from theorylab.unlearning.models import epoch_batches

__all__ = ["BlindspotConfig", "GaussianFTConfig", "RegressionFTConfig", "RegressionGAConfig",
           "forward_with_activations", "attention_map", "attention_diff", "blindspot_loss",
           "train_proxy", "blindspot", "gaussian_finetune", "regression_finetune",
           "regression_gradient_ascent"]


def _check_common(cfg, *, epochs_min: int = 1) -> None:
    check_int(cfg.epochs, name="epochs", minimum=epochs_min)
    check_positive(cfg.lr, name="lr")
    check_int(cfg.batch_size, name="batch_size", minimum=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class BlindspotConfig:
    """Blindspot options.

    ``proxy_epochs``, ``proxy_fraction``, ``proxy_lr``: the proxy g is trained for this many
    epochs on a random ``proxy_fraction`` of D_r with Adam(``proxy_lr``) and L1 loss;
    ``epochs``, ``lr``, ``batch_size``: the unlearning pass over D_f ∪ D_r (shuffled together,
    so forget samples land in batches in proportion to the set sizes); ``beta``: the weight of
    the attention-transfer term (50 in the reference code; 0 switches it off).
    Defaults follow the reference AgeDB notebook: proxy 2 epochs on all of D_r at lr 1e-2
    (its ``fit_one_cycle`` default), one unlearning epoch at lr 1e-3.
    """

    proxy_epochs: int = 2
    proxy_fraction: float = 1.0
    proxy_lr: float = 1e-2
    epochs: int = 1
    lr: float = 1e-3
    beta: float = 50.0
    batch_size: int = 64

    def __post_init__(self) -> None:
        _check_common(self)
        check_int(self.proxy_epochs, name="proxy_epochs", minimum=1)
        check_scalar(self.proxy_fraction, name="proxy_fraction", lower=0.0, upper=1.0,
                     lower_inclusive=False)
        check_positive(self.proxy_lr, name="proxy_lr")
        check_positive(self.beta, name="beta", strict=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class GaussianFTConfig:
    """Gaussian fine-tuning: ``epochs`` passes of Adam(``lr``) over D_r ∪ D_f with the forget
    targets replaced by draws from N(mean, std) of the training targets; ``redraw`` draws
    fresh targets every epoch (``False``: one draw, as in the reference notebook)."""

    epochs: int = 1
    lr: float = 1e-3
    batch_size: int = 64
    redraw: bool = False

    def __post_init__(self) -> None:
        _check_common(self)
        if not isinstance(self.redraw, bool):
            raise TypeError(f"redraw must be a bool, got {type(self.redraw).__name__}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RegressionFTConfig:
    """Fine-tune on D_r with L1 loss and Adam (reference notebook: 5 epochs, lr 1e-3)."""

    epochs: int = 5
    lr: float = 1e-3
    batch_size: int = 64

    def __post_init__(self) -> None:
        _check_common(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegressionGAConfig:
    """Gradient ascent on the L1 loss of D_f with Adam (project defaults: 5 epochs, 1e-4)."""

    epochs: int = 5
    lr: float = 1e-4
    batch_size: int = 64

    def __post_init__(self) -> None:
        _check_common(self)


def forward_with_activations(model: nn.Module, X: torch.Tensor
                             ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``(model(X), [A_1, …, A_L])`` where A_l is the output of the l-th ``nn.ReLU`` module
    (in registration order), captured with forward hooks; gradients flow through them."""
    acts: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: acts.append(out))
             for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        out = model(X)
    finally:
        for h in hooks:
            h.remove()
    return out, acts


def attention_map(A: torch.Tensor) -> torch.Tensor:
    """a(A) per sample: mean over channels of A² (dimension 1) for ``(B, C, …)`` maps, A²
    itself for ``(B, units)`` vectors, flattened and L2-normalised → ``(B, positions)``."""
    sq = A.pow(2)
    if sq.ndim > 2:
        sq = sq.mean(1)
    return nn.functional.normalize(sq.reshape(sq.shape[0], -1), dim=1)


def attention_diff(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """mean over samples and positions of (a(A) − a(B))²."""
    return (attention_map(A) - attention_map(B)).pow(2).mean()


def blindspot_loss(out: torch.Tensor, acts: list[torch.Tensor], y: torch.Tensor,
                   proxy_out: torch.Tensor, proxy_acts: list[torch.Tensor],
                   is_forget: torch.Tensor, *, beta: float) -> torch.Tensor:
    """The Blindspot minibatch loss (see the module docstring); ``is_forget`` is the boolean
    flag u of each row, ``out``/``proxy_out`` are ``(B, 1)`` model outputs."""
    c = is_forget.double().mean().to(out.dtype)
    loss = out.new_zeros(())
    keep = ~is_forget
    if keep.any():
        loss = loss + (1 - c) * nn.functional.l1_loss(out[keep, 0], y[keep])
    if is_forget.any():
        f = is_forget
        term = nn.functional.l1_loss(out[f, 0], proxy_out[f, 0])
        if beta > 0:
            term = term + beta * sum(attention_diff(a[f], b[f])
                                     for a, b in zip(acts, proxy_acts, strict=True))
        loss = loss + c * term
    return loss


def _l1_fit(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float,
            batch_size: int, generator: torch.Generator, sign: float = 1.0) -> nn.Module:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        for idx in epoch_batches(X.shape[0], batch_size, generator):
            idx = idx.to(X.device)
            opt.zero_grad(set_to_none=True)
            (sign * nn.functional.l1_loss(model(X[idx])[:, 0], y[idx])).backward()
            opt.step()
    model.eval()
    return model


def train_proxy(model: nn.Module, retain: Subset, *, config: BlindspotConfig,
                generator: torch.Generator) -> nn.Module:
    """The Blindspot proxy g: ``model``'s architecture freshly initialised from ``generator``
    and trained with L1 loss on a random ``config.proxy_fraction`` of D_r."""
    proxy = reinitialise(model, generator)
    n = max(1, int(round(config.proxy_fraction * len(retain))))
    keep = torch.randperm(len(retain), generator=generator)[:n].to(retain.X.device)
    _l1_fit(proxy, retain.X[keep], retain.y[keep], epochs=config.proxy_epochs,
            lr=config.proxy_lr, batch_size=config.batch_size, generator=generator)
    for p in proxy.parameters():
        p.requires_grad_(False)
    return proxy.eval()


@register_method("blindspot", config=BlindspotConfig, needs_retain=True)
def blindspot(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    """Blindspot unlearning: train the proxy g on D_r, then minimise the mixed loss on
    shuffled minibatches of D_f ∪ D_r, starting from θ_o."""
    proxy = train_proxy(model, retain, config=config, generator=generator)
    X = torch.cat([forget.X, retain.X])
    y = torch.cat([forget.y, retain.y])
    u = torch.cat([torch.ones(len(forget), dtype=torch.bool),
                   torch.zeros(len(retain), dtype=torch.bool)]).to(X.device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    for _ in range(config.epochs):
        model.train()
        for idx in epoch_batches(X.shape[0], config.batch_size, generator):
            idx = idx.to(X.device)
            xb = X[idx]
            out, acts = forward_with_activations(model, xb)
            with torch.no_grad():
                p_out, p_acts = forward_with_activations(proxy, xb)
            opt.zero_grad(set_to_none=True)
            blindspot_loss(out, acts, y[idx], p_out, p_acts, u[idx],
                           beta=config.beta).backward()
            opt.step()
    model.eval()
    return model


@register_method("gaussian_ft", config=GaussianFTConfig, needs_retain=True)
def gaussian_finetune(model, forget, retain=None, *, config, generator, train_set=None,
                      oracles=None):
    """Fine-tune on D_r ∪ D_f with every forget target replaced by a draw from N(μ, σ) of
    the training targets (μ, σ over D_r ∪ D_f; σ with Bessel's correction, as pandas)."""
    y_all = torch.cat([forget.y, retain.y])
    mu, sd = float(y_all.mean()), float(y_all.std())
    X = torch.cat([forget.X, retain.X])
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)

    def draw() -> torch.Tensor:
        z = torch.randn(len(forget), generator=generator, dtype=torch.float64)
        return (mu + sd * z).to(retain.y)

    y_f = draw()
    model.train()
    for epoch in range(config.epochs):
        if config.redraw and epoch > 0:
            y_f = draw()
        y = torch.cat([y_f.to(retain.y.device), retain.y])
        for idx in epoch_batches(X.shape[0], config.batch_size, generator):
            idx = idx.to(X.device)
            opt.zero_grad(set_to_none=True)
            nn.functional.l1_loss(model(X[idx])[:, 0], y[idx]).backward()
            opt.step()
    model.eval()
    return model


@register_method("reg_ft", config=RegressionFTConfig, needs_retain=True)
def regression_finetune(model, forget, retain=None, *, config, generator, train_set=None,
                        oracles=None):
    """Fine-tune on D_r with L1 loss; D_f is never read."""
    return _l1_fit(model, retain.X, retain.y, epochs=config.epochs, lr=config.lr,
                   batch_size=config.batch_size, generator=generator)


@register_method("reg_ga", config=RegressionGAConfig)
def regression_gradient_ascent(model, forget, retain=None, *, config, generator,
                               train_set=None, oracles=None):
    """Gradient ascent on the L1 loss of D_f (NegGrad for regression)."""
    return _l1_fit(model, forget.X, forget.y, epochs=config.epochs, lr=config.lr,
                   batch_size=config.batch_size, generator=generator, sign=-1.0)
