"""CUDA unlearnable data (filters, poisoning), PGD attacks and adversarial training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from theorylab.unlearnable import (
    AttackConfig,
    apply_cuda,
    apply_random_filters,
    clean_accuracy,
    confusion_matrix,
    convolve_images,
    cuda_filters,
    fit_classifier,
    pgd_attack,
    project_l2,
    project_linf,
    random_filters,
    train_and_evaluate,
)
from theorylab.unlearnable.adversarial import adversarial_train
from theorylab.unlearning.models import Recipe, build_model, train_model


def _images(n=6, c=1, h=7, w=5, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w))


# ------------------------------------------------------------------------- filters

@pytest.mark.parametrize("blur", [0.1, 0.3, 0.5])
@pytest.mark.parametrize("size", [3, 5])
def test_filter_entries_in_range_with_exactly_one_one(blur, size):
    F = cuda_filters(10, 2024, blur=blur, size=size)
    assert F.shape == (10, size, size)
    ones = F == 1.0
    assert (ones.sum(axis=(1, 2)) == 1).all()
    rest = F[~ones]
    assert rest.min() >= 0.0 and rest.max() < blur
    # the entries fill [0, blur): not a degenerate draw
    assert rest.max() > 0.8 * blur and rest.min() < 0.2 * blur


def test_filters_deterministic_given_the_key_and_differ_across_keys():
    a, b = cuda_filters(10, 31337), cuda_filters(10, 31337)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, cuda_filters(10, np.random.default_rng(31337)))
    c = cuda_filters(10, 31338)
    assert not np.allclose(a, c)
    # the classes' filters differ from each other
    assert len({f.tobytes() for f in a}) == 10


def test_same_gives_identical_filters_equal_to_class_zero():
    F = cuda_filters(7, 5, same=True)
    ref = cuda_filters(7, 5)
    for k in range(7):
        np.testing.assert_array_equal(F[k], ref[0])


def test_random_filters_distribution_and_determinism():
    F = random_filters(50, blur=0.3, generator=3)
    assert ((F == 1).sum(axis=(1, 2)) == 1).all() and F[F != 1].max() < 0.3
    np.testing.assert_array_equal(F, random_filters(50, blur=0.3, generator=3))


# ------------------------------------------------------------------- convolution

def test_convolution_of_a_point_is_the_flipped_filter():
    """Hand case: cross-correlating a centred unit impulse with F gives F rotated 180°
    (max 1 already, so the normalisation leaves it alone)."""
    F = cuda_filters(1, 0, blur=0.3)
    x = np.zeros((1, 3, 3))
    x[0, 1, 1] = 1.0
    out = convolve_images(x, F, quantize=False)
    np.testing.assert_array_equal(out[0], F[0][::-1, ::-1])


@pytest.mark.parametrize("size", [3, 5])
def test_convolution_matches_scipy_correlate2d(size):
    signal = pytest.importorskip("scipy.signal")
    X = _images(n=4, c=3, h=9, w=6, seed=1)
    F = random_filters(4, size=size, generator=2)
    out = convolve_images(X, F, quantize=False)
    for i in range(4):
        ref = np.stack([signal.correlate2d(X[i, c], F[i], mode="same", boundary="fill")
                        for c in range(3)])
        np.testing.assert_allclose(out[i], ref / ref.max(), rtol=1e-12, atol=1e-15)


def test_convolution_matches_torch_depthwise_conv2d():
    X = _images(n=3, c=3, h=8, w=8, seed=4)
    F = random_filters(3, generator=5)
    out = convolve_images(X, F, quantize=False)
    for i in range(3):
        w = torch.as_tensor(F[i]).expand(3, 1, 3, 3).contiguous()
        ref = torch.nn.functional.conv2d(torch.as_tensor(X[i:i + 1]), w, padding=1, groups=3)
        ref = (ref / ref.max())[0].numpy()
        np.testing.assert_allclose(out[i], ref, rtol=1e-12, atol=1e-15)


def test_output_in_unit_interval_max_one_and_8bit_quantisation():
    X = _images(n=20, c=1, h=10, w=10, seed=6)
    y = np.arange(20) % 10
    F = cuda_filters(10, 77)
    raw = apply_cuda(X, y, F, generator=0, quantize=False).X
    assert raw.min() >= 0 and raw.max() <= 1
    np.testing.assert_array_equal(raw.reshape(20, -1).max(axis=1), np.ones(20))
    q = apply_cuda(X, y, F, generator=0, quantize=True).X
    k = q * 255
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)  # multiples of 1/255
    assert (q <= raw + 1e-12).all() and (q > raw - 1 / 255).all()  # floor, not round
    np.testing.assert_array_equal(q.reshape(20, -1).max(axis=1), np.ones(20))


def test_poisoned_image_uses_its_class_filter_and_clean_ones_are_untouched():
    X = _images(n=40, c=1, h=6, w=6, seed=7)
    y = np.random.default_rng(8).integers(0, 4, 40)
    F = cuda_filters(4, 9)
    res = apply_cuda(X, y, F, mix=0.5, generator=10)
    m = res.poisoned
    assert 0 < m.sum() < 40
    np.testing.assert_array_equal(res.X[~m], X[~m])
    np.testing.assert_array_equal(res.X[m], convolve_images(X[m], F[y[m]]))


def test_mix_extremes_and_share():
    X = _images(n=2000, c=1, h=3, w=3, seed=11)
    y = np.zeros(2000, dtype=int)
    F = cuda_filters(1, 0)
    r0 = apply_cuda(X, y, F, mix=0.0, generator=1)
    assert not r0.poisoned.any()
    np.testing.assert_array_equal(r0.X, X)
    assert apply_cuda(X, y, F, mix=1.0, generator=1).poisoned.all()
    r = apply_cuda(X, y, F, mix=0.2, generator=1)
    # Binomial(2000, 0.2): sd 0.0089; 5 sd
    assert abs(r.mix - 0.2) < 0.045
    np.testing.assert_array_equal(r.poisoned, apply_cuda(X, y, F, mix=0.2, generator=1).poisoned)


def test_shapes_flat_3d_4d_agree_and_dtype_kept():
    X4 = _images(n=5, c=1, h=4, w=6, seed=12).astype(np.float32)
    y = np.arange(5)
    F = cuda_filters(5, 1)
    a = apply_cuda(X4, y, F, generator=0).X
    b = apply_cuda(X4[:, 0], y, F, generator=0).X
    c = apply_cuda(X4.reshape(5, -1), y, F, generator=0, image_shape=(1, 4, 6)).X
    assert a.dtype == np.float32 and a.shape == X4.shape
    np.testing.assert_array_equal(a[:, 0], b)
    np.testing.assert_array_equal(a.reshape(5, -1), c)


def test_per_image_control_has_no_class_wise_filter():
    x = _images(n=1, c=1, h=6, w=6, seed=13)
    X = np.repeat(x, 30, axis=0)  # 30 copies of one image, one class
    res = apply_random_filters(X, generator=14)
    assert res.poisoned.all()
    assert len({img.tobytes() for img in res.X}) == 30  # a different filter each
    cls = apply_cuda(X, np.zeros(30, dtype=int), cuda_filters(1, 0), generator=14)
    assert len({img.tobytes() for img in cls.X}) == 1  # CUDA: one filter per class
    again = apply_random_filters(X, generator=14)
    np.testing.assert_array_equal(res.X, again.X)


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(blur=0.0), ValueError, r"^blur must be > 0, got 0.0$"),
    (dict(blur=-1.0), ValueError, r"^blur must be > 0, got -1.0$"),
    (dict(blur=float("nan")), ValueError, r"^blur must be > 0, got nan$"),
    (dict(size=4), ValueError, r"^size must be odd"),
    (dict(n_classes=0), ValueError, r"^n_classes must be >= 1, got 0$"),
    (dict(key=None), TypeError, r"^key must be an int seed"),
    (dict(same="yes"), TypeError, r"^same must be a bool"),
])
def test_cuda_filters_bad_inputs(kwargs, exc, msg):
    args = dict(n_classes=10, key=0)
    args.update(kwargs)
    n, key = args.pop("n_classes"), args.pop("key")
    with pytest.raises(exc, match=msg):
        cuda_filters(n, key, **args)


def test_apply_cuda_bad_inputs():
    X = _images(n=4, c=1, h=5, w=5)
    y = np.array([0, 1, 2, 3])
    F = cuda_filters(4, 0)
    with pytest.raises(ValueError, match=r"^mix must be <= 1, got 1.5$"):
        apply_cuda(X, y, F, mix=1.5, generator=0)
    with pytest.raises(ValueError, match=r"^mix must be >= 0, got -0.1$"):
        apply_cuda(X, y, F, mix=-0.1, generator=0)
    with pytest.raises(ValueError, match=r"^y must hold labels in \[0, 4\) .*got 4$"):
        apply_cuda(X, np.array([0, 1, 2, 4]), F, generator=0)
    with pytest.raises(ValueError, match=r"^y must hold labels in \[0, 4\) .*got -1$"):
        apply_cuda(X, np.array([0, -1, 2, 3]), F, generator=0)
    with pytest.raises(ValueError, match=r"^y must have shape \(4,\), got \(3,\)$"):
        apply_cuda(X, y[:3], F, generator=0)
    with pytest.raises(ValueError, match=r"^X must hold values in \[0, 1\]"):
        apply_cuda(X * 2, y, F, generator=0)
    with pytest.raises(ValueError, match=r"^filters must be >= 0"):
        apply_cuda(X, y, -F, generator=0)
    with pytest.raises(ValueError, match=r"^filters must have shape \(n, k, k\) with k odd"):
        apply_cuda(X, y, np.ones((4, 2, 2)), generator=0)
    with pytest.raises(ValueError, match=r"^image_shape must be \(C, H, W\) with C\*H\*W = 25"):
        apply_cuda(X.reshape(4, -1), y, F, generator=0, image_shape=(1, 4, 4))
    with pytest.raises(ValueError, match=r"^X must have shape \(n, H, W\) or \(n, C, H, W\)"):
        apply_cuda(X.reshape(4, -1), y, F, generator=0)
    with pytest.raises(ValueError, match=r"^X must be finite"):
        apply_cuda(np.full((4, 1, 5, 5), np.nan), y, F, generator=0)
    with pytest.raises(ValueError, match=r"^filters must have 3 rows"):
        convolve_images(X[:3], F)


# ------------------------------------------------------------------------ attacks

def _model_and_batch(seed=0, n=32, d=12, k=3):
    g = torch.Generator().manual_seed(seed)
    model = build_model(Recipe(hidden=(16,)), d, k, generator=g, dtype=torch.float64)
    x = torch.rand((n, d), generator=g, dtype=torch.float64)
    y = torch.randint(0, k, (n,), generator=g)
    return model, x, y


def _ce(model, x, y):
    with torch.no_grad():
        return float(torch.nn.functional.cross_entropy(model(x), y))


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("random_start", [False, True])
def test_attack_stays_in_ball_and_box_and_raises_the_loss(norm, random_start):
    model, x, y = _model_and_batch()
    eps = 0.2 if norm == "linf" else 1.0
    xa = pgd_attack(model, x, y, norm=norm, eps=eps, n_steps=10, random_start=random_start,
                    generator=torch.Generator().manual_seed(1))
    d = xa - x
    if norm == "linf":
        assert float(d.abs().max()) <= eps + 1e-12
    else:
        assert float(d.norm(dim=1).max()) <= eps + 1e-12
    assert float(xa.min()) >= 0 and float(xa.max()) <= 1
    assert _ce(model, xa, y) > _ce(model, x, y) + 0.01
    # a bigger radius finds a loss at least as large here (same start, more room)
    xb = pgd_attack(model, x, y, norm=norm, eps=2 * eps, n_steps=10, random_start=False)
    assert _ce(model, xb, y) > _ce(model, x, y)


def test_linf_attack_equals_the_robust_module_pgd():
    from theorylab.robust.attacks import pgd

    model, x, y = _model_and_batch(seed=3)
    a = pgd_attack(model, x, y, norm="linf", eps=0.05, n_steps=5, step_size=0.02,
                   random_start=False)
    b = pgd(model, x, y, eps=0.05, steps=5, step_size=0.02)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_l2_projection_closed_form_and_optimality():
    g = torch.Generator().manual_seed(0)
    v = torch.randn((50, 7), generator=g, dtype=torch.float64) * 0.6
    eps = 1.5
    p = project_l2(v, eps)
    nv = v.norm(dim=1)
    out = nv > eps
    assert out.any() and (~out).any()
    torch.testing.assert_close(p[out], v[out] * (eps / nv[out])[:, None], rtol=1e-14, atol=0)
    torch.testing.assert_close(p[~out], v[~out], rtol=0, atol=0)
    torch.testing.assert_close(project_l2(p, eps), p, rtol=1e-14, atol=0)  # idempotent
    # no point of the ball is closer to v than its projection
    z = project_l2(torch.randn((50, 7), generator=g, dtype=torch.float64) * 3, eps)
    assert ((p - v).norm(dim=1) <= (z - v).norm(dim=1) + 1e-12).all()
    w = torch.randn((4, 2, 3), generator=g, dtype=torch.float64) * 5  # per sample, any shape
    pw = project_l2(w, 1.0)
    torch.testing.assert_close(pw.flatten(1).norm(dim=1), torch.ones(4, dtype=torch.float64))
    torch.testing.assert_close(project_linf(w, 0.5), w.clamp(-0.5, 0.5))


def test_attack_determinism_mode_restored_and_zero_radius():
    model, x, y = _model_and_batch(seed=5)
    model.train()
    kw = dict(norm="l2", eps=0.3, n_steps=3, random_start=True)
    a = pgd_attack(model, x, y, **kw, generator=torch.Generator().manual_seed(9))
    b = pgd_attack(model, x, y, **kw, generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert model.training
    torch.testing.assert_close(pgd_attack(model, x, y, eps=0.0), x, rtol=0, atol=0)


def test_attack_bad_inputs():
    model, x, y = _model_and_batch()
    with pytest.raises(ValueError, match=r"^norm must be one of 'linf', 'l2', got 'l1'$"):
        pgd_attack(model, x, y, norm="l1", eps=0.1)
    with pytest.raises(ValueError, match=r"^eps must be >= 0, got -0.1$"):
        pgd_attack(model, x, y, eps=-0.1)
    with pytest.raises(ValueError, match=r"^n_steps must be >= 1, got 0$"):
        pgd_attack(model, x, y, eps=0.1, n_steps=0)
    with pytest.raises(ValueError, match=r"^x must lie in \[lo, hi\] = \[0, 1\]"):
        pgd_attack(model, x + 1, y, eps=0.1)
    with pytest.raises(ValueError, match=r"^y must have shape \(32,\), got \(31,\)$"):
        pgd_attack(model, x, y[:31], eps=0.1)
    with pytest.raises(TypeError, match=r"^y must hold integer class labels"):
        pgd_attack(model, x, y.double(), eps=0.1)
    with pytest.raises(TypeError, match=r"^model must be a torch.nn.Module"):
        pgd_attack(None, x, y, eps=0.1)
    with pytest.raises(ValueError, match=r"^x must be finite"):
        pgd_attack(model, x * float("nan"), y, eps=0.1)
    with pytest.raises(ValueError, match=r"^x must have at least 1 sample"):
        pgd_attack(model, x[:0], y[:0], eps=0.1)
    with pytest.raises(ValueError, match=r"^generator must be a torch.Generator when random_st"):
        pgd_attack(model, x, y, eps=0.1, random_start=True)
    with pytest.raises(ValueError, match=r"^attack_generator must be a torch.Generator"):
        adversarial_train(model, x, y, recipe=Recipe(epochs=1), generator=torch.Generator(),
                          eps=0.1)


# ------------------------------------------------------------- training protocols

@pytest.fixture(scope="module")
def digits():
    from theorylab.unlearning.data import load_digits_split

    return load_digits_split(rng=0)


def test_adversarial_training_at_zero_radius_is_the_harness_erm(digits):
    X = torch.as_tensor(digits.X_train[:300])
    y = torch.as_tensor(digits.y_train[:300])
    rec = Recipe(hidden=(16,), epochs=2)
    m1 = build_model(rec, 64, 10, generator=torch.Generator().manual_seed(1))
    m2 = build_model(rec, 64, 10, generator=torch.Generator().manual_seed(1))
    train_model(m1, X, y, recipe=rec, generator=torch.Generator().manual_seed(2))
    adversarial_train(m2, X, y, recipe=rec, generator=torch.Generator().manual_seed(2), eps=0.0)
    for p, q in zip(m1.parameters(), m2.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_adversarial_training_raises_robust_accuracy(digits):
    """An L∞ PGD-trained MLP resists PGD at its radius better than the ERM MLP."""
    rec = Recipe(hidden=(64,), epochs=8, lr=3e-3)
    atk = AttackConfig(norm="linf", eps=2 / 16, n_steps=5)
    gens = lambda: dict(init_generator=torch.Generator().manual_seed(0),  # noqa: E731
                        order_generator=torch.Generator().manual_seed(1))
    erm = fit_classifier(digits.X_train, digits.y_train, recipe=rec, n_classes=10, **gens())
    at = fit_classifier(digits.X_train, digits.y_train, recipe=rec, n_classes=10, **gens(),
                        attack=atk, attack_generator=torch.Generator().manual_seed(2))
    Xt = torch.as_tensor(digits.X_test)
    yt = torch.as_tensor(digits.y_test)

    def robust(m):
        xa = pgd_attack(m, Xt, yt, eps=atk.eps, n_steps=10, random_start=False)
        return clean_accuracy(m, xa.numpy(), digits.y_test)

    r_erm, r_at = robust(erm), robust(at)
    assert r_at > r_erm + 0.1, (r_erm, r_at)  # measured +0.16 to +0.22 over 5 seeds
    assert clean_accuracy(erm, digits.X_test, digits.y_test) > 0.9


def test_confusion_matrix_by_hand():
    model = torch.nn.Linear(2, 3, bias=False)
    with torch.no_grad():  # logits (x0, x1, 0)
        model.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.2, 0.1]], dtype=np.float32)
    y = np.array([0, 0, 1, 2])
    C = confusion_matrix(model, X, y, n_classes=3)
    # predictions: 0, 1, 0, 0 (0.2 > 0.1 > 0)
    np.testing.assert_array_equal(C, [[1, 1, 0], [1, 0, 0], [1, 0, 0]])
    assert clean_accuracy(model, X, y) == 0.25


def test_train_and_evaluate_on_digits_and_cuda_collapse(digits):
    """End to end on digits: clean ERM learns; 100 % CUDA drops clean test accuracy."""
    rec = Recipe(hidden=(64,), epochs=10, lr=3e-3)
    kw = dict(recipe=rec, n_classes=10)

    def run(Xtr):
        return train_and_evaluate(Xtr, digits.y_train, digits.X_test, digits.y_test, **kw,
                                  init_generator=torch.Generator().manual_seed(0),
                                  order_generator=torch.Generator().manual_seed(1))

    clean = run(digits.X_train)
    F = cuda_filters(10, 4242, blur=0.3)
    prot = apply_cuda(digits.X_train, digits.y_train, F, generator=0, image_shape=(1, 8, 8))
    poisoned = run(prot.X)
    assert clean.test_accuracy > 0.9
    assert poisoned.train_accuracy > 0.9  # it fits the protected set ...
    assert poisoned.test_accuracy < clean.test_accuracy - 0.2  # ... but not the clean task
    assert clean.confusion.sum() == digits.y_test.size
    np.testing.assert_allclose(clean.per_class_accuracy.mean(), clean.test_accuracy, atol=0.05)


def test_training_bad_inputs(digits):
    rec = Recipe(hidden=(8,), epochs=1)
    g = dict(init_generator=torch.Generator(), order_generator=torch.Generator())
    with pytest.raises(ValueError, match=r"^y must hold labels in \[0, 5\), got 9$"):
        fit_classifier(digits.X_train, digits.y_train, recipe=rec, n_classes=5, **g)
    with pytest.raises(ValueError, match=r"^n_classes must be >= 2, got 1$"):
        fit_classifier(digits.X_train, digits.y_train, recipe=rec, n_classes=1, **g)
    with pytest.raises(ValueError, match=r"^image_shape must multiply to 64"):
        fit_classifier(digits.X_train, digits.y_train, recipe=rec, n_classes=10, **g,
                       image_shape=(1, 7, 7))
    with pytest.raises(TypeError, match=r"^attack must be an AttackConfig or None"):
        fit_classifier(digits.X_train, digits.y_train, recipe=rec, n_classes=10, **g,
                       attack="pgd")
    with pytest.raises(ValueError, match=r"^eps must be > 0, got 0.0$"):
        AttackConfig(eps=0.0)


@pytest.mark.gpu
def test_attack_on_cuda_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    model, x, y = _model_and_batch(seed=6)
    kw = dict(norm="l2", eps=0.3, n_steps=5, random_start=True)
    a = pgd_attack(model, x, y, **kw, generator=torch.Generator().manual_seed(1))
    b = pgd_attack(model.cuda(), x.cuda(), y.cuda(), **kw,
                   generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(b.cpu(), a, rtol=1e-9, atol=1e-9)


# ------------------------------------------------------ the reference (GPU) recipe

def test_crop_flip_is_a_shifted_window_of_the_padded_image():
    from theorylab.unlearnable import augment_crop_flip

    x = torch.arange(2 * 2 * 5 * 6, dtype=torch.float64).reshape(2, 2, 5, 6) + 1
    out = augment_crop_flip(x, pad=2, generator=torch.Generator().manual_seed(0))
    again = augment_crop_flip(x, pad=2, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, again, rtol=0, atol=0)
    xp = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):  # brute force over every window and flip
        found = [(dy, dx, f) for dy in range(5) for dx in range(5) for f in (False, True)
                 if torch.equal(out[i], (lambda w: w.flip(-1) if f else w)(
                     xp[i, :, dy:dy + 5, dx:dx + 6]))]
        assert len(found) == 1, found
    seen = set()
    for s in range(40):
        o = augment_crop_flip(x[:1], pad=2, generator=torch.Generator().manual_seed(s))
        seen.add(o.numpy().tobytes())
    assert len(seen) > 20  # offsets and flips vary


def test_resnet18_size_and_explicit_randomness():
    from theorylab.unlearnable import resnet18

    state = torch.random.get_rng_state()
    a = resnet18(10, generator=torch.Generator().manual_seed(0))
    b = resnet18(10, generator=torch.Generator().manual_seed(0))
    assert torch.equal(state, torch.random.get_rng_state())  # global RNG untouched
    assert sum(p.numel() for p in a.parameters()) == 11_173_962  # CIFAR ResNet-18
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    with torch.no_grad():
        assert a.eval()(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_train_sgd_learns_and_is_deterministic():
    from theorylab.unlearnable.training import train_sgd

    g = torch.Generator().manual_seed(0)
    X = torch.rand((64, 1, 6, 6), generator=g)
    y = (X[:, 0, 2:4, 2:4].mean(dim=(1, 2)) > 0.5).long()  # centre brightness

    def fit(**kw):
        torch.manual_seed(0)  # the test's own model init (tests may seed globally)
        m = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.Flatten(), torch.nn.Linear(144, 2))
        train_sgd(m, X, y, epochs=30, lr=0.05, batch_size=16, augment=False,
                  generator=torch.Generator().manual_seed(1), **kw)
        return m

    m1, m2 = fit(), fit()
    for p, q in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(p, q)
    with torch.no_grad():
        assert float((m1(X).argmax(1) == y).float().mean()) > 0.9
    with pytest.raises(ValueError, match=r"^X must have shape \(n, C, H, W\)"):
        train_sgd(m1, X.flatten(1), y, epochs=1, generator=torch.Generator())
