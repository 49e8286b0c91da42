"""Neural execution engines: a transformer that executes one step of a subroutine (selection
sort's "find the next minimum", addition) with conditional masking and binary numbers.

One call of the executor sees a set of numbers (no positional encoding: the list is a set)
and a mask ``m_t`` of the elements already selected, and returns

- ``value_logits``: the bits of the output number (bit-wise logistic loss), and
- ``pointer_logits``: a distribution over the input positions (which element it used).

With ``masking="attention"`` (NEE) masked positions get −∞ attention logits in every layer
and in the pointer, so they are invisible; the rollout updates the mask with the pointer,
``m_{t+1} = m_t ∨ onehot(argmax pointer)`` (the paper learns this update with a small
convolution net; here it is the deterministic rule that net is trained to imitate). With
``masking="feature"`` (the vanilla baseline) every position stays visible and the mask only
enters as a learned "already selected" embedding added to the token.

Numbers are encoded in binary (``encoding="binary"``: a linear map of the ±1 bit vector, so
every number — also one never seen in training — has a meaningful embedding) or one-hot
(``encoding="onehot"``: an ``nn.Embedding`` row per number, untrained for held-out numbers).

Paper symbol ↔ argument: m_t ↔ ``mask`` (True = selected, hidden); the decoder's start
token ↔ the learned query token prepended to the set; per-bit embeddings ↔
:class:`BinaryNumberEmbedding`.

References
----------
Yan, Swersky, Koutra, Ranganathan & Hashemi, "Neural Execution Engines: Learning to Execute
Subroutines", NeurIPS 2020, arXiv:2006.08084.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from theorylab._validation import check_choice, check_int, check_probability
from theorylab.results import ResultRepr
from theorylab.seq._tensors import check_float_tensor, check_int_tensor

__all__ = [
    "NEEConfig",
    "BinaryNumberEmbedding",
    "MaskedPointerExecutor",
    "SortTraces",
    "selection_sort_traces",
    "encode_bits",
    "decode_bits",
    "min_pointer_loss",
]


def encode_bits(numbers: torch.Tensor, bits: int) -> torch.Tensor:
    """``(...)`` integers in ``[0, 2^bits)`` → ``(..., bits)`` of 0/1 floats, least
    significant bit first.

    Examples
    --------
    >>> encode_bits(torch.tensor([5]), 4).tolist()
    [[1.0, 0.0, 1.0, 0.0]]
    """
    bits = check_int(bits, name="bits", minimum=1, maximum=62)
    _check_numbers(numbers, bits, "numbers")
    shifts = torch.arange(bits, device=numbers.device)
    return ((numbers[..., None] >> shifts) & 1).float()


def decode_bits(bit_logits: torch.Tensor) -> torch.Tensor:
    """``(..., bits)`` logits (> 0 means bit 1) → ``(...)`` int64 numbers."""
    bit_logits = check_float_tensor(bit_logits, name="bit_logits")
    bits = bit_logits.shape[-1]
    weights = 2 ** torch.arange(bits, device=bit_logits.device)
    return ((bit_logits > 0).long() * weights).sum(-1)


def _check_numbers(numbers, bits: int, name: str) -> torch.Tensor:
    check_int_tensor(numbers, name=name)
    if numbers.dtype != torch.long:
        raise TypeError(f"{name} must be an integer tensor of dtype int64, got {numbers.dtype}")
    if numbers.numel() and (int(numbers.min()) < 0 or int(numbers.max()) >= 2 ** bits):
        raise ValueError(f"{name} must lie in [0, {2 ** bits}) ({bits} bits), got values in "
                         f"[{int(numbers.min())}, {int(numbers.max())}]")
    return numbers


def _check_mask(mask, numbers: torch.Tensor) -> torch.Tensor:
    """``mask`` (a bool tensor of ``numbers``' shape; ``None``: nothing masked), checked."""
    if mask is None:
        return torch.zeros(numbers.shape, dtype=torch.bool, device=numbers.device)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError("mask must be a bool tensor, got "
                        f"{getattr(mask, 'dtype', type(mask).__name__)}")
    if mask.shape != numbers.shape:
        raise ValueError(f"mask must have the shape of numbers {tuple(numbers.shape)}, "
                         f"got {tuple(mask.shape)}")
    return mask


@dataclass(frozen=True)
class NEEConfig:
    """Options of :class:`MaskedPointerExecutor`."""

    bits: int = 8
    out_bits: int | None = None  # value-head width (default: bits; bits + 1 for addition)
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    d_ff: int = 128
    masking: Literal["attention", "feature"] = "attention"
    encoding: Literal["binary", "onehot"] = "binary"

    def __post_init__(self) -> None:
        check_int(self.bits, name="bits", minimum=1, maximum=16)
        if self.out_bits is not None:
            check_int(self.out_bits, name="out_bits", minimum=1, maximum=32)
        check_int(self.d_model, name="d_model", minimum=1)
        check_int(self.n_layers, name="n_layers", minimum=1)
        check_int(self.n_heads, name="n_heads", minimum=1)
        check_int(self.d_ff, name="d_ff", minimum=1)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model must be divisible by n_heads = {self.n_heads}, got "
                             f"{self.d_model}")
        check_choice(self.masking, name="masking", choices=("attention", "feature"))
        check_choice(self.encoding, name="encoding", choices=("binary", "onehot"))


