"""Robustness probes for classifiers on inputs in a box [lo, hi] (torch): Gaussian noise,
FGSM (Goodfellow et al. 2015, arXiv:1412.6572) and ℓ∞ PGD (Madry et al. 2018,
arXiv:1706.06083), and accuracy."""

from __future__ import annotations

import torch
from torch import nn

from theorylab._validation import check_int, check_positive

__all__ = ["fgsm", "pgd", "gaussian_noise", "accuracy"]


def _check(model, x, y=None):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating torch.Tensor, got {type(x).__name__}")
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"x must have at least 1 sample, got shape {tuple(x.shape)}")
    if y is not None:
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"y must be a torch.Tensor, got {type(y).__name__}")
        if y.shape != (x.shape[0],):
            raise ValueError(f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")


def _grad_sign(model, x, y):
    x = x.detach().clone().requires_grad_(True)
    loss = nn.functional.cross_entropy(model(x), y)
    (g,) = torch.autograd.grad(loss, x)
    return g.sign()


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float,
         lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    """x + ε sign(∇ₓ CE(model(x), y)), clipped to [lo, hi]."""
    _check(model, x, y)
    eps = check_positive(eps, name="eps", strict=False)
    return (x + eps * _grad_sign(model, x, y)).clamp(lo, hi).detach()


def pgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, eps: float, steps: int = 10,
        step_size: float | None = None, random_start: bool = False,
        generator: torch.Generator | None = None, lo: float = 0.0, hi: float = 1.0
        ) -> torch.Tensor:
    """ℓ∞ projected gradient ascent on the cross-entropy: ``steps`` signed steps of size
    ``step_size`` (default 2.5 ε / steps), each projected onto the ε-ball around x and onto
    [lo, hi]; ``random_start`` begins at a uniform point of the ball (drawn from
    ``generator``). One step of size ε without random start is FGSM.
    """
    _check(model, x, y)
    eps = check_positive(eps, name="eps", strict=False)
    steps = check_int(steps, name="steps", minimum=1)
    alpha = 2.5 * eps / steps if step_size is None else check_positive(step_size,
                                                                        name="step_size")
    x0 = x.detach()
    xa = x0.clone()
    if random_start:
        u = torch.rand(x0.shape, generator=generator, dtype=x0.dtype)
        xa = (x0 + eps * (2 * u.to(x0.device) - 1)).clamp(lo, hi)
    for _ in range(steps):
        xa = xa + alpha * _grad_sign(model, xa, y)
        xa = torch.minimum(torch.maximum(xa, x0 - eps), x0 + eps).clamp(lo, hi).detach()
    return xa


def gaussian_noise(x: torch.Tensor, *, sigma: float, generator: torch.Generator | None = None,
                   lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    """x + σ ξ with ξ ~ N(0, I) from ``generator``, clipped to [lo, hi]."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating torch.Tensor, got {type(x).__name__}")
    sigma = check_positive(sigma, name="sigma", strict=False)
    xi = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    return (x + sigma * xi).clamp(lo, hi)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of samples whose arg-max logit is the label."""
    _check(model, x, y)
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).float().mean())
