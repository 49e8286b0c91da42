"""Several neural-execution-engine executors trained as one stacked model.

:class:`StackedExecutor` holds ``K`` members of :class:`~theorylab.seq.nee.MaskedPointerExecutor`
with the same shape (bits, width, depth, heads) — they may differ in ``encoding`` and
``masking`` — and runs them as one model: every weight of the transformer body is stacked
along a leading member axis and applied with batched matrix products, each member keeps its
own number embedding. Members stay mathematically independent: member ``k`` sees only
``numbers[k]``, and a loss that is a sum of per-member losses gives each member exactly the
gradient it would get alone; Adam is element-wise, so one optimiser over the stacked weights
takes the same steps as ``K`` optimisers. It is an implementation speed-up for small models,
where the per-operation overhead of ``K`` separate models dominates.

:meth:`StackedExecutor.unstack` returns the members as separate executors again.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from theorylab.seq.nee import MaskedPointerExecutor, _check_mask, _check_numbers

__all__ = ["StackedExecutor", "stacked_min_pointer_loss", "stacked_bit_loss"]

_SHAPE = ("bits", "d_model", "n_layers", "n_heads", "d_ff")


def _stack(params) -> nn.Parameter:
    return nn.Parameter(torch.stack([p.detach().clone() for p in params]))


def _linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Member-wise ``x[k] @ w[k].T + b[k]`` for ``x`` (K, ..., in), ``w`` (K, out, in)."""
    K, n_in = x.shape[0], x.shape[-1]
    y = torch.baddbmm(b[:, None, :], x.reshape(K, -1, n_in), w.transpose(1, 2))
    return y.reshape(*x.shape[:-1], w.shape[1])


def _layer_norm(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, eps: float) -> torch.Tensor:
    shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],)
    return F.layer_norm(x, x.shape[-1:], eps=eps) * w.view(shape) + b.view(shape)


class _StackedLayer(nn.Module):
    def __init__(self, layers) -> None:
        super().__init__()
        self.h = layers[0].h
        self.eps = layers[0].n1.eps
        for name, get in (("n1_w", lambda m: m.n1.weight), ("n1_b", lambda m: m.n1.bias),
                          ("n2_w", lambda m: m.n2.weight), ("n2_b", lambda m: m.n2.bias),
                          ("qkv_w", lambda m: m.qkv.weight), ("qkv_b", lambda m: m.qkv.bias),
                          ("out_w", lambda m: m.out.weight), ("out_b", lambda m: m.out.bias),
                          ("ff1_w", lambda m: m.ff[0].weight), ("ff1_b", lambda m: m.ff[0].bias),
                          ("ff2_w", lambda m: m.ff[2].weight), ("ff2_b", lambda m: m.ff[2].bias)):
            setattr(self, name, _stack(get(m) for m in layers))

    def forward(self, x: torch.Tensor, allowed: torch.Tensor, first_only: bool = False
                ) -> torch.Tensor:
        """``x`` (K, B, S, d) → (K, B, S, d); with ``first_only`` only the output of token 0
        (K, B, 1, d), which then needs the queries, residual and MLP of that token alone."""
        K, B, S, d = x.shape  # allowed: (K, B, S) keys that may be attended to
        h, dh = self.h, d // self.h
        qkv = _linear(_layer_norm(x, self.n1_w, self.n1_b, self.eps), self.qkv_w, self.qkv_b)
        q, k, v = (t.reshape(K, B, S, h, dh).transpose(2, 3) for t in qkv.split(d, dim=-1))
        if first_only:
            q, x, S = q[:, :, :, :1], x[:, :, :1], 1
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh)  # (K, B, h, S, S)
        scores = scores.masked_fill(~allowed[:, :, None, None, :], float("-inf"))
        y = (scores.softmax(dim=-1) @ v).transpose(2, 3).reshape(K, B, S, d)
        x = x + _linear(y, self.out_w, self.out_b)
        f = torch.relu(_linear(_layer_norm(x, self.n2_w, self.n2_b, self.eps), self.ff1_w,
                               self.ff1_b))
        return x + _linear(f, self.ff2_w, self.ff2_b)


