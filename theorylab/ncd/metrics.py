"""Clustering accuracy under the best one-to-one matching of clusters to classes.

Troisemaine et al. 2023 (arXiv:2311.05440), evaluation: the accuracy of a clustering of the novel
classes is max over matchings pi of (1/n) sum_i 1[y_i = pi(c_i)], the matching found by the
Hungarian algorithm on the contingency table (scipy's ``linear_sum_assignment``). With more
clusters than classes the unmatched clusters count as errors.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .._validation import check_labels

__all__ = ["hungarian_accuracy"]


def hungarian_accuracy(y_true, y_pred) -> float:
    """Best-matching accuracy of cluster labels ``y_pred`` against classes ``y_true``.

    Invariant to any relabelling of either argument; 1.0 for a perfect clustering.
    """
    y_true = check_labels(y_true, name="y_true")
    y_pred = check_labels(y_pred, name="y_pred", n=y_true.shape[0])
    classes, t = np.unique(y_true, return_inverse=True)
    clusters, c = np.unique(y_pred, return_inverse=True)
    table = np.zeros((len(clusters), len(classes)), dtype=np.int64)
    np.add.at(table, (c, t), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / y_true.shape[0])
