"""Worst-case forget sets: the subset of the training data that is hardest to unlearn.

Fan, Liu, Hero & Liu 2024, "Challenging Forgets: Unveiling the Worst-Case Forget Sets in
Machine Unlearning" (ECCV 2024, arXiv:2403.07362). A bi-level selection over weights
w ∈ [0, 1]^N with 1ᵀw = m (m = size of the forget set):

- lower level: reload θ_o and run ``inner_epochs`` passes of the unlearning method on the
  whole training set with the weights — weighted fine-tuning Σ_i (1 − w_i) ℓ_i(θ) (``"ft"``,
  the reference code's ``w_FT``) or weighted ascent −Σ_i w_i ℓ_i(θ) (``"ga"``) — with
  sign-SGD, θ ← θ − η_θ sign(∇);
- upper level: per-sample losses ℓ_i(θ_u) on the whole training set (the implicit
  dependence of θ_u on w is ignored, as in the reference code); w ← w − η_w (ℓ + 2γ w),
  then the Euclidean projection onto {0 ≤ w ≤ 1, 1ᵀw = m} (bisection on the shift τ of
  clip(w − τ, 0, 1), :func:`project_capped_simplex`). Minimising Σ w_i ℓ_i(θ_u) selects the
  points that stay well fitted after the rest is unlearned: the hardest to forget;
- after every selection epoch the top-m weights give the binary selection; every
  ``binarize_every`` epochs w is replaced by it. ``mode="easiest"`` ascends instead (the
  reference code's ``re_optm``): the set that is easiest to forget.

Paper symbol ↔ argument: w ↔ ``weights``, m ↔ ``m``, η_θ ↔ ``lr_theta``, η_w ↔ ``lr_w``,
γ ↔ ``gamma``, unrolled lower-level passes ↔ ``inner_epochs``, selection epochs ↔ ``epochs``.
The result's ``split`` (the forget set) is a :class:`~theorylab.unlearning.scenarios.ForgetSplit`
(scenario ``"worst_case"`` / ``"easiest"``) that any registered method runs on.

Step size of w (project note): the reference default η_w = 0.01 with a *binary* initial w
(a random set) moves a point into the set only after its summed loss advantage reaches
≈ 1/η_w = 100 nats, so a few selection epochs return the initial random set; ``init="uniform"``
(w = m/N, present but commented out in the reference code) lets the same step size select.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from theorylab._validation import check_choice, check_int, check_positive, check_vector
from theorylab.unlearning.models import epoch_batches, predict_logits
from theorylab.unlearning.scenarios import ForgetSplit, check_forget_retain

from ..results import ResultRepr

__all__ = ["project_capped_simplex", "project_capped_simplex_sort", "WorstCaseResult",
           "select_worst_case", "per_sample_losses", "weighted_lower_level"]


def _check_projection_input(v, m) -> tuple[np.ndarray, float]:
    v = check_vector(v, name="v")
    if v.size == 0:
        raise ValueError("v must be non-empty, got an empty vector")
    m = float(m)
    if not (0.0 <= m <= v.size):
        raise ValueError(f"m must be in [0, {v.size}] (the length of v), got {m!r}")
    return v, m


def project_capped_simplex(v, m: float, *, max_iter: int = 200) -> np.ndarray:
    """Euclidean projection of ``v`` onto {w : 0 ≤ w ≤ 1, Σ w = m} by bisection.

    Parameters
    ----------
    v : array (N,)
        The point to project (finite).
    m : float
        The required sum, ``0 ≤ m ≤ N``.
    max_iter : int
        Bisection steps on τ (60 already reach the spacing of float64).

    Returns
    -------
    w : array (N,)
        ``clip(v − τ, 0, 1)`` with τ such that Σ w = m.

    Notes
    -----
    The KKT conditions of min ½‖w − v‖² s.t. 0 ≤ w ≤ 1, 1ᵀw = m give w = clip(v − τ, 0, 1)
    for a scalar τ; f(τ) = Σ clip(v − τ, 0, 1) is continuous, non-increasing, equal to N at
    τ = min(v) − 1 and to 0 at τ = max(v). Bisection brackets the root; once the bracket
    holds no breakpoint v_i or v_i − 1, f is linear there and τ is solved exactly from the
    points strictly inside (0, 1), so Σ w = m holds to rounding (unlike a stop on the width
    of the bracket alone).
    """
    v, m = _check_projection_input(v, m)
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    lo, hi = float(v.min()) - 1.0, float(v.max())
    f = lambda t: float(np.clip(v - t, 0.0, 1.0).sum())
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if f(mid) > m:
            lo = mid
        else:
            hi = mid
        # f is linear on (lo, hi) when no breakpoint lies strictly inside: solve exactly
        inside = ((v > lo) & (v < hi)) | ((v - 1.0 > lo) & (v - 1.0 < hi))
        if not inside.any():
            break
    t = 0.5 * (lo + hi)
    free = (v - t > 0.0) & (v - t < 1.0)
    n_one = int(np.count_nonzero(v - t >= 1.0))
    if free.any():
        t = (float(v[free].sum()) + n_one - m) / int(np.count_nonzero(free))
    return np.clip(v - t, 0.0, 1.0)


def project_capped_simplex_sort(v, m: float) -> np.ndarray:
    """The same projection computed exactly from the sorted breakpoints (the reference the
    bisection is tested against): f(τ) = Σ clip(v − τ, 0, 1) is piecewise linear with kinks
    at every v_i and v_i − 1; find the two consecutive kinks whose values bracket m and
    interpolate linearly between them."""
    v, m = _check_projection_input(v, m)
    kinks = np.unique(np.concatenate([v, v - 1.0]))  # sorted ascending
    vals = np.array([np.clip(v - t, 0.0, 1.0).sum() for t in kinks])  # non-increasing
    if m >= vals[0]:  # m = N: every weight 1
        return np.clip(v - kinks[0], 0.0, 1.0)
    if m <= vals[-1]:  # m = 0
        return np.clip(v - kinks[-1], 0.0, 1.0)
    j = int(np.flatnonzero(vals >= m)[-1])  # vals[j] >= m > vals[j + 1]
    t0, t1, f0, f1 = kinks[j], kinks[j + 1], vals[j], vals[j + 1]
    t = t0 + (f0 - m) * (t1 - t0) / (f0 - f1)
    return np.clip(v - t, 0.0, 1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorstCaseResult(ResultRepr):
    """Outcome of :func:`select_worst_case`.

    Attributes
    ----------
    split : ForgetSplit
        The selected forget set (the top-m weights after the last epoch) and its complement.
    weights : array (N,)
        The continuous weights after the last upper-level step (before binarisation).
    objective : array (epochs,)
        Σ_i w_i ℓ_i(θ_u) after each upper-level step (read-only).
    selected_loss : array (epochs,)
        Mean ℓ_i(θ_u) over the binary selection of each epoch (read-only).
    initial : int64 array
        The initial selection (``init="random"``) or an empty array (``init="uniform"``).
    mode : str
        ``"hardest"`` or ``"easiest"``.
    """

    split: ForgetSplit
    weights: np.ndarray
    objective: np.ndarray
    selected_loss: np.ndarray
    initial: np.ndarray
    mode: str


@torch.no_grad()
def per_sample_losses(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Cross-entropy ℓ_i(θ) of every row, float64 NumPy ``(N,)`` (eval mode)."""
    z = predict_logits(model, X)
    return nn.functional.cross_entropy(z, y, reduction="none").double().cpu().numpy()


