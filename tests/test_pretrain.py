"""Provable pretraining, factor-model instance (theorylab.pretrain)."""

import warnings

import numpy as np
import pytest

from theorylab.pretrain import _reference as ref
from theorylab.pretrain import (
    factor_model_bayes_risk,
    fit_downstream_ols,
    fit_factor_analysis,
    oracle_ols_excess_risk,
    sample_factor_model,
)
from theorylab.pretrain.factor import _init
from theorylab.results import ConvergenceWarning


@pytest.fixture(scope="module")
def small():
    model = sample_factor_model(20, 3, loading_scale=0.6, rng=0)
    X, y = model.sample(300, rng=1)
    return model, X, y


# 1. kernel == reference: covariance EM iterates equal the per-sample EM iterates
def test_em_iterates_equal_per_sample_reference(small):
    _, X, _ = small
    Xc = X - X.mean(0)
    W0, psi0 = _init(Xc.T @ Xc / len(X), 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = fit_factor_analysis(X, 3, max_iter=7, tol=1e-300, W0=W0, noise_variance0=psi0)
    W, psi = ref.factor_analysis_em(X, W0, psi0, 7)
    np.testing.assert_allclose(res.W, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.noise_variance, psi, rtol=1e-10)
    assert res.loglik == pytest.approx(ref.gaussian_loglik(X, res.W, res.noise_variance),
                                       rel=1e-12)
    assert res.n_iter == 7 and not res.converged


# 2. hand-solvable: one factor, isotropic noise
def test_one_factor_posterior_mean_and_bayes_risk_by_hand():
    b = np.array([[1.0], [2.0], [2.0]])  # ||b||^2 = 9
    theta = np.array([3.0])
    risk = factor_model_bayes_risk(b, theta, sigma_x=1.0, sigma_y=0.5)
    assert risk == pytest.approx(9.0 / 10.0 + 0.25)  # theta^2 sigma^2/(sigma^2+||b||^2)+sy^2
    from theorylab.pretrain import FactorModel

    model = FactorModel(B=b, theta=theta, sigma_x=1.0, sigma_y=0.5, bayes_risk=risk)
    x = np.array([[1.0, 1.0, 1.0]])
    assert model.posterior_mean(x)[0, 0] == pytest.approx(5.0 / 10.0)  # b.x / (1 + ||b||^2)
    assert oracle_ols_excess_risk(10, 2, noise_var=1.0) == pytest.approx(2.0 / 7.0)


# 3. invariants: monotone EM, rotation absorbed by the head, exact risk = Monte Carlo
def test_em_loglik_non_decreasing(small):
    _, X, _ = small
    ll = fit_factor_analysis(X, 3).history["loglik"]
    assert np.all(np.diff(ll) >= -1e-10)


def test_rotation_of_loadings_does_not_change_downstream_predictions(small):
    """The informative condition of the factor instance: W R fits as well as W."""
    _, X, y = small
    fa = fit_factor_analysis(X, 3)
    R = np.linalg.qr(np.random.default_rng(5).standard_normal((3, 3)))[0]
    a = fit_downstream_ols(fa.W, fa.noise_variance, fa.mean, X[:40], y[:40])
    b = fit_downstream_ols(fa.W @ R, fa.noise_variance, fa.mean, X[:40], y[:40])
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-9, atol=1e-10)
    c, c0 = a.linear_coef()
    np.testing.assert_allclose(X @ c + c0, a.predict(X), rtol=1e-10, atol=1e-12)


def test_bayes_risk_and_linear_risk_match_monte_carlo():
    model = sample_factor_model(30, 4, loading_scale=0.3, sigma_y=0.2, rng=3)
    X, y = model.sample(100_000, rng=4)
    mse = np.mean((model.predict_oracle(X) - y) ** 2)
    assert mse == pytest.approx(model.bayes_risk, rel=0.01)
    coef = np.random.default_rng(6).standard_normal(30) * 0.1
    assert np.mean((X @ coef + 0.3 - y) ** 2) == pytest.approx(
        model.linear_risk(coef, 0.3), rel=0.01)
    # the oracle is linear: its exact risk is the Bayes risk
    A = np.linalg.solve(np.eye(4) + model.B.T @ model.B, model.B.T)
    assert model.linear_risk(A.T @ model.theta) == pytest.approx(model.bayes_risk, rel=1e-12)


