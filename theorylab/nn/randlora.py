"""RandLoRA: a full-rank update from fixed random bases with trained diagonal scalings.

Albert, Zhang, Rodriguez-Opazo, Saratchandran, van den Hengel, Abbasnejad 2025,
*RandLoRA: Full-rank parameter-efficient fine-tuning of large models*, ICLR 2025,
arXiv:2502.00987.

Paper symbol ↔ code (frozen ``W0 ∈ R^{out×in}``, ``D = max(out, in)``, ``d = min(out, in)``):

==========================  ===============================================================
``r`` (base rank)           ``rank``
``n = ⌈d / r⌉`` (terms)     ``n_terms``
``B_i ∈ R^{D×r}`` fixed     buffer ``basis_b_flat`` (D, n r); view ``basis_b`` (n, D, r)
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
from theorylab.nn._checks import check_device

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
        device = check_device(device)
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
        # empirical std as in the reference code; a 1-entry stack uses the law's std
        law_std = {"uniform": 3 ** -0.5, "normal": 1.0, "ternary": 3 ** -0.5}[self.basis]
        std = t.std() if t.numel() > 1 else torch.tensor(law_std, dtype=t.dtype)
        if not std > 0:  # a tiny ternary stack can be all zero
            raise ValueError(f"basis {self.basis!r} drew a constant stack of shape {tuple(shape)};"
                             " increase rank or max_short")
        return t / std

    def slice(self, long: int, short: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B[:, :long, :], A[:, :, :short])`` for one layer."""
        if long > self.max_long or short > self.max_short:
            raise ValueError(f"layer shape (D={long}, d={short}) must fit the bank's "
                             f"(max_long={self.max_long}, max_short={self.max_short})")
        return self.B[:, :long, :], self.A[:, :, :short]


