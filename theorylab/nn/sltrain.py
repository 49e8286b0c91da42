"""SLTrain: weights as a low-rank product plus a sparse matrix on a fixed random support.

Han, Li, Huang, Hong, Takeda, Jawanpuria, Mishra 2024, *SLTrain: a sparse plus low-rank
approach for parameter and memory efficient pretraining*, NeurIPS 2024, arXiv:2406.02214.

Paper symbol ↔ code:

========================  ==================================================================
``W = (α/r) B A + S``     :meth:`SparsePlusLowRankLinear.dense_weight`
``A ∈ R^{r×in}``          parameter ``A``, kaiming-uniform (bound ``1/√in``)
``B ∈ R^{out×r}``         parameter ``B``, zero at init (reference code)
``Ω`` (support of S)      buffer ``support``: ``⌊δ in out⌋`` sorted flat indices, fixed
``S_Ω`` (its values)      parameter ``values``, ``U(−1/√in, 1/√in)`` at init
``δ``                     ``density``
``α``, ``r``              ``alpha``, ``rank``
========================  ==================================================================

At step 0 the layer is ``W = S``, a sparse random matrix — not zero. A prototype found this
initialisation is what makes the sparse part useful: with ``S = 0`` and ``B`` random the
sparse part added nothing in a char-LM prototype. Off-support entries of ``S`` are zero by
construction (only ``values`` is a parameter), so the support can never drift.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import torch
from torch import nn

from theorylab._validation import check_choice, check_int, check_positive, check_scalar
from theorylab.nn._checks import check_device
from theorylab.nn.training import fill_uniform_ as _fill_uniform_

__all__ = ["SLTrainConfig", "SparsePlusLowRankLinear", "sltrain_num_parameters"]

Init = Literal["reference", "zero_sparse"]
Backend = Literal["dense", "sparse"]


def _support_size(density: float, in_features: int, out_features: int) -> int:
    """``⌊δ in out⌋``, robust to the binary rounding of ``δ``.

    The float ``0.29`` is ``0.28999999999999998…``, so a plain float floor of ``0.29 · 100``
    gives 28. The product is formed exactly (``Fraction`` of the float), and a value within
    a relative ``1e-12`` of an integer counts as that integer — far above the float's
    rounding (~1e-16), far below any density a user means.
    """
    x = Fraction(float(density)) * in_features * out_features
    nearest = round(x)
    if abs(x - nearest) <= Fraction(1, 10**12) * max(1, nearest):
        return int(nearest)
    return math.floor(x)


def sltrain_num_parameters(in_features: int, out_features: int, *, rank: int, density: float,
                           bias: bool = True) -> int:
    """``r (in + out) + ⌊δ in out⌋ (+ out)``."""
    return (rank * (in_features + out_features)
            + _support_size(density, in_features, out_features)
            + (out_features if bias else 0))


@dataclass(frozen=True)
class SLTrainConfig:
    """Options of :class:`SparsePlusLowRankLinear` (see its docstring)."""

    rank: int
    density: float
    alpha: float | None = None
    init: Init = "reference"
    backend: Backend = "dense"


class SparsePlusLowRankLinear(nn.Module):
    """``y = x ((α/r) B A + S)ᵀ + bias`` with ``S`` supported on a fixed random set.

    Parameters
    ----------
    in_features, out_features : int
    rank : int
        Rank ``r`` of the low-rank part (1 <= r <= min(in, out)).
    density : float
        Fraction ``δ ∈ [0, 1]`` of entries in the sparse support; ``nnz = ⌊δ in out⌋``.
    alpha : float, optional
        Scale numerator; default ``rank`` (scale 1). The reference runs use ``α = 32``.
    bias : bool
    init : {"reference", "zero_sparse"}
        ``"reference"``: the official init (``B = 0``, ``A`` kaiming-uniform, ``S`` values
        ``U(−1/√in, 1/√in)``). ``"zero_sparse"``: the ablation with ``S = 0`` and both ``A``
        and ``B`` kaiming-uniform.
    backend : {"dense", "sparse"}
        How ``x Sᵀ`` is computed: scatter the values into a dense matrix (fast on CPU for
        moderate sizes) or a ``torch.sparse`` COO matmul. Both give the same outputs and
        gradients.
    generator : torch.Generator, optional
        Source of the support and the init (same seed → same support).
    device, dtype : optional

    Notes
    -----
    Trainable: ``A``, ``B``, ``values`` and ``bias``; ``r (in + out) + nnz + out`` numbers.
    The forward keeps the low-rank product factored: ``((x Aᵀ) Bᵀ) α/r``.

    References
    ----------
    arXiv:2406.02214.

    Examples
    --------
    >>> import torch
    >>> layer = SparsePlusLowRankLinear(10, 6, rank=2, density=0.1,
    ...                                 generator=torch.Generator().manual_seed(0))
    >>> layer.nnz, layer.num_parameters
    (6, 44)
    >>> S = layer.sparse_weight()
    >>> bool(torch.equal(layer.dense_weight(), S))   # B = 0 at init: W = S
    True
    """

    def __init__(self, in_features: int, out_features: int, *, rank: int, density: float,
                 alpha: float | None = None, bias: bool = True, init: Init = "reference",
                 backend: Backend = "dense", generator: torch.Generator | None = None,
                 device: str | torch.device | None = None, dtype: torch.dtype | None = None
                 ) -> None:
        super().__init__()
        self.in_features = check_int(in_features, name="in_features", minimum=1)
        self.out_features = check_int(out_features, name="out_features", minimum=1)
        self.rank = check_int(rank, name="rank", minimum=1, maximum=min(in_features,
                                                                        out_features))
        self.density = check_scalar(density, name="density", lower=0.0, upper=1.0)
        self.alpha = float(rank) if alpha is None else check_positive(alpha, name="alpha")
        self.init = check_choice(init, name="init", choices=("reference", "zero_sparse"))
        self.backend = check_choice(backend, name="backend", choices=("dense", "sparse"))
        n_total = in_features * out_features
        self.nnz = _support_size(self.density, in_features, out_features)
        device = check_device(device)
        kw = {"device": device, "dtype": dtype}
        gdev = generator.device if generator is not None else torch.device("cpu")
        # a uniform random subset of size nnz, sorted (row-major flat indices)
        support = torch.randperm(n_total, generator=generator, device=gdev)[: self.nnz]
        self.register_buffer("support", support.sort().values.to(device))  # (nnz,)
        self.A = nn.Parameter(torch.empty(self.rank, in_features, **kw))  # (r, in)
        self.B = nn.Parameter(torch.empty(out_features, self.rank, **kw))  # (out, r)
        self.values = nn.Parameter(torch.empty(self.nnz, **kw))  # (nnz,)
        self.bias = nn.Parameter(torch.empty(out_features, **kw)) if bias else None
        with torch.no_grad():
            bound_in = 1.0 / math.sqrt(in_features)
            _fill_uniform_(self.A, bound_in, generator)
            if self.init == "reference":
                self.B.zero_()
                _fill_uniform_(self.values, bound_in, generator)
            else:
                _fill_uniform_(self.B, 1.0 / math.sqrt(self.rank), generator)
                self.values.zero_()
            if self.bias is not None:
                _fill_uniform_(self.bias, 1.0 / math.sqrt(out_features), generator)

    @property
    def scaling(self) -> float:
        return self.alpha / self.rank

    @property
    def config(self) -> SLTrainConfig:
        """The options this layer was built with (rebuild with ``**asdict(config)``)."""
        return SLTrainConfig(rank=self.rank, density=self.density, alpha=self.alpha,
                             init=self.init, backend=self.backend)

    @property
    def num_parameters(self) -> int:
        """``r (in + out) + nnz (+ out)``."""
        return sltrain_num_parameters(self.in_features, self.out_features, rank=self.rank,
                                      density=self.density, bias=self.bias is not None)

    def sparse_weight(self) -> torch.Tensor:
        """``S`` as a dense ``(out, in)`` tensor (differentiable in ``values``)."""
        flat = self.values.new_zeros(self.out_features * self.in_features)
        flat = flat.index_put((self.support,), self.values)
        return flat.reshape(self.out_features, self.in_features)

    def low_rank_weight(self) -> torch.Tensor:
        """``(α/r) B A``, shape (out, in)."""
        return self.scaling * (self.B @ self.A)

    def dense_weight(self) -> torch.Tensor:
        """``W = (α/r) B A + S`` as a new ``(out, in)`` tensor; the module is unchanged."""
        return self.low_rank_weight() + self.sparse_weight()

    def _sparse_coo(self) -> torch.Tensor:
        rows = torch.div(self.support, self.in_features, rounding_mode="floor")
        cols = self.support - rows * self.in_features
        with warnings.catch_warnings():
            # some torch builds (seen with 2.11 on CUDA) warn that invariant checks are
            # "implicitly disabled" even when check_invariants=False is passed explicitly; the
            # support is sorted and unique by construction, so the checks are not needed
            warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly",
                                    category=UserWarning)
            return torch.sparse_coo_tensor(torch.stack([rows, cols]), self.values,
                                           (self.out_features, self.in_features),
                                           is_coalesced=True, check_invariants=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., in) -> (..., out)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x must have last dimension {self.in_features}, got {x.shape[-1]}")
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)  # (N, in)
        y = self.scaling * ((x2 @ self.A.T) @ self.B.T)  # (N, out)
        if self.nnz:
            if self.backend == "dense":
                y = y + x2 @ self.sparse_weight().T
            else:
                y = y + torch.sparse.mm(self._sparse_coo(), x2.T).T
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*lead, self.out_features)

    def extra_repr(self) -> str:
        return (f"in={self.in_features}, out={self.out_features}, rank={self.rank}, "
                f"density={self.density:g} (nnz={self.nnz}), scaling={self.scaling:g}, "
                f"init={self.init}, backend={self.backend}")
