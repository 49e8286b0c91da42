"""Data attribution by linear datamodels: which training points move which outputs, and by how
much.

Georgiev, Rinberg, Park, Garg, Ilyas, Mądry & Neel 2024, "Attribute-to-Delete: Machine
Unlearning via Datamodel Matching" (arXiv:2410.23232). Paper symbol ↔ argument:

- S_m ∈ {0, 1}^n, the training subset of model m ↔ row m of ``masks`` (``M × n``);
- f_m(x)_k, logit k of model m at point x ↔ ``outputs[m, x, k]`` (``M × P × K``);
- β_i(x)_k, the effect of training point i on logit k at x ↔ ``Datamodels.beta()[i, x, k]``;
- λ (ridge penalty) ↔ ``lam``.

A datamodel predicts each output of a model from the mask of its training subset,
f(x)_k ≈ b(x)_k + Σ_i β_i(x)_k S_i. With S and Z the column-centred masks and outputs, the ridge
estimate is β = (SᵀS + λI)⁻¹ SᵀZ (the intercept absorbs the centring), computed through the thin
SVD S = U Σ Vᵀ as β = V diag(σ/(σ² + λ)) UᵀZ. Unlearning needs only the summed effect of a
forget set F, Σ_{i∈F} β_i(x) = 1_Fᵀ β, which costs one pass over Z instead of forming the
``n × P × K`` tensor. λ is chosen by K-fold cross-validation over models (held-out models'
outputs predicted from their masks).

The subset models are trained as one ``vmap`` ensemble (:func:`train_subset_ensemble`), each
member on its own random subset of equal size, with its own init and data-order generators.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from theorylab._validation import check_int, check_positive, check_rng, check_scalar
from theorylab.unlearning.models import Recipe, build_model, epoch_batches, make_adam
from theorylab.unlearning.oracle import Ensemble, _check_generators

from ..results import ResultRepr

__all__ = ["Datamodels", "fit_datamodels", "random_masks", "train_subset_ensemble",
           "datamodel_attribution", "row_indices"]


def random_masks(n_models: int, n: int, *, fraction: float = 0.5, rng=None) -> np.ndarray:
    """``(n_models, n)`` boolean masks, each with exactly ``round(fraction · n)`` ones placed
    uniformly at random (equal subset sizes let the ensemble train in lockstep)."""
    n_models = check_int(n_models, name="n_models", minimum=1)
    n = check_int(n, name="n", minimum=2)
    fraction = check_scalar(fraction, name="fraction", lower=0.0, upper=1.0,
                            lower_inclusive=False, upper_inclusive=False)
    h = int(round(fraction * n))
    if not 1 <= h < n:
        raise ValueError(f"fraction must leave between 1 and n - 1 points, got {fraction!r} "
                         f"of n = {n}")
    rng = check_rng(rng)
    masks = np.zeros((n_models, n), dtype=bool)
    for m in range(n_models):
        masks[m, rng.choice(n, size=h, replace=False)] = True
    return masks


def train_subset_ensemble(recipe: Recipe, X: torch.Tensor, y: torch.Tensor, masks, *,
                          n_out: int, init_generators: Sequence[torch.Generator],
                          order_generators: Sequence[torch.Generator],
                          image_shape: tuple[int, int, int] | None = None) -> Ensemble:
    """Member m trained by ``recipe`` on ``X[masks[m]]`` only, all members at once (``vmap``).

    Every row of ``masks`` must hold the same number of points. Member m equals
    :func:`~theorylab.unlearning.models.train_model` on ``(X[masks[m]], y[masks[m]])`` with the
    same two generators (up to floating-point reassociation): the data order is a fresh
    permutation of the member's own subset every epoch, drawn from its order generator.
    """
    masks = np.asarray(masks)
    if masks.ndim != 2 or masks.shape[1] != X.shape[0] or masks.dtype != bool:
        raise ValueError(f"masks must be a boolean array of shape (M, {X.shape[0]}), got "
                         f"{masks.dtype} {masks.shape}")
    sizes = masks.sum(1)
    if sizes.min() != sizes.max() or sizes[0] == 0:
        raise ValueError(f"masks must select the same non-zero number of points in every row, "
                         f"got sizes from {sizes.min()} to {sizes.max()}")
    inits = _check_generators(init_generators, "init_generators", masks.shape[0])
    orders = _check_generators(order_generators, "order_generators", masks.shape[0])
    device, dtype = X.device, X.dtype
    models = [build_model(recipe, X.shape[1], n_out, generator=g, image_shape=image_shape,
                          device=device, dtype=dtype) for g in inits]
    ens = Ensemble.from_models(models)
    skeleton, buffers = ens.skeleton, ens.buffers
    params = {k: p.clone().requires_grad_(True) for k, p in ens.params.items()}
    opt = make_adam(list(params.values()), recipe)
    forward = vmap(lambda p, b, x: functional_call(skeleton, (p, b), (x,)))
    subsets = torch.as_tensor(np.stack([np.flatnonzero(m) for m in masks]))  # (M, h)
    h, B = int(sizes[0]), recipe.batch_size
    rows = torch.arange(masks.shape[0])[:, None]
    for _ in range(recipe.epochs):
        perms = torch.stack([epoch_batches(h, h, g)[0] for g in orders])  # (M, h)
        order = subsets[rows, perms].to(device)  # (M, h) indices into X
        for start in range(0, h, B):
            idx = order[:, start:start + B]
            out = forward(params, buffers, X[idx])  # (M, b, n_out)
            yb = y[idx]
            if recipe.task == "classification":
                loss = nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]),
                                                   yb.reshape(-1), reduction="sum")
            else:
                loss = ((out[..., 0] - yb) ** 2).sum()
            opt.zero_grad(set_to_none=True)
            (loss / idx.shape[1]).backward()
            opt.step()
    return Ensemble(skeleton=skeleton, params={k: p.detach() for k, p in params.items()},
                    buffers=buffers)


@dataclass(eq=False)
class Datamodels(ResultRepr):
    """Ridge datamodels of ``P × K`` outputs on ``n`` training points, kept in factored form.

    ``mask_mean (n,)`` and ``out_mean (P, K)`` are the column means; ``V (n, r)``, ``coef (r,)``
    = σ/(σ² + λ) and ``UtZ (r, P·K)`` give β = V diag(coef) UtZ. ``n_train`` is the number of
    training points; the first ``n_train`` of the P points are the training points themselves
    when built by :func:`datamodel_attribution`.
    """

    mask_mean: np.ndarray
    out_mean: np.ndarray
    V: np.ndarray
    coef: np.ndarray
    UtZ: np.ndarray
    lam: float
    n_models: int
    cv_mse: dict | None = None

    @property
    def n_train(self) -> int:
        return int(self.mask_mean.shape[0])

    @property
    def n_points(self) -> int:
        return int(self.out_mean.shape[0])

    def _rows(self, w: np.ndarray) -> np.ndarray:
        """``wᵀ β`` for ``w (..., n)`` → ``(..., P, K)``."""
        r = (w @ self.V) * self.coef
        return (r @ self.UtZ).reshape(*w.shape[:-1], *self.out_mean.shape)

    def effect(self, forget) -> np.ndarray:
        """Σ_{i∈F} β_i(x): the predicted change of every output when F is *added*, ``(P, K)``;
        removing F from the training set changes the outputs by minus this."""
        idx = np.asarray(forget, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_train):
            raise ValueError(f"forget must index the {self.n_train} training points, got "
                             f"indices in [{idx.min()}, {idx.max()}]")
        w = np.zeros(self.n_train)
        np.add.at(w, idx, 1.0)
        return self._rows(w)

    def beta(self) -> np.ndarray:
        """The full attribution tensor ``(n, P, K)`` (memory n·P·K; for small problems)."""
        return self._rows(np.eye(self.n_train))

    def predict(self, masks) -> np.ndarray:
        """Predicted outputs ``(m, P, K)`` of models trained on the subsets ``masks (m, n)``."""
        S = np.atleast_2d(np.asarray(masks, dtype=np.float64))
        if S.shape[1] != self.n_train:
            raise ValueError(f"masks must have {self.n_train} columns, got {S.shape[1]}")
        return self.out_mean + self._rows(S - self.mask_mean)


def _ridge_parts(S: np.ndarray, Z: np.ndarray):
    """Column means and thin SVD of the centred masks, with UᵀZ of the centred outputs."""
    sm, zm = S.mean(0), Z.mean(0)
    U, sig, Vt = np.linalg.svd(S - sm, full_matrices=False)
    return sm, zm, U, sig, Vt.T, U.T @ (Z - zm)


def fit_datamodels(masks, outputs, *, lam: float | Sequence[float] | None = None,
                   n_folds: int = 5, n_cv_columns: int = 2000, rng=None) -> Datamodels:
    """Ridge-regress every output on the training-subset masks, β = (SᵀS + λI)⁻¹SᵀZ.

    Parameters
    ----------
    masks : array ``(M, n)`` of bools
        Which training points model m saw.
    outputs : array ``(M, P, K)``
        Outputs (logits) of model m on P points.
    lam : float, sequence of floats, or None
        A fixed ridge penalty, or candidates chosen by ``n_folds``-fold cross-validation over
        models (held-out outputs predicted from held-out masks; mean squared error over a
        random sample of ``n_cv_columns`` output columns). ``None``: the grid
        ``M/4 · 2^j``, j = −6…6.
    """
    S = np.asarray(masks, dtype=np.float64)
    Z3 = np.asarray(outputs, dtype=np.float64)
    if S.ndim != 2 or Z3.ndim != 3 or Z3.shape[0] != S.shape[0]:
        raise ValueError(f"masks (M, n) and outputs (M, P, K) must share M, got {S.shape} and "
                         f"{Z3.shape}")
    M = S.shape[0]
    if M < 2:
        raise ValueError(f"masks must hold at least 2 models, got {M}")
    Z = Z3.reshape(M, -1)
    if lam is None:
        grid = [M / 4 * 2.0 ** j for j in range(-6, 7)]
    elif np.ndim(lam) == 0:
        grid = [check_positive(lam, name="lam")]
    else:
        grid = [check_positive(v, name="lam") for v in lam]
        if not grid:
            raise ValueError("lam must hold at least one value, got an empty sequence")
    cv = None
    if len(grid) > 1:
        n_folds = check_int(n_folds, name="n_folds", minimum=2, maximum=M)
        rng = check_rng(rng)
        cols = rng.choice(Z.shape[1], size=min(n_cv_columns, Z.shape[1]), replace=False)
        folds = np.array_split(rng.permutation(M), n_folds)
        err = np.zeros(len(grid))
        for te in folds:
            tr = np.setdiff1d(np.arange(M), te)
            sm, zm, U, sig, V, UtZ = _ridge_parts(S[tr], Z[tr][:, cols])
            A = (S[te] - sm) @ V
            for j, lm in enumerate(grid):
                pred = zm + (A * (sig / (sig ** 2 + lm))) @ UtZ
                err[j] += ((pred - Z[te][:, cols]) ** 2).sum()
        err /= M * cols.size
        cv = {float(g): float(e) for g, e in zip(grid, err, strict=True)}
        best = float(grid[int(np.argmin(err))])
    else:
        best = float(grid[0])
    sm, zm, U, sig, V, UtZ = _ridge_parts(S, Z)
    return Datamodels(mask_mean=sm, out_mean=zm.reshape(Z3.shape[1:]), V=V,
                      coef=sig / (sig ** 2 + best), UtZ=UtZ, lam=best, n_models=M, cv_mse=cv)


def datamodel_attribution(recipe: Recipe, X: torch.Tensor, y: torch.Tensor, *, n_out: int,
                          n_models: int, X_extra: torch.Tensor | None = None,
                          fraction: float = 0.5, lam=None, chunk: int = 500,
                          image_shape: tuple[int, int, int] | None = None,
                          rng=None) -> tuple[Datamodels, np.ndarray, np.ndarray]:
    """Train ``n_models`` models on random ``fraction`` subsets of ``(X, y)`` (``vmap``
    ensembles of at most ``chunk`` members), record their logits on the training points
    followed by ``X_extra``, and fit :func:`fit_datamodels`.

    Returns ``(datamodels, masks, outputs)``; the P points are ``X`` then ``X_extra``.
    Seeds for masks, inits and data orders are all drawn from ``rng``.
    """
    n_models = check_int(n_models, name="n_models", minimum=2)
    chunk = check_int(chunk, name="chunk", minimum=1)
    rng = check_rng(rng)
    masks = random_masks(n_models, X.shape[0], fraction=fraction, rng=rng)
    seeds = rng.integers(2 ** 62, size=(n_models, 2))
    points = X if X_extra is None else torch.cat([X, X_extra])
    outs = []
    for s in range(0, n_models, chunk):
        sl = slice(s, min(s + chunk, n_models))
        ens = train_subset_ensemble(
            recipe, X, y, masks[sl], n_out=n_out, image_shape=image_shape,
            init_generators=[torch.Generator().manual_seed(int(a)) for a in seeds[sl, 0]],
            order_generators=[torch.Generator().manual_seed(int(b)) for b in seeds[sl, 1]])
        outs.append(ens.logits(points).double().cpu().numpy())
    outputs = np.concatenate(outs)
    dm = fit_datamodels(masks, outputs, lam=lam, rng=rng)
    return dm, masks, outputs


def row_indices(table: torch.Tensor, rows: torch.Tensor, *, name: str = "rows",
                exclude: np.ndarray | None = None) -> np.ndarray:
    """Index in ``table (n, d)`` of each row of ``rows (m, d)`` (exact match); repeated rows
    map to distinct table rows in order, and ``exclude`` indices are never used.

    Raises ValueError naming ``name`` when a row is not in the table.
    """
    tab = np.ascontiguousarray(table.detach().cpu().numpy())
    q = np.ascontiguousarray(rows.detach().cpu().numpy().astype(tab.dtype, copy=False))
    if q.ndim != 2 or q.shape[1] != tab.shape[1]:
        raise ValueError(f"{name} must have shape (m, {tab.shape[1]}), got {q.shape}")
    free: dict[bytes, list[int]] = {}
    skip = set() if exclude is None else {int(i) for i in np.asarray(exclude).ravel()}
    for i in range(tab.shape[0] - 1, -1, -1):
        if i not in skip:
            free.setdefault(tab[i].tobytes(), []).append(i)
    out = np.empty(q.shape[0], dtype=np.int64)
    for j in range(q.shape[0]):
        bucket = free.get(q[j].tobytes())
        if not bucket:
            raise ValueError(f"{name} must be rows of the training set, got row {j} which is "
                             "not among its (remaining) rows")
        out[j] = bucket.pop()
    return out
