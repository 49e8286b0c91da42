"""Faster, bit-identical implementations of the GAN recipes of
:mod:`theorylab.unlearning.gan` (used by the Adapt-then-Unlearn claim).

Not imported by :mod:`theorylab.unlearning` (import it directly). Each fast path has a slow
twin — the original harness function — that the tests compare it with, bit for bit:

- :func:`build_gan`: the same (G, D) as :func:`theorylab.unlearning.gan.build_gan`, as
  subclasses whose forward passes call ``F.linear`` directly (the same ops in the same order,
  without ``nn.Sequential``/``nn.Linear`` dispatch on every one of the four calls per step);
- :func:`train_gan`, :func:`adapt_negative`, :func:`adapt_then_unlearn`: the GAN recipes of
  :mod:`theorylab.unlearning.gan`, step for step, with :class:`FlatAdam` (Adam's
  single-tensor update run once over one flat buffer of all parameters instead of once per
  parameter tensor; the same float operations on every element, so the same bits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from theorylab.unlearning import gan as _gan

__all__ = ["FlatAdam", "FastMLPGenerator", "FastMLPDiscriminator", "build_gan", "train_gan",
           "adapt_negative", "adapt_then_unlearn"]


# ---------------------------------------------------------------------------------------------
# GAN modules without nn.Module dispatch, GAN recipes with a flat-buffer Adam


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



class FlatAdam:
    """Adam (``torch.optim.Adam``'s single-tensor update, no weight decay, no amsgrad) on one
    flat buffer: the parameters become views of one contiguous tensor, their gradients are
    gathered into one, and each of Adam's six elementwise operations runs once over all of
    them instead of once per parameter tensor. The operations, their operands and the Python
    float scalars are those of ``torch.optim.Adam`` (``lerp_``, ``mul_``/``addcmul_``,
    ``sqrt``, division by √(bias correction 2), ``add_(eps)``, ``addcdiv_``), so each element
    is updated with the same float arithmetic (the tests check the bits).

    Every parameter must receive a gradient before each :meth:`step`.
    """

    def __init__(self, params, *, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params = [p for p in params]
        if not self.params:
            raise ValueError("params must hold at least one tensor, got none")
        self.lr, (self.beta1, self.beta2), self.eps = float(lr), betas, float(eps)
        with torch.no_grad():
            self.flat = torch.cat([p.detach().reshape(-1) for p in self.params])
            o = 0
            for p in self.params:
                n = p.numel()
                p.data = self.flat[o:o + n].view_as(p)
                o += n
        self.exp_avg = torch.zeros_like(self.flat)
        self.exp_avg_sq = torch.zeros_like(self.flat)
        self.grad = torch.empty_like(self.flat)
        self.n_steps = 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        if any(p.grad is None for p in self.params):
            raise RuntimeError("FlatAdam.step needs a gradient for every parameter, got None")
        torch.cat([p.grad.reshape(-1) for p in self.params], out=self.grad)
        self.n_steps += 1
        step = float(self.n_steps)
        beta1, beta2 = self.beta1, self.beta2
        self.exp_avg.lerp_(self.grad, 1 - beta1)
        self.exp_avg_sq.mul_(beta2).addcmul_(self.grad, self.grad, value=1 - beta2)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = self.lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        denom = (self.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(self.eps)
        self.flat.addcdiv_(self.exp_avg, denom, value=-step_size)


def _adam(params, lr: float, beta1: float) -> FlatAdam:
    return FlatAdam(params, lr=lr, betas=(beta1, 0.999))


def train_gan(G: _gan.MLPGenerator, D: _gan.MLPDiscriminator, X: torch.Tensor, *, steps: int,
              lr: float, beta1: float, batch_size: int, generator: torch.Generator,
              penalty: Callable[[nn.Module], torch.Tensor] | None = None,
              callback: Callable[[int, nn.Module], None] | None = None
              ) -> tuple[_gan.MLPGenerator, _gan.MLPDiscriminator]:
    """:func:`theorylab.unlearning.gan.train_gan` with :class:`FlatAdam`: the same draws from
    ``generator``, the same losses, the same parameters after every step."""
    return _gan._train_gan(G, D, X, steps=steps, lr=lr, beta1=beta1, batch_size=batch_size,
                           generator=generator, penalty=penalty, callback=callback,
                           make_optimizer=_adam)


def adapt_negative(G: _gan.MLPGenerator, D: _gan.MLPDiscriminator, negatives: torch.Tensor, *,
                   config: _gan.AdaptConfig | None = None, generator: torch.Generator
                   ) -> tuple[_gan.MLPGenerator, _gan.MLPDiscriminator]:
    """:func:`theorylab.unlearning.gan.adapt_negative` on :func:`train_gan`."""
    return _gan._adapt_negative(G, D, negatives, config=config, generator=generator,
                                train=train_gan)


def adapt_then_unlearn(G: _gan.MLPGenerator, D: _gan.MLPDiscriminator, positives: torch.Tensor,
                       adapted: Sequence[nn.Module], *, config: _gan.UnlearnConfig | None = None,
                       generator: torch.Generator,
                       callback: Callable[[int, nn.Module], None] | None = None
                       ) -> _gan.MLPGenerator:
    """:func:`theorylab.unlearning.gan.adapt_then_unlearn` on :func:`train_gan`."""
    return _gan._adapt_then_unlearn(G, D, positives, adapted, config=config,
                                    generator=generator, callback=callback, train=train_gan)