def _scaled_a(A: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """The stacked ``A_i Γ_i`` as one ``(n r, d)`` matrix: ``GA[(i,k), :] = A_i[k, :] ⊙ γ_i``.

    With ``B_flat = [B_1 … B_n]`` (D × n r), ``Σ_i B_i Λ_i A_i Γ_i = B_flat diag(λ) GA``: the
    update is a rank-``n r`` product, computed by two GEMMs like LoRA.
    """
    n, r, d = A.shape
    return (A * gamma[:, None, :]).reshape(n * r, d)


class _RandLoRAUpdate(torch.autograd.Function):
    """``x ΔWᵀ`` with a hand-written backward that returns gradients for ``λ, γ, x`` only.

    Saves ``x``, ``λ``, ``γ`` and the ``(N, n r)`` projection ``v``; bases are buffers and
    get no gradient, and no ``(N, n, d)`` tensor is ever formed. ``apply`` returns
    ``(y, v)``; ``v`` is a non-differentiable by-product (returned so that it can be saved
    from ``setup_context``, which is what lets ``torch.func`` transforms — ``grad``,
    ``jacrev``, ``vmap`` — run through this function).

    The backward is written in differentiable torch ops on the saved tensors, so double
    backward (``create_graph=True``: Hessian-vector products, gradient penalties) is exact.
    ``v`` is saved without a graph; under ``create_graph`` it is recomputed from ``x`` and
    ``γ`` (one extra GEMM) so that its dependence on them is seen.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x, lam, gamma, b_flat, A, scaling, tall):  # x: (N, in)
        ga = _scaled_a(A, gamma)
        lam_f = lam.reshape(-1)  # (n r,)
        v = x @ ga.T if tall else x @ b_flat  # (N, n r)
        w = v * lam_f
        y = scaling * (w @ b_flat.T if tall else w @ ga)  # (N, out)
        return y, v

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, lam, gamma, b_flat, A, scaling, tall = inputs
        _, v = output
        ctx.mark_non_differentiable(v)
        ctx.set_materialize_grads(False)  # no zero-filled (N, n r) gradient for v
        ctx.save_for_backward(x, lam, gamma, v, b_flat, A)
        ctx.scaling, ctx.tall = scaling, tall

    @staticmethod
    def backward(ctx, g, _gv):  # g: (N, out); v gets no gradient
        if g is None:  # grads are not materialised: y did not reach the loss
            return None, None, None, None, None, None, None
        x, lam, gamma, v, b_flat, A = ctx.saved_tensors
        s = ctx.scaling
        n, r, d = A.shape
        ga = _scaled_a(A, gamma)
        if torch.is_grad_enabled():
            # create_graph=True: the saved v has no graph (it is an intermediate), so a
            # second derivative through it would silently miss its x and γ dependence
            v = x @ ga.T if ctx.tall else x @ b_flat  # (N, n r)
        lam_f = lam.reshape(-1)
        need_x, need_lam, need_gamma = ctx.needs_input_grad[:3]
        gx = g_lam = g_gamma = None
        if ctx.tall:  # y = s ((x GAᵀ) ⊙ λ) B_flatᵀ
            gw = s * (g @ b_flat)  # (N, n r)
            gv = gw * lam_f
            g_ga = gv.T @ x if need_gamma else None  # (n r, d)
            if need_x:
                gx = gv @ ga
        else:  # y = s ((x B_flat) ⊙ λ) GA
            gw = s * (g @ ga.T)  # (N, n r)
            g_ga = s * ((v * lam_f).T @ g) if need_gamma else None  # (n r, d)
            if need_x:
                gx = (gw * lam_f) @ b_flat.T
        if need_lam:
            g_lam = (gw * v).sum(0).reshape(n, r)
        if need_gamma:
            g_gamma = (g_ga.reshape(n, r, d) * A).sum(1)  # (n, d)
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
        Use the custom autograd function (keeps only ``x`` and the ``(N, n r)`` projection
        for backward, no gradient for the bases). ``False`` runs plain autograd on the same
        two GEMMs.
    generator : torch.Generator, optional
        Source of the bases when ``bank`` is not given.

    Notes
    -----
    ``Σ_i B_i Λ_i A_i Γ_i = B_flat diag(λ) GA`` with ``B_flat = [B_1 … B_n]`` (D × n r) and
    ``GA`` the stacked ``A_i Γ_i`` (n r × d), so ``x ΔWᵀ`` costs two GEMMs of inner size
    ``n r ≈ d`` — as many FLOPs as the dense layer itself when the update is full rank.
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
        # stored flat, B_flat = [B_1 … B_n], so the forward needs no copy; see basis_b
        self.register_buffer("basis_b_flat", Bb.to(device=w.device, dtype=w.dtype)
                             .permute(1, 0, 2).reshape(self.long, self.n_terms * self.rank)
                             .contiguous(), persistent=False)  # (D, n r)
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
    def config(self) -> RandLoRAConfig:
        """The options this layer was built with (rebuild with ``**asdict(config)``)."""
        return RandLoRAConfig(rank=self.rank, n_terms=self.n_terms, alpha=self.alpha,
                              shared_a=self.shared_a, basis=self.basis)

    @property
    def num_trainable(self) -> int:
        """``n (r + d)``."""
        return self.n_terms * (self.rank + self.short)

    @property
    def basis_b(self) -> torch.Tensor:
        """The fixed ``B_i`` as an ``(n, D, r)`` view of ``basis_b_flat``."""
        return self.basis_b_flat.reshape(self.long, self.n_terms, self.rank).permute(1, 0, 2)

    def _a(self) -> torch.Tensor:  # (n, r, d), a view when shared
        return self.basis_a.expand(self.n_terms, -1, -1)

    def delta_weight(self) -> torch.Tensor:
        """``ΔW = s Σ_i B_i Λ_i A_i Γ_i`` (transposed when in > out), shape (out, in)."""
        ga = _scaled_a(self._a(), self.gamma)
        m = (self.basis_b_flat * self.lam.reshape(-1)) @ ga  # (D, d)
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
            y, _ = _RandLoRAUpdate.apply(x2, self.lam, self.gamma, self.basis_b_flat, A,
                                         self.scaling, self.tall)
        else:  # the same two GEMMs under plain autograd (the reference for the tests)
            b_flat, ga = self.basis_b_flat, _scaled_a(A, self.gamma)
            lam_f = self.lam.reshape(-1)
            if self.tall:
                y = self.scaling * (((x2 @ ga.T) * lam_f) @ b_flat.T)
            else:
                y = self.scaling * (((x2 @ b_flat) * lam_f) @ ga)
        return y.reshape(*lead, self.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., in) -> (..., out)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x must have last dimension {self.in_features}, got {x.shape[-1]}")
        return self.base(x) + self.update(x)

    def extra_repr(self) -> str:
        return (f"in={self.in_features}, out={self.out_features}, rank={self.rank}, "
                f"n_terms={self.n_terms}, scaling={self.scaling:g}, basis={self.basis}")
