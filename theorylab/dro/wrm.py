"""WRM inner maximisation and RSS training for differentiable (torch) models.

Saberi et al. (2024), arXiv:2310.00027, Sec. 3.1, following Sinha, Namkoong & Duchi (2018),
arXiv:1710.10571: for a smooth loss the inner problem

    Z* = argmax_Z  l(f_theta(Z), y) - gamma ||Z - X||^2

is strictly concave once gamma exceeds half the smoothness constant of l in Z, and is solved
by gradient ascent from Z = X; the outer gradient is grad_theta l(f_theta(Z*), y) (Danskin).
RSS applies this to the labeled term and to the unlabeled term with the model's own
pseudo-label h_theta(X') = argmax f_theta(X') (recomputed from the clean X' at every step).

Paper symbol <-> argument: gamma, gamma' <-> ``gamma``, ``gamma_u``; lambda <-> ``lam``;
theta <-> the parameters of ``model``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from .._result import ConvergenceWarning, SolverResult
from .._validation import check_choice, check_int, check_scalar
from ..nn._checks import check_device

__all__ = ["wrm_perturb", "train_rss_torch", "TorchRSSResult"]


def _per_sample_ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if logits.ndim == 1 or logits.shape[-1] == 1:  # binary score, labels in {-1, +1}
        return nn.functional.softplus(-y.to(logits.dtype) * logits.reshape(-1))
    return nn.functional.cross_entropy(logits, y.long(), reduction="none")


def wrm_perturb(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, gamma: float,
                n_steps: int = 15, step_size: float | None = None, loss_fn=None,
                tol: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Worst-case inputs Z* of the robust surrogate by gradient ascent (WRM).

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch (B, ...) to logits (B, K) or scores (B,).
    X : torch.Tensor, shape (B, ...)
        Clean inputs.
    y : torch.Tensor, shape (B,)
        Class indices (logits) or -1/+1 labels (scores).
    gamma : float
        Multiplier of the transport cost ||Z - X||^2 (> 0).
    n_steps : int
        Ascent steps (>= 0).
    step_size : float, optional
        Ascent step; default ``1 / (2 gamma)``, for which the iteration reads
        ``Z <- X + grad l(Z) / (2 gamma)`` and contracts when gamma > L/2.
    loss_fn : callable, optional
        Per-sample loss ``loss_fn(logits, y) -> (B,)``; default cross-entropy (logistic for
        scores).
    tol : float
        Stop early when the largest per-sample update norm is <= tol.

    Returns
    -------
    Z : torch.Tensor
        The worst-case inputs (detached).
    phi : torch.Tensor, shape (B,)
        ``l(f(Z), y) - gamma ||Z - X||^2`` per sample (detached): the surrogate phi_gamma.

    Examples
    --------
    >>> import torch
    >>> from theorylab.dro import wrm_perturb
    >>> lin = torch.nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[1.0, 0.0]]))
    >>> Z, phi = wrm_perturb(lin, torch.tensor([[0.5, 0.0]]), torch.tensor([1.0]), gamma=2.0,
    ...                      n_steps=200)
    >>> bool(Z[0, 0] < 0.5) and bool(phi[0] > torch.nn.functional.softplus(torch.tensor(-0.5)))
    True
    """
    gamma = check_scalar(gamma, name="gamma", lower=0.0, lower_inclusive=False)
    n_steps = check_int(n_steps, name="n_steps", minimum=0)
    eta = 0.5 / gamma if step_size is None else check_scalar(
        step_size, name="step_size", lower=0.0, lower_inclusive=False)
    loss_fn = _per_sample_ce if loss_fn is None else loss_fn
    X = X.detach()
    Z = X.clone()
    was_training = model.training
    for _ in range(n_steps):
        Z.requires_grad_(True)
        obj = loss_fn(model(Z), y) - gamma * ((Z - X) ** 2).flatten(1).sum(1)
        (g,) = torch.autograd.grad(obj.sum(), Z)
        with torch.no_grad():
            upd = eta * g
            Z = (Z + upd).detach()
            if tol > 0 and float(upd.flatten(1).norm(dim=1).max()) <= tol:
                break
    with torch.no_grad():
        phi = loss_fn(model(Z), y) - gamma * ((Z - X) ** 2).flatten(1).sum(1)
    model.train(was_training)
    return Z.detach(), phi.detach()


