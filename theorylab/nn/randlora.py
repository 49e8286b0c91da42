"""RandLoRA: a full-rank update from fixed random bases with trained diagonal scalings.

Albert, Zhang, Rodriguez-Opazo, Saratchandran, van den Hengel, Abbasnejad 2025,
*RandLoRA: Full-rank parameter-efficient fine-tuning of large models*, ICLR 2025,
arXiv:2502.00987.

Paper symbol ↔ code (frozen ``W0 ∈ R^{out×in}``, ``D = max(out, in)``, ``d = min(out, in)``):

==========================  ===============================================================
``r`` (base rank)           ``rank``
``n = ⌈d / r⌉`` (terms)     ``n_terms``
``B_i ∈ R^{D×r}`` fixed     buffer ``basis_b``, shape (n, D, r)
``A_i ∈ R^{r×d}`` fixed     buffer ``basis_a``, shape (n, r, d), or (1, r, d) when shared
``Λ_i = diag(λ_i)``         parameter ``lam``, shape (n, r), init ``1 / max(n, r)``
``Γ_i = diag(γ_i)``         parameter ``gamma``, shape (n, d), init 0 (so ΔW = 0)
``s = (α / r) · 10``        ``scaling`` (the ×10 is the reference code's)
==========================  ===============================================================

``M = Σ_i B_i Λ_i A_i Γ_i`` is ``(D, d)``; ``ΔW = s M`` when ``out ≥ in`` and ``s Mᵀ``
otherwise, so Γ always acts on the small side. ``rank(ΔW)`` can reach ``d`` as soon as
``n r ≥ d``, while only ``n (r + d)`` numbers train — a *smaller* base rank means *more*
trainable parameters, the opposite of LoRA.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from theorylab._validation import check_choice, check_int, check_positive

__all__ = ["RandLoRAConfig", "RandLoRABasisBank", "RandLoRALinear", "randlora_num_terms"]

Basis = Literal["uniform", "normal", "ternary"]


def randlora_num_terms(in_features: int, out_features: int, rank: int) -> int:
    """``n = ⌈min(in, out) / r⌉``: the fewest terms for which ``rank(ΔW)`` can be full."""
    return math.ceil(min(in_features, out_features) / rank)


@dataclass(frozen=True)
class RandLoRAConfig:
    """Options of :class:`RandLoRALinear` (see its docstring)."""

    rank: int
    n_terms: int | None = None
    alpha: float | None = None
    shared_a: bool = True
    basis: Basis = "uniform"


class RandLoRABasisBank:
    """Fixed random bases generated once at the largest shape; layers take slices.

    Parameters
    ----------
    max_long, max_short : int
        Largest ``D = max(out, in)`` and ``d = min(out, in)`` over the adapted layers.
    rank, n_terms : int
        Base rank ``r`` and number of terms ``n``.
    shared_a : bool
        One ``A`` for all terms (reference-code default) or one per term.
    basis : {"uniform", "normal", "ternary"}
        Entry distribution before normalisation: kaiming-uniform, Gaussian, or sparse
        ternary (−1, 0, +1 with probabilities 1/6, 2/3, 1/6). Each stack is then divided by
        its empirical standard deviation, so entries have unit variance.
    generator : torch.Generator, optional
        Source of randomness; the same seed gives the same bases (they need not be saved).
    """

    def __init__(self, max_long: int, max_short: int, *, rank: int, n_terms: int,
                 shared_a: bool = True, basis: Basis = "uniform",
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32,
                 device: str | torch.device | None = None) -> None:
        self.max_long = check_int(max_long, name="max_long", minimum=1)
        self.max_short = check_int(max_short, name="max_short", minimum=1)
        self.rank = check_int(rank, name="rank", minimum=1)
        self.n_terms = check_int(n_terms, name="n_terms", minimum=1)
        self.basis = check_choice(basis, name="basis", choices=("uniform", "normal", "ternary"))
        self.shared_a = bool(shared_a)
        n_a = 1 if self.shared_a else self.n_terms
        # drawn in float64 on the generator's device, then cast: identical across dtypes
        gdev = generator.device if generator is not None else torch.device("cpu")
        self.B = self._draw((self.n_terms, self.max_long, self.rank), generator, gdev
                            ).to(device=device, dtype=dtype)  # (n, D, r)
        self.A = self._draw((n_a, self.rank, self.max_short), generator, gdev
                            ).to(device=device, dtype=dtype)  # (n_a, r, d)

    def _draw(self, shape, generator, gdev) -> torch.Tensor:
        if self.basis == "uniform":
            t = torch.rand(shape, generator=generator, device=gdev, dtype=torch.float64) * 2 - 1
        elif self.basis == "normal":
            t = torch.randn(shape, generator=generator, device=gdev, dtype=torch.float64)
        else:
            u = torch.rand(shape, generator=generator, device=gdev, dtype=torch.float64)
            t = (u < 1 / 6).double() - (u > 5 / 6).double()
        std = t.std()
        if not std > 0:  # a 1-entry ternary stack can be all zero
            raise ValueError(f"basis {self.basis!r} drew a constant stack of shape {tuple(shape)};"
                             " increase rank or max_short")
        return t / std

    def slice(self, long: int, short: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B[:, :long, :], A[:, :, :short])`` for one layer."""
        if long > self.max_long or short > self.max_short:
            raise ValueError(f"layer shape (D={long}, d={short}) must fit the bank's "
                             f"(max_long={self.max_long}, max_short={self.max_short})")
        return self.B[:, :long, :], self.A[:, :, :short]


