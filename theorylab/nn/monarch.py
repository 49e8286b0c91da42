"""Monarch matrices: two block-diagonal factors with a fixed transpose permutation between
them, a batched-matmul forward, and the exact (optimal) dense → Monarch projection.

Dao, Chen, Sohoni, Desai, Poli, Grogan, Liu, Rao, Rudra, Ré 2022, *Monarch: Expressive
Structured Matrices for Efficient and Accurate Training*, ICML 2022, arXiv:2204.00595.

Notation (the general "nblocks" form of the reference code; square ``n = m², b = m`` is the
paper's ``M = P L Pᵀ R``):

=====================================  =======================================================
``b`` (number of blocks)               ``nblocks``
``p = ⌈in / b⌉, s = ⌈out / b⌉``        input / output block sizes (zero padding to ``b p``, ``b s``)
``q = min(p, s)``                      middle block size
``R = diag(R_0..R_{b-1})``, R_k q×p    ``blk1``, shape (b, q, p)
``L = diag(L_0..L_{b-1})``, L_l s×q    ``blk2``, shape (b, s, q)
``P`` ("(q, b) view, transpose")       between the factors: block ``l`` of ``L`` reads middle
                                       entries ``t·b + l``, ``t = 0..q-1``
``P_out``                              output ``(l, j)`` is written to ``j·b + l``
=====================================  =======================================================

so ``M = P_out L P R`` (cropped to ``out × in``), with ``b q (p + s)`` parameters
(``2 n² / b`` when square). Entry ``M[j b + l, k p + c] = Σ_{t ∈ T(l,k)} L_l[j, t] R_k[t', c]``
where ``T(l, k) = {t : k q ≤ t b + l < (k+1) q}`` and ``t' = t b + l − k q``: each
``(l, k)`` slice of ``M`` (an ``s × p`` matrix) is a sum of ``|T(l,k)|`` outer products that
no other slice shares. The Frobenius projection therefore separates, and a truncated SVD of
every slice (Eckart–Young) is the exact optimum — a batched SVD of ``b²`` small matrices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from theorylab._validation import check_int
from theorylab.nn._checks import check_device, check_finite_weight
from theorylab.nn.training import fill_uniform_ as _fill_uniform_

__all__ = ["MonarchConfig", "MonarchLinear", "monarch_multiply", "monarch_dense",
           "project_to_monarch", "monarch_shapes"]


@dataclass(frozen=True)
class MonarchConfig:
    """Block sizes of a Monarch matrix (see :func:`monarch_shapes`)."""

    in_features: int
    out_features: int
    nblocks: int
    p: int  # input block size
    q: int  # middle block size
    s: int  # output block size

    @property
    def num_parameters(self) -> int:
        """``b q (p + s)`` (bias excluded)."""
        return self.nblocks * self.q * (self.p + self.s)


def monarch_shapes(in_features: int, out_features: int, nblocks: int) -> MonarchConfig:
    """Block sizes ``p = ⌈in/b⌉``, ``s = ⌈out/b⌉``, ``q = min(p, s)`` for ``nblocks = b``."""
    in_features = check_int(in_features, name="in_features", minimum=1)
    out_features = check_int(out_features, name="out_features", minimum=1)
    nblocks = check_int(nblocks, name="nblocks", minimum=1,
                        maximum=min(in_features, out_features))
    p = math.ceil(in_features / nblocks)
    s = math.ceil(out_features / nblocks)
    return MonarchConfig(in_features, out_features, nblocks, p, min(p, s), s)


def monarch_multiply(x: torch.Tensor, blk1: torch.Tensor, blk2: torch.Tensor,
                     out_features: int | None = None) -> torch.Tensor:
    """``x Mᵀ`` for the Monarch matrix ``M = P_out L P R`` by two batched matmuls.

    ``x``: (..., in) with ``in ≤ b p``; ``blk1``: (b, q, p); ``blk2``: (b, s, q).
    Returns (..., out_features) (default ``b s``). Autograd flows to all three.
    """
    b, q, p = blk1.shape
    b2, s, q2 = blk2.shape
    if b2 != b or q2 != q:
        raise ValueError(f"blk2 must have shape ({b}, s, {q}), got {tuple(blk2.shape)}")
    lead, n_in = x.shape[:-1], x.shape[-1]
    if n_in > b * p:
        raise ValueError(f"x must have last dimension <= {b * p}, got {n_in}")
    x2 = x.reshape(-1, n_in)  # (N, in)
    if n_in < b * p:
        x2 = nn.functional.pad(x2, (0, b * p - n_in))
    N = x2.shape[0]
    u = torch.bmm(x2.reshape(N, b, p).transpose(0, 1), blk1.transpose(1, 2))  # (b, N, q)
    # P: middle index k q + t' is read by block l = (·) mod b at position (·) div b
    u = u.transpose(0, 1).reshape(N, q, b).permute(2, 0, 1)  # (b, N, q)
    v = torch.bmm(u, blk2.transpose(1, 2))  # (b, N, s)
    y = v.permute(1, 2, 0).reshape(N, s * b)  # P_out: (l, j) -> j b + l
    n_out = s * b if out_features is None else out_features
    return y[:, :n_out].reshape(*lead, n_out)


def monarch_dense(blk1: torch.Tensor, blk2: torch.Tensor, in_features: int,
                  out_features: int) -> torch.Tensor:
    """The dense ``(out, in)`` matrix ``P_out L P R`` built from explicit block-diagonal and
    permutation matrices — the slow reference the fast path is tested against."""
    b, q, p = blk1.shape
    _, s, _ = blk2.shape
    R = torch.block_diag(*blk1)  # (b q, b p)
    L = torch.block_diag(*blk2)  # (b s, b q)
    dev, dt = blk1.device, blk1.dtype
    mid = torch.arange(b * q, device=dev)
    # row l q + t of P selects middle entry t b + l
    perm_mid = (mid % q) * b + mid // q
    P = torch.eye(b * q, device=dev, dtype=dt)[perm_mid]
    outi = torch.arange(b * s, device=dev)
    # row j b + l of P_out selects L-output l s + j
    perm_out = (outi % b) * s + outi // b
    Pout = torch.eye(b * s, device=dev, dtype=dt)[perm_out]
    return (Pout @ L @ P @ R)[:out_features, :in_features]


def _slice_structure(cfg: MonarchConfig) -> list[tuple[int, int, list[int], list[int]]]:
    """For every slice ``(l, k)``: columns ``t`` of ``L_l`` and rows ``t'`` of ``R_k`` it uses."""
    b, q = cfg.nblocks, cfg.q
    out = []
    for l in range(b):
        for k in range(b):
            ts = [t for t in range(q) if k * q <= t * b + l < (k + 1) * q]
            out.append((l, k, ts, [t * b + l - k * q for t in ts]))
    return out


