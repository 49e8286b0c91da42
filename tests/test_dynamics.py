"""theorylab.dynamics: closed forms vs adaptive quadrature, exact flow vs time-stepped GD,
asymptotes, hand-checkable values, bad inputs."""

import warnings

import numpy as np
import pytest
from scipy.integrate import IntegrationWarning

from theorylab._result import ConvergenceWarning
from theorylab.dynamics import _reference as ref
from theorylab.dynamics import (
    bayes_optimal_error,
    gd_error_curves,
    long_time_errors,
    optimal_stopping,
    ridge_error,
    simulate_gradient_flow,
    theory,
)


# 1. fast evaluator == slow reference twin (adaptive quadrature)
@pytest.mark.parametrize("alpha", [0.3, 0.5, 1.0, 2.0, 4.0])
@pytest.mark.parametrize("sigma0_sq", [0.0, 0.7])
def test_quadrature_matches_adaptive_reference(alpha, sigma0_sq):
    t = np.array([0.0, 0.3, 2.0, 10.0, 100.0])
    c = gd_error_curves(alpha, 5.0, t, sigma0_sq=sigma0_sq)
    kw = dict(teacher_var=1.0, noise_var=0.2, sigma0_sq=sigma0_sq)
    with warnings.catch_warnings():  # quad warns about the 1/λ edge at α = 1; its value is fine
        warnings.simplefilter("ignore", IntegrationWarning)
        eg = [ref.gen_error_quad(alpha, x, **kw) for x in t]
        etr = [ref.train_error_quad(alpha, x, **kw) for x in t]
    np.testing.assert_allclose(c.test_error, eg, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(c.train_error, etr, rtol=1e-8, atol=1e-10)


def test_exact_flow_matches_time_stepped_gd():
    # same draws as simulate_gradient_flow: X, w̄, ε, w0 in this order
    N, P, snr, s0 = 60, 90, 4.0, 0.3
    rng = np.random.default_rng(7)
    X = rng.standard_normal((N, P)) / np.sqrt(N)
    w_bar = rng.standard_normal(N)
    eps = rng.standard_normal(P) * np.sqrt(1 / snr)
    w0 = rng.standard_normal(N) * np.sqrt(s0)
    lr, steps = 2e-3, 2500
    test, train = ref.gradient_descent_errors(X, X.T @ w_bar + eps, w_bar, w0, lr=lr,
                                              steps=steps, noise_var=1 / snr)
    sim = simulate_gradient_flow(N, P, [lr * steps], snr=snr, sigma0_sq=s0, rng=7)
    # Euler's O(η) error at η = 2e-3
    assert sim.test_error[0] == pytest.approx(test[-1], rel=3e-3)
    assert sim.train_error[0] == pytest.approx(train[-1], rel=3e-3)


# 2. hand-checkable values
def test_initial_and_asymptotic_values():
    c = gd_error_curves(2.0, 5.0, [0.0, 1e7])
    assert c.test_error[0] == pytest.approx(1.2, abs=1e-12)  # σ_w² + σ_0² + σ_ε²
    assert c.train_error[0] == pytest.approx(1.2, abs=1e-12)
    assert c.test_error[1] == pytest.approx(0.2 * 2 / 1, abs=1e-9)  # σ_ε² α/(α−1)
    assert c.train_error[1] == pytest.approx(0.2 * 0.5, abs=1e-9)  # σ_ε²(1 − 1/α)
    eg, etr = long_time_errors(0.5, 5.0, sigma0_sq=1.0)
    assert eg == pytest.approx(0.5 * 2.0 + 0.2 / 0.5)
    assert etr == 0.0
    assert long_time_errors(1.0, 5.0)[0] == float("inf")


def test_mp_moments():
    for alpha in (0.25, 1.0, 3.0):
        lam, w = theory.mp_nodes(alpha, 800)
        assert w.sum() == pytest.approx(min(1.0, alpha), abs=1e-12)
        assert (w * lam).sum() == pytest.approx(alpha, abs=1e-12)
        if alpha > 1:
            assert (w / lam).sum() == pytest.approx(1 / (alpha - 1), rel=1e-10)


def test_bayes_error_hand_value():
    # α = 2, SNR = 5: γ* = 0.2, s = (−1.2 + √(1.44 + 0.8))/0.4
    s = (-1.2 + np.sqrt(2.24)) / 0.4
    assert bayes_optimal_error(2.0, 5.0) == pytest.approx(0.2 * (1 + s), rel=1e-12)


# 3. optimality / invariants
@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_bayes_is_the_best_ridge_and_below_early_stopping(alpha):
    e_opt = bayes_optimal_error(alpha, 5.0)
    grid = [ridge_error(alpha, 5.0, g) for g in np.logspace(-3, 2, 60)]
    assert min(grid) >= e_opt - 1e-10
    assert ridge_error(alpha, 5.0, 0.2) == pytest.approx(e_opt, rel=1e-9)
    r = optimal_stopping(alpha, 5.0)
    assert e_opt <= r.test_error <= 1.05 * e_opt and r.converged
    t = r.t_opt * np.array([0.8, 1.0, 1.25])
    eg = gd_error_curves(alpha, 5.0, t).test_error
    assert eg[1] <= eg[0] and eg[1] <= eg[2]


def test_train_error_decreases_monotonically():
    t = np.logspace(-2, 3, 80)
    for alpha in (0.5, 1.0, 2.0):
        assert np.all(np.diff(gd_error_curves(alpha, 5.0, t).train_error) <= 1e-14)


# 4. theory vs simulation (independent evaluator)
def test_simulation_agrees_with_theory():
    t = [0.5, 5.0, 50.0]
    sims = np.array([simulate_gradient_flow(300, 600, t, snr=5.0, rng=s).test_error
                     for s in range(6)])
    th = gd_error_curves(2.0, 5.0, t).test_error
    se = sims.std(0, ddof=1) / np.sqrt(6)
    assert np.all(np.abs(sims.mean(0) - th) <= 3 * se + 2 / 300)


def test_simulation_frozen_subspace_exact_per_instance():
    # With P < N, directions outside the range of X keep their initial error.
    sim = simulate_gradient_flow(50, 20, [0.0, 1e9], snr=1e12, rng=3)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 20)) / np.sqrt(50)
    w_bar = rng.standard_normal(50)
    Q, _ = np.linalg.qr(X)
    frozen = np.sum((w_bar - Q @ (Q.T @ w_bar)) ** 2) / 50
    assert sim.test_error[1] == pytest.approx(frozen + 1e-12, rel=1e-6)


