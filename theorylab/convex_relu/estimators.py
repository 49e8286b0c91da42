"""scikit-learn compatible estimators built on the convex-ReLU solver functions.

The estimators only validate inputs with scikit-learn's helpers (so the messages are
scikit-learn's), sample the activation patterns and call :func:`solve_convex_relu_admm`,
:func:`solve_convex_relu_cvxpy` or :func:`solve_convex_relu_robust`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._estimators import binary_targets, call_solver
from .._validation import check_choice, check_rng
from .admm import solve_convex_relu_admm
from .cvx import solve_convex_relu_cvxpy, solve_convex_relu_robust
from .patterns import sample_activation_patterns
from .solve import solve_convex_relu

__all__ = ["ConvexReLURegressor", "ConvexReLUClassifier"]


class _ConvexReLUBase(BaseEstimator):
    _loss_choices: tuple[str, ...] = ("squared",)

    def _augment(self, X):
        return np.c_[X, np.ones(X.shape[0])] if self.fit_intercept else X

    def _fit_targets(self, X, t):
        """Solve the convex program on validated ``X`` and numeric targets ``t``."""
        check_choice(self.solver, name="solver", choices=("auto", "admm", "cvxpy"))
        check_choice(self.loss, name="loss", choices=self._loss_choices)
        Xa = self._augment(X)
        rng = check_rng(self.random_state, name="random_state")
        D = sample_activation_patterns(Xa, self.n_patterns, rng=rng)
        eps = float(getattr(self, "eps_adv", 0.0))
        if eps > 0:
            mask = np.ones(Xa.shape[1], bool)
            if self.fit_intercept:
                mask[-1] = False
            res = call_solver(solve_convex_relu_robust, Xa, t, beta=self.beta, patterns=D,
                              eps_adv=eps, loss=self.loss, perturbable=mask, stacklevel=4)
        elif self.solver == "auto":
            # Clarabel for small programs, the certified ADMM for large ones (the result's
            # ``method`` says which ran)
            res = call_solver(solve_convex_relu, Xa, t, beta=self.beta, patterns=D,
                              loss=self.loss, method="auto", tol=self.tol,
                              max_iter=self.max_iter, stacklevel=4)
        elif self.solver == "cvxpy":
            res = call_solver(solve_convex_relu_cvxpy, Xa, t, beta=self.beta, patterns=D,
                              loss=self.loss, stacklevel=4)
        else:
            res = call_solver(solve_convex_relu_admm, Xa, t, beta=self.beta, patterns=D,
                              loss=self.loss, tol=self.tol, max_iter=self.max_iter,
                              stacklevel=4)
        self.result_ = res
        self.n_iter_ = int(res.n_iter)
        return self

    def _decision(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.result_.predict(self._augment(X))


class ConvexReLURegressor(RegressorMixin, _ConvexReLUBase):
    """Two-layer ReLU regression trained to global optimality on sampled patterns.

    Parameters
    ----------
    beta : float
        Weight decay (objective is a sum of squared errors, not a mean).
    n_patterns : int
        Gaussian directions sampled for the activation patterns.
    solver : {"auto", "admm", "cvxpy"}
        ``"auto"`` (default): :func:`solve_convex_relu`, which runs CVXPY + Clarabel on small
        programs and the certified ADMM on large ones; or :func:`solve_convex_relu_admm` /
        :func:`solve_convex_relu_cvxpy` (Clarabel) explicitly.
    loss : {"squared"}
        Kept for symmetry with the classifier.
    tol, max_iter : float, int
        ADMM tolerance and iteration cap.
    fit_intercept : bool
        Append a ones column (a bias for every neuron).
    random_state : int, Generator or None
        Pattern sampling.

    Attributes
    ----------
    result_ : ConvexReLUResult
        The solver's result (weights, objective, convergence, history).
    n_iter_ : int
        Iterations of the solver (ADMM iterations, or the conic solver's).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.

    Warns
    -----
    EstimatorConvergenceWarning
        When the ADMM stops at ``max_iter`` (a subclass of both theorylab's and
        scikit-learn's ``ConvergenceWarning``); ``result_.converged`` is then False.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 2)); y = np.abs(X[:, 0])
    >>> model = ConvexReLURegressor(beta=1e-2, n_patterns=20, random_state=0).fit(X, y)
    >>> model.score(X, y) > 0.9
    True
    """

    def __init__(self, beta: float = 1e-3, n_patterns: int = 50, *, solver: str = "auto",
                 loss: str = "squared", tol: float = 1e-3, max_iter: int = 20_000,
                 fit_intercept: bool = True, random_state=None):
        self.beta = beta
        self.n_patterns = n_patterns
        self.solver = solver
        self.loss = loss
        self.tol = tol
        self.max_iter = max_iter
        self.fit_intercept = fit_intercept
        self.random_state = random_state

    def fit(self, X, y):
        """Fit on ``X`` (n, d) and real targets ``y`` (n,)."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        return self._fit_targets(X, y.astype(np.float64, copy=False))

    def predict(self, X):
        """Output of the fitted ReLU network on the rows of ``X``."""
        return self._decision(X)


class ConvexReLUClassifier(ClassifierMixin, _ConvexReLUBase):
    """Binary two-layer ReLU classifier trained on the convex program.

    Parameters
    ----------
    beta, n_patterns, solver, tol, max_iter, fit_intercept, random_state :
        As in :class:`ConvexReLURegressor`.
    loss : {"squared", "logistic", "hinge"}
        Loss with labels mapped to {-1, +1}. The default, squared, is where the ADMM
        converges fastest; for logistic/hinge (inner proximal step) convergence is
        instance-dependent (it stalled at a 1-10% gap on an XOR toy with beta = 1e-2), so
        prefer ``solver="cvxpy"`` when the ADMM warns.
    eps_adv : float
        l_inf radius for robust (adversarial) training; > 0 uses
        :func:`solve_convex_relu_robust` (CVXPY).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels; ``classes_[1]`` is the positive class (target +1).
    result_ : ConvexReLUResult
    n_iter_ : int
    n_features_in_ : int

    Notes
    -----
    Binary only (the tag ``classifier_tags.multi_class`` is False): ``fit`` raises a
    ValueError on three or more classes.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((80, 2)); y = (X[:, 0] * X[:, 1] > 0).astype(int)
    >>> clf = ConvexReLUClassifier(beta=1e-2, n_patterns=30, random_state=0,
    ...                            solver="cvxpy").fit(X, y)
    >>> clf.score(X, y) > 0.85
    True
    """

    _loss_choices = ("logistic", "hinge", "squared")

    def __init__(self, beta: float = 1e-3, n_patterns: int = 50, *, solver: str = "auto",
                 loss: str = "squared", eps_adv: float = 0.0, tol: float = 1e-3,
                 max_iter: int = 20_000, fit_intercept: bool = True, random_state=None):
        self.beta = beta
        self.n_patterns = n_patterns
        self.solver = solver
        self.loss = loss
        self.eps_adv = eps_adv
        self.tol = tol
        self.max_iter = max_iter
        self.fit_intercept = fit_intercept
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y):
        """Fit on ``X`` (n, d) and two-class labels ``y`` (n,)."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_, t = binary_targets(y)
        return self._fit_targets(X, t)

    def decision_function(self, X):
        """Network output; positive means ``classes_[1]``."""
        return self._decision(X)

    def predict(self, X):
        """Labels from ``classes_`` (ties go to ``classes_[1]``)."""
        return np.where(self.decision_function(X) >= 0, self.classes_[1], self.classes_[0])
