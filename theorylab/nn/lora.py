"""LoRA: the low-rank adapter baseline every adapter paper compares against.

Hu et al. 2021, *LoRA: Low-Rank Adaptation of Large Language Models*, arXiv:2106.09685.

``W x + (alpha / r) B A x`` with the base ``W`` frozen, ``A ∈ R^{r×in}`` random,
``B ∈ R^{out×r}`` zero, so the update is zero at initialisation.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from theorylab._validation import check_int, check_positive
from theorylab.nn._checks import check_input

__all__ = ["LoRALinear"]


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable rank-``r`` update ``(alpha/r) B A``.

    Parameters
    ----------
    base : nn.Linear
        The layer to adapt; its parameters are frozen (``requires_grad=False``), not copied.
    rank : int
        Rank ``r`` of the update (1 <= r <= min(in, out)).
    alpha : float, optional
        Scale numerator; default ``rank`` (scale 1).
    generator : torch.Generator, optional
        Source of the random init of ``A`` (kaiming-uniform, as in the reference code).

    Examples
    --------
    >>> import torch
    >>> base = torch.nn.Linear(8, 4)
    >>> layer = LoRALinear(base, rank=2, generator=torch.Generator().manual_seed(0))
    >>> x = torch.randn(3, 8)
    >>> bool(torch.equal(layer(x), base(x)))   # zero update at init
    True
    """

    def __init__(self, base: nn.Linear, rank: int, *, alpha: float | None = None,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"base must be a torch.nn.Linear, got {type(base).__name__}")
        out_f, in_f = base.weight.shape
        rank = check_int(rank, name="rank", minimum=1, maximum=min(in_f, out_f))
        self.alpha = float(rank) if alpha is None else check_positive(alpha, name="alpha")
        self.rank = rank
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        w = base.weight
        self.A = nn.Parameter(torch.empty(rank, in_f, dtype=w.dtype, device=w.device))
        self.B = nn.Parameter(torch.zeros(out_f, rank, dtype=w.dtype, device=w.device))
        bound = 1.0 / math.sqrt(in_f)  # kaiming_uniform(a=sqrt(5)) bound for fan_in = in_f
        with torch.no_grad():
            # draw on the generator's device, then move: a CPU generator may seed a CUDA layer
            gdev = generator.device if generator is not None else w.device
            a = torch.empty(rank, in_f, dtype=w.dtype, device=gdev)
            self.A.copy_(a.uniform_(-bound, bound, generator=generator).to(w.device))

    @property
    def scaling(self) -> float:
        return self.alpha / self.rank

    def delta_weight(self) -> torch.Tensor:
        """The update ``(alpha/r) B A``, shape (out, in)."""
        return self.scaling * (self.B @ self.A)

    def merged_weight(self) -> torch.Tensor:
        """``W + delta`` as a new tensor; the module is not modified."""
        return self.base.weight + self.delta_weight()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., in) -> (..., out)
        check_input(x, self.A.shape[1])
        return self.base(x) + self.scaling * ((x @ self.A.T) @ self.B.T)
