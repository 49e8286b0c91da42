"""A scikit-learn compatible classifier around :func:`theorylab.dro.solve_rss`.

Unlabeled samples follow scikit-learn's semi-supervised convention: rows of ``X`` whose label
is ``-1`` (``unlabeled_value``) are unlabeled, as in ``SelfTrainingClassifier``; the two
remaining classes are mapped to -1/+1 for the solver.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import check_labels, check_matrix, check_vector
from .rss import solve_rss

__all__ = ["RSSClassifier"]


class RSSClassifier(ClassifierMixin, BaseEstimator):
    """Linear RSS classifier (Saberi et al. 2024, arXiv:2310.00027) for scikit-learn.

    Parameters
    ----------
    method : {"rss", "robust_erm", "erm"}
    gamma, gamma_u, lam : float or sequence of float
        As in :func:`~theorylab.dro.solve_rss` (sequences are cross-validated).
    loss : {"ramp", "hinge", "logistic"}
    ramp_slope : float
    n_folds : int
    cv_score : {"accuracy", "margin"}
    tol : float
    max_iter : int
    unlabeled_value : int
        Label marking an unlabeled row in ``y`` (scikit-learn's convention is -1).
    random_state : int, Generator or None

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_ : ndarray of shape (1, d)
    intercept_ : ndarray of shape (1,)
        Always zero (the paper's model has no intercept).
    result_ : RSSResult

    Examples
    --------
    >>> import numpy as np
    >>> from theorylab.dro import RSSClassifier, sample_gmm_shift
    >>> s = sample_gmm_shift(10, 20, 200, mu_norm=2.0, rng=0)
    >>> X = np.vstack([s.X, s.X_unlabeled])
    >>> y = np.concatenate([(s.y > 0).astype(int), -np.ones(200, dtype=int)])
    >>> clf = RSSClassifier(gamma=1.0, lam=1.0).fit(X, y)
    >>> clf.predict(s.X[:3]).tolist() == (s.y[:3] > 0).astype(int).tolist()
    True
    """

    def __init__(self, *, method="rss", gamma=1.0, gamma_u=None, lam=1.0, loss="ramp",
                 ramp_slope=1.0, n_folds=3, cv_score="accuracy", tol=1e-6, max_iter=500,
                 unlabeled_value=-1, random_state=None):
        self.method = method
        self.gamma = gamma
        self.gamma_u = gamma_u
        self.lam = lam
        self.loss = loss
        self.ramp_slope = ramp_slope
        self.n_folds = n_folds
        self.cv_score = cv_score
        self.tol = tol
        self.max_iter = max_iter
        self.unlabeled_value = unlabeled_value
        self.random_state = random_state

    def fit(self, X, y):
        """Fit on labeled rows and (for ``method="rss"``) the unlabeled rows of ``X``."""
        X = check_matrix(X, name="X")
        y = check_labels(y, name="y")
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        lab = y != self.unlabeled_value
        classes = np.unique(y[lab])
        if classes.shape[0] != 2:
            raise ValueError(f"y must contain exactly 2 labeled classes, got {classes.shape[0]}")
        self.classes_ = classes
        ys = np.where(y[lab] == classes[1], 1.0, -1.0)
        Xu = X[~lab] if np.any(~lab) else None
        method = self.method if Xu is not None or self.method != "rss" else "robust_erm"
        self.result_ = solve_rss(
            X[lab], ys, Xu, method=method, gamma=self.gamma, gamma_u=self.gamma_u,
            lam=self.lam, loss=self.loss, ramp_slope=self.ramp_slope, n_folds=self.n_folds,
            cv_score=self.cv_score, tol=self.tol, max_iter=self.max_iter,
            rng=self.random_state)
        self.coef_ = self.result_.w[None, :].copy()
        self.intercept_ = np.zeros(1)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X):
        check_is_fitted(self, "result_")
        X = check_matrix(X, name="X", shape=(None, self.n_features_in_))
        return X @ self.coef_[0]

    def predict(self, X):
        s = self.decision_function(X)
        return self.classes_[(s >= 0).astype(int)]

    def predict_proba(self, X):
        """A logistic squashing of the ramp-scaled margin (not calibrated)."""
        s = self.ramp_slope * self.decision_function(X)
        p = 1.0 / (1.0 + np.exp(-np.clip(2.0 * s, -50, 50)))
        return np.column_stack([1 - p, p])

    def _check_vector(self, v):  # pragma: no cover - kept for symmetry with other wrappers
        return check_vector(v, name="v")