class BinaryNumberEmbedding(nn.Module):
    """Embedding of ``bits``-bit numbers as a learned linear map of their ±1 bit vector (one
    learned vector per bit, summed): numbers never seen in training still get an embedding
    consistent with their bits.

    Examples
    --------
    >>> emb = BinaryNumberEmbedding(8, 16)
    >>> tuple(emb(torch.tensor([[3, 255]])).shape)
    (1, 2, 16)
    """

    def __init__(self, bits: int, d_model: int) -> None:
        super().__init__()
        self.bits = check_int(bits, name="bits", minimum=1, maximum=16)
        self.proj = nn.Linear(self.bits, check_int(d_model, name="d_model", minimum=1))

    def forward(self, numbers: torch.Tensor) -> torch.Tensor:
        signs = 2.0 * encode_bits(numbers, self.bits) - 1.0  # (..., bits) of ±1
        return self.proj(signs.to(self.proj.weight.dtype))


class _Layer(nn.Module):
    """Pre-norm self-attention + MLP; attention computed explicitly so the probabilities
    can be inspected (masked keys get exactly zero)."""

    def __init__(self, d: int, h: int, d_ff: int) -> None:
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ff = nn.Sequential(nn.Linear(d, d_ff), nn.ReLU(), nn.Linear(d_ff, d))
        self.h = h

    def forward(self, x: torch.Tensor, allowed: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        B, S, d = x.shape  # (B, S, d); allowed: (B, S) keys that may be attended to
        q, k, v = self.qkv(self.n1(x)).split(d, dim=-1)
        q, k, v = (t.view(B, S, self.h, d // self.h).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.h)  # (B, h, S, S)
        scores = scores.masked_fill(~allowed[:, None, None, :], float("-inf"))
        att = scores.softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, S, d)
        x = x + self.out(y)
        return x + self.ff(self.n2(x)), att


class MaskedPointerExecutor(nn.Module):
    """One execution step ``(numbers, mask) -> (value_logits, pointer_logits)`` and the
    selection-sort rollout :meth:`run`.

    Parameters
    ----------
    config : NEEConfig
    generator : torch.Generator, optional
        Source of the initial weights.

    Examples
    --------
    >>> ex = MaskedPointerExecutor(NEEConfig(d_model=16, n_heads=2, d_ff=32))
    >>> x = torch.tensor([[7, 3, 200]])
    >>> v, p = ex.step(x, torch.zeros(1, 3, dtype=torch.bool))
    >>> tuple(v.shape), tuple(p.shape)
    ((1, 8), (1, 3))
    """

    def __init__(self, config: NEEConfig | None = None, *,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        cfg = config if config is not None else NEEConfig()
        if not isinstance(cfg, NEEConfig):
            raise TypeError(f"config must be a NEEConfig, got {type(cfg).__name__}")
        self.config = cfg
        d = cfg.d_model
        self.embed = (BinaryNumberEmbedding(cfg.bits, d) if cfg.encoding == "binary"
                      else nn.Embedding(2 ** cfg.bits, d))
        self.query = nn.Parameter(torch.zeros(d))
        self.selected = nn.Parameter(torch.zeros(d))  # used by masking="feature" only
        self.layers = nn.ModuleList(_Layer(d, cfg.n_heads, cfg.d_ff)
                                    for _ in range(cfg.n_layers))
        self.norm = nn.LayerNorm(d)
        self.value_head = nn.Linear(d, cfg.out_bits or cfg.bits)
        self.ptr_q, self.ptr_k = nn.Linear(d, d), nn.Linear(d, d)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if "n1" in name or "n2" in name or name.startswith("norm"):
                    continue
                if p.ndim >= 2 or name in ("query", "selected"):
                    p.normal_(0.0, 1.0 / math.sqrt(p.shape[-1]), generator=generator)
                else:
                    p.zero_()

    def _check(self, numbers, mask) -> torch.Tensor:
        _check_numbers(numbers, self.config.bits, "numbers")
        if numbers.ndim != 2 or numbers.shape[1] == 0:
            raise ValueError(f"numbers must have shape (B, L) with L >= 1, got "
                             f"{tuple(numbers.shape)}")
        return _check_mask(mask, numbers)

    def _encode(self, numbers, mask):
        B, L = numbers.shape
        x = self.embed(numbers)  # (B, L, d)
        if self.config.masking == "feature":
            x = x + mask[..., None].to(x.dtype) * self.selected
        x = torch.cat([self.query.expand(B, 1, -1), x], dim=1)  # (B, 1 + L, d)
        ones = torch.ones(B, 1, dtype=torch.bool, device=numbers.device)
        allowed = (torch.cat([ones, ~mask], dim=1) if self.config.masking == "attention"
                   else torch.ones(B, 1 + L, dtype=torch.bool, device=numbers.device))
        atts = []
        for layer in self.layers:
            x, att = layer(x, allowed)
            atts.append(att)
        return self.norm(x), atts

    def step(self, numbers: torch.Tensor, mask: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(value_logits (B, out_bits), pointer_logits (B, L))`` for one call.

        ``mask`` (B, L) bool, True = already selected. With ``masking="attention"``
        the pointer logits of masked positions are −∞.
        """
        mask = self._check(numbers, mask)
        h, _ = self._encode(numbers, mask)
        hq, hx = h[:, 0], h[:, 1:]  # (B, d), (B, L, d)
        value = self.value_head(hq)
        ptr = (self.ptr_k(hx) @ self.ptr_q(hq)[..., None])[..., 0] / math.sqrt(h.shape[-1])
        if self.config.masking == "attention":
            ptr = ptr.masked_fill(mask, float("-inf"))
        return value, ptr

    def forward(self, numbers: torch.Tensor, mask: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """The same as :meth:`step`."""
        return self.step(numbers, mask)

    def attention(self, numbers: torch.Tensor, mask: torch.Tensor | None = None
                  ) -> list[torch.Tensor]:
        """Attention probabilities of every layer, each (B, heads, 1 + L, 1 + L); key 0 is
        the query token, key 1 + i is ``numbers[:, i]``."""
        mask = self._check(numbers, mask)
        return self._encode(numbers, mask)[1]

    @torch.no_grad()
    def run(self, numbers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Selection-sort rollout: ``L`` calls, the mask updated by the pointer.

        Returns ``(values (B, L), pointers (B, L), masks (B, L + 1, L))``: the decoded
        value of each call, the argmax pointer, and the mask before each call plus the
        final one.
        """
        mask = self._check(numbers, None)
        B, L = numbers.shape
        values, pointers, masks = [], [], [mask]
        rows = torch.arange(B, device=numbers.device)
        for _ in range(L):
            v, p = self.step(numbers, mask)
            ptr = p.argmax(dim=-1)
            mask = mask.clone()
            mask[rows, ptr] = True
            values.append(decode_bits(v))
            pointers.append(ptr)
            masks.append(mask)
        return torch.stack(values, 1), torch.stack(pointers, 1), torch.stack(masks, 1)


@dataclass(frozen=True)
class SortTraces(ResultRepr):
    """Teacher-forcing traces of selection sort.

    ``numbers`` (N, L) int64; ``order`` (N, L): a stable argsort (``numbers[order]`` is
    sorted); ``masks`` (N, L, L) bool: ``masks[:, t]`` marks the elements selected before
    call t (``order[:, :t]``)."""

    numbers: torch.Tensor
    order: torch.Tensor
    masks: torch.Tensor


def selection_sort_traces(n_lists: int, length: int, *, bits: int = 8,
                          hard_fraction: float = 0.25,
                          generator: torch.Generator | None = None) -> SortTraces:
    """Random lists of ``bits``-bit numbers and their selection-sort masks.

    A fraction ``hard_fraction`` are "hard" lists: shuffled arithmetic progressions with
    step 1–4 (values close together), as in the paper's data; the rest are uniform.
    """
    n_lists = check_int(n_lists, name="n_lists", minimum=1)
    length = check_int(length, name="length", minimum=1)
    bits = check_int(bits, name="bits", minimum=1, maximum=16)
    hard_fraction = check_probability(hard_fraction, name="hard_fraction")
    top = 2 ** bits
    nums = torch.randint(0, top, (n_lists, length), generator=generator)
    n_hard = int(round(hard_fraction * n_lists))
    if n_hard:
        step = torch.randint(1, 5, (n_hard, 1), generator=generator)
        span = step * (length - 1)
        start = (torch.rand(n_hard, 1, generator=generator) * (top - span).clamp(min=1)).long()
        prog = (start + step * torch.arange(length)).clamp(max=top - 1)
        perm = torch.argsort(torch.rand(n_hard, length, generator=generator), dim=1)
        nums[:n_hard] = torch.gather(prog, 1, perm)
    order = torch.sort(nums, dim=1, stable=True).indices
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(length).expand(n_lists, length))
    masks = ranks[:, None, :] < torch.arange(length)[None, :, None]  # (N, t, L)
    return SortTraces(numbers=nums, order=order, masks=masks)


def min_pointer_loss(pointer_logits: torch.Tensor, numbers: torch.Tensor,
                     mask: torch.Tensor) -> torch.Tensor:
    """``−log Σ_{i ∈ argmin} p_i``, averaged over the batch: the pointer may pick any
    unselected position holding the minimum (ties are indistinguishable without positions).

    ``pointer_logits`` (B, L) float, ``numbers`` (B, L) integer, ``mask`` (B, L) bool (True =
    already selected; at least one position per row must be free).
    """
    # −inf marks positions already selected; NaN is an error
    pointer_logits = check_float_tensor(pointer_logits, name="pointer_logits", ndim=2,
                                        finite=False)
    if bool(torch.isnan(pointer_logits).any()):
        raise ValueError(f"pointer_logits must not contain NaN, got "
                         f"{int(torch.isnan(pointer_logits).sum())} NaN entries")
    numbers = check_int_tensor(numbers, name="numbers", ndim=2)
    if numbers.shape != pointer_logits.shape:
        raise ValueError(f"numbers must have shape {tuple(pointer_logits.shape)} (that of "
                         f"pointer_logits), got {tuple(numbers.shape)}")
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        real = " real-valued" if isinstance(mask, torch.Tensor) and mask.is_complex() else ""
        raise TypeError(f"mask must be a{real} bool tensor, got "
                        f"{getattr(mask, 'dtype', type(mask).__name__)}")
    if mask.shape != pointer_logits.shape:
        raise ValueError(f"mask must have shape {tuple(pointer_logits.shape)} (that of "
                         f"pointer_logits), got {tuple(mask.shape)}")
    big = torch.iinfo(numbers.dtype).max
    free = numbers.masked_fill(mask, big)
    is_min = free == free.min(dim=1, keepdim=True).values  # (B, L)
    logp = pointer_logits.float().log_softmax(dim=1)
    return -(logp.masked_fill(~is_min, float("-inf")).logsumexp(dim=1)).mean()
