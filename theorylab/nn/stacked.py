"""Train ``M`` independent copies of one small torch model as a single stacked model.

Small models on a CPU spend most of a training step in per-operation overhead (Python,
autograd bookkeeping, one optimizer kernel per tensor), not in arithmetic. Stacking the
``M`` members' tensors along a new leading axis and running their forward passes as batched
matrix products (``torch.bmm``) pays that overhead once per step instead of ``M`` times.

Members stay mathematically independent: member ``i`` only ever multiplies its own slice,
the total loss is the *sum* of the members' losses (so each slice's gradient is its own
loss's gradient), and Adam acts element by element (so a stacked Adam gives each slice the
update a separate Adam would give it). Each member keeps its own initialisation and its own
data order (the caller draws the batches from per-member generators).

- :func:`stack_state` / :func:`unstack_state_` — named parameters and buffers of ``M``
  identical modules ↔ one dict of stacked tensors (trainable ones become fresh leaves;
  right factors optionally stored transposed).
- :func:`train_stacked` — ``steps`` Adam steps on the sum of per-member losses.
- :func:`linear`, :func:`lora_linear`, :func:`svd_linear`, :func:`gated_svd_linear`,
  :func:`embedding` — the batched forward of ``nn.Linear``, :class:`~theorylab.nn.lora.LoRALinear`,
  :class:`~theorylab.nn.svd.SVDLinear`, :class:`~theorylab.nn.svd.GatedSVDLinear` and
  ``nn.Embedding`` on inputs of shape ``(M, B, ...)``, written with the same operation order as
  the modules' own ``forward``.

The modules themselves are the reference twins: tests check stacked forward passes and whole
stacked trainings against the members run one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import numpy as np
import torch
from torch import nn

from theorylab._validation import check_int, check_positive

__all__ = ["stack_state", "unstack_state_", "train_stacked", "linear", "lora_linear",
           "svd_linear", "gated_svd_linear", "embedding"]


def _named_state(module: nn.Module) -> dict[str, tuple[torch.Tensor, bool]]:
    state = {n: (p, p.requires_grad) for n, p in module.named_parameters()}
    state.update({n: (b, False) for n, b in module.named_buffers()})
    return state


def stack_state(modules: Sequence[nn.Module], *, transposed: Collection[str] = ()
                ) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
    """Stack the parameters and buffers of ``M`` structurally identical modules.

    Returns ``(state, trainable)``: ``state[name]`` has shape ``(M, *member_shape)``; the
    entries whose member parameter requires a gradient are fresh leaf tensors with
    ``requires_grad=True``, listed (in ``named_parameters`` order) in ``trainable``. The 2-D
    tensors named in ``transposed`` are stored transposed, ``(M, n, m)`` for a member's
    ``(m, n)``, contiguous: the layers below multiply by ``Wᵀ`` and ``Uᵀ``, and a batched
    product with a contiguous right factor is faster than with a transposed view.

    Raises
    ------
    ValueError
        If ``modules`` is empty or the members differ in names, shapes or trainability.
    """
    if len(modules) == 0:
        raise ValueError("modules must contain at least one module, got none")
    states = [_named_state(m) for m in modules]
    ref = states[0]
    for i, s in enumerate(states[1:], start=1):
        sig = {n: (tuple(t.shape), g) for n, (t, g) in s.items()}
        ref_sig = {n: (tuple(t.shape), g) for n, (t, g) in ref.items()}
        if sig != ref_sig:
            raise ValueError("modules must have identical parameter names, shapes and "
                             f"requires_grad flags, got module {i} differing from module 0")
    bad = [n for n in transposed if n not in ref or ref[n][0].ndim != 2]
    if bad:
        raise ValueError(f"transposed must name 2-D parameters or buffers, got {bad[0]!r}")
    state, trainable = {}, []
    for name, (_, grad) in ref.items():
        t = torch.stack([s[name][0].detach() for s in states])
        t = (t.transpose(1, 2) if name in transposed else t).contiguous().clone()
        if grad:
            t.requires_grad_(True)
            trainable.append(t)
        state[name] = t
    return state, trainable


@torch.no_grad()
def unstack_state_(state: dict[str, torch.Tensor], modules: Sequence[nn.Module], *,
                   transposed: Collection[str] = ()) -> None:
    """Copy slice ``i`` of every stacked tensor back into module ``i`` (in place);
    ``transposed`` as given to :func:`stack_state`."""
    for i, m in enumerate(modules):
        for name, (t, _) in _named_state(m).items():
            t.copy_(state[name][i].T if name in transposed else state[name][i])


def train_stacked(loss_fn: Callable[[int], torch.Tensor], params: Sequence[torch.Tensor], *,
                  steps: int, lr: float) -> np.ndarray:
    """``steps`` Adam steps (torch defaults, ``foreach``) on ``loss_fn(step).sum()``.

    ``loss_fn(step)`` returns the ``(M,)`` per-member losses (each member's loss must depend
    only on its own slices). Returns the losses, shape ``(steps, M)``.

    Raises
    ------
    FloatingPointError
        When a member's loss becomes NaN/inf, naming the step and the member.
    """
    steps = check_int(steps, name="steps", minimum=1)
    lr = check_positive(lr, name="lr")
    params = list(params)
    if not params:
        raise ValueError("params must contain at least one trainable tensor, got none")
    opt = torch.optim.Adam(params, lr=lr, foreach=True)
    out = []
    for step in range(steps):
        opt.zero_grad(set_to_none=True)
        losses = loss_fn(step)  # (M,)
        losses.sum().backward()
        opt.step()
        out.append(losses.detach())
    L = torch.stack(out).cpu().numpy().astype(float)  # one sync at the end
    bad = np.argwhere(~np.isfinite(L))
    if len(bad):
        step, member = (int(v) for v in bad[0])
        raise FloatingPointError(f"loss became {L[step, member]} at step {step} "
                                 f"(member {member})")
    return L


def linear(x: torch.Tensor, weight_t: torch.Tensor, bias: torch.Tensor | None
           ) -> torch.Tensor:
    """Stacked ``nn.Linear``: ``x (M, B, in)``, ``weight_t (M, in, out)`` (the weights
    transposed), ``bias (M, out)``."""
    if bias is None:
        return torch.bmm(x, weight_t)
    return torch.baddbmm(bias.unsqueeze(1), x, weight_t)


def lora_linear(x, weight_t, bias, A_t, B_t, scaling: float) -> torch.Tensor:
    """Stacked :class:`~theorylab.nn.lora.LoRALinear`: ``A_t (M, in, r)``, ``B_t (M, r, out)``
    (``A``, ``B`` transposed)."""
    return linear(x, weight_t, bias) + scaling * torch.bmm(torch.bmm(x, A_t), B_t)


def svd_linear(x, weight_t, bias, U_t, V, sigma, sigma0) -> torch.Tensor:
    """Stacked :class:`~theorylab.nn.svd.SVDLinear`: ``U_t (M, r, out)`` (``U`` transposed),
    ``V (M, in, r)``, ``sigma, sigma0 (M, r)``."""
    return linear(x, weight_t, bias) + torch.bmm(torch.bmm(x, V) * (sigma - sigma0).unsqueeze(1),
                                                 U_t)


def gated_svd_linear(x, group_ids, *, U_G_t, sigma_G, V_G, U_T_t, sigma_T, V_T, bias,
                     tailor_group) -> torch.Tensor:
    """Stacked :class:`~theorylab.nn.svd.GatedSVDLinear`: ``x (M, B, in)``,
    ``group_ids (M, B)`` (assumed valid: checked by the caller), tensors as the module's
    with a leading ``M``, ``U_G`` and ``U_T`` transposed (``(M, r, out)``)."""
    y = torch.bmm(torch.bmm(x, V_G) * sigma_G.unsqueeze(1), U_G_t)
    if sigma_T.shape[-1]:
        g = (group_ids.unsqueeze(-1) == tailor_group.unsqueeze(1)).to(sigma_T.dtype)  # (M,B,rT)
        y = y + torch.bmm(torch.bmm(x, V_T) * (sigma_T.unsqueeze(1) * g), U_T_t)
    return y if bias is None else y + bias.unsqueeze(1)


def embedding(idx: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Stacked ``nn.Embedding``: ``idx (M, B)``, ``weight (M, n, d)`` → ``(M, B, d)``."""
    M, n, d = weight.shape
    offset = torch.arange(M, device=idx.device).unsqueeze(1) * n
    return nn.functional.embedding(idx + offset, weight.reshape(M * n, d))
