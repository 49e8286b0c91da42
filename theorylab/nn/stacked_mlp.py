"""Train several small ReLU MLPs with the same architecture as ONE stacked problem.

``pretrain_stacked`` trains ``nn.Sequential(Linear, ReLU, Linear, ReLU, …, Linear)`` members
with Adam on mini-batches that each member draws from its own generator and data. Their
weights are stacked along a leading member axis: the hidden layers run as one
``torch.baddbmm`` over the members, the output layer as one ``nn.functional.linear`` per
member, and the loss is the sum of the members' own mean cross-entropies. Each member's loss
depends only on its own slice and Adam is elementwise, so every member follows exactly the
trajectory of its own separate training loop (bit for bit on the CPU: the stacked products and
the per-member output layer give the same floating-point results as ``nn.Linear``; see
``tests/test_verify_adapter_speed.py``), at a fraction of the per-step Python and autograd
overhead when the networks are small.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from theorylab._validation import check_int, check_positive

__all__ = ["pretrain_stacked"]


def _layers(net: nn.Module) -> list[nn.Linear]:
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"nets must hold torch.nn.Sequential MLPs, got {type(net).__name__}")
    mods = list(net)
    lin = mods[::2]
    if (len(mods) % 2 != 1 or not all(isinstance(m, nn.Linear) for m in lin)
            or not all(isinstance(m, nn.ReLU) for m in mods[1::2])):
        raise ValueError("nets must be Sequential(Linear, ReLU, Linear, …, Linear), got "
                         f"{[type(m).__name__ for m in mods]}")
    return lin


def pretrain_stacked(nets: Sequence[nn.Sequential],
                     data: Sequence[tuple[torch.Tensor, torch.Tensor]],
                     generators: Sequence[torch.Generator], *, steps: int, lr: float,
                     batch: int) -> None:
    """Train every ``nets[j]`` in place, as ``steps`` Adam steps of

    ``i = torch.randint(0, len(X_j), (batch,), generator=generators[j])``,
    ``loss = cross_entropy(nets[j](X_j[i]), y_j[i])``

    would (``data[j] = (X_j, y_j)``), all members in one stacked computation.

    Raises
    ------
    FloatingPointError
        When a member's parameters become non-finite.
    """
    steps = check_int(steps, name="steps", minimum=1)
    lr = check_positive(lr, name="lr")
    batch = check_int(batch, name="batch", minimum=1)
    if not (len(nets) == len(data) == len(generators)) or not nets:
        raise ValueError(f"nets, data and generators must have the same non-zero length, got "
                         f"{len(nets)}, {len(data)}, {len(generators)}")
    layers = [_layers(n) for n in nets]
    shapes = [[tuple(lin.weight.shape) for lin in ls] for ls in layers]
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"nets must have the same layer shapes, got {shapes}")
    depth = len(layers[0])
    ws = [torch.stack([ls[k].weight.detach() for ls in layers]).requires_grad_(True)
          for k in range(depth)]
    bs = [torch.stack([ls[k].bias.detach() for ls in layers]).requires_grad_(True)
          for k in range(depth)]
    params = [p for wb in zip(ws, bs, strict=True) for p in wb]  # nn.Sequential's order
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        idx = [torch.randint(0, len(X), (batch,), generator=g)
               for (X, _), g in zip(data, generators, strict=True)]
        h = torch.stack([X[i] for (X, _), i in zip(data, idx, strict=True)])  # (S, batch, in)
        for k in range(depth - 1):
            h = torch.relu(torch.baddbmm(bs[k][:, None, :], h, ws[k].transpose(1, 2)))
        loss = sum(nn.functional.cross_entropy(nn.functional.linear(h[j], ws[-1][j],
                                                                    bs[-1][j]), y[i])
                   for j, ((_, y), i) in enumerate(zip(data, idx, strict=True)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if not all(bool(torch.isfinite(p).all()) for p in params):
        raise FloatingPointError("pretrain_stacked: parameters became non-finite")
    with torch.no_grad():
        for j, ls in enumerate(layers):
            for k, lin in enumerate(ls):
                lin.weight.copy_(ws[k][j])
                lin.bias.copy_(bs[k][j])