class _RandLoRAUpdate(torch.autograd.Function):
    """``s Σ_i B_i Λ_i A_i Γ_i x`` (or its transpose) with a hand-written backward.

    Saves only ``x, λ, γ`` and recomputes the ``(N, n, r)`` intermediate in backward, so no
    ``(N, n, d)`` activation is kept; bases get no gradient.
    """

    @staticmethod
    def forward(ctx, x, lam, gamma, B, A, scaling, tall):  # x: (N, in)
        ctx.save_for_backward(x, lam, gamma)
        ctx.B, ctx.A, ctx.scaling, ctx.tall = B, A, scaling, tall
        if tall:  # out = D ≥ in = d
            v = torch.einsum("Nd,nd,nrd->Nnr", x, gamma, A)  # (N, n, r)
            return scaling * torch.einsum("Nnr,nr,nDr->ND", v, lam, B)  # (N, out)
        v = torch.einsum("ND,nDr->Nnr", x, B)  # (N, n, r)
        return scaling * torch.einsum("Nnr,nr,nrd,nd->Nd", v, lam, A, gamma)  # (N, out)

    @staticmethod
    def backward(ctx, g):  # g: (N, out)
        x, lam, gamma = ctx.saved_tensors
        B, A, s = ctx.B, ctx.A, ctx.scaling
        if ctx.tall:
            v = torch.einsum("Nd,nd,nrd->Nnr", x, gamma, A)
            gw = s * torch.einsum("ND,nDr->Nnr", g, B)  # dL/d(λ v)
            g_lam = (gw * v).sum(0)
            gu = torch.einsum("Nnr,nr,nrd->Nnd", gw, lam, A)  # dL/d(γ x), (N, n, d)
            g_gamma = torch.einsum("Nnd,Nd->nd", gu, x)
            gx = torch.einsum("Nnd,nd->Nd", gu, gamma)
        else:
            v = torch.einsum("ND,nDr->Nnr", x, B)
            # y = s Σ_i γ_i ⊙ z_i with z_i = A_iᵀ (λ_i ⊙ v_i): dL/dz_i = s g ⊙ γ_i
            z = torch.einsum("Nnr,nr,nrd->Nnd", v, lam, A)  # (N, n, d)
            g_gamma = s * torch.einsum("Nd,Nnd->nd", g, z)
            gw = s * torch.einsum("Nd,nd,nrd->Nnr", g, gamma, A)  # dL/d(λ v)
            g_lam = (gw * v).sum(0)
            gx = torch.einsum("Nnr,nr,nDr->ND", gw, lam, B)
        return gx, g_lam, g_gamma, None, None, None, None


class RandLoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus RandLoRA's full-rank update ``s Σ_i B_i Λ_i A_i Γ_i``.

    Parameters
    ----------
    base : nn.Linear
        The layer to adapt; its parameters are frozen, not copied.
    rank : int
        Base rank ``r`` of each random term (1 <= r <= min(in, out)).
    n_terms : int, optional
        Number of terms ``n``; default ``⌈min(in, out) / r⌉`` (full rank reachable).
    alpha : float, optional
        Scale numerator; ``scaling = (alpha / rank) * 10`` as in the reference code. Default
        ``rank / 10`` (scaling 1).
    shared_a : bool
        Share one random ``A`` between all terms (reference-code default).
    basis : {"uniform", "normal", "ternary"}
        Distribution of the fixed bases (unit-variance entries after normalisation).
    bank : RandLoRABasisBank, optional
        Bases shared by several layers; this layer takes a slice. Default: its own bank.
    memory_efficient : bool
        Use the custom autograd function (recomputes intermediates, keeps no ``(N, n, d)``
        activation). ``False`` runs plain autograd on the same formula.
    generator : torch.Generator, optional
        Source of the bases when ``bank`` is not given.

    Notes
    -----
    Trainable parameters: ``λ ∈ R^{n×r}`` (init ``1/max(n, r)``) and ``γ ∈ R^{n×d}`` (init 0),
    ``n (r + d)`` numbers. With ``γ = 0`` the output equals ``base(x)`` exactly at init.
    Bases are non-persistent buffers: the same generator seed regenerates them.

    References
    ----------
    arXiv:2502.00987.

    Examples
    --------
    >>> import torch
    >>> base = torch.nn.Linear(12, 7)
    >>> layer = RandLoRALinear(base, rank=2, generator=torch.Generator().manual_seed(0))
    >>> layer.n_terms, layer.num_trainable
    (4, 36)
    >>> x = torch.randn(5, 12)
    >>> bool(torch.equal(layer(x), base(x)))   # γ = 0: zero update at init
    True
    """

    def __init__(self, base: nn.Linear, *, rank: int, n_terms: int | None = None,
                 alpha: float | None = None, shared_a: bool = True, basis: Basis = "uniform",
                 bank: RandLoRABasisBank | None = None, memory_efficient: bool = True,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"base must be a torch.nn.Linear, got {type(base).__name__}")
        out_f, in_f = base.weight.shape
        self.in_features, self.out_features = in_f, out_f
        self.long, self.short = max(out_f, in_f), min(out_f, in_f)
        self.tall = out_f >= in_f
        self.rank = check_int(rank, name="rank", minimum=1, maximum=self.short)
        default_n = randlora_num_terms(in_f, out_f, self.rank)
        self.n_terms = (default_n if n_terms is None
                        else check_int(n_terms, name="n_terms", minimum=1))
        self.alpha = self.rank / 10 if alpha is None else check_positive(alpha, name="alpha")
        self.basis = check_choice(basis, name="basis", choices=("uniform", "normal", "ternary"))
        self.memory_efficient = bool(memory_efficient)
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        w = base.weight
        if bank is None:
            bank = RandLoRABasisBank(self.long, self.short, rank=self.rank, n_terms=self.n_terms,
                                     shared_a=shared_a, basis=basis, generator=generator,
                                     dtype=w.dtype, device=w.device)
        else:
            if not isinstance(bank, RandLoRABasisBank):
                raise TypeError(f"bank must be a RandLoRABasisBank, got {type(bank).__name__}")
            if bank.rank != self.rank or bank.n_terms < self.n_terms:
                raise ValueError(f"bank must have rank={self.rank} and n_terms >= "
                                 f"{self.n_terms}, got rank={bank.rank}, n_terms={bank.n_terms}")
        self.shared_a = bank.shared_a
        Bb, Ab = bank.slice(self.long, self.short)
        Bb = Bb[: self.n_terms]
        Ab = Ab[:1] if bank.shared_a else Ab[: self.n_terms]
        self.register_buffer("basis_b", Bb.to(device=w.device, dtype=w.dtype).clone(),
                             persistent=False)  # (n, D, r)
        self.register_buffer("basis_a", Ab.to(device=w.device, dtype=w.dtype).clone(),
                             persistent=False)  # (1 or n, r, d)
        self.lam = nn.Parameter(torch.full((self.n_terms, self.rank),
                                           1.0 / max(self.n_terms, self.rank),
                                           dtype=w.dtype, device=w.device))  # (n, r)
        self.gamma = nn.Parameter(torch.zeros(self.n_terms, self.short, dtype=w.dtype,
                                              device=w.device))  # (n, d)

    @property
    def scaling(self) -> float:
        return self.alpha / self.rank * 10.0

    @property
    def num_trainable(self) -> int:
        """``n (r + d)``."""
        return self.n_terms * (self.rank + self.short)

    def _a(self) -> torch.Tensor:  # (n, r, d), a view when shared
        return self.basis_a.expand(self.n_terms, -1, -1)

    def delta_weight(self) -> torch.Tensor:
        """``ΔW = s Σ_i B_i Λ_i A_i Γ_i`` (transposed when in > out), shape (out, in)."""
        n, r = self.n_terms, self.rank
        bl = (self.basis_b * self.lam[:, None, :]).permute(1, 0, 2).reshape(self.long, n * r)
        ag = (self._a() * self.gamma[:, None, :]).reshape(n * r, self.short)
        m = bl @ ag  # (D, d)
        return self.scaling * (m if self.tall else m.T)

    def merged_weight(self) -> torch.Tensor:
        """``W0 + ΔW`` as a new tensor; the module is not modified."""
        return self.base.weight + self.delta_weight()

    def update(self, x: torch.Tensor) -> torch.Tensor:
        """``ΔW x`` without forming ΔW: (..., in) -> (..., out)."""
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)  # (N, in)
        A = self._a()
        if self.memory_efficient:
            y = _RandLoRAUpdate.apply(x2, self.lam, self.gamma, self.basis_b, A, self.scaling,
                                      self.tall)
        elif self.tall:
            v = torch.einsum("Nd,nd,nrd->Nnr", x2, self.gamma, A)
            y = self.scaling * torch.einsum("Nnr,nr,nDr->ND", v, self.lam, self.basis_b)
        else:
            v = torch.einsum("ND,nDr->Nnr", x2, self.basis_b)
            y = self.scaling * torch.einsum("Nnr,nr,nrd,nd->Nd", v, self.lam, A, self.gamma)
        return y.reshape(*lead, self.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., in) -> (..., out)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x must have last dimension {self.in_features}, got {x.shape[-1]}")
        return self.base(x) + self.update(x)

    def extra_repr(self) -> str:
        return (f"in={self.in_features}, out={self.out_features}, rank={self.rank}, "
                f"n_terms={self.n_terms}, scaling={self.scaling:g}, basis={self.basis}")
