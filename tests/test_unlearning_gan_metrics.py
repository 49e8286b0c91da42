"""Generator-quality metrics: Fréchet distance (closed forms, scipy twin) and k-NN
precision/recall (hand cases)."""

import numpy as np
import pytest

from theorylab.unlearning.gan_metrics import (
    feature_rate,
    frechet_distance,
    frechet_distance_gaussian,
    knn_precision_recall,
    knn_radii,
)


def _spd(rng, d):
    A = rng.standard_normal((d, d))
    return A @ A.T / d + 0.1 * np.eye(d)


def test_frechet_closed_form_commuting():
    # diagonal covariances: FD = ‖μ1 − μ2‖² + Σ (σ1 − σ2)²
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([3.0, 1.0, 2.0])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    got = frechet_distance_gaussian(mu1, np.diag(s1), mu2, np.diag(s2))
    expected = 9 + 0 + 16 + (1 - 3) ** 2 + (2 - 1) ** 2 + 0
    assert got == pytest.approx(expected, rel=1e-12)


def test_frechet_closed_form_rotated_isotropic():
    # FD(N(0, a²I), N(0, b²QΛQᵀ)) for a = 1: tr(I) + tr(Σ2) − 2 tr Σ2^{1/2}, rotation-free
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    lam = np.array([0.5, 1.0, 2.0, 4.0])
    S2 = Q @ np.diag(lam) @ Q.T
    got = frechet_distance_gaussian(np.zeros(4), np.eye(4), np.zeros(4), S2)
    assert got == pytest.approx(np.sum((1 - np.sqrt(lam)) ** 2), rel=1e-10)


def test_frechet_matches_scipy_sqrtm_twin():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(1)
    for d in (1, 3, 8, 20):
        mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
        S1, S2 = _spd(rng, d), _spd(rng, d)
        covmean = scipy_linalg.sqrtm(S1 @ S2)  # the pytorch-fid formula
        ref = float(np.sum((mu1 - mu2) ** 2) + np.trace(S1) + np.trace(S2)
                    - 2 * np.trace(covmean).real)
        got = frechet_distance_gaussian(mu1, S1, mu2, S2)
        assert got == pytest.approx(ref, rel=1e-8, abs=1e-10)


def test_frechet_invariants():
    rng = np.random.default_rng(2)
    F1 = rng.standard_normal((300, 5))
    F2 = rng.standard_normal((200, 5)) * 2 + 1
    assert frechet_distance(F1, F1) == pytest.approx(0.0, abs=1e-10)
    a, b = frechet_distance(F1, F2), frechet_distance(F2, F1)
    assert a == pytest.approx(b, rel=1e-10)  # symmetric
    # invariant to a common rotation and translation of both sets
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    assert frechet_distance(F1 @ Q + 3, F2 @ Q + 3) == pytest.approx(a, rel=1e-9)
    # equals the Gaussian formula with sample moments (np.cov, divisor n − 1)
    ref = frechet_distance_gaussian(F1.mean(0), np.cov(F1.T), F2.mean(0), np.cov(F2.T))
    assert a == pytest.approx(ref, rel=1e-12)


def test_frechet_sample_estimate_converges_to_closed_form():
    rng = np.random.default_rng(3)
    n = 40_000
    F1 = rng.standard_normal((n, 2))
    F2 = rng.standard_normal((n, 2)) * np.array([2.0, 1.0]) + np.array([1.0, 0.0])
    # exact: 1 (means) + (1 − 2)² + 0 = 2
    assert frechet_distance(F1, F2) == pytest.approx(2.0, abs=0.05)


def test_knn_radii_by_hand():
    F = np.array([[0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_allclose(knn_radii(F, k=1), [1.0, 1.0, 2.0, 4.0])
    np.testing.assert_allclose(knn_radii(F, k=2), [3.0, 2.0, 3.0, 6.0])
    np.testing.assert_allclose(knn_radii(F, k=2, chunk=1), [3.0, 2.0, 3.0, 6.0])


def test_knn_precision_recall_hand_cases():
    real = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # radii (k=1): 1
    # identical sets: everything covered
    assert knn_precision_recall(real, real.copy(), k=1) == {"precision": 1.0, "recall": 1.0}
    # two fakes near (0, 0), two far away; the fakes' own 1-NN radii are 0.2, 0.2, 3, 3
    fake = np.array([[0.1, 0.0], [0.3, 0.0], [100.0, 0.0], [103.0, 0.0]])
    pr = knn_precision_recall(real, fake, k=1)
    assert pr["precision"] == 0.5  # the two near fakes lie within 1 of (0, 0)
    assert pr["recall"] == 0.25  # only (0, 0) lies within 0.2 of a fake
    # a collapsed generator (all fakes at one real point) has precision 1, recall 1/4
    collapsed = np.repeat(real[:1], 4, axis=0) + np.array([[0, 0], [1e-3, 0], [0, 1e-3],
                                                           [1e-3, 1e-3]])
    assert knn_precision_recall(real, collapsed, k=1) == {"precision": 1.0, "recall": 0.25}


def test_knn_precision_recall_chunking_agrees():
    rng = np.random.default_rng(4)
    real, fake = rng.standard_normal((120, 3)), rng.standard_normal((90, 3)) + 0.5
    a = knn_precision_recall(real, fake, k=3)
    b = knn_precision_recall(real, fake, k=3, chunk=7)
    assert a == b
    assert 0 < a["precision"] < 1 and 0 < a["recall"] < 1


def test_feature_rate():
    assert feature_rate(np.array([7, 1, 7, 3]), 7) == 0.5
    assert feature_rate(np.array([1, 2]), 7) == 0.0


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: frechet_distance_gaussian(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3)),
     ValueError, "mu2 must have shape"),
    (lambda: frechet_distance_gaussian(np.zeros(2), np.array([[1.0, 1.0], [0.0, 1.0]]),
                                       np.zeros(2), np.eye(2)),
     ValueError, "sigma1 must be symmetric"),
    (lambda: frechet_distance(np.zeros((5, 2)), np.zeros((5, 3))), ValueError,
     "F2 must have 2 columns"),
    (lambda: frechet_distance(np.zeros((1, 2)), np.zeros((5, 2))), ValueError, "F1"),
    (lambda: knn_precision_recall(np.zeros((5, 2)), np.zeros((5, 2)), k=5), ValueError,
     "k must be <= 4, got 5"),
    (lambda: knn_precision_recall(np.zeros((5, 2)), np.zeros((5, 3))), ValueError,
     "fake must have 2 columns"),
    (lambda: knn_precision_recall(np.full((5, 2), np.nan), np.zeros((5, 2))), ValueError,
     "real"),
    (lambda: feature_rate(np.array([0.5, 1.0]), 1), ValueError, "labels must be"),
    (lambda: feature_rate(np.array([1, 2]), -1), ValueError, "cls must be >= 0, got -1"),
])
def test_bad_inputs(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()
