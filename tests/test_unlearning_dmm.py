"""Datamodels, Datamodel Matching / Oracle Matching, and the convex influence helpers."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning.attribution import (  # noqa: E402
    fit_datamodels,
    random_masks,
    row_indices,
    train_subset_ensemble,
)
from theorylab.unlearning.dmm import (  # noqa: E402
    DMMConfig,
    OMConfig,
    match_outputs,
    matching_set,
    simulated_oracle,
)
from theorylab.unlearning.influence import (  # noqa: E402
    fit_softmax_regression,
    newton_removal_step,
    softmax_hvp,
    softmax_objective,
)
from theorylab.unlearning.methods import Subset, apply_method  # noqa: E402
from theorylab.unlearning.models import Recipe, build_model, train_model  # noqa: E402
from theorylab.unlearning.oracle import Ensemble  # noqa: E402

# ---------------------------------------------------------------------------- datamodels


def _planted(M=400, n=12, P=5, K=3, noise=1e-3, seed=0):
    g = np.random.default_rng(seed)
    S = random_masks(M, n, rng=g)
    beta = g.standard_normal((n, P, K))
    b = g.standard_normal((P, K))
    Z = b + np.einsum("mn,npk->mpk", S.astype(float), beta)
    return S, Z + noise * g.standard_normal(Z.shape), beta, b


def test_ridge_datamodels_recover_a_planted_linear_model():
    S, Z, beta, b = _planted()
    dm = fit_datamodels(S, Z, lam=1e-6)
    # every mask holds n/2 points, so β is identified up to a constant per output; the
    # minimum-norm (ridge) solution is the centred one, Σ_i β_i(x) = 0
    beta_c = beta - beta.mean(0)
    np.testing.assert_allclose(dm.beta(), beta_c, atol=5e-3)
    np.testing.assert_allclose(dm.beta().sum(0), 0.0, atol=1e-8)
    F = [1, 4, 7]
    np.testing.assert_allclose(dm.effect(F), beta_c[F].sum(0), atol=1e-2)
    np.testing.assert_allclose(dm.effect(F), dm.beta()[F].sum(0), rtol=1e-12, atol=1e-12)
    new = random_masks(3, 12, rng=5)
    want = b + np.einsum("mn,npk->mpk", new.astype(float), beta)
    np.testing.assert_allclose(dm.predict(new), want, atol=2e-2)
    # repeated indices count twice (the sum over a multiset)
    np.testing.assert_allclose(dm.effect([2, 2]), 2 * dm.effect([2]), rtol=1e-12)


def test_ridge_matches_the_normal_equations_and_cv_prefers_shrinkage_on_noise():
    S, Z, _, _ = _planted(M=60, n=8, P=2, K=2, noise=0.5)
    lam = 3.0
    dm = fit_datamodels(S, Z, lam=lam)
    Sc = S - S.mean(0)
    Zc = (Z - Z.mean(0)).reshape(60, -1)
    direct = np.linalg.solve(Sc.T @ Sc + lam * np.eye(8), Sc.T @ Zc).reshape(8, 2, 2)
    np.testing.assert_allclose(dm.beta(), direct, rtol=1e-10, atol=1e-12)
    pure_noise = np.random.default_rng(1).standard_normal((60, 2, 2))
    dm_cv = fit_datamodels(S, pure_noise, lam=[1e-3, 1.0, 1e3], rng=0)
    assert dm_cv.lam == 1e3 and set(dm_cv.cv_mse) == {1e-3, 1.0, 1e3}


def test_subset_ensemble_equals_a_loop_of_train_model():
    g = np.random.default_rng(0)
    X = torch.as_tensor(g.standard_normal((20, 4)))
    y = torch.as_tensor(g.integers(0, 3, 20))
    rec = Recipe(hidden=(5,), epochs=3, lr=1e-2, batch_size=4)
    masks = random_masks(3, 20, rng=1)
    ens = train_subset_ensemble(rec, X, y, masks, n_out=3,
                                init_generators=[torch.Generator().manual_seed(k)
                                                 for k in range(3)],
                                order_generators=[torch.Generator().manual_seed(10 + k)
                                                  for k in range(3)])
    for k in range(3):
        m = build_model(rec, 4, 3, generator=torch.Generator().manual_seed(k),
                        dtype=torch.float64)
        idx = torch.as_tensor(np.flatnonzero(masks[k]))
        train_model(m, X[idx], y[idx], recipe=rec, generator=torch.Generator().manual_seed(10 + k))
        for name, p in m.named_parameters():
            torch.testing.assert_close(ens.params[name][k], p.detach(), rtol=1e-10, atol=1e-10)


def test_row_indices_handles_duplicates_and_exclusions():
    T = torch.tensor([[0.0, 1.0], [2.0, 3.0], [0.0, 1.0], [5.0, 5.0]])
    assert list(row_indices(T, T[[0, 0, 3]])) == [0, 2, 3]
    assert list(row_indices(T, T[[0]], exclude=np.array([0]))) == [2]
    with pytest.raises(ValueError, match="forget must be rows of the training set"):
        row_indices(T, torch.tensor([[9.0, 9.0]]), name="forget")
    with pytest.raises(ValueError, match="forget must be rows"):
        row_indices(T, T[[0, 0, 0]], name="forget")  # only two copies exist


def test_bad_inputs_raise_clear_errors():
    S, Z, _, _ = _planted(M=30, n=6)
    dm = fit_datamodels(S, Z, lam=1.0)
    with pytest.raises(TypeError, match="attribution must be a Datamodels"):
        DMMConfig()
    with pytest.raises(ValueError, match="lr_decay must be > 0"):
        DMMConfig(attribution=dm, lr_decay=0.0)
    with pytest.raises(ValueError, match="multiplier must be >= 0"):
        DMMConfig(attribution=dm, multiplier=-1.0)
    with pytest.raises(ValueError, match="num_oracles must be >= 1"):
        OMConfig(num_oracles=0)
    with pytest.raises(ValueError, match="lam must be > 0"):
        fit_datamodels(S, Z, lam=-1.0)
    with pytest.raises(ValueError, match="forget must index the 6 training points"):
        dm.effect([6])
    with pytest.raises(ValueError, match="masks .* must share M"):
        fit_datamodels(S[:5], Z)
    with pytest.raises(ValueError, match="retain_multiplier"):
        matching_set(10, 20, forget_multiplier=1.0, retain_multiplier=3.0,
                     generator=torch.Generator())
    with pytest.raises(ValueError, match="masks must select the same"):
        train_subset_ensemble(Recipe(), torch.zeros(4, 2), torch.zeros(4, dtype=torch.long),
                              np.array([[1, 1, 0, 0], [1, 0, 0, 0]], dtype=bool), n_out=2,
                              init_generators=[torch.Generator()] * 2,
                              order_generators=[torch.Generator()] * 2)


# ---------------------------------------------------------------------------- DMM / OM


def test_matching_set_sizes():
    f, r = matching_set(10, 100, forget_multiplier=2.5, retain_multiplier=3.0,
                        generator=torch.Generator().manual_seed(0))
    assert f.size == 25 and r.size == 30 and len(set(r)) == 30
    assert np.bincount(f, minlength=10).min() == 2  # two full passes then a partial one


def _linear_setup(n=40, d=3, K=2, seed=0):
    g = np.random.default_rng(seed)
    X = torch.as_tensor(g.standard_normal((n, d)))
    y = torch.as_tensor(g.integers(0, K, n))
    model = torch.nn.Linear(d, K).double()
    S = random_masks(50, n, rng=g)
    Z = g.standard_normal((50, n, K)) * 0.1
    dm = fit_datamodels(S, Z + np.einsum("mn,npk->mpk", S.astype(float),
                                         g.standard_normal((n, n, K)) * 0.05), lam=1.0)
    return X, y, model, dm


def test_dmm_fits_the_simulated_oracle_on_the_matching_set():
    X, y, model, dm = _linear_setup()
    forget, retain = np.arange(4), np.arange(4, 40)
    cfg = DMMConfig(attribution=dm, lr=0.05, epochs=400, batch_size=512, lr_decay=0.999,
                    multiplier=2.0)
    g = torch.Generator().manual_seed(3)
    out, _ = apply_method("dmm", model, Subset(X[forget], y[forget]),
                          Subset(X[retain], y[retain]), config=cfg, generator=g,
                          train_set=Subset(X, y))
    # rebuild S from the same generator stream and check the target by hand
    f_pos, r_pos = matching_set(4, 36, forget_multiplier=1.0, retain_multiplier=3.0,
                                generator=torch.Generator().manual_seed(3))
    pts = np.r_[forget[f_pos], retain[r_pos]]
    with torch.no_grad():
        base = model(X[pts]).numpy()
        got = out(X[pts]).numpy()
    want = base - 2.0 * dm.beta()[forget].sum(0)[pts]
    np.testing.assert_allclose(simulated_oracle(base, dm, forget, pts, multiplier=2.0), want,
                               rtol=1e-12)
    # a linear model with 3 x 2 + 2 parameters cannot interpolate 16 x 2 targets exactly:
    # compare with the least-squares optimum instead
    A = np.c_[X[pts].numpy(), np.ones(pts.size)]
    lsq = A @ np.linalg.lstsq(A, want, rcond=None)[0]
    assert np.mean((got - want) ** 2) <= np.mean((lsq - want) ** 2) * 1.01 + 1e-8
    assert np.mean((got - want) ** 2) < 0.9 * np.mean((base - want) ** 2)


def test_dmm_with_zero_multiplier_and_zero_epochs_changes_nothing():
    X, y, model, dm = _linear_setup()
    cfg = DMMConfig(attribution=dm, epochs=0)
    out, _ = apply_method("dmm", model, Subset(X[:4], y[:4]), Subset(X[4:], y[4:]), config=cfg,
                          generator=torch.Generator(), train_set=Subset(X, y))
    for p0, p1 in zip(model.parameters(), out.parameters(), strict=True):
        assert torch.equal(p0, p1)


def test_dmm_refuses_a_mismatched_training_set_and_reads_no_labels():
    X, y, model, dm = _linear_setup()
    cfg = DMMConfig(attribution=dm, epochs=1)
    with pytest.raises(ValueError, match="train_set must have the attribution's 40 rows"):
        apply_method("dmm", model, Subset(X[:4], y[:4]), Subset(X[4:30], y[4:30]), config=cfg,
                     generator=torch.Generator(), train_set=Subset(X[:30], y[:30]))
    with pytest.raises(ValueError, match="training_set must be given"):
        apply_method("dmm", model, Subset(X[:4], y[:4]), Subset(X[4:], y[4:]), config=cfg,
                     generator=torch.Generator())
    # labels are withheld by the harness (needs_labels=False): a run proves none is read
    apply_method("dmm", model, Subset(X[:4], y[:4]), Subset(X[4:], y[4:]), config=cfg,
                 generator=torch.Generator(), train_set=Subset(X, y))


def test_oracle_matching_moves_towards_the_oracle_mean_and_needs_oracles():
    X, y, model, _ = _linear_setup()
    target = torch.nn.Linear(3, 2).double()
    ens = Ensemble.from_models([target, target])
    cfg = OMConfig(num_oracles=2, lr=0.05, epochs=400, lr_decay=0.999)
    with torch.no_grad():
        before = float(((model(X) - target(X)) ** 2).mean())
    out, _ = apply_method("om", model, Subset(X[:4], y[:4]), Subset(X[4:], y[4:]), config=cfg,
                          generator=torch.Generator(), oracles=ens)
    with torch.no_grad():
        after = float(((out(X) - target(X)) ** 2).mean())
    assert after < 1e-3 * before  # same architecture: the oracle is reachable exactly
    with pytest.raises(ValueError, match="oracles must be given"):
        apply_method("om", model, Subset(X[:4], y[:4]), Subset(X[4:], y[4:]), config=cfg,
                     generator=torch.Generator())
    with pytest.raises(ValueError, match="num_oracles must be <= the 2 oracles"):
        apply_method("om", model, Subset(X[:4], y[:4]), Subset(X[4:], y[4:]),
                     config=OMConfig(num_oracles=3), generator=torch.Generator(), oracles=ens)


def test_match_outputs_penalty_keeps_parameters_near_the_start():
    X, _, model, _ = _linear_setup()
    tgt = torch.full((40, 2), 5.0, dtype=torch.float64)
    free = match_outputs(_copy(model), X, tgt, config=OMConfig(lr=0.05, epochs=200),
                         generator=torch.Generator().manual_seed(0))
    held = match_outputs(_copy(model), X, tgt, config=OMConfig(lr=0.05, epochs=200,
                                                               penalty=100.0),
                         generator=torch.Generator().manual_seed(0))
    move = lambda m: sum(float(((p - p0) ** 2).sum().detach()) for p, p0 in
                         zip(m.parameters(), model.parameters(), strict=True))
    assert move(held) < 0.1 * move(free)


def _copy(m):
    import copy

    return copy.deepcopy(m)


# ---------------------------------------------------------------------------- convex helpers


@pytest.fixture(scope="module")
def convex():
    g = np.random.default_rng(0)
    Phi = np.c_[g.standard_normal((120, 6)), np.ones(120)]
    y = g.integers(0, 3, 120)
    return Phi, y


def test_softmax_gradient_and_hvp_match_finite_differences(convex):
    Phi, y = convex
    g = np.random.default_rng(1)
    W, V = g.standard_normal((7, 3)), g.standard_normal((7, 3))
    eps = 1e-6
    fp, gp = softmax_objective(W + eps * V, Phi, y, l2=0.1)
    fm, gm = softmax_objective(W - eps * V, Phi, y, l2=0.1)
    _, gr = softmax_objective(W, Phi, y, l2=0.1)
    assert abs((fp - fm) / (2 * eps) - np.vdot(gr, V)) < 1e-7
    np.testing.assert_allclose((gp - gm) / (2 * eps), softmax_hvp(W, Phi, V, l2=0.1),
                               rtol=1e-6, atol=1e-8)


def test_newton_removal_is_second_order_accurate(convex):
    Phi, y = convex
    l2 = 1e-2
    Wo = fit_softmax_regression(Phi, y, n_classes=3, l2=l2)
    assert np.abs(softmax_objective(Wo, Phi, y, l2=l2)[1]).max() < 1e-9
    # nothing removed: the Newton step stays at the optimum
    np.testing.assert_allclose(newton_removal_step(Wo, Phi, y, [], n_classes=3, l2=l2), Wo,
                               atol=1e-8)
    keep = np.arange(1, 120)
    Wr = fit_softmax_regression(Phi[keep], y[keep], n_classes=3, l2=l2, W0=Wo)
    Wif = newton_removal_step(Wo, Phi, y, [0], n_classes=3, l2=l2)
    assert np.linalg.norm(Wif - Wr) < 0.02 * np.linalg.norm(Wo - Wr)
    # iterating the Newton step converges to the retrained optimum
    W = Wo
    for _ in range(6):
        W = newton_removal_step(W, Phi, y, [0], n_classes=3, l2=l2)
    np.testing.assert_allclose(W, Wr, atol=1e-7)


def test_convex_helpers_validate_inputs(convex):
    Phi, y = convex
    with pytest.raises(ValueError, match="l2 must be > 0"):
        fit_softmax_regression(Phi, y, n_classes=3, l2=0.0)
    with pytest.raises(ValueError, match=r"y must have shape \(120,\)"):
        fit_softmax_regression(Phi, y[:5], n_classes=3, l2=1.0)
    with pytest.raises(ValueError, match=r"y must hold labels in \[0, 1\]"):
        fit_softmax_regression(Phi, y, n_classes=2, l2=1.0)

