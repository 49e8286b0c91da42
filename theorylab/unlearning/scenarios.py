"""Forget-set builders: each returns a :class:`ForgetSplit` of index arrays into the
training set (and, for class-like scenarios, into the test set).

| scenario      | forget set D_f                                                   |
|---------------|------------------------------------------------------------------|
| random        | a uniform subset of D (``fraction`` of it)                       |
| class         | every training point of class ``c`` (test points of ``c`` too)   |
| sub-class     | one member class of a super-class (labels grouped by ``groups``) |
| noisy-label   | a ``fraction`` of labels flipped to another class; D_f = flipped |
| coherent      | one k-means cluster inside one class                             |
| target range  | regression targets with ``low <= y <= high``                     |
| identity      | every row of the chosen identities                               |

D_r is always the complement of D_f in the training set. Integer indices are sorted int64.
No torch here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from theorylab._validation import check_int, check_rng, check_scalar

from ..results import ResultRepr

__all__ = ["ForgetSplit", "check_forget_retain", "random_forget", "class_forget",
           "subclass_forget", "superclass_labels", "noisy_label_forget", "coherent_forget",
           "target_range_forget", "identity_forget", "DIGITS_SUPERCLASSES"]

#: Digits grouped into three super-classes for the sub-class scenario.
DIGITS_SUPERCLASSES: tuple[tuple[int, ...], ...] = ((0, 6, 8, 9), (1, 4, 7), (2, 3, 5))


@dataclass(frozen=True, slots=True, kw_only=True)
class ForgetSplit(ResultRepr):
    """Index arrays of one unlearning scenario.

    Attributes
    ----------
    forget, retain : int64 arrays
        Disjoint, sorted indices into the training set whose union is all of it.
    forget_test, retain_test : int64 arrays or None
        Test indices of the forgotten / kept classes (class and sub-class scenarios).
    y_train : array or None
        Training labels to train on, when the scenario changes them (noisy-label, sub-class).
    y_test : array or None
        Test labels to evaluate on, when the scenario changes them (sub-class).
    scenario : str
        The builder's name.
    """

    forget: np.ndarray
    retain: np.ndarray
    forget_test: np.ndarray | None = None
    retain_test: np.ndarray | None = None
    y_train: np.ndarray | None = None
    y_test: np.ndarray | None = None
    scenario: str = ""


def _as_index(a, *, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer indices, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def check_forget_retain(forget, retain, n: int, *, name_forget: str = "forget",
                        name_retain: str = "retain") -> tuple[np.ndarray, np.ndarray]:
    """Validate a forget/retain pair of index arrays into a set of ``n`` points.

    Raises ``ValueError`` naming the parameter when either is empty, holds duplicates or
    out-of-range indices, or when they overlap.
    """
    n = check_int(n, name="n", minimum=1)
    out = []
    for a, name in ((forget, name_forget), (retain, name_retain)):
        arr = _as_index(a, name=name)
        if arr.size == 0:
            raise ValueError(f"{name} must be non-empty, got an empty index array")
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{name} indices must be in [0, {n - 1}], got {bad}")
        if np.unique(arr).size != arr.size:
            raise ValueError(f"{name} must not repeat indices, got {arr.size - np.unique(arr).size}"
                             " duplicates")
        out.append(np.sort(arr))
    both = np.intersect1d(out[0], out[1])
    if both.size:
        raise ValueError(f"{name_forget} and {name_retain} must be disjoint, got {both.size} "
                         f"shared indices (first {int(both[0])})")
    return out[0], out[1]


def _complement(forget: np.ndarray, n: int) -> np.ndarray:
    mask = np.ones(n, dtype=bool)
    mask[forget] = False
    return np.flatnonzero(mask).astype(np.int64)


def _labels(y, *, name: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-dimensional array, got shape {arr.shape}")
    return arr


def _finish(forget: np.ndarray, n: int, scenario: str, **extra) -> ForgetSplit:
    forget = np.sort(forget.astype(np.int64))
    retain = _complement(forget, n)
    check_forget_retain(forget, retain, n)
    return ForgetSplit(forget=forget, retain=retain, scenario=scenario, **extra)


def random_forget(n: int, *, fraction: float = 0.1, rng=None) -> ForgetSplit:
    """A uniform random ``fraction`` of ``n`` training points (at least one, at most n − 1)."""
    n = check_int(n, name="n", minimum=2)
    fraction = check_scalar(fraction, name="fraction", lower=0.0, upper=1.0,
                            lower_inclusive=False, upper_inclusive=False)
    k = min(max(1, int(round(fraction * n))), n - 1)
    forget = check_rng(rng).choice(n, size=k, replace=False)
    return _finish(forget, n, "random")


def _check_class(c, y: np.ndarray, *, name: str, y_name: str) -> int:
    c = check_int(c, name=name)
    if not np.any(y == c):
        present = np.unique(y).tolist()
        raise ValueError(f"{name} must be a class present in {y_name} (classes {present}), "
                         f"got {c}")
    return c


def class_forget(y_train, *, cls: int, y_test=None) -> ForgetSplit:
    """Every training point of class ``cls``; with ``y_test``, also the test split of it."""
    y = _labels(y_train, name="y_train")
    cls = _check_class(cls, y, name="cls", y_name="y_train")
    extra = {}
    if y_test is not None:
        yt = _labels(y_test, name="y_test")
        extra = {"forget_test": np.flatnonzero(yt == cls).astype(np.int64),
                 "retain_test": np.flatnonzero(yt != cls).astype(np.int64)}
    return _finish(np.flatnonzero(y == cls), y.size, "class", **extra)


def superclass_labels(y, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Map each fine label to the index of its group in ``groups`` (every label must be in
    exactly one group)."""
    y = _labels(y, name="y")
    lookup: dict[int, int] = {}
    for g, members in enumerate(groups):
        for c in members:
            if int(c) in lookup:
                raise ValueError(f"groups must be disjoint, got class {int(c)} in groups "
                                 f"{lookup[int(c)]} and {g}")
            lookup[int(c)] = g
    missing = sorted(set(np.unique(y).tolist()) - set(lookup))
    if missing:
        raise ValueError(f"groups must cover every label, got labels {missing} in no group")
    return np.array([lookup[int(v)] for v in y], dtype=np.int64)


