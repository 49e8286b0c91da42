"""Tests of theorylab.gamp (Maillard et al. 2024, arXiv:2408.03733): seven kinds."""

import math
import warnings

import numpy as np
import pytest

from theorylab._result import ConvergenceWarning
from theorylab.gamp import (
    GampRieResult,
    _kernels,
    _reference,
    bayes_optimal_mmse,
    denoising_mmse,
    expected_test_error,
    label_to_preact_noise,
    perfect_recovery_threshold,
    preact_to_label_noise,
    quadratic_labels,
    rie_denoise,
    sample_quadratic_network,
    small_kappa_mmse,
    solve_gamp_rie,
    state_evolution,
)
from theorylab.gamp import theory as T


def _goe(d, rng):
    G = rng.standard_normal((d, d))
    return (G + G.T) / np.sqrt(2 * d)


# ------------------------------------------------------------- 1. kernel == reference

def test_quadratic_forms_kernel_matches_tensor_reference():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 12))
    S = rng.standard_normal((12, 12))
    S = S + S.T
    out = np.empty(150)
    _kernels.quadratic_forms(X, X @ S, float(np.trace(S)), 1 / np.sqrt(12), out)
    np.testing.assert_allclose(out, _reference.quadratic_forms_reference(X, S), rtol=1e-12,
                               atol=1e-12)


