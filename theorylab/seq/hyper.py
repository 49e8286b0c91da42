"""Hyper-connections: residual / HC / mHC / sHC mixing of parallel residual streams.

A network with hyper-connections carries ``n`` residual streams ``X_l ∈ R^{n×C}`` per token
instead of one vector. A layer with block ``F`` updates them as

    X_{l+1} = H^res_l X_l + (H^post_l)ᵀ F(H^pre_l X_l),

with ``H^pre ∈ R^{1×n}`` (reads the block input from the streams), ``H^post ∈ R^{1×n}``
(writes the block output back) and ``H^res ∈ R^{n×n}`` (mixes the streams). The modes differ
only in how ``H^res`` (and the sign of ``H^pre``/``H^post``) is parameterised:

- ``"residual"``: ``H^res = I``, ``H^pre = 1/n``, ``H^post = 1`` fixed — with copies of ``x``
  as streams this is exactly ``x + F(x)``;
- ``"hc"`` (Zhu et al. 2024): all three learned without constraint;
- ``"mhc"`` (manifold-constrained HC): ``H^res = Sinkhorn(exp(H̃))`` — doubly stochastic
  (Birkhoff polytope), computed in float32 or wider, optionally in the log domain;
  ``H^pre = 2σ(a)/n``, ``H^post = 2σ(b)``;
- ``"shc"`` (Liu, Zhang & Li 2026): ``H^res = H̃ / σ_max(H̃)`` on the spectral-norm sphere
  ``‖H‖₂ = 1`` — negative (subtractive) mixing allowed; ``H^pre``/``H^post`` as in mHC so that
  only ``H^res`` differs between the two constrained modes.

Every mode starts at ``H^res = I`` (mHC: off-diagonal logits ``offdiag_init = −8``),
``H^pre = 1/n``, ``H^post = 1``, so at initialisation a stack of layers on identical streams
equals the plain residual network.

Paper symbol ↔ argument: n ↔ ``n_streams``; C ↔ ``dim``; H̃ ↔ ``HyperConnection.res_logits``;
H^pre, H^post, H^res ↔ ``HyperConnection.mixing()``; the Sinkhorn iteration count ↔
``sinkhorn_iters``.

References
----------
Zhu et al., "Hyper-Connections", arXiv:2409.19606 (2024).
Xie et al., "mHC: Manifold-Constrained Hyper-Connections", arXiv:2512.24880 (2025).
Liu, Zhang & Li, "Beyond the Birkhoff Polytope: Spectral-Sphere-Constrained
Hyper-Connections", arXiv:2603.20896 (2026).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from theorylab._validation import check_choice, check_int, check_scalar
from theorylab.seq._tensors import check_float_tensor

__all__ = [
    "HyperConfig",
    "HyperConnection",
    "HyperTransformerLM",
    "sinkhorn",
    "spectral_normalize",
    "expand_streams",
    "reduce_streams",
    "composite_gain",
    "stream_similarity",
]

Mode = Literal["residual", "hc", "mhc", "shc"]
MODES = ("residual", "hc", "mhc", "shc")


def _check_square(H: torch.Tensor, name: str) -> None:
    if not isinstance(H, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(H).__name__}")
    if H.ndim < 2 or H.shape[-1] != H.shape[-2] or H.shape[-1] == 0:
        raise ValueError(f"{name} must have shape (..., n, n) with n >= 1, got "
                         f"{tuple(H.shape)}")
    if not H.is_floating_point():
        raise TypeError(f"{name} must be real-valued with a floating dtype, got {H.dtype}")
    if not bool(torch.isfinite(H).all()):
        raise ValueError(f"{name} must be finite, got {int((~torch.isfinite(H)).sum())} "
                         "non-finite entries")


def sinkhorn(logits: torch.Tensor, *, n_iter: int = 20, log_domain: bool = False
             ) -> torch.Tensor:
    """Doubly stochastic matrix ``Sinkhorn(exp(logits))`` by alternating normalisation.

    Parameters
    ----------
    logits : tensor (..., n, n)
        Unconstrained logits H̃. Half precision is promoted: the iteration runs in float32
        (float64 input stays float64).
    n_iter : int
        Number of (row, column) normalisation pairs; the last step normalises columns, so
        column sums are 1 to rounding and row sums converge geometrically.
    log_domain : bool
        Normalise ``log P`` with ``logsumexp`` instead of ``P`` with sums: never under- or
        overflows, whatever the logit range.

    Returns
    -------
    tensor (..., n, n), non-negative, in float32 or float64.

    Raises
    ------
    FloatingPointError
        In the linear domain, when a whole row or column of ``exp(logits − max)`` underflows
        to zero (use ``log_domain=True``).

    Notes
    -----
    ``P ← diag(1/P1) P`` then ``P ← P diag(1/1ᵀP)``, ``n_iter`` times, from
    ``P = exp(H̃ − max H̃)`` (the shift cancels in the normalisation).

    Examples
    --------
    >>> import torch
    >>> P = sinkhorn(torch.tensor([[0.0, 1.0], [2.0, 0.5]]), n_iter=50)
    >>> bool(torch.allclose(P.sum(-1), torch.ones(2), atol=1e-6))
    True
    """
    _check_square(logits, "logits")
    n_iter = check_int(n_iter, name="n_iter", minimum=1)
    P = _sinkhorn_unchecked(logits, n_iter, log_domain)
    # one check at the end (no host sync per iteration): a row or column of exp(L − max)
    # that underflowed to 0 turns into 0/0 = NaN and stays NaN
    if not log_domain and not bool(torch.isfinite(P).all()):
        L = logits.float()
        raise FloatingPointError("sinkhorn: a row or column of exp(logits) underflowed to 0 "
                                 f"(logit range {float(L.max() - L.min()):.1f}); "
                                 "use log_domain=True")
    return P


def _sinkhorn_unchecked(logits: torch.Tensor, n_iter: int, log_domain: bool
                        ) -> torch.Tensor:
    """The iteration of :func:`sinkhorn`, without its input checks and its final finiteness
    check (the batched training path calls it directly: the training loss check catches a
    NaN that would come from an underflowed row)."""
    L = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
    if log_domain:
        for _ in range(n_iter):
            L = L - torch.logsumexp(L, dim=-1, keepdim=True)
            L = L - torch.logsumexp(L, dim=-2, keepdim=True)
        return L.exp()
    P = torch.exp(L - L.amax(dim=(-2, -1), keepdim=True))
    for _ in range(n_iter):
        P = P / P.sum(dim=-1, keepdim=True)
        P = P / P.sum(dim=-2, keepdim=True)
    return P


def _stacked_mixing(layers: list[HyperConnection]
                    ) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """``HyperConnection.mixing()`` of layers that share one config, computed on the stacked
    logits (L, n, n) at once: the same per-layer formulas, one batched Sinkhorn iteration or
    one batched ``σ_max`` instead of one per layer (no input checks: internal fast path)."""
    cfg, n = layers[0].config, layers[0].n_streams
    R = torch.stack([hc.res_logits for hc in layers])
    a = torch.stack([hc.pre_logits for hc in layers])
    b = torch.stack([hc.post_logits for hc in layers])
    if cfg.mode == "hc":
        pre, post, H = a, b, R
    else:
        pre = 2.0 * torch.sigmoid(a) / n
        post = 2.0 * torch.sigmoid(b)
        if cfg.mode == "mhc":
            H = _sinkhorn_unchecked(R, cfg.sinkhorn_iters, cfg.log_domain)
        else:
            H = R / torch.linalg.matrix_norm(R, ord=2)[:, None, None]
    return list(zip(pre.unbind(0), post.unbind(0), H.unbind(0), strict=True))


def spectral_normalize(H: torch.Tensor, *, method: Literal["svd", "power"] = "svd",
                       n_power_iter: int = 3, u: torch.Tensor | None = None) -> torch.Tensor:
    """Project onto the spectral-norm sphere: ``H / σ_max(H)``, so ``‖result‖₂ = 1``.

    Parameters
    ----------
    H : tensor (..., n, n), not zero.
    method : "svd" | "power"
        ``"svd"``: exact ``σ_max`` from ``torch.linalg.matrix_norm(H, 2)`` (cheap for the
        n ≈ 4 of hyper-connections). ``"power"``: ``n_power_iter`` power iterations from
        ``u`` (a persistent left vector, updated in place), then ``σ = uᵀ H v`` with u, v
        held fixed (as ``torch.nn.utils.spectral_norm``); the norm is then 1 only to the
        accuracy of the power iteration.
    n_power_iter : int
    u : tensor (..., n), optional
        Start vector for ``"power"``; overwritten with the new estimate. Default: all ones.

    Returns
    -------
    tensor (..., n, n) with ``‖·‖₂ = 1`` (``"svd"``: to rounding).

    Examples
    --------
    >>> import torch
    >>> H = spectral_normalize(torch.tensor([[3.0, 0.0], [0.0, -1.0]]))
    >>> H.tolist()
    [[1.0, 0.0], [0.0, -0.3333333432674408]]
    """
    _check_square(H, "H")
    check_choice(method, name="method", choices=("svd", "power"))
    if method == "svd":
        sigma = torch.linalg.matrix_norm(H, ord=2)[..., None, None]
    else:
        n_power_iter = check_int(n_power_iter, name="n_power_iter", minimum=1)
        with torch.no_grad():
            uu = (torch.ones(H.shape[:-1], dtype=H.dtype, device=H.device) if u is None
                  else u.detach().clone())
            for _ in range(n_power_iter):
                v = nn.functional.normalize((H.mT @ uu[..., None])[..., 0], dim=-1)
                uu = nn.functional.normalize((H @ v[..., None])[..., 0], dim=-1)
            if u is not None:
                u.copy_(uu)
        sigma = (uu[..., None, :] @ H @ v[..., :, None])  # (..., 1, 1)
    if not bool((sigma > 0).all()):
        raise ValueError("H must be non-zero (σ_max > 0), got σ_max = 0")
    return H / sigma


def expand_streams(x: torch.Tensor, n_streams: int) -> torch.Tensor:
    """``(..., C)`` → ``(..., n, C)``: ``n`` copies of the residual stream."""
    n_streams = check_int(n_streams, name="n_streams", minimum=1)
    x = check_float_tensor(x, name="x")
    if x.ndim < 1:
        raise ValueError(f"x must be a tensor with a feature dimension, got shape "
                         f"{tuple(x.shape)}")
    return x.unsqueeze(-2).expand(*x.shape[:-1], n_streams, x.shape[-1]).contiguous()


def reduce_streams(X: torch.Tensor) -> torch.Tensor:
    """``(..., n, C)`` → ``(..., C)``: the mean of the streams (inverse of ``expand_streams``
    on identical streams)."""
    X = check_float_tensor(X, name="X")
    if X.ndim < 2:
        raise ValueError(f"X must have shape (..., n, C), got {tuple(X.shape)}")
    return X.mean(dim=-2)


def composite_gain(H_list: list[torch.Tensor]) -> float:
    """``‖H_L ⋯ H_2 H_1‖₂``: the gain of the residual path through all layers (``≤ 1`` when
    every factor has spectral norm ≤ 1; HC can drift above 1)."""
    if not H_list:
        raise ValueError("H_list must contain at least one matrix, got none")
    for i, H in enumerate(H_list):
        _check_square(H, f"H_list[{i}]")
    P = H_list[0].detach().double()
    for H in H_list[1:]:
        P = H.detach().double() @ P
    return float(torch.linalg.matrix_norm(P, ord=2))


def stream_similarity(X: torch.Tensor) -> float:
    """Mean pairwise cosine similarity of the ``n`` streams of ``X`` (..., n, C), each
    flattened over all tokens: 1 means the streams have collapsed onto one."""
    X = check_float_tensor(X, name="X")
    if X.ndim < 2:
        raise ValueError(f"X must have shape (..., n, C), got {tuple(X.shape)}")
    n = X.shape[-2]
    if n < 2:
        return 1.0
    S = X.detach().double().movedim(-2, 0).reshape(n, -1)
    S = nn.functional.normalize(S, dim=1)
    G = S @ S.T
    return float((G.sum() - G.diagonal().sum()) / (n * (n - 1)))


@dataclass(frozen=True)
class HyperConfig:
    """Options of a :class:`HyperConnection` (and of each layer of
    :class:`HyperTransformerLM`)."""

    n_streams: int = 4
    mode: Mode = "shc"
    sinkhorn_iters: int = 20
    log_domain: bool = False
    offdiag_init: float = -8.0
    spectral_method: Literal["svd", "power"] = "svd"
    n_power_iter: int = 3

    def __post_init__(self) -> None:
        check_int(self.n_streams, name="n_streams", minimum=1)
        check_choice(self.mode, name="mode", choices=MODES)
        check_int(self.sinkhorn_iters, name="sinkhorn_iters", minimum=1)
        check_scalar(self.offdiag_init, name="offdiag_init", upper=0.0)
        check_choice(self.spectral_method, name="spectral_method", choices=("svd", "power"))
        check_int(self.n_power_iter, name="n_power_iter", minimum=1)


class HyperConnection(nn.Module):
    """One hyper-connection around ``block``: ``X ↦ H^res X + (H^post)ᵀ block(H^pre X)``.

    Parameters
    ----------
    block : nn.Module
        Maps ``(..., C) → (..., C)`` (e.g. a pre-norm attention or MLP sublayer, without its
        own residual).
    dim : int
        C, the feature size of each stream.
    config : HyperConfig
    disable : bool
        Ignore the mixing and compute the plain residual ``X + block(mean X)`` on every stream
        (an ablation switch; the parameters stay and receive no gradient).

    Examples
    --------
    >>> import torch
    >>> hc = HyperConnection(torch.nn.Linear(8, 8), 8, HyperConfig(n_streams=4, mode="shc"))
    >>> X = expand_streams(torch.randn(2, 5, 8), 4)            # (B, T, n, C)
    >>> tuple(hc(X).shape)
    (2, 5, 4, 8)
    """

    def __init__(self, block: nn.Module, dim: int, config: HyperConfig | None = None, *,
                 disable: bool = False) -> None:
        super().__init__()
        if not isinstance(block, nn.Module):
            raise TypeError(f"block must be an nn.Module, got {type(block).__name__}")
        self.block = block
        self.dim = check_int(dim, name="dim", minimum=1)
        self.config = config if config is not None else HyperConfig()
        if not isinstance(self.config, HyperConfig):
            raise TypeError(f"config must be a HyperConfig, got {type(self.config).__name__}")
        self.disable = bool(disable)
        n, mode = self.config.n_streams, self.config.mode
        self.n_streams, self.mode = n, mode
        self.res_logits: nn.Parameter | None = None
        if mode == "residual":
            return
        eye = torch.eye(n)
        if mode == "mhc":
            res = eye + (1.0 - eye) * self.config.offdiag_init
            pre = torch.zeros(n)  # 2σ(0)/n = 1/n
            post = torch.zeros(n)  # 2σ(0) = 1
        elif mode == "shc":
            res, pre, post = eye.clone(), torch.zeros(n), torch.zeros(n)
        else:  # hc: the values themselves
            res, pre, post = eye.clone(), torch.full((n,), 1.0 / n), torch.ones(n)
        self.res_logits = nn.Parameter(res)
        self.pre_logits = nn.Parameter(pre)
        self.post_logits = nn.Parameter(post)
        if mode == "shc" and self.config.spectral_method == "power":
            self.register_buffer("_u", torch.ones(n))

    def mixing(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(H^pre (n,), H^post (n,), H^res (n, n))`` as used by ``forward``."""
        n, cfg = self.n_streams, self.config
        if self.mode == "residual" or self.res_logits is None:
            dev = next(self.block.parameters(), torch.empty(0)).device
            return (torch.full((n,), 1.0 / n, device=dev), torch.ones(n, device=dev),
                    torch.eye(n, device=dev))
        if self.mode == "hc":
            return self.pre_logits, self.post_logits, self.res_logits
        pre = 2.0 * torch.sigmoid(self.pre_logits) / n
        post = 2.0 * torch.sigmoid(self.post_logits)
        if self.mode == "mhc":
            H = sinkhorn(self.res_logits, n_iter=cfg.sinkhorn_iters, log_domain=cfg.log_domain)
        else:
            u = self._u if cfg.spectral_method == "power" and self.training else None
            if cfg.spectral_method == "power" and u is None:
                u = self._u.clone()  # eval: do not advance the persistent vector
            H = spectral_normalize(self.res_logits, method=cfg.spectral_method,
                                   n_power_iter=cfg.n_power_iter, u=u)
        return pre, post, H

    def _fast_mixing_ok(self) -> bool:
        """Whether :func:`_stacked_mixing` may compute this layer's mixing (all modes but
        the residual one and the in-place ``"power"`` iteration)."""
        return (self.res_logits is not None and not self.disable
                and not (self.mode == "shc" and self.config.spectral_method == "power"))

    def forward_streams_first(self, X: torch.Tensor,
                              mixing: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
                              | None = None) -> torch.Tensor:
        """The same map as :meth:`forward` on streams-first input ``X`` (n, ..., C).

        With the streams leading, ``X`` is an (n, M) matrix (M = all other entries), so the
        read ``H^pre X`` is one matrix-vector product and the update
        ``H^res X + (H^post)ᵀ y`` one ``addmm`` — instead of batched 4×4 products per
        token. No input checks (internal fast path of :class:`HyperTransformerLM`);
        ``mixing``: ``(H^pre, H^post, H^res)`` when already computed (default
        :meth:`mixing`).
        """
        if self.disable or self.mode == "residual":
            return X + self.block(X.mean(dim=0))
        pre, post, H = self.mixing() if mixing is None else mixing
        dt = X.dtype
        n = X.shape[0]
        Xv = X.reshape(n, -1)  # (n, M)
        h = (pre.to(dt)[None, :] @ Xv).view(X.shape[1:])  # (..., C); (1, n) @ (n, M)
        y = self.block(h)  # (..., C)
        # the rank-1 write as a (n, 1) @ (1, M) product: its backward is two products too
        # (an outer product's backward is elementwise multiplies and sums over M)
        out = torch.addmm(post.to(dt)[:, None] @ y.reshape(1, -1), H.to(dt), Xv)
        return out.view(X.shape)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if not isinstance(X, torch.Tensor):
            raise TypeError(f"X must be a torch.Tensor, got {type(X).__name__}")
        if X.ndim < 2 or X.shape[-2:] != (self.n_streams, self.dim):
            raise ValueError(f"X must have shape (..., {self.n_streams}, {self.dim}) "
                             f"(streams, features), got {tuple(X.shape)}")
        if self.disable or self.mode == "residual":
            return X + self.block(X.mean(dim=-2)).unsqueeze(-2)
        pre, post, H = self.mixing()
        dt = X.dtype
        h = torch.einsum("n,...nc->...c", pre.to(dt), X)  # (..., C)
        y = self.block(h)  # (..., C)
        mixed = torch.einsum("mn,...nc->...mc", H.to(dt), X)  # (..., n, C)
        return mixed + post.to(dt)[:, None] * y[..., None, :]