@dataclass(frozen=True, slots=True, kw_only=True)
class TorchRSSResult(SolverResult):
    """Result of :func:`train_rss_torch`.

    Attributes
    ----------
    model : torch.nn.Module
        The trained model (the module passed in, trained in place).
    method : str
    hyperparameters : dict
    history : dict
        ``objective`` per epoch (the full-batch RSS objective at the perturbed points).
    """

    model: Any = None
    method: str = "rss"
    hyperparameters: dict | None = None


def _check_training(gamma, gamma_u, lam, epochs, lr, inner_steps, warmup_epochs) -> tuple:
    """The training hyper-parameters shared by :func:`train_rss_torch` and the batched
    trainer, checked (``gamma_u=None``: ``gamma``)."""
    gamma = check_scalar(gamma, name="gamma", lower=0.0, lower_inclusive=False)
    gamma_u = gamma if gamma_u is None else check_scalar(gamma_u, name="gamma_u", lower=0.0,
                                                          lower_inclusive=False)
    lam = check_scalar(lam, name="lam", lower=0.0)
    epochs = check_int(epochs, name="epochs", minimum=1)
    lr = check_scalar(lr, name="lr", lower=0.0, lower_inclusive=False)
    inner_steps = check_int(inner_steps, name="inner_steps", minimum=0)
    warmup_epochs = check_int(warmup_epochs, name="warmup_epochs", minimum=0)
    return gamma, gamma_u, lam, epochs, lr, inner_steps, warmup_epochs


