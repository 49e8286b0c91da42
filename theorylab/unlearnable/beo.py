"""Bayes-error-optimised (BEO) perturbations and two baselines.

BEO raises an estimate of the Bayes error of the protected data by projected gradient
ascent under an L∞ budget:

.. math::

    \\delta \\leftarrow \\Pi_{\\lVert\\delta\\rVert_\\infty \\le \\varepsilon,\\;
    x + \\delta \\in [0, 1]}\\bigl(\\delta + \\eta\\,\\operatorname{sign}\\nabla_\\delta
    S(f(x + \\delta), y)\\bigr),

with ``S`` the smooth surrogate of :func:`~theorylab.unlearnable.bayes_error.bayes_error_surrogate`
(``sum_i (1 - eta_{yhat_i}(i))`` of the leave-one-out RBF posteriors) and ``f`` either the
identity (``space="pixel"``) or the penultimate layer of a small MLP retrained from scratch on
the current perturbed set every ``retrain_every`` steps (``space="feature"``; the gradient
is pulled back to pixels through the frozen network). Defaults: ``eta = eps / 10``, 100 steps,
``delta`` starts at 0.

Baselines with the same budget: error-minimising noise (Huang et al. 2021, sample-wise
min-min: alternate a few training steps of a model on ``x + delta`` with PGD steps that
*lower* its loss, until it fits the perturbed set) and uniform noise ``U(-eps, eps)``.

Paper symbol ↔ argument: ``delta`` ↔ ``PerturbationResult.delta``, ``epsilon`` ↔ ``eps``,
``eta`` ↔ ``step_size``, ``f`` ↔ ``space``.

References
----------
R. Zhang, J. Sun, E.-P. Lim, P. Zhang, "Towards Provably Unlearnable Examples via Bayes Error
Optimisation", arXiv:2511.08191 (2025).
H. Huang, X. Ma, S. M. Erfani, J. Bailey, Y. Wang, "Unlearnable Examples: Making Personal
Data Unexploitable", ICLR 2021, arXiv:2101.04898.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from theorylab._validation import check_choice, check_int, check_scalar
from theorylab.results import ReadOnlyDict, ResultRepr, freeze_array
from theorylab.unlearnable.bayes_error import loo_posteriors, median_heuristic_sigma
from theorylab.unlearning.models import (
    Recipe,
    build_model,
    epoch_batches,
    loss_fn,
    make_adam,
    train_model,
)

__all__ = ["PerturbationResult", "project_linf_box", "beo_perturb", "error_minimizing_noise",
           "uniform_noise"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PerturbationResult(ResultRepr):
    """A perturbed data set.

    ``X``: the perturbed inputs ``x + delta`` (detached, in [0, 1]); ``delta``: the
    perturbation (``|delta| <= eps`` entrywise); ``method``: "beo-pixel", "beo-feature",
    "emn" or "uniform"; ``history``: per-step arrays (BEO: ``error`` = leave-one-out 0-1
    error and ``plugin`` = mean ``1 - max posterior`` before each step and after the last,
    ``sigma``; EMN: ``train_acc`` after each outer round).
    """

    X: torch.Tensor
    delta: torch.Tensor
    eps: float
    method: str
    n_steps: int
    history: ReadOnlyDict = field(default_factory=lambda: ReadOnlyDict({}))


def _check_X(X) -> torch.Tensor:
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor, got {type(X).__name__}")
    if not X.is_floating_point():
        raise TypeError(f"X must be a floating tensor, got {X.dtype}")
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"X must have shape (n, d) with n >= 2, got {tuple(X.shape)}")
    if not bool(torch.isfinite(X).all()):
        raise ValueError("X must be finite, got NaN or inf entries")
    lo, hi = float(X.min()), float(X.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"X must lie in [0, 1], got values in [{lo:g}, {hi:g}]")
    return X.detach()


def _check_data(X, y) -> tuple[torch.Tensor, torch.Tensor]:
    X = _check_X(X)
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor, got {type(y).__name__}")
    if y.dtype != torch.long:
        raise TypeError(f"y must be an int64 tensor, got {y.dtype}")
    if tuple(y.shape) != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {tuple(y.shape)}")
    if int(y.min()) < 0:
        raise ValueError(f"y must be >= 0, got {int(y.min())}")
    return X, y.to(X.device)


def _check_eps(eps) -> float:
    return check_scalar(eps, name="eps", lower=0.0, upper=1.0, lower_inclusive=False)


def _check_generator(generator) -> torch.Generator:
    if generator is None:
        g = torch.Generator()
        g.seed()
        return g
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, "
                        f"got {type(generator).__name__}")
    return generator


def project_linf_box(delta: torch.Tensor, X: torch.Tensor, eps: float) -> torch.Tensor:
    """Project ``delta`` onto ``{|delta| <= eps entrywise, X + delta in [0, 1]}``.

    Both constraints are boxes and their intersection is the box
    ``[max(-eps, -X), min(eps, 1 - X)]`` (non-empty for ``X`` in [0, 1]), so clipping to it
    is the Euclidean projection.

    >>> import torch
    >>> project_linf_box(torch.tensor([[0.5, -0.5]]), torch.tensor([[0.9, 0.2]]), 0.25)
    tensor([[ 0.1000, -0.2000]])
    """
    eps = _check_eps(eps)
    lo = torch.clamp(-X, min=-eps)
    hi = torch.clamp(1.0 - X, max=eps)
    return torch.minimum(torch.maximum(delta, lo), hi)


def _penultimate(model: torch.nn.Module) -> torch.nn.Module:
    # MLP.net = Linear, ReLU, ..., Linear: everything but the head
    return model.net[:-1]


def beo_perturb(X: torch.Tensor, y: torch.Tensor, *, eps: float, n_steps: int = 100,
                step_size: float | None = None,
                space: Literal["pixel", "feature"] = "pixel", sigma: float | None = None,
                retrain_every: int = 10, feature_recipe: Recipe | None = None,
                n_classes: int | None = None, chunk_size: int | None = None,
                generator: torch.Generator | None = None) -> PerturbationResult:
    """Bayes-error-optimised perturbation by projected sign-gradient ascent.

    Parameters
    ----------
    X : Tensor, shape (n, d)
        Protected inputs in [0, 1].
    y : Tensor, shape (n,)
        Their labels (int64); labels are never changed.
    eps : float
        L∞ budget, ``0 < eps <= 1``.
    n_steps : int
        Ascent steps (100).
    step_size : float, optional
        Sign-step length ``eta`` (default ``eps / 10``).
    space : {"pixel", "feature"}
        Estimator on the inputs themselves, or on the penultimate features of an MLP
        (``feature_recipe``, arch "mlp") retrained on ``(X + delta, y)`` every
        ``retrain_every`` steps.
    sigma : float, optional
        RBF bandwidth; default the median heuristic, taken on the clean inputs (pixel) or on
        the features after each retraining (feature).
    n_classes, chunk_size :
        Passed to the estimator.
    generator : torch.Generator, optional
        Draws the feature network's initial weights and data order (unused in pixel space,
        which is deterministic).

    Returns
    -------
    PerturbationResult
        ``history["error"]``, ``history["plugin"]``: the estimate before each step and after
        the last (``n_steps + 1`` entries).
    """
    X, y = _check_data(X, y)
    eps = _check_eps(eps)
    n_steps = check_int(n_steps, name="n_steps", minimum=0)
    step_size = eps / 10 if step_size is None else check_scalar(
        step_size, name="step_size", lower=0.0, lower_inclusive=False)
    check_choice(space, name="space", choices=("pixel", "feature"))
    retrain_every = check_int(retrain_every, name="retrain_every", minimum=1)
    if sigma is not None:
        sigma = check_scalar(sigma, name="sigma", lower=0.0, lower_inclusive=False)
    if feature_recipe is None:
        feature_recipe = Recipe(hidden=(128, 64), epochs=20, lr=1e-3)
    if not isinstance(feature_recipe, Recipe):
        raise TypeError(f"feature_recipe must be a Recipe, got {type(feature_recipe).__name__}")
    if space == "feature" and feature_recipe.arch != "mlp":
        raise ValueError(f"feature_recipe.arch must be 'mlp', got {feature_recipe.arch!r}")
    k = int(y.max()) + 1 if n_classes is None else check_int(n_classes, name="n_classes",
                                                            minimum=int(y.max()) + 1)
    gen = _check_generator(generator) if space == "feature" else None

    delta = torch.zeros_like(X)
    errs, plugs, sigmas = [], [], []
    feat = None
    s_now = sigma
    if space == "pixel" and s_now is None:
        s_now = median_heuristic_sigma(X, chunk_size=chunk_size)

    def estimate(with_grad: bool):
        d = delta.clone().requires_grad_(with_grad)
        f = feat(X + d) if feat is not None else X + d
        with torch.set_grad_enabled(with_grad):
            eta = loo_posteriors(f, y, sigma=s_now, n_classes=k, chunk_size=chunk_size)
            top = eta.max(1)
            errs.append(float((eta.detach().argmax(1) != y).double().mean()))
            plugs.append(float((1.0 - top.values.detach()).double().mean()))
            sigmas.append(float(s_now))
            if not with_grad:
                return None
            surrogate = (1.0 - top.values).sum()  # values at yhat_i = argmax
            return torch.autograd.grad(surrogate, d)[0]

    for t in range(n_steps):
        if space == "feature" and t % retrain_every == 0:
            model = build_model(feature_recipe, X.shape[1], k, generator=gen, device=X.device,
                                dtype=X.dtype)
            train_model(model, X + delta, y, recipe=feature_recipe, generator=gen)
            for p in model.parameters():
                p.requires_grad_(False)
            feat = _penultimate(model)
            if sigma is None:
                with torch.no_grad():
                    s_now = median_heuristic_sigma(feat(X + delta), chunk_size=chunk_size)
        g = estimate(True)
        with torch.no_grad():
            delta = project_linf_box(delta + step_size * g.sign(), X, eps)
    if s_now is None:  # feature space with n_steps == 0: the estimate is on the inputs
        s_now = median_heuristic_sigma(X, chunk_size=chunk_size)
    with torch.no_grad():
        estimate(False)
    hist = ReadOnlyDict({"error": freeze_array(np.asarray(errs)),
                         "plugin": freeze_array(np.asarray(plugs)),
                         "sigma": freeze_array(np.asarray(sigmas))})
    return PerturbationResult(X=(X + delta).clamp(0.0, 1.0).detach(), delta=delta.detach(), eps=eps,
                              method=f"beo-{space}", n_steps=n_steps, history=hist)


def error_minimizing_noise(X: torch.Tensor, y: torch.Tensor, *, eps: float,
                           n_inner: int = 10, step_size: float | None = None,
                           train_steps: int = 10, max_outer: int = 30,
                           stop_accuracy: float = 0.99, recipe: Recipe | None = None,
                           n_classes: int | None = None,
                           generator: torch.Generator | None = None) -> PerturbationResult:
    """Sample-wise error-minimising noise (Huang et al. 2021), L∞ ball of radius ``eps``.

    ``delta`` starts ``U(-eps, eps)``; each outer round trains a model (``recipe``; Adam)
    for ``train_steps`` minibatches on ``X + delta``, then takes ``n_inner`` PGD steps
    ``delta <- Proj(delta - eta sign grad_delta CE)`` on every sample (``eta = eps / 10`` by
    default), and stops once the model's accuracy on ``X + delta`` reaches
    ``stop_accuracy`` or after ``max_outer`` rounds.
    """
    X, y = _check_data(X, y)
    eps = _check_eps(eps)
    n_inner = check_int(n_inner, name="n_inner", minimum=1)
    train_steps = check_int(train_steps, name="train_steps", minimum=1)
    max_outer = check_int(max_outer, name="max_outer", minimum=1)
    stop_accuracy = check_scalar(stop_accuracy, name="stop_accuracy", lower=0.0, upper=1.0)
    step_size = eps / 10 if step_size is None else check_scalar(
        step_size, name="step_size", lower=0.0, lower_inclusive=False)
    recipe = Recipe(hidden=(128, 64), lr=1e-3) if recipe is None else recipe
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    k = int(y.max()) + 1 if n_classes is None else check_int(n_classes, name="n_classes",
                                                            minimum=int(y.max()) + 1)
    gen = _check_generator(generator)
    u = torch.rand(X.shape, generator=gen, dtype=torch.float64).to(X)
    delta = project_linf_box((2 * u - 1) * eps, X, eps)
    model = build_model(recipe, X.shape[1], k, generator=gen, device=X.device, dtype=X.dtype)
    opt = make_adam(list(model.parameters()), recipe)
    accs = []
    batches: list[torch.Tensor] = []
    for _ in range(max_outer):
        model.train()
        for _ in range(train_steps):
            if not batches:
                batches = epoch_batches(X.shape[0], recipe.batch_size, gen)
            idx = batches.pop(0).to(X.device)
            opt.zero_grad(set_to_none=True)
            loss_fn(model(X[idx] + delta[idx]), y[idx], "classification").backward()
            opt.step()
        for _ in range(n_inner):
            d = delta.clone().requires_grad_(True)
            loss = loss_fn(model(X + d), y, "classification")
            (g,) = torch.autograd.grad(loss, d)
            with torch.no_grad():
                delta = project_linf_box(delta - step_size * g.sign(), X, eps)
        model.zero_grad(set_to_none=True)
        with torch.no_grad():
            acc = float((model(X + delta).argmax(1) == y).double().mean())
        accs.append(acc)
        if acc >= stop_accuracy:
            break
    hist = ReadOnlyDict({"train_acc": freeze_array(np.asarray(accs))})
    return PerturbationResult(X=(X + delta).clamp(0.0, 1.0).detach(), delta=delta.detach(), eps=eps,
                              method="emn", n_steps=len(accs), history=hist)


def uniform_noise(X: torch.Tensor, *, eps: float,
                  generator: torch.Generator | None = None) -> PerturbationResult:
    """``delta ~ U(-eps, eps)`` entrywise, then projected so that ``X + delta`` is in [0, 1]."""
    X = _check_X(X)
    eps = _check_eps(eps)
    gen = _check_generator(generator)
    u = torch.rand(X.shape, generator=gen, dtype=torch.float64).to(X)
    delta = project_linf_box((2 * u - 1) * eps, X, eps)
    return PerturbationResult(X=(X + delta).clamp(0.0, 1.0).detach(), delta=delta.detach(), eps=eps,
                              method="uniform", n_steps=0, history=ReadOnlyDict({}))
