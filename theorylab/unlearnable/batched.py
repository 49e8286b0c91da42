"""Several MLPs trained at once, each on its own data set, as one stacked model (torch).

The unlearnable-data experiments train many small MLPs with the same recipe on training sets
of the same size and the same labels that differ only in their (perturbed) inputs: clean,
CUDA-protected, BEO-perturbed, ... On a CPU such a model is dominated by the per-step Python
and dispatch overhead, not by its arithmetic, so ``M`` of them trained as one stacked model
(weights ``(M, in, out)``, one ``baddbmm`` per layer, one fused Adam over the stacked
tensors) cost little more than one.

Every member stays the model that :func:`theorylab.unlearning.models.train_model` would
train: its initial weights are drawn by :func:`~theorylab.unlearning.models.build_model`
from its own generator, its minibatch order by
:func:`~theorylab.unlearning.models.epoch_batches` from its own order generator, its loss is
its own batch mean (the gradient of the sum over members with respect to member ``m``'s
weights is member ``m``'s gradient), and Adam is elementwise. Only the summation order inside
the matrix products can differ from the one-model path (tested to agree to float32
rounding).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from theorylab.unlearning.models import MLP, Recipe, build_model, epoch_batches, make_adam

__all__ = ["train_mlps_stacked", "stacked_logits"]


def _linear_layers(mlp: MLP) -> list[nn.Linear]:
    return [m for m in mlp.net if isinstance(m, nn.Linear)]


def train_mlps_stacked(recipe: Recipe, Xs: Sequence[torch.Tensor], y: torch.Tensor, *,
                       n_out: int, init_generators: Sequence[torch.Generator],
                       order_generators: Sequence[torch.Generator]) -> list[MLP]:
    """Train member ``m`` (an MLP of ``recipe``) on ``(Xs[m], y)`` with generators
    ``init_generators[m]`` (weights) and ``order_generators[m]`` (minibatch order), all
    members at once; returns the trained MLPs (in eval-ready state, detached).

    Every ``Xs[m]`` must have the shape of ``Xs[0]``, ``(n, d)``, with ``n = len(y)``.
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    if recipe.arch != "mlp" or recipe.task != "classification":
        raise ValueError(f"recipe must be an 'mlp' classification recipe, got arch "
                         f"{recipe.arch!r}, task {recipe.task!r}")
    M = len(Xs)
    if M == 0:
        raise ValueError("Xs must hold at least 1 data set, got 0")
    if len(init_generators) != M or len(order_generators) != M:
        raise ValueError(f"init_generators and order_generators must have {M} entries (one "
                         f"per data set), got {len(init_generators)} and "
                         f"{len(order_generators)}")
    n, d = Xs[0].shape
    for m, X in enumerate(Xs):
        if tuple(X.shape) != (n, d):
            raise ValueError(f"Xs[{m}] must have shape {(n, d)}, got {tuple(X.shape)}")
    if tuple(y.shape) != (n,) or n == 0:
        raise ValueError(f"y must have shape ({n},) with n > 0, got {tuple(y.shape)}")
    X = torch.stack(list(Xs))  # (M, n, d)
    models = [build_model(recipe, d, n_out, generator=g, device=X.device, dtype=X.dtype)
              for g in init_generators]
    layers = [_linear_layers(mdl) for mdl in models]
    L = len(layers[0])
    WT = [torch.stack([ls[k].weight.detach().T for ls in layers]).contiguous()
          .requires_grad_(True) for k in range(L)]  # (M, in, out)
    bs = [torch.stack([ls[k].bias.detach() for ls in layers]).unsqueeze(1)
          .requires_grad_(True) for k in range(L)]  # (M, 1, out)
    opt = make_adam(WT + bs, recipe)
    B = recipe.batch_size
    rows = torch.arange(M, device=X.device)[:, None]
    for _ in range(recipe.epochs):
        perms = torch.stack([epoch_batches(n, n, g)[0] for g in order_generators])
        perms = perms.to(X.device)  # (M, n): the permutations train_model draws
        for start in range(0, n, B):
            idx = perms[:, start:start + B]  # (M, b)
            b = idx.shape[1]
            h = X[rows, idx]  # (M, b, d)
            for k in range(L):
                h = torch.baddbmm(bs[k], h, WT[k])  # (M, b, out_k)
                if k < L - 1:
                    h = torch.relu(h)
            loss = nn.functional.cross_entropy(h.reshape(M * b, -1), y[idx].reshape(-1),
                                               reduction="sum") / b
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    with torch.no_grad():
        for m, ls in enumerate(layers):
            for k, lin in enumerate(ls):
                lin.weight.copy_(WT[k][m].T)
                lin.bias.copy_(bs[k][m, 0])
    return models


def stacked_logits(models: Sequence[nn.Module], X: torch.Tensor) -> torch.Tensor:
    """Outputs of every model on ``X`` in eval mode under ``torch.inference_mode``,
    ``(M, n, n_out)``."""
    out = []
    with torch.inference_mode():
        for mdl in models:
            was = mdl.training
            mdl.eval()
            out.append(mdl(X))
            mdl.train(was)
    return torch.stack(out)
