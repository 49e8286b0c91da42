"""Small models and one training recipe for the unlearning harness.

Randomness is explicit and split three ways (:class:`Seeds`): the initial weights, the data
order and the forget-set draw each come from their own ``torch.Generator`` (or NumPy seed),
so an oracle ensemble can vary init and order independently. Generators live on the CPU and
tensors are moved afterwards, so one seed gives the same numbers on every device.

One model trains with ``torch.optim.Adam``; a ``vmap``-batched ensemble of many models runs the
same arithmetic on stacked parameters (see :mod:`theorylab.unlearning.oracle`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from theorylab._validation import check_choice, check_int, check_positive

__all__ = ["Recipe", "Seeds", "MLP", "TinyCNN", "build_model", "train_model", "as_tensors",
           "resolve_device", "predict_logits", "make_adam", "loss_fn", "epoch_batches"]


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/"cpu"/"cuda[:k]" → a ``torch.device``; a clear error when CUDA is absent."""
    if device is None:
        return torch.device("cpu")
    if isinstance(device, str) and not device.startswith(("cpu", "cuda")):
        raise ValueError(f"device must be 'cpu' or 'cuda[:k]', got {device!r}")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device must be available, got {device!r} but CUDA is not available")
    return dev


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    """How a model is built and trained (from scratch, and for the oracle).

    ``arch`` "mlp": Linear–ReLU layers of widths ``hidden``; "cnn": conv3×3 (1→16), ReLU,
    max-pool 2, conv3×3 (16→32), ReLU, max-pool 2, Linear(·, 128), ReLU, head.
    Adam with ``lr`` and L2 ``weight_decay`` (as ``torch.optim.Adam``), minibatches of
    ``batch_size`` in a fresh random order every epoch (the last batch may be smaller).
    """

    arch: Literal["mlp", "cnn"] = "mlp"
    hidden: tuple[int, ...] = (128, 64)
    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 64
    weight_decay: float = 0.0
    task: Literal["classification", "regression"] = "classification"

    def __post_init__(self) -> None:
        check_choice(self.arch, name="arch", choices=("mlp", "cnn"))
        check_choice(self.task, name="task", choices=("classification", "regression"))
        check_int(self.epochs, name="epochs", minimum=0)
        check_int(self.batch_size, name="batch_size", minimum=1)
        check_positive(self.lr, name="lr")
        check_positive(self.weight_decay, name="weight_decay", strict=False)
        for h in self.hidden:
            check_int(h, name="hidden", minimum=1)


@dataclass(frozen=True, slots=True)
class Seeds:
    """Three independent seeds: initial weights, data order, forget-set draw."""

    init: int
    order: int
    forget: int

    def generator(self, which: Literal["init", "order", "forget"]) -> torch.Generator:
        """A CPU ``torch.Generator`` seeded with one of the three seeds."""
        check_choice(which, name="which", choices=("init", "order", "forget"))
        return torch.Generator().manual_seed(int(getattr(self, which)))


class MLP(nn.Module):
    """Linear–ReLU stack ``in_dim → hidden… → n_out`` on flat inputs ``(B, in_dim)``."""

    def __init__(self, in_dim: int, n_out: int, hidden: Sequence[int] = (128, 64)) -> None:
        super().__init__()
        dims = [in_dim, *hidden, n_out]
        layers: list[nn.Module] = []
        for i in range(len(dims) - 1):
            layers.append(nn.Linear(dims[i], dims[i + 1]))
            if i < len(dims) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, in_dim) -> (B, n_out)
        return self.net(x)