# 5. external reference: scikit-learn's Ridge agrees with the ridge theory on average
def test_ridge_theory_vs_sklearn():
    sk = pytest.importorskip("sklearn.linear_model")
    errs = []
    for s in range(5):
        rng = np.random.default_rng(s)
        N, P = 200, 400
        X = rng.standard_normal((N, P)) / np.sqrt(N)
        w_bar = rng.standard_normal(N)
        y = X.T @ w_bar + rng.standard_normal(P) * np.sqrt(0.2)
        w = sk.Ridge(alpha=0.5, fit_intercept=False).fit(X.T, y).coef_
        errs.append(np.sum((w - w_bar) ** 2) / N + 0.2)
    assert np.mean(errs) == pytest.approx(ridge_error(2.0, 5.0, 0.5), abs=3 * np.std(errs) + 0.01)


# 6. bad inputs
@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: gd_error_curves(0.0, 5.0, [1.0]), ValueError, "alpha must be > 0"),
        (lambda: gd_error_curves(-1.0, 5.0, [1.0]), ValueError, "alpha must be > 0"),
        (lambda: gd_error_curves(1.0, 0.0, [1.0]), ValueError, "snr must be > 0"),
        (lambda: gd_error_curves(1.0, np.nan, [1.0]), ValueError, "snr must be finite"),
        (lambda: gd_error_curves(1.0, 5.0, [2.0, 1.0]), ValueError, "times must be non-decreasing"),
        (lambda: gd_error_curves(1.0, 5.0, [-1.0]), ValueError, "times must be >= 0"),
        (lambda: gd_error_curves(1.0, 5.0, [np.nan]), ValueError, "times must be finite"),
        (lambda: gd_error_curves(1.0, 5.0, [[1.0, 2.0]]), ValueError, "times must be 1-dim"),
        (lambda: gd_error_curves(1.0, 5.0, [1.0], sigma0_sq=-0.1), ValueError, "sigma0_sq"),
        (lambda: gd_error_curves("1", 5.0, [1.0]), TypeError, "alpha must be a real number"),
        (lambda: simulate_gradient_flow(0, 10, [1.0], snr=1.0), ValueError, "n_features"),
        (lambda: simulate_gradient_flow(10, 10.5, [1.0], snr=1.0), TypeError, "n_samples"),
        (lambda: simulate_gradient_flow(10, 10, [1.0], snr=1.0,
                                        rng=np.random.RandomState(0)), TypeError, "legacy"),
        (lambda: optimal_stopping(1.0, -2.0), ValueError, "snr must be > 0"),
        (lambda: bayes_optimal_error(0.0, 1.0), ValueError, "alpha must be > 0"),
        (lambda: ridge_error(1.0, 1.0, 0.0), ValueError, "ridge must be > 0"),
    ],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# 7. "non-convergence": an optimum outside the scanned interval is reported, not hidden
