"""Differentiable penalties on weight matrices (torch).

- ``log_condition_penalty``: log σ_max − log σ_min of the (active) matrix, = log κ; zero iff
  all (active) singular values are equal. Differentiable where the extreme singular values
  are simple (``torch.linalg.svdvals``). The exact form of the paper's condition-number
  constraint was not available; log κ is one of the standard differentiable surrogates.
- ``lipschitz_penalty``: σ_max, the Lipschitz constant of the linear map x ↦ W x (ℓ2).
- ``transformed_l1``: Σ ρ_a(w), ρ_a(w) = (a + 1)|w| / (a + |w|), between ℓ0 (a → 0) and
  ℓ1 (a → ∞); a smooth sparsity surrogate (the paper's exact transformed sparse constraint is
  unconfirmed).
"""

from __future__ import annotations

import torch

from theorylab._validation import check_positive

__all__ = ["log_condition_penalty", "lipschitz_penalty", "transformed_l1"]


def _weight(W, name: str = "W") -> torch.Tensor:
    if not isinstance(W, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(W).__name__}")
    if not W.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor, got {W.dtype}")
    if W.ndim > 2:  # convolution kernel: out × (in · k · k)
        W = W.reshape(W.shape[0], -1)
    if W.ndim != 2 or W.shape[0] == 0 or W.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty matrix (or conv kernel), got shape "
                         f"{tuple(W.shape)}")
    return W


def log_condition_penalty(W: torch.Tensor, *, active_only: bool = True,
                          floor: float = 1e-8) -> torch.Tensor:
    """log σ_max − log max(σ_min, floor · σ_max) of ``W`` (its active submatrix when
    ``active_only``).

    Rows and columns that are exactly zero are dropped first (pruned units); a fully zero
    matrix gives 0. The floor keeps the penalty and its gradient finite when the active
    submatrix is (structurally) rank-deficient, which heavy pruning produces: the value is
    then log(1/floor) and only σ_max receives gradient. Exact for κ ≤ 1/floor.

    Examples
    --------
    >>> import torch
    >>> W = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    >>> round(float(log_condition_penalty(W)), 6)  # log 2
    0.693147
    """
    W = _weight(W)
    floor = check_positive(floor, name="floor")
    if active_only:
        with torch.no_grad():
            nz = W != 0
            rows = torch.nonzero(nz.any(dim=1)).flatten()
            cols = torch.nonzero(nz.any(dim=0)).flatten()
        if rows.numel() == 0:
            return W.sum() * 0.0
        W = W.index_select(0, rows).index_select(1, cols)
    s = torch.linalg.svdvals(W)
    return torch.log(s[0]) - torch.log(torch.maximum(s[-1], floor * s[0].detach()))


def lipschitz_penalty(W: torch.Tensor) -> torch.Tensor:
    """σ_max(W), the ℓ2 Lipschitz constant of x ↦ W x."""
    return torch.linalg.svdvals(_weight(W))[0]


def transformed_l1(W: torch.Tensor, *, a: float = 1.0) -> torch.Tensor:
    """Σ (a + 1)|w| / (a + |w|) over the entries of ``W``.

    Examples
    --------
    >>> import torch
    >>> float(transformed_l1(torch.tensor([0.0, 1.0, -1.0]), a=1.0))
    2.0
    """
    a = check_positive(a, name="a")
    if not isinstance(W, torch.Tensor):
        raise TypeError(f"W must be a torch.Tensor, got {type(W).__name__}")
    w = W.abs()
    return ((a + 1) * w / (a + w)).sum()