class _Attention(nn.Module):
    def __init__(self, dim: int, n_heads: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.n_heads = n_heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C)
        B, T, C = x.shape
        q, k, v = self.qkv(self.norm(x)).split(C, dim=-1)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2)
                   for t in (q, k, v))  # (B, h, T, C/h)
        y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(B, T, C))


class _MLP(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.GELU(),
                                 nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class HyperTransformerLM(nn.Module):
    """A small causal transformer LM whose sublayers are joined by hyper-connections.

    The embedding is copied to ``n`` streams, a learned per-stream embedding (small random
    init) breaks their symmetry — with identical streams and symmetric read-out the
    streams would stay identical forever —, every attention and MLP sublayer is a
    :class:`HyperConnection`, and the streams are averaged before the final norm and head.

    Parameters
    ----------
    vocab, dim, n_layers, n_heads, context : int
    config : HyperConfig
    stream_embed_scale : float
        Standard deviation of the per-stream embedding (0 disables it).
    generator : torch.Generator, optional
        Source of every initial weight (so equal seeds give equal networks across modes).
    """

    def __init__(self, vocab: int, dim: int, n_layers: int, n_heads: int, context: int,
                 config: HyperConfig | None = None, *, stream_embed_scale: float = 0.02,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        vocab = check_int(vocab, name="vocab", minimum=2)
        dim = check_int(dim, name="dim", minimum=1)
        n_layers = check_int(n_layers, name="n_layers", minimum=1)
        n_heads = check_int(n_heads, name="n_heads", minimum=1)
        if dim % n_heads:
            raise ValueError(f"dim must be divisible by n_heads = {n_heads}, got {dim}")
        self.context = check_int(context, name="context", minimum=1)
        self.config = config if config is not None else HyperConfig()
        n = self.config.n_streams
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(self.context, dim)
        self.stream_embed = nn.Parameter(torch.zeros(n, dim))
        layers = []
        for _ in range(n_layers):
            layers.append(HyperConnection(_Attention(dim, n_heads), dim, self.config))
            layers.append(HyperConnection(_MLP(dim), dim, self.config))
        self.layers = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith(("res_logits", "pre_logits", "post_logits")) or "norm" in name:
                    continue
                if name == "stream_embed":
                    p.normal_(0.0, 1.0, generator=generator).mul_(stream_embed_scale)
                elif p.ndim >= 2:
                    p.normal_(0.0, 0.02, generator=generator)
                else:
                    p.zero_()
            for layer in self.layers:  # GPT-2 style: shrink the residual writes
                out = layer.block.out if isinstance(layer.block, _Attention) else layer.block.net[3]
                out.weight.mul_(1.0 / math.sqrt(2 * n_layers))

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) of the next token."""
        return self.forward_streams(idx)[0]

    def forward_streams(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits (B, T, V), final streams (B, T, n, C))``."""
        if not isinstance(idx, torch.Tensor) or idx.ndim != 2 or idx.dtype != torch.long:
            raise ValueError("idx must be a (B, T) int64 tensor, got "
                             f"{getattr(idx, 'shape', type(idx).__name__)}")
        T = idx.shape[1]
        if T > self.context:
            raise ValueError(f"idx length must be <= context = {self.context}, got {T}")
        x = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))  # (B, T, C)
        # streams first: (n, B, T, C), so each hyper-connection mixes an (n, M) matrix
        X = x.unsqueeze(0) + self.stream_embed[:, None, None, :]
        fast = [hc for hc in self.layers if hc._fast_mixing_ok()]
        mixes = dict(zip(map(id, fast), _stacked_mixing(fast), strict=True)) if fast else {}
        for layer in self.layers:
            X = layer.forward_streams_first(X, mixes.get(id(layer)))
        return self.head(self.norm(X.mean(dim=0))), X.permute(1, 2, 0, 3)

    def _reference_forward_streams(self, idx: torch.Tensor
                                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward_streams` through the checked stream-last ``HyperConnection.forward``
        of every layer (slow twin for the tests)."""
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))  # (B, T, C)
        X = expand_streams(x, self.config.n_streams) + self.stream_embed  # (B, T, n, C)
        for layer in self.layers:
            X = layer(X)
        return self.head(self.norm(reduce_streams(X))), X

    def res_matrices(self) -> list[torch.Tensor]:
        """``H^res`` of every hyper-connection, input to output."""
        return [layer.mixing()[2] for layer in self.layers]
