"""Unlearning harness metrics: worked examples, scikit-learn/SciPy references, invariants."""

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy as scipy_entropy

from theorylab.unlearning.metrics import (
    accuracy_family,
    avg_gap,
    entropy,
    entropy_lr_mia,
    klom,
    klom_floor,
    klom_p95,
    loss_mia_accuracy,
    mae_family,
    margins,
    mia_features,
    modified_entropy,
    nomus,
    oracle_gaps,
    regression_svc_mia,
    softmax,
    svc_mia,
    svc_mia_privacy,
    timed,
    zrf,
)


def test_nomus_reproduces_the_published_table_values():
    # (test accuracy, |MIA accuracy - 0.5|) -> NoMUS, lambda = 0.5
    assert nomus(0.5951, 0.2136) == pytest.approx(0.5839, abs=1e-4)
    assert nomus(0.4880, 0.0445) == pytest.approx(0.6995, abs=1e-4)
    assert nomus(1.0, 0.0) == 1.0 and nomus(0.0, 0.5) == 0.0
    with pytest.raises(ValueError, match="forgetting_score must be in"):
        nomus(0.5, 0.7)


def test_accuracy_family_by_hand():
    out_tr = np.eye(3)[[0, 1, 2, 0]]  # predictions 0, 1, 2, 0
    y_tr = np.array([0, 1, 1, 1])  # correct, correct, wrong, wrong
    out_te = np.eye(3)[[0, 1]]
    r = accuracy_family(out_tr, y_tr, out_te, np.array([0, 2]), forget=[2, 3], retain=[0, 1],
                        forget_test=[1], retain_test=[0])
    assert r == {"UA": 1.0, "RA": 1.0, "TA": 0.5, "forget_test_acc": 0.0,
                 "retain_test_acc": 1.0}


def test_mae_family_by_hand():
    r = mae_family([1.0, 2.0, 3.0], [1.5, 2.0, 1.0], [0.0], [2.0], forget=[2], retain=[0, 1])
    assert r == {"MAE_r": 0.25, "MAE_f": 2.0, "MAE_t": 2.0}


def test_entropy_and_modified_entropy_by_hand():
    p = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.7, 0.2, 0.1]])
    np.testing.assert_allclose(entropy(p), scipy_entropy(p, axis=1), atol=1e-12)
    assert entropy(p)[0] == 0.0  # 0 log 0 = 0
    me = modified_entropy(p[2:], [0])[0]
    assert me == pytest.approx(-0.3 * np.log(0.7) - 0.2 * np.log(0.8) - 0.1 * np.log(0.9))
    feats = mia_features(p[2:], [1])
    assert feats["correctness"][0, 0] == 0 and feats["confidence"][0, 0] == 0.2
    assert feats["prob"].shape == (1, 3)


def test_margin_equals_the_lira_log_odds():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2, 7, 4)) * 3
    y = rng.integers(0, 4, 7)
    p = softmax(z)
    py = np.take_along_axis(p, np.broadcast_to(y[:, None], (2, 7, 1)), -1)[..., 0]
    np.testing.assert_allclose(margins(z, y), np.log(py / (1 - py)), rtol=1e-10)


def _member_probs(rng, n, conf_lo, conf_hi, K=4):
    """Probability rows whose correct-class confidence is drawn in [conf_lo, conf_hi]."""
    y = rng.integers(0, K, n)
    c = rng.uniform(conf_lo, conf_hi, n)
    p = np.tile(((1 - c) / (K - 1))[:, None], (1, K))
    p[np.arange(n), y] = c
    return p, y


def test_svc_mia_separates_memorised_from_unseen_and_matches_sklearn():
    from sklearn.svm import SVC

    rng = np.random.default_rng(0)
    p_r, y_r = _member_probs(rng, 300, 0.9, 1.0)
    p_t, y_t = _member_probs(rng, 100, 0.3, 0.8)
    p_mem, y_mem = _member_probs(rng, 50, 0.9, 1.0)
    p_out, y_out = _member_probs(rng, 50, 0.3, 0.8)
    still = svc_mia(p_r, y_r, p_t, y_t, p_mem, y_mem)
    gone = svc_mia(p_r, y_r, p_t, y_t, p_out, y_out)
    assert still["confidence"] < 0.1 and gone["confidence"] > 0.9
    assert set(still) == {"correctness", "confidence", "entropy", "m_entropy", "prob"}
    # the confidence classifier, written out with scikit-learn directly
    X = np.r_[p_r[:100][np.arange(100), y_r[:100]], p_t[np.arange(100), y_t]].reshape(-1, 1)
    clf = SVC(C=3, kernel="rbf", gamma="auto").fit(X, np.r_[np.ones(100), np.zeros(100)])
    ref = np.mean(clf.predict(p_out[np.arange(50), y_out].reshape(-1, 1)) == 0)
    assert gone["confidence"] == ref
    with pytest.raises(ValueError, match="features must be a non-empty subset"):
        svc_mia(p_r, y_r, p_t, y_t, p_out, y_out, features=["loss"])


