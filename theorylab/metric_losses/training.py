"""A small binary MLP trained full-batch with BCE, weighted BCE or AnyLoss (NumPy in/out).

The network is d → hidden → 1 (ReLU), its logit z gives p = σ(z); BCE is computed from the
logit (``binary_cross_entropy_with_logits``), weighted BCE and AnyLoss from p.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from theorylab._validation import (
    check_choice,
    check_int,
    check_matrix,
    check_positive,
    check_probability,
    check_vector,
)
from theorylab.nn._checks import check_device
from theorylab.results import ResultRepr, freeze_array

from .losses import anyloss
from .metrics import METRICS

__all__ = ["BinaryMLPFit", "fit_binary_mlp"]

LOSSES = ("bce", "weighted_bce", "anyloss", "hybrid")


@dataclass(frozen=True, slots=True, kw_only=True)
class BinaryMLPFit(ResultRepr):
    """A trained binary MLP: ``model`` (logit output), the loss per step and its settings."""

    model: Any
    losses: np.ndarray
    loss: str
    metric: str
    L: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "losses", freeze_array(self.losses))

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities p = σ(z) of the positive class, shape (n,) (on the CPU)."""
        X = check_matrix(X, name="X")
        dev = next(self.model.parameters()).device
        with torch.no_grad():
            z = self.model(torch.tensor(X, dtype=torch.float32, device=dev))[:, 0]
        return torch.sigmoid(z).double().cpu().numpy()


def _weighted_bce_logits(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Weighted BCE from logits (stable where σ(z) rounds to 0 or 1 in float32)."""
    n1 = y.sum()
    w = torch.where(y == 1, (y.numel() - n1) / y.numel(), n1 / y.numel())
    return nn.functional.binary_cross_entropy_with_logits(z, y, weight=w)


def fit_binary_mlp(X, y, *, loss: Literal["bce", "weighted_bce", "anyloss", "hybrid"] = "bce",
                   metric: Literal["accuracy", "f_beta", "balanced_accuracy",
                                   "g_mean"] = "f_beta",
                   L: float = 73.0, beta: float = 1.0, rho: float = 0.5, hidden: int = 32,
                   steps: int = 300, lr: float = 1e-3,
                   generator: torch.Generator | None = None,
                   device: str | torch.device | None = None) -> BinaryMLPFit:
    """Train a d-``hidden``-1 ReLU MLP on (X, y) full-batch with Adam.

    Parameters
    ----------
    X : array (n, d); y : array (n,) of 0/1 with both classes present
    loss : "bce" | "weighted_bce" | "anyloss" | "hybrid"
    metric, L, beta, rho : AnyLoss settings (used by "anyloss" and "hybrid")
    hidden, steps, lr : network width, Adam steps (full batch), learning rate
    generator : torch.Generator, optional
        Draws the initial weights (uniform ±1/sqrt(fan_in), torch's default scale) on the
        CPU; the network is then moved to ``device``, so a seed starts from the same weights
        on every device.
    device : str or torch.device, optional
        Where to train (default CPU).

    Raises
    ------
    FloatingPointError
        When the loss becomes NaN/inf, naming the step.
    """
    X = check_matrix(X, name="X")
    y = check_vector(y, name="y", n=X.shape[0])
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"y must hold only 0 and 1, got {y[(y != 0) & (y != 1)][0]!r}")
    loss = check_choice(loss, name="loss", choices=LOSSES)
    metric = check_choice(metric, name="metric", choices=METRICS)
    L = check_positive(L, name="L")
    beta = check_positive(beta, name="beta")
    rho = check_probability(rho, name="rho")
    hidden = check_int(hidden, name="hidden", minimum=1)
    steps = check_int(steps, name="steps", minimum=1)
    lr = check_positive(lr, name="lr")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got "
                        f"{type(generator).__name__}")
    dev = check_device(device) or torch.device("cpu")
    Xt = torch.tensor(X, dtype=torch.float32, device=dev)
    yt = torch.tensor(y, dtype=torch.float32, device=dev)
    model = nn.Sequential(nn.Linear(X.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, 1))
    with torch.no_grad():
        for layer in (model[0], model[2]):
            b = 1.0 / np.sqrt(layer.in_features)
            layer.weight.uniform_(-b, b, generator=generator)
            layer.bias.uniform_(-b, b, generator=generator)
    model = model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = np.empty(steps)
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        z = model(Xt)[:, 0]
        if loss == "bce":
            value = nn.functional.binary_cross_entropy_with_logits(z, yt)
        elif loss == "weighted_bce":
            value = _weighted_bce_logits(z, yt)
        elif loss == "anyloss":
            value = anyloss(torch.sigmoid(z), yt, metric=metric, L=L, beta=beta)
        else:
            value = (1 - rho) * _weighted_bce_logits(z, yt) + rho * anyloss(
                torch.sigmoid(z), yt, metric=metric, L=L, beta=beta)
        if not torch.isfinite(value):
            raise FloatingPointError(f"loss became {value.item()} at step {step}")
        value.backward()
        opt.step()
        losses[step] = value.item()
    model.eval()
    return BinaryMLPFit(model=model, losses=losses, loss=loss, metric=metric, L=L)
