"""Leave-one-out RBF Bayes-error estimator and Bayes-error-optimised (BEO) perturbations."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearnable.bayes_error import (  # noqa: E402
    bayes_error_surrogate,
    estimate_bayes_error,
    gaussian_bayes_error,
    loo_posteriors,
    median_heuristic_sigma,
)
from theorylab.unlearnable.beo import (  # noqa: E402
    beo_perturb,
    error_minimizing_noise,
    project_linf_box,
    uniform_noise,
)
from theorylab.unlearning.models import Recipe  # noqa: E402


def _blobs(n, d=2, k=3, sep=1.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    centres = rng.normal(size=(k, d)) * sep
    f = centres[y] + rng.normal(size=(n, d))
    return torch.tensor(f, dtype=torch.float64), torch.tensor(y, dtype=torch.long)


def _brute_force(f, y, sigma, k):
    """Plain-Python transcription of the estimator's definition (double loop)."""
    n = len(f)
    eta = [[0.0] * k for _ in range(n)]
    for i in range(n):
        num = [0.0] * k
        den = 0.0
        for j in range(n):
            if j == i:
                continue
            d2 = sum((a - b) ** 2 for a, b in zip(f[i], f[j], strict=True))
            w = math.exp(-d2 / (2 * sigma * sigma))
            num[y[j]] += w
            den += w
        eta[i] = [v / den for v in num]
    yhat = [max(range(k), key=lambda c, e=e: e[c]) for e in eta]
    err = sum(yh != yi for yh, yi in zip(yhat, y, strict=True)) / n
    plugin = sum(1 - e[c] for e, c in zip(eta, yhat, strict=True)) / n
    dists = sorted(math.dist(f[i], f[j]) for i in range(n) for j in range(i + 1, n))
    m = len(dists)
    med = dists[m // 2] if m % 2 else 0.5 * (dists[m // 2 - 1] + dists[m // 2])
    return np.array(eta), err, plugin, med


# ------------------------------------------------------------------ estimator

def test_matches_brute_force_twin():
    f, y = _blobs(9, d=3, k=3, sep=1.5, seed=1)
    eta_ref, err_ref, plug_ref, med_ref = _brute_force(f.tolist(), y.tolist(), 0.8, 3)
    est = estimate_bayes_error(f, y, sigma=0.8)
    np.testing.assert_allclose(est.posteriors, eta_ref, rtol=1e-12, atol=1e-15)
    assert est.error == pytest.approx(err_ref, abs=1e-15)
    assert est.plugin == pytest.approx(plug_ref, rel=1e-12)
    assert 0 < est.error < 1  # the case is not trivial
    assert median_heuristic_sigma(f) == pytest.approx(med_ref, rel=1e-12)
    s = float(bayes_error_surrogate(f, y, sigma=0.8))
    assert s == pytest.approx(9 * plug_ref, rel=1e-12)


def test_hand_example():
    # two tight pairs: labels agreeing with the pairs -> 0 errors; crossing them -> all wrong
    f = np.array([[0.0], [0.1], [1.0], [1.1]])
    assert estimate_bayes_error(f, np.array([0, 0, 1, 1]), sigma=0.2).error == 0.0
    assert estimate_bayes_error(f, np.array([0, 1, 0, 1]), sigma=0.2).error == 1.0


def test_dense_and_chunked_agree():
    f, y = _blobs(53, d=4, k=4, seed=2)
    dense = loo_posteriors(f, y, sigma=1.3)
    for chunk in (1, 7, 52, 53, 500):
        np.testing.assert_allclose(loo_posteriors(f, y, sigma=1.3, chunk_size=chunk).numpy(),
                                   dense.numpy(), rtol=1e-12, atol=1e-15)
    assert median_heuristic_sigma(f, chunk_size=5) == median_heuristic_sigma(f)
    # gradients too (the chunked path recomputes each block in the backward pass)
    grads = []
    for chunk in (None, 6):
        g = f.clone().requires_grad_(True)
        bayes_error_surrogate(g, y, sigma=1.3, chunk_size=chunk).backward()
        grads.append(g.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10, atol=1e-13)
    assert np.abs(grads[0]).max() > 1e-3


def test_rows_are_posteriors_and_far_points_do_not_underflow():
    f, y = _blobs(20, seed=3)
    f = f * 1e3  # every kernel entry underflows without the per-row rescaling
    eta = loo_posteriors(f, y, sigma=1.0)
    assert torch.isfinite(eta).all()
    np.testing.assert_allclose(eta.sum(1).numpy(), 1.0, rtol=1e-12)


@pytest.mark.parametrize("chunk", [None, 4])
def test_surrogate_gradcheck(chunk):
    f, y = _blobs(7, d=2, k=2, sep=0.7, seed=4)
    f.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda x: bayes_error_surrogate(x, y, sigma=0.9, chunk_size=chunk), (f,),
        eps=1e-6, atol=1e-7)