def subclass_forget(y_train, *, subclass: int,
                    groups: Sequence[Sequence[int]] = DIGITS_SUPERCLASSES,
                    y_test=None) -> ForgetSplit:
    """Forget every point of the fine class ``subclass`` while the model is trained on the
    super-class labels (``groups``). The split carries the super-class ``y_train``/``y_test``."""
    y = _labels(y_train, name="y_train")
    subclass = _check_class(subclass, y, name="subclass", y_name="y_train")
    extra: dict = {"y_train": superclass_labels(y, groups)}
    if y_test is not None:
        yt = _labels(y_test, name="y_test")
        extra.update(forget_test=np.flatnonzero(yt == subclass).astype(np.int64),
                     retain_test=np.flatnonzero(yt != subclass).astype(np.int64),
                     y_test=superclass_labels(yt, groups))
    return _finish(np.flatnonzero(y == subclass), y.size, "subclass", **extra)


def noisy_label_forget(y_train, *, n_classes: int, fraction: float = 0.1, rng=None
                       ) -> ForgetSplit:
    """Flip a ``fraction`` of the labels, each to a uniformly drawn *different* class; the
    flipped points are the forget set and the split's ``y_train`` holds the noisy labels."""
    y = _labels(y_train, name="y_train").astype(np.int64)
    n_classes = check_int(n_classes, name="n_classes", minimum=2)
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"y_train labels must be in [0, {n_classes - 1}], got range "
                         f"[{int(y.min())}, {int(y.max())}]")
    rng = check_rng(rng)
    split = random_forget(y.size, fraction=fraction, rng=rng)
    noisy = y.copy()
    shift = rng.integers(1, n_classes, size=split.forget.size)
    noisy[split.forget] = (y[split.forget] + shift) % n_classes
    return ForgetSplit(forget=split.forget, retain=split.retain, y_train=noisy,
                       scenario="noisy_label")


def coherent_forget(X_train, y_train, *, cls: int, n_clusters: int = 4, target_size: int = 45,
                    rng=None) -> ForgetSplit:
    """One k-means cluster of the points of class ``cls``: the cluster whose size is closest
    to ``target_size`` (ties: the lower cluster index). A coherent, non-random forget set."""
    from sklearn.cluster import KMeans

    X = np.asarray(X_train, dtype=np.float64)
    y = _labels(y_train, name="y_train")
    if X.ndim != 2 or X.shape[0] != y.size:
        raise ValueError(f"X_train must have shape ({y.size}, d), got {X.shape}")
    cls = _check_class(cls, y, name="cls", y_name="y_train")
    members = np.flatnonzero(y == cls)
    n_clusters = check_int(n_clusters, name="n_clusters", minimum=1, maximum=members.size)
    target_size = check_int(target_size, name="target_size", minimum=1)
    km = KMeans(n_clusters=n_clusters, n_init=4,
                random_state=int(check_rng(rng).integers(2**31 - 1))).fit(X[members])
    sizes = np.bincount(km.labels_, minlength=n_clusters)
    best = int(np.argmin(np.abs(sizes - target_size)))
    return _finish(members[km.labels_ == best], y.size, "coherent")


def target_range_forget(y_train, *, low: float | None = None, high: float | None = None,
                        quantile: float | None = 0.3) -> ForgetSplit:
    """Regression: forget the points with ``low <= y <= high``. Without bounds, the lowest
    ``quantile`` of the targets (``y <= quantile-th quantile``)."""
    y = _labels(y_train, name="y_train").astype(np.float64)
    if low is None and high is None:
        if quantile is None:
            raise ValueError("quantile must be given when low and high are both None, got None")
        quantile = check_scalar(quantile, name="quantile", lower=0.0, upper=1.0,
                                lower_inclusive=False, upper_inclusive=False)
        low, high = -np.inf, float(np.quantile(y, quantile))
    low = -np.inf if low is None else float(low)
    high = np.inf if high is None else float(high)
    if not low <= high:
        raise ValueError(f"low must be <= high, got low={low!r}, high={high!r}")
    forget = np.flatnonzero((y >= low) & (y <= high))
    if forget.size == 0:
        raise ValueError(f"[low, high] must contain at least one target, got [{low}, {high}] "
                         f"with targets in [{y.min():.4g}, {y.max():.4g}]")
    if forget.size == y.size:
        raise ValueError(f"[low, high] must leave at least one target outside, got [{low}, "
                         f"{high}] covering all {y.size}")
    return _finish(forget, y.size, "target_range")


def identity_forget(identities, *, ids: Sequence[int]) -> ForgetSplit:
    """Every training row whose identity is in ``ids``."""
    idn = _labels(identities, name="identities")
    ids_arr = np.asarray(list(ids))
    if ids_arr.size == 0:
        raise ValueError("ids must name at least one identity, got none")
    absent = sorted(set(ids_arr.tolist()) - set(np.unique(idn).tolist()))
    if absent:
        raise ValueError(f"ids must be identities present in identities, got absent {absent}")
    return _finish(np.flatnonzero(np.isin(idn, ids_arr)), idn.size, "identity")
