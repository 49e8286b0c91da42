"""Confusion-matrix metrics in NumPy, for hard (0/1) or soft ([0, 1]) predictions.

With hard predictions these are the textbook metrics (equal to scikit-learn's); with soft
predictions a_i ∈ [0, 1] they are AnyLoss's soft metrics (the torch loss's reference twin).
Counts: TP = Σ a_i y_i, FN = Σ (1 − a_i) y_i, FP = Σ a_i (1 − y_i), TN = Σ (1 − a_i)(1 − y_i),
N₁ = Σ y_i, N₀ = N − N₁.

- accuracy = (TP + TN) / N;
- F_β = (1 + β²) TP / (β² N₁ + TP + FP)  (= (1 + β²) TP / ((1 + β²) TP + β² FN + FP));
- balanced accuracy = (TP / N₁ + TN / N₀) / 2;
- G-mean = sqrt(TP / N₁ · TN / N₀) (the loss minimises 1 − TP·TN / (N₁ N₀), its square).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from theorylab._validation import check_choice, check_positive, check_vector

__all__ = ["METRICS", "confusion_metric", "tune_threshold"]

METRICS = ("accuracy", "f_beta", "balanced_accuracy", "g_mean")
Metric = Literal["accuracy", "f_beta", "balanced_accuracy", "g_mean"]


def _labels(y_true, n: int | None = None) -> np.ndarray:
    y = check_vector(y_true, name="y_true", n=n, allow_bool=True)
    if not np.all((y == 0) | (y == 1)):
        bad = y[(y != 0) & (y != 1)][0]
        raise ValueError(f"y_true must hold only 0 and 1, got {bad!r}")
    if y.min() == y.max():
        raise ValueError(f"y_true must contain both classes 0 and 1, got only {int(y[0])}")
    return y


def _metric_value(tp, fn, fp, tn, metric: str, beta: float) -> float:
    n1, n0 = tp + fn, fp + tn
    if metric == "accuracy":
        return float((tp + tn) / (n1 + n0))
    if metric == "f_beta":
        b2 = beta * beta
        return float((1 + b2) * tp / (b2 * n1 + tp + fp))
    if metric == "balanced_accuracy":
        return float(0.5 * (tp / n1 + tn / n0))
    return float(np.sqrt(tp / n1 * tn / n0))


def confusion_metric(y_true, y_pred, *, metric: Metric = "f_beta", beta: float = 1.0) -> float:
    """A confusion-matrix metric of predictions ``y_pred`` ∈ [0, 1] against 0/1 labels.

    Parameters
    ----------
    y_true : array (n,)
        Labels in {0, 1}; both classes must occur.
    y_pred : array (n,)
        Hard predictions (0/1) or soft ones in [0, 1] (AnyLoss's a_i = A(p_i)).
    metric : {"accuracy", "f_beta", "balanced_accuracy", "g_mean"}
    beta : float > 0
        The β of F_β (used only for ``"f_beta"``).

    Returns
    -------
    float
        The metric in [0, 1].

    Examples
    --------
    >>> confusion_metric([1, 1, 0, 0], [1, 0, 0, 0], metric="f_beta")
    0.6666666666666666
    >>> confusion_metric([1, 1, 0, 0], [1, 0, 1, 0], metric="balanced_accuracy")
    0.5
    """
    metric = check_choice(metric, name="metric", choices=METRICS)
    beta = check_positive(beta, name="beta")
    y = _labels(y_true)
    a = check_vector(y_pred, name="y_pred", n=y.size, allow_bool=True)
    if a.min() < 0 or a.max() > 1:
        bad = a[(a < 0) | (a > 1)][0]
        raise ValueError(f"y_pred must be in [0, 1], got {bad!r}")
    tp = float(np.sum(a * y))
    fn = float(np.sum((1 - a) * y))
    fp = float(np.sum(a * (1 - y)))
    tn = float(np.sum((1 - a) * (1 - y)))
    return _metric_value(tp, fn, fp, tn, metric, beta)


def tune_threshold(scores, y_true, *, metric: Metric = "f_beta", beta: float = 1.0) -> float:
    """The decision threshold t maximising ``metric`` of ``scores >= t`` on a validation set.

    Every distinct score is a candidate (predictions change only there); the returned
    threshold is the midpoint between the best candidate and the next lower distinct score
    (the best candidate itself when it is the lowest), so a test score equal to a validation
    score is classified the same way. Ties go to the candidate closest to 0.5.

    Examples
    --------
    >>> tune_threshold([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1])
    0.25
    """
    metric = check_choice(metric, name="metric", choices=METRICS)
    beta = check_positive(beta, name="beta")
    y = _labels(y_true)
    s = check_vector(scores, name="scores", n=y.size)
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    # predictions "score >= t" for t = each distinct score: the top-k samples are positive
    last = np.r_[np.nonzero(np.diff(s_sorted))[0], s.size - 1]  # end of each group of equals
    tp = np.cumsum(y_sorted)[last]
    fp = np.cumsum(1 - y_sorted)[last]
    n1 = float(y.sum())
    n0 = float(y.size - n1)
    fn, tn = n1 - tp, n0 - fp
    vals = np.array([_metric_value(*c, metric, beta) for c in zip(tp, fn, fp, tn, strict=True)])
    cand = s_sorted[last]
    best = np.flatnonzero(vals >= vals.max() - 1e-12)
    k = best[np.argmin(np.abs(cand[best] - 0.5))]
    if k + 1 < cand.size:
        return float(0.5 * (cand[k] + cand[k + 1]))
    return float(cand[k])
