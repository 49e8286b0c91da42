"""A small shared training harness: devices, seeds, parameter counts, training loops,
equal-budget comparisons and curves over seeds — so each claim script stays short.

Nothing here sets a global seed: randomness comes from an explicit ``torch.Generator``
(``make_generator``) or from the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn

from theorylab._validation import check_int, check_positive
from theorylab.results import ResultRepr

__all__ = ["fill_uniform_", "count_parameters", "resolve_device", "make_generator", "train_steps",
           "TrainHistory", "over_seeds"]


def fill_uniform_(t: torch.Tensor, bound: float, generator: torch.Generator | None) -> None:
    """``t ~ U(−bound, bound)`` in place, drawn on the generator's device (a CPU generator may
    fill a CUDA tensor), so the same seed gives the same numbers on every device."""
    dev = generator.device if generator is not None else t.device
    u = torch.rand(t.shape, generator=generator, device=dev, dtype=t.dtype)
    t.copy_(u.mul_(2 * bound).sub_(bound))


def count_parameters(module: nn.Module, *, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters, counting shared tensors once."""
    seen: set[int] = set()
    n = 0
    for p in module.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        n += p.numel()
    return n


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/"cpu"/"cuda"/"cuda:k" → a torch.device; a clear error if CUDA is absent."""
    from theorylab.nn._checks import check_device

    if device is None:
        return torch.device("cpu")
    if isinstance(device, str) and not device.startswith(("cpu", "cuda")):
        raise ValueError(f"device must be 'cpu' or 'cuda[:k]', got {device!r}")
    return check_device(device)  # malformed ("cuda:x") or unavailable CUDA: ValueError


def make_generator(seed: int, device: str | torch.device | None = None) -> torch.Generator:
    """A seeded ``torch.Generator`` on ``device`` (scripts and tests own integer seeds)."""
    seed = check_int(seed, name="seed", minimum=0)
    return torch.Generator(device=resolve_device(device)).manual_seed(seed)


@dataclass
class TrainHistory(ResultRepr):
    """Loss per step, and evaluations (step, value) when an ``eval_fn`` was given."""

    losses: np.ndarray
    eval_steps: list[int] = field(default_factory=list)
    eval_values: list[float] = field(default_factory=list)

    @property
    def final_loss(self) -> float:
        """Mean of the last 10% of training losses (less noisy than the last step)."""
        k = max(1, len(self.losses) // 10)
        return float(np.mean(self.losses[-k:]))


def train_steps(
    model: nn.Module,
    loss_fn: Callable[[nn.Module, int], torch.Tensor],
    *,
    steps: int,
    lr: float,
    optimizer: Literal["adam", "adamw", "sgd"] | torch.optim.Optimizer = "adam",
    weight_decay: float = 0.0,
    params: Iterable[torch.nn.Parameter] | None = None,
    eval_fn: Callable[[nn.Module], float] | None = None,
    eval_every: int = 0,
    grad_hook: Callable[[nn.Module, int], None] | None = None,
) -> TrainHistory:
    """Run ``steps`` optimiser steps of ``loss_fn(model, step)`` (which draws its own batch).

    Parameters
    ----------
    model : nn.Module
    loss_fn : callable(model, step) -> scalar tensor
    steps, lr : int, float
    optimizer : "adam" | "adamw" | "sgd" or an optimizer instance
    params : parameters to train (default: those with ``requires_grad``)
    eval_fn, eval_every : optional periodic evaluation (no grad, ``model.eval()`` around it)
    grad_hook : called after ``backward()`` and before the step (e.g. gradient projection)

    Raises
    ------
    FloatingPointError
        When the loss becomes NaN/inf, naming the step.
    """
    steps = check_int(steps, name="steps", minimum=1)
    lr = check_positive(lr, name="lr")
    if isinstance(optimizer, torch.optim.Optimizer):
        opt = optimizer
    else:
        ps = [p for p in (params if params is not None else model.parameters()) if p.requires_grad]
        if not ps:
            raise ValueError("params must contain at least one trainable parameter, got none")
        if optimizer == "adam":
            opt = torch.optim.Adam(ps, lr=lr, weight_decay=weight_decay)
        elif optimizer == "adamw":
            opt = torch.optim.AdamW(ps, lr=lr, weight_decay=weight_decay)
        elif optimizer == "sgd":
            opt = torch.optim.SGD(ps, lr=lr, weight_decay=weight_decay)
        else:
            raise ValueError(f"optimizer must be one of 'adam', 'adamw', 'sgd', got {optimizer!r}")
    losses = np.empty(steps)
    hist = TrainHistory(losses=losses)
    model.train()
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model, step)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {step}")
        loss.backward()
        if grad_hook is not None:
            grad_hook(model, step)
        opt.step()
        losses[step] = loss.item()
        if eval_fn is not None and eval_every and ((step + 1) % eval_every == 0 or
                                                   step == steps - 1):
            model.eval()
            with torch.no_grad():
                hist.eval_steps.append(step + 1)
                hist.eval_values.append(float(eval_fn(model)))
            model.train()
    model.eval()
    return hist


def over_seeds(fn: Callable[[int], float | Sequence[float] | np.ndarray],
               seeds: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate ``fn(seed)`` for each seed → (values[n_seeds, ...], mean, standard error)."""
    vals = np.asarray([np.asarray(fn(int(s)), dtype=float) for s in seeds])
    if len(seeds) < 1:
        raise ValueError("seeds must contain at least one seed, got none")
    mean = vals.mean(axis=0)
    sem = (vals.std(axis=0, ddof=1) / np.sqrt(len(seeds)) if len(seeds) > 1
           else np.zeros_like(mean))
    return vals, mean, sem
