"""Offline data sets for the unlearning harness, as plain NumPy splits.

Classification: scikit-learn digits (8×8, 1797 images, default split 1257 train / 540 test)
and Fashion-MNIST read from the Debian package ``dataset-fashion-mnist`` (IDX files under
``/usr/share/datasets/fashion-mnist``, or the folder ``$THEORYLAB_FASHION_MNIST`` names).
Regression: scikit-learn diabetes and a seeded ``make_friedman1``. Nothing is downloaded;
torch is not imported here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import numpy as np

from theorylab._fashion import (
    FASHION_MNIST_DIR,
    fashion_mnist_dir,
    fashion_mnist_file,
    read_idx,
)
from theorylab._validation import check_int, check_rng

from ..results import ResultRepr

__all__ = ["Dataset", "load_digits_split", "load_diabetes_split", "load_friedman1_split",
           "load_fashion_mnist_split", "read_idx", "FASHION_MNIST_DIR"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset(ResultRepr):
    """A train/test split.

    ``X_*`` are float32 arrays ``(n, d)`` (images flattened, values in [0, 1] for images);
    ``y_*`` are int64 labels (classification) or float32 targets (regression).
    ``identities`` (optional, one integer per training row) names who contributed each row.
    ``image_shape`` is ``(channels, height, width)`` for image data, else ``None``.
    """

    name: str
    task: Literal["classification", "regression"]
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int | None = None
    image_shape: tuple[int, int, int] | None = None
    identities: np.ndarray | None = None

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])


def _split(n: int, n_test: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    perm = rng.permutation(n)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def _check_test_size(test_size: int, n: int) -> int:
    return check_int(test_size, name="test_size", minimum=1, maximum=n - 1)


def load_digits_split(*, test_size: int = 540, rng=None) -> Dataset:
    """scikit-learn digits scaled to [0, 1]; ``test_size`` rows drawn from ``rng`` for testing."""
    from sklearn.datasets import load_digits

    d = load_digits()
    test_size = _check_test_size(test_size, len(d.target))
    tr, te = _split(len(d.target), test_size, check_rng(rng))
    X = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    return Dataset(name="digits", task="classification", X_train=X[tr], y_train=y[tr],
                   X_test=X[te], y_test=y[te], n_classes=10, image_shape=(1, 8, 8))


def _standardise(X_tr, X_te, y_tr, y_te):
    mu, sd = X_tr.mean(0), X_tr.std(0)
    sd[sd == 0] = 1.0
    ym, ys = y_tr.mean(), y_tr.std()
    f = lambda a: a.astype(np.float32)
    return f((X_tr - mu) / sd), f((X_te - mu) / sd), f((y_tr - ym) / ys), f((y_te - ym) / ys)


def load_diabetes_split(*, test_size: int = 110, rng=None) -> Dataset:
    """scikit-learn diabetes (442 × 10); features and target standardised on the train split."""
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    test_size = _check_test_size(test_size, len(d.target))
    tr, te = _split(len(d.target), test_size, check_rng(rng))
    Xtr, Xte, ytr, yte = _standardise(d.data[tr], d.data[te], d.target[tr], d.target[te])
    return Dataset(name="diabetes", task="regression", X_train=Xtr, y_train=ytr, X_test=Xte,
                   y_test=yte)


def load_friedman1_split(*, n_samples: int = 1000, n_features: int = 10, noise: float = 1.0,
                         test_size: int = 250, rng=None) -> Dataset:
    """``make_friedman1`` drawn from ``rng`` (one seed for the data, one for the split)."""
    from sklearn.datasets import make_friedman1

    n_samples = check_int(n_samples, name="n_samples", minimum=10)
    n_features = check_int(n_features, name="n_features", minimum=5)
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    test_size = _check_test_size(test_size, n_samples)
    rng = check_rng(rng)
    X, y = make_friedman1(n_samples=n_samples, n_features=n_features, noise=noise,
                          random_state=int(rng.integers(2**31 - 1)))
    tr, te = _split(n_samples, test_size, rng)
    Xtr, Xte, ytr, yte = _standardise(X[tr], X[te], y[tr], y[te])
    return Dataset(name="friedman1", task="regression", X_train=Xtr, y_train=ytr, X_test=Xte,
                   y_test=yte)


def load_fashion_mnist_split(root: str | os.PathLike | None = None, *,
                             n_train: int | None = None, n_test: int | None = None,
                             rng=None) -> Dataset:
    """Fashion-MNIST from local IDX files, images flattened to 784 values in [0, 1].

    ``n_train`` / ``n_test`` draw subsets (without replacement, from ``rng``) of the 60 000
    training and 10 000 test images; ``None`` keeps all of them.

    Looks in ``root``, else ``$THEORYLAB_FASHION_MNIST``, else the Debian package's folder
    ``/usr/share/datasets/fashion-mnist``.

    Raises
    ------
    FashionMNISTMissing
        (a ``FileNotFoundError``) naming the folder and the missing file, when the data are
        not there.
    """
    base = fashion_mnist_dir(root)
    rng = check_rng(rng)
    parts = []
    for prefix, n_keep, pname in (("train", n_train, "n_train"), ("t10k", n_test, "n_test")):
        X = read_idx(fashion_mnist_file(base, f"{prefix}-images-idx3-ubyte"))
        y = read_idx(fashion_mnist_file(base, f"{prefix}-labels-idx1-ubyte"))
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"{prefix} images and labels must have the same length, got "
                             f"{X.shape[0]} and {y.shape[0]} in {base}")
        if n_keep is not None:
            n_keep = check_int(n_keep, name=pname, minimum=1, maximum=X.shape[0])
            keep = np.sort(rng.choice(X.shape[0], size=n_keep, replace=False))
            X, y = X[keep], y[keep]
        parts += [X.reshape(X.shape[0], -1).astype(np.float32) / 255.0, y.astype(np.int64)]
    return Dataset(name="fashion_mnist", task="classification", X_train=parts[0],
                   y_train=parts[1], X_test=parts[2], y_test=parts[3], n_classes=10,
                   image_shape=(1, 28, 28))
