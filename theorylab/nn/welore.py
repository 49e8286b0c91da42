"""WeLore: data-free, non-uniform rank reduction by one global threshold on normalised spectra.

Jaiswal et al. 2024, *From GaLore to WeLore: How Low-Rank Weights Non-uniformly Emerge from
Low-Rank Gradients*, arXiv:2407.11239.

For every compressed matrix ``W_i`` with singular values ``σ_1 ≥ … ≥ σ_k`` the normalised
spectrum is ``σ̂_j = (σ_j − σ_min) / (σ_max − σ_min)``. One threshold ``t`` for the whole model
keeps ``k'_i = #{j : σ̂_j ≥ t}``. The reference code maps a target reduction to ``t`` by a table
for LLaMA-2; here ``t`` is the quantile of all pooled ``σ̂`` that removes exactly the target
share of total rank (derived; model-independent). A matrix whose pruned fraction exceeds
``min_ratio`` becomes a *low-rank component* (LRC: two trainable factors ``U√Σ`` and
``√ΣVᵀ``); otherwise it is a *non-low-rank component* (N-LRC: kept dense and frozen).

Notation map (paper → code)

==============  =============================================
``σ̂``           :func:`normalized_spectrum`
``t``           ``RankAllocation.threshold``
``k, k'``       ``RankAllocation.full_ranks``, ``.ranks``
target %        ``reduction`` (share of the total rank removed)
LRC / N-LRC     ``kind`` in the report of :func:`compress_model`
==============  =============================================
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from theorylab._validation import check_choice, check_int, check_scalar
from theorylab.nn._checks import check_finite_weight, check_input
from theorylab.results import ResultRepr

__all__ = ["normalized_spectrum", "allocate_ranks", "RankAllocation", "FactorizedLinear",
           "compress_model", "CompressionReport"]


def _singular_values(W, *, name: str = "weights[0]") -> np.ndarray:
    if isinstance(W, nn.Linear):
        W = W.weight
    if isinstance(W, torch.Tensor):
        W = W.detach().cpu().to(torch.float64)
    a = np.asarray(W, dtype=np.float64)
    if a.ndim not in (1, 2):
        raise ValueError(f"weights must be 2-D matrices or 1-D spectra, got shape {a.shape}")
    check_finite_weight(torch.from_numpy(a), name=name)
    if a.ndim == 1:
        return a
    return np.linalg.svd(a, compute_uv=False)


def normalized_spectrum(sigma) -> np.ndarray:
    """``(σ − σ_min) / (σ_max − σ_min)``, with the two degenerate spectra made explicit.

    - An all-zero spectrum (a zero matrix) maps to all zeros: it carries no energy, so its
      components are the first to prune, never "as important as any top component".
    - A flat nonzero spectrum (``σ_max − σ_min ≤ 1e-12 σ_max``, e.g. an orthogonal matrix)
      maps to all ones: every direction is as large as the largest — the opposite of low rank.
      The relative tolerance keeps round-off in ``svdvals`` of such a matrix from being
      stretched into an arbitrary ``[0, 1]`` ranking.

    Examples
    --------
    >>> normalized_spectrum([4.0, 2.0, 1.0]).tolist()
    [1.0, 0.3333333333333333, 0.0]
    >>> normalized_spectrum([0.0, 0.0]).tolist(), normalized_spectrum([2.0, 2.0]).tolist()
    ([0.0, 0.0], [1.0, 1.0])
    """
    s = np.asarray(sigma, dtype=np.float64)
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"sigma must be a non-empty 1-D array, got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"sigma must be finite, got {int(np.isnan(s).sum())} NaN and "
                         f"{int(np.isinf(s).sum())} inf entries")
    if np.any(s < 0):
        raise ValueError(f"sigma must be >= 0 (singular values), got min {s.min()!r}")
    lo, hi = s.min(), s.max()
    if hi == 0:
        return np.zeros_like(s)
    if hi - lo <= 1e-12 * hi:
        return np.ones_like(s)
    return (s - lo) / (hi - lo)


@dataclass(frozen=True)
class RankAllocation(ResultRepr):
    """Kept ranks per matrix and how they were chosen."""

    ranks: tuple[int, ...]
    full_ranks: tuple[int, ...]
    threshold: float | None
    rule: str

    @property
    def removed_fraction(self) -> float:
        """Share of the total rank removed, ``1 − Σk' / Σk``."""
        return 1.0 - sum(self.ranks) / sum(self.full_ranks)


