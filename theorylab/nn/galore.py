"""GaLore-style low-rank gradient projection with SVD, DCT (SVD-free) and random projectors.

Zhao et al. 2024, *GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection*,
arXiv:2403.03507 (the SVD projector); Modoranu, Safaryan, Schultheis & Alistarh 2025,
*SVD-Free Low-Rank Adaptive Gradient Optimization for Large Language Models*, arXiv:2505.17967
(the DCT projector, "DCT-AdamW").

A 2-D gradient ``G ∈ R^{n×m}`` is oriented so that the projected side is the smaller one
(``n ≥ m``: right projection ``a = G P``, ``P ∈ R^{m×r}``; else the transpose is used). Adam's
moments live in the small ``n×r`` space and the update is mapped back by ``a Pᵀ``.

Notation map (paper → code)

=================  ===========================================================
``G``              gradient of one weight matrix (``p.grad``)
``Q``              orthonormal DCT-II basis of size ``min(n, m)`` (:func:`dct_matrix`)
``S = G Q``        DCT coefficients of each row of ``G`` (:func:`dct_ii` computes it by FFT)
``I = top-r``      indices of the ``r`` columns of ``S`` with the largest ℓ1 (or ℓ2) norm
``P``              ``Q[:, I]`` (DCT), top-``r`` right singular vectors (SVD) or random
                   DCT columns (random); ``.basis()``
``r``              ``rank``
``update_proj_gap``  ``update_gap`` (steps between projector refreshes)
=================  ===========================================================

The DCT projector stores only the ``r`` indices per layer; one ``Q`` per matrix size is cached
and shared.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache
from typing import Literal

import torch

from theorylab._validation import check_choice, check_int, check_positive
from theorylab.nn._checks import check_device, check_finite_weight

__all__ = ["dct_matrix", "dct_ii", "SVDProjector", "DCTProjector", "RandomProjector",
           "make_projector", "projection_energy", "LowRankAdam"]


@lru_cache(maxsize=32)
def _dct_matrix_cached(n: int, dtype: torch.dtype, device: str) -> torch.Tensor:
    k = torch.arange(n, dtype=torch.float64).unsqueeze(1)  # frequency
    j = torch.arange(n, dtype=torch.float64).unsqueeze(0)  # position
    C = torch.cos(math.pi * (2 * j + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    C[0] /= math.sqrt(2.0)
    # columns of Q are the DCT basis vectors: G @ Q = DCT-II (orthonormal) of G's rows
    return C.T.contiguous().to(dtype=dtype, device=device)


def dct_matrix(n: int, *, dtype: torch.dtype = torch.float32,
               device: str | torch.device = "cpu") -> torch.Tensor:
    """Orthonormal DCT-II basis ``Q ∈ R^{n×n}`` whose columns are the cosine vectors.

    ``Q[j, k] = sqrt(2/n) c_k cos(π (2j+1) k / (2n))``, ``c_0 = 1/√2``, ``c_k = 1`` else, so
    ``QᵀQ = I`` and ``x @ Q`` is the orthonormal DCT-II of ``x``. Cached per (n, dtype, device);
    the returned tensor is shared — do not modify it in place.

    Examples
    --------
    >>> Q = dct_matrix(8, dtype=torch.float64)
    >>> bool(torch.allclose(Q.T @ Q, torch.eye(8, dtype=torch.float64)))
    True
    """
    n = check_int(n, name="n", minimum=1)
    dev = check_device(device) or torch.device("cpu")
    return _dct_matrix_cached(n, dtype, str(dev))


def dct_ii(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal DCT-II along the last dimension by one FFT (Makhoul 1980).

    Equals ``x @ dct_matrix(n)`` in ``O(n log n)`` per row instead of ``O(n²)``.
    """
    if not isinstance(x, torch.Tensor) or x.ndim < 1:
        raise TypeError("x must be a torch.Tensor with at least one dimension")
    n = x.shape[-1]
    v = torch.cat([x[..., ::2], x[..., 1::2].flip(-1)], dim=-1)
    V = torch.fft.fft(v, dim=-1)
    k = torch.arange(n, device=x.device, dtype=x.dtype)
    w = torch.exp(-1j * math.pi * k / (2 * n))
    X = (V * w).real * math.sqrt(2.0 / n)
    X[..., 0] = X[..., 0] / math.sqrt(2.0)
    return X.to(x.dtype)


