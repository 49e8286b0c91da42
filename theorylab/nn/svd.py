"""Layers in singular-value form ``W = U diag(σ) Vᵀ``: SVFit, SST and KIND.

- :class:`SVDLinear` — **SVFit** (Sun et al. 2024, arXiv:2409.05926): the top-``r`` singular
  triplets of a pretrained weight; only the ``r`` singular values train. Wraps the frozen
  ``nn.Linear`` by composition: ``y = base(x) + ((x V) ⊙ (s − σ⁰)) Uᵀ``, which equals
  ``x (W_e + U diag(s) Vᵀ)ᵀ + b`` with ``W_e = W − U diag(σ⁰) Vᵀ`` and is exactly the base
  layer at initialisation.
- :class:`SSTLinear` — **Sparse Spectral Training** (Zhao et al. 2024, arXiv:2405.15481): the
  whole weight in SVD form; all ``σ`` train every step, plus ``r`` singular-vector pairs
  sampled with probability ∝ σ at the start of each round; :meth:`SSTLinear.resample` writes
  the vectors back, optionally re-orthonormalises by SVD, and samples the next set.
- :class:`GatedSVDLinear` — **KIND** (Xie et al. 2024, arXiv:2408.07337): components split
  into always-on *learngenes* and class-gated *tailors*; a sample of class group ``c`` sees
  ``W_c = U_G Σ_G V_Gᵀ + U_T diag(g_c ⊙ σ_T) V_Tᵀ``.

Notation map (paper → code)

==================  ========================================================
``U, Σ, V``         ``U`` (out×k), ``sigma`` (k), ``V`` (in×k); ``W = U diag(σ) Vᵀ``
``W_e`` (SVFit)     residual ``base.weight − U diag(σ⁰) Vᵀ`` (never stored)
``s`` (SVFit)       ``SVDLinear.sigma`` (trainable), ``σ⁰`` the buffer ``sigma0``
``I``, ``|I| = r``  ``SSTLinear.index`` (sampled vector indices), ``rank``
``G``, ``T``        learngenes ``U_G, sigma_G, V_G``; tailors ``U_T, sigma_T, V_T``
``g_c``             ``GatedSVDLinear.gate(group_ids)`` (hard 0/1 mask per sample)
==================  ========================================================
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from theorylab._validation import check_int, check_scalar
from theorylab.nn._checks import check_device, check_finite_weight, check_input

__all__ = ["SVDLinear", "SSTLinear", "GatedSVDLinear", "rank_for_energy",
           "reset_optimizer_state"]


def _check_linear(base: nn.Module) -> nn.Linear:
    if not isinstance(base, nn.Linear):
        raise TypeError(f"base must be a torch.nn.Linear, got {type(base).__name__}")
    return base


def _svd(W: torch.Tensor, *, name: str = "base.weight"
         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Thin SVD in float64 (for accuracy), returned in ``W``'s dtype: ``U, σ, V``.

    A NaN/inf entry raises a ``ValueError`` naming ``name`` (not a bare ``LinAlgError``).
    """
    check_finite_weight(W, name=name)
    U, S, Vh = torch.linalg.svd(W.detach().to(torch.float64), full_matrices=False)
    return U.to(W.dtype), S.to(W.dtype), Vh.T.contiguous().to(W.dtype)


def rank_for_energy(sigma: torch.Tensor, energy: float) -> int:
    """Smallest ``r`` with ``Σ_{i≤r} σ_i² / Σ_i σ_i² ≥ energy`` (σ sorted descending here).

    Examples
    --------
    >>> rank_for_energy(torch.tensor([3.0, 1.0, 0.1]), 0.8)
    1

    Raises
    ------
    ValueError
        If ``sigma`` is empty, not finite, or all zero (no energy to share out).
    """
    energy = check_scalar(energy, name="energy", lower=0.0, upper=1.0, lower_inclusive=False)
    if not isinstance(sigma, torch.Tensor) or sigma.ndim != 1 or sigma.numel() == 0:
        raise ValueError("sigma must be a non-empty 1-D torch.Tensor, got "
                         f"{getattr(sigma, 'shape', type(sigma).__name__)}")
    check_finite_weight(sigma, name="sigma")
    # sorted here, so an unsorted spectrum cannot silently give a wrong rank
    e = sigma.detach().to(torch.float64).abs().sort(descending=True).values.square()
    total = e.sum()
    if not total > 0:
        raise ValueError("sigma must have a nonzero entry to measure a share of energy, got "
                         f"all {sigma.numel()} entries zero")
    cum = torch.cumsum(e, 0) / total
    r = int(torch.searchsorted(cum, torch.tensor(energy - 1e-12, dtype=torch.float64))) + 1
    return min(r, sigma.numel())  # cum[-1] may round to just below 1


