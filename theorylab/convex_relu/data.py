"""Offline data sets of the convex-ReLU claims (no downloads)."""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_int, check_positive, check_rng

__all__ = ["breast_cancer", "synthetic_classification", "one_d_regression", "digits_pair"]


def _standardise(X):
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def breast_cancer(*, n: int | None = None, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn breast cancer: columns z-scored (population std), ones column appended
    last, labels in {-1, +1}; ``n`` rows drawn without replacement when given (n=569, d=31)."""
    from sklearn.datasets import load_breast_cancer

    Xr, yr = load_breast_cancer(return_X_y=True)
    if n is not None:
        n = check_int(n, name="n", minimum=2, maximum=Xr.shape[0])
        idx = np.sort(check_rng(rng).choice(Xr.shape[0], n, replace=False))
        Xr, yr = Xr[idx], yr[idx]
    return np.c_[_standardise(Xr), np.ones(len(Xr))], 2.0 * yr - 1.0


def synthetic_classification(n: int = 1000, *, n_features: int = 20,
                             rng=None) -> tuple[np.ndarray, np.ndarray]:
    """``make_classification(n, n_features, n_informative=n_features//2)``, standardised,
    bias column appended, labels in {-1, +1}.

    ``rng``: an int is passed to scikit-learn as its ``random_state`` (so ``rng=1`` gives
    the data set earlier versions produced by default); a ``Generator`` draws that seed;
    None gives fresh entropy."""
    from sklearn.datasets import make_classification

    n = check_int(n, name="n", minimum=2)
    n_features = check_int(n_features, name="n_features", minimum=2)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        seed = check_int(rng, name="rng", minimum=0)
    else:
        seed = int(check_rng(rng).integers(0, 2**31 - 1))
    X, y = make_classification(n_samples=n, n_features=n_features,
                               n_informative=n_features // 2, random_state=seed)
    return np.c_[_standardise(X), np.ones(n)], 2.0 * y - 1.0


def one_d_regression(n: int, *, noise: float = 0.1, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Scalar inputs on [-1, 1] plus a bias column; y = sin(3x) + noise (d = 2)."""
    n = check_int(n, name="n", minimum=1)
    noise = check_positive(noise, name="noise", strict=False)
    rng = check_rng(rng)
    x = np.sort(rng.uniform(-1, 1, n))
    return np.c_[x, np.ones(n)], np.sin(3 * x) + noise * rng.standard_normal(n)


def digits_pair(a: int = 2, b: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn 8x8 digits, classes a (label -1) vs b (+1), pixels / 16, bias column."""
    from sklearn.datasets import load_digits

    a = check_int(a, name="a", minimum=0, maximum=9)
    b = check_int(b, name="b", minimum=0, maximum=9)
    if a == b:
        raise ValueError(f"b must differ from a, got a = b = {a}")
    X, y = load_digits(return_X_y=True)
    keep = (y == a) | (y == b)
    return np.c_[X[keep] / 16.0, np.ones(keep.sum())], np.where(y[keep] == b, 1.0, -1.0)
