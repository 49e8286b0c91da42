"""Faster, numerically identical implementations of harness pieces used by three claims.

Not imported by :mod:`theorylab.unlearning` (import it directly). Each fast path has a slow
twin — the original harness function — that the tests compare it with:

- :func:`max_pool2x2` / :class:`FastTinyCNN`: the 2×2, stride-2 max-pooling of
  :class:`~theorylab.unlearning.models.TinyCNN` without ``max_pool2d_with_indices`` (on one
  CPU thread that kernel took about a third of a training step). The forward pass takes the
  four strided quarter-views of the input and keeps, per window, the *first* maximum in
  row-major order — the element and the flat index ``max_pool2d`` records — so the output and
  the gradient (sent to that one element by ``max_pool2d_with_indices_backward``) are
  bit-for-bit those of ``F.max_pool2d(x, 2)``, ties included (a background window of equal
  conv outputs sends its gradient to its first element in both). NaN inputs are not handled
  (a NaN training run is broken anyway).
- :func:`build_gan`: the same (G, D) as :func:`theorylab.unlearning.gan.build_gan`, as
  subclasses whose forward passes call ``F.linear`` directly (the same ops in the same order,
  without ``nn.Sequential``/``nn.Linear`` dispatch on every one of the four calls per step);
- :func:`train_gan`, :func:`adapt_negative`, :func:`adapt_then_unlearn`: the GAN recipes of
  :mod:`theorylab.unlearning.gan`, step for step, with Adam's ``foreach`` implementation
  (one multi-tensor kernel per update instead of a Python loop over the parameters; the
  same float operations in the same order, so the same bits) and no per-call re-validation.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from theorylab._validation import check_int
from theorylab.unlearning import gan as _gan
from theorylab.unlearning.models import Recipe, TinyCNN, build_model

__all__ = ["max_pool2x2", "FastTinyCNN", "build_fast_model", "FastMLPGenerator",
           "FastMLPDiscriminator", "build_gan", "train_gan", "adapt_negative",
           "adapt_then_unlearn"]


# ---------------------------------------------------------------------------------------------
# 2×2 max-pooling


_OFFSET_CACHE: dict[tuple, torch.Tensor] = {}


def _window_base(h: int, w: int, device) -> torch.Tensor:
    """Flat index ``2·oh·W + 2·ow`` of each window's top-left element, ``(H/2, W/2)`` int64."""
    key = (h, w, str(device))
    base = _OFFSET_CACHE.get(key)
    if base is None:
        oh = torch.arange(0, h - 1, 2, device=device)[:, None]
        ow = torch.arange(0, w - 1, 2, device=device)[None, :]
        base = _OFFSET_CACHE[key] = oh * w + ow
    return base


class _MaxPool2x2(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H/2, W/2)
        h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
        a, b = x[..., 0:h:2, 0:w:2], x[..., 0:h:2, 1:w:2]
        c, d = x[..., 1:h:2, 0:w:2], x[..., 1:h:2, 1:w:2]
        # max_pool2d scans a window row-major and replaces the maximum only on ">": the
        # first maximum wins, so each comparison below keeps its left operand on a tie
        ab, cd = b > a, d > c
        m1, m2 = torch.where(ab, b, a), torch.where(cd, d, c)
        lower = m2 > m1
        out = torch.where(lower, m2, m1)
        W = x.shape[-1]
        off = torch.where(lower, torch.where(cd, W + 1, W), torch.where(ab, 1, 0))
        idx = off + _window_base(x.shape[-2], W, x.device)
        ctx.save_for_backward(idx)
        ctx.in_shape = x.shape
        ctx.mark_non_differentiable(idx)
        return out

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:
        (idx,) = ctx.saved_tensors
        grad = g.new_zeros(ctx.in_shape)
        flat = grad.view(*ctx.in_shape[:-2], -1)
        flat.scatter_(-1, idx.reshape(*idx.shape[:-2], -1), g.reshape(*g.shape[:-2], -1))
        return grad


def max_pool2x2(x: torch.Tensor) -> torch.Tensor:
    """``F.max_pool2d(x, 2)`` for a 4-D ``(B, C, H, W)`` tensor, same values and gradient."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a 4-D tensor (B, C, H, W), got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    return _MaxPool2x2.apply(x)


class FastTinyCNN(TinyCNN):
    """:class:`TinyCNN` with :func:`max_pool2x2` in place of ``nn.MaxPool2d(2)``: the same
    parameters and the same outputs and gradients, bit for bit."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C*H*W) -> (B, n_out)
        f = self.features  # conv, ReLU, pool, conv, ReLU, pool
        x = x.reshape(x.shape[0], *self.image_shape)  # (B, C, H, W)
        x = max_pool2x2(torch.relu(f[0](x)))
        x = max_pool2x2(torch.relu(f[3](x)))
        return self.head(x)


def build_fast_model(recipe: Recipe, in_dim: int, n_out: int, *, generator: torch.Generator,
                     image_shape: tuple[int, int, int] | None = None,
                     device: str | torch.device | None = None) -> nn.Module:
    """:func:`~theorylab.unlearning.models.build_model` (the same initial weights from
    ``generator``), with a CNN returned as a :class:`FastTinyCNN`."""
    model = build_model(recipe, in_dim, n_out, generator=generator, image_shape=image_shape,
                        device=device)
    if type(model) is TinyCNN:
        model.__class__ = FastTinyCNN  # same state, only the forward differs
    return model


# ---------------------------------------------------------------------------------------------
# GAN modules without nn.Module dispatch, GAN recipes with foreach Adam


