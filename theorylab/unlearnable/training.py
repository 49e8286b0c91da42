"""Train a harness model on (protected) images and measure it on clean test images (torch).

ERM is the harness's own loop (:func:`theorylab.unlearning.models.train_model`); adversarial
training is :func:`theorylab.unlearnable.adversarial.adversarial_train`, the same recipe on
PGD minibatches. The evaluation reports the clean test accuracy (the metric of unlearnable-
data papers), the training accuracy and the confusion matrix (rows: true class, columns:
predicted class), which shows whether a model predicts by a shortcut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from theorylab._validation import check_array, check_choice, check_int, check_positive
from theorylab.unlearning.models import (
    Recipe,
    as_tensors,
    build_model,
    resolve_device,
    train_model,
)

from ..results import ResultRepr
from .adversarial import _attack, adversarial_train

__all__ = ["AttackConfig", "Evaluation", "fit_classifier", "predict_labels", "clean_accuracy",
           "confusion_matrix", "train_and_evaluate", "ResNet18", "resnet18", "augment_crop_flip",
           "train_sgd"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AttackConfig:
    """PGD adversarial training: threat model, radius, steps (step size default
    ``2.5 eps / n_steps``), random start."""

    norm: Literal["linf", "l2"] = "linf"
    eps: float = 8 / 255
    n_steps: int = 7
    step_size: float | None = None
    random_start: bool = True

    def __post_init__(self) -> None:
        check_choice(self.norm, name="norm", choices=("linf", "l2"))
        check_positive(self.eps, name="eps")
        check_int(self.n_steps, name="n_steps", minimum=1)
        if self.step_size is not None:
            check_positive(self.step_size, name="step_size")


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation(ResultRepr):
    """Clean test accuracy, training accuracy, confusion matrix of one trained model.

    ``confusion[i, j]`` counts test images of class ``i`` predicted as ``j``.
    """

    test_accuracy: float
    train_accuracy: float
    confusion: np.ndarray

    @property
    def per_class_accuracy(self) -> np.ndarray:
        """Recall of each class on the clean test set (NaN for a class with no image)."""
        tot = self.confusion.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self.confusion) / np.where(tot > 0, tot, np.nan)


def _flat(X, image_shape):
    """NumPy images ``(n, C, H, W)`` / ``(n, H, W)`` / flat ``(n, d)`` -> flat ``(n, d)`` and
    the image shape (``None`` when flat and none given)."""
    Xa = check_array(X, name="X", dtype=np.float32, min_shape=(1,))
    if Xa.ndim == 4:
        ims = tuple(int(v) for v in Xa.shape[1:])
    elif Xa.ndim == 3:
        ims = (1, int(Xa.shape[1]), int(Xa.shape[2]))
    elif Xa.ndim == 2:
        ims = None if image_shape is None else tuple(int(v) for v in image_shape)
    else:
        raise ValueError(f"X must have shape (n, d), (n, H, W) or (n, C, H, W), got {Xa.shape}")
    Xf = Xa.reshape(Xa.shape[0], -1)
    if Xf.shape[1] == 0:
        raise ValueError(f"X must have at least 1 column, got shape {Xa.shape}")
    if ims is not None and int(np.prod(ims)) != Xf.shape[1]:
        raise ValueError(f"image_shape must multiply to {Xf.shape[1]}, got {ims}")
    return Xf, ims


def _labels(y, n: int, n_classes: int, name: str = "y") -> np.ndarray:
    yv = check_array(y, name=name, ndim=1, dtype=np.int64, min_shape=(1,))
    if yv.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {yv.shape}")
    if yv.min() < 0 or yv.max() >= n_classes:
        bad = int(yv.min()) if yv.min() < 0 else int(yv.max())
        raise ValueError(f"{name} must hold labels in [0, {n_classes}), got {bad}")
    return yv


def fit_classifier(X, y, *, recipe: Recipe, n_classes: int, init_generator: torch.Generator,
                   order_generator: torch.Generator, image_shape=None,
                   attack: AttackConfig | None = None,
                   attack_generator: torch.Generator | None = None,
                   device: str | torch.device | None = None) -> nn.Module:
    """A fresh harness model (``recipe.arch``) trained by ERM, or by PGD adversarial
    training when ``attack`` is given, on NumPy images ``X`` (values in [0, 1]) and labels.

    ``init_generator`` draws the initial weights, ``order_generator`` the minibatch order,
    ``attack_generator`` the PGD random starts.
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    if recipe.task != "classification":
        raise ValueError(f"recipe.task must be 'classification', got {recipe.task!r}")
    if attack is not None and not isinstance(attack, AttackConfig):
        raise TypeError(f"attack must be an AttackConfig or None, got {type(attack).__name__}")
    n_classes = check_int(n_classes, name="n_classes", minimum=2)
    Xf, ims = _flat(X, image_shape)
    yv = _labels(y, Xf.shape[0], n_classes)
    Xt, yt = as_tensors(Xf, yv, device=device)
    model = build_model(recipe, Xf.shape[1], n_classes, generator=init_generator,
                        image_shape=ims, device=device)
    if attack is None:
        return train_model(model, Xt, yt, recipe=recipe, generator=order_generator)
    return adversarial_train(model, Xt, yt, recipe=recipe, generator=order_generator,
                             norm=attack.norm, eps=attack.eps, n_steps=attack.n_steps,
                             step_size=attack.step_size, random_start=attack.random_start,
                             attack_generator=attack_generator)