def test_entropy_lr_mia_direction():
    rng = np.random.default_rng(1)
    p_r, _ = _member_probs(rng, 200, 0.95, 1.0)
    p_t, _ = _member_probs(rng, 200, 0.3, 0.7)
    p_mem, _ = _member_probs(rng, 50, 0.95, 1.0)
    p_out, _ = _member_probs(rng, 50, 0.3, 0.7)
    assert entropy_lr_mia(p_r, p_t, p_mem) > 0.9
    assert entropy_lr_mia(p_r, p_t, p_out) < 0.1


def test_svc_mia_privacy_score():
    rng = np.random.default_rng(5)
    p_r, y_r = _member_probs(rng, 300, 0.9, 1.0)
    p_t, y_t = _member_probs(rng, 100, 0.3, 0.8)
    p_m, y_m = _member_probs(rng, 60, 0.9, 1.0)
    p_n, y_n = _member_probs(rng, 60, 0.3, 0.8)
    assert svc_mia_privacy(p_r, y_r, p_t, y_t, p_m, y_m, p_n, y_n) > 0.95
    # members that look like non-members: the attack is at chance
    same = svc_mia_privacy(p_r, y_r, p_t, y_t, p_n, y_n, p_n, y_n)
    assert same == pytest.approx(0.5)


def test_regression_svc_mia_direction():
    rng = np.random.default_rng(4)
    members, unseen = rng.uniform(0, 0.2, 200), rng.uniform(0.5, 2.0, 200)
    assert regression_svc_mia(members, unseen, rng.uniform(0, 0.2, 50)) > 0.9
    assert regression_svc_mia(members, unseen, rng.uniform(0.5, 2.0, 50)) < 0.1


def test_loss_mia_chance_and_separable():
    rng = np.random.default_rng(2)
    same = loss_mia_accuracy(rng.exponential(size=400), rng.exponential(size=400), rng=0)
    assert abs(same - 0.5) < 0.1
    sep = loss_mia_accuracy(rng.uniform(0, 0.1, 200), rng.uniform(1, 2, 300), rng=0)
    assert sep == 1.0
    with pytest.raises(ValueError, match=">= 10 values"):
        loss_mia_accuracy([0.1] * 3, [1.0] * 20)


def test_klom_hand_example_closed_and_reference_binning():
    u = np.array([[0.0], [1.0], [2.0]])  # 3 models, 1 point
    o = np.array([[0.0], [0.0], [1.0]])
    # edges [0, 1, 2]; closed top bin: p = (1/3, 2/3), q = (2/3, 1/3)
    assert klom(u, o, bins=2)[0] == pytest.approx(np.log(2) / 3, rel=1e-12)
    # reference binning drops the sample at the pooled maximum (2.0): p = (1/2, 1/2)
    assert klom(u, o, bins=2, match_reference_binning=True)[0] == pytest.approx(
        0.5 * np.log(9 / 8), rel=1e-12)


def test_klom_floor_on_empty_oracle_bin():
    u = np.array([[0.0], [0.0], [2.0]])
    o = np.array([[0.0], [0.0], [0.5]])
    # p = (2/3, 1/3); q = (1, 0) -> floored (1, 1e-5), renormalised
    q = np.array([1.0, 1e-5]) / (1 + 1e-5)
    p = np.array([2 / 3, 1 / 3])
    assert klom(u, o, bins=2)[0] == pytest.approx(np.sum(p * np.log(p / q)), rel=1e-12)