def reset_optimizer_state(optimizer: torch.optim.Optimizer,
                          params: Iterable[torch.nn.Parameter]) -> None:
    """Forget the optimizer's state (moments, step) of ``params`` — SST's per-round reset."""
    for p in params:
        optimizer.state.pop(p, None)


class SVDLinear(nn.Module):
    """SVFit: train only the top-``r`` singular values of a frozen ``nn.Linear``.

    Parameters
    ----------
    base : nn.Linear
        The pretrained layer; frozen, not copied.
    rank : int, optional
        Number of singular triplets ``r`` (1 ≤ r ≤ min(in, out)).
    energy : float, optional
        Instead of ``rank``: the smallest ``r`` keeping this share of ``Σ σ_i²`` (SVFit's
        "99 % of the information", read as squared energy — unconfirmed). Exactly one of
        ``rank`` and ``energy`` must be given.

    Notes
    -----
    ``y = base(x) + ((x V) ⊙ (s − σ⁰)) Uᵀ = x (W_e + U diag(s) Vᵀ)ᵀ + b`` with ``s`` the
    trainable singular values (initialised to ``σ⁰``), so ΔW = 0 at initialisation and the
    number of trainable parameters is ``r``.

    References
    ----------
    Sun et al., SVFit, arXiv:2409.05926 (2024).

    Examples
    --------
    >>> base = torch.nn.Linear(8, 6)
    >>> layer = SVDLinear(base, rank=3)
    >>> x = torch.randn(4, 8)
    >>> bool(torch.equal(layer(x), base(x))), layer.sigma.numel()
    (True, 3)
    """

    def __init__(self, base: nn.Linear, *, rank: int | None = None,
                 energy: float | None = None) -> None:
        super().__init__()
        base = _check_linear(base)
        out_f, in_f = base.weight.shape
        if (rank is None) == (energy is None):
            raise ValueError("rank or energy must be given (exactly one of them), got "
                             f"rank={rank!r}, energy={energy!r}")
        U, S, V = _svd(base.weight)
        if rank is None:
            if not bool((S > 0).any()):
                raise ValueError("base.weight must be nonzero to choose a rank by energy, got "
                                 f"an all-zero {out_f}x{in_f} weight; pass rank= instead")
            rank = rank_for_energy(S, energy)
        rank = check_int(rank, name="rank", minimum=1, maximum=min(in_f, out_f))
        self.rank = rank
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.register_buffer("U", U[:, :rank].contiguous())  # (out, r)
        self.register_buffer("V", V[:, :rank].contiguous())  # (in, r)
        self.register_buffer("sigma0", S[:rank].clone())  # (r,)
        self.sigma = nn.Parameter(S[:rank].clone())  # (r,) trainable

    def delta_weight(self) -> torch.Tensor:
        """``U diag(s − σ⁰) Vᵀ``, shape (out, in)."""
        return (self.U * (self.sigma - self.sigma0)) @ self.V.T

    def merged_weight(self) -> torch.Tensor:
        """``W_e + U diag(s) Vᵀ`` as a new tensor; the module is not modified."""
        return self.base.weight + self.delta_weight()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., in) -> (..., out)
        check_input(x, self.V.shape[0])
        return self.base(x) + ((x @ self.V) * (self.sigma - self.sigma0)) @ self.U.T