class TinyCNN(nn.Module):
    """Two conv3×3 blocks with max-pooling, FC 128, head; takes flat ``(B, C·H·W)`` inputs."""

    def __init__(self, image_shape: tuple[int, int, int], n_out: int) -> None:
        super().__init__()
        c, h, w = image_shape
        self.image_shape = tuple(int(v) for v in image_shape)
        self.features = nn.Sequential(
            nn.Conv2d(c, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        flat = 32 * (h // 4) * (w // 4)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(flat, 128), nn.ReLU(),
                                  nn.Linear(128, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C*H*W) -> (B, n_out)
        x = x.reshape(x.shape[0], *self.image_shape)  # (B, C, H, W)
        return self.head(self.features(x))


def build_model(recipe: Recipe, in_dim: int, n_out: int, *, generator: torch.Generator,
                image_shape: tuple[int, int, int] | None = None,
                device: str | torch.device | None = None,
                dtype: torch.dtype = torch.float32) -> nn.Module:
    """A freshly initialised model; every weight and bias ``~ U(−1/√fan_in, 1/√fan_in)``
    (PyTorch's default scale) drawn from ``generator`` only."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    in_dim = check_int(in_dim, name="in_dim", minimum=1)
    n_out = check_int(n_out, name="n_out", minimum=1)
    if recipe.arch == "cnn":
        if image_shape is None:
            raise ValueError("image_shape must be given for arch='cnn', got None")
        if int(np.prod(image_shape)) != in_dim:
            raise ValueError(f"image_shape must multiply to in_dim={in_dim}, got {image_shape}")
        model: nn.Module = TinyCNN(image_shape, n_out)
    else:
        model = MLP(in_dim, n_out, recipe.hidden)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.Linear | nn.Conv2d):
                fan_in = mod.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in)
                for p in (mod.weight, mod.bias):
                    u = torch.rand(p.shape, generator=generator, dtype=torch.float64)
                    p.copy_(u * 2 * bound - bound)
    return model.to(device=resolve_device(device), dtype=dtype)


def as_tensors(X, y, *, task: str = "classification", device=None,
               dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """NumPy arrays → tensors on ``device`` (labels int64, regression targets ``dtype``)."""
    dev = resolve_device(device)
    Xt = torch.as_tensor(np.asarray(X), dtype=dtype, device=dev)
    ydt = torch.long if task == "classification" else dtype
    yt = torch.as_tensor(np.asarray(y), dtype=ydt, device=dev)
    if Xt.ndim != 2 or yt.shape != (Xt.shape[0],):
        raise ValueError(f"y must have shape ({Xt.shape[0]},), got {tuple(yt.shape)}")
    return Xt, yt


def loss_fn(out: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """Mean cross-entropy (classification) or mean squared error on ``out[:, 0]``."""
    if task == "classification":
        return nn.functional.cross_entropy(out, y)
    return ((out[..., 0] - y) ** 2).mean()


def epoch_batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """A fresh permutation of ``range(n)`` from ``generator``, cut into batches (CPU)."""
    perm = torch.randperm(n, generator=generator)
    return list(torch.split(perm, batch_size))


def train_model(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, recipe: Recipe,
                generator: torch.Generator) -> nn.Module:
    """Train ``model`` in place with the recipe's Adam; ``generator`` draws the data order.

    Returns the same module (for chaining).
    """
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(f"X and y must have the same non-zero length, got {X.shape[0]} and "
                         f"{y.shape[0]}")
    top = _check_training_data(X, y, recipe.task)
    opt = make_adam(list(model.parameters()), recipe)
    was = model.training
    model.train()
    for _ in range(recipe.epochs):
        for idx in epoch_batches(X.shape[0], recipe.batch_size, generator):
            idx = idx.to(X.device)
            opt.zero_grad(set_to_none=True)
            out = model(X[idx])
            if top is not None:  # once: the labels must index the model's outputs
                if top >= out.shape[-1]:
                    raise ValueError(f"y must hold labels in [0, {out.shape[-1]}) (the model's "
                                     f"outputs), got a label {top}")
                top = None
            loss_fn(out, y[idx], recipe.task).backward()
            opt.step()
    model.train(was)
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        raise FloatingPointError(f"training diverged: the model has NaN/inf weights after "
                                 f"{recipe.epochs} epochs (recipe lr={recipe.lr!r})")
    return model


def _check_training_data(X: torch.Tensor, y: torch.Tensor, task: str) -> int | None:
    """Finite inputs; non-negative integer class labels (returns the largest, which the
    first forward pass checks against the model's output width) or finite regression
    targets (returns ``None``)."""
    if not bool(torch.isfinite(X).all()):
        bad = int((~torch.isfinite(X)).sum())
        raise ValueError(f"X must be finite, got {bad} NaN/inf value(s)")
    if task != "classification":
        if not bool(torch.isfinite(y).all()):
            raise ValueError("y must be finite, got NaN/inf regression targets")
        return None
    if y.dtype.is_floating_point or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if int(y.min()) < 0:
        raise ValueError(f"y must hold labels >= 0, got a label {int(y.min())}")
    return int(y.max())


def make_adam(params: list[torch.Tensor], recipe: Recipe) -> torch.optim.Adam:
    """The recipe's optimiser. Adam is elementwise, so one Adam over stacked ``(M, ...)``
    ensemble parameters performs exactly the per-model updates."""
    try:  # the fused kernel (one pass over memory) where this torch build has it
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay,
                                fused=True)
    except (RuntimeError, TypeError):  # pragma: no cover - older torch / device
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay,
                                foreach=True)


@torch.no_grad()
def predict_logits(model: nn.Module, X: torch.Tensor, *, batch_size: int = 4096) -> torch.Tensor:
    """Model outputs on ``X`` in eval mode, in batches, detached."""
    was = model.training
    model.eval()
    out = torch.cat([model(X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)])
    model.train(was)
    return out
