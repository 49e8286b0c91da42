"""Linear RNNs with an eigenvalue-range switch: diagonal (Mamba-like) and DeltaNet cells,
each with a sequential reference and a chunked parallel scan (plain torch, any device).

Grazzi, Siems, Zela, Franke, Hutter, Pontil 2024, *Unlocking State-Tracking in Linear RNNs
Through Negative Eigenvalues*, ICLR 2025, arXiv:2411.12537.

Notation (paper symbol ↔ argument):

==========================================  ===============================================
``h_t = a_t ⊙ h_{t−1} + b_t``               :func:`diagonal_scan_sequential` (``a``, ``b``,
                                            ``h0``); ``a`` is the diagonal transition
``S_t = (I − β_t k_t k_tᵀ) S_{t−1}          :func:`delta_rule_sequential` (``q``, ``k``,
+ β_t k_t v_tᵀ``, ``o_t = S_tᵀ q_t``        ``v``, ``beta``, ``S0``); ``‖k_t‖ = 1``
eigenvalue range [0, 1]                     ``eig_range="[0,1]"``: ``a = σ(z)``, ``β = σ(z)``
eigenvalue range [−1, 1]                    ``eig_range="[-1,1]"``: ``a = 2σ(z) − 1``,
                                            ``β = 2σ(z)`` (transition eigenvalue ``1 − β``)
==========================================  ===============================================

The DeltaNet transition ``I − β k kᵀ`` has eigenvalue ``1 − β`` along ``k`` and ``1`` on
``k^⊥``; with ``β ∈ [0, 2]`` it ranges over ``[−1, 1]`` and ``β = 2`` is a reflection. A
product of matrices with eigenvalues in ``[0, 1]`` can only decay or keep a direction, never
flip its sign, which is why parity is out of reach of the ``[0, 1]`` range (paper, Thm. 1),
and rotations (needed to count modulo 3) are products of two reflections (paper, Thm. 3/4).

Chunked scans
-------------
*Diagonal*: inside each chunk of ``C`` steps an inclusive Hillis–Steele scan of the affine
maps ``h ↦ a h + b`` (``log₂ C`` vectorised steps; no division, so ``a = 0`` or ``a < 0`` is
safe), the same scan over the chunks' composite maps, then one broadcast.

*DeltaNet* (the WY / "UT transform" form of Yang et al. 2024, arXiv:2406.06484): writing
``S_t = S_0 + Σ_{i≤t} k_i u_iᵀ`` inside a chunk, the rows ``u_i = β_i (v_i − S_{i−1}ᵀ k_i)``
solve the unit lower-triangular system ``(I + tril(diag(β) K Kᵀ, −1)) U = diag(β)(V − K S_0)``.
With ``W = L⁻¹ diag(β) K`` and ``Ũ = L⁻¹ diag(β) V`` (computed for all chunks at once),
``U = Ũ − W S_0``, the outputs are ``O = Q S_0 + tril(Q Kᵀ) U`` and the chunk's end state is
``S_0 + Kᵀ U``; only this last recurrence runs chunk by chunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from theorylab._validation import check_choice, check_int
from theorylab.seq._tensors import check_float_tensor, check_same_dtype_device

__all__ = ["LinearRNNConfig", "DiagonalLinearRNN", "DeltaNetLayer", "LinearRNNModel",
           "diagonal_scan_sequential", "diagonal_scan_chunked", "delta_rule_sequential",
           "delta_rule_chunked", "eigenvalue_transform"]

EigRange = Literal["[0,1]", "[-1,1]"]
EIG_RANGES: tuple[str, ...] = ("[0,1]", "[-1,1]")
SCANS: tuple[str, ...] = ("chunked", "sequential")


def eigenvalue_transform(z: torch.Tensor, *, eig_range: EigRange,
                         kind: Literal["diag", "delta"]) -> torch.Tensor:
    """Map pre-activations ``z`` to the transition parameter of a cell.

    ``kind="diag"``: the diagonal transition ``a = σ(z) ∈ (0, 1)`` or ``2σ(z) − 1 ∈ (−1, 1)``.
    ``kind="delta"``: DeltaNet's ``β = σ(z) ∈ (0, 1)`` or ``2σ(z) ∈ (0, 2)``, so that the
    transition eigenvalue ``1 − β`` lies in ``(0, 1)`` or ``(−1, 1)``.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([-30.0, 0.0, 30.0])
    >>> eigenvalue_transform(z, eig_range="[-1,1]", kind="diag").tolist()
    [-1.0, 0.0, 1.0]
    >>> (1 - eigenvalue_transform(z, eig_range="[-1,1]", kind="delta")).tolist()
    [1.0, 0.0, -1.0]
    """
    check_choice(eig_range, name="eig_range", choices=EIG_RANGES)
    check_choice(kind, name="kind", choices=("diag", "delta"))
    z = check_float_tensor(z, name="z")
    s = torch.sigmoid(z)
    if eig_range == "[0,1]":
        return s
    return 2.0 * s - 1.0 if kind == "diag" else 2.0 * s


# --------------------------------------------------------------------------- diagonal scans


def _check_diag(a, b, h0):
    a = check_float_tensor(a, name="a", ndim=3)
    b = check_float_tensor(b, name="b", shape=tuple(a.shape))
    check_same_dtype_device(a, "a", b=b)
    if h0 is not None:
        h0 = check_float_tensor(h0, name="h0", shape=(a.shape[0], a.shape[2]))
        check_same_dtype_device(a, "a", h0=h0)
    return a, b, h0


def diagonal_scan_sequential(a: torch.Tensor, b: torch.Tensor, *,
                             h0: torch.Tensor | None = None) -> torch.Tensor:
    """All states of ``h_t = a_t ⊙ h_{t−1} + b_t`` by a plain loop over time (reference).

    Parameters
    ----------
    a, b : Tensor, shape (B, T, D)
        Diagonal transitions and inputs.
    h0 : Tensor, shape (B, D), optional
        Initial state (zeros by default).

    Returns
    -------
    Tensor, shape (B, T, D)
        ``h_1 .. h_T``.

    Examples
    --------
    >>> import torch
    >>> a = torch.tensor([[[-1.0], [1.0], [-1.0]]]); b = torch.tensor([[[1.0], [0.0], [1.0]]])
    >>> diagonal_scan_sequential(a, b).flatten().tolist()
    [1.0, 1.0, 0.0]
    """
    a, b, h0 = _check_diag(a, b, h0)
    h = torch.zeros_like(a[:, 0]) if h0 is None else h0
    out = []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return torch.stack(out, dim=1)


def _affine_scan(A: torch.Tensor, H: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inclusive scan along ``dim`` of the affine maps ``h ↦ A h + H`` (later ∘ earlier),
    Hillis–Steele doubling: after it, ``(A[t], H[t])`` is the composite of steps ``0..t``."""
    n = A.shape[dim]
    k = 1
    while k < n:
        A_hi, A_lo = A.narrow(dim, k, n - k), A.narrow(dim, 0, n - k)
        H_new = A_hi * H.narrow(dim, 0, n - k) + H.narrow(dim, k, n - k)
        H = torch.cat([H.narrow(dim, 0, k), H_new], dim=dim)
        A = torch.cat([A.narrow(dim, 0, k), A_hi * A_lo], dim=dim)
        k *= 2
    return A, H