def test_channel_update_kernel_matches_numpy():
    rng = np.random.default_rng(1)
    n, d = 80, 9
    X = rng.standard_normal((n, d))
    S = rng.standard_normal((d, d))
    S = S + S.T
    y, omega = rng.standard_normal(n), rng.standard_normal(n)
    V, V_new, rho, delta = 0.7, 0.4, 0.3, 0.1
    V_d = (1 - rho) * V_new + rho * V
    q = _reference.quadratic_forms_reference(X, S)
    w_ref = (1 - rho) * (q - (y - omega) / (delta + V) * V_new) + rho * omega
    g_ref = (y - w_ref) / (delta + V_d)
    w, g = omega.copy(), np.empty(n)
    s2, s1 = _kernels.channel_update(X, X @ S, y, w, float(np.trace(S)), 1 / np.sqrt(d), V,
                                     V_new, V_d, delta, rho, g)
    np.testing.assert_allclose(w, w_ref, rtol=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12)
    assert s2 == pytest.approx(np.sum(g_ref**2), rel=1e-12)
    assert s1 == pytest.approx(np.sum(g_ref), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("delta", [0.0, 0.25])
def test_tensor_free_gamp_matches_tensor_reference(delta):
    inst = sample_quadratic_network(16, alpha=0.35, kappa=0.5, delta=delta, rng=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = solve_gamp_rie(inst.X, inst.y, kappa=0.5, delta=delta, rng=4, max_iter=25,
                             S_star=inst.S_star)
    S, errs, it = _reference.gamp_rie_tensor(inst.X, inst.y, kappa=0.5, delta=delta, rng=4,
                                             max_iter=25, S_star=inst.S_star)
    assert it == res.n_iter
    np.testing.assert_allclose(res.S, S, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(res.history["mse"], errs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("d, delta, kappa", [(12, 0.3, 0.5), (40, 1.5, 0.25), (30, 0.05, 2.0)])
def test_rie_equals_reference_from_the_free_convolution(d, delta, kappa):
    # the reference derives the Stieltjes cubic in algorithm units on its own; small d puts
    # eigenvalues outside the asymptotic support, so both branches of g are exercised
    rng = np.random.default_rng(d)
    m = max(1, round(kappa * d))
    W = rng.standard_normal((d, m))
    G = rng.standard_normal((d, d))
    R = W @ W.T / np.sqrt(m * d) + np.sqrt(delta) * (G + G.T) / np.sqrt(2 * d)
    np.testing.assert_allclose(rie_denoise(R, delta, kappa=kappa),
                               _reference.rie_reference(R, delta, kappa), rtol=1e-10,
                               atol=1e-10)


# ------------------------------------------------------------------- 2. by hand

def test_hand_values():
    assert perfect_recovery_threshold(0.5) == 0.375
    assert perfect_recovery_threshold(0.2) == pytest.approx(0.18)
    assert perfect_recovery_threshold(3.0) == 0.5
    assert small_kappa_mmse(0.25) == 1.0
    assert small_kappa_mmse(0.75) == pytest.approx(0.75)
    assert small_kappa_mmse(2.0) == 0.0
    assert preact_to_label_noise(0.25) == pytest.approx(2 * 0.0625 * 2.0625)
    assert expected_test_error(0.1, delta=0.25) == pytest.approx(0.45)
    assert label_to_preact_noise(preact_to_label_noise(0.3)) == pytest.approx(0.3, rel=1e-12)
    assert label_to_preact_noise(0.0) == 0.0


def test_labels_of_a_tiny_instance_by_hand():
    # d = 2, S = [[2, 1], [1, 0]], x = (1, 1): (x'Sx - Tr S)/d = (4 - 2)/2 = 1
    assert quadratic_labels(np.array([[1.0, 1.0]]), np.array([[2.0, 1.0], [1.0, 0.0]]))[0] == 1.0


@pytest.mark.parametrize("kappa,s2", [(0.5, 0.02), (0.5, 1.2), (2.0, 0.3), (0.2, 1e-3)])
def test_density_moments(kappa, s2):
    # MP(1/kappa, mean 1) ⊞ semicircle(s2): mass 1, mean 1, second moment 1 + 1/kappa + s2
    x, w = T._quad_nodes(T._bulks_th(s2, kappa))
    rho = T.spectral_density_th(x, s2, kappa)
    assert w @ rho == pytest.approx(1.0, abs=1e-8)
    assert w @ (rho * x) == pytest.approx(1.0, abs=1e-8)
    assert w @ (rho * x**2) == pytest.approx(1 + 1 / kappa + s2, rel=1e-8)


# ------------------------------------------------------------- 3. invariants

def test_state_evolution_fixed_point_is_the_mmse():
    traj = state_evolution(0.2, kappa=0.5, n_iter=300)
    assert traj[-1] == pytest.approx(bayes_optimal_mmse(0.2, 0.5), abs=1e-6)
    assert traj[-1] == pytest.approx(0.39220, abs=1e-5)


def test_denoising_mmse_is_monotone_and_bounded():
    deltas = np.logspace(-4, 2.5, 40)
    F = denoising_mmse(deltas, kappa=0.5)
    assert np.all(np.diff(F) > 0)
    assert np.all(F < deltas)  # the RIE beats the identity
    assert np.all(F < 1.0)  # and the prior mean (prior variance 1)
    # brief: kappa * F_th(sigma^2 = 100; 0.5) = 0.980, i.e. Delta = kappa * 100 = 50
    assert denoising_mmse(50.0, kappa=0.5) == pytest.approx(0.980, abs=1e-3)


def test_rie_output_is_symmetric_and_shares_eigenvectors():
    rng = np.random.default_rng(5)
    R = _goe(40, rng) + np.eye(40)
    S = rie_denoise(R, 0.5, kappa=0.5)
    np.testing.assert_allclose(S, S.T, atol=1e-12)
    np.testing.assert_allclose(S @ R, R @ S, atol=1e-10)


def test_result_is_frozen():
    inst = sample_quadratic_network(20, alpha=0.45, kappa=0.5, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = solve_gamp_rie(inst.X, inst.y, kappa=0.5, rng=0, max_iter=5, S_star=inst.S_star)
    assert isinstance(res, GampRieResult)
    with pytest.raises(AttributeError):
        res.n_iter = 3
    with pytest.raises(ValueError):
        res.S[0, 0] = 1.0
    with pytest.raises(ValueError):
        res.history["mse"][0] = 1.0
    assert res.x is res.S or np.shares_memory(res.x, res.S)


# ------------------------------------------------------------- 4. agreement

@pytest.mark.parametrize("kappa,alpha,delta,expected", [
    (0.5, 0.1, 0.0, 0.7237), (0.5, 0.3, 0.0, 0.1281), (0.5, 0.3, 0.25, 0.3357),
    (1.0, 0.3, 0.0, 0.2615), (0.2, 0.17, 0.0, 0.1076)])
def test_theory_matches_published_values(kappa, alpha, delta, expected):
    assert bayes_optimal_mmse(alpha, kappa, delta=delta) == pytest.approx(expected, abs=1e-4)


def test_mmse_zero_beyond_threshold_and_small_kappa_limit():
    assert bayes_optimal_mmse(0.4, 0.5) == 0.0
    assert bayes_optimal_mmse(0.37, 0.5) == pytest.approx(0.0095, abs=1e-4)
    at = np.array([0.3, 0.7, 0.9, 1.1])
    np.testing.assert_allclose(bayes_optimal_mmse(at * 1e-3, 1e-3), small_kappa_mmse(at),
                               atol=0.02)


def test_table_matches_exact_integral():
    d = np.logspace(-4.5, 2.5, 15)
    exact = denoising_mmse(d, kappa=0.5, exact=True)
    np.testing.assert_allclose(denoising_mmse(d, kappa=0.5), exact, rtol=2e-4)
    assert float(denoising_mmse(0.6, kappa=0.5, exact=True)) == pytest.approx(0.28390, abs=1e-5)


@pytest.mark.parametrize("kappa,s2", [(0.5, 0.02), (0.2, 1e-3), (1.0, 0.5), (5.0, 0.1)])
def test_stieltjes_outside_support_matches_quadrature(kappa, s2):
    e = T.spectral_edges_th(s2, kappa)
    width = e[-1] - e[0]
    xs = [e[0] - 1.0, e[0] - 1e-3 * width, e[-1] + 1e-3 * width, e[-1] + 3.0]
    if e.size == 4:
        xs += [0.5 * (e[1] + e[2]), e[1] + 0.1 * (e[2] - e[1]), e[2] - 0.1 * (e[2] - e[1])]
    x, w = T._quad_nodes(T._bulks_th(s2, kappa), 2048)
    rho = T.spectral_density_th(x, s2, kappa)
    quad = np.array([w @ (rho / (xx - x)) for xx in xs])
    np.testing.assert_allclose(T.stieltjes_th(np.array(xs), s2, kappa).real, quad, rtol=1e-6)


def test_rie_matches_brute_force_denoising_error():
    errs = [_reference.rie_empirical_mse(300, 0.6, kappa=0.5, rng=s) for s in range(3)]
    assert np.mean(errs) == pytest.approx(0.28390, abs=0.02)


def test_rie_beats_empirical_oracle_shrinkage_bound():
    # the oracle with the true S's overlap is a lower bound; RIE should be close to it
    rng = np.random.default_rng(7)
    d, m = 200, 100
    W = rng.standard_normal((d, m))
    S = W @ W.T / np.sqrt(m * d)
    R = S + np.sqrt(0.6) * _goe(d, rng)
    lam, V = np.linalg.eigh(R)
    oracle = (V * np.einsum("ij,ik,kj->j", V, S, V)) @ V.T
    rie = rie_denoise(R, 0.6, kappa=0.5)
    e_or, e_rie = np.sum((oracle - S) ** 2) / d, np.sum((rie - S) ** 2) / d
    assert e_or <= e_rie <= e_or + 0.03


def test_gamp_near_theory_and_recovers_beyond_threshold():
    inst = sample_quadratic_network(80, alpha=0.3, kappa=0.5, rng=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r = solve_gamp_rie(inst.X, inst.y, kappa=0.5, rng=12, max_iter=100, S_star=inst.S_star)
    assert abs(r.mse - 0.1281) < 0.04
    assert abs(r.predicted_mse - r.mse) < 0.05
    inst = sample_quadratic_network(60, alpha=0.45, kappa=0.5, rng=13)
    r = solve_gamp_rie(inst.X, inst.y, kappa=0.5, rng=14, S_star=inst.S_star)
    assert r.converged and r.mse < 0.01


def test_instance_statistics():
    inst = sample_quadratic_network(60, alpha=0.5, kappa=0.5, delta=0.1, rng=2)
    assert inst.X.shape == (1800, 60) and inst.W.shape == (60, 30)
    d = 60
    # prior variance: (1/d^2)||S* - E S*||^2 ≈ 1, E S* = sqrt(m) I
    assert np.sum((inst.S_star - np.sqrt(30) * np.eye(d)) ** 2) / d**2 == pytest.approx(1, abs=0.15)
    assert np.var(inst.y) == pytest.approx(2 * np.sum(inst.S_star**2) / d**2
                                           - 0 + 0.1, rel=0.15)


# ----------------------------------------------------------- 5. external references

def test_cubic_against_sympy_derivation():
    sp = pytest.importorskip("sympy")
    g, z, k, s = sp.symbols("g z kappa s2")
    num = sp.numer(sp.together(z - (1 / g + k / (k - g) + s * g)))
    coeffs = sp.Poly(sp.expand(num), g).all_coeffs()
    a3, a2, a1, a0 = T._cubic_coeffs_th(np.array([0.7 + 0j]), 0.3, 0.5)
    sub = {z: 0.7, k: 0.5, s: 0.3}
    got = np.array([complex(c.subs(sub)) for c in coeffs])
    ours = np.array([a3[0], a2[0], a1[0], a0[0]])
    np.testing.assert_allclose(got / got[0], ours / ours[0], atol=1e-12)


def test_denoising_mmse_against_scipy_quad():
    from scipy.integrate import quad

    kappa, s2 = 0.5, 1.2
    (a, b), = T._bulks_th(s2, kappa)
    val, _ = quad(lambda x: T.spectral_density_th(np.array([x]), s2, kappa)[0] ** 3, a, b,
                  limit=200, epsabs=1e-12)
    F = s2 - 4 * np.pi**2 / 3 * s2**2 * val
    assert T._denoising_mmse_th(s2, kappa) == pytest.approx(F, rel=1e-8)


def test_quadratic_forms_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    X = rng.standard_normal((50, 7))
    S = rng.standard_normal((7, 7))
    Xt, St = torch.from_numpy(X), torch.from_numpy(S)
    ref = (torch.einsum("ni,ij,nj->n", Xt, St, Xt) - torch.trace(St)) / math.sqrt(7)
    out = np.empty(50)
    _kernels.quadratic_forms(X, X @ S, float(np.trace(S)), 1 / math.sqrt(7), out)
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-12)


# ------------------------------------------------------------------ 6. bad input

@pytest.mark.parametrize("kw,match", [
    (dict(alpha=0.0, kappa=0.5), "alpha"), (dict(alpha=-1.0, kappa=0.5), "alpha"),
    (dict(alpha=0.5, kappa=0.0), "kappa"), (dict(alpha=0.5, kappa=0.5, delta=-0.1), "delta"),
])
def test_sample_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        sample_quadratic_network(10, **kw)


def test_theory_bad_input():
    with pytest.raises(ValueError, match="alpha"):
        bayes_optimal_mmse(0.0, 0.5)
    with pytest.raises(ValueError, match="kappa"):
        bayes_optimal_mmse(0.2, -1.0)
    with pytest.raises(ValueError, match="delta"):
        bayes_optimal_mmse(0.2, 0.5, delta=-1.0)
    with pytest.raises(ValueError, match="kappa"):
        perfect_recovery_threshold(0.0)
    with pytest.raises(ValueError, match="delta"):
        denoising_mmse(0.0, kappa=0.5)
    with pytest.raises(ValueError, match="alpha_tilde"):
        small_kappa_mmse(-1.0)


def test_rie_bad_input():
    with pytest.raises(ValueError, match="R must be square"):
        rie_denoise(np.ones((3, 4)), 0.1, kappa=0.5)
    R = np.eye(3)
    R[0, 1] = np.nan
    with pytest.raises(ValueError, match="R must be finite"):
        rie_denoise(R, 0.1, kappa=0.5)
    with pytest.raises(ValueError, match="delta"):
        rie_denoise(np.eye(3), -0.1, kappa=0.5)


def test_solver_bad_input():
    inst = sample_quadratic_network(10, alpha=0.3, kappa=0.5, rng=0)
    X, y = inst.X, inst.y
    with pytest.raises(ValueError, match=r"y must have shape \(30,\)"):
        solve_gamp_rie(X, y[:-1], kappa=0.5)
    with pytest.raises(ValueError, match="kappa"):
        solve_gamp_rie(X, y, kappa=0.0)
    with pytest.raises(ValueError, match="damping"):
        solve_gamp_rie(X, y, kappa=0.5, damping=1.0)
    with pytest.raises(ValueError, match="delta"):
        solve_gamp_rie(X, y, kappa=0.5, delta=-0.1)
    y_nan = y.copy()
    y_nan[3] = np.nan
    with pytest.raises(ValueError, match="y must be finite"):
        solve_gamp_rie(X, y_nan, kappa=0.5)
    with pytest.raises(ValueError, match="S_star must have shape"):
        solve_gamp_rie(X, y, kappa=0.5, S_star=np.eye(9))
    with pytest.raises(TypeError, match="rng"):
        solve_gamp_rie(X, y, kappa=0.5, rng=np.random.RandomState(0))
    with pytest.raises(ValueError, match="max_iter"):
        solve_gamp_rie(X, y, kappa=0.5, max_iter=0)


# --------------------------------------------------------------- 7. non-convergence

def test_non_finite_iterate_raises_naming_the_iteration(monkeypatch):
    inst = sample_quadratic_network(12, alpha=0.3, kappa=0.5, rng=0)
    real = _kernels.channel_update
    calls = []

    def poisoned(*args):
        calls.append(1)
        s2, s1 = real(*args)
        return (np.nan, s1) if len(calls) == 3 else (s2, s1)

    monkeypatch.setattr(_kernels, "channel_update", poisoned)
    with pytest.raises(FloatingPointError, match="iteration 3"):
        solve_gamp_rie(inst.X, inst.y, kappa=0.5, rng=0, max_iter=10)


def test_nonconvergence_warns_and_flags():
    inst = sample_quadratic_network(20, alpha=0.3, kappa=0.5, rng=0)
    with pytest.warns(ConvergenceWarning, match=r"step .* tol 1\.0e-12 after 3 iterations"):
        res = solve_gamp_rie(inst.X, inst.y, kappa=0.5, tol=1e-12, max_iter=3, rng=0)
    assert res.converged is False
    assert res.n_iter == 3
    assert "did not converge" in res.message
    assert "mse" not in res.history and res.mse is None


def test_nonconvergence_warning_points_at_the_caller_for_both_twins():
    # the shared iteration sits one call below each entry point: the warning must still be
    # attributed to the line that called solve_gamp_rie / solve_gamp_rie_fast
    from theorylab.gamp.fast import solve_gamp_rie_fast

    inst = sample_quadratic_network(20, alpha=0.3, kappa=0.5, rng=0)
    for solve in (solve_gamp_rie, solve_gamp_rie_fast):
        with pytest.warns(ConvergenceWarning) as rec:
            solve(inst.X, inst.y, kappa=0.5, tol=1e-12, max_iter=3, rng=0)
        assert [w.filename for w in rec] == [__file__], solve.__name__


# ------------------------------------------------------------------ torch GD

def test_gd_gradient_matches_autograd():
    torch = pytest.importorskip("torch")
    from theorylab.gamp.gd import _loss_and_grad

    inst = sample_quadratic_network(8, alpha=0.5, kappa=0.5, rng=0)
    Xt, yt = torch.tensor(inst.X), torch.tensor(inst.y)
    W = torch.randn((3, 8, 4), generator=torch.Generator().manual_seed(1), dtype=torch.float64,
                    requires_grad=True)
    c = 1 / (8 * 2.0)
    loss, grad = _loss_and_grad(Xt, yt, W.detach(), c, 0.3)
    loss2, _ = _loss_and_grad(Xt, yt, W, c, 0.3)
    (auto,) = torch.autograd.grad(loss2.sum(), W)
    np.testing.assert_allclose(loss.numpy(), loss2.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad.numpy(), auto.numpy(), rtol=1e-10, atol=1e-12)


def test_gd_fits_the_training_data_and_averages():
    torch = pytest.importorskip("torch")
    from theorylab.gamp.gd import train_quadratic_network_gd

    inst = sample_quadratic_network(10, alpha=0.5, kappa=0.5, rng=0)
    res = train_quadratic_network_gd(inst.X, inst.y, width=5, n_init=4, lr=1.0, n_steps=800,
                                     generator=torch.Generator().manual_seed(0))
    assert res.S_runs.shape == (4, 10, 10)
    np.testing.assert_allclose(res.S, res.S_runs.mean(0))
    assert np.all(res.train_loss < 0.25 * np.var(inst.y) * 0.05)
    with pytest.raises(ValueError, match="lr"):
        train_quadratic_network_gd(inst.X, inst.y, width=5, lr=0.0)
    with pytest.raises(ValueError, match="width"):
        train_quadratic_network_gd(inst.X, inst.y, width=0)


# ------------------------------------------- fast twins (closed-form cubic roots) == originals

@pytest.mark.parametrize("kappa", [0.05, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("s2", [1e-7, 1e-3, 0.3, 10.0])
def test_fast_stieltjes_matches_companion_matrix_roots(kappa, s2):
    from theorylab.gamp.fast import stieltjes_th_fast

    e = T.spectral_edges_th(s2, kappa)
    x = np.concatenate([np.linspace(e[0] - 3, e[-1] + 3, 1501), e, e + 1e-9, e - 1e-9])
    np.testing.assert_allclose(stieltjes_th_fast(x, s2, kappa), T.stieltjes_th(x, s2, kappa),
                               rtol=1e-9, atol=1e-12)


def test_fast_cubic_kernel_flags_ill_conditioned_points():
    # near an edge the roots are ill-conditioned: the kernel must hand them to the fallback
    from theorylab.gamp import fast

    e = T.spectral_edges_th(0.3, 0.5)
    x = np.array([e[0] + 1e-12, 0.5 * (e[0] + e[-1])])
    out, ok = np.empty((2, 3), dtype=complex), np.empty(2, dtype=bool)
    fast._cubic_roots_kernel(x, 0.3, 0.5, out, ok)
    assert not ok[0] and ok[1]


def test_fast_gamp_and_mmse_equal_the_originals():
    from theorylab.gamp.fast import bayes_optimal_mmse_fast, solve_gamp_rie_fast

    for d, alpha, kappa, delta in [(40, 0.3, 0.5, 0.0), (40, 0.2, 0.5, 0.25), (30, 0.5, 1.0, 0.0)]:
        inst = sample_quadratic_network(d, alpha=alpha, kappa=kappa, delta=delta, rng=3)
        kw = dict(kappa=kappa, delta=delta, max_iter=60, rng=4, S_star=inst.S_star)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            a = solve_gamp_rie(inst.X, inst.y, **kw)
            b = solve_gamp_rie_fast(inst.X, inst.y, **kw)
        assert a.n_iter == b.n_iter and a.converged == b.converged
        np.testing.assert_allclose(b.history["mse"], a.history["mse"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b.S, a.S, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(b.predicted_mse, a.predicted_mse, rtol=1e-8)
    alphas = np.array([0.05, 0.2, 0.37])
    for delta in (0.0, 0.25):
        np.testing.assert_allclose(bayes_optimal_mmse_fast(alphas, 0.5, delta=delta),
                                   bayes_optimal_mmse(alphas, 0.5, delta=delta),
                                   rtol=1e-10, atol=1e-13)
    with pytest.raises(ValueError, match="kappa must be > 0"):
        solve_gamp_rie_fast(inst.X, inst.y, kappa=0.0)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        bayes_optimal_mmse_fast(-1.0, 0.5)