def _check_grad(G: torch.Tensor) -> torch.Tensor:
    if not isinstance(G, torch.Tensor):
        raise TypeError(f"G must be a torch.Tensor, got {type(G).__name__}")
    if G.ndim != 2:
        raise ValueError(f"G must be 2-dimensional, got shape {tuple(G.shape)}")
    return G


class _Projector:
    """Common orientation logic: project the smaller side of ``G``."""

    kind: str = ""

    def __init__(self, rank: int) -> None:
        self.rank = check_int(rank, name="rank", minimum=1)
        self.transposed: bool | None = None
        self.k: int | None = None

    def _orient(self, G: torch.Tensor) -> torch.Tensor:
        G = _check_grad(G)
        transposed = G.shape[0] < G.shape[1]
        Go = G.T if transposed else G  # (n, m) with n >= m
        if self.rank > Go.shape[1]:
            raise ValueError(f"rank must be <= min(G.shape) = {Go.shape[1]}, got {self.rank}")
        if self.transposed is not None and (transposed != self.transposed
                                            or Go.shape[1] != self.k):
            raise ValueError(f"G must keep the shape the projector was built for, got "
                             f"{tuple(G.shape)}")
        self.transposed, self.k = transposed, Go.shape[1]
        return Go

    def update(self, G: torch.Tensor, *, generator: torch.Generator | None = None) -> None:
        raise NotImplementedError

    def basis(self) -> torch.Tensor:
        """The orthonormal ``P ∈ R^{k×r}`` (``k`` the projected side)."""
        raise NotImplementedError

    def project(self, G: torch.Tensor) -> torch.Tensor:
        """``G P`` (or ``Gᵀ P`` when ``G`` is wide) — shape ``(max(G.shape), r)``."""
        Go = self._orient(G)
        return Go @ self.basis()

    def project_back(self, a: torch.Tensor) -> torch.Tensor:
        """``a Pᵀ`` in the original orientation of ``G``."""
        full = a @ self.basis().T
        return full.T if self.transposed else full

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank})"


class SVDProjector(_Projector):
    """GaLore's projector: the top-``r`` right singular vectors of the (oriented) gradient.

    Uses ``torch.linalg.svd`` (thin), as GaLore's reference code does; ``P`` is stored
    (``k×r`` floats per layer).
    """

    kind = "svd"

    def __init__(self, rank: int) -> None:
        super().__init__(rank)
        self._P: torch.Tensor | None = None

    def update(self, G: torch.Tensor, *, generator: torch.Generator | None = None) -> None:
        Go = check_finite_weight(self._orient(G), name="G")  # else a bare LinAlgError
        _, _, Vh = torch.linalg.svd(Go.float() if Go.dtype in (torch.float16, torch.bfloat16)
                                    else Go, full_matrices=False)
        self._P = Vh[: self.rank].T.to(G.dtype).contiguous()  # (k, r)

    def basis(self) -> torch.Tensor:
        if self._P is None:
            raise RuntimeError("call update(G) before using the projector")
        return self._P


