"""Oracles: models retrained from scratch on the retain set, one by one or as a batched
ensemble.

:func:`train_ensemble` trains ``M`` models of one architecture at once: their parameters are
stacked with ``torch.func.stack_module_state``, the forward pass is ``vmap`` over
``functional_call`` (MLPs: explicit batched matrix products, which skip vmap's per-op
dispatch), and one backward pass of the summed per-model losses gives every member's
gradient (members share no parameter); Adam over stacked tensors is elementwise. Each member
keeps its own init generator and its own data-order generator, so the result equals a Python
loop of :func:`train_model` over the same generators (up to floating-point reassociation in
the batched matrix products).
KLoM and LiRA need such ensembles with *both* init and order varying across members.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from theorylab._validation import check_int
from theorylab.unlearning.models import (
    MLP,
    Recipe,
    Seeds,
    build_model,
    epoch_batches,
    make_adam,
    predict_logits,
    train_model,
)

from ..results import ResultRepr

__all__ = ["Ensemble", "train_ensemble", "retrain_oracles", "ensemble_seeds"]


def ensemble_seeds(n_models: int, *, base: int = 0) -> list[Seeds]:
    """``n_models`` seed triples with distinct init and order seeds (forget seed shared)."""
    n_models = check_int(n_models, name="n_models", minimum=1)
    return [Seeds(init=base + 2 * k, order=base + 2 * k + 1, forget=base) for k in range(n_models)]


@dataclass
class Ensemble(ResultRepr):
    """``M`` models of one architecture as stacked parameters ``{name: (M, ...)}``."""

    skeleton: nn.Module
    params: dict[str, torch.Tensor]
    buffers: dict[str, torch.Tensor]

    @property
    def n_models(self) -> int:
        return int(next(iter(self.params.values())).shape[0])

    @torch.no_grad()
    def logits(self, X: torch.Tensor) -> torch.Tensor:
        """Outputs of every member, shape ``(M, n, n_out)``."""
        was = self.skeleton.training
        self.skeleton.eval()
        f = lambda p, b, x: functional_call(self.skeleton, (p, b), (x,))
        out = vmap(f, in_dims=(0, 0, None))(self.params, self.buffers, X)
        self.skeleton.train(was)
        return out

    def member(self, k: int) -> nn.Module:
        """Member ``k`` as an ordinary module (a copy)."""
        k = check_int(k, name="k", minimum=0, maximum=self.n_models - 1)
        model = copy.deepcopy(self.skeleton).to_empty(
            device=next(iter(self.params.values())).device)
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(self.params[n][k])
        return model

    @classmethod
    def from_models(cls, models: Sequence[nn.Module]) -> Ensemble:
        params, buffers = stack_module_state(list(models))
        skeleton = copy.deepcopy(models[0]).to("meta")
        return cls(skeleton=skeleton, params={k: v.detach() for k, v in params.items()},
                   buffers=buffers)


def _check_generators(gens, name: str, n: int | None = None) -> list[torch.Generator]:
    gens = list(gens)
    if not gens or not all(isinstance(g, torch.Generator) for g in gens):
        raise TypeError(f"{name} must be a non-empty sequence of torch.Generator")
    if n is not None and len(gens) != n:
        raise ValueError(f"{name} must have {n} generators (one per model), got {len(gens)}")
    return gens


def train_ensemble(recipe: Recipe, X: torch.Tensor, y: torch.Tensor, *, n_out: int,
                   init_generators: Sequence[torch.Generator],
                   order_generators: Sequence[torch.Generator],
                   image_shape: tuple[int, int, int] | None = None,
                   vectorize: bool | str = True, init_model: nn.Module | None = None
                   ) -> Ensemble:
    """Train one model per (init, order) generator pair on ``(X, y)``.

    With ``init_model``, every member starts from a copy of its weights instead.

    ``vectorize=True`` trains all of them at once (MLPs: batched matrix products on stacked
    weights; other architectures: ``torch.func`` ``vmap``); ``"vmap"`` forces the ``vmap``
    path for every architecture (the benchmark compares the two); ``False`` runs a Python
    loop of :func:`train_model` — the reference the vectorised paths are tested against.
    """
    if vectorize not in (True, False, "vmap"):
        raise ValueError(f"vectorize must be True, False or 'vmap', got {vectorize!r}")
    inits = _check_generators(init_generators, "init_generators")
    orders = _check_generators(order_generators, "order_generators", len(inits))
    device, dtype = X.device, X.dtype
    if init_model is not None:
        models = [copy.deepcopy(init_model).to(device=device, dtype=dtype) for _ in inits]
    else:
        models = [build_model(recipe, X.shape[1], n_out, generator=g, image_shape=image_shape,
                              device=device, dtype=dtype) for g in inits]
    if not vectorize:
        for mdl, g in zip(models, orders, strict=True):
            train_model(mdl, X, y, recipe=recipe, generator=g)
        return Ensemble.from_models(models)

    ens = Ensemble.from_models(models)
    if isinstance(models[0], MLP) and vectorize is True:
        params = _train_stacked_mlp(recipe, X, y, ens.params, _linear_names(models[0]), orders)
        return Ensemble(skeleton=ens.skeleton, params=params, buffers=ens.buffers)
    return _train_vmap(recipe, X, y, ens, orders)


def _train_vmap(recipe: Recipe, X: torch.Tensor, y: torch.Tensor, ens: Ensemble,
                orders: Sequence[torch.Generator]) -> Ensemble:
    """The vectorised recipe for any architecture: ``vmap`` over ``functional_call`` on the
    stacked parameters, one fused Adam over them."""
    skeleton, buffers = ens.skeleton, ens.buffers
    params = {k: p.clone().requires_grad_(True) for k, p in ens.params.items()}
    opt = make_adam(list(params.values()), recipe)
    forward = vmap(lambda p, b, x: functional_call(skeleton, (p, b), (x,)))
    n = X.shape[0]
    B = recipe.batch_size
    for _ in range(recipe.epochs):
        perms = _permutations(n, orders, X.device)  # (M, n)
        for start in range(0, n, B):
            idx = perms[:, start:start + B]  # (M, b)
            out = forward(params, buffers, X[idx])  # (M, b, n_out)
            opt.zero_grad(set_to_none=True)
            (_summed_loss(out, y[idx], recipe.task) / idx.shape[1]).backward()
            opt.step()
    return Ensemble(skeleton=skeleton, params={k: p.detach() for k, p in params.items()},
                    buffers=buffers)


def _permutations(n: int, orders: Sequence[torch.Generator], device) -> torch.Tensor:
    """The permutations :func:`epoch_batches` draws, one row per member: ``(M, n)``."""
    return torch.stack([epoch_batches(n, n, g)[0] for g in orders]).to(device)


def _summed_loss(out: torch.Tensor, yb: torch.Tensor, task: str) -> torch.Tensor:
    """Sum over members of each member's *summed* batch loss. Members are independent, so
    the gradient of the sum w.r.t. the stacked parameters is each member's own gradient."""
    if task == "classification":
        return nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), yb.reshape(-1),
                                           reduction="sum")
    return ((out[..., 0] - yb) ** 2).sum()


