"""Model selection without novel-class labels (Troisemaine et al. 2023, arXiv:2311.05440).

- :func:`hidden_class_kfold`: k-fold cross-validation over the *known classes*: each fold hides
  some known classes, the model is trained on the others (as known) with the hidden rows as its
  unlabeled set, and the clustering of the hidden rows is scored; hyperparameters are picked by
  the mean score, then the model is retrained on all known classes.
- :func:`estimate_k`: the number of novel classes as the argmax of a cluster-validity index
  (silhouette by default) of k-means over candidate k in a representation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .._validation import check_choice, check_int, check_labels, check_matrix, check_rng
from ..results import ResultRepr

__all__ = ["HiddenClassSplit", "hidden_class_kfold", "KEstimate", "estimate_k"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HiddenClassSplit(ResultRepr):
    """One fold: ``train`` rows keep their labels; ``hidden`` rows play the novel classes.

    Attributes
    ----------
    train : ndarray of int
        Indices of the rows of the visible known classes.
    hidden : ndarray of int
        Indices of the rows of the hidden classes (their labels are for scoring only).
    hidden_classes : ndarray
        The classes hidden in this fold.
    """

    train: np.ndarray
    hidden: np.ndarray
    hidden_classes: np.ndarray

    def __post_init__(self) -> None:
        for name in ("train", "hidden", "hidden_classes"):
            a = np.array(getattr(self, name))
            a.flags.writeable = False
            object.__setattr__(self, name, a)


def hidden_class_kfold(y_known, *, n_folds: int, rng=None) -> list[HiddenClassSplit]:
    """Split the known classes into ``n_folds`` groups; fold f hides group f.

    Parameters
    ----------
    y_known : array, shape (n,)
        Labels of the known rows (>= 2 classes; the visible side of every fold keeps >= 1).
    n_folds : int
        2 <= n_folds <= number of classes; the classes are shuffled then dealt in turn.
    rng : Generator, int or None

    Returns
    -------
    list of HiddenClassSplit
        Every class is hidden in exactly one fold; ``train`` and ``hidden`` partition the rows
        and no row of a hidden class is in ``train``.
    """
    y = check_labels(y_known, name="y_known")
    classes = np.unique(y)
    n_folds = check_int(n_folds, name="n_folds", minimum=2, maximum=max(len(classes), 2))
    if len(classes) < 2:
        raise ValueError(f"y_known must hold at least 2 classes, got {len(classes)}")
    rng = check_rng(rng)
    order = classes[rng.permutation(len(classes))]
    folds = []
    for f in range(n_folds):
        hide = np.sort(order[f::n_folds])
        mask = np.isin(y, hide)
        folds.append(HiddenClassSplit(train=np.flatnonzero(~mask), hidden=np.flatnonzero(mask),
                                      hidden_classes=hide))
    return folds


@dataclass(frozen=True, slots=True, kw_only=True)
class KEstimate(ResultRepr):
    """Result of :func:`estimate_k`: the chosen k and the index over the candidates."""

    k: int
    candidates: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    scores: np.ndarray = field(default_factory=lambda: np.empty(0))
    index: str = "silhouette"

    def __post_init__(self) -> None:
        for name in ("candidates", "scores"):
            a = np.array(getattr(self, name))
            a.flags.writeable = False
            object.__setattr__(self, name, a)


def estimate_k(Z, *, k_min: int = 2, k_max: int = 10,
               index: Literal["silhouette", "calinski_harabasz"] = "silhouette",
               n_init: int = 10, rng=None) -> KEstimate:
    """Number of clusters in ``Z``: argmax of a validity index of k-means over k_min..k_max.

    Uses :func:`theorylab.ncd.ncd_kmeans` without prototypes (k-means++ + Lloyd) and
    scikit-learn's ``silhouette_score`` / ``calinski_harabasz_score``.
    """
    from sklearn.metrics import calinski_harabasz_score, silhouette_score

    from .kmeans import ncd_kmeans

    Z = check_matrix(Z, name="Z", min_rows=3)
    k_min = check_int(k_min, name="k_min", minimum=2)
    k_max = check_int(k_max, name="k_max", minimum=k_min, maximum=Z.shape[0] - 1)
    index = check_choice(index, name="index", choices=("silhouette", "calinski_harabasz"))
    n_init = check_int(n_init, name="n_init", minimum=1)
    rng = check_rng(rng)
    score = silhouette_score if index == "silhouette" else calinski_harabasz_score
    ks = np.arange(k_min, k_max + 1)
    scores = np.empty(len(ks))
    for i, k in enumerate(ks):
        lab = ncd_kmeans(Z, k=int(k), n_init=n_init, rng=rng).labels
        scores[i] = score(Z, lab) if len(np.unique(lab)) > 1 else -np.inf
    return KEstimate(k=int(ks[int(np.argmax(scores))]), candidates=ks, scores=scores,
                     index=index)