class StackedExecutor(nn.Module):
    """``K`` executors of one shape as one model (copies of the members' weights).

    Parameters
    ----------
    members : sequence of MaskedPointerExecutor
        At least one; the same ``bits``, value-head width, ``d_model``, ``n_layers``,
        ``n_heads`` and ``d_ff``. ``encoding`` and ``masking`` may differ.

    Examples
    --------
    >>> from theorylab.seq.nee import NEEConfig
    >>> ms = [MaskedPointerExecutor(NEEConfig(d_model=16, n_heads=2, d_ff=32, masking=m))
    ...       for m in ("attention", "feature")]
    >>> st = StackedExecutor(ms)
    >>> v, p = st.step(torch.tensor([[[7, 3, 200]], [[1, 2, 3]]]))
    >>> tuple(v.shape), tuple(p.shape)
    ((2, 1, 8), (2, 1, 3))
    """

    def __init__(self, members: Sequence[MaskedPointerExecutor]) -> None:
        super().__init__()
        if isinstance(members, MaskedPointerExecutor) or not isinstance(members, Sequence):
            raise TypeError("members must be a sequence of MaskedPointerExecutor, got "
                            f"{type(members).__name__}")
        members = list(members)
        if not members:
            raise ValueError("members must contain at least one MaskedPointerExecutor, got none")
        for i, m in enumerate(members):
            if not isinstance(m, MaskedPointerExecutor):
                raise TypeError(f"members[{i}] must be a MaskedPointerExecutor, got "
                                f"{type(m).__name__}")
        c0 = members[0].config
        for i, m in enumerate(members[1:], start=1):
            for key in _SHAPE:
                if getattr(m.config, key) != getattr(c0, key):
                    raise ValueError(f"members[{i}].config.{key} must equal that of members[0] "
                                     f"({getattr(c0, key)}), got {getattr(m.config, key)}")
            if (m.config.out_bits or m.config.bits) != (c0.out_bits or c0.bits):
                raise ValueError(f"members[{i}] value-head width must equal that of members[0] "
                                 f"({c0.out_bits or c0.bits}), got "
                                 f"{m.config.out_bits or m.config.bits}")
        self.configs = tuple(m.config for m in members)
        self.bits, self.d_model = c0.bits, c0.d_model
        self.embeds = nn.ModuleList(copy.deepcopy(m.embed) for m in members)
        self.query = _stack(m.query for m in members)
        self.selected = _stack(m.selected for m in members)
        self.layers = nn.ModuleList(_StackedLayer([m.layers[i] for m in members])
                                    for i in range(c0.n_layers))
        self.norm_eps = members[0].norm.eps
        self.norm_w = _stack(m.norm.weight for m in members)
        self.norm_b = _stack(m.norm.bias for m in members)
        for name in ("value_head", "ptr_q", "ptr_k"):
            setattr(self, name + "_w", _stack(getattr(m, name).weight for m in members))
            setattr(self, name + "_b", _stack(getattr(m, name).bias for m in members))
        feature = torch.tensor([c.masking == "feature" for c in self.configs])
        self.register_buffer("feature", feature, persistent=False)

    @property
    def n_members(self) -> int:
        return len(self.configs)

    def _check(self, numbers, mask) -> torch.Tensor:
        _check_numbers(numbers, self.bits, "numbers")
        K = self.n_members
        if numbers.ndim != 3 or numbers.shape[0] != K or numbers.shape[2] == 0:
            raise ValueError(f"numbers must have shape ({K}, B, L) with L >= 1, got "
                             f"{tuple(numbers.shape)}")
        return _check_mask(mask, numbers)

    def _body(self, numbers, mask, value_only):
        K, B, L = numbers.shape
        x = torch.stack([emb(numbers[k]) for k, emb in enumerate(self.embeds)])  # (K,B,L,d)
        feat = self.feature[:, None, None]
        if bool(self.feature.any()):
            x = x + (mask & feat)[..., None].to(x.dtype) * self.selected[:, None, None, :]
        x = torch.cat([self.query[:, None, None, :].expand(K, B, 1, -1), x], dim=2)
        hidden = mask & ~feat  # masked attention: selected elements are invisible
        allowed = torch.cat([torch.ones(K, B, 1, dtype=torch.bool, device=numbers.device),
                             ~hidden], dim=2)
        for i, layer in enumerate(self.layers):
            x = layer(x, allowed, first_only=value_only and i == len(self.layers) - 1)
        h = _layer_norm(x, self.norm_w, self.norm_b, self.norm_eps)
        hq, hx = h[:, :, 0], h[:, :, 1:]  # (K, B, d), (K, B, L, d)
        value = _linear(hq, self.value_head_w, self.value_head_b)
        if value_only:
            return value, None
        pk = _linear(hx, self.ptr_k_w, self.ptr_k_b)
        pq = _linear(hq, self.ptr_q_w, self.ptr_q_b)
        ptr = (pk @ pq[..., None])[..., 0] / math.sqrt(self.d_model)
        return value, ptr.masked_fill(hidden, float("-inf"))

    def step(self, numbers: torch.Tensor, mask: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """``numbers`` (K, B, L), ``mask`` (K, B, L) bool or None →
        ``(value_logits (K, B, out_bits), pointer_logits (K, B, L))``; slice ``k`` is what
        member ``k``'s :meth:`~theorylab.seq.nee.MaskedPointerExecutor.step` returns."""
        return self._body(numbers, self._check(numbers, mask), False)

    def value(self, numbers: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """The value logits of :meth:`step` alone (K, B, out_bits): the last layer is run for
        the query token only, since nothing else of it reaches the value head."""
        return self._body(numbers, self._check(numbers, mask), True)[0]

    def forward(self, numbers: torch.Tensor, mask: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """The same as :meth:`step`."""
        return self.step(numbers, mask)

    @torch.no_grad()
    def run(self, numbers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Selection-sort rollout of every member on its ``numbers[k]`` (K, B, L): returns
        ``(values (K, B, L), pointers (K, B, L), masks (K, B, L + 1, L))`` as
        :meth:`~theorylab.seq.nee.MaskedPointerExecutor.run` does per member."""
        from theorylab.seq.nee import decode_bits

        mask = self._check(numbers, None)
        K, B, L = numbers.shape
        values, pointers, masks = [], [], [mask]
        kk = torch.arange(K, device=numbers.device)[:, None]
        rows = torch.arange(B, device=numbers.device)[None, :]
        for _ in range(L):
            v, p = self.step(numbers, mask)
            ptr = p.argmax(dim=-1)  # (K, B)
            mask = mask.clone()
            mask[kk, rows, ptr] = True
            values.append(decode_bits(v))
            pointers.append(ptr)
            masks.append(mask)
        return torch.stack(values, 2), torch.stack(pointers, 2), torch.stack(masks, 2)

    def unstack(self) -> list[MaskedPointerExecutor]:
        """The members as separate executors with the current weights."""
        out = []
        for k, cfg in enumerate(self.configs):
            m = MaskedPointerExecutor(cfg).to(self.query.device)
            with torch.no_grad():
                m.embed.load_state_dict(self.embeds[k].state_dict())
                m.query.copy_(self.query[k])
                m.selected.copy_(self.selected[k])
                for lm, ls in zip(m.layers, self.layers, strict=True):
                    for mod, pre in ((lm.n1, "n1"), (lm.n2, "n2"), (lm.qkv, "qkv"),
                                     (lm.out, "out"), (lm.ff[0], "ff1"), (lm.ff[2], "ff2")):
                        mod.weight.copy_(getattr(ls, pre + "_w")[k])
                        mod.bias.copy_(getattr(ls, pre + "_b")[k])
                m.norm.weight.copy_(self.norm_w[k])
                m.norm.bias.copy_(self.norm_b[k])
                for name in ("value_head", "ptr_q", "ptr_k"):
                    getattr(m, name).weight.copy_(getattr(self, name + "_w")[k])
                    getattr(m, name).bias.copy_(getattr(self, name + "_b")[k])
            out.append(m)
        return out


def _check_real(t: torch.Tensor, name: str) -> None:
    """A non-empty real floating tensor (metadata only: no synchronisation)."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not t.dtype.is_floating_point:
        raise TypeError(f"{name} must be a real floating tensor, got {t.dtype}")
    if t.numel() == 0:
        raise ValueError(f"{name} must be non-empty, got shape {tuple(t.shape)}")


def stacked_bit_loss(value_logits: torch.Tensor, target_bits: torch.Tensor) -> torch.Tensor:
    """Per-member bit-wise logistic loss: ``(K, B, bits)`` logits and 0/1 targets → ``(K,)``,
    entry ``k`` equal to ``binary_cross_entropy_with_logits(value_logits[k],
    target_bits[k])``.

    Shapes and dtypes are checked (host-side metadata, no synchronisation); values are not:
    this is a per-step training loss, and :func:`~theorylab.nn.training.train_steps`
    refuses a non-finite loss."""
    _check_real(value_logits, "value_logits")
    _check_real(target_bits, "target_bits")
    if value_logits.shape != target_bits.shape or value_logits.ndim != 3:
        raise ValueError(f"target_bits must have the shape of value_logits (K, B, bits) = "
                         f"{tuple(value_logits.shape)}, got {tuple(target_bits.shape)}")
    return F.binary_cross_entropy_with_logits(value_logits, target_bits,
                                              reduction="none").mean(dim=(1, 2))


def stacked_min_pointer_loss(pointer_logits: torch.Tensor, numbers: torch.Tensor,
                             mask: torch.Tensor) -> torch.Tensor:
    """Per-member :func:`~theorylab.seq.nee.min_pointer_loss`: ``(K, B, L)`` pointer logits,
    numbers and mask → ``(K,)``, entry ``k`` equal to
    ``min_pointer_loss(pointer_logits[k], numbers[k], mask[k])`` (without its input
    checks, which synchronise; shapes and dtypes are checked, values are not — see
    :func:`stacked_bit_loss`)."""
    _check_real(pointer_logits, "pointer_logits")
    if numbers.dtype.is_floating_point or numbers.dtype.is_complex or numbers.dtype == torch.bool:
        raise TypeError(f"numbers must be a real integer tensor, got {numbers.dtype}")
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a real bool tensor, got {mask.dtype}")
    for t, name in ((numbers, "numbers"), (mask, "mask")):
        if t.numel() == 0:
            raise ValueError(f"{name} must be non-empty, got shape {tuple(t.shape)}")
    if pointer_logits.ndim != 3 or numbers.shape != pointer_logits.shape \
            or mask.shape != pointer_logits.shape:
        raise ValueError(f"numbers and mask must have the shape of pointer_logits (K, B, L) = "
                         f"{tuple(pointer_logits.shape)}, got {tuple(numbers.shape)} and "
                         f"{tuple(mask.shape)}")
    big = torch.iinfo(numbers.dtype).max
    free = numbers.masked_fill(mask, big)
    is_min = free == free.min(dim=2, keepdim=True).values
    logp = pointer_logits.float().log_softmax(dim=2)
    return -(logp.masked_fill(~is_min, float("-inf")).logsumexp(dim=2)).mean(dim=1)
