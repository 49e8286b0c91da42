"""A scikit-learn compatible classifier around :func:`theorylab.dro.solve_rss`.

Labels are ordinary: any two classes (strings, {0, 1}, {-1, +1}, ...). The unlabeled
out-of-domain samples of the paper's S_1 are passed separately, ``fit(X, y, X_unlabeled=...)``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._estimators import binary_targets, call_solver
from .._validation import check_rng
from .rss import solve_rss

__all__ = ["RSSClassifier"]


class RSSClassifier(ClassifierMixin, BaseEstimator):
    """Linear RSS classifier (Saberi et al. 2024, arXiv:2310.00027) for scikit-learn.

    Parameters
    ----------
    method : {"rss", "robust_erm", "erm"}
        ``"rss"`` uses the unlabeled samples given to :meth:`fit`; without them (or with
        ``lam = 0``) its objective is the robust-ERM one.
    gamma, gamma_u, lam : float or sequence of float
        As in :func:`~theorylab.dro.solve_rss` (sequences are cross-validated).
    loss : {"ramp", "hinge", "logistic"}
    ramp_slope : float
    n_folds : int
    cv_score : {"accuracy", "margin"}
    tol : float
    max_iter : int
    random_state : int, Generator or None
        Fold assignment of the cross-validation.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels; ``classes_[1]`` is the positive class (label +1 for the solver).
    coef_ : ndarray of shape (1, d)
        The unit-norm direction theta.
    intercept_ : ndarray of shape (1,)
        Always zero (the paper's model has no intercept).
    result_ : RSSResult
    n_iter_ : int
        Iterations of the final (refitted) descent.
    n_features_in_ : int

    Warns
    -----
    EstimatorConvergenceWarning
        When the final descent stops at ``max_iter`` (a subclass of both theorylab's and
        scikit-learn's ``ConvergenceWarning``).

    Notes
    -----
    Binary only (the tag ``classifier_tags.multi_class`` is False).

    Examples
    --------
    >>> import numpy as np
    >>> from theorylab.dro import RSSClassifier, sample_gmm_shift
    >>> s = sample_gmm_shift(10, 20, 200, mu_norm=2.0, rng=0)
    >>> y = np.where(s.y > 0, "pos", "neg")
    >>> clf = RSSClassifier(gamma=1.0, lam=1.0).fit(s.X, y, X_unlabeled=s.X_unlabeled)
    >>> clf.result_.method
    'rss'
    >>> bool(np.all(clf.predict(s.X[:3]) == y[:3]))
    True
    """

    def __init__(self, *, method="rss", gamma=1.0, gamma_u=None, lam=1.0, loss="ramp",
                 ramp_slope=1.0, n_folds=3, cv_score="accuracy", tol=1e-6, max_iter=500,
                 random_state=None):
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
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y, *, X_unlabeled=None):
        """Fit on labeled ``(X, y)`` and, for ``method="rss"``, unlabeled ``X_unlabeled``.

        Parameters
        ----------
        X : array_like, shape (m, d)
        y : array_like, shape (m,)
            Two classes, any labels.
        X_unlabeled : array_like, shape (n, d), optional
            Unlabeled (possibly shifted) samples. Ignored by ``"robust_erm"`` and ``"erm"``;
            with ``method="rss"`` and none given, the fit is robust ERM
            (``result_.method == "robust_erm"``).

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_, t = binary_targets(y)
        Xu = None
        if X_unlabeled is not None:
            Xu = check_array(X_unlabeled, dtype=np.float64, input_name="X_unlabeled")
            if Xu.shape[1] != X.shape[1]:
                raise ValueError(f"X_unlabeled must have {X.shape[1]} features like X, "
                                 f"got {Xu.shape[1]}")
        method = self.method if Xu is not None or self.method != "rss" else "robust_erm"
        self.result_ = call_solver(
            solve_rss, X, t, Xu, method=method, gamma=self.gamma, gamma_u=self.gamma_u,
            lam=self.lam, loss=self.loss, ramp_slope=self.ramp_slope, n_folds=self.n_folds,
            cv_score=self.cv_score, tol=self.tol, max_iter=self.max_iter,
            rng=check_rng(self.random_state, name="random_state"))
        self.coef_ = self.result_.w[None, :].copy()
        self.intercept_ = np.zeros(1)
        self.n_iter_ = int(self.result_.n_iter)
        return self

    def decision_function(self, X):
        """Scores ``X @ theta``; positive means ``classes_[1]``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_[0]

    def predict(self, X):
        """Labels from ``classes_`` (ties go to ``classes_[1]``)."""
        s = self.decision_function(X)
        return self.classes_[(s >= 0).astype(int)]

    def predict_proba(self, X):
        """A logistic squashing of the ramp-scaled margin (not calibrated)."""
        s = self.ramp_slope * self.decision_function(X)
        p = 1.0 / (1.0 + np.exp(-np.clip(2.0 * s, -50, 50)))
        return np.column_stack([1 - p, p])