def test_two_gaussians_consistency():
    """The LOO kernel classifier's error tends to Phi(-Delta/2) for two symmetric Gaussians.

    By symmetry the kernel-smoothed rule thresholds at the midpoint for every bandwidth, so
    the 0-1 estimate is consistent even with the median-heuristic (non-shrinking) bandwidth.
    The tolerance is 4 standard errors of the mean over the repetitions, taken from the
    measured spread (plus the binomial floor at that n).
    """
    delta, reps = 2.0, 8
    ber = gaussian_bayes_error(delta)
    assert ber == pytest.approx(0.158655253931457, rel=1e-12)
    spread, dev = {}, {}
    for n in (100, 1600):
        errs = []
        for r in range(reps):
            rng = np.random.default_rng(100 * n + r)
            y = rng.integers(0, 2, n)
            x = rng.normal(size=n) + delta * y
            errs.append(estimate_bayes_error(x[:, None], y).error)
        errs = np.asarray(errs)
        spread[n] = errs.std(ddof=1)
        dev[n] = abs(errs.mean() - ber)
        se = max(spread[n], math.sqrt(ber * (1 - ber) / n)) / math.sqrt(reps)
        assert dev[n] <= 4 * se, (n, errs.mean(), ber, se)
    assert spread[1600] < spread[100]


