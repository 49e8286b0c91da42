"""AnyLoss (theorylab.metric_losses): metrics equal scikit-learn's at hard thresholds, the
torch loss equals its NumPy twin and its closed-form gradient, invariants, bad inputs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from theorylab.metric_losses import (
    METRICS,
    confusion_metric,
    imbalanced_dataset,
    split_standardize,
    tune_threshold,
)

torch = pytest.importorskip("torch")
skm = pytest.importorskip("sklearn.metrics")

from theorylab.metric_losses import (  # noqa: E402
    anyloss,
    approximation,
    fit_binary_mlp,
    hybrid_loss,
    soft_confusion,
    weighted_bce,
)
from theorylab.metric_losses.training import _weighted_bce_logits  # noqa: E402


def _hard(n=57, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(float)
    y[:2] = [0.0, 1.0]
    pred = (rng.random(n) < 0.4).astype(float)
    return y, pred


def _sklearn(metric, y, pred, beta):
    if metric == "accuracy":
        return skm.accuracy_score(y, pred)
    if metric == "f_beta":
        return skm.fbeta_score(y, pred, beta=beta)
    if metric == "balanced_accuracy":
        return skm.balanced_accuracy_score(y, pred)
    rec = skm.recall_score(y, pred, average=None)  # per class: TNR, TPR
    return float(np.sqrt(rec[0] * rec[1]))


# ------------------------------------------------------------ external reference: sklearn

@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_hard_metrics_equal_sklearn(metric, beta, seed):
    y, pred = _hard(seed=seed)
    ref = _sklearn(metric, y, pred, beta)
    assert confusion_metric(y, pred, metric=metric, beta=beta) == pytest.approx(ref, abs=1e-12)
    # the loss at 0/1 probabilities with a large L is 1 − metric (G-mean: 1 − G², the
    # reference code's surrogate)
    loss = anyloss(torch.tensor(pred, dtype=torch.float64), torch.tensor(y), metric=metric,
                   L=200.0, beta=beta).item()
    expected = 1 - (ref ** 2 if metric == "g_mean" else ref)
    assert loss == pytest.approx(expected, abs=1e-6)


def test_hand_instance():
    y = np.array([1.0, 1.0, 0.0, 0.0])
    pred = np.array([1.0, 0.0, 1.0, 0.0])  # TP = FN = FP = TN = 1
    for metric in METRICS:
        assert confusion_metric(y, pred, metric=metric) == pytest.approx(0.5)
    tp, fn, fp, tn = soft_confusion(torch.tensor(pred), torch.tensor(y), L=200.0)
    assert [float(v) for v in (tp, fn, fp, tn)] == pytest.approx([1, 1, 1, 1], abs=1e-12)
    # F_2 with TP = 1, FN = 1, FP = 1: 5 / (5 + 4 + 1) = 0.5; F_0.5: 1.25 / (1.25 + .25 + 1)
    assert confusion_metric(y, [1, 0, 0, 0], metric="f_beta", beta=2.0) == pytest.approx(5 / 9)
    assert confusion_metric(y, [1, 0, 0, 0], metric="f_beta", beta=0.5) == pytest.approx(
        1.25 / 1.5)


# ------------------------------------------------------------ reference twin + gradient

@pytest.mark.parametrize("metric", METRICS)
def test_torch_loss_equals_numpy_twin_on_soft_inputs(metric):
    rng = np.random.default_rng(3)
    y = (rng.random(40) < 0.25).astype(float)
    y[:2] = [0, 1]
    p = rng.random(40)
    a = 1 / (1 + np.exp(-5.0 * (p - 0.5)))
    soft = confusion_metric(y, a, metric=metric, beta=1.5)
    expected = 1 - (soft ** 2 if metric == "g_mean" else soft)
    got = anyloss(torch.tensor(p), torch.tensor(y), metric=metric, L=5.0, beta=1.5).item()
    assert got == pytest.approx(expected, abs=1e-6)  # ε = 1e-5 in the denominators


@pytest.mark.parametrize("metric", METRICS)
def test_gradcheck(metric):
    g = torch.Generator().manual_seed(0)
    p = (0.2 + 0.6 * torch.rand(12, generator=g, dtype=torch.float64)).requires_grad_(True)
    y = torch.tensor([1.0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda q: anyloss(q, y, metric=metric, L=4.0, beta=0.7), (p,))


def test_f_beta_gradient_closed_form():
    """d(1 − F_β)/dp_i = −(1 + β²)(y_i D − TP)/D² · L a_i (1 − a_i), D = β² N₁ + Σ a + ε."""
    rng = np.random.default_rng(1)
    y = (rng.random(30) < 0.3).astype(float)
    p = torch.tensor(rng.random(30), requires_grad=True)
    L, beta = 6.0, 2.0
    anyloss(p, torch.tensor(y), metric="f_beta", L=L, beta=beta).backward()
    a = 1 / (1 + np.exp(-L * (p.detach().numpy() - 0.5)))
    b2 = beta ** 2
    tp, D = np.sum(a * y), b2 * y.sum() + a.sum() + 1e-5
    closed = -(1 + b2) * (y * D - tp) / D ** 2 * L * a * (1 - a)
    np.testing.assert_allclose(p.grad.numpy(), closed, rtol=1e-10, atol=1e-14)


def test_saturation_stops_the_gradient():
    """At L = 73 a confidently classified sample (p = 0.9 or 0.1), right or wrong, gets a
    gradient ≈ 73 e^{−29.2} ≈ 1.5e-11 times the one at p = 0.5."""
    y = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0])
    p = torch.tensor([0.9, 0.9, 0.1, 0.1, 0.5], requires_grad=True)  # right, wrong, wrong...
    anyloss(p, y, metric="f_beta", L=73.0).backward()
    g = p.grad.abs()
    assert float(g[4]) > 1.0
    assert float(g[:4].max()) < 1e-9 * float(g[4])
    a9 = approximation(torch.tensor(0.9, dtype=torch.float64))  # float32: 1 − a rounds to 0
    da = 73.0 * a9 * (1 - a9)
    assert float(da) == pytest.approx(73.0 * np.exp(-29.2), rel=1e-3)


# ------------------------------------------------------------ invariants

@pytest.mark.parametrize("metric", METRICS)
def test_loss_in_unit_interval_and_permutation_invariant(metric):
    rng = np.random.default_rng(5)
    for _ in range(5):
        y = torch.tensor((rng.random(25) < 0.4).astype(float))
        p = torch.tensor(rng.random(25))
        v = anyloss(p, y, metric=metric, L=10.0).item()
        assert 0.0 <= v <= 1.0
        perm = torch.as_tensor(rng.permutation(25))
        assert anyloss(p[perm], y[perm], metric=metric, L=10.0).item() == pytest.approx(
            v, rel=1e-12)


def test_f_beta_identity():
    rng = np.random.default_rng(7)
    y = torch.tensor((rng.random(50) < 0.2).astype(float))
    p = torch.tensor(rng.random(50))
    tp, fn, fp, tn = soft_confusion(p, y, L=8.0)
    b2 = 1.7 ** 2
    a_sum = torch.sigmoid(8.0 * (p - 0.5)).sum()
    lhs = (1 + b2) * tp / (b2 * y.sum() + a_sum)
    rhs = (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp)
    assert float(lhs) == pytest.approx(float(rhs), rel=1e-12)
    assert float(tp + fn + fp + tn) == pytest.approx(50.0, rel=1e-12)


def test_weighted_bce_matches_torch_weighted_bce():
    rng = np.random.default_rng(2)
    y = torch.tensor((rng.random(30) < 0.2).astype(float))
    p = torch.tensor(0.01 + 0.98 * rng.random(30))
    n1 = float(y.sum())
    w = torch.where(y == 1, (30 - n1) / 30, n1 / 30)
    ref = torch.nn.functional.binary_cross_entropy(p, y, weight=w)
    assert weighted_bce(p, y).item() == pytest.approx(ref.item(), rel=1e-8)
    z = torch.log(p) - torch.log1p(-p)  # the logit route used in training
    assert _weighted_bce_logits(z, y).item() == pytest.approx(ref.item(), rel=1e-8)
    h = hybrid_loss(p, y, rho=0.25, L=5.0).item()
    assert h == pytest.approx(0.75 * weighted_bce(p, y).item()
                              + 0.25 * anyloss(p, y, L=5.0).item(), rel=1e-12)


def test_tune_threshold_is_the_brute_force_optimum():
    rng = np.random.default_rng(4)
    for _ in range(5):
        y = (rng.random(60) < 0.2).astype(float)
        y[:2] = [0, 1]
        s = np.round(rng.random(60) * 0.5 + 0.4 * y, 2)  # ties included
        t = tune_threshold(s, y, metric="f_beta")
        best = max(skm.f1_score(y, (s >= c).astype(float)) for c in np.unique(s))
        assert skm.f1_score(y, (s >= t).astype(float)) == pytest.approx(best, abs=1e-12)


def test_split_is_stratified_disjoint_and_standardised():
    ds = imbalanced_dataset("breast_cancer", positive_fraction=30 / 387, rng=0)
    assert ds.X.shape == (387, 30) and int(ds.y.sum()) == 30
    sp = split_standardize(ds.X, ds.y, val_fraction=0.2, test_fraction=0.4, rng=0)
    n = [len(sp.y_train), len(sp.y_val), len(sp.y_test)]
    assert sum(n) == 387
    assert [int(sp.y_train.sum()), int(sp.y_val.sum()), int(sp.y_test.sum())] == [12, 6, 12]
    np.testing.assert_allclose(sp.X_train.mean(axis=0), 0.0, atol=1e-12)
    rows = np.concatenate([sp.X_train, sp.X_val, sp.X_test])
    assert len(np.unique(rows.round(9), axis=0)) == 387  # no row used twice
    assert "BinarySplit" in sp.summary()


# ------------------------------------------------------------ determinism + training

def test_fit_is_deterministic_and_anyloss_decreases():
    ds = imbalanced_dataset("synthetic", positive_fraction=0.1, rng=1)
    sp = split_standardize(ds.X, ds.y, rng=1)
    fits = [fit_binary_mlp(sp.X_train, sp.y_train, loss="anyloss", steps=60, lr=1e-2,
                           generator=torch.Generator().manual_seed(3)) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].predict_proba(sp.X_test),
                                  fits[1].predict_proba(sp.X_test))
    assert fits[0].losses[-1] < fits[0].losses[0]
    assert "BinaryMLPFit" in repr(fits[0])


def test_import_does_not_load_torch():
    code = ("import sys, theorylab.metric_losses as m; m.confusion_metric([0, 1], [0, 1]); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------ bad inputs

def test_bad_inputs():
    y = torch.tensor([1.0, 0.0])
    with pytest.raises(ValueError, match="probs must be finite and in"):
        anyloss(torch.tensor([1.2, 0.0]), y)
    with pytest.raises(ValueError, match=r"targets must have shape \(2,\), got \(3,\)"):
        anyloss(torch.tensor([0.2, 0.3]), torch.tensor([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="targets must hold only 0 and 1"):
        anyloss(torch.tensor([0.2, 0.3]), torch.tensor([2.0, 0.0]))
    with pytest.raises(TypeError, match="probs must be a torch.Tensor, got ndarray"):
        anyloss(np.array([0.2, 0.3]), y)
    with pytest.raises(ValueError, match="L must be > 0, got -1.0"):
        anyloss(torch.tensor([0.2, 0.3]), y, L=-1.0)
    with pytest.raises(ValueError, match="metric must be one of"):
        anyloss(torch.tensor([0.2, 0.3]), y, metric="auc")
    with pytest.raises(ValueError, match="rho must be <= 1, got 2.0"):
        hybrid_loss(torch.tensor([0.2, 0.3]), y, rho=2.0)
    with pytest.raises(ValueError, match="y_true must contain both classes"):
        confusion_metric([1, 1], [1, 0])
    with pytest.raises(ValueError, match="y_pred must be in"):
        confusion_metric([1, 0], [1, -0.5])
    with pytest.raises(ValueError, match="positive_fraction must be <= the natural share"):
        imbalanced_dataset("breast_cancer", positive_fraction=0.5)
    with pytest.raises(ValueError, match="name must be one of"):
        imbalanced_dataset("iris")
    with pytest.raises(ValueError, match="loss must be one of"):
        fit_binary_mlp(np.zeros((4, 2)), [0, 1, 0, 1], loss="hinge")
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda' or 'cuda:k', got 'tpu0'"):
        fit_binary_mlp(np.zeros((4, 2)), [0, 1, 0, 1], steps=1, device="tpu0")
    with pytest.raises(TypeError, match="generator must be a torch.Generator or None"):
        fit_binary_mlp(np.zeros((4, 2)), [0, 1, 0, 1], steps=1, generator=0)