class DCTProjector(_Projector):
    """SVD-free projector: the ``r`` DCT columns most aligned with the gradient.

    ``S = G Q``; ``score_j = ‖S[:, j]‖_p`` (``score_norm`` p ∈ {1, 2}); ``I = top-r(score)``;
    ``P = Q[:, I]``. Only ``I`` is stored; ``Q`` is shared by all layers of the same size.
    With ``p = 2`` the choice maximises the captured energy ``‖G P‖²_F`` over all ``r``-subsets
    of DCT columns.
    """

    kind = "dct"

    def __init__(self, rank: int, *, score_norm: int = 1) -> None:
        super().__init__(rank)
        self.score_norm = check_choice(score_norm, name="score_norm", choices=(1, 2))
        self.indices: torch.Tensor | None = None
        self._Q: torch.Tensor | None = None

    def _select(self, Go: torch.Tensor) -> torch.Tensor:
        Q = dct_matrix(Go.shape[1], dtype=Go.dtype, device=Go.device)
        self._Q = Q
        S = Go @ Q  # (n, k)
        score = S.abs().sum(0) if self.score_norm == 1 else S.square().sum(0)
        # ascending order: a column kept across refreshes tends to keep its slot in the moments
        return torch.topk(score, self.rank, sorted=False).indices.sort().values

    def update(self, G: torch.Tensor, *, generator: torch.Generator | None = None) -> None:
        # NaN scores would make top-r pick arbitrary columns without a word
        Go = check_finite_weight(self._orient(G), name="G")
        self.indices = self._select(Go)

    def basis(self) -> torch.Tensor:
        if self.indices is None or self._Q is None:
            raise RuntimeError("call update(G) before using the projector")
        return self._Q[:, self.indices]


class RandomProjector(DCTProjector):
    """Control: ``r`` DCT columns drawn uniformly at random (without replacement)."""

    kind = "random"

    def __init__(self, rank: int) -> None:
        super().__init__(rank, score_norm=2)

    def update(self, G: torch.Tensor, *, generator: torch.Generator | None = None) -> None:
        Go = self._orient(G)
        self._Q = dct_matrix(Go.shape[1], dtype=Go.dtype, device=Go.device)
        perm = torch.randperm(Go.shape[1], generator=generator,
                              device=generator.device if generator is not None else "cpu")
        self.indices = perm[: self.rank].sort().values.to(Go.device)


def make_projector(kind: Literal["svd", "dct", "random"], rank: int, *,
                   score_norm: int = 1) -> _Projector:
    """Build a projector by name."""
    kind = check_choice(kind, name="projector", choices=("svd", "dct", "random"))
    if kind == "svd":
        return SVDProjector(rank)
    if kind == "dct":
        return DCTProjector(rank, score_norm=score_norm)
    return RandomProjector(rank)


def projection_energy(G: torch.Tensor, projector: _Projector) -> float:
    """Share of gradient energy kept, ``‖G P‖²_F / ‖G‖²_F`` ∈ [0, 1]."""
    G = _check_grad(G)
    tot = float(G.square().sum())
    if tot == 0.0:
        raise ValueError("G must be nonzero to measure the captured energy")
    return float(projector.project(G).square().sum()) / tot