def test_optimal_stopping_at_edge_reports_not_converged():
    with pytest.warns(ConvergenceWarning, match="edge of the scanned interval"):
        r = optimal_stopping(2.0, 1e4, log10_t_bounds=(-3.0, -1.0))
    assert r.converged is False and "edge" in r.message


def test_results_are_frozen():
    c = gd_error_curves(2.0, 5.0, [1.0, 2.0])
    with pytest.raises(ValueError):
        c.test_error[0] = 0.0


def test_reproducible_and_seed_dependent():
    a = simulate_gradient_flow(40, 80, [1.0], snr=2.0, rng=1).test_error
    b = simulate_gradient_flow(40, 80, [1.0], snr=2.0, rng=np.random.default_rng(1)).test_error
    c = simulate_gradient_flow(40, 80, [1.0], snr=2.0, rng=2).test_error
    assert a[0] == b[0] and a[0] != c[0]


def test_two_layer_batched_equals_single_seed():
    pytest.importorskip("torch")
    from theorylab.dynamics.nonlinear import train_two_layer_student

    kw = dict(n_inputs=5, n_teacher=6, n_samples=40, n_test=200, n_steps=50, lr=0.2,
              n_records=5, rng=3)
    single = train_two_layer_student(7, **kw)
    batch = train_two_layer_student(7, **{**kw, "rng": [2, 3]})
    np.testing.assert_allclose(batch.test_error[1], single.test_error, rtol=1e-10)
    np.testing.assert_allclose(batch.train_error[1], single.train_error, rtol=1e-10)
    assert single.train_error[-1] < single.train_error[0]  # it learns
    with pytest.raises(ValueError, match="width must be >= 1"):
        train_two_layer_student(0, **kw)
    with pytest.raises(ValueError, match="snr must be > 0"):
        train_two_layer_student(3, snr=0.0, **kw)
    with pytest.raises(FloatingPointError, match="non-finite"):
        train_two_layer_student(50, **{**kw, "lr": 1e4, "n_steps": 200, "n_records": 200})
    with pytest.raises(ValueError, match="dtype must be 'float64' or 'float32'"):
        train_two_layer_student(3, dtype="float16", **kw)