def project_to_monarch(W: torch.Tensor, *, nblocks: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The Monarch matrix nearest to ``W`` in Frobenius norm, as ``(blk1, blk2)``.

    Parameters
    ----------
    W : torch.Tensor, shape (out, in)
        Dense matrix (float32/float64, any device).
    nblocks : int
        Number of blocks ``b``.

    Returns
    -------
    blk1 : torch.Tensor, shape (b, q, p)
    blk2 : torch.Tensor, shape (b, s, q)

    Notes
    -----
    Slices ``(l, k)`` of ``M`` are disjoint sums of ``|T(l,k)|`` outer products (module
    docstring), so the best Monarch approximation is a rank-``|T(l,k)|`` truncated SVD of
    each slice of ``W``, with ``√σ`` given to each factor. Padded rows and columns are not
    part of the objective; their factor entries are set to zero. Projecting a Monarch matrix
    returns it exactly (up to rounding), and the projection is idempotent.

    References
    ----------
    arXiv:2204.00595, Sec. 3.3 and Appendix.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> b1, b2 = torch.randn(4, 4, 4, generator=g), torch.randn(4, 4, 4, generator=g)
    >>> M = monarch_dense(b1.double(), b2.double(), 16, 16)
    >>> p1, p2 = project_to_monarch(M, nblocks=4)
    >>> bool(torch.allclose(monarch_dense(p1, p2, 16, 16), M, atol=1e-12))
    True
    """
    if not isinstance(W, torch.Tensor) or W.ndim != 2:
        raise ValueError(f"W must be a 2-D torch.Tensor, got "
                         f"{getattr(W, 'shape', type(W).__name__)}")
    if not W.is_floating_point():
        raise TypeError(f"W must be a floating-point tensor, got dtype {W.dtype}")
    check_finite_weight(W, name="W")
    out_f, in_f = W.shape
    cfg = monarch_shapes(in_f, out_f, nblocks)
    b, p, q, s = cfg.nblocks, cfg.p, cfg.q, cfg.s
    Wp = nn.functional.pad(W, (0, b * p - in_f, 0, b * s - out_f))  # (b s, b p)
    # W[j b + l, k p + c] -> slices[l, k, j, c]
    slices = Wp.reshape(s, b, b, p).permute(1, 2, 0, 3)  # (b, b, s, p)
    row_ok = (torch.arange(b * s, device=W.device) < out_f).reshape(s, b).T  # (b_l, s)
    col_ok = (torch.arange(b * p, device=W.device) < in_f).reshape(b, p)  # (b_k, p)
    blk1 = W.new_zeros(b, q, p)
    blk2 = W.new_zeros(b, s, q)
    groups: dict[int, list[tuple[int, int, list[int], list[int]]]] = {}
    for item in _slice_structure(cfg):
        if item[2]:
            groups.setdefault(len(item[2]), []).append(item)
    for rank, items in groups.items():
        ls = torch.tensor([it[0] for it in items], device=W.device)
        ks = torch.tensor([it[1] for it in items], device=W.device)
        # padded rows/columns are free: zero them before the SVD, the optimum leaves them 0
        mask = row_ok[ls][:, :, None] & col_ok[ks][:, None, :]  # (G, s, p)
        batch = slices[ls, ks] * mask  # (G, s, p)
        U, S, Vh = torch.linalg.svd(batch, full_matrices=False)
        root = S[:, :rank].sqrt()  # (G, rank)
        left = U[:, :, :rank] * root[:, None, :]  # (G, s, rank)
        right = Vh[:, :rank, :] * root[:, :, None]  # (G, rank, p)
        for g, (l, k, ts, tps) in enumerate(items):
            blk2[l][:, ts] = left[g]
            blk1[k][tps, :] = right[g]
    return blk1, blk2


class MonarchLinear(nn.Module):
    """``y = M x + bias`` with ``M`` a Monarch matrix (two block-diagonal factors).

    Parameters
    ----------
    in_features, out_features : int
    nblocks : int
        Number of blocks ``b`` in each factor; parameters ``b q (p + s)`` — ``2 n² / b`` when
        square and divisible (``nblocks = √n`` gives the paper's ``2 n^{3/2}``).
    bias : bool
    generator : torch.Generator, optional
        Source of the init: every block kaiming-uniform with fan-in its input size, the bias
        ``U(−1/√in, 1/√in)`` (as ``nn.Linear`` and the reference code).
    device, dtype : optional

    Notes
    -----
    The forward is :func:`monarch_multiply` (two ``bmm`` calls, ``O(n² / b + n b)`` per
    row instead of ``O(n²)``); :meth:`dense_weight` returns ``M`` as a dense ``(out, in)``
    matrix; :meth:`from_dense` builds the layer by the exact projection.

    References
    ----------
    arXiv:2204.00595.

    Examples
    --------
    >>> import torch
    >>> layer = MonarchLinear(16, 16, nblocks=4, generator=torch.Generator().manual_seed(0))
    >>> layer.blk1.shape, layer.blk2.shape
    (torch.Size([4, 4, 4]), torch.Size([4, 4, 4]))
    >>> x = torch.randn(3, 16)
    >>> ref = x @ layer.dense_weight().T + layer.bias
    >>> bool(torch.allclose(layer(x), ref, atol=1e-5))
    True
    """

    def __init__(self, in_features: int, out_features: int, *, nblocks: int, bias: bool = True,
                 generator: torch.Generator | None = None,
                 device: str | torch.device | None = None, dtype: torch.dtype | None = None
                 ) -> None:
        super().__init__()
        self.config = cfg = monarch_shapes(in_features, out_features, nblocks)
        self.in_features, self.out_features, self.nblocks = in_features, out_features, nblocks
        kw = {"device": check_device(device), "dtype": dtype}
        self.blk1 = nn.Parameter(torch.empty(cfg.nblocks, cfg.q, cfg.p, **kw))  # (b, q, p)
        self.blk2 = nn.Parameter(torch.empty(cfg.nblocks, cfg.s, cfg.q, **kw))  # (b, s, q)
        self.bias = nn.Parameter(torch.empty(out_features, **kw)) if bias else None
        with torch.no_grad():
            for w, fan_in in ((self.blk1, cfg.p), (self.blk2, cfg.q)):
                _fill_uniform_(w, 1.0 / math.sqrt(fan_in), generator)  # kaiming_uniform(a=√5)
            if self.bias is not None:
                _fill_uniform_(self.bias, 1.0 / math.sqrt(in_features), generator)

    @classmethod
    def from_dense(cls, weight: torch.Tensor, bias: torch.Tensor | None = None, *,
                   nblocks: int) -> MonarchLinear:
        """A layer whose ``M`` is the projection of ``weight`` (out, in); bias copied."""
        if not isinstance(weight, torch.Tensor) or weight.ndim != 2:
            raise ValueError(f"weight must be a 2-D torch.Tensor, got "
                             f"{getattr(weight, 'shape', type(weight).__name__)}")
        check_finite_weight(weight.detach(), name="weight")
        out_f, in_f = weight.shape
        layer = cls(in_f, out_f, nblocks=nblocks, bias=bias is not None, device=weight.device,
                    dtype=weight.dtype)
        b1, b2 = project_to_monarch(weight.detach(), nblocks=nblocks)
        with torch.no_grad():
            layer.blk1.copy_(b1)
            layer.blk2.copy_(b2)
            if bias is not None:
                layer.bias.copy_(bias)
        return layer

    def dense_weight(self) -> torch.Tensor:
        """``M`` as a dense ``(out, in)`` tensor (differentiable; the module is unchanged)."""
        eye = torch.eye(self.in_features, device=self.blk1.device, dtype=self.blk1.dtype)
        return monarch_multiply(eye, self.blk1, self.blk2, self.out_features).T

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., in) -> (..., out)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x must have last dimension {self.in_features}, got {x.shape[-1]}")
        y = monarch_multiply(x, self.blk1, self.blk2, self.out_features)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        c = self.config
        return (f"in={self.in_features}, out={self.out_features}, nblocks={c.nblocks}, "
                f"blocks=(p={c.p}, q={c.q}, s={c.s}), bias={self.bias is not None}")