def allocate_ranks(weights: Sequence, *, reduction: float,
                   rule: Literal["welore", "uniform"] = "welore") -> RankAllocation:
    """Kept rank of each matrix for a target share of total rank removed.

    Parameters
    ----------
    weights : sequence of 2-D tensors/arrays, ``nn.Linear`` or 1-D spectra
    reduction : float in [0, 1)
        Share of ``Σ_i min(m_i, n_i)`` to remove.
    rule : {"welore", "uniform"}
        ``"welore"``: remove the components with the smallest normalised singular values
        pooled over all matrices (one global threshold); ``"uniform"``: remove
        ``round(reduction·k_i)`` from every matrix.

    Returns
    -------
    RankAllocation

    Notes
    -----
    Every matrix keeps at least its top component, so the removed total equals
    ``round(reduction·Σk)`` exactly for WeLore unless that would empty a matrix, and up to
    one per matrix (rounding) for uniform. For a non-flat spectrum σ̂_min = 0, so any
    ``t > 0`` prunes at least one of its components. A zero matrix (σ̂ ≡ 0) is pruned to
    rank 1 before any component with σ̂ > 0 (ties at σ̂ = 0 — every matrix's smallest
    component — go in the order of ``weights``); a flat nonzero one (σ̂ ≡ 1) goes last
    (see :func:`normalized_spectrum`).

    References
    ----------
    Jaiswal et al., WeLore, arXiv:2407.11239 (2024).

    Examples
    --------
    >>> a = allocate_ranks([np.array([10., 1., 1., 1.]), np.array([5., 4., 3., 0.])],
    ...                    reduction=0.5)
    >>> a.ranks
    (1, 3)
    """
    if isinstance(weights, torch.Tensor | np.ndarray) or len(weights) == 0:
        raise TypeError("weights must be a non-empty sequence of matrices or spectra")
    reduction = check_scalar(reduction, name="reduction", lower=0.0, upper=1.0)
    if reduction >= 1.0:
        raise ValueError(f"reduction must be < 1, got {reduction}")
    rule = check_choice(rule, name="rule", choices=("welore", "uniform"))
    spectra = [np.sort(_singular_values(W, name=f"weights[{i}]"))[::-1]
               for i, W in enumerate(weights)]
    full = tuple(len(s) for s in spectra)
    if rule == "uniform":
        ranks = tuple(max(1, k - int(round(reduction * k))) for k in full)
        return RankAllocation(ranks=ranks, full_ranks=full, threshold=None, rule=rule)
    n_remove = int(round(reduction * sum(full)))
    # candidates: every component but each matrix's top one, ordered by normalised value
    vals, owner = [], []
    for i, s in enumerate(spectra):
        sh = normalized_spectrum(s)
        vals.append(sh[1:])
        owner.append(np.full(len(s) - 1, i))
    vals_a, owner_a = np.concatenate(vals), np.concatenate(owner)
    n_remove = min(n_remove, len(vals_a))
    order = np.argsort(vals_a, kind="stable")[:n_remove]
    removed = np.bincount(owner_a[order], minlength=len(spectra))
    ranks = tuple(int(k - r) for k, r in zip(full, removed, strict=True))
    t = (float(vals_a[order[-1]]) if n_remove else 0.0)
    return RankAllocation(ranks=ranks, full_ranks=full, threshold=t, rule=rule)