def _two_layer_autograd(width, *, n_inputs, n_teacher, n_samples, n_test, steps, lr, n_records,
                        seed, snr=1.0, init_scale=0.05):
    """Plain per-seed autograd transcription of the training (the fast path is checked on it)."""
    import torch

    dt = torch.float64
    g = torch.Generator().manual_seed(seed)
    Wt = torch.randn(n_teacher, n_inputs, generator=g, dtype=dt)
    at = torch.randn(n_teacher, generator=g, dtype=dt)
    X = torch.randn(n_samples + n_test, n_inputs, generator=g, dtype=dt)
    f = torch.relu(X @ Wt.T / np.sqrt(n_inputs)) @ at / np.sqrt(n_teacher)
    nv = float(f.var()) / snr
    y = f + torch.randn(len(f), generator=g, dtype=dt) * np.sqrt(nv)
    gs = torch.Generator().manual_seed(seed * 100_003 + width)
    W = (torch.randn(width, n_inputs, generator=gs, dtype=dt) * init_scale).requires_grad_(True)
    a = (torch.randn(width, generator=gs, dtype=dt) * init_scale).requires_grad_(True)
    rec = np.unique(np.round(np.logspace(0, np.log10(steps), n_records)).astype(int))

    def predict(Xb):
        return torch.relu(Xb @ W.T / np.sqrt(n_inputs)) @ a

    test, train = [], []
    for step in range(1, steps + 1):
        loss = 0.5 * torch.mean((y[:n_samples] - predict(X[:n_samples])) ** 2)
        gW, ga = torch.autograd.grad(loss, (W, a))
        with torch.no_grad():
            W -= lr * gW
            a -= lr * ga
            if step in rec:
                test.append(float(torch.mean((y[n_samples:] - predict(X[n_samples:])) ** 2)))
                train.append(2 * float(loss))
    return np.array(test), np.array(train)


@pytest.mark.parametrize("path", ["numba", "torch-1", "torch-all"])  # torch: seeds per block
@pytest.mark.parametrize("width", [1, 9, 64])
def test_two_layer_closed_form_gradients_match_autograd(width, path, monkeypatch):
    # batched closed-form training of 3 independent students == 3 separate autograd trainings,
    # for the numba kernel (the CPU path) and the batched torch loop (any device)
    pytest.importorskip("torch")
    from theorylab.dynamics import nonlinear
    from theorylab.dynamics.nonlinear import train_two_layer_student

    if path != "numba":
        monkeypatch.setattr(nonlinear, "_train_numba", nonlinear._train_torch)
        monkeypatch.setattr(nonlinear, "_BLOCK_BYTES", 1 if path == "torch-1" else 1 << 20)

    kw = dict(n_inputs=6, n_teacher=5, n_samples=50, n_test=300, steps=300, lr=0.3,
              n_records=8)
    kw_lib = {**{k: v for k, v in kw.items() if k != "steps"}, "n_steps": kw["steps"]}
    fast = train_two_layer_student(width, rng=[0, 4, 11], **kw_lib)
    for i, sd in enumerate([0, 4, 11]):
        te, tr = _two_layer_autograd(width, seed=sd, **kw)
        np.testing.assert_allclose(fast.test_error[i], te, rtol=1e-9)
        np.testing.assert_allclose(fast.train_error[i], tr, rtol=1e-9)
    f32 = train_two_layer_student(width, rng=[0, 4, 11], dtype="float32", **kw_lib)
    assert f32.test_error.dtype == np.float64
    np.testing.assert_allclose(f32.test_error, fast.test_error, rtol=1e-4)
    np.testing.assert_allclose(f32.train_error, fast.train_error, rtol=1e-4)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_samples", [64, 75])  # a multiple of the kernel's padding, and not
def test_two_layer_numba_kernel_matches_torch_loop(dtype, n_samples):
    # the CPU kernel (zero-padded sample axes, reassociated sums) == the batched torch loop
    pytest.importorskip("torch")
    from theorylab.dynamics import nonlinear

    kw = dict(n_inputs=7, n_teacher=5, n_samples=n_samples, n_test=130, n_steps=300, lr=0.3,
              n_records=9, rng=[1, 5], dtype=dtype)
    fast = nonlinear.train_two_layer_student(40, **kw)
    orig = nonlinear._train_numba
    try:
        nonlinear._train_numba = nonlinear._train_torch
        slow = nonlinear.train_two_layer_student(40, **kw)
    finally:
        nonlinear._train_numba = orig
    rtol = 1e-10 if dtype == "float64" else 1e-4  # float32: round-off along training
    np.testing.assert_allclose(fast.test_error, slow.test_error, rtol=rtol)
    np.testing.assert_allclose(fast.train_error, slow.train_error, rtol=rtol)
    assert fast.train_error[0, -1] < 0.5 * fast.train_error[0, 0]  # it learns