class SSTLinear(nn.Module):
    """Sparse Spectral Training: ``W = U diag(σ) Vᵀ`` with all σ and ``r`` sampled vectors trained.

    Parameters
    ----------
    base : nn.Linear
        Its (random, for pretraining) weight is decomposed once — SST's "zero distortion"
        initialisation — and its bias copied; ``base`` itself is not kept.
    rank : int
        Number ``r`` of singular-vector pairs trained per round.
    generator : torch.Generator, optional
        Draws the first index set.

    Notes
    -----
    Trainable: ``sigma`` (k = min(in, out)), ``U_I`` (out×r), ``V_I`` (in×r), ``bias``.
    The other vectors are buffers, so they get no gradient and no optimizer state.
    Indices are drawn without replacement with ``P(i) ∝ |σ_i|``. After
    :meth:`resample` the optimizer state of ``U_I, V_I`` must be reset
    (:func:`reset_optimizer_state`), since they now hold other vectors. The paper's
    "enhanced gradient" for the vectors is not implemented (its exact form is unconfirmed).

    References
    ----------
    Zhao et al., Sparse Spectral Training, arXiv:2405.15481 (2024).

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> base = torch.nn.Linear(8, 6)
    >>> layer = SSTLinear(base, rank=2, generator=g)
    >>> x = torch.randn(3, 8)
    >>> bool(torch.allclose(layer(x), base(x), atol=1e-5))
    True
    """

    def __init__(self, base: nn.Linear, *, rank: int,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        base = _check_linear(base)
        out_f, in_f = base.weight.shape
        k = min(out_f, in_f)
        self.rank = check_int(rank, name="rank", minimum=1, maximum=k)
        U, S, V = _svd(base.weight)
        self.register_buffer("U_frozen", U)  # (out, k)
        self.register_buffer("V_frozen", V)  # (in, k)
        self.sigma = nn.Parameter(S.clone())  # (k,)
        self.bias = (nn.Parameter(base.bias.detach().clone()) if base.bias is not None
                     else None)
        self.register_buffer("index", self._draw(generator))  # (r,)
        self.U_I = nn.Parameter(U[:, self.index].clone())  # (out, r)
        self.V_I = nn.Parameter(V[:, self.index].clone())  # (in, r)

    def _draw(self, generator: torch.Generator | None) -> torch.Tensor:
        w = self.sigma.detach().abs().to(torch.float64) + 1e-30
        if generator is not None and generator.device != w.device:
            w = w.to(generator.device)
        idx = torch.multinomial(w, self.rank, replacement=False, generator=generator)
        return idx.to(self.sigma.device)

    def factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Current ``U`` (out×k), ``V`` (in×k) with the trainable sampled columns in place."""
        U = self.U_frozen.index_copy(1, self.index, self.U_I)
        V = self.V_frozen.index_copy(1, self.index, self.V_I)
        return U, V

    def merged_weight(self) -> torch.Tensor:
        """``U diag(σ) Vᵀ`` as a new tensor."""
        U, V = self.factors()
        return (U * self.sigma) @ V.T

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., in) -> (..., out)
        check_input(x, self.V_frozen.shape[0])
        U, V = self.factors()
        y = ((x @ V) * self.sigma) @ U.T
        return y if self.bias is None else y + self.bias

    @torch.no_grad()
    def resample(self, *, generator: torch.Generator | None = None,
                 resvd: bool = True) -> torch.Tensor:
        """End a round: write ``U_I, V_I`` back, re-SVD if asked, draw the next indices.

        Returns the new index set. The effective weight is unchanged (up to the SVD's
        round-off when ``resvd``).
        """
        self.U_frozen[:, self.index] = self.U_I
        self.V_frozen[:, self.index] = self.V_I
        if resvd:
            W = (self.U_frozen * self.sigma) @ self.V_frozen.T
            U, S, V = _svd(W, name="the trained weight U diag(sigma) V^T")
            self.U_frozen.copy_(U)
            self.V_frozen.copy_(V)
            self.sigma.copy_(S)
        self.index = self._draw(generator)
        self.U_I.copy_(self.U_frozen[:, self.index])
        self.V_I.copy_(self.V_frozen[:, self.index])
        return self.index

    def vector_parameters(self) -> list[nn.Parameter]:
        """The sampled-vector parameters whose optimizer state is reset each round."""
        return [self.U_I, self.V_I]


class GatedSVDLinear(nn.Module):
    """KIND: learngenes (always on) plus class-gated tailors, all in ``U diag(σ) Vᵀ`` form.

    Parameters
    ----------
    in_features, out_features : int
    n_learngene : int
        ``r_G``.
    n_tailor : int
        Tailors per class group ``r_t`` (``r_T = n_groups · r_t`` in all).
    n_groups : int
        Number of class groups; group ``c`` owns tailors ``[c r_t, (c+1) r_t)``.
    bias : bool
    generator : torch.Generator, optional
        Initialisation: the SVD of an ``nn.Linear``-style kaiming-uniform matrix; the
        top ``r_G`` triplets become learngenes, the next ``r_T`` the tailors.
    dtype, device : optional

    Notes
    -----
    ``y = ((x V_G) ⊙ σ_G) U_Gᵀ + ((x V_T) ⊙ σ_T ⊙ g_c) U_Tᵀ + b``; a tailor outside the
    group of every sample in the batch gets exactly zero gradient. Trainable count
    ``(in + out + 1)(r_G + r_T) + out``.

    References
    ----------
    Xie et al., KIND, arXiv:2408.07337 (2024).

    Examples
    --------
    >>> layer = GatedSVDLinear(8, 6, n_learngene=2, n_tailor=1, n_groups=3,
    ...                        generator=torch.Generator().manual_seed(0))
    >>> layer(torch.randn(4, 8), torch.tensor([0, 1, 2, 0])).shape
    torch.Size([4, 6])
    """

    def __init__(self, in_features: int, out_features: int, *, n_learngene: int,
                 n_tailor: int, n_groups: int, bias: bool = True,
                 generator: torch.Generator | None = None, dtype: torch.dtype | None = None,
                 device: str | torch.device | None = None) -> None:
        super().__init__()
        in_features = check_int(in_features, name="in_features", minimum=1)
        out_features = check_int(out_features, name="out_features", minimum=1)
        k = min(in_features, out_features)
        n_learngene = check_int(n_learngene, name="n_learngene", minimum=0, maximum=k)
        n_tailor = check_int(n_tailor, name="n_tailor", minimum=0)
        n_groups = check_int(n_groups, name="n_groups", minimum=1)
        if n_learngene + n_tailor * n_groups > k:
            raise ValueError(f"n_learngene + n_tailor * n_groups must be <= min(in, out) = {k}, "
                             f"got {n_learngene + n_tailor * n_groups}")
        if n_learngene + n_tailor == 0:
            raise ValueError("n_learngene + n_tailor must be >= 1, got 0")
        self.in_features, self.out_features = in_features, out_features
        device = check_device(device)
        if device is None:
            device = torch.empty(0).device  # torch's default device, not the generator's
        dtype = dtype or torch.get_default_dtype()
        bound = 1.0 / math.sqrt(in_features)
        # drawn on the generator's device, then moved: a CPU generator may seed a CUDA layer
        gdev = generator.device if generator is not None else device
        W0 = torch.empty(out_features, in_features, dtype=dtype, device=gdev)
        W0 = W0.uniform_(-bound, bound, generator=generator).to(device)
        U, S, V = _svd(W0)
        rG, rT = n_learngene, n_tailor * n_groups
        self.U_G = nn.Parameter(U[:, :rG].clone())  # (out, rG)
        self.sigma_G = nn.Parameter(S[:rG].clone())  # (rG,)
        self.V_G = nn.Parameter(V[:, :rG].clone())  # (in, rG)
        self.U_T = nn.Parameter(U[:, rG:rG + rT].clone())  # (out, rT)
        self.sigma_T = nn.Parameter(S[rG:rG + rT].clone())  # (rT,)
        self.V_T = nn.Parameter(V[:, rG:rG + rT].clone())  # (in, rT)
        self.bias = (nn.Parameter(torch.empty(out_features, dtype=dtype, device=gdev)
                                  .uniform_(-bound, bound, generator=generator).to(device))
                     if bias else None)
        self.n_groups, self.n_tailor = n_groups, n_tailor
        self.register_buffer("tailor_group", torch.arange(n_groups, device=W0.device)
                             .repeat_interleave(n_tailor))  # (rT,)

    def gate(self, group_ids: torch.Tensor) -> torch.Tensor:
        """Hard tailor gates ``g_c`` per sample, shape (B, r_T)."""
        if not isinstance(group_ids, torch.Tensor) or group_ids.dtype not in (
                torch.int64, torch.int32, torch.int16, torch.uint8):
            raise TypeError("group_ids must be an integer torch.Tensor")
        if group_ids.numel() and (int(group_ids.min()) < 0
                                  or int(group_ids.max()) >= self.n_groups):
            raise ValueError(f"group_ids must be in [0, {self.n_groups}), got values in "
                             f"[{int(group_ids.min())}, {int(group_ids.max())}]")
        return (group_ids.reshape(-1, 1) == self.tailor_group).to(self.sigma_T.dtype)

    def forward(self, x: torch.Tensor, group_ids: torch.Tensor) -> torch.Tensor:
        """``(..., in)`` inputs with one class group per row, ``group_ids`` of shape ``(...)``."""
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"x must have shape (..., {self.in_features}), got "
                             f"{tuple(x.shape)}")
        if not isinstance(group_ids, torch.Tensor):
            raise TypeError(f"group_ids must be an integer torch.Tensor, got "
                            f"{type(group_ids).__name__}")
        if group_ids.shape != x.shape[:-1]:
            raise ValueError(f"group_ids must have shape {tuple(x.shape[:-1])} (one group per "
                             f"row of x), got {tuple(group_ids.shape)}")
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)  # (B, in)
        y = ((x2 @ self.V_G) * self.sigma_G) @ self.U_G.T  # (B, out)
        if self.sigma_T.numel():
            g = self.gate(group_ids.reshape(-1))  # (B, r_T)
            y = y + ((x2 @ self.V_T) * (self.sigma_T * g)) @ self.U_T.T
        y = y if self.bias is None else y + self.bias
        return y.reshape(*lead, self.out_features)

    def learngene_weight(self) -> torch.Tensor:
        """``U_G diag(σ_G) V_Gᵀ`` (what every class shares)."""
        return (self.U_G * self.sigma_G) @ self.V_G.T

    def merged_weight(self, group: int) -> torch.Tensor:
        """The dense weight ``W_c`` a sample of class group ``group`` sees (pure)."""
        g = self.gate(torch.tensor([group], device=self.tailor_group.device))[0]
        return self.learngene_weight() + (self.U_T * (self.sigma_T * g)) @ self.V_T.T

    def learngene_parameters(self) -> list[nn.Parameter]:
        return [self.U_G, self.sigma_G, self.V_G]

    def tailor_parameters(self) -> list[nn.Parameter]:
        return [self.U_T, self.sigma_T, self.V_T]

    @torch.no_grad()
    def reset_tailors(self, *, n_tailor: int, n_groups: int,
                      generator: torch.Generator | None = None,
                      sigma_init: float = 0.0) -> None:
        """Replace the tailors by fresh ones for ``n_groups`` new class groups.

        New ``U_T, V_T`` columns are random unit vectors; ``σ_T = sigma_init`` (0 by default,
        so the layer starts as its learngenes alone — zero tailor update at initialisation).
        Learngene tensors are untouched.
        """
        n_tailor = check_int(n_tailor, name="n_tailor", minimum=1)
        n_groups = check_int(n_groups, name="n_groups", minimum=1)
        k = min(self.in_features, self.out_features)
        rG = self.sigma_G.numel()
        if rG + n_tailor * n_groups > k:  # the constructor's rule: U, V keep <= k columns
            raise ValueError(f"n_learngene + n_tailor * n_groups must be <= min(in, out) = {k}, "
                             f"got {rG} + {n_tailor} * {n_groups} = {rG + n_tailor * n_groups}")
        rT = n_tailor * n_groups
        ref = self.U_G
        kw = dict(dtype=ref.dtype, device=ref.device)
        gdev = generator.device if generator is not None else "cpu"  # draw where the generator is
        U = torch.randn(self.out_features, rT, generator=generator, dtype=ref.dtype,
                        device=gdev).to(ref.device)
        V = torch.randn(self.in_features, rT, generator=generator, dtype=ref.dtype,
                        device=gdev).to(ref.device)
        self.U_T = nn.Parameter(U / U.norm(dim=0, keepdim=True))
        self.V_T = nn.Parameter(V / V.norm(dim=0, keepdim=True))
        self.sigma_T = nn.Parameter(torch.full((rT,), float(sigma_init), **kw))
        self.n_groups, self.n_tailor = n_groups, n_tailor
        self.tailor_group = torch.arange(n_groups, device=ref.device).repeat_interleave(n_tailor)
