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
    predict_logits,
    train_model,
)

from ..results import ResultRepr
from .adversarial import adversarial_train

__all__ = ["AttackConfig", "Evaluation", "fit_classifier", "predict_labels", "clean_accuracy",
           "confusion_matrix", "train_and_evaluate"]


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
    return predict_logits(model, Xt).argmax(dim=1).cpu().numpy().astype(np.int64)


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
