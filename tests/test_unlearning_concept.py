"""Concept-guided class forgetting: the pixel-region concept bank (against a per-pixel loop),
Integrated Gradients (closed form for a linear head, completeness), the concept bottleneck on
a planted model, concept neighbours and poisoned labels by hand, the method through the
harness (registration, determinism, forgetting) and bad inputs."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning import concept as cc  # noqa: E402
from theorylab.unlearning.methods import METHODS, Subset, apply_method  # noqa: E402


def test_masks_are_averages_and_hole_is_a_contrast():
    M = cc.concept_masks(8, 8)
    assert M.shape == (12, 8, 8)
    sums = M.reshape(12, -1).sum(1)
    hole = cc.CONCEPTS.index("central_hole")
    np.testing.assert_allclose(np.delete(sums, hole), 1.0)
    assert abs(sums[hole]) < 1e-12
    assert np.all(np.delete(M, hole, axis=0) >= 0)


def test_region_scores_equal_a_per_pixel_loop():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(5, 64))
    M = cc.concept_masks(8, 8)
    ref = np.zeros((5, 12))
    for i in range(5):
        for j in range(12):
            for r in range(8):
                for c in range(8):
                    ref[i, j] += M[j, r, c] * X[i, 8 * r + c]
    np.testing.assert_allclose(cc.region_concepts(X, (1, 8, 8)), ref, rtol=1e-12)


def test_planted_strokes_light_their_concepts():
    top = np.zeros((8, 8))
    top[0:2, 2:6] = 1.0
    left = np.zeros((8, 8))
    left[2:6, 0:2] = 1.0
    s = cc.region_concepts(np.stack([top.ravel(), left.ravel()]), (1, 8, 8))
    names = list(cc.CONCEPTS)
    assert s[0].argmax() == names.index("top_bar")
    assert s[1].argmax() == names.index("left_stroke")
    np.testing.assert_array_equal(cc.concept_presence([[1.0], [3.0], [2.0]]).ravel(),
                                  [False, True, False])


def test_integrated_gradients_linear_closed_form_and_completeness():
    g = torch.Generator().manual_seed(0)
    lin = torch.nn.Linear(5, 3).double()
    s = torch.randn(4, 5, generator=g, dtype=torch.float64)
    ig = cc.integrated_gradients(lin, s, target=2, steps=3)
    torch.testing.assert_close(ig, lin.weight[2].detach() * s, rtol=1e-12, atol=1e-12)
    mlp = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(),
                              torch.nn.Linear(7, 3)).double()
    base = torch.full((4, 5), 0.3, dtype=torch.float64)
    ig = cc.integrated_gradients(mlp, s, target=1, baseline=base, steps=400)
    with torch.no_grad():
        full = mlp(s)[:, 1] - mlp(base)[:, 1]
    torch.testing.assert_close(ig.sum(1), full, rtol=0, atol=1e-4)


def _hand_model(W, profiles):
    m = W.shape[1]
    return cc.ConceptModel(cavs=np.eye(m), mean=np.zeros(m), scale=np.ones(m), W=W,
                           b=np.zeros(W.shape[0]), cav_accuracy=np.ones(m), accuracy=1.0,
                           profiles=profiles)


def test_neighbours_and_poison_labels_by_hand():
    profiles = np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    cm = _hand_model(np.eye(4, 3), profiles)
    np.testing.assert_array_equal(cc.concept_neighbours(cm, 0, k=2), [1, 3])
    np.testing.assert_array_equal(cc.concept_neighbours(cm, 2, k=1), [3])
    feats = np.array([[5.0, 1.0, 0.0], [5.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    g = torch.Generator().manual_seed(0)
    np.testing.assert_array_equal(
        cc.poison_labels(cm, feats, 0, labels="targeted", generator=g), [1, 1, 1])
    # logits = features @ eye(4, 3).T: class 0 excluded, the next best class per row
    np.testing.assert_array_equal(
        cc.poison_labels(cm, feats, 0, labels="concept", generator=g), [1, 2, 1])
    r = cc.poison_labels(cm, np.zeros((400, 3)), 2, labels="random", generator=g)
    assert set(r.tolist()) == {0, 1, 3}


def _planted_concept_problem(n=600, seed=0):
    """Grey 8×8 noise images with one stroke each (class = which stroke); a model whose trunk
    is the concept projection itself, so the concepts are exactly readable from f(x)."""
    rng = np.random.default_rng(seed)
    names = list(cc.CONCEPTS)
    strokes = ["top_bar", "bottom_bar", "left_stroke", "right_stroke"]
    M = cc.concept_masks(8, 8)
    y = rng.integers(0, 4, size=n)
    X = rng.uniform(0, 0.3, size=(n, 64))
    for i in range(n):
        X[i] += 0.8 * (M[names.index(strokes[y[i]])].ravel() > 0)
    X = np.clip(X, 0, 1).astype(np.float32)
    trunk = torch.nn.Linear(64, 12)
    head = torch.nn.Linear(12, 4)
    with torch.no_grad():
        trunk.weight.copy_(torch.as_tensor(M.reshape(12, -1) * 8, dtype=torch.float32))
        trunk.bias.zero_()
        g = torch.Generator().manual_seed(seed)
        for p in head.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    model = torch.nn.Sequential(trunk, torch.nn.ReLU(), head)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    opt = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(Xt), yt).backward()
        opt.step()
    return model.eval(), Xt, yt, strokes


def test_concept_model_on_a_planted_model():
    model, X, y, strokes = _planted_concept_problem()
    cm = cc.fit_concept_model(model, X, y, image_shape=(1, 8, 8), n_classes=4)
    assert cm.cavs.shape == (12, 12)
    np.testing.assert_allclose(np.linalg.norm(cm.cavs, axis=1), 1.0)
    assert cm.accuracy >= 0.95
    names = list(cc.CONCEPTS)
    cols = [names.index(st) for st in strokes]
    for k in range(4):  # among the four strokes, each class is explained most by its own
        assert cm.profiles[k, cols].argmax() == k
        assert cm.profiles[k, cols[k]] > 0
    # presence is a median split that falls inside the noise of the stroke-free images, so
    # the probes cannot be perfect; they still beat chance clearly
    assert cm.cav_accuracy[cols].min() >= 0.8


def test_method_registered_on_import_forgets_and_is_deterministic():
    spec = METHODS["concept_poison"]
    assert spec.needs_retain and spec.needs_labels
    model, X, y, _ = _planted_concept_problem()
    f, r = y == 1, y != 1
    forget, retain = Subset(X[f], y[f]), Subset(X[r], y[r])
    cfg = cc.ConceptPoisonConfig(labels="concept", epochs=5, lr=0.05)
    outs = [apply_method("concept_poison", model, forget, retain, config=cfg,
                         generator=torch.Generator().manual_seed(3))[0] for _ in range(2)]
    for p, q in zip(outs[0].parameters(), outs[1].parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    groups = cc.class_group_accuracy(outs[0], X, y, forget_class=1, neighbours=[0, 2])
    before = cc.class_group_accuracy(model, X, y, forget_class=1, neighbours=[0, 2])
    assert before["forget_acc"] >= 0.9 and groups["forget_acc"] <= 0.1
    assert groups["other_acc"] >= 0.9
    assert set(groups) == {"forget_acc", "neighbour_acc", "other_acc", "class0_acc",
                           "class2_acc"}


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"image_shape must be \(1, H, W\) for grey images"):
        cc.region_concepts(np.zeros((2, 64)), (3, 8, 8))
    with pytest.raises(ValueError, match=r"X must have shape \(n, 64\), got \(2, 63\)"):
        cc.region_concepts(np.zeros((2, 63)), (1, 8, 8))
    with pytest.raises(ValueError, match="height must be >= 4, got 2"):
        cc.concept_masks(2, 8)
    with pytest.raises(ValueError, match="labels must be one of"):
        cc.ConceptPoisonConfig(labels="nearest")
    with pytest.raises(ValueError, match=r"image_shape must be \(1, H, W\), got"):
        cc.ConceptPoisonConfig(image_shape=(8, 8))
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        cc.ConceptPoisonConfig(epochs=0)
    cm = _hand_model(np.eye(3), np.eye(3))
    with pytest.raises(ValueError, match="k must be <= 2, got 3"):
        cc.concept_neighbours(cm, 0, k=3)
    model, X, y, _ = _planted_concept_problem(n=80)
    with pytest.raises(ValueError, match=r"y must hold every class in \[0, 4\], got none of "
                                         r"\[4\]"):
        cc.fit_concept_model(model, X, y, image_shape=(1, 8, 8), n_classes=5)
    with pytest.raises(ValueError, match=r"y must have shape \(80,\), got \(79,\)"):
        cc.fit_concept_model(model, X, y[:-1], image_shape=(1, 8, 8), n_classes=4)
