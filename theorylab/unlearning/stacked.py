"""Stacked training of many independent MLPs with per-member data and optional fixed masks,
and OMP-with-rewinding that reuses one dense run for every sparsity.

Not imported by :mod:`theorylab.unlearning` (import it directly): the claims that use it are
``fan2024_worst_case_forget_harder`` and ``jia2023_sparsity_unlearning_prune_first``.

:func:`train_stacked_mlps` extends the oracle harness's stacked-MLP recipe
(:func:`theorylab.unlearning.oracle.train_ensemble`) in two ways:

- ``rows``: member ``k`` trains on ``X[rows[k]]`` (its own retain set), so the oracles of
  several forget sets of the same size train as one ensemble; member ``k``'s permutation of
  ``range(n)`` is drawn from its own order generator exactly as
  :func:`~theorylab.unlearning.models.epoch_batches` draws it, then mapped through
  ``rows[k]``, so the batches are those of :func:`~theorylab.unlearning.models.train_model`
  on ``X[rows[k]]``;
- ``masks``: one ``{name: bool}`` mask per Linear weight, shared by all members or one per
  member (True = kept); the weights are zeroed at the start and the forward pass uses
  W ⊙ m, so a pruned weight gets no gradient and its stored value is multiplied by m again
  on the way out — the arithmetic of
  :func:`~theorylab.unlearning.sparse.train_masked` (a ``torch.nn.utils.prune``
  reparametrisation weight = weight_orig ⊙ m).

Members share no parameter: one backward pass of the summed per-member losses gives every
member its own gradient, and Adam is elementwise. The results equal a Python loop over the
members of the single-model recipe up to the summation order inside the matrix products;
the tests compare the two (``tests/test_unlearning_stacked.py``).

:func:`prune_and_rewind_all` returns, for several sparsities, exactly what
:func:`~theorylab.unlearning.sparse.prune_and_rewind` returns for each of them with the same
generators, but trains the dense model only once and keeps its epoch-``rewind_epoch`` state
instead of replaying those epochs (the replay is bit-for-bit the same run).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from theorylab.unlearning.models import MLP, Recipe, build_model, loss_fn, make_adam
from theorylab.unlearning.oracle import Ensemble
from theorylab.unlearning.sparse import masks_from_zeros, omp_masks, train_masked

__all__ = ["train_stacked_mlps", "prune_and_rewind_all"]


def _linear_names(mlp: MLP) -> list[str]:
    return [f"net.{i}" for i, m in enumerate(mlp.net) if isinstance(m, nn.Linear)]


def train_stacked_mlps(recipe: Recipe, X: torch.Tensor, y: torch.Tensor,
                       models: Sequence[nn.Module], *,
                       order_generators: Sequence[torch.Generator],
                       rows: np.ndarray | torch.Tensor | None = None,
                       masks: dict[str, torch.Tensor] | None = None) -> Ensemble:
    """Train the MLPs ``models`` (their weights are the initial state; not modified) with
    the recipe's Adam as one stacked model; member ``k`` draws its data order from
    ``order_generators[k]`` and trains on ``X[rows[k]]`` (all of ``X`` when ``rows`` is
    None). ``masks``: fixed pruning masks of the Linear weights (True = kept), each of the
    weight's shape (shared by all members) or stacked per member, ``(M, out, in)``. Returns
    the trained members as an :class:`~theorylab.unlearning.oracle.Ensemble`.
    """
    models = list(models)
    if not models or not all(isinstance(m, MLP) for m in models):
        raise TypeError("models must be a non-empty sequence of MLP")
    orders = list(order_generators)
    if len(orders) != len(models) or not all(isinstance(g, torch.Generator) for g in orders):
        raise ValueError(f"order_generators must hold {len(models)} torch.Generator (one per "
                         f"model), got {len(orders)}")
    M, d = len(models), X.shape[1]
    if rows is not None:
        rows = torch.as_tensor(np.asarray(rows, dtype=np.int64), device=X.device)
        if rows.ndim != 2 or rows.shape[0] != M or rows.shape[1] == 0:
            raise ValueError(f"rows must have shape ({M}, n) with n > 0, got "
                             f"{tuple(rows.shape)}")
    n = X.shape[0] if rows is None else rows.shape[1]
    ens = Ensemble.from_models(models)
    layers = _linear_names(models[0])
    mT = None
    if masks is not None:
        mT = []
        for p in layers:
            m = masks[f"{p}.weight"]
            shape = tuple(ens.params[f"{p}.weight"].shape)
            if tuple(m.shape) not in (shape, shape[1:]):
                raise ValueError(f"masks[{p + '.weight'!r}] must have shape {shape[1:]} or "
                                 f"{shape}, got {tuple(m.shape)}")
            mT.append(m.to(device=X.device, dtype=X.dtype).transpose(-1, -2).contiguous())
    WT = []
    for k, p in enumerate(layers):
        w = ens.params[f"{p}.weight"].transpose(1, 2).contiguous()  # (M, in, out)
        if mT is not None:
            w = w * mT[k]
        WT.append(w.requires_grad_(True))
    bs = [ens.params[f"{p}.bias"].unsqueeze(1).clone().requires_grad_(True)
          for p in layers]  # (M, 1, out)
    opt = make_adam(WT + bs, recipe)
    B = recipe.batch_size
    last = len(layers) - 1
    buf = torch.empty((M * min(B, n), d), dtype=X.dtype, device=X.device)
    for _ in range(recipe.epochs):
        perms = torch.stack([torch.randperm(n, generator=g) for g in orders]).to(X.device)
        if rows is not None:
            perms = torch.gather(rows, 1, perms)  # (M, n) rows of X
        for start in range(0, n, B):
            idx = perms[:, start:start + B]  # (M, b)
            b = idx.shape[1]
            h = torch.index_select(X, 0, idx.reshape(-1), out=buf[:M * b]).view(M, b, d)
            for k in range(last + 1):
                w = WT[k] if mT is None else WT[k] * mT[k]
                h = torch.baddbmm(bs[k], h, w)  # (M, b, out_k)
                if k < last:
                    h = torch.relu(h)
            opt.zero_grad(set_to_none=True)
            yb = y[idx]
            if recipe.task == "classification":
                loss = nn.functional.cross_entropy(h.reshape(-1, h.shape[-1]), yb.reshape(-1),
                                                   reduction="sum")
            else:
                loss = ((h[..., 0] - yb) ** 2).sum()
            (loss / b).backward()
            opt.step()
    params = {}
    for k, p in enumerate(layers):
        w = WT[k].detach() if mT is None else WT[k].detach() * mT[k]
        params[f"{p}.weight"] = w.transpose(1, 2).contiguous()
        params[f"{p}.bias"] = bs[k].detach().squeeze(1)
    return Ensemble(skeleton=ens.skeleton, params=params, buffers=ens.buffers)


def _train_with_snapshot(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *,
                         recipe: Recipe, generator: torch.Generator, at_epoch: int
                         ) -> dict[str, torch.Tensor]:
    """:func:`~theorylab.unlearning.models.train_model` (the same operations in the same
    order), returning a copy of the state dict after ``at_epoch`` epochs."""
    opt = make_adam(list(model.parameters()), recipe)
    model.train()
    snap = copy.deepcopy(model.state_dict()) if at_epoch == 0 else None
    for epoch in range(recipe.epochs):
        for idx in torch.split(torch.randperm(X.shape[0], generator=generator),
                               recipe.batch_size):
            idx = idx.to(X.device)
            opt.zero_grad(set_to_none=True)
            loss_fn(model(X[idx]), y[idx], recipe.task).backward()
            opt.step()
        if epoch + 1 == at_epoch:
            snap = copy.deepcopy(model.state_dict())
    return snap


def prune_and_rewind_all(recipe: Recipe, X: torch.Tensor, y: torch.Tensor, *, n_out: int,
                         sparsities: Sequence[float], rewind_epoch: int,
                         init_generator: torch.Generator, order_generator: torch.Generator,
                         image_shape: tuple[int, int, int] | None = None
                         ) -> list[tuple[nn.Module, dict[str, torch.Tensor]]]:
    """``[prune_and_rewind(..., sparsity=s, ...) for s in sparsities]`` with fresh copies of
    the two generators for each ``s``, computed from one dense run: its epoch-``rewind_epoch``
    state is kept, and each sparsity prunes the dense result, restarts from that state and
    trains the remaining epochs under its mask with the order generator's state after the
    dense run (what :func:`~theorylab.unlearning.sparse.prune_and_rewind` does)."""
    if not 0 <= rewind_epoch <= recipe.epochs:
        raise ValueError(f"rewind_epoch must be in [0, {recipe.epochs}], got {rewind_epoch}")
    init_state, order_state = init_generator.get_state(), order_generator.get_state()
    dense = build_model(recipe, X.shape[1], n_out,
                        generator=torch.Generator().set_state(init_state),
                        image_shape=image_shape, device=X.device, dtype=X.dtype)
    order = torch.Generator().set_state(order_state)
    snap = _train_with_snapshot(dense, X, y, recipe=recipe, generator=order,
                                at_epoch=rewind_epoch)
    after = order.get_state()
    fields = {f: getattr(recipe, f) for f in recipe.__dataclass_fields__}
    rest = Recipe(**{**fields, "epochs": recipe.epochs - rewind_epoch})
    out = []
    for s in sparsities:
        if not 0.0 <= s <= 1.0:
            raise ValueError(f"sparsity must be in [0, 1], got {s}")
        if s == 0:
            m = copy.deepcopy(dense)
            out.append((m, masks_from_zeros(m)))
            continue
        masks = omp_masks(dense, s)
        m = copy.deepcopy(dense)
        m.load_state_dict(snap)
        m.train()
        train_masked(m, X, y, recipe=rest, masks=masks,
                     generator=torch.Generator().set_state(after))
        out.append((m, masks))
    return out
