"""Imbalanced binary data sets (bundled with scikit-learn or synthetic) and a stratified,
standardised train/validation/test split. Nothing is downloaded.

- ``"breast_cancer"``: positive = malignant (212 of 569, 37 %); ``positive_fraction`` keeps
  all 357 benign and subsamples the malignant ones.
- ``"digits_<d>"`` (d = 0..9): digit d vs the rest (~10 % positive), 64 pixels / 16.
- ``"wine"``: class 0 (59 of 178) vs the rest.
- ``"synthetic"``: ``make_classification`` (1000 samples, 20 features, 5 informative,
  ``weights=[1 − f, f]``, ``flip_y=0.01``), f = ``positive_fraction`` (default 0.05).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theorylab._validation import check_matrix, check_rng, check_scalar, check_vector
from theorylab.results import ResultRepr, freeze_array

__all__ = ["BinaryDataset", "BinarySplit", "imbalanced_dataset", "split_standardize"]

_NAMES = ("breast_cancer", "wine", "synthetic", *(f"digits_{d}" for d in range(10)))


@dataclass(frozen=True, slots=True, kw_only=True)
class BinaryDataset(ResultRepr):
    """Features ``X (n, d)``, labels ``y (n,)`` in {0, 1}, the set's name and positive rate."""

    X: np.ndarray
    y: np.ndarray
    name: str
    positive_fraction: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "X", freeze_array(self.X))
        object.__setattr__(self, "y", freeze_array(self.y))


@dataclass(frozen=True, slots=True, kw_only=True)
class BinarySplit(ResultRepr):
    """Stratified train/validation/test parts, standardised with the training statistics."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    def __post_init__(self) -> None:
        for f in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
            object.__setattr__(self, f, freeze_array(getattr(self, f)))


def imbalanced_dataset(name: str, *, positive_fraction: float | None = None,
                       rng=None) -> BinaryDataset:
    """One binary data set, optionally subsampled to ``positive_fraction`` positives.

    Parameters
    ----------
    name : str
        ``"breast_cancer"``, ``"wine"``, ``"synthetic"`` or ``"digits_0"`` … ``"digits_9"``.
    positive_fraction : float in (0, 1), optional
        Target share of positives: positives are subsampled (never duplicated), so it must
        not exceed the natural share; for ``"synthetic"`` it is the generator's class weight.
    rng : Generator | int | None
        Draws the subsample (and the synthetic data).

    Examples
    --------
    >>> ds = imbalanced_dataset("breast_cancer", positive_fraction=30 / 387, rng=0)
    >>> ds.X.shape, int(ds.y.sum())
    ((387, 30), 30)
    """
    if not isinstance(name, str) or name not in _NAMES:
        raise ValueError(f"name must be one of 'breast_cancer', 'wine', 'synthetic', "
                         f"'digits_0'..'digits_9', got {name!r}")
    if positive_fraction is not None:
        positive_fraction = check_scalar(positive_fraction, name="positive_fraction", lower=0.0,
                                         upper=1.0, lower_inclusive=False,
                                         upper_inclusive=False)
    rng = check_rng(rng)
    from sklearn import datasets

    if name == "synthetic":
        f = 0.05 if positive_fraction is None else positive_fraction
        seed = int(rng.integers(2**31 - 1))
        X, y = datasets.make_classification(n_samples=1000, n_features=20, n_informative=5,
                                            weights=[1 - f, f], flip_y=0.01, random_state=seed)
        return BinaryDataset(X=X.astype(np.float64), y=y.astype(np.float64), name=name,
                             positive_fraction=float(y.mean()))
    if name == "breast_cancer":
        d = datasets.load_breast_cancer()
        X, y = d.data, (d.target == 0).astype(np.float64)  # sklearn codes malignant as 0
    elif name == "wine":
        d = datasets.load_wine()
        X, y = d.data, (d.target == 0).astype(np.float64)
    else:
        d = datasets.load_digits()
        X, y = d.data / 16.0, (d.target == int(name[-1])).astype(np.float64)
    X = X.astype(np.float64)
    if positive_fraction is not None:
        pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        natural = pos.size / y.size
        if positive_fraction > natural + 1e-12:
            raise ValueError(f"positive_fraction must be <= the natural share {natural:.4f} "
                             f"of {name!r}, got {positive_fraction!r}")
        k = int(round(positive_fraction * neg.size / (1 - positive_fraction)))
        if k < 4:
            raise ValueError(f"positive_fraction must leave at least 4 positives, got "
                             f"{positive_fraction!r} ({k} positives)")
        keep = np.sort(np.r_[neg, rng.choice(pos, size=k, replace=False)])
        X, y = X[keep], y[keep]
    return BinaryDataset(X=X, y=y, name=name, positive_fraction=float(y.mean()))


def split_standardize(X, y, *, val_fraction: float = 0.2, test_fraction: float = 0.4,
                      rng=None) -> BinarySplit:
    """Stratified random train/validation/test split; features standardised with the
    training mean and standard deviation (constant columns are left centred, not scaled).

    Each part gets at least one sample of each class.

    Examples
    --------
    >>> ds = imbalanced_dataset("wine", rng=0)
    >>> sp = split_standardize(ds.X, ds.y, rng=0)
    >>> sp.X_train.shape[0] + sp.X_val.shape[0] + sp.X_test.shape[0]
    178
    """
    X = check_matrix(X, name="X")
    y = check_vector(y, name="y", n=X.shape[0])
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"y must hold only 0 and 1, got {y[(y != 0) & (y != 1)][0]!r}")
    vf = check_scalar(val_fraction, name="val_fraction", lower=0.0, upper=1.0,
                      lower_inclusive=False, upper_inclusive=False)
    tf = check_scalar(test_fraction, name="test_fraction", lower=0.0, upper=1.0,
                      lower_inclusive=False, upper_inclusive=False)
    if vf + tf >= 1.0:
        raise ValueError(f"val_fraction + test_fraction must be < 1, got {vf + tf!r}")
    rng = check_rng(rng)
    parts: list[list[np.ndarray]] = [[], [], []]
    for c in (0.0, 1.0):
        idx = rng.permutation(np.flatnonzero(y == c))
        if idx.size < 3:
            raise ValueError(f"y must have at least 3 samples of class {int(c)}, got {idx.size}")
        n_te = min(max(1, int(round(tf * idx.size))), idx.size - 2)
        n_va = min(max(1, int(round(vf * idx.size))), idx.size - n_te - 1)
        parts[2].append(idx[:n_te])
        parts[1].append(idx[n_te:n_te + n_va])
        parts[0].append(idx[n_te + n_va:])
    tr, va, te = (np.sort(np.concatenate(p)) for p in parts)
    mu = X[tr].mean(axis=0)
    sd = X[tr].std(axis=0)
    sd[sd == 0] = 1.0
    z = lambda a: (X[a] - mu) / sd
    return BinarySplit(X_train=z(tr), y_train=y[tr], X_val=z(va), y_val=y[va], X_test=z(te),
                       y_test=y[te])
