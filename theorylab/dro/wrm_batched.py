"""Several independent RSS trainings of one architecture at once (stacked parameters).

:func:`train_rss_torch_many` runs :func:`theorylab.dro.wrm.train_rss_torch` (full batch, the
defaults ``batch_size=None`` and ``tol=0``) for K models at once: their parameters are stacked
(``torch.func.stack_module_state``), the forward pass is ``torch.func.vmap`` of the shared
architecture, and one Adam step updates the stacked tensors. Adam and weight decay act
elementwise and the summed loss has a block-diagonal gradient, so every member is trained
exactly as alone: its own initial weights, data, generator (the same ``randperm`` draws in the
same order) and WRM ascent; only the rounding of the batched matrix products differs (the
tests check member == single training). Small networks spend most of their time in per-call
overhead, so K members cost little more than one.

Not imported by ``theorylab.dro``; import it from this module.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .._validation import check_choice
from .wrm import _check_training

__all__ = ["train_rss_torch_many"]


def _ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample cross-entropy of (K, b, C) logits and (K, b) labels, shape (K, b)."""
    k, b, c = logits.shape
    return nn.functional.cross_entropy(logits.reshape(k * b, c), y.reshape(k * b).long(),
                                       reduction="none").reshape(k, b)


def _perturb(fwd, params, X, y, *, gamma, n_steps):
    """WRM ascent of :func:`theorylab.dro.wrm.wrm_perturb` (step 1/(2 gamma)) per member."""
    eta = 0.5 / gamma
    Z = X.clone()
    for _ in range(n_steps):
        Z.requires_grad_(True)
        obj = _ce(fwd(params, Z), y) - gamma * ((Z - X) ** 2).flatten(2).sum(2)
        (g,) = torch.autograd.grad(obj.sum(), Z)
        with torch.no_grad():
            Z = (Z + eta * g).detach()
    return Z


def train_rss_torch_many(models: Sequence[nn.Module], Xs: Sequence[torch.Tensor],
                         ys: Sequence[torch.Tensor],
                         X_unlabeled: Sequence[torch.Tensor] | None = None, *,
                         method: str = "rss", gamma: float = 1.0, gamma_u: float | None = None,
                         lam: float = 1.0, epochs: int = 100, lr: float = 1e-2,
                         weight_decay: float = 0.0, inner_steps: int = 5,
                         warmup_epochs: int = 0,
                         generators: Sequence[torch.Generator | None] | None = None,
                         device: str | torch.device | None = None) -> np.ndarray:
    """Train K models of one architecture with full-batch RSS / robust ERM, in place.

    Parameters
    ----------
    models : sequence of torch.nn.Module
        K models of the same architecture (same parameter names and shapes), no buffers.
    Xs, ys : sequences of K tensors
        Labeled data of each member: shapes (m, ...) and (m,), the same m for all.
    X_unlabeled : sequence of K tensors, optional
        Unlabeled data of each member, the same number n of rows; required for ``"rss"``.
    method : {"rss", "robust_erm"}
    gamma, gamma_u, lam, epochs, lr, weight_decay, inner_steps, warmup_epochs
        As in :func:`theorylab.dro.wrm.train_rss_torch` (shared by all members).
    generators : sequence of K torch.Generator or None, optional
        Each member's generator of the epoch permutations (``None``: the global one).
    device : str or torch.device, optional

    Returns
    -------
    ndarray, shape (K, epochs)
        Each member's objective per epoch (as ``history["objective"]`` of the single trainer).

    Raises
    ------
    ValueError
        On an empty or mismatched set of members, bad hyperparameters, or ``"rss"`` without
        unlabeled data.
    FloatingPointError
        If an objective becomes NaN/inf (naming the epoch).
    """
    method = check_choice(method, name="method", choices=("rss", "robust_erm"))
    K = len(models)
    if K == 0:
        raise ValueError("models must hold at least one model, got none")
    if len(Xs) != K or len(ys) != K:
        raise ValueError(f"Xs and ys must hold {K} tensors like models, got {len(Xs)} and "
                         f"{len(ys)}")
    gamma, gamma_u, lam, epochs, lr, inner_steps, warmup_epochs = _check_training(
        gamma, gamma_u, lam, epochs, lr, inner_steps, warmup_epochs)
    gens = [None] * K if generators is None else list(generators)
    if len(gens) != K:
        raise ValueError(f"generators must hold {K} generators like models, got {len(gens)}")
    if any(len(list(mod.buffers())) for mod in models):
        raise ValueError("models must have no buffers, got a model with buffers")
    dev = torch.device(device) if device is not None else Xs[0].device
    X = torch.stack([x.to(dev) for x in Xs])
    y = torch.stack([t.to(dev) for t in ys])
    m = X.shape[1]
    use_u = method == "rss" and lam > 0
    if method == "rss":
        if X_unlabeled is None or len(X_unlabeled) != K:
            raise ValueError(f"X_unlabeled must hold {K} tensors for method='rss', got "
                             f"{'none' if X_unlabeled is None else len(X_unlabeled)}")
        Xu = torch.stack([x.to(dev) for x in X_unlabeled])
        n = Xu.shape[1]
        if n == 0:
            raise ValueError("X_unlabeled must have at least one row per member, got 0")
    for mod in models:
        mod.to(dev)
    params, _ = torch.func.stack_module_state(list(models))
    base = copy.deepcopy(models[0]).to("meta")

    def one(p, x):
        return torch.func.functional_call(base, p, (x,))

    fwd = torch.vmap(one)
    opt = torch.optim.Adam(list(params.values()), lr=lr, weight_decay=weight_decay)
    objs = np.empty((K, epochs))
    ar = torch.arange(K, device=dev)[:, None]
    for ep in range(epochs):
        perms, perms_u = [], []
        for g in gens:  # each member's draws in the single trainer's order
            perms.append(torch.randperm(m, generator=g))
            if use_u:
                perms_u.append(torch.randperm(n, generator=g))
        xb = X[ar, torch.stack(perms).to(dev)]
        yb = y[ar, torch.stack(perms).to(dev)]
        xb = _perturb(fwd, params, xb, yb, gamma=gamma, n_steps=inner_steps)
        loss = _ce(fwd(params, xb), yb).mean(1)
        if use_u and ep >= warmup_epochs:
            xu = Xu[ar, torch.stack(perms_u).to(dev)]
            with torch.no_grad():
                yu = fwd(params, xu).argmax(dim=2)
            xu = _perturb(fwd, params, xu, yu, gamma=gamma_u, n_steps=inner_steps)
            loss = loss + lam * _ce(fwd(params, xu), yu).mean(1)
        opt.zero_grad()
        loss.sum().backward()
        opt.step()
        objs[:, ep] = loss.detach().cpu().numpy()
        if not np.all(np.isfinite(objs[:, ep])):
            raise FloatingPointError(f"objective is not finite at epoch {ep}")
    with torch.no_grad():
        for k, mod in enumerate(models):
            for name, p in mod.named_parameters():
                p.copy_(params[name][k])
    return objs
