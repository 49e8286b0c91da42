"""scikit-learn compatibility of every estimator in theorylab.

``parametrize_with_checks`` runs scikit-learn's whole estimator suite (API, input validation
and its messages, pickling, cloning, invariances, minimal accuracy on easy data). Nothing is
skipped or marked as an expected failure; the real limitations (binary classifiers only) are
declared through ``__sklearn_tags__``. The ADMM iteration cap is lowered so that the suite stays
short, as scikit-learn does for its own iterative estimators; the ConvergenceWarning this may
cause is silenced inside the checks only (the accuracy checks still have to pass).
"""

import importlib
import inspect
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

import theorylab
from theorylab._estimators import EstimatorConvergenceWarning
from theorylab._result import ConvergenceWarning
from theorylab.convex_relu import (
    ConvexReLUClassifier,
    ConvexReLURegressor,
    sample_activation_patterns,
    solve_convex_relu_admm,
    solve_convex_relu_cvxpy,
    solve_convex_relu_robust,
)
from theorylab.dro import RSSClassifier, sample_gmm_shift, solve_rss

ESTIMATORS = [
    ConvexReLURegressor(max_iter=300),
    ConvexReLUClassifier(max_iter=300),
    ConvexReLUClassifier(loss="hinge", max_iter=300),
    RSSClassifier(),
    RSSClassifier(method="erm"),
    RSSClassifier(gamma=[0.5, 2.0], lam=[0.5, 1.0]),  # cross-validated hyperparameters
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_every_estimator_is_checked():
    """Every public BaseEstimator subclass defined in theorylab is in ESTIMATORS."""
    root = Path(theorylab.__file__).parent
    found = set()
    for path in sorted(root.rglob("*.py")):
        if "BaseEstimator" not in path.read_text(encoding="utf-8"):
            continue  # only modules that mention it are imported (no torch import here)
        name = ".".join(("theorylab", *path.relative_to(root).with_suffix("").parts))
        module = importlib.import_module(name.removesuffix(".__init__"))
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (issubclass(obj, BaseEstimator) and obj.__module__ == module.__name__
                    and not obj.__name__.startswith("_")):
                found.add(obj)
    assert found == {type(e) for e in ESTIMATORS}


def test_array_api_dispatch_check_in_subprocess():
    """scikit-learn's array-API check with NumPy inputs, which it skips unless SciPy's array
    API support is switched on before SciPy is imported: run it in a fresh interpreter."""
    code = textwrap.dedent("""
        import warnings
        from sklearn.utils.estimator_checks import check_array_api_input
        from theorylab._result import ConvergenceWarning
        from theorylab.convex_relu import ConvexReLUClassifier, ConvexReLURegressor
        from theorylab.dro import RSSClassifier
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est in [ConvexReLURegressor(max_iter=300), ConvexReLUClassifier(max_iter=300),
                    RSSClassifier()]:
            check_array_api_input(type(est).__name__, est, array_namespace="numpy",
                                  expect_only_array_outputs=False)
        print("checked")
    """)
    env = {**os.environ, "SCIPY_ARRAY_API": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(theorylab.__file__).parents[1]),
                                                       os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "checked"


def test_sklearn_version_has_tags():
    major, minor = (int(v) for v in sklearn.__version__.split(".")[:2])
    assert (major, minor) >= (1, 6)  # __sklearn_tags__ and validate_data


@pytest.mark.parametrize("est", [ConvexReLUClassifier(max_iter=50), RSSClassifier()])
def test_binary_only_tag_and_message(est):
    assert est.__sklearn_tags__().classifier_tags.multi_class is False
    X = np.random.default_rng(0).standard_normal((12, 2))
    with pytest.raises(ValueError, match="Only binary classification is supported. The type "
                                         "of the target is multiclass"):
        clone(est).fit(X, np.arange(12) % 3)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        clone(est).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="got one class: 'a'"):
        clone(est).fit(X, np.array(["a"] * 12))


def _shift(seed=15, n=300):
    s = sample_gmm_shift(10, 20, n, mu_norm=2.0, rng=seed)
    return s


def test_rss_plus_minus_one_labels_are_ordinary():
    """-1 is a class like any other (it used to mean "unlabeled")."""
    s = _shift()
    clf = RSSClassifier(gamma=1.0, lam=1.0).fit(s.X, s.y, X_unlabeled=s.X_unlabeled)
    np.testing.assert_array_equal(clf.classes_, [-1.0, 1.0])
    ref = solve_rss(s.X, s.y, s.X_unlabeled, gamma=1.0, lam=1.0)
    np.testing.assert_array_equal(clf.coef_[0], ref.w)
    assert clf.result_.method == "rss" and clf.n_iter_ == ref.n_iter >= 1
    np.testing.assert_array_equal(clf.predict(s.X), np.where(s.X @ ref.w >= 0, 1.0, -1.0))


