"""AnyLoss in torch: the approximation function, soft confusion counts and the losses.

Paper symbols ↔ arguments: p_i ↔ ``probs`` (sigmoid outputs), y_i ↔ ``targets``, L ↔ ``L``
(steepness of the approximation function A), β ↔ ``beta``, ρ ↔ ``rho`` (hybrid weight).
Reference: Han, Moniz & Chawla, "AnyLoss: Transforming Classification Metrics into Loss
Functions", arXiv:2405.14745 (2024); the hybrid (1 − ρ)·WBCE + ρ·(1 − metric) and ε = 1e-5 in
the denominators follow the first author's public extension code.

A′(p) = L · A(p) (1 − A(p)) vanishes away from p = 1/2: at L = 73 and p = 0.9 it is
≈ 73 e^{−29.2} ≈ 1.5e-11, so a confidently classified sample — right or wrong — stops
contributing gradient.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch

from theorylab._validation import check_choice, check_positive, check_probability

from .metrics import METRICS

__all__ = ["approximation", "soft_confusion", "SoftConfusion", "anyloss", "weighted_bce",
           "hybrid_loss"]

EPS = 1e-5


class SoftConfusion(NamedTuple):
    """Soft confusion counts (0-d tensors, differentiable)."""

    tp: torch.Tensor
    fn: torch.Tensor
    fp: torch.Tensor
    tn: torch.Tensor


def _check_pair(probs, targets) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(probs, torch.Tensor):
        raise TypeError(f"probs must be a torch.Tensor, got {type(probs).__name__}")
    if not isinstance(targets, torch.Tensor):
        raise TypeError(f"targets must be a torch.Tensor, got {type(targets).__name__}")
    if not probs.is_floating_point():
        raise TypeError(f"probs must be a floating tensor, got {probs.dtype}")
    if probs.ndim == 2 and probs.shape[1] == 1:
        probs = probs[:, 0]
    if probs.ndim != 1 or probs.numel() == 0:
        raise ValueError(f"probs must be 1-dimensional with at least 1 entry, got shape "
                         f"{tuple(probs.shape)}")
    if targets.shape != probs.shape:
        raise ValueError(f"targets must have shape {tuple(probs.shape)}, got "
                         f"{tuple(targets.shape)}")
    with torch.no_grad():
        if not bool(torch.isfinite(probs).all()) or bool((probs < 0).any() | (probs > 1).any()):
            raise ValueError("probs must be finite and in [0, 1], got values outside")
        if not bool(((targets == 0) | (targets == 1)).all()):
            raise ValueError("targets must hold only 0 and 1, got other values")
    return probs, targets.to(probs.dtype)


def approximation(probs: torch.Tensor, *, L: float = 73.0) -> torch.Tensor:
    """A(p) = 1 / (1 + exp(−L (p − 1/2))), elementwise.

    Examples
    --------
    >>> import torch
    >>> approximation(torch.tensor([0.5])).item()
    0.5
    """
    L = check_positive(L, name="L")
    if not isinstance(probs, torch.Tensor):
        raise TypeError(f"probs must be a torch.Tensor, got {type(probs).__name__}")
    return torch.sigmoid(L * (probs - 0.5))


def soft_confusion(probs: torch.Tensor, targets: torch.Tensor, *, L: float = 73.0
                   ) -> SoftConfusion:
    """Soft TP, FN, FP, TN with a_i = A(p_i): TP = Σ a_i y_i, FN = Σ (1 − a_i) y_i, ..."""
    L = check_positive(L, name="L")
    p, y = _check_pair(probs, targets)
    a = torch.sigmoid(L * (p - 0.5))
    return SoftConfusion(tp=(a * y).sum(), fn=((1 - a) * y).sum(), fp=(a * (1 - y)).sum(),
                         tn=((1 - a) * (1 - y)).sum())


def anyloss(probs: torch.Tensor, targets: torch.Tensor, *,
            metric: Literal["accuracy", "f_beta", "balanced_accuracy", "g_mean"] = "f_beta",
            L: float = 73.0, beta: float = 1.0) -> torch.Tensor:
    """1 − metric(soft confusion counts), a scalar in [0, 1].

    - accuracy: 1 − (TP + TN) / N;
    - F_β: 1 − (1 + β²) TP / (β² N₁ + Σ a_i + ε);
    - balanced accuracy: 1 − (N₀ TP + N₁ TN) / (2 N₁ N₀ + ε);
    - G-mean (surrogate of the reference code): 1 − TP·TN / (N₁ N₀ + ε), i.e. 1 − G².

    ε = 1e-5 keeps a batch without one class finite.

    Examples
    --------
    >>> import torch
    >>> p = torch.tensor([1.0, 0.0, 0.0, 0.0]); y = torch.tensor([1.0, 1.0, 0.0, 0.0])
    >>> round(anyloss(p, y, metric="f_beta").item(), 4)  # F1 = 2/3
    0.3333
    """
    metric = check_choice(metric, name="metric", choices=METRICS)
    beta = check_positive(beta, name="beta")
    tp, fn, fp, tn = soft_confusion(probs, targets, L=L)
    n1, n0 = tp + fn, fp + tn
    if metric == "accuracy":
        value = (tp + tn) / (n1 + n0)
    elif metric == "f_beta":
        b2 = beta * beta
        value = (1 + b2) * tp / (b2 * n1 + tp + fp + EPS)
    elif metric == "balanced_accuracy":
        value = (n0 * tp + n1 * tn) / (2 * n1 * n0 + EPS)
    else:
        value = tp * tn / (n1 * n0 + EPS)
    return 1 - value


def weighted_bce(probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Class-weighted binary cross-entropy with per-batch weights w₁ = N₀/N, w₀ = N₁/N.

    Mean over samples of −[w₁ y log p + w₀ (1 − y) log(1 − p)], log clamped at −100 like
    ``torch.nn.functional.binary_cross_entropy``.
    """
    p, y = _check_pair(probs, targets)
    n1 = y.sum()
    w1, w0 = (y.numel() - n1) / y.numel(), n1 / y.numel()
    logp = torch.clamp(torch.log(p), min=-100)
    log1p = torch.clamp(torch.log1p(-p), min=-100)
    return -(w1 * y * logp + w0 * (1 - y) * log1p).mean()


def hybrid_loss(probs: torch.Tensor, targets: torch.Tensor, *,
                metric: Literal["accuracy", "f_beta", "balanced_accuracy", "g_mean"] = "f_beta",
                rho: float = 0.5, L: float = 73.0, beta: float = 1.0) -> torch.Tensor:
    """(1 − ρ) · weighted BCE + ρ · AnyLoss (the extension's hybrid)."""
    rho = check_probability(rho, name="rho")
    return (1 - rho) * weighted_bce(probs, targets) + rho * anyloss(
        probs, targets, metric=metric, L=L, beta=beta)