def test_estimator_bad_inputs():
    f, y = _blobs(6)
    with pytest.raises(ValueError, match="features must be 2-D"):
        loo_posteriors(f[:, 0], y, sigma=1.0)
    with pytest.raises(ValueError, match="at least 2 rows"):
        loo_posteriors(f[:1], y[:1], sigma=1.0)
    with pytest.raises(ValueError, match="features must be finite"):
        loo_posteriors(torch.where(f > 0, f, math.nan), y, sigma=1.0)
    with pytest.raises(TypeError, match="features must be real"):
        estimate_bayes_error(f.numpy() + 1j, y.numpy())
    with pytest.raises(TypeError, match="features must be a floating tensor"):
        loo_posteriors(f.long(), y, sigma=1.0)
    with pytest.raises(TypeError, match="features must be a torch.Tensor or numpy"):
        loo_posteriors(f.tolist(), y, sigma=1.0)
    with pytest.raises(TypeError, match="labels must be an integer tensor"):
        loo_posteriors(f, y.double(), sigma=1.0)
    with pytest.raises(ValueError, match=r"labels must have shape \(6,\), got \(5,\)"):
        loo_posteriors(f, y[:5], sigma=1.0)
    with pytest.raises(ValueError, match="labels must be >= 0, got -1"):
        loo_posteriors(f, y - 1, sigma=1.0)
    with pytest.raises(ValueError, match="labels must be < n_classes=2, got 2"):
        loo_posteriors(f, y, sigma=1.0, n_classes=2)
    with pytest.raises(ValueError, match="sigma must be > 0, got -1.0"):
        loo_posteriors(f, y, sigma=-1.0)
    with pytest.raises(ValueError, match="chunk_size must be >= 1, got 0"):
        loo_posteriors(f, y, sigma=1.0, chunk_size=0)
    with pytest.raises(ValueError, match="median pairwise distance is 0"):
        median_heuristic_sigma(torch.ones(4, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="delta must be >= 0"):
        gaussian_bayes_error(-1.0)


# ------------------------------------------------------------------ BEO perturbations

def _toy(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    centre = torch.tensor([[0.35, 0.5], [0.65, 0.5]])
    X = (centre[y] + 0.08 * torch.randn(n, 2, generator=g)).clamp(0, 1)
    return X, y


def _in_box(res, X, eps):
    d = res.X - X
    assert torch.allclose(d, res.delta)
    assert float(d.abs().max()) <= eps + 1e-6
    assert float(res.X.min()) >= 0.0 and float(res.X.max()) <= 1.0


def test_project_linf_is_the_box_projection():
    g = torch.Generator().manual_seed(0)
    X = torch.rand(50, 5, generator=g)
    d = 2 * torch.randn(50, 5, generator=g)
    p = project_linf_box(d, X, 0.2)
    assert float(p.abs().max()) <= 0.2 + 1e-7
    assert float((X + p).min()) >= -1e-7 and float((X + p).max()) <= 1 + 1e-7
    assert torch.equal(project_linf_box(p, X, 0.2), p)  # idempotent
    inside = (d.abs() <= 0.2) & (X + d >= 0) & (X + d <= 1)
    assert torch.equal(p[inside], d[inside])


@pytest.mark.parametrize("space", ["pixel", "feature"])
def test_beo_stays_in_box_and_raises_the_estimate(space):
    X, y = _toy()
    eps = 0.1
    recipe = Recipe(hidden=(16, 8), epochs=5, lr=1e-2, batch_size=32)
    res = beo_perturb(X, y, eps=eps, n_steps=20, space=space, feature_recipe=recipe,
                      retrain_every=10, generator=torch.Generator().manual_seed(1))
    _in_box(res, X, eps)
    h = res.history
    assert h["error"].shape == (21,) and h["plugin"].shape == (21,)
    assert h["error"][-1] > h["error"][0] + 0.1
    assert h["plugin"][-1] > h["plugin"][0] + 0.05
    if space == "pixel":  # fixed features and bandwidth: the estimate is re-measured on X + delta
        after = estimate_bayes_error(res.X.double(), y, sigma=float(h["sigma"][0]))
        assert after.error == pytest.approx(h["error"][-1])
        assert np.all(h["sigma"] == h["sigma"][0])


def test_beo_is_deterministic():
    X, y = _toy(40, seed=2)
    a = beo_perturb(X, y, eps=0.1, n_steps=5)
    b = beo_perturb(X, y, eps=0.1, n_steps=5)
    assert torch.equal(a.delta, b.delta)
    recipe = Recipe(hidden=(8,), epochs=2, lr=1e-2, batch_size=16)
    kw = dict(eps=0.1, n_steps=4, space="feature", feature_recipe=recipe, retrain_every=2)
    c = beo_perturb(X, y, generator=torch.Generator().manual_seed(3), **kw)
    d = beo_perturb(X, y, generator=torch.Generator().manual_seed(3), **kw)
    e = beo_perturb(X, y, generator=torch.Generator().manual_seed(4), **kw)
    assert torch.equal(c.delta, d.delta)
    assert not torch.equal(c.delta, e.delta)


def test_baselines_stay_in_box_and_are_deterministic():
    X, y = _toy(40, seed=5)
    eps = 0.05
    recipe = Recipe(hidden=(16,), lr=1e-2, batch_size=16)
    kw = dict(eps=eps, recipe=recipe, max_outer=5, train_steps=3, n_inner=3)
    a = error_minimizing_noise(X, y, generator=torch.Generator().manual_seed(0), **kw)
    b = error_minimizing_noise(X, y, generator=torch.Generator().manual_seed(0), **kw)
    _in_box(a, X, eps)
    assert torch.equal(a.delta, b.delta)
    assert 1 <= a.n_steps <= 5 and a.history["train_acc"].shape == (a.n_steps,)
    u = uniform_noise(X, eps=eps, generator=torch.Generator().manual_seed(0))
    _in_box(u, X, eps)
    assert torch.equal(u.delta, uniform_noise(X, eps=eps,
                                              generator=torch.Generator().manual_seed(0)).delta)
    assert float(u.delta.abs().max()) > 0.8 * eps


def test_error_minimizing_noise_makes_the_set_easier():
    """Min-min noise lowers a fresh model's training loss on the perturbed set (its purpose)."""
    X, y = _toy(60, seed=6)
    recipe = Recipe(hidden=(16,), lr=1e-2, batch_size=16)
    res = error_minimizing_noise(X, y, eps=0.1, recipe=recipe, max_outer=10,
                                 generator=torch.Generator().manual_seed(0))
    assert res.history["train_acc"][-1] >= 0.99
    clean = estimate_bayes_error(X.double(), y).error
    easy = estimate_bayes_error(res.X.double(), y).error
    assert easy <= clean


def test_beo_bad_inputs():
    X, y = _toy(10)
    with pytest.raises(ValueError, match="eps must be > 0, got 0.0"):
        beo_perturb(X, y, eps=0.0)
    with pytest.raises(ValueError, match="eps must be <= 1, got 2.0"):
        beo_perturb(X, y, eps=2.0)
    with pytest.raises(ValueError, match=r"X must lie in \[0, 1\]"):
        beo_perturb(X + 1.0, y, eps=0.1)
    with pytest.raises(TypeError, match="X must be a torch.Tensor"):
        beo_perturb(X.numpy(), y, eps=0.1)
    with pytest.raises(TypeError, match="y must be an int64 tensor"):
        beo_perturb(X, y.double(), eps=0.1)
    with pytest.raises(ValueError, match=r"y must have shape \(10,\), got \(9,\)"):
        beo_perturb(X, y[:9], eps=0.1)
    with pytest.raises(ValueError, match="space must be one of 'pixel', 'feature', got 'x'"):
        beo_perturb(X, y, eps=0.1, space="x")
    with pytest.raises(ValueError, match="n_steps must be >= 0, got -1"):
        beo_perturb(X, y, eps=0.1, n_steps=-1)
    with pytest.raises(ValueError, match="feature_recipe.arch must be 'mlp'"):
        beo_perturb(X, y, eps=0.1, space="feature", feature_recipe=Recipe(arch="cnn"))
    with pytest.raises(TypeError, match="generator must be a torch.Generator or None"):
        beo_perturb(X, y, eps=0.1, space="feature", generator=0)
    with pytest.raises(ValueError, match="X must be finite"):
        uniform_noise(torch.full((3, 2), math.nan), eps=0.1)
    with pytest.raises(ValueError, match="stop_accuracy must be <= 1, got 2.0"):
        error_minimizing_noise(X, y, eps=0.1, stop_accuracy=2.0)