class LowRankAdam(torch.optim.Optimizer):
    """Adam with the moments of every 2-D parameter kept in a rank-``r`` projected space.

    For a 2-D parameter with gradient ``G``: every ``update_gap`` steps the projector is
    refreshed from ``G`` (moments are kept, not rotated, as in GaLore); ``a = G P``;
    ``m ← β1 m + (1−β1) a``, ``v ← β2 v + (1−β2) a²``;
    ``W ← (1 − lr·wd) W − lr · scale · (m̂ / (√v̂ + ε)) Pᵀ``. Other parameters get plain AdamW.

    Parameters
    ----------
    params : iterable of parameters
    lr : float
    rank : int
        ``r``; clipped to ``min(W.shape)`` per parameter.
    projector : {"svd", "dct", "random"}
    update_gap : int
        Steps between projector refreshes (GaLore: 200; DCT-AdamW reference default: 1).
    betas, eps, weight_decay : as in AdamW.
    scale : float
        GaLore's update scale (``alpha``); 1.0 by default.
    score_norm : {1, 2}
        DCT column score.
    rotate_states : bool
        On a refresh, carry the moments into the new basis with ``R = P_oldᵀ P_new``
        (``m ← m R``, ``v ← |v R|``, as in the DCT reference code). For DCT/random
        projectors ``R`` is a partial permutation: moments of kept columns follow them,
        new columns start at zero. Without it the moments are kept as they are (GaLore).
    generator : torch.Generator, optional
        Randomness of the ``"random"`` projector.

    References
    ----------
    Zhao et al., GaLore, arXiv:2403.03507 (2024); Modoranu et al., SVD-free low-rank
    adaptive gradient optimization, arXiv:2505.17967 (2025).

    Examples
    --------
    >>> w = torch.nn.Parameter(torch.randn(16, 8, generator=torch.Generator().manual_seed(0)))
    >>> opt = LowRankAdam([w], lr=1e-2, rank=2, projector="dct")
    >>> (w.square().sum()).backward(); opt.step()
    >>> tuple(opt.state[w]["exp_avg"].shape)
    (16, 2)
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], *, lr: float, rank: int,
                 projector: Literal["svd", "dct", "random"] = "svd", update_gap: int = 200,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, scale: float = 1.0, score_norm: int = 1,
                 rotate_states: bool = False,
                 generator: torch.Generator | None = None) -> None:
        check_positive(lr, name="lr")
        check_int(rank, name="rank", minimum=1)
        check_choice(projector, name="projector", choices=("svd", "dct", "random"))
        check_int(update_gap, name="update_gap", minimum=1)
        check_positive(eps, name="eps")
        check_positive(weight_decay, name="weight_decay", strict=False)
        check_positive(scale, name="scale")
        check_choice(score_norm, name="score_norm", choices=(1, 2))
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"betas must be in [0, 1), got {betas!r}")
        defaults = dict(lr=lr, rank=rank, projector=projector, update_gap=update_gap,
                        betas=betas, eps=eps, weight_decay=weight_decay, scale=scale,
                        score_norm=score_norm, rotate_states=bool(rotate_states))
        super().__init__(params, defaults)
        self.generator = generator

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D401 - torch signature
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                G = p.grad
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    if p.ndim == 2:
                        st["projector"] = make_projector(group["projector"],
                                                         min(group["rank"], min(p.shape)),
                                                         score_norm=group["score_norm"])
                st["step"] += 1
                t = st["step"]
                if p.ndim == 2:
                    proj = st["projector"]
                    if (t - 1) % group["update_gap"] == 0:
                        old = (proj.basis() if group["rotate_states"] and "exp_avg" in st
                               else None)
                        proj.update(G, generator=self.generator)
                        if old is not None:
                            R = old.T @ proj.basis()  # (r, r)
                            st["exp_avg"] = st["exp_avg"] @ R
                            st["exp_avg_sq"] = (st["exp_avg_sq"] @ R).abs()
                    a = proj.project(G)  # (n, r)
                else:
                    a = G
                if "exp_avg" not in st:
                    st["exp_avg"] = torch.zeros_like(a)
                    st["exp_avg_sq"] = torch.zeros_like(a)
                m, v = st["exp_avg"], st["exp_avg_sq"]
                m.mul_(b1).add_(a, alpha=1 - b1)
                v.mul_(b2).addcmul_(a, a, value=1 - b2)
                mhat = m / (1 - b1 ** t)
                vhat = v / (1 - b2 ** t)
                u = mhat / (vhat.sqrt() + group["eps"])
                if p.ndim == 2:
                    u = proj.project_back(u) * group["scale"]
                if group["weight_decay"]:
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                p.add_(u, alpha=-group["lr"])
        return loss

    def state_bytes(self) -> int:
        """Bytes of optimizer state (moments, plus stored projector bases or indices)."""
        n = 0
        for st in self.state.values():
            for key in ("exp_avg", "exp_avg_sq"):
                if key in st:
                    n += st[key].numel() * st[key].element_size()
            proj = st.get("projector")
            if isinstance(proj, SVDProjector) and proj._P is not None:
                n += proj._P.numel() * proj._P.element_size()
            elif isinstance(proj, DCTProjector) and proj.indices is not None:
                n += proj.indices.numel() * proj.indices.element_size()
        return n
