"""Representation-level evaluation: CKA invariances and closed forms, feature-space vs
two-Gram reference, k-NN/probe, head-only retraining, bad inputs."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning.methods import Subset, Withheld, apply_method  # noqa: E402
from theorylab.unlearning.models import (  # noqa: E402
    Recipe,
    as_tensors,
    build_model,
    predict_logits,
    train_model,
)
from theorylab.unlearning.representation import (  # noqa: E402
    HeadOnlyConfig,
    batched_cka,
    cka_noise_floor,
    knn_accuracy,
    linear_cka,
    linear_cka_gram,
    penultimate_features,
    probe_accuracy,
    representation_report,
)


def _orth(d, rng):
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return Q


@pytest.mark.parametrize("debiased", [True, False])
def test_cka_one_for_identical_orthogonal_scaled_shifted(debiased):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 7)) @ rng.standard_normal((7, 7))
    assert linear_cka(X, X, debiased=debiased) == pytest.approx(1.0, abs=1e-12)
    Q = _orth(7, rng)
    assert linear_cka(X, X @ Q, debiased=debiased) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(X, -2.5 * X, debiased=debiased) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(X, 0.1 * X @ Q + 7.0, debiased=debiased) == pytest.approx(1.0, abs=1e-12)
    # invariance of a generic pair: CKA(X, Y) = CKA(c1 X Q1 + b1, c2 Y Q2 + b2)
    Y = np.tanh(X[:, :4] @ rng.standard_normal((4, 5))) + 0.3 * rng.standard_normal((60, 5))
    base = linear_cka(X, Y, debiased=debiased)
    moved = linear_cka(3.0 * X @ Q - 1.0, 0.2 * Y @ _orth(5, rng) + 4.0, debiased=debiased)
    assert moved == pytest.approx(base, abs=1e-12)
    assert 0.0 < base < 1.0
    # symmetric
    assert linear_cka(Y, X, debiased=debiased) == pytest.approx(base, abs=1e-14)


def test_cka_not_invariant_to_anisotropic_scaling():
    # the invariances above are not vacuous: stretching one axis changes CKA
    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 3))
    assert linear_cka(X, X * np.array([1.0, 1.0, 10.0])) < 0.9


def test_biased_cka_of_one_feature_is_squared_correlation():
    # closed form: for d1 = d2 = 1, ‖yᵀx‖²/(‖xᵀx‖‖yᵀy‖) on centred vectors = r²
    rng = np.random.default_rng(2)
    x = rng.standard_normal(40)
    y = 0.5 * x + rng.standard_normal(40)
    r = np.corrcoef(x, y)[0, 1]
    assert linear_cka(x[:, None], y[:, None], debiased=False) == pytest.approx(r * r, rel=1e-12)


@pytest.mark.parametrize("debiased", [True, False])
@pytest.mark.parametrize("shape", [(50, 8, 5), (12, 30, 20)])  # n > d and n < d
def test_feature_space_matches_two_gram_reference(debiased, shape):
    n, d1, d2 = shape
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n, d1)) + 2.0
    Y = X[:, :3] @ rng.standard_normal((3, d2)) + rng.standard_normal((n, d2))
    assert linear_cka(X, Y, debiased=debiased) == pytest.approx(
        linear_cka_gram(X, Y, debiased=debiased), abs=1e-10)


def test_debiased_cka_removes_the_small_sample_bias():
    # independent features: the plug-in CKA is biased upwards (≈ √(d1 d2)/n scale), the
    # debiased estimate is centred at 0
    rng = np.random.default_rng(4)
    vals_b, vals_u = [], []
    for _ in range(20):
        X, Y = rng.standard_normal((100, 20)), rng.standard_normal((100, 20))
        vals_b.append(linear_cka(X, Y, debiased=False))
        vals_u.append(linear_cka(X, Y, debiased=True))
    assert np.mean(vals_b) > 0.15
    assert abs(np.mean(vals_u)) < 0.02


def test_batched_cka_one_batch_equals_whole_split_and_averages():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 6))
    Y = X @ rng.standard_normal((6, 4)) + rng.standard_normal((40, 4))
    assert batched_cka(X, Y, batch_size=64) == pytest.approx(linear_cka(X, Y, debiased=False))
    by_hand = np.mean([linear_cka(X[i:i + 16], Y[i:i + 16], debiased=False)
                       for i in (0, 16, 32)])
    assert batched_cka(X, Y, batch_size=16) == pytest.approx(by_hand, rel=1e-12)


def test_noise_floor_is_mean_over_pairs():
    rng = np.random.default_rng(6)
    F = [rng.standard_normal((30, 4)) for _ in range(3)]
    pairs = [linear_cka(F[0], F[1]), linear_cka(F[0], F[2]), linear_cka(F[1], F[2])]
    m, s = cka_noise_floor(F)
    assert m == pytest.approx(np.mean(pairs), rel=1e-12)
    assert s == pytest.approx(np.std(pairs, ddof=1), rel=1e-12)


def test_knn_and_probe_on_separable_features():
    rng = np.random.default_rng(7)
    centres = np.array([[5.0, 0.0], [0.0, 5.0], [-5.0, -5.0]])
    y = rng.integers(0, 3, 300)
    F = centres[y] + 0.3 * rng.standard_normal((300, 2))
    assert knn_accuracy(F[:200], y[:200], F[200:], y[200:]) == 1.0
    assert probe_accuracy(F[:200], y[:200], F[200:], y[200:]) == 1.0
    # labels unrelated to the features: chance-level accuracy
    z = rng.integers(0, 3, 300)
    assert probe_accuracy(F[:200], z[:200], F[200:], z[200:]) < 0.6


@pytest.mark.parametrize("call, match", [
    (lambda: linear_cka(np.ones(5), np.ones((5, 2))), "X must be a 2-dimensional"),
    (lambda: linear_cka(np.eye(5), np.eye(6)), "Y must have 5 rows"),
    (lambda: linear_cka(np.eye(3), np.eye(3)), "at least 4 rows"),
    (lambda: linear_cka(np.full((6, 2), np.nan), np.eye(6)), "X must be finite"),
    (lambda: linear_cka(np.ones((6, 2)), np.eye(6)), "X must not be constant"),
    (lambda: batched_cka(np.eye(8), np.eye(8), batch_size=2), "batch_size must be >= 4"),
    (lambda: cka_noise_floor([np.eye(5)]), "at least 2 matrices"),
    (lambda: knn_accuracy(np.eye(4), [0, 1, 0, 1], np.eye(4), [0, 1, 0, 1], k=9),
     "k must be <= 4"),
    (lambda: probe_accuracy(np.eye(4), [0, 1, 0], np.eye(4), [0, 1, 0, 1]),
     r"y_fit must have shape \(4,\)"),
    (lambda: knn_accuracy(np.eye(4), [0, 1, 0, 1], np.eye(3), [0, 1, 0]),
     "F_eval must have 4 columns"),
    (lambda: HeadOnlyConfig(lr=-1.0), "lr must be > 0"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.fixture(scope="module")
def digits_model():
    from theorylab.unlearning.data import load_digits_split

    d = load_digits_split(rng=0)
    X, y = as_tensors(d.X_train[:600], d.y_train[:600])
    Xt, _ = as_tensors(d.X_test, d.y_test)
    r = Recipe(hidden=(32, 32), epochs=15, lr=3e-3)
    m = train_model(build_model(r, 64, 10, generator=torch.Generator().manual_seed(0)), X, y,
                    recipe=r, generator=torch.Generator().manual_seed(1))
    f, k = (y == 3).nonzero().ravel(), (y != 3).nonzero().ravel()
    return m, X, y, Xt, d.y_test, Subset(X[f], y[f]), Subset(X[k], y[k])


def test_penultimate_features_are_the_head_input(digits_model):
    m, X, *_ = digits_model
    F = penultimate_features(m, X[:50])
    assert F.shape == (50, 32)
    out = m.net[-1](torch.as_tensor(F, dtype=torch.float32))
    assert torch.allclose(out, predict_logits(m, X[:50]), atol=1e-5)


def test_head_only_keeps_features_forgets_class_and_never_reads_forget(digits_model):
    m, X, y, Xt, yt, forget, retain = digits_model
    blind = Subset(Withheld("forget inputs", "head_only", "-"),
                   Withheld("forget labels", "head_only", "-"))
    cfg = HeadOnlyConfig(epochs=10)
    u, _ = apply_method("head_only", m, blind, retain, config=cfg,
                        generator=torch.Generator().manual_seed(5))
    u2, _ = apply_method("head_only", m, blind, retain, config=cfg,
                         generator=torch.Generator().manual_seed(5))
    names = [n for n, _ in m.named_parameters()]
    head = names[-2:]
    for (n, p), (_, q), (_, q2) in zip(m.named_parameters(), u.named_parameters(),
                                       u2.named_parameters(), strict=True):
        assert torch.equal(q, q2)  # deterministic given the generator
        if n in head:
            assert not torch.equal(p, q)
        else:
            assert torch.equal(p, q)  # features frozen bit-for-bit
    is3 = yt == 3
    acc = lambda mod, sel: float((predict_logits(mod, Xt).argmax(1).numpy() == yt)[sel].mean())
    assert acc(m, is3) > 0.8
    assert acc(u, is3) == 0.0
    assert acc(u, ~is3) > acc(m, ~is3) - 0.05
    # representation report: head-only has the original's features exactly
    rep = representation_report(u, original=m, retrained=[m], X_fit=X, y_fit=y.numpy(),
                                X_forget=Xt[torch.as_tensor(is3)], y_forget=yt[is3],
                                X_retain=Xt[torch.as_tensor(~is3)])
    assert rep["cka_original_forget"] == pytest.approx(1.0, abs=1e-9)
    assert rep["cka_original_retain"] == pytest.approx(1.0, abs=1e-9)
    assert rep["probe_forget"] > 0.8 and rep["knn_forget"] > 0.8


def test_penultimate_features_bad_inputs(digits_model):
    m, X, *_ = digits_model
    with pytest.raises(TypeError, match="X must be a torch.Tensor"):
        penultimate_features(m, X.numpy())
    with pytest.raises(ValueError, match=r"X must have shape \(n, d\)"):
        penultimate_features(m, X[0])


def test_representation_report_needs_a_retrained_model(digits_model):
    m, X, y, Xt, yt, *_ = digits_model
    with pytest.raises(ValueError, match="retrained must hold at least one"):
        representation_report(m, original=m, retrained=[], X_fit=X, y_fit=y.numpy(),
                              X_forget=Xt[:10], y_forget=yt[:10], X_retain=Xt[10:20])
