"""Tests of theorylab.dro (Saberi et al. 2024, arXiv:2310.00027): the seven kinds."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from theorylab._result import ConvergenceWarning
from theorylab.dro import (
    RSSClassifier,
    bound_theorem41,
    bound_theorem42,
    condition_covariance,
    erm_accuracy,
    exact_accuracy,
    exact_robust_risk,
    pca_oracle_accuracy,
    robust_surrogate,
    robust_surrogate_linear,
    rss_objective,
    sample_gmm_shift,
    solve_erm,
    solve_robust_erm,
    solve_rss,
)
from theorylab.dro._kernels import psi
from theorylab.dro._reference import psi_brute_force, psi_reference, rss_objective_reference
from theorylab.dro.surrogate import _CODES

LOSS_G = [("ramp", 0.1), ("ramp", 0.3), ("ramp", 1.0), ("ramp", 7.0), ("ramp", np.inf),
          ("hinge", 0.2), ("hinge", 3.0), ("hinge", np.inf),
          ("logistic", 0.2), ("logistic", 2.0), ("logistic", np.inf)]


# (1) kernel == reference -------------------------------------------------------------------
@pytest.mark.parametrize("loss,g", LOSS_G)
def test_kernel_matches_reference(loss, g):
    v = np.random.default_rng(0).normal(scale=3.0, size=300)
    val, _, _ = psi(v, g, _CODES[loss])
    np.testing.assert_allclose(val, psi_reference(v, g, loss), rtol=1e-12, atol=1e-13)


def test_solver_objective_matches_reference():
    s = sample_gmm_shift(15, 12, 80, alpha=0.3, rng=1)
    w = np.random.default_rng(2).normal(size=15)
    for loss, g, gu in [("ramp", 1.0, 0.3), ("hinge", 2.0, 0.5), ("logistic", 1.0, 0.4)]:
        got = rss_objective(w, s.X, s.y, s.X_unlabeled, gamma=g, gamma_u=gu, lam=2.0, loss=loss,
                            ramp_slope=0.8)
        ref = rss_objective_reference(w, s.X, s.y, s.X_unlabeled, gamma=g, gamma_u=gu, lam=2.0,
                                      loss=loss, ramp_slope=0.8)
        assert got == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("g,r", [(0.1, 1.0), (0.3, 1.0), (1.0, 2.0), (7.0, 0.5)])
def test_ramp_trial_kernel_bitwise_equals_general_kernel(g, r):
    # the branch-free ramp kernel == the general one: same scores, sum and gradient weights,
    # bit for bit (zeros, the kink v = 1/(2g), the dead zone q <= 0 and NaN included)
    from theorylab.dro._kernels import RAMP, ramp_trial_kernel, unlabeled_trial_kernel

    rng = np.random.default_rng(4)
    n = 2000
    uu = rng.normal(scale=2.0 / r, size=n)
    xg = rng.normal(size=n)
    uu[:6], xg[:3] = 0.0, 0.0  # u = 0 exactly
    uu[6:9], xg[6:9] = 0.5 / g / r, 0.0  # v on the kink
    uu[9], xg[9] = -(1.0 + 0.25 / g) / r, 0.0  # q = 0 exactly
    for eta, nrm, nan in [(0.0, 1.0, False), (0.37, 1.3, False), (0.37, 1.3, True)]:
        base = uu.copy()
        if nan:
            base[11] = np.nan
        ref_u, ref_v, new_u, new_v = (np.empty(n) for _ in range(4))
        ref = unlabeled_trial_kernel(base, xg, eta, nrm, r, g, RAMP, ref_u, ref_v)
        new = ramp_trial_kernel(base, xg, eta, nrm, r, g, new_u, new_v, np.empty(n))
        assert np.isnan(new) if nan else new == ref
        np.testing.assert_array_equal(new_u, ref_u)
        np.testing.assert_array_equal(new_v, ref_v)
        np.testing.assert_array_equal(np.signbit(new_v), np.signbit(ref_v))


def test_float32_products_agree_with_float64():
    # products="float32" (single-precision products with X') == the float64 path to ~1e-6
    from theorylab.dro import rss

    s = sample_gmm_shift(40, 16, 3000, alpha=0.5, balanced=True, rng=8)
    probs, starts = [], []
    for gu, lam in [(0.3, 0.1), (0.5, 10.0), (1.0, 2.0)]:
        probs.append(rss._Problem(s.X, s.y, s.X_unlabeled, gamma=1.0, gamma_u=gu, lam=lam,
                                  loss="logistic", r=1.0))
        starts.append(s.X.T @ s.y)
    f64 = rss._sphere_descent_many(probs, starts, tol=1e-9, max_iter=60)
    f32 = rss._sphere_descent_many(probs, starts, tol=1e-9, max_iter=60, products="float32")
    for a, b in zip(f64, f32, strict=True):
        np.testing.assert_allclose(b[0], a[0], atol=2e-5)  # w
        assert b[1] == pytest.approx(a[1], rel=1e-6)  # objective
        assert not np.array_equal(b[0], a[0])  # the single-precision products were used
    kw = dict(gamma=1.0, gamma_u=[0.1, 0.3], lam=[0.1, 1.0, 10.0], rng=3)
    r64 = solve_rss(s.X, s.y, s.X_unlabeled, **kw)
    r32 = solve_rss(s.X, s.y, s.X_unlabeled, products="float32", **kw)
    assert r32.hyperparameters == r64.hyperparameters
    assert exact_accuracy(r32.w, s.mu0) == pytest.approx(exact_accuracy(r64.w, s.mu0), abs=1e-5)


# (2) hand-solvable instances -------------------------------------------------------------
def test_ramp_surrogate_by_hand():
    # g = 1: v <= 0 -> 1; v = 0.25 <= 1/(2g) -> 1 - v^2; v = 1 -> 1 + 1/4 - 1; v = 2 -> 0
    sv = robust_surrogate(np.array([-1.0, 0.25, 1.0, 2.0]), gamma=1.0)
    np.testing.assert_allclose(sv.value, [1.0, 0.9375, 0.25, 0.0])
    np.testing.assert_allclose(sv.shift, [0.0, 0.25, 0.5, 0.0])
    np.testing.assert_allclose(sv.grad, [0.0, -0.5, -1.0, 0.0])
    # hinge: max(0, 1 + 1/(4 gamma) - u)
    np.testing.assert_allclose(robust_surrogate([0.0, 2.0], gamma=0.5, loss="hinge").value,
                               [1.5, 0.0])


def test_erm_is_mean_difference_when_all_margins_exceed_one():
    # d >> m: every labeled margin along the mean difference exceeds 1, the ramp loss is 0
    s = sample_gmm_shift(200, 10, 0, rng=3)
    res = solve_erm(s.X, s.y)
    md = s.X.T @ s.y
    np.testing.assert_allclose(res.w, md / np.linalg.norm(md), atol=1e-12)
    assert res.objective == 0.0


def test_exact_accuracy_by_hand():
    assert exact_accuracy([2.0, 0.0], [1.5, 0.0], 1.0) == pytest.approx(ndtr(1.5))
    assert exact_accuracy([0.0, 1.0], [1.5, 0.0], 1.0) == pytest.approx(0.5)
    # intercept: ((Phi(2) + Phi(0)) / 2
    assert exact_accuracy([1.0], [1.0], 1.0, b=1.0) == pytest.approx((ndtr(2.0) + 0.5) / 2)


def test_exact_robust_risk_by_hand():
    # E max(0, 1 - Z), Z ~ N(1, 1) = 1/sqrt(2 pi); robust hinge shifts the kink by 1/(4 gamma)
    assert exact_robust_risk([1.0, 0.0], [1.0, 0.0], 1.0, gamma=np.inf, loss="hinge") == \
        pytest.approx(1 / np.sqrt(2 * np.pi), rel=1e-8)
    c = 1.0 + 0.25 / 2.0  # E max(0, c - Z) = (c - 1) Phi(c - 1) + pdf(c - 1)
    want = (c - 1) * ndtr(c - 1) + np.exp(-0.5 * (c - 1) ** 2) / np.sqrt(2 * np.pi)
    assert exact_robust_risk([1.0, 0.0], [1.0, 0.0], 1.0, gamma=2.0, loss="hinge") == \
        pytest.approx(want, rel=1e-8)


def test_robust_surrogate_linear_scales_with_norm():
    X = np.array([[0.3, -1.0], [-0.2, 0.5]])
    y = np.array([1.0, -1.0])
    w = np.array([1.0, 0.0])
    # w -> 3w multiplies the ramp slope by 3 for the unit-norm margin
    a = robust_surrogate_linear(3 * w, X, y, gamma=2.0)
    b = robust_surrogate(y * (X @ w), gamma=2.0, ramp_slope=3.0).value
    np.testing.assert_allclose(a, b)


# (3) invariants / optimality ------------------------------------------------------------
@given(u=st.floats(-5, 5), g=st.floats(0.13, 50.0),
       loss=st.sampled_from(["ramp", "hinge", "logistic"]))
@settings(max_examples=150, deadline=None)
def test_surrogate_properties(u, g, loss):
    val = robust_surrogate([u], gamma=g, loss=loss).value[0]
    plain = robust_surrogate([u], gamma=np.inf, loss=loss).value[0]
    larger_g = robust_surrogate([u], gamma=2 * g, loss=loss).value[0]
    further = robust_surrogate([u + 0.1], gamma=g, loss=loss).value[0]
    assert val >= plain - 1e-12                 # the adversary can always stay put
    assert larger_g <= val + 1e-12              # a costlier move never helps it more
    assert further <= val + 1e-12               # non-increasing in the margin


def test_surrogate_tends_to_loss_and_gradient_is_derivative():
    u = np.linspace(-2, 3, 41) + 0.013
    for loss in ("ramp", "hinge", "logistic"):
        big = robust_surrogate(u, gamma=1e7, loss=loss).value
        np.testing.assert_allclose(big, robust_surrogate(u, gamma=np.inf, loss=loss).value,
                                   atol=1e-6)
        sv = robust_surrogate(u, gamma=0.7, loss=loss, ramp_slope=1.3)
        h = 1e-6
        fd = (robust_surrogate(u + h, gamma=0.7, loss=loss, ramp_slope=1.3).value
              - robust_surrogate(u - h, gamma=0.7, loss=loss, ramp_slope=1.3).value) / (2 * h)
        np.testing.assert_allclose(sv.grad, fd, atol=1e-5)


def test_rss_history_monotone_result_frozen_and_gradient_stationary():
    s = sample_gmm_shift(30, 20, 500, rng=4)
    res = solve_rss(s.X, s.y, s.X_unlabeled, gamma=1.0, gamma_u=0.3, lam=2.0)
    obj = np.asarray(res.history["objective"])
    assert np.all(np.diff(obj) <= 1e-12)
    assert res.converged and np.linalg.norm(res.w) == pytest.approx(1.0)
    assert res.objective == pytest.approx(
        rss_objective(res.w, s.X, s.y, s.X_unlabeled, gamma=1.0, gamma_u=0.3, lam=2.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.x = None  # w is a read-only alias of x
    with pytest.raises(ValueError):
        res.history["objective"][0] = 0.0
    # no small rotation on the sphere lowers the objective (local optimality)
    rng = np.random.default_rng(0)
    for _ in range(10):
        t = rng.normal(size=30)
        t -= (t @ res.w) * res.w
        w2 = res.w + 1e-3 * t / np.linalg.norm(t)
        f2 = rss_objective(w2, s.X, s.y, s.X_unlabeled, gamma=1.0, gamma_u=0.3, lam=2.0)
        assert f2 >= res.objective - 1e-6


# (4) two algorithms / theory agree ------------------------------------------------------
@pytest.mark.parametrize("loss,g", [c for c in LOSS_G if np.isfinite(c[1])])
def test_closed_form_matches_brute_force(loss, g):
    v = np.random.default_rng(1).uniform(-3, 4, size=40)
    np.testing.assert_allclose(robust_surrogate(v, gamma=g, loss=loss).value,
                               psi_brute_force(v, g, loss, n_grid=10_001), atol=1e-6)


def test_exact_accuracy_matches_monte_carlo():
    s = sample_gmm_shift(20, 5, 0, covariance=condition_covariance(20, 10.0), rng=5)
    w = s.mu0 + np.random.default_rng(6).normal(scale=0.3, size=20)
    Xt, yt = s.sample_test(200_000, rng=7)
    mc = np.mean(np.sign(Xt @ w) == yt)
    assert exact_accuracy(w, s.mu0, s.cov0) == pytest.approx(mc, abs=4 * 0.5 / np.sqrt(2e5))


def test_exact_robust_risk_matches_monte_carlo():
    s = sample_gmm_shift(10, 5, 0, rng=8)
    w = s.mu0 + np.random.default_rng(9).normal(scale=0.2, size=10)
    Xt, yt = s.sample_test(200_000, rng=10)
    for loss in ("ramp", "logistic"):
        mc = robust_surrogate_linear(w / np.linalg.norm(w), Xt, yt, gamma=1.0, loss=loss).mean()
        ex = exact_robust_risk(w, s.mu0, 1.0, gamma=1.0, loss=loss)
        assert ex == pytest.approx(mc, abs=5e-3)


def test_torch_wrm_matches_closed_form_logistic():
    torch = pytest.importorskip("torch")
    from theorylab.dro import wrm_perturb

    rng = np.random.default_rng(11)
    w = rng.normal(size=5)
    w /= np.linalg.norm(w)
    X = rng.normal(size=(50, 5))
    y = rng.choice([-1.0, 1.0], size=50)
    lin = torch.nn.Linear(5, 1, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(w[None, :]))
    _, phi = wrm_perturb(lin, torch.tensor(X), torch.tensor(y), gamma=0.8, n_steps=300)
    closed = robust_surrogate(y * (X @ w), gamma=0.8, loss="logistic").value
    np.testing.assert_allclose(phi.numpy(), closed, atol=1e-9)


def test_erm_and_pca_formulas_match_simulation():
    accs = [exact_accuracy(solve_erm(s.X, s.y).w, s.mu0)
            for s in (sample_gmm_shift(200, 20, 0, rng=k) for k in range(30))]
    assert np.mean(accs) == pytest.approx(erm_accuracy(20, 200), abs=0.02)
    pcs = []
    for k in range(10):
        s = sample_gmm_shift(100, 20, 2000, rng=100 + k)
        _, V = np.linalg.eigh(s.X_unlabeled.T @ s.X_unlabeled)
        v = V[:, -1] * np.sign(V[:, -1] @ s.mu0)
        pcs.append(exact_accuracy(v, s.mu0))
    assert np.mean(pcs) == pytest.approx(pca_oracle_accuracy(2000, 100), abs=0.01)


def test_rss_beats_erm_and_bounds_decrease():
    gains = []
    for k in range(3):
        s = sample_gmm_shift(50, 10, 2000, rng=20 + k)
        r = solve_rss(s.X, s.y, s.X_unlabeled, gamma=1.0, gamma_u=0.3, lam=10.0)
        gains.append(exact_accuracy(r.w, s.mu0) - exact_accuracy(solve_erm(s.X, s.y).w, s.mu0))
    assert min(gains) > 0
    assert bound_theorem42(40, 10**4, 200, alpha=0.0) < bound_theorem42(40, 10**3, 200, alpha=0.0)
    assert bound_theorem42(40, 10**4, 200, alpha=0.5) > bound_theorem42(40, 10**4, 200, alpha=0.0)
    assert bound_theorem41(40, 10**4, 200, alpha=0.0, gamma=1.0) < bound_theorem41(
        40, 10**2, 200, alpha=0.0, gamma=1.0)


def test_cross_validation_selects_from_grid_on_labeled_data_only():
    s = sample_gmm_shift(30, 12, 400, rng=12)
    res = solve_rss(s.X, s.y, s.X_unlabeled, gamma=1.0, gamma_u=[0.1, 0.3], lam=[0.1, 10.0],
                    rng=0)
    assert len(res.cv_grid) == 4 and res.cv_scores.shape == (4,)
    best = res.cv_grid[int(np.argmax(res.cv_scores))]
    assert res.hyperparameters["lam"] == best["lam"]
    assert res.hyperparameters["gamma_u"] == best["gamma_u"]
    again = solve_rss(s.X, s.y, s.X_unlabeled, gamma=1.0, gamma_u=[0.1, 0.3], lam=[0.1, 10.0],
                      rng=0)
    np.testing.assert_array_equal(res.w, again.w)


@pytest.mark.parametrize("loss", ["ramp", "hinge", "logistic"])
def test_lockstep_descent_matches_one_at_a_time(loss):
    # the fast path (all problems sharing X' in lockstep) == the plain per-problem descent
    from theorylab.dro import rss

    s = sample_gmm_shift(30, 16, 700, alpha=0.5, balanced=True, rng=31)
    Xu = s.X_unlabeled
    folds = [np.arange(0, 16, 2), np.arange(1, 16, 2)]
    probs, starts = [], []
    for k, (gu, lam) in enumerate([(0.3, 0.1), (0.5, 10.0), (1.0, 0.0), (0.3, 2.0)]):
        tr = folds[k % 2]
        probs.append(rss._Problem(s.X[tr], s.y[tr], Xu, gamma=1.0, gamma_u=gu, lam=lam,
                                  loss=loss, r=1.0))
        starts.append(s.X[tr].T @ s.y[tr] if k % 2 else rss._top_pc(Xu))
    for tol, max_iter in [(1e-4, 500), (1e-8, 7)]:  # converged / stopped at max_iter
        fast = rss._sphere_descent_many(probs, starts, tol=tol, max_iter=max_iter)
        for p, w0, out in zip(probs, starts, fast, strict=True):
            ref = rss._sphere_descent(p, w0, tol=tol, max_iter=max_iter)
            np.testing.assert_allclose(out[0], ref[0], rtol=1e-9, atol=1e-12)  # w
            assert out[1] == pytest.approx(ref[1], rel=1e-12)  # objective
            assert out[2:4] == ref[2:4]  # iterations, converged
            np.testing.assert_allclose(out[5], ref[5], rtol=1e-12)  # objective history
            np.testing.assert_allclose(out[6], ref[6], rtol=1e-7, atol=1e-13)  # steps
        assert any(not out[3] for out in fast) == (max_iter == 7)


def test_solve_rss_lockstep_equals_sequential_fits(monkeypatch):
    # solve_rss with the lockstep fits == solve_rss fitting each fold/start one at a time
    from theorylab.dro import rss

    def one_at_a_time(tasks, Xu, pc, *, loss, r, init, w0, tol, max_iter, products="float64"):
        best = []
        for X, y, hp in tasks:
            prob = rss._Problem(X, y, Xu, gamma=hp["gamma"], gamma_u=hp["gamma_u"],
                                lam=hp["lam"], loss=loss, r=r)
            b = None
            for name, w_0 in rss._starts(X, y, pc if prob.use_u else None, init, w0).items():
                out = rss._sphere_descent(prob, w_0, tol=tol, max_iter=max_iter)
                if b is None or out[1] < b[1][1]:
                    b = (name, out)
            best.append(b)
        return best

    s = sample_gmm_shift(40, 12, 1500, alpha=0.5, balanced=True, rng=5)
    kw = dict(gamma=1.0, gamma_u=[0.1, 0.3], lam=[0.1, 1.0, 10.0], rng=3)
    fast = solve_rss(s.X, s.y, s.X_unlabeled, **kw)
    monkeypatch.setattr(rss, "_fit_many", one_at_a_time)
    slow = solve_rss(s.X, s.y, s.X_unlabeled, **kw)
    np.testing.assert_allclose(fast.cv_scores, slow.cv_scores, rtol=1e-9)
    assert fast.hyperparameters == slow.hyperparameters and fast.init == slow.init
    np.testing.assert_allclose(fast.w, slow.w, rtol=1e-9, atol=1e-12)
    assert fast.n_iter == slow.n_iter


# (5) external references ----------------------------------------------------------------
def test_erm_direction_matches_sklearn_logistic_small_C():
    sklearn_lm = pytest.importorskip("sklearn.linear_model")
    s = sample_gmm_shift(100, 10, 0, rng=13)
    lr = sklearn_lm.LogisticRegression(C=1e-6, fit_intercept=False).fit(s.X, s.y)
    c = lr.coef_[0] / np.linalg.norm(lr.coef_[0])
    assert c @ solve_erm(s.X, s.y).w > 0.9999


def test_hinge_inner_max_matches_cvxpy():
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(14)
    w = rng.normal(size=4)
    w /= np.linalg.norm(w)
    gamma = 0.7
    for _ in range(3):
        x, y = rng.normal(size=4), rng.choice([-1.0, 1.0])
        Z = cp.Variable(4)
        # sup_Z max(0, 1 - y w.Z) - gamma ||Z - x||^2 = max(0, sup_Z [1 - y w.Z - gamma ||Z-x||^2])
        prob = cp.Problem(cp.Maximize(1 - y * (w @ Z) - gamma * cp.sum_squares(Z - x)))
        prob.solve(solver=cp.CLARABEL)
        ref = max(0.0, prob.value)
        got = robust_surrogate([y * (w @ x)], gamma=gamma, loss="hinge").value[0]
        assert got == pytest.approx(ref, abs=1e-6)


def test_sklearn_wrapper_clone_fit_predict():
    base = pytest.importorskip("sklearn.base")
    s = sample_gmm_shift(10, 20, 300, mu_norm=2.0, rng=15)
    y = np.where(s.y > 0, 7, 3)
    clf = base.clone(RSSClassifier(gamma=1.0, gamma_u=0.3, lam=1.0)).fit(
        s.X, y, X_unlabeled=s.X_unlabeled)
    assert set(clf.classes_) == {3, 7} and clf.result_.method == "rss"
    Xt, yt = s.sample_test(2000, rng=16)
    acc = np.mean(clf.predict(Xt) == np.where(yt > 0, 7, 3))
    assert acc == pytest.approx(exact_accuracy(clf.coef_[0], s.mu0), abs=0.04)
    assert clf.predict_proba(Xt[:5]).shape == (5, 2)
    assert clf.get_params()["lam"] == 1.0
    # labels -1/+1 are ordinary classes (no label marks a row as unlabeled)
    pm = base.clone(clf).fit(s.X, s.y, X_unlabeled=s.X_unlabeled)
    np.testing.assert_array_equal(pm.classes_, [-1.0, 1.0])
    np.testing.assert_array_equal(pm.coef_, clf.coef_)


# (6) bad input -> clear errors ----------------------------------------------------------
def test_bad_inputs_raise():
    s = sample_gmm_shift(5, 6, 10, rng=0)
    with pytest.raises(ValueError, match="gamma"):
        solve_rss(s.X, s.y, s.X_unlabeled, gamma=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        robust_surrogate([0.0], gamma=0.1, loss="logistic")
    with pytest.raises(ValueError, match="y must contain only -1 and \\+1"):
        solve_rss(s.X, np.arange(6.0), s.X_unlabeled)
    with pytest.raises(ValueError, match="both classes"):
        solve_rss(s.X, np.ones(6), s.X_unlabeled)
    with pytest.raises(ValueError, match="X_unlabeled must have shape"):
        solve_rss(s.X, s.y, s.X_unlabeled[:, :3])
    with pytest.raises(ValueError, match="X_unlabeled must be given"):
        solve_rss(s.X, s.y, None, method="rss")
    with pytest.raises(ValueError, match="lam"):
        solve_rss(s.X, s.y, s.X_unlabeled, lam=-0.5)
    with pytest.raises(ValueError, match="loss"):
        solve_rss(s.X, s.y, s.X_unlabeled, loss="square")
    with pytest.raises(ValueError, match="y must have shape"):
        solve_rss(s.X, s.y[:4], s.X_unlabeled)
    with pytest.raises(ValueError, match="alpha"):
        sample_gmm_shift(5, 3, 3, alpha=-1.0)
    with pytest.raises(ValueError, match="covariance"):
        sample_gmm_shift(3, 3, 3, covariance=-np.eye(3))
    with pytest.raises(ValueError, match="w must be non-zero"):
        exact_accuracy(np.zeros(5), s.mu0)
    with pytest.raises(TypeError, match="rng"):
        sample_gmm_shift(5, 3, 3, rng=np.random.RandomState(0))
    with pytest.raises(ValueError, match="n_folds"):
        solve_rss(s.X, s.y, s.X_unlabeled, lam=[0.1, 1.0], n_folds=1)
    with pytest.raises(ValueError, match="products must be one of"):
        solve_rss(s.X, s.y, s.X_unlabeled, products="float16")


# (7) non-convergence -> warning and converged is False ---------------------------------
def test_non_convergence_warns():
    s = sample_gmm_shift(30, 20, 500, rng=17)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        res = solve_rss(s.X, s.y, s.X_unlabeled, gamma=1.0, gamma_u=0.3, lam=2.0, max_iter=1)
    assert res.converged is False and "max_iter" in res.message


def test_torch_trainer_non_convergence_and_errors():
    torch = pytest.importorskip("torch")
    from theorylab.dro import train_rss_torch

    g = torch.Generator().manual_seed(0)
    X = torch.randn(30, 4, generator=g)
    y = (X[:, 0] > 0).long()
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    with pytest.warns(ConvergenceWarning, match="epochs=2"):
        res = train_rss_torch(net, X, y, X + 0.1, epochs=2, tol=1e-12, lr=0.1, generator=g)
    assert res.converged is False
    with pytest.raises(ValueError, match="X_unlabeled"):
        train_rss_torch(net, X, y, None, method="rss")
    with pytest.raises(ValueError, match="gamma"):
        train_rss_torch(net, X, y, X, gamma=0.0)


@pytest.mark.parametrize("method", ["rss", "robust_erm"])
def test_batched_torch_trainer_equals_single_trainings(method):
    # train_rss_torch_many: each stacked member == train_rss_torch alone (same init, data,
    # generator), up to the rounding of the batched products
    torch = pytest.importorskip("torch")
    from theorylab.dro import train_rss_torch
    from theorylab.dro.wrm_batched import train_rss_torch_many

    torch.set_num_threads(1)
    hp = dict(gamma=1.0, lr=1e-2, weight_decay=1e-4, inner_steps=2, epochs=8)
    if method == "rss":
        hp.update(lam=0.3, warmup_epochs=3)

    def member(k):
        g = torch.Generator().manual_seed(100 + k)
        X = torch.randn(12, 6, generator=g)
        y = torch.randint(0, 3, (12,), generator=g)
        Xu = torch.randn(20, 6, generator=g) + 0.2
        torch.manual_seed(k)
        net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ELU(), torch.nn.Linear(5, 3))
        return net, X, y, Xu, torch.Generator().manual_seed(k)

    ref = []
    for k in range(3):
        net, X, y, Xu, g = member(k)
        res = train_rss_torch(net, X, y, Xu if method == "rss" else None, method=method,
                              generator=g, **hp)
        ref.append((res.history["objective"], [p.detach().clone() for p in net.parameters()]))
    mem = [member(k) for k in range(3)]
    objs = train_rss_torch_many([t[0] for t in mem], [t[1] for t in mem], [t[2] for t in mem],
                                [t[3] for t in mem] if method == "rss" else None,
                                method=method, generators=[t[4] for t in mem], **hp)
    for k, (obj_ref, p_ref) in enumerate(ref):
        np.testing.assert_allclose(objs[k], obj_ref, rtol=1e-5)
        for a, b in zip(mem[k][0].parameters(), p_ref, strict=True):
            np.testing.assert_allclose(a.detach().numpy(), b.numpy(), atol=1e-5)
    # members stay independent: a different generator changes member 0 only
    mem2 = [member(k) for k in range(3)]
    gens = [torch.Generator().manual_seed(99)] + [t[4] for t in mem2[1:]]
    objs2 = train_rss_torch_many([t[0] for t in mem2], [t[1] for t in mem2],
                                 [t[2] for t in mem2],
                                 [t[3] for t in mem2] if method == "rss" else None,
                                 method=method, generators=gens, **hp)
    assert not np.allclose(objs2[0], objs[0], rtol=1e-9)
    np.testing.assert_array_equal(objs2[1:], objs[1:])
    with pytest.raises(ValueError, match="X_unlabeled must hold 3"):
        train_rss_torch_many([t[0] for t in mem], [t[1] for t in mem], [t[2] for t in mem],
                             None, method="rss")
    with pytest.raises(ValueError, match="Xs and ys must hold 3"):
        train_rss_torch_many([t[0] for t in mem], [t[1] for t in mem[:2]],
                             [t[2] for t in mem])


def test_robust_erm_interface():
    s = sample_gmm_shift(20, 30, 0, rng=18)
    r = solve_robust_erm(s.X, s.y, gamma=[0.5, 2.0], rng=0)
    assert r.method == "robust_erm" and r.hyperparameters["lam"] == 0.0
    assert r.hyperparameters["gamma"] in (0.5, 2.0)


def test_torch_trainer_device():
    torch = pytest.importorskip("torch")
    from theorylab.dro import train_rss_torch

    def fit(device):
        g = torch.Generator().manual_seed(1)
        X = torch.randn(24, 3, generator=g)
        y = (X[:, 0] > 0).long()
        torch.manual_seed(1)
        net = torch.nn.Linear(3, 2)
        res = train_rss_torch(net, X, y, X + 0.2, epochs=5, lr=0.1, batch_size=8,
                              generator=torch.Generator().manual_seed(2), device=device)
        return res.history["objective"], net.weight.detach().cpu()

    h0, w0 = fit(None)
    h1, w1 = fit("cpu")  # an explicit CPU is the same run, batch for batch
    np.testing.assert_array_equal(h0, h1)
    assert torch.equal(w0, w1)
    net = torch.nn.Linear(3, 2)
    X, y = torch.zeros(4, 3), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda' or 'cuda:k', got 'tpu'"):
        train_rss_torch(net, X, y, method="erm", device="tpu")
    with pytest.raises(TypeError, match="device must be a str or torch.device, got int"):
        train_rss_torch(net, X, y, method="erm", device=0)


@pytest.mark.gpu
def test_torch_trainer_on_cuda_matches_cpu():
    torch = pytest.importorskip("torch")
    from theorylab.dro import train_rss_torch

    out = []
    for device in ("cpu", "cuda"):
        g = torch.Generator().manual_seed(1)
        X = torch.randn(24, 3, generator=g, dtype=torch.float64)
        y = (X[:, 0] > 0).long()
        torch.manual_seed(1)
        net = torch.nn.Linear(3, 2).double()
        res = train_rss_torch(net, X, y, X + 0.2, epochs=5, lr=0.1, batch_size=8,
                              generator=torch.Generator().manual_seed(2), device=device)
        assert next(net.parameters()).device.type == device
        out.append(res.history["objective"])
    np.testing.assert_allclose(out[1], out[0], rtol=1e-9)
