"""Condition numbers of pruned weight matrices, on the active submatrix.

Magnitude pruning zeroes whole rows (dead output units) and columns (inputs nobody reads, e.g.
always-zero pixels), which makes σ_min = 0 and κ = ∞ for the full matrix although the layer
computes a well-defined map on the units that remain. The *active submatrix* keeps the rows
and columns with at least one entry of magnitude > ``tol``; its condition number
κ = σ_max / σ_min (σ_min the smallest of its min(m', n') singular values) and its numerical
rank are what the robustness argument needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theorylab._validation import check_matrix, check_positive
from theorylab.results import ResultRepr, freeze_array

__all__ = ["ActiveCondition", "active_condition_number", "active_submatrix"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveCondition(ResultRepr):
    """κ of the active submatrix, its rank, the kept rows/columns and singular values.

    ``kappa_effective`` = σ_max / σ_rank, the condition number of the map restricted to the
    row space (finite even when the active submatrix is structurally rank-deficient).
    """

    kappa: float
    kappa_effective: float
    rank: int
    rows: np.ndarray
    cols: np.ndarray
    singular_values: np.ndarray
    shape: tuple

    def __post_init__(self) -> None:
        for f in ("rows", "cols", "singular_values"):
            object.__setattr__(self, f, freeze_array(getattr(self, f)))

    @property
    def active_shape(self) -> tuple[int, int]:
        return (int(self.rows.size), int(self.cols.size))


def active_submatrix(W, *, tol: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the rows and columns of ``W`` holding an entry with |w| > ``tol``.

    Examples
    --------
    >>> W = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    >>> active_submatrix(W)
    (array([0]), array([0, 2]))
    """
    W = check_matrix(W, name="W")
    tol = check_positive(tol, name="tol", strict=False)
    big = np.abs(W) > tol
    return np.flatnonzero(big.any(axis=1)), np.flatnonzero(big.any(axis=0))


def active_condition_number(W, *, tol: float = 0.0, rank_rtol: float | None = None
                            ) -> ActiveCondition:
    """Condition number of the active submatrix of ``W`` and its numerical rank.

    Parameters
    ----------
    W : array (m, n)
        A weight matrix (a convolution kernel reshaped to out × in·k·k).
    tol : float >= 0
        Entries with |w| <= tol count as pruned (default: exactly zero).
    rank_rtol : float, optional
        Singular values above ``rank_rtol · σ_max`` count towards the rank (default
        max(m', n') · machine epsilon, NumPy's ``matrix_rank`` rule).

    Returns
    -------
    ActiveCondition
        ``kappa`` (``inf`` when the active submatrix is rank-deficient in exact arithmetic,
        ``nan`` when no entry is active), ``rank``, ``rows``, ``cols``, ``singular_values``.

    Examples
    --------
    >>> W = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    >>> r = active_condition_number(W)
    >>> r.kappa, r.rank, r.active_shape
    (2.0, 2, (2, 2))
    """
    W = check_matrix(W, name="W")
    tol = check_positive(tol, name="tol", strict=False)
    rows, cols = active_submatrix(W, tol=tol)
    if rows.size == 0:
        return ActiveCondition(kappa=float("nan"), kappa_effective=float("nan"), rank=0,
                               rows=rows, cols=cols, singular_values=np.zeros(0),
                               shape=W.shape)
    A = np.where(np.abs(W) > tol, W, 0.0)[np.ix_(rows, cols)]
    s = np.linalg.svd(A, compute_uv=False)
    if rank_rtol is None:
        rtol = max(A.shape) * np.finfo(np.float64).eps
    else:
        rtol = check_positive(rank_rtol, name="rank_rtol")
    rank = int(np.sum(s > rtol * s[0]))
    kappa = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
    return ActiveCondition(kappa=kappa, kappa_effective=float(s[0] / s[rank - 1]), rank=rank,
                           rows=rows, cols=cols, singular_values=s, shape=W.shape)