def test_ols_on_true_posterior_mean_matches_closed_form():
    model = sample_factor_model(15, 3, loading_scale=0.5, rng=7)
    n, reps, ex = 20, 400, []
    g = np.random.default_rng(8)
    A = np.linalg.solve(np.eye(3) + model.B.T @ model.B, model.B.T)  # x -> E[z | x]
    for _ in range(reps):
        X, y = model.sample(n, rng=g)
        F = X @ A.T
        c = np.linalg.lstsq(F, y, rcond=None)[0]
        ex.append(model.linear_risk(A.T @ c) - model.bayes_risk)
    expected = oracle_ols_excess_risk(n, 3, noise_var=model.bayes_risk)
    se = np.std(ex) / np.sqrt(reps)
    assert abs(np.mean(ex) - expected) < 4 * se


def test_large_m_recovers_the_loading_span():
    model = sample_factor_model(40, 3, loading_scale=0.3, rng=9)
    X, _ = model.sample(50_000, rng=10)
    fa = fit_factor_analysis(X, 3)
    Q1 = np.linalg.qr(model.B)[0]
    Q2 = np.linalg.qr(fa.W)[0]
    cosines = np.linalg.svd(Q1.T @ Q2, compute_uv=False)
    assert np.degrees(np.arccos(cosines.min())) < 5.0


# 4./5. an independent solver: scikit-learn's FactorAnalysis reaches the same maximum
def test_matches_sklearn_factor_analysis(small):
    FA = pytest.importorskip("sklearn.decomposition").FactorAnalysis
    _, X, _ = small
    res = fit_factor_analysis(X, 3, tol=1e-12)
    sk = FA(3, tol=1e-12, max_iter=20000, svd_method="lapack").fit(X)
    assert res.loglik >= sk.score(X) - 1e-6
    assert res.loglik == pytest.approx(sk.score(X), abs=1e-4)
    np.testing.assert_allclose(res.covariance(), sk.get_covariance(), atol=5e-3)


# 6. bad inputs
def test_bad_inputs_are_refused():
    X = np.random.default_rng(0).standard_normal((10, 4))
    with pytest.raises(ValueError, match="n_factors must be <= 4, got 5"):
        fit_factor_analysis(X, 5)
    with pytest.raises(ValueError, match="X must have at least 2 rows, got 1"):
        fit_factor_analysis(X[:1], 1)
    with pytest.raises(ValueError, match="tol must be > 0"):
        fit_factor_analysis(X, 1, tol=0.0)
    with pytest.raises(ValueError, match="W0 and noise_variance0 must be given together"):
        fit_factor_analysis(X, 1, W0=np.ones((4, 1)))
    with pytest.raises(ValueError, match=r"noise_variance must be > 0, got -1.0"):
        fit_downstream_ols(np.ones((4, 1)), -np.ones(4), np.zeros(4), X, np.zeros(10))
    with pytest.raises(ValueError, match=r"y must have shape \(10,\), got \(9,\)"):
        fit_downstream_ols(np.ones((4, 1)), np.ones(4), np.zeros(4), X, np.zeros(9))
    with pytest.raises(ValueError, match="r must be <= 3, got 4"):
        sample_factor_model(3, 4)
    with pytest.raises(ValueError, match="loading_scale must be > 0"):
        sample_factor_model(3, 1, loading_scale=-1.0)
    with pytest.raises(ValueError, match="n must be >= 7, got 6"):
        oracle_ols_excess_risk(6, 4, noise_var=1.0, fit_intercept=True)


# 7. non-convergence: warning and converged=False
def test_iteration_cap_warns(small):
    _, X, _ = small
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        res = fit_factor_analysis(X, 3, max_iter=1, tol=1e-300)
    assert res.converged is False and "max_iter" in res.message


def test_deterministic_and_frozen():
    a = sample_factor_model(10, 2, rng=11)
    b = sample_factor_model(10, 2, rng=11)
    np.testing.assert_array_equal(a.B, b.B)
    Xa, ya = a.sample(50, rng=12)
    Xb, yb = b.sample(50, rng=12)
    np.testing.assert_array_equal(Xa, Xb)
    res = fit_factor_analysis(Xa, 2)
    with pytest.raises(ValueError):
        res.W[0, 0] = 1.0
    assert "FactorAnalysisResult" in res.summary() and len(repr(res)) < 400
