"""theorylab.sparse: Lasso kernel vs reference vs scikit-learn, KKT, exhaustive search,
OMP/IHT, the random-support proxy, generators, bad inputs, non-convergence."""

import numpy as np
import pytest

from theorylab._result import ConvergenceWarning
from theorylab.sparse import _kernels as K
from theorylab.sparse import _reference as R
from theorylab.sparse import (
    conditioned_design,
    gadget_design,
    gaussian_design,
    lambda_max,
    prediction_error,
    random_walk_design,
    solve_exhaustive,
    solve_iht,
    solve_lasso,
    solve_omp,
    solve_random_support_regression,
)


def _inst(seed=0, n=60, d=40, k=3):
    return gaussian_design(n, d, k=k, noise=0.1, rng=seed)


def test_kernel_equals_reference():
    inst = _inst()
    X = np.asfortranarray(inst.X)
    col = np.einsum("ij,ij->j", X, X) / X.shape[0]
    outs = []
    for f in (K.lasso_cd, R.lasso_cd):
        w = np.zeros(X.shape[1])
        r = inst.y.copy()
        ep, _ = f(X, inst.y, 0.05, w, r, col, 1e-12, 500)
        outs.append((w, r, ep))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-10, atol=1e-13)
    assert outs[0][2] == outs[1][2]


def test_lasso_hand_solvable_orthogonal_design():
    # X with orthogonal columns of squared norm N: the solution is soft-thresholding of Xᵀy/N
    n = 4
    X = np.sqrt(n) * np.eye(n)
    y = np.array([2.0, -0.3, 0.7, -5.0])
    z = X.T @ y / n
    lam = 0.5
    res = solve_lasso(X, y, lam=lam)
    np.testing.assert_allclose(res.w, np.sign(z) * np.maximum(np.abs(z) - lam, 0), atol=1e-12)
    assert list(res.support) == [0, 3]  # z = Xᵀy/N = y/2 = (1, −0.15, 0.35, −2.5), λ = 0.5


def test_lasso_kkt_and_lambda_max():
    inst = _inst(1)
    lam = 0.2 * lambda_max(inst.X, inst.y)
    res = solve_lasso(inst.X, inst.y, lam=lam, tol=1e-12)
    assert res.converged and res.diagnostics["kkt"] < 1e-8
    zero = solve_lasso(inst.X, inst.y, lam=1.0001 * lambda_max(inst.X, inst.y))
    assert not zero.w.any()


def test_lasso_matches_sklearn():
    sk = pytest.importorskip("sklearn.linear_model")
    inst = _inst(2, n=80, d=120, k=5)
    lam = 0.05
    ours = solve_lasso(inst.X, inst.y, lam=lam, tol=1e-12).w
    ref = sk.Lasso(alpha=lam, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(
        inst.X, inst.y).coef_
    np.testing.assert_allclose(ours, ref, atol=1e-7)


def test_exhaustive_recovers_planted_support_noiseless():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((12, 8))
    w = np.zeros(8)
    w[[1, 5]] = [1.5, -2.0]
    res = solve_exhaustive(X, X @ w, k=2)
    assert list(res.support) == [1, 5]
    np.testing.assert_allclose(res.w, w, atol=1e-10)


def test_greedy_and_proxy_recover_gaussian_control():
    inst = gaussian_design(80, 200, k=4, noise=0.05, rng=4)
    for res in (solve_omp(inst.X, inst.y, k=4), solve_iht(inst.X, inst.y, k=4),
                solve_random_support_regression(inst.X, inst.y, k=4)):
        assert set(res.support) == set(inst.support), res.method
        assert prediction_error(inst.X, res.w, inst.w_star) < 0.01


def test_proxy_stable_at_condition_1e12():
    inst = conditioned_design(60, 80, k=3, kappa=1e12, noise=0.05, rng=5)
    res = solve_random_support_regression(inst.X, inst.y, k=3)
    assert np.all(np.isfinite(res.w))
    assert prediction_error(inst.X, res.w, inst.w_star) < 0.05
    assert res.diagnostics["kappa"] > 1e6
    assert "PROXY" in res.message


def test_generators():
    adv = gadget_design(100, 90, k=6, support="adversarial", eta=1e-3, rng=0)
    f = adv.X @ adv.w_star
    assert f @ f / 100 == pytest.approx(1.0)
    assert np.abs(adv.w_star).sum() > 0.1 / 1e-3  # huge cancelling coefficients
    rnd = gadget_design(100, 90, k=6, support="random", rng=0)
    assert len(rnd.support) == 6
    rw = random_walk_design(50, 30, k=3, rng=0)
    assert np.corrcoef(rw.X[:, 10], rw.X[:, 11])[0, 1] > 0.5


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda X, y: solve_omp(X, y, k=0), ValueError, "k must be >= 1"),
        (lambda X, y: solve_omp(X, y, k=41), ValueError, "k must be <= 40"),
        (lambda X, y: solve_random_support_regression(X, y, k=0), ValueError, "k must be >= 1"),
        (lambda X, y: solve_lasso(X, y, lam=-1.0), ValueError, "lam must be > 0"),
        (lambda X, y: solve_lasso(X, y[:-1], lam=0.1), ValueError, r"y must have shape \(60,\)"),
        (lambda X, y: solve_lasso(X[:, 0], y, lam=0.1), ValueError, "X must be 2-dimensional"),
        (lambda X, y: solve_iht(np.where(X > 2, np.nan, X), y, k=2), ValueError,
         "X must be finite"),
        (lambda X, y: solve_exhaustive(X, y, k=20), ValueError, "max_subsets"),
        (lambda X, y: gadget_design(10, 12, k=2, support="worst"), ValueError, "support must be"),
        (lambda X, y: conditioned_design(10, 12, k=2, kappa=0.5), ValueError, "kappa must be >= 1"),
    ],
)
def test_bad_inputs(call, exc, match):
    inst = _inst()
    with pytest.raises(exc, match=match):
        call(inst.X, inst.y)


def test_lasso_iteration_cap_warns():
    inst = _inst(6)
    with pytest.warns(ConvergenceWarning, match="max_iter=1 epochs"):
        res = solve_lasso(inst.X, inst.y, lam=1e-4, tol=1e-14, max_iter=1)
    assert res.converged is False