def test_klom_zero_on_itself_and_monotone_in_shift():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(64, 30))
    np.testing.assert_array_equal(klom(base, base), 0.0)
    vals = [klom_p95(base + s, base) for s in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert vals[0] == 0.0 and all(a < b for a, b in zip(vals, vals[1:], strict=False))
    # the floor: two halves of one distribution are close but not identical
    fl = klom_floor(rng.normal(size=(64, 30)), rng=0)
    assert 0 < fl < vals[-1]
    with pytest.raises(ValueError, match="same \\(N, P\\) shape"):
        klom(base, base[:10])


def test_zrf_textbook_and_reference_forms():
    p = np.array([[0.5, 0.5]])
    q = np.array([[0.9, 0.1]])
    m = (p + q) / 2
    js = jensenshannon(p[0], q[0]) ** 2  # natural log
    assert zrf(p, q) == pytest.approx(1 - js, rel=1e-12)
    kl_mp = np.sum(m * np.log(m / p)) / 2  # elementwise mean over n*K = 2 entries
    kl_mq = np.sum(m * np.log(m / q)) / 2
    assert zrf(p, q, match_reference=True) == pytest.approx(1 - 0.5 * (kl_mp + kl_mq), rel=1e-12)
    assert zrf(q, q) == pytest.approx(1.0)


def test_avg_gap_and_oracle_gaps_by_hand():
    assert avg_gap({"UA": 0.1, "MIA": 0.2, "RA": 1.0, "TA": 0.9},
                   {"UA": 0.2, "MIA": 0.2, "RA": 0.9, "TA": 0.9}) == pytest.approx(0.05)
    g = oracle_gaps({"UA": 0.5, "x": 1.0}, [{"UA": 0.2}, {"UA": 0.4}])
    assert g["UA_oracle_mean"] == pytest.approx(0.3) and g["UA_gap"] == pytest.approx(0.2)
    assert g["UA_oracle_std"] == pytest.approx(np.std([0.2, 0.4], ddof=1))
    assert "x_gap" not in g
    with pytest.raises(ValueError, match="missing \\['MIA'\\]"):
        avg_gap({"UA": 0, "RA": 0, "TA": 0}, {"UA": 0, "RA": 0, "TA": 0, "MIA": 0})


def test_timed_returns_value_and_duration():
    val, sec = timed(sum, [1, 2, 3])
    assert val == 6 and 0 <= sec < 1


# ----------------------------------------------------- non-finite inputs (a diverged model)

import theorylab.unlearning.metrics as mt  # noqa: E402


@pytest.mark.parametrize("call, name", [
    (lambda: mt.accuracy(
        np.array([[np.nan, 1.0], [0.0, 1.0]]), [0, 1]), "outputs"),
    (lambda: mt.softmax(
        np.array([[np.inf, 1.0]])), "logits"),
    (lambda: mt.entropy(
        np.array([[np.nan, 0.5]])), "probs"),
    (lambda: mt.modified_entropy(
        np.array([[0.5, np.nan]]), [0]), "probs"),
    (lambda: mt.zrf(
        np.array([[0.5, 0.5]]), np.array([[np.nan, 0.5]])), "probs_incompetent"),
    (lambda: mt.entropy_lr_mia(
        np.full((4, 2), 0.5), np.full((4, 2), 0.5), np.array([[np.nan, 0.5]])),
     "probs"),
    (lambda: mt.margins(
        np.array([[np.nan, 1.0]]), np.array([0])), "logits"),
    (lambda: mt.mae_family(
        np.array([np.nan, 1.0]), np.array([1.0, 2.0]), np.array([1.0]), np.array([1.0]),
        forget=[0], retain=[1]), "pred_train"),
    (lambda: mt.lira_roc(
        np.array([np.nan, 1.0]), np.array([True, False])), "scores"),
])
def test_metrics_refuse_non_finite_inputs_by_name(call, name):
    # before: NaN rows counted as class 0, entropies came out NaN, the entropy MIA returned a
    # plain 0.0, margins NaN — silently
    with pytest.raises(ValueError, match=rf"{name} must be finite, got \d+ NaN/inf"):
        call()


def test_classifier_scores_of_a_diverged_model_are_nan_and_fail_checks():
    import torch

    from theorylab.claims import Check
    from theorylab.unlearning.evaluation import classifier_scores
    from theorylab.unlearning.scenarios import class_forget

    y = np.arange(12) % 3
    yt = np.arange(6) % 3
    split = class_forget(y, cls=1, y_test=yt)
    X, Xt = torch.rand(12, 4), torch.rand(6, 4)
    model = torch.nn.Linear(4, 3)
    fine = classifier_scores(model, X, y, Xt, yt, split, class_test=True)
    with torch.no_grad():
        model.weight[0, 0] = float("nan")
    dead = classifier_scores(model, X, y, Xt, yt, split, class_test=True)
    assert set(dead) == set(fine)
    assert all(np.isnan(v) for v in dead.values())
    assert not Check.at_least("RA", dead["RA"], 0.0).passed