class FastMLPGenerator(_gan.MLPGenerator):
    """:class:`~theorylab.unlearning.gan.MLPGenerator` whose forward calls ``F.linear`` and
    ``torch.relu`` on its own weights (the same ops in the same order, without the
    per-submodule call overhead)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, z_dim) -> (B, out_dim)
        n = self.net
        h = torch.relu(F.linear(z, n[0].weight, n[0].bias))
        h = torch.relu(F.linear(h, n[2].weight, n[2].bias))
        return 0.5 * (torch.tanh(F.linear(h, n[4].weight, n[4].bias)) + 1.0)


class FastMLPDiscriminator(_gan.MLPDiscriminator):
    """:class:`~theorylab.unlearning.gan.MLPDiscriminator` with the forward written out on
    ``F.linear`` (same ops, same order)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, in_dim) -> (B,)
        h = F.leaky_relu(F.linear(self._with_std(x), self.body.weight, self.body.bias), 0.2)
        return F.linear(self._with_std(h), self.head.weight, self.head.bias)[:, 0]


def build_gan(out_dim: int, config: _gan.GANConfig | None = None, *,
              generator: torch.Generator, device: str | torch.device | None = None
              ) -> tuple[FastMLPGenerator, FastMLPDiscriminator]:
    """:func:`theorylab.unlearning.gan.build_gan` (the same initial weights from
    ``generator``) as :class:`FastMLPGenerator` and :class:`FastMLPDiscriminator`."""
    G, D = _gan.build_gan(out_dim, config, generator=generator, device=device)
    G.__class__, D.__class__ = FastMLPGenerator, FastMLPDiscriminator  # same state
    return G, D



def _adam(params, lr: float, beta1: float) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=lr, betas=(beta1, 0.999), foreach=True)


def train_gan(G: _gan.MLPGenerator, D: _gan.MLPDiscriminator, X: torch.Tensor, *, steps: int,
              lr: float, beta1: float, batch_size: int, generator: torch.Generator,
              penalty: Callable[[nn.Module], torch.Tensor] | None = None,
              callback: Callable[[int, nn.Module], None] | None = None
              ) -> tuple[_gan.MLPGenerator, _gan.MLPDiscriminator]:
    """:func:`theorylab.unlearning.gan.train_gan` with ``foreach`` Adam: the same draws from
    ``generator``, the same losses, the same parameters after every step."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    steps = check_int(steps, name="steps", minimum=0)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty 2-D tensor, got shape {tuple(X.shape)}")
    dev = next(G.parameters()).device
    X = X.to(dev)
    opt_g, opt_d = _adam(G.parameters(), lr, beta1), _adam(D.parameters(), lr, beta1)
    G.train()
    D.train()
    n, z_dim = X.shape[0], G.z_dim
    for step in range(steps):
        real = X[torch.randint(n, (batch_size,), generator=generator).to(dev)]
        fake = G(torch.randn(batch_size, z_dim, generator=generator).to(dev))
        opt_d.zero_grad(set_to_none=True)
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        loss_g = F.softplus(-D(fake)).mean()
        if penalty is not None:
            loss_g = loss_g + penalty(G)
        if not (torch.isfinite(loss_g) and torch.isfinite(loss_d)):
            lg, ld = float(loss_g.detach()), float(loss_d.detach())
            raise FloatingPointError(f"GAN loss is not finite at step {step}: generator "
                                     f"{lg!r}, discriminator {ld!r}")
        loss_g.backward()
        opt_g.step()
        if callback is not None:
            callback(step + 1, G)
    G.eval()
    D.eval()
    return G, D


def adapt_negative(G: _gan.MLPGenerator, D: _gan.MLPDiscriminator, negatives: torch.Tensor, *,
                   config: _gan.AdaptConfig | None = None, generator: torch.Generator
                   ) -> tuple[_gan.MLPGenerator, _gan.MLPDiscriminator]:
    """:func:`theorylab.unlearning.gan.adapt_negative` on :func:`train_gan`."""
    config = _gan.AdaptConfig() if config is None else config
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    fisher = _gan.generator_fisher(G, D, n=config.n_fisher, generator=generator)
    theta0 = {k: v.detach().clone() for k, v in G.named_parameters()}
    Gn, Dn = copy.deepcopy(G), copy.deepcopy(D)
    lam = config.lam_ewc
    return train_gan(Gn, Dn, negatives, steps=config.steps, lr=config.lr, beta1=config.beta1,
                     batch_size=config.batch_size, generator=generator,
                     penalty=lambda g: _gan.ewc_penalty(g, theta0, fisher, lam))


def adapt_then_unlearn(G: _gan.MLPGenerator, D: _gan.MLPDiscriminator, positives: torch.Tensor,
                       adapted: Sequence[nn.Module], *, config: _gan.UnlearnConfig | None = None,
                       generator: torch.Generator,
                       callback: Callable[[int, nn.Module], None] | None = None
                       ) -> _gan.MLPGenerator:
    """:func:`theorylab.unlearning.gan.adapt_then_unlearn` on :func:`train_gan`."""
    config = _gan.UnlearnConfig() if config is None else config
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    adapted = list(adapted)
    if config.repulsion != "none":
        _gan.param_distance(G, adapted)  # validates the adapted models before training
    Gu, Du = copy.deepcopy(G), copy.deepcopy(D)
    pen = None
    if config.repulsion != "none":
        gamma, kind = config.gamma, config.repulsion
        pen = lambda g: _gan.repulsion_loss(_gan.param_distance(g, adapted), gamma,  # noqa: E731
                                            kind)
    train_gan(Gu, Du, positives, steps=config.steps, lr=config.lr, beta1=config.beta1,
              batch_size=config.batch_size, generator=generator, penalty=pen,
              callback=callback)
    return Gu