def _linear_names(mlp: MLP) -> list[str]:
    """Parameter-name prefixes of an :class:`MLP`'s Linear layers, input to output."""
    return [f"net.{i}" for i, m in enumerate(mlp.net) if isinstance(m, nn.Linear)]


def _train_stacked_mlp(recipe: Recipe, X: torch.Tensor, y: torch.Tensor,
                       params: dict[str, torch.Tensor], layers: list[str],
                       orders: Sequence[torch.Generator]) -> dict[str, torch.Tensor]:
    """The vectorised recipe for an ensemble of MLPs, written out with batched matrix
    products instead of ``vmap(functional_call)``: per step one ``baddbmm`` (+ ReLU) per
    layer on weights kept transposed, ``(M, in, out)`` and contiguous, so that neither the
    forward product nor the two backward products read a strided view; one fused Adam call
    over the 2·L stacked tensors (Adam is elementwise, so the layout does not change its
    arithmetic); the batch gathered into one preallocated buffer. Same permutations, same
    per-member arithmetic as :func:`train_model` up to the summation order inside the
    products."""
    WT = [params[f"{p}.weight"].transpose(1, 2).contiguous().requires_grad_(True)
          for p in layers]  # (M, in, out)
    bs = [params[f"{p}.bias"].unsqueeze(1).clone().requires_grad_(True)
          for p in layers]  # (M, 1, out)
    opt = make_adam(WT + bs, recipe)
    M, n, d = WT[0].shape[0], X.shape[0], X.shape[1]
    B = recipe.batch_size
    last = len(layers) - 1
    buf = torch.empty((M * min(B, n), d), dtype=X.dtype, device=X.device)
    for _ in range(recipe.epochs):
        perms = _permutations(n, orders, X.device)  # (M, n)
        for start in range(0, n, B):
            idx = perms[:, start:start + B]  # (M, b)
            b = idx.shape[1]
            h = torch.index_select(X, 0, idx.reshape(-1), out=buf[:M * b]).view(M, b, d)
            for k in range(last + 1):
                h = torch.baddbmm(bs[k], h, WT[k])  # (M, b, out_k)
                if k < last:
                    h = torch.relu(h)
            opt.zero_grad(set_to_none=True)
            (_summed_loss(h, y[idx], recipe.task) / b).backward()
            opt.step()
    out = {}
    for p, w, bias in zip(layers, WT, bs, strict=True):
        out[f"{p}.weight"] = w.detach().transpose(1, 2).contiguous()
        out[f"{p}.bias"] = bias.detach().squeeze(1)
    return out


def retrain_oracles(recipe: Recipe, X: torch.Tensor, y: torch.Tensor, retain: np.ndarray, *,
                    n_out: int, seeds: Sequence[Seeds],
                    image_shape: tuple[int, int, int] | None = None,
                    vectorize: bool = True, from_pretrained: nn.Module | None = None
                    ) -> Ensemble:
    """Oracles θ_r: the recipe from scratch on ``X[retain]``, one member per seed triple
    (at least 5 for single-model metrics, reported as mean ± std).

    ``from_pretrained``: the "retrain from pretrained" variant — every member starts from this
    model's weights (the init seeds are then unused) and is trained on D_r with its own data
    order.
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one Seeds triple, got none")
    idx = torch.as_tensor(np.asarray(retain, dtype=np.int64), device=X.device)
    return train_ensemble(recipe, X[idx], y[idx], n_out=n_out,
                          init_generators=[s.generator("init") for s in seeds],
                          order_generators=[s.generator("order") for s in seeds],
                          image_shape=image_shape, vectorize=vectorize,
                          init_model=from_pretrained)


def member_logits(models: Sequence[nn.Module], X: torch.Tensor) -> torch.Tensor:
    """Stack ``predict_logits`` over a list of models: ``(M, n, n_out)``."""
    return torch.stack([predict_logits(mdl, X) for mdl in models])
