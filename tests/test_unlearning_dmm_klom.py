"""The KLoM claim of datamodel matching: its helper functions on tiny cases, and the KLoM
aggregate it reports (P95 over points, equal-size comparison with the oracle-half floor)."""

import numpy as np
import pytest

from theorylab.claims import load_claim
from theorylab.unlearning.attribution import random_masks
from theorylab.unlearning.metrics import klom, klom_floor, klom_p95, margins


@pytest.fixture(scope="module")
def claim():
    return load_claim("georgiev2024_dmm_klom")


# ------------------------------------------------------------------------- KLoM aggregate


def test_klom_p95_interpolates_the_95th_percentile_over_points():
    # point 0: identical samples (KLoM 0); point 1: the hand example of the metric tests,
    # p = (1/3, 2/3), q = (2/3, 1/3) in two bins, KLoM = log(2)/3
    u = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    o = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 1.0]])
    v = np.log(2) / 3
    np.testing.assert_allclose(klom(u, o, bins=2), [0.0, v], rtol=1e-12)
    # numpy's linear interpolation between the two sorted values: 0 + 0.95·(v − 0)
    assert klom_p95(u, o, bins=2) == pytest.approx(0.95 * v, rel=1e-12)


# ---------------------------------------------------------------------------- claim helpers


def test_klom_at_half_returns_the_floor_and_an_equal_size_method_score(claim):
    rng = np.random.default_rng(0)
    o = rng.normal(size=(20, 15))
    m_far, fl = claim.klom_at_half(o + 3.0, o, rng=4)
    # the second value is klom_floor with the same generator seed, exactly
    assert fl == klom_floor(o, rng=4)
    assert m_far > fl
    # a "method" whose first N/2 models are the floor's independent half A scores the floor
    perm = np.random.default_rng(4).permutation(20)
    same, fl2 = claim.klom_at_half(np.r_[o[perm[:10]], o[perm[10:]]], o, rng=4)
    assert same == fl2 == fl
    with pytest.raises(ValueError, match="same \\(N, P\\) shape"):
        claim.klom_at_half(o[:, :3], o)
    with pytest.raises(ValueError, match="N >= 4"):
        claim.klom_at_half(o[:3], o[:3])


def test_effect_slope_by_hand(claim):
    a = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert claim.effect_slope(0.25 * a, a) == pytest.approx(0.25, rel=1e-12)
    # p = (1, 1), a = (1, 3): Σpa / Σa² = 4 / 10
    assert claim.effect_slope([1.0, 1.0], [1.0, 3.0]) == pytest.approx(0.4, rel=1e-12)
    with pytest.raises(ValueError, match="same size"):
        claim.effect_slope([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="all-zero"):
        claim.effect_slope([1.0, 2.0], [0.0, 0.0])


def _linear_outputs(M, n, P, K, noise, seed):
    g = np.random.default_rng(seed)
    S = random_masks(M, n, rng=g)
    beta = g.standard_normal((n, P, K))
    Z = g.standard_normal((P, K)) + np.einsum("mn,npk->mpk", S.astype(float), beta)
    return S, Z + noise * g.standard_normal(Z.shape), g.integers(0, K, size=P)


def test_heldout_pearson_is_one_for_linear_outputs_and_small_for_noise(claim):
    S, Z, y = _linear_outputs(300, 10, 6, 3, 1e-6, seed=1)
    med, r = claim.heldout_margin_pearson(S, Z, y, np.arange(6), lam=1e-6, n_heldout=50)
    # margins are a smooth nonlinear function of linear logits: prediction is exact up to noise
    assert r.shape == (6,) and med > 0.999
    g = np.random.default_rng(2)
    noise = g.standard_normal(Z.shape)
    med0, _ = claim.heldout_margin_pearson(S, noise, y, np.arange(6), lam=1e-6, n_heldout=50)
    # pure noise: held-out correlations scatter around 0 (sd ≈ 1/√50 per point)
    assert abs(med0) < 0.3
    with pytest.raises(ValueError, match="n_heldout must be in"):
        claim.heldout_margin_pearson(S, Z, y, [0], lam=1.0, n_heldout=299)


def test_heldout_pearson_uses_margins_of_the_given_labels(claim):
    S, Z, y = _linear_outputs(200, 8, 4, 3, 1e-6, seed=3)
    cols = np.array([2, 0])
    _, r = claim.heldout_margin_pearson(S, Z, y, cols, lam=1e-6, n_heldout=40)
    # the same numbers computed from margins by hand, with an exact (tiny-λ) refit
    from theorylab.unlearning.attribution import fit_datamodels

    dm = fit_datamodels(S[:160], Z[:160], lam=1e-6)
    pred = margins(dm.predict(S[160:])[:, cols], y[cols])
    true = margins(Z[160:][:, cols], y[cols])
    want = [np.corrcoef(pred[:, i], true[:, i])[0, 1] for i in range(2)]
    np.testing.assert_allclose(r, want, rtol=1e-10)


def test_best_grid_point_picks_the_lowest_forget_klom(claim):
    vals = {"ga#0|klom_forget": 3.0, "ga#1|klom_forget": 1.5, "ga#2|klom_forget": 2.0,
            "ga#1|klom_retain": 9.0}
    assert claim.best_grid_point(vals, "ga", 3) == 1
    assert claim.best_grid_point(vals, "ga", 1) == 0


def test_grids_name_registered_methods_with_valid_configs(claim):
    from theorylab.unlearning.methods import get_method

    for method, grid in claim.GRIDS.items():
        spec = get_method("dmm" if method.startswith("dmm") else method)
        for over in grid:
            if method.startswith("dmm"):
                assert set(over) >= {"multiplier"}
                continue  # DMM's config needs fitted datamodels; built in the claim
            spec.default_config(**over)
    assert claim.GRIDS["dmm"][0]["multiplier"] == 1.0  # c = 1: not tuned on the forget set
    assert set(claim.BASELINES) <= set(claim.GRIDS)
    for scale in claim.SIZES.values():
        assert {"none", "om", "dmm"} <= set(scale["methods"]) <= set(claim.GRIDS)