# rows per evaluation batch: large enough to amortise the per-call overhead, small enough for
# a batch of conv activations to stay in cache
EVAL_BATCH = 256


def _device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def predict_labels(model: nn.Module, X) -> np.ndarray:
    """Arg-max class of ``model`` on NumPy images ``X`` (any of the accepted shapes)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    Xf, _ = _flat(X, None)
    p = next(model.parameters(), None)
    dtype = p.dtype if p is not None else torch.float32
    Xt = torch.as_tensor(Xf, dtype=dtype, device=_device_of(model))
    return _predict_logits(model, Xt).argmax(dim=1).cpu().numpy().astype(np.int64)


def _predict_logits(model: nn.Module, X: torch.Tensor, *,
                    batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Model outputs on ``X`` in eval mode under ``torch.inference_mode``, in batches of
    ``batch_size`` rows (the harness's ``predict_logits`` with a cache-sized batch: a
    4096-image batch of conv activations runs about twice slower per image on a CPU)."""
    was = model.training
    model.eval()
    try:
        with torch.inference_mode():
            return torch.cat([model(X[i:i + batch_size])
                              for i in range(0, X.shape[0], batch_size)])
    finally:
        model.train(was)


def clean_accuracy(model: nn.Module, X, y) -> float:
    """Share of images whose predicted class is the label."""
    pred = predict_labels(model, X)
    yv = check_array(y, name="y", ndim=1, dtype=np.int64, shape=(pred.shape[0],))
    return float((pred == yv).mean())


def confusion_matrix(model: nn.Module, X, y, *, n_classes: int) -> np.ndarray:
    """``C[i, j]`` = number of images of class ``i`` predicted as ``j``, shape
    ``(n_classes, n_classes)``, int64."""
    n_classes = check_int(n_classes, name="n_classes", minimum=2)
    pred = predict_labels(model, X)
    yv = _labels(y, pred.shape[0], n_classes)
    if pred.max() >= n_classes:
        raise ValueError(f"n_classes must exceed every predicted class, got {n_classes} "
                         f"with a prediction of class {int(pred.max())}")
    C = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(C, (yv, pred), 1)
    return C


def train_and_evaluate(X_train, y_train, X_test, y_test, *, recipe: Recipe, n_classes: int,
                       init_generator: torch.Generator, order_generator: torch.Generator,
                       image_shape=None, attack: AttackConfig | None = None,
                       attack_generator: torch.Generator | None = None,
                       device: str | torch.device | None = None) -> Evaluation:
    """:func:`fit_classifier` on the training set, then clean test accuracy, training
    accuracy and the test confusion matrix."""
    model = fit_classifier(X_train, y_train, recipe=recipe, n_classes=n_classes,
                           init_generator=init_generator, order_generator=order_generator,
                           image_shape=image_shape, attack=attack,
                           attack_generator=attack_generator, device=device)
    C = confusion_matrix(model, X_test, y_test, n_classes=n_classes)
    C.setflags(write=False)
    return Evaluation(test_accuracy=float(np.trace(C) / C.sum()),
                      train_accuracy=clean_accuracy(model, X_train, y_train),
                      confusion=C)


# ------------------------------------------------------------- the paper's GPU recipe

class _BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.short = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.short = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                       nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, c_in, H, W) -> (B, c_out, H', W')
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.short(x))