def diagonal_scan_chunked(a: torch.Tensor, b: torch.Tensor, *, h0: torch.Tensor | None = None,
                          chunk_size: int = 64) -> torch.Tensor:
    """Same as :func:`diagonal_scan_sequential`, by a chunked parallel scan.

    Within each chunk of ``chunk_size`` steps an inclusive doubling scan of the affine maps
    ``h ↦ a h + b``, then the same scan across chunks, then one broadcast; every step is a
    vectorised torch op (differentiable, device-agnostic). ``T`` need not be a multiple of
    ``chunk_size`` (the tail is padded with identity maps).

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> a = 2 * torch.rand(2, 100, 3, generator=g, dtype=torch.float64) - 1
    >>> b = torch.randn(2, 100, 3, generator=g, dtype=torch.float64)
    >>> ref = diagonal_scan_sequential(a, b)
    >>> bool(torch.allclose(diagonal_scan_chunked(a, b, chunk_size=16), ref, atol=1e-12))
    True
    """
    a, b, h0 = _check_diag(a, b, h0)
    C = check_int(chunk_size, name="chunk_size", minimum=1)
    B, T, D = a.shape
    N = -(-T // C)
    pad = N * C - T
    if pad:
        a = torch.cat([a, a.new_ones(B, pad, D)], dim=1)
        b = torch.cat([b, b.new_zeros(B, pad, D)], dim=1)
    A, Hl = _affine_scan(a.reshape(B, N, C, D), b.reshape(B, N, C, D), dim=2)  # (B, N, C, D)
    A_end, H_end = A[:, :, -1], Hl[:, :, -1]  # each chunk's composite map, (B, N, D)
    if h0 is not None:  # fold h0 into the first chunk's offset
        H_end = torch.cat([H_end[:, :1] + A_end[:, :1] * h0[:, None], H_end[:, 1:]], dim=1)
    _, S = _affine_scan(A_end, H_end, dim=1)  # state after chunk n, (B, N, D)
    first = (h0 if h0 is not None else torch.zeros_like(S[:, 0]))[:, None]
    S_in = torch.cat([first, S[:, :-1]], dim=1)  # state entering chunk n
    h = Hl + A * S_in[:, :, None]
    return h.reshape(B, N * C, D)[:, :T]


# --------------------------------------------------------------------------- DeltaNet scans


def _check_delta(q, k, v, beta, S0):
    q = check_float_tensor(q, name="q", ndim=4)
    Bq, Hq, T, dk = q.shape
    k = check_float_tensor(k, name="k", shape=(Bq, Hq, T, dk))
    v = check_float_tensor(v, name="v", shape=(Bq, Hq, T, None))
    beta = check_float_tensor(beta, name="beta", shape=(Bq, Hq, T))
    check_same_dtype_device(q, "q", k=k, v=v, beta=beta)
    if S0 is not None:
        S0 = check_float_tensor(S0, name="S0", shape=(Bq, Hq, dk, v.shape[-1]))
        check_same_dtype_device(q, "q", S0=S0)
    return q, k, v, beta, S0


def delta_rule_sequential(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                          beta: torch.Tensor, *, S0: torch.Tensor | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """DeltaNet by a loop over time, straight from the paper's recurrence (reference).

    ``S_t = (I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ`` and ``o_t = S_tᵀ q_t``.

    Parameters
    ----------
    q, k : Tensor, shape (B, H, T, d_k)
        Queries and keys (the cells normalise ``k`` to unit length; here any ``k`` is taken).
    v : Tensor, shape (B, H, T, d_v)
    beta : Tensor, shape (B, H, T)
        Step sizes; ``β ∈ [0, 2]`` keeps the transition's eigenvalues in ``[−1, 1]`` for
        unit keys.
    S0 : Tensor, shape (B, H, d_k, d_v), optional
        Initial state (zeros by default).

    Returns
    -------
    o : Tensor, shape (B, H, T, d_v)
    S : Tensor, shape (B, H, d_k, d_v)
        The final state ``S_T``.

    Examples
    --------
    >>> import torch
    >>> k = torch.tensor([1.0, 0.0]).expand(1, 1, 3, 2); v = torch.ones(1, 1, 3, 1)
    >>> o, S = delta_rule_sequential(k, k, v, torch.full((1, 1, 3), 2.0))
    >>> o.flatten().tolist()  # β = 2: the k-component reflects about v (0 → 2 → 0 → 2)
    [2.0, 0.0, 2.0]
    """
    q, k, v, beta, S0 = _check_delta(q, k, v, beta, S0)
    B, H, T, dk = q.shape
    eye = torch.eye(dk, dtype=q.dtype, device=q.device)
    S = q.new_zeros(B, H, dk, v.shape[-1]) if S0 is None else S0
    out = []
    for t in range(T):
        kt, bt = k[:, :, t], beta[:, :, t, None, None]  # (B, H, dk), (B, H, 1, 1)
        transition = eye - bt * kt[..., :, None] * kt[..., None, :]  # (B, H, dk, dk)
        S = transition @ S + bt * kt[..., :, None] * v[:, :, t, None, :]
        out.append((S.transpose(-1, -2) @ q[:, :, t, :, None])[..., 0])
    return torch.stack(out, dim=2), S


def delta_rule_chunked(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, beta: torch.Tensor,
                       *, S0: torch.Tensor | None = None, chunk_size: int = 64
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Same as :func:`delta_rule_sequential`, by the chunked WY form (see the module notes).

    Everything inside a chunk (the triangular solves for ``W`` and ``Ũ``, ``tril(QKᵀ)``) is
    computed for all chunks at once; only the ``T / chunk_size`` state updates are
    sequential. ``T`` need not be a multiple of ``chunk_size`` (the tail is padded with
    ``k = 0, β = 0`` steps, which are identity transitions).

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> q, k, v = (torch.randn(1, 2, 50, 4, generator=g, dtype=torch.float64) for _ in range(3))
    >>> k = k / k.norm(dim=-1, keepdim=True)
    >>> beta = 2 * torch.rand(1, 2, 50, generator=g, dtype=torch.float64)
    >>> o_ref, S_ref = delta_rule_sequential(q, k, v, beta)
    >>> o, S = delta_rule_chunked(q, k, v, beta, chunk_size=16)
    >>> bool(torch.allclose(o, o_ref, atol=1e-10) and torch.allclose(S, S_ref, atol=1e-10))
    True
    """
    q, k, v, beta, S0 = _check_delta(q, k, v, beta, S0)
    C = check_int(chunk_size, name="chunk_size", minimum=1)
    B, H, T, dk = q.shape
    dv = v.shape[-1]
    N = -(-T // C)
    pad = N * C - T
    if pad:
        q = torch.cat([q, q.new_zeros(B, H, pad, dk)], dim=2)
        k = torch.cat([k, k.new_zeros(B, H, pad, dk)], dim=2)
        v = torch.cat([v, v.new_zeros(B, H, pad, dv)], dim=2)
        beta = torch.cat([beta, beta.new_zeros(B, H, pad)], dim=2)
    q = q.reshape(B, H, N, C, dk)
    k = k.reshape(B, H, N, C, dk)
    v = v.reshape(B, H, N, C, dv)
    bcol = beta.reshape(B, H, N, C, 1)
    kb = k * bcol  # rows β_i k_i
    L = torch.eye(C, dtype=q.dtype, device=q.device) + torch.tril(kb @ k.transpose(-1, -2), -1)
    W = torch.linalg.solve_triangular(L, kb, upper=False, unitriangular=True)  # (B,H,N,C,dk)
    Ut = torch.linalg.solve_triangular(L, v * bcol, upper=False, unitriangular=True)
    QK = torch.tril(q @ k.transpose(-1, -2))  # inclusive: o_t sees u_t
    S = q.new_zeros(B, H, dk, dv) if S0 is None else S0
    outs = []
    for n in range(N):
        U = Ut[:, :, n] - W[:, :, n] @ S  # (B, H, C, dv)
        outs.append(q[:, :, n] @ S + QK[:, :, n] @ U)
        S = S + k[:, :, n].transpose(-1, -2) @ U
    o = torch.stack(outs, dim=2).reshape(B, H, N * C, dv)[:, :, :T]
    return o, S


# --------------------------------------------------------------------------- layers


@dataclass(frozen=True)
class LinearRNNConfig:
    """A stack of linear-RNN layers with embedding and per-step classifier.

    ``kind``: ``"diag"`` (Mamba-like diagonal transition) or ``"delta"`` (DeltaNet);
    ``eig_range``: ``"[0,1]"`` or ``"[-1,1]"``; ``scan``: ``"chunked"`` or ``"sequential"``
    (the same numbers, the sequential loop is the reference). ``mlp``: a 4×-wide ReLU MLP
    block after each mixer.
    """

    vocab_size: int
    n_classes: int
    d_model: int = 32
    n_layers: int = 1
    n_heads: int = 1
    kind: Literal["diag", "delta"] = "delta"
    eig_range: EigRange = "[-1,1]"
    scan: Literal["chunked", "sequential"] = "chunked"
    chunk_size: int = 64
    mlp: bool = True

    def __post_init__(self):
        check_int(self.vocab_size, name="vocab_size", minimum=1)
        check_int(self.n_classes, name="n_classes", minimum=2)
        check_int(self.d_model, name="d_model", minimum=1)
        check_int(self.n_layers, name="n_layers", minimum=1)
        check_int(self.n_heads, name="n_heads", minimum=1)
        check_int(self.chunk_size, name="chunk_size", minimum=1)
        check_choice(self.kind, name="kind", choices=("diag", "delta"))
        check_choice(self.eig_range, name="eig_range", choices=EIG_RANGES)
        check_choice(self.scan, name="scan", choices=SCANS)
        if self.kind == "delta" and self.d_model % self.n_heads:
            raise ValueError(f"d_model must be divisible by n_heads={self.n_heads}, "
                             f"got {self.d_model}")


def _init_linear(layer: nn.Linear, generator: torch.Generator | None) -> nn.Linear:
    bound = 1.0 / math.sqrt(layer.in_features)
    with torch.no_grad():
        layer.weight.copy_((2 * torch.rand(layer.weight.shape, generator=generator) - 1) * bound)
        if layer.bias is not None:
            layer.bias.copy_((2 * torch.rand(layer.bias.shape, generator=generator) - 1) * bound)
    return layer


def _check_x(x, d_model):
    x = check_float_tensor(x, name="x", ndim=3, finite=False)
    if x.shape[-1] != d_model:
        raise ValueError(f"x must have last dimension {d_model}, got shape {tuple(x.shape)}")
    return x


class DiagonalLinearRNN(nn.Module):
    """Mamba-like diagonal linear RNN mixer: ``a_t = f(W_a x_t)``, ``b_t = W_b x_t``,
    ``h_t = a_t ⊙ h_{t−1} + b_t``, ``y_t = W_o h_t``, with ``f = σ`` (range [0, 1]) or
    ``2σ − 1`` (range [−1, 1]).

    Examples
    --------
    >>> import torch
    >>> layer = DiagonalLinearRNN(8, eig_range="[-1,1]", generator=torch.Generator().manual_seed(0))
    >>> layer(torch.randn(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    def __init__(self, d_model: int, *, eig_range: EigRange = "[-1,1]",
                 scan: Literal["chunked", "sequential"] = "chunked", chunk_size: int = 64,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.d_model = check_int(d_model, name="d_model", minimum=1)
        self.eig_range = check_choice(eig_range, name="eig_range", choices=EIG_RANGES)
        self.scan = check_choice(scan, name="scan", choices=SCANS)
        self.chunk_size = check_int(chunk_size, name="chunk_size", minimum=1)
        self.to_a = _init_linear(nn.Linear(d_model, d_model), generator)
        self.to_b = _init_linear(nn.Linear(d_model, d_model), generator)
        self.out = _init_linear(nn.Linear(d_model, d_model), generator)

    def transitions(self, x: torch.Tensor) -> torch.Tensor:
        """The diagonal transitions ``a`` (B, T, D): the cell's eigenvalues."""
        return eigenvalue_transform(self.to_a(x), eig_range=self.eig_range, kind="diag")

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, T, D)
        x = _check_x(x, self.d_model)
        a, b = self.transitions(x), self.to_b(x)
        if self.scan == "sequential":
            h = diagonal_scan_sequential(a, b)
        else:
            h = diagonal_scan_chunked(a, b, chunk_size=self.chunk_size)
        return self.out(h)


class DeltaNetLayer(nn.Module):
    """DeltaNet mixer (one or more heads): ``q, k, v = W_q x, W_k x, W_v x`` with ``q, k``
    normalised to unit length per head, ``β = σ(W_β x)`` (range [0, 1]) or ``2σ(W_β x)``
    (range [−1, 1]), the delta rule per head, and ``y = W_o [o_1 .. o_H]``.

    Examples
    --------
    >>> import torch
    >>> layer = DeltaNetLayer(8, n_heads=2, generator=torch.Generator().manual_seed(0))
    >>> layer(torch.randn(2, 5, 8)).shape
    torch.Size([2, 5, 8])
    """

    def __init__(self, d_model: int, *, n_heads: int = 1, eig_range: EigRange = "[-1,1]",
                 scan: Literal["chunked", "sequential"] = "chunked", chunk_size: int = 64,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.d_model = check_int(d_model, name="d_model", minimum=1)
        self.n_heads = check_int(n_heads, name="n_heads", minimum=1)
        if d_model % n_heads:
            raise ValueError(f"d_model must be divisible by n_heads={n_heads}, got {d_model}")
        self.eig_range = check_choice(eig_range, name="eig_range", choices=EIG_RANGES)
        self.scan = check_choice(scan, name="scan", choices=SCANS)
        self.chunk_size = check_int(chunk_size, name="chunk_size", minimum=1)
        self.qkv = _init_linear(nn.Linear(d_model, 3 * d_model, bias=False), generator)
        self.to_beta = _init_linear(nn.Linear(d_model, n_heads), generator)
        self.out = _init_linear(nn.Linear(d_model, d_model), generator)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, H, T, D/H)
        B, T, _ = t.shape
        return t.reshape(B, T, self.n_heads, -1).transpose(1, 2)

    def betas(self, x: torch.Tensor) -> torch.Tensor:
        """Step sizes ``β`` (B, H, T); the transition eigenvalue along ``k`` is ``1 − β``."""
        z = self.to_beta(x).transpose(1, 2)
        return eigenvalue_transform(z, eig_range=self.eig_range, kind="delta")

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, T, D)
        x = _check_x(x, self.d_model)
        q, k, v = (self._heads(t) for t in self.qkv(x).chunk(3, dim=-1))
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        beta = self.betas(x)
        if self.scan == "sequential":
            o, _ = delta_rule_sequential(q, k, v, beta)
        else:
            o, _ = delta_rule_chunked(q, k, v, beta, chunk_size=self.chunk_size)
        B, H, T, dh = o.shape
        return self.out(o.transpose(1, 2).reshape(B, T, H * dh))


class LinearRNNModel(nn.Module):
    """Token embedding → ``n_layers`` × [x + mixer(LN x), x + MLP(LN x)] → LN → per-step logits.

    Examples
    --------
    >>> import torch
    >>> cfg = LinearRNNConfig(vocab_size=2, n_classes=2, d_model=8, kind="diag")
    >>> model = LinearRNNModel(cfg, generator=torch.Generator().manual_seed(0))
    >>> model(torch.zeros(3, 7, dtype=torch.long)).shape
    torch.Size([3, 7, 2])
    """

    def __init__(self, config: LinearRNNConfig, *, generator: torch.Generator | None = None):
        super().__init__()
        if not isinstance(config, LinearRNNConfig):
            raise TypeError(f"config must be a LinearRNNConfig, got {type(config).__name__}")
        self.config = c = config
        self.embed = nn.Embedding(c.vocab_size, c.d_model)
        with torch.no_grad():
            self.embed.weight.copy_(torch.randn(self.embed.weight.shape, generator=generator))
        self.mixers = nn.ModuleList()
        self.mlps = nn.ModuleList()
        self.norms = nn.ModuleList()
        for _ in range(c.n_layers):
            if c.kind == "diag":
                mixer = DiagonalLinearRNN(c.d_model, eig_range=c.eig_range, scan=c.scan,
                                          chunk_size=c.chunk_size, generator=generator)
            else:
                mixer = DeltaNetLayer(c.d_model, n_heads=c.n_heads, eig_range=c.eig_range,
                                      scan=c.scan, chunk_size=c.chunk_size, generator=generator)
            self.mixers.append(mixer)
            self.norms.append(nn.LayerNorm(c.d_model))
            if c.mlp:
                self.mlps.append(nn.Sequential(
                    nn.LayerNorm(c.d_model),
                    _init_linear(nn.Linear(c.d_model, 4 * c.d_model), generator), nn.ReLU(),
                    _init_linear(nn.Linear(4 * c.d_model, c.d_model), generator)))
        self.final_norm = nn.LayerNorm(c.d_model)
        self.head = _init_linear(nn.Linear(c.d_model, c.n_classes), generator)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # (B, T) -> (B, T, n_classes)
        if not isinstance(tokens, torch.Tensor):
            raise TypeError(f"tokens must be a torch.Tensor, got {type(tokens).__name__}")
        if tokens.dtype not in (torch.int64, torch.int32) or tokens.ndim != 2:
            raise ValueError(f"tokens must be a 2-d integer tensor (B, T), got dtype "
                             f"{tokens.dtype} and shape {tuple(tokens.shape)}")
        if tokens.numel() and (int(tokens.min()) < 0
                               or int(tokens.max()) >= self.config.vocab_size):
            raise ValueError(f"tokens must lie in [0, {self.config.vocab_size}), got values in "
                             f"[{int(tokens.min())}, {int(tokens.max())}]")
        x = self.embed(tokens)  # (B, T, D)
        for i, mixer in enumerate(self.mixers):
            x = x + mixer(self.norms[i](x))
            if self.config.mlp:
                x = x + self.mlps[i](x)
        return self.head(self.final_norm(x))