def test_rss_unlabeled_data_matter_and_labels_map():
    s = _shift()
    y = np.where(s.y > 0, "pos", "neg")
    with_u = RSSClassifier(gamma=1.0, lam=1.0).fit(s.X, y, X_unlabeled=s.X_unlabeled)
    without = RSSClassifier(gamma=1.0, lam=1.0).fit(s.X, y)
    assert with_u.result_.method == "rss" and without.result_.method == "robust_erm"
    ref = solve_rss(s.X, s.y, None, method="robust_erm", gamma=1.0)
    np.testing.assert_array_equal(without.coef_[0], ref.w)
    assert not np.allclose(with_u.coef_, without.coef_)
    with pytest.raises(ValueError, match="X_unlabeled must have 10 features like X, got 3"):
        RSSClassifier().fit(s.X, y, X_unlabeled=s.X_unlabeled[:, :3])
    with pytest.raises(ValueError, match="Input X_unlabeled contains NaN"):
        RSSClassifier().fit(s.X, y, X_unlabeled=np.full((4, 10), np.nan))


def test_rss_unlabeled_routes_through_pipeline():
    from sklearn.pipeline import make_pipeline

    s = _shift()
    pipe = make_pipeline(RSSClassifier(gamma=1.0, lam=1.0))
    pipe.fit(s.X, s.y, rssclassifier__X_unlabeled=s.X_unlabeled)
    assert pipe[-1].result_.method == "rss"


def test_convex_relu_estimators_are_the_solver():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = np.abs(X[:, 0]) - 0.5 * X[:, 1]
    reg = ConvexReLURegressor(beta=1e-2, n_patterns=10, solver="admm", random_state=3).fit(X, y)
    Xa = np.c_[X, np.ones(40)]
    D = sample_activation_patterns(Xa, 10, rng=3)
    ref = solve_convex_relu_admm(Xa, y, beta=1e-2, patterns=D, tol=1e-3, max_iter=20_000)
    np.testing.assert_array_equal(reg.result_.V, ref.V)
    np.testing.assert_allclose(reg.predict(X), ref.predict(Xa), rtol=1e-12, atol=1e-12)
    assert reg.n_iter_ == ref.n_iter >= 1


def test_convex_relu_conic_paths_are_the_solvers():
    """solver="cvxpy" and eps_adv > 0 call the CVXPY programs with the same patterns."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 2))
    yc = np.where(X[:, 0] * X[:, 1] > 0, "a", "b")
    t = np.where(yc == "b", 1.0, -1.0)
    Xa = np.c_[X, np.ones(30)]
    D = sample_activation_patterns(Xa, 6, rng=2)
    clf = ConvexReLUClassifier(beta=0.1, n_patterns=6, loss="hinge", solver="cvxpy",
                               random_state=2).fit(X, yc)
    ref = solve_convex_relu_cvxpy(Xa, t, beta=0.1, patterns=D, loss="hinge")
    assert clf.result_.objective == pytest.approx(ref.objective, rel=1e-9)
    np.testing.assert_allclose(clf.decision_function(X), ref.predict(Xa), atol=1e-8)
    assert clf.n_iter_ == clf.result_.n_iter >= 1
    rob = ConvexReLUClassifier(beta=0.1, n_patterns=6, eps_adv=0.05, random_state=2).fit(X, yc)
    ref = solve_convex_relu_robust(Xa, t, beta=0.1, patterns=D, eps_adv=0.05, loss="squared",
                                   perturbable=np.array([True, True, False]))
    assert rob.result_.objective == pytest.approx(ref.objective, rel=1e-9)
    assert rob.n_iter_ >= 1


def test_predict_checks_feature_count():
    X = np.random.default_rng(0).standard_normal((20, 2))
    reg = ConvexReLURegressor(beta=0.1, n_patterns=4, random_state=0).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="X has 3 features, but ConvexReLURegressor is "
                                         "expecting 2 features"):
        reg.predict(np.c_[X, X[:, :1]])


@pytest.mark.parametrize("make", [
    lambda: ConvexReLURegressor(beta=0.1, n_patterns=6, solver="admm", tol=1e-12, max_iter=20,
                                random_state=0),
    lambda: RSSClassifier(loss="logistic", tol=1e-15, max_iter=2),
])
def test_estimator_nonconvergence_warns_both_categories(make):
    s = _shift(n=50)
    est = make()
    y = s.y if isinstance(est, RSSClassifier) else s.X[:, 0]
    with pytest.warns(EstimatorConvergenceWarning, match="max_iter") as rec:
        est.fit(s.X, y)
    w = rec[0]
    assert issubclass(w.category, ConvergenceWarning)
    assert issubclass(w.category, SklearnConvergenceWarning)
    assert w.filename == __file__  # points at the caller of fit
    assert est.result_.converged is False and est.n_iter_ == est.result_.n_iter


@pytest.mark.parametrize("est", [ConvexReLURegressor(max_iter=50), RSSClassifier()])
def test_random_state_error_names_the_parameter(est):
    X = np.random.default_rng(0).standard_normal((20, 2))
    est.set_params(random_state=np.random.RandomState(0))
    with pytest.raises(TypeError, match="random_state must be a numpy.random.Generator"):
        est.fit(X, X[:, 0] > 0)