class ResNet18(nn.Module):
    """The CIFAR variant of ResNet-18 (He et al. 2016, arXiv:1512.03385) used by the CUDA
    reference code: 3×3 stem without max-pooling, four stages of two basic blocks (64, 128,
    256, 512 channels), global average pooling, linear head; inputs ``(B, C, H, W)``."""

    def __init__(self, n_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(64), nn.ReLU())
        blocks, c = [], 64
        for c_out, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [_BasicBlock(c, c_out, stride), _BasicBlock(c_out, c_out, 1)]
            c = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(512, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, n_classes)
        h = self.blocks(self.stem(x))  # (B, 512, H/8, W/8)
        return self.head(h.mean(dim=(2, 3)))


def resnet18(n_classes: int = 10, *, in_channels: int = 3, generator: torch.Generator,
             device: str | torch.device | None = None) -> ResNet18:
    """A freshly initialised :class:`ResNet18` (PyTorch's default initialisation), its
    weights drawn from ``generator`` only (the global RNG is left as it was)."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    n_classes = check_int(n_classes, name="n_classes", minimum=2)
    in_channels = check_int(in_channels, name="in_channels", minimum=1)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ResNet18(n_classes, in_channels)
    return model.to(resolve_device(device))


def augment_crop_flip(x: torch.Tensor, *, pad: int = 4,
                      generator: torch.Generator) -> torch.Tensor:
    """Random crop after zero padding by ``pad`` and random horizontal flip, per image
    (``transforms.RandomCrop(size, padding=4)`` + ``RandomHorizontalFlip()``); the offsets
    and flips are drawn from ``generator`` on the CPU. ``x``: ``(B, C, H, W)``."""
    B, _, H, W = x.shape
    off = torch.randint(0, 2 * pad + 1, (B, 2), generator=generator).to(x.device)
    flip = (torch.rand(B, generator=generator) < 0.5).to(x.device)
    xp = nn.functional.pad(x, (pad, pad, pad, pad))
    rows = off[:, :1] + torch.arange(H, device=x.device)  # (B, H)
    cols = off[:, 1:] + torch.arange(W, device=x.device)  # (B, W)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    b = torch.arange(B, device=x.device)[:, None, None]
    out = xp.permute(0, 2, 3, 1)[b, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def train_sgd(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, epochs: int,
              generator: torch.Generator, lr: float = 0.1, momentum: float = 0.9,
              weight_decay: float = 5e-4, lr_step: int | None = None, batch_size: int = 512,
              augment: bool = True, clip: float | None = 5.0,
              attack: AttackConfig | None = None,
              attack_generator: torch.Generator | None = None,
              max_steps: int | None = None) -> nn.Module:
    """The CUDA reference recipe on image tensors ``X`` ``(n, C, H, W)``: SGD with momentum
    and weight decay, learning rate ×0.1 every ``lr_step`` epochs (default 40 % of
    ``epochs``), crop/flip augmentation, gradient-norm clipping, optionally PGD adversarial
    minibatches; ``max_steps`` stops early (a dry run). Returns ``model`` trained in place."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    epochs = check_int(epochs, name="epochs", minimum=0)
    batch_size = check_int(batch_size, name="batch_size", minimum=1)
    if X.ndim != 4 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(f"X must have shape (n, C, H, W) with n = len(y) > 0, got "
                         f"{tuple(X.shape)} and {tuple(y.shape)}")
    if attack is not None and attack.random_start and not isinstance(attack_generator,
                                                                      torch.Generator):
        raise ValueError("attack_generator must be a torch.Generator when the attack has a "
                         f"random start, got {type(attack_generator).__name__}")
    step = max(1, int(0.4 * epochs)) if lr_step is None else check_int(lr_step, name="lr_step",
                                                                        minimum=1)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                          weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step, gamma=0.1)
    alpha = None if attack is None else (attack.step_size or 2.5 * attack.eps / attack.n_steps)
    n_done = 0
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(X.shape[0], generator=generator).split(batch_size):
            idx = idx.to(X.device)
            xb, yb = X[idx], y[idx]
            if augment:
                xb = augment_crop_flip(xb, generator=generator)
            if attack is not None:
                model.eval()
                xb = _attack(model, xb, yb, attack.norm, attack.eps, attack.n_steps, alpha,
                             attack.random_start, attack_generator, 0.0, 1.0)
                model.train()
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(xb), yb).backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            n_done += 1
            if max_steps is not None and n_done >= max_steps:
                return model
        sched.step()
    return model
