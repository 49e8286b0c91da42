"""PGD attacks (L∞ and L2) and PGD adversarial training for the harness models (torch).

Madry et al. 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks",
arXiv:1706.06083. Projected gradient ascent on the cross-entropy inside the ball
``||δ|| <= eps`` around each input and the box ``[lo, hi]``:

- L∞: ``x ← Π(x + α sign(∇ₓ ℓ))``, ``Π_∞(δ) = clip(δ, −ε, ε)``;
- L2: ``x ← Π(x + α ∇ₓ ℓ / ||∇ₓ ℓ||₂)``, ``Π₂(δ) = δ · min(1, ε / ||δ||₂)`` (per sample);

then ``x`` is clipped to the box. Clipping a point of the ball to the box keeps it in the
ball (each coordinate of δ only shrinks towards 0 when ``x₀`` lies in the box), so the
result lies in both. A random start (uniform in the L∞ ball; a uniform direction with
radius ``ε·U(0, 1)`` in the L2 ball, as ``torchattacks``' PGDL2) is drawn from an explicit
``torch.Generator`` on the CPU and moved to the input's device.

Adversarial training replaces every minibatch of the harness recipe
(:func:`theorylab.unlearning.models.train_model`: Adam, a fresh order per epoch) by its PGD
version; the attack runs with the model in eval mode and training resumes in train mode.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from theorylab._validation import check_choice, check_int, check_positive
from theorylab.unlearning.models import Recipe, epoch_batches, loss_fn, make_adam

__all__ = ["project_linf", "project_l2", "pgd_attack", "adversarial_train"]

Norm = Literal["linf", "l2"]


def _check_tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating torch.Tensor, got dtype {x.dtype}")
    if x.ndim < 1 or x.shape[0] == 0 or x[0].numel() == 0:
        raise ValueError(f"{name} must have at least 1 sample with entries, got shape "
                         f"{tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} must be finite, got NaN/inf entries")
    return x


def _per_sample_norm(v: torch.Tensor) -> torch.Tensor:
    """``||v_i||₂`` over every non-batch axis, shaped to broadcast against ``v``."""
    return v.flatten(1).norm(dim=1).reshape(-1, *([1] * (v.ndim - 1)))


def project_linf(delta: torch.Tensor, eps: float) -> torch.Tensor:
    """Closest point of the L∞ ball of radius ``eps``: ``clip(δ, −ε, ε)`` entrywise."""
    delta = _check_tensor(delta, "delta")
    eps = check_positive(eps, name="eps", strict=False)
    return delta.clamp(-eps, eps)


def project_l2(delta: torch.Tensor, eps: float) -> torch.Tensor:
    """Closest point of the L2 ball of radius ``eps``, per sample (row ``i`` of the batch):
    ``δ_i · min(1, ε / ||δ_i||₂)``; rows inside the ball are returned unchanged."""
    delta = _check_tensor(delta, "delta")
    eps = check_positive(eps, name="eps", strict=False)
    return _project_l2(delta, eps)


def _project_l2(delta: torch.Tensor, eps: float) -> torch.Tensor:
    nrm = _per_sample_norm(delta)
    scale = torch.where(nrm > eps, eps / nrm.clamp_min(1e-30), torch.ones_like(nrm))
    return delta * scale


def _check_attack(model, x, y, norm, eps, n_steps, step_size, lo, hi):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x = _check_tensor(x, "x")
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor, got {type(y).__name__}")
    if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    check_choice(norm, name="norm", choices=("linf", "l2"))
    eps = check_positive(eps, name="eps", strict=False)
    n_steps = check_int(n_steps, name="n_steps", minimum=1)
    if not lo < hi:
        raise ValueError(f"lo must be < hi, got lo={lo!r}, hi={hi!r}")
    xmin, xmax = float(x.min()), float(x.max())
    if xmin < lo or xmax > hi:
        raise ValueError(f"x must lie in [lo, hi] = [{lo:g}, {hi:g}], got range "
                         f"[{xmin:g}, {xmax:g}]")
    if step_size is None:
        alpha = 2.5 * eps / n_steps
    else:
        alpha = check_positive(step_size, name="step_size")
    return x, eps, n_steps, alpha


def _random_start(x0, norm, eps, generator):
    n = x0.shape[0]
    if norm == "linf":
        u = torch.rand(x0.shape, generator=generator, dtype=x0.dtype)
        return (eps * (2 * u - 1)).to(x0.device)
    d = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
    r = torch.rand((n,), generator=generator, dtype=x0.dtype).reshape(-1, *[1] * (x0.ndim - 1))
    d = d / _per_sample_norm(d).clamp_min(1e-30) * (eps * r)
    return d.to(x0.device)


def _attack(model, x0, y, norm, eps, n_steps, alpha, random_start, generator, lo, hi):
    """The PGD loop on validated inputs (the model's mode is the caller's business)."""
    x0 = x0.detach()
    delta = _random_start(x0, norm, eps, generator) if random_start else torch.zeros_like(x0)
    xa = (x0 + delta).clamp(lo, hi)
    for _ in range(n_steps):
        xa = xa.clone().requires_grad_(True)
        loss = nn.functional.cross_entropy(model(xa), y)
        (g,) = torch.autograd.grad(loss, xa)
        with torch.no_grad():
            if norm == "linf":
                delta = (xa + alpha * g.sign() - x0).clamp(-eps, eps)
            else:
                step = g / _per_sample_norm(g).clamp_min(1e-12)
                delta = _project_l2(xa + alpha * step - x0, eps)
            xa = (x0 + delta).clamp(lo, hi)
    return xa.detach()


def pgd_attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, norm: Norm = "linf",
               eps: float, n_steps: int = 10, step_size: float | None = None,
               random_start: bool = False, generator: torch.Generator | None = None,
               lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    """Projected gradient ascent on ``CE(model(x), y)`` in the ``norm`` ball of radius
    ``eps`` around ``x`` and in ``[lo, hi]``.

    Parameters
    ----------
    model : torch.nn.Module
        Run in eval mode during the attack; its mode is restored afterwards.
    x : Tensor, shape (B, ...)
        Clean inputs in ``[lo, hi]``.
    y : Tensor of int, shape (B,)
        Labels.
    norm : {"linf", "l2"}
        The threat model.
    eps : float
        Radius (>= 0; 0 returns ``x``).
    n_steps : int
        Number of ascent steps.
    step_size : float, optional
        α; default ``2.5 ε / n_steps`` (Madry et al.).
    random_start : bool
        Start from a random point of the ball, drawn from ``generator`` (a CPU
        ``torch.Generator``, required then).

    Returns
    -------
    Tensor
        The adversarial inputs, detached, ``||x_adv − x|| <= eps`` and within ``[lo, hi]``.
    """
    x, eps, n_steps, alpha = _check_attack(model, x, y, norm, eps, n_steps, step_size, lo, hi)
    if random_start and eps > 0 and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator when random_start=True, got "
                         f"{type(generator).__name__}")
    if eps == 0:
        return x.detach().clone()
    was = model.training
    model.eval()
    try:
        return _attack(model, x, y, norm, eps, n_steps, alpha, random_start, generator, lo,
                       hi)
    finally:
        model.train(was)


def adversarial_train(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, recipe: Recipe,
                      generator: torch.Generator, norm: Norm = "linf", eps: float,
                      n_steps: int = 7, step_size: float | None = None,
                      random_start: bool = True,
                      attack_generator: torch.Generator | None = None,
                      lo: float = 0.0, hi: float = 1.0) -> nn.Module:
    """PGD adversarial training: the harness recipe (Adam, ``recipe.epochs`` passes in a fresh
    order drawn from ``generator``) on the PGD version of every minibatch.

    ``attack_generator`` draws the random starts (a separate stream, so the data order is
    the same as :func:`~theorylab.unlearning.models.train_model`'s for the same
    ``generator``; with ``eps = 0`` both give the same model). Returns ``model``, trained in
    place.
    """
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    if recipe.task != "classification":
        raise ValueError(f"recipe.task must be 'classification', got {recipe.task!r}")
    if X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(f"X and y must have the same non-zero length, got {X.shape[0]} and "
                         f"{y.shape[0]}")
    X, eps, n_steps, alpha = _check_attack(model, X, y, norm, eps, n_steps, step_size, lo, hi)
    if random_start and eps > 0 and not isinstance(attack_generator, torch.Generator):
        raise ValueError(f"attack_generator must be a torch.Generator when random_start=True "
                         f"and eps > 0, got {type(attack_generator).__name__}")
    opt = make_adam(list(model.parameters()), recipe)
    was = model.training
    for _ in range(recipe.epochs):
        for idx in epoch_batches(X.shape[0], recipe.batch_size, generator):
            idx = idx.to(X.device)
            xb, yb = X[idx], y[idx]
            if eps > 0:
                model.eval()
                xb = _attack(model, xb, yb, norm, eps, n_steps, alpha, random_start,
                             attack_generator, lo, hi)
            model.train()
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xb), yb, "classification").backward()
            opt.step()
    model.train(was)
    return model