class FactorizedLinear(nn.Module):
    """``y = x Bᵀ Aᵀ + b`` with ``A = U_k' √Σ`` (out×k') and ``B = √Σ V_k'ᵀ`` (k'×in).

    Examples
    --------
    >>> lin = torch.nn.Linear(6, 5, dtype=torch.float64)
    >>> f = FactorizedLinear.from_linear(lin, rank=5)
    >>> x = torch.randn(3, 6, dtype=torch.float64)
    >>> bool(torch.allclose(f(x), lin(x)))
    True
    """

    def __init__(self, A: torch.Tensor, B: torch.Tensor, bias: torch.Tensor | None = None
                 ) -> None:
        super().__init__()
        if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
            raise ValueError(f"A and B must be (out, k) and (k, in), got {tuple(A.shape)} and "
                             f"{tuple(B.shape)}")
        self.A = nn.Parameter(A.detach().clone())  # (out, k')
        self.B = nn.Parameter(B.detach().clone())  # (k', in)
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone())
        self.rank = A.shape[1]

    @classmethod
    def from_linear(cls, linear: nn.Linear, *, rank: int) -> FactorizedLinear:
        """Best rank-``rank`` factorisation (Eckart–Young) of ``linear.weight``."""
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be a torch.nn.Linear, got {type(linear).__name__}")
        W = check_finite_weight(linear.weight.detach(), name="linear.weight")
        rank = check_int(rank, name="rank", minimum=1, maximum=min(W.shape))
        U, S, Vh = torch.linalg.svd(W.to(torch.float64), full_matrices=False)
        r = S[:rank].sqrt()
        A = (U[:, :rank] * r).to(W.dtype)
        B = (r[:, None] * Vh[:rank]).to(W.dtype)
        return cls(A, B, None if linear.bias is None else linear.bias)

    def merged_weight(self) -> torch.Tensor:
        return self.A @ self.B

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., in) -> (..., out)
        check_input(x, self.B.shape[1])
        y = (x @ self.B.T) @ self.A.T
        return y if self.bias is None else y + self.bias


@dataclass(frozen=True)
class CompressionReport(ResultRepr):
    """Per compressed matrix: name, shape, full rank, kept rank, ``"LRC"``/``"N-LRC"``."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, int], ...]
    allocation: RankAllocation
    kinds: tuple[str, ...]

    @property
    def n_parameters(self) -> int:
        """Weight parameters of the compressed matrices after compression."""
        n = 0
        for (m, k), r, kind in zip(self.shapes, self.allocation.ranks, self.kinds, strict=True):
            n += r * (m + k) if kind == "LRC" else m * k
        return n


def _get_parent(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    *path, last = name.split(".")
    mod = model
    for p in path:
        mod = getattr(mod, p)
    return mod, last


def compress_model(model: nn.Module, *, reduction: float,
                   rule: Literal["welore", "uniform"] = "welore", min_ratio: float = 0.0,
                   names: Sequence[str] | None = None
                   ) -> tuple[nn.Module, CompressionReport]:
    """A compressed copy of ``model`` (``model`` itself is not modified).

    Parameters
    ----------
    model : nn.Module
    reduction : float in [0, 1)
        Share of the total rank of the chosen matrices to remove.
    rule : {"welore", "uniform"}
    min_ratio : float in [0, 1)
        A matrix becomes an LRC (two trainable factors) when its pruned fraction exceeds
        ``min_ratio``; otherwise it stays dense and frozen (N-LRC).
    names : sequence of str, optional
        Qualified names of the ``nn.Linear`` modules to compress; default all of them.

    Returns
    -------
    (compressed model, CompressionReport)
    """
    min_ratio = check_scalar(min_ratio, name="min_ratio", lower=0.0, upper=1.0)
    lins = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    if names is None:
        names = list(lins)
    for n in names:
        if n not in lins:
            raise ValueError(f"names must name nn.Linear modules of model, got {n!r}")
    if not names:
        raise ValueError("names must contain at least one nn.Linear, got none")
    for n in names:  # name the module, not its position, when a weight is NaN/inf
        check_finite_weight(lins[n].weight.detach(), name=f"{n}.weight")
    alloc = allocate_ranks([lins[n].weight for n in names], reduction=reduction, rule=rule)
    new = copy.deepcopy(model)
    kinds = []
    for n, k, r in zip(names, alloc.full_ranks, alloc.ranks, strict=True):
        parent, attr = _get_parent(new, n)
        lin = getattr(parent, attr)
        if (k - r) / k > min_ratio:
            setattr(parent, attr, FactorizedLinear.from_linear(lin, rank=r))
            kinds.append("LRC")
        else:
            for p in lin.parameters():
                p.requires_grad_(False)
            kinds.append("N-LRC")
    shapes = tuple(tuple(lins[n].weight.shape) for n in names)
    return new, CompressionReport(names=tuple(names), shapes=shapes, allocation=alloc,
                                  kinds=tuple(kinds))
