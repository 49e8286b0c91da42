"""Gradient-descent baselines at equal data (torch, imported on call).

* ``train_ste_network``: a binary network with the same layered wiring — sign activations
  and sign weights in the forward pass, straight-through (clipped identity) gradients to
  latent real weights, Adam on a hinge loss on the ±1 outputs.
* ``train_penalized_mlp``: the strongest gradient baseline we know of ("PenaltyAdamW"): a
  ReLU MLP trained with BCE-with-logits and AdamW, plus 0.01·(‖w_row‖² − fan_in)² +
  1e-4·‖w‖₁ on the weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from theorylab._validation import check_int, check_matrix, check_positive

__all__ = ["train_ste_network", "train_penalized_mlp"]


def _prep(widths, X, Y, device):
    import torch

    from theorylab.nn._checks import check_device

    widths = [check_int(w, name="widths", minimum=1) for w in widths]
    if len(widths) < 2:
        raise ValueError(f"widths must list at least an input and an output layer, got {widths}")
    X = check_matrix(X, name="X")
    Y = check_matrix(Y, name="Y", shape=(X.shape[0], None))
    dev = check_device(device) or torch.device("cpu")
    X = torch.as_tensor(X.astype(np.float32), device=dev)
    Y = torch.as_tensor(Y.astype(np.float32), device=dev)
    if X.shape[1] != widths[0] or Y.shape[1] != widths[-1]:
        raise ValueError(f"widths must match the data: inputs {X.shape[1]}, outputs "
                         f"{Y.shape[1]}, got widths {widths}")
    return widths, X, Y, dev


def _generator(generator):
    import torch

    if generator is None:
        g = torch.Generator()
        g.seed()
        return g
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got "
                        f"{type(generator).__name__}")
    return generator


def train_ste_network(widths: Sequence[int], X, Y, *, steps: int = 2000, lr: float = 1e-2,
                      generator=None, device=None):
    """Train a ±1 network by the straight-through estimator; returns ``predict(X) -> ±1``.

    ``generator`` (a CPU ``torch.Generator``; None: fresh entropy) draws the initial weights,
    which then move to ``device`` ("cpu", "cuda[:k]"; None: CPU), so a seed gives the same
    start on every device."""
    import torch

    widths, Xt, Yt, dev = _prep(widths, X, Y, device)
    steps = check_int(steps, name="steps", minimum=1)
    lr = check_positive(lr, name="lr")
    g = _generator(generator)
    Ws = [torch.nn.Parameter((torch.randn(b, a + 1, generator=g) * 0.5).to(dev))
          for a, b in zip(widths[:-1], widths[1:], strict=True)]

    def ste_sign(v):  # forward sign, backward clipped identity
        return v + (torch.where(v >= 0, 1.0, -1.0) - v).detach()

    def forward(Xb, hard):
        h = Xb
        for k, W in enumerate(Ws):
            hb = torch.cat([h, -torch.ones(h.shape[0], 1, device=dev)], dim=1)  # bias input −1
            Wb = ste_sign(W)
            s = hb @ Wb.T / np.sqrt(W.shape[1])
            if k < len(Ws) - 1:
                h = ste_sign(torch.clamp(s, -1.0, 1.0))
            else:
                h = s
        return torch.where(h >= 0, 1.0, -1.0) if hard else h

    opt = torch.optim.Adam(Ws, lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.relu(1.0 - Yt * forward(Xt, False)).mean()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for W in Ws:
                W.clamp_(-1.0, 1.0)

    def predict(Xn):
        with torch.no_grad():
            Xb = torch.as_tensor(np.asarray(Xn, dtype=np.float32), device=dev)
            return forward(Xb, True).cpu().numpy()

    return predict


def train_penalized_mlp(widths: Sequence[int], X, Y, *, steps: int = 3000, lr: float = 1e-2,
                        generator=None, penalty: bool = True, device=None):
    """ReLU MLP with BCE-with-logits and AdamW (+ the norm/L1 penalty); returns ``predict``.

    ``generator`` (a CPU ``torch.Generator``; None: fresh entropy) draws the initial weights,
    which then move to ``device`` ("cpu", "cuda[:k]"; None: CPU), so a seed gives the same
    start on every device."""
    import torch

    widths, Xt, Yt, dev = _prep(widths, X, Y, device)
    steps = check_int(steps, name="steps", minimum=1)
    g = _generator(generator)
    layers = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        lin = torch.nn.Linear(a, b)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(b, a, generator=g) / np.sqrt(a))
            lin.bias.zero_()
        layers += [lin, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    target01 = (Yt > 0).float()
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(Xt), target01)
        if penalty:
            for m in model:
                if isinstance(m, torch.nn.Linear):
                    fan_in = m.weight.shape[1]
                    loss = loss + 0.01 * ((m.weight.pow(2).sum(1) - fan_in) ** 2).mean() \
                        + 1e-4 * m.weight.abs().sum()
        loss.backward()
        opt.step()

    def predict(Xn):
        with torch.no_grad():
            Xb = torch.as_tensor(np.asarray(Xn, dtype=np.float32), device=dev)
            out = model(Xb).cpu().numpy()
        return np.where(out >= 0, 1.0, -1.0)

    return predict