def train_rss_torch(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                    X_unlabeled: torch.Tensor | None = None, *,
                    method: Literal["rss", "robust_erm", "erm"] = "rss", gamma: float = 1.0,
                    gamma_u: float | None = None, lam: float = 1.0, epochs: int = 100,
                    lr: float = 1e-2, weight_decay: float = 0.0, batch_size: int | None = None,
                    inner_steps: int = 5, warmup_epochs: int = 0, tol: float = 0.0,
                    generator: torch.Generator | None = None,
                    device: str | torch.device | None = None) -> TorchRSSResult:
    """Train ``model`` with the RSS objective (or robust ERM / ERM) by Adam and WRM.

    Parameters
    ----------
    model : torch.nn.Module
        Returns logits (B, K); trained in place.
    X, y : torch.Tensor
        Labeled inputs (m, ...) and class indices (m,).
    X_unlabeled : torch.Tensor, optional
        Unlabeled inputs (n, ...); required for ``method="rss"``.
    method : {"rss", "robust_erm", "erm"}
        ``"erm"`` uses no adversary and no unlabeled term.
    gamma, gamma_u : float
        Transport-cost multipliers of the labeled and unlabeled terms (> 0); ``gamma_u``
        defaults to ``gamma``.
    lam : float
        Weight of the unlabeled term (>= 0).
    epochs : int
        Passes over the labeled data.
    lr, weight_decay : float
        Adam settings.
    batch_size : int, optional
        Labeled mini-batch (default: full batch); the unlabeled batch has the same number of
        steps per epoch.
    inner_steps : int
        WRM ascent steps per batch.
    warmup_epochs : int
        Epochs trained on the labeled term only before the unlabeled term is switched on
        (pseudo-labels of an untrained network are noise; a warm-up avoids locking them in).
    tol : float
        Stop when the epoch objective changes by <= tol (0: run all epochs, converged=True).
    generator : torch.Generator, optional
        Randomness of the mini-batch order (a CPU generator; the indices it draws are moved
        to the data's device, so a seed gives the same batches on every device).
    device : {"cpu", "cuda", "cuda:k"} or torch.device, optional
        Where to train: ``model`` (in place), ``X``, ``y`` and ``X_unlabeled`` are moved
        there first. None (default): train where the model and the tensors already are.

    Returns
    -------
    TorchRSSResult

    Raises
    ------
    ValueError
        On bad sizes or hyperparameters, on a malformed or unavailable ``device``, or
        ``method="rss"`` without unlabeled data.
    TypeError
        When ``device`` is neither a str nor a ``torch.device``.
    FloatingPointError
        When the objective becomes NaN/inf (naming the epoch).

    Warns
    -----
    ConvergenceWarning
        When ``tol > 0`` and the objective still changed by more than ``tol`` at the last epoch.

    Examples
    --------
    >>> import torch
    >>> from theorylab.dro import train_rss_torch
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(40, 3, generator=g); y = (X[:, 0] > 0).long()
    >>> net = torch.nn.Linear(3, 2)
    >>> res = train_rss_torch(net, X, y, X + 0.1, gamma=2.0, lam=0.5, epochs=50, lr=0.1)
    >>> bool(res.history["objective"][-1] < res.history["objective"][0])
    True
    """
    method = check_choice(method, name="method", choices=("rss", "robust_erm", "erm"))
    m = int(X.shape[0])
    if y.shape[0] != m:
        raise ValueError(f"y must have shape ({m},), got {tuple(y.shape)}")
    gamma, gamma_u, lam, epochs, lr, inner_steps, warmup_epochs = _check_training(
        gamma, gamma_u, lam, epochs, lr, inner_steps, warmup_epochs)
    tol = check_scalar(tol, name="tol", lower=0.0)
    bs = m if batch_size is None else check_int(batch_size, name="batch_size", minimum=1)
    dev = check_device(device)
    if method == "rss":
        if X_unlabeled is None or X_unlabeled.shape[0] == 0:
            raise ValueError("X_unlabeled must be given (non-empty) for method='rss', got none")
        if X_unlabeled.shape[1:] != X.shape[1:]:
            raise ValueError(f"X_unlabeled must have rows of shape {tuple(X.shape[1:])}, got "
                             f"{tuple(X_unlabeled.shape[1:])}")
    if dev is not None:
        model.to(dev)
        X, y = X.to(dev), y.to(dev)
        if X_unlabeled is not None:
            X_unlabeled = X_unlabeled.to(dev)
    use_u = method == "rss" and lam > 0
    robust = method != "erm"
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    n_batches = math.ceil(m / bs)
    objs: list[float] = []
    converged = tol == 0
    for ep in range(epochs):
        perm = torch.randperm(m, generator=generator).to(X.device)
        if use_u:
            n = int(X_unlabeled.shape[0])
            perm_u = torch.randperm(n, generator=generator).to(X.device)
            bs_u = math.ceil(n / n_batches)
        total = 0.0
        for b in range(n_batches):
            idx = perm[b * bs:(b + 1) * bs]
            xb, yb = X[idx], y[idx]
            if robust:
                xb, _ = wrm_perturb(model, xb, yb, gamma=gamma, n_steps=inner_steps)
            loss = _per_sample_ce(model(xb), yb).mean()
            if use_u and ep >= warmup_epochs:
                iu = perm_u[b * bs_u:(b + 1) * bs_u]
                xu = X_unlabeled[iu]
                with torch.no_grad():
                    yu = model(xu).argmax(dim=1)
                xu, _ = wrm_perturb(model, xu, yu, gamma=gamma_u, n_steps=inner_steps)
                loss = loss + lam * _per_sample_ce(model(xu), yu).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) / n_batches
        if not np.isfinite(total):
            raise FloatingPointError(f"objective is not finite at epoch {ep}")
        objs.append(total)
        if tol > 0 and len(objs) > 1 and abs(objs[-1] - objs[-2]) <= tol:
            converged = True
            break
    k = len(objs)
    if converged:
        msg = f"ran {k} epochs" + (f" (objective change <= tol={tol:g})" if tol > 0 else "")
    else:
        change = abs(objs[-1] - objs[-2]) if k > 1 else float("inf")
        msg = f"reached epochs={epochs} with objective change {change:.3e} > tol={tol:g}"
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    hyper = {"gamma": gamma if robust else float("inf"), "gamma_u": gamma_u,
             "lam": lam if use_u else 0.0, "inner_steps": inner_steps, "lr": lr,
             "warmup_epochs": warmup_epochs,
             "epochs": epochs}
    return TorchRSSResult(x=None, n_iter=k, converged=converged, message=msg,
                          history={"objective": np.asarray(objs)}, model=model, method=method,
                          hyperparameters=hyper)
