"""The gradient baselines of ``baselines.py`` for several independent runs at once.

Each run (member) has its own training set (the same number of items for all members) and
its own generator for the initial weights; the members' weights are stacked along a leading
axis and every product is a batched one (``torch.bmm``), so a training step of S members costs
about the torch operations of one. The members stay mathematically independent: the loss is
the sum of the members' own losses, so each member's gradient is that of its own loss, and
Adam/AdamW update every weight element by element. Up to rounding, member s equals
``train_ste_network`` / ``train_penalized_mlp`` run alone with the same data and generator
(the tests check it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from theorylab._validation import check_int, check_positive

from .baselines import _generator, _prep

__all__ = ["train_ste_networks", "train_penalized_mlps"]


def _prep_many(widths, Xs, Ys, generators, device):
    """Validate each member's data (as the single-run trainers do) and stack them."""
    import torch

    if not isinstance(Xs, Sequence) or isinstance(Xs, str) or not len(Xs):
        raise TypeError(f"Xs must be a non-empty list of arrays, got {type(Xs).__name__}")
    if not isinstance(Ys, Sequence) or isinstance(Ys, str) or len(Ys) != len(Xs):
        raise ValueError(f"Ys must be a list of {len(Xs)} arrays (one per X), got "
                         f"{len(Ys) if isinstance(Ys, Sequence) else type(Ys).__name__}")
    if not isinstance(generators, Sequence) or len(generators) != len(Xs):
        raise ValueError(f"generators must be a list of {len(Xs)} torch.Generator (one per "
                         f"member), got {generators!r}")
    parts = [_prep(widths, X, Y, device) for X, Y in zip(Xs, Ys, strict=True)]
    shapes = {tuple(p[1].shape) for p in parts}
    if len(shapes) != 1:
        raise ValueError(f"Xs must all have the same shape, got {sorted(shapes)}")
    widths, dev = parts[0][0], parts[0][3]
    X = torch.stack([p[1] for p in parts])  # (S, n, d)
    Y = torch.stack([p[2] for p in parts])  # (S, n, out)
    return widths, X, Y, dev, [_generator(g) for g in generators]


def _predictor(forward, dev):
    import torch

    def predict(Xs):
        """Predictions of every member on its own inputs: (S, m, d) -> (S, m, out) of ±1."""
        with torch.no_grad():
            Xb = torch.as_tensor(np.asarray(Xs, dtype=np.float32), device=dev)
            if Xb.ndim != 3:
                raise ValueError(f"Xs must have shape (S, m, d), got {tuple(Xb.shape)}")
            out = forward(Xb).cpu().numpy()
        return np.where(out >= 0, 1.0, -1.0)

    return predict


def train_ste_networks(widths: Sequence[int], Xs, Ys, *, generators, steps: int = 2000,
                       lr: float = 1e-2, device=None):
    """:func:`~theorylab.boolean.baselines.train_ste_network` for S independent members.

    ``Xs``, ``Ys``: lists of S training sets of equal size; ``generators``: S CPU
    ``torch.Generator`` (the member's initial weights). Returns ``predict(Xs) -> ±1`` on an
    (S, m, d) array (member s predicts ``Xs[s]``).
    """
    import torch

    widths, Xt, Yt, dev, gens = _prep_many(widths, Xs, Ys, generators, device)
    steps = check_int(steps, name="steps", minimum=1)
    lr = check_positive(lr, name="lr")
    pairs = list(zip(widths[:-1], widths[1:], strict=True))
    per = [[torch.randn(b, a + 1, generator=g) * 0.5 for a, b in pairs] for g in gens]
    Ws = [torch.nn.Parameter(torch.stack([p[k] for p in per]).to(dev))  # (S, b, a + 1)
          for k in range(len(pairs))]
    scale = [np.sqrt(a + 1) for a, _ in pairs]

    def ste_sign(v):  # forward sign, backward clipped identity
        return v + (torch.where(v >= 0, 1.0, -1.0) - v).detach()

    def forward(Xb, hard=False):
        h = Xb
        minus1 = -torch.ones(Xb.shape[0], Xb.shape[1], 1, device=dev)  # bias input −1
        for k, W in enumerate(Ws):
            hb = torch.cat([h, minus1], dim=2)
            s = torch.bmm(hb, ste_sign(W).transpose(1, 2)) / scale[k]
            h = ste_sign(torch.clamp(s, -1.0, 1.0)) if k < len(Ws) - 1 else s
        return torch.where(h >= 0, 1.0, -1.0) if hard else h

    opt = torch.optim.Adam(Ws, lr=lr, foreach=True)
    for _ in range(steps):
        opt.zero_grad()
        # sum over members of each member's mean hinge loss
        loss = torch.relu(1.0 - Yt * forward(Xt)).mean(dim=(1, 2)).sum()
        loss.backward()
        opt.step()
        with torch.no_grad():
            torch._foreach_clamp_min_(Ws, -1.0)
            torch._foreach_clamp_max_(Ws, 1.0)
    return _predictor(forward, dev)


def train_penalized_mlps(widths: Sequence[int], Xs, Ys, *, generators, steps: int = 3000,
                         lr: float = 1e-2, penalty: bool = True, device=None):
    """:func:`~theorylab.boolean.baselines.train_penalized_mlp` for S independent members
    (arguments as in :func:`train_ste_networks`)."""
    import torch

    widths, Xt, Yt, dev, gens = _prep_many(widths, Xs, Ys, generators, device)
    steps = check_int(steps, name="steps", minimum=1)
    pairs = list(zip(widths[:-1], widths[1:], strict=True))
    per = [[torch.randn(b, a, generator=g) / np.sqrt(a) for a, b in pairs] for g in gens]
    S = len(gens)
    params = []
    for k, (_, b) in enumerate(pairs):
        params.append(torch.nn.Parameter(torch.stack([p[k] for p in per]).to(dev)))  # (S,b,a)
        params.append(torch.nn.Parameter(torch.zeros(S, 1, b, device=dev)))  # bias
    Ws = params[0::2]

    def forward(Xb):
        h = Xb
        for k in range(len(pairs)):
            h = torch.baddbmm(params[2 * k + 1], h, params[2 * k].transpose(1, 2))
            if k < len(pairs) - 1:
                h = torch.relu(h)
        return h

    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4, foreach=True)
    target01 = (Yt > 0).float()
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    for _ in range(steps):
        opt.zero_grad()
        loss = bce(forward(Xt), target01, reduction="none").mean(dim=(1, 2)).sum()
        if penalty:
            for W in Ws:
                fan_in = W.shape[2]
                loss = loss + 0.01 * ((W.pow(2).sum(2) - fan_in) ** 2).mean(dim=1).sum() \
                    + 1e-4 * W.abs().sum()
        loss.backward()
        opt.step()
    return _predictor(forward, dev)