def weighted_lower_level(model: nn.Module, X: torch.Tensor, y: torch.Tensor, w: torch.Tensor, *,
                 lower: str, inner_epochs: int, lr_theta: float, batch_size: int,
                 generator: torch.Generator) -> None:
    """``inner_epochs`` passes of weighted unlearning with sign-SGD, in place: the lower level
    of the bi-level selection (``lower="ft"``: descend on the loss weighted by 1 − w, i.e.
    fine-tune on what is kept; ``"ga"``: ascend on the loss weighted by w)."""
    model.train()
    for _ in range(inner_epochs):
        for idx in epoch_batches(X.shape[0], batch_size, generator):
            idx = idx.to(X.device)
            loss_i = nn.functional.cross_entropy(model(X[idx]), y[idx], reduction="none")
            wb = w[idx].to(loss_i.dtype)
            loss = ((1.0 - wb) * loss_i).sum() if lower == "ft" else -(wb * loss_i).sum()
            model.zero_grad(set_to_none=True)
            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    if p.grad is not None:
                        p.add_(p.grad.sign(), alpha=-lr_theta)
    model.eval()


def select_worst_case(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, m: int,
                      epochs: int = 5, inner_epochs: int = 5, lr_theta: float = 1e-3,
                      lr_w: float = 0.01, gamma: float = 0.0, batch_size: int = 256,
                      lower: Literal["ft", "ga"] = "ft",
                      mode: Literal["hardest", "easiest"] = "hardest",
                      init: Literal["random", "uniform"] = "random",
                      binarize_every: int | None = None,
                      generator: torch.Generator) -> WorstCaseResult:
    """Bi-level selection of the ``m`` training points hardest (or easiest) to unlearn.

    Parameters
    ----------
    model : nn.Module
        The original model θ_o (not modified; every lower level starts from a copy).
    X, y : tensors (N, d), (N,)
        The whole training set D.
    m : int
        Size of the forget set, ``1 ≤ m ≤ N − 1``.
    epochs, inner_epochs : int
        Selection epochs (upper level) and lower-level passes over D per selection epoch.
    lr_theta, lr_w, gamma : float
        η_θ (sign-SGD), η_w and the ridge γ of the upper level.
    batch_size : int
        Lower-level minibatch size.
    lower : {"ft", "ga"}
        Lower-level method: weighted FT on (1 − w) or weighted ascent on w.
    mode : {"hardest", "easiest"}
        Descend (worst case) or ascend (reverse mode) on Σ w ℓ.
    init : {"random", "uniform"}
        Initial w: the indicator of a random m-subset drawn from ``generator`` (reference
        code) or the constant m/N.
    binarize_every : int, optional
        Replace w by its top-m indicator every this many epochs (default ``epochs``: only
        after the last epoch, as the reference code's cap of ``feq_to_bi``).
    generator : torch.Generator
        Draws the initial set and every data order.

    Returns
    -------
    WorstCaseResult
    """
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {tuple(y.shape)}")
    N = int(X.shape[0])
    m = check_int(m, name="m", minimum=1, maximum=N - 1)
    epochs = check_int(epochs, name="epochs", minimum=1)
    inner_epochs = check_int(inner_epochs, name="inner_epochs", minimum=0)
    lr_theta = check_positive(lr_theta, name="lr_theta")
    lr_w = check_positive(lr_w, name="lr_w")
    gamma = check_positive(gamma, name="gamma", strict=False)
    batch_size = check_int(batch_size, name="batch_size", minimum=1)
    check_choice(lower, name="lower", choices=("ft", "ga"))
    check_choice(mode, name="mode", choices=("hardest", "easiest"))
    check_choice(init, name="init", choices=("random", "uniform"))
    binarize_every = epochs if binarize_every is None else check_int(
        binarize_every, name="binarize_every", minimum=1)
    binarize_every = min(binarize_every, epochs)

    if init == "random":
        initial = np.sort(torch.randperm(N, generator=generator)[:m].numpy()).astype(np.int64)
        w = np.zeros(N)
        w[initial] = 1.0
    else:
        initial = np.zeros(0, dtype=np.int64)
        w = np.full(N, m / N)
    sign = -1.0 if mode == "hardest" else 1.0
    objective, sel_loss = [], []
    top = initial
    for epoch in range(epochs):
        work = copy.deepcopy(model)
        for p in work.parameters():
            p.requires_grad_(True)
        w_t = torch.as_tensor(w, dtype=X.dtype, device=X.device)
        weighted_lower_level(work, X, y, w_t, lower=lower, inner_epochs=inner_epochs,
                     lr_theta=lr_theta, batch_size=batch_size, generator=generator)
        loss = per_sample_losses(work, X, y)
        w = project_capped_simplex(w + sign * lr_w * (loss + 2.0 * gamma * w), m)
        objective.append(float(w @ loss))
        # top-m by weight; ties (e.g. several weights at 1) broken by the lower loss
        order = np.lexsort((sign * -loss, -w))
        top = np.sort(order[:m]).astype(np.int64)
        sel_loss.append(float(loss[top].mean()))
        w_soft = w
        if (epoch + 1) % binarize_every == 0:
            w = np.zeros(N)
            w[top] = 1.0
    retain = np.setdiff1d(np.arange(N, dtype=np.int64), top)
    check_forget_retain(top, retain, N)
    split = ForgetSplit(forget=top, retain=retain,
                        scenario="worst_case" if mode == "hardest" else "easiest")
    return WorstCaseResult(split=split, weights=_read_only(w_soft),
                           objective=_read_only(objective), selected_loss=_read_only(sel_loss),
                           initial=initial, mode=mode)


def _read_only(a) -> np.ndarray:
    out = np.array(a, dtype=np.float64)
    out.setflags(write=False)
    return out

