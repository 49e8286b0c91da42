"""Novel class discovery on tabular data (theorylab.ncd)."""

import itertools

import numpy as np
import pytest

from theorylab.ncd import _reference as ref
from theorylab.ncd import (
    class_prototypes,
    estimate_k,
    hidden_class_kfold,
    hungarian_accuracy,
    load_ncd_split,
    ncd_kmeans,
    ncd_spectral_clustering,
)
from theorylab.ncd._kernels import kmeanspp_kernel, lloyd_kernel
from theorylab.results import ConvergenceWarning


def _blobs(centres, n_per, scale, rng):
    g = np.random.default_rng(rng)
    X = np.vstack([c + scale * g.standard_normal((n_per, len(c))) for c in centres])
    y = np.repeat(np.arange(len(centres)), n_per)
    return X, y


CENTRES = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0], [20.0, 20.0]])


# 1. kernels == plain-NumPy reference
@pytest.mark.parametrize("with_prototypes", [False, True])
@pytest.mark.parametrize("n_trials", [1, 3])
def test_seeding_and_lloyd_equal_reference(with_prototypes, n_trials):
    X, _ = _blobs(CENTRES[:4], 15, 2.0, 0)
    P = CENTRES[:2] + 0.3 if with_prototypes else np.empty((0, 2))
    g = np.random.default_rng(1)
    u, first = g.random((3, n_trials)), 7
    C = np.empty((3, 2))
    kmeanspp_kernel(X, P, 3, u, first, C)
    C_ref = ref.kmeanspp(X, P, 3, u, first)
    np.testing.assert_array_equal(C, C_ref)
    labels, mind2 = np.empty(len(X), dtype=np.int64), np.empty(len(X))
    it, inertia, _ = lloyd_kernel(X, C, 50, 1e-12, labels, mind2)
    C2, lab2, inertia2, it2 = ref.lloyd(X, C_ref, 50, 1e-12)
    np.testing.assert_allclose(C, C2, rtol=1e-12)
    np.testing.assert_array_equal(labels, lab2)
    assert inertia == pytest.approx(inertia2, rel=1e-12) and it == it2


# 2. hand-solvable instances
def test_hungarian_accuracy_by_hand():
    # clusters {a, a, b, b, b, c}; classes {0, 0, 1, 1, 0, 2}: best match a->0, b->1, c->2
    assert hungarian_accuracy([0, 0, 1, 1, 0, 2], ["a", "a", "b", "b", "b", "c"]) == 5 / 6
    # more clusters than classes: 0->0 (2 rows), 2->1 (1 row); cluster 1's row is an error
    assert hungarian_accuracy([0, 0, 0, 1], [0, 0, 1, 2]) == 0.75


def test_two_points_two_clusters_by_hand():
    X = np.array([[0.0], [0.2], [5.0], [5.4]])
    res = ncd_kmeans(X, k=2, rng=0)
    assert sorted(res.centroids[:, 0].round(6).tolist()) == [0.1, 5.2]
    assert res.inertia == pytest.approx(2 * 0.1**2 + 2 * 0.2**2)


# 3. invariants
def test_hungarian_invariant_to_relabelling_and_equals_brute_force():
    g = np.random.default_rng(2)
    for _ in range(20):
        k = int(g.integers(2, 5))
        y = g.integers(0, k, 30)
        p = g.integers(0, k, 30)
        best = max(np.mean(np.array(perm)[p] == y) for perm in itertools.permutations(range(k)))
        acc = hungarian_accuracy(y, p)
        assert acc == pytest.approx(best)
        relabel = g.permutation(k) + 10
        assert hungarian_accuracy(y, relabel[p]) == pytest.approx(acc)
        assert hungarian_accuracy(g.permutation(k)[y], p) == pytest.approx(acc)
    y = g.integers(0, 4, 50)
    assert hungarian_accuracy(y, (y * 7 + 3) % 4) == 1.0  # a relabelled perfect clustering


def test_known_prototypes_never_move_and_steer_the_seeds():
    X, y = _blobs(CENTRES, 30, 0.5, 3)
    P = CENTRES[:2].copy()
    Xu = X[y >= 2]
    res = ncd_kmeans(Xu, P, k=3, rng=4)
    np.testing.assert_array_equal(P, CENTRES[:2])  # input untouched
    np.testing.assert_array_equal(res.known_prototypes, CENTRES[:2])
    assert hungarian_accuracy(y[y >= 2], res.labels) == 1.0
    # seeding: prototypes on two of the blobs push every new seed onto the others
    Xall, yall = _blobs(CENTRES, 30, 0.5, 5)
    C = np.empty((3, 2))
    kmeanspp_kernel(Xall, P, 3, np.random.default_rng(6).random((3, 1)), 0, C)
    d_to_known = np.min(np.linalg.norm(C[:, None] - P[None], axis=2), axis=1)
    assert np.all(d_to_known > 5.0)


def test_without_prototypes_matches_sklearn_kmeans():
    KMeans = pytest.importorskip("sklearn.cluster").KMeans
    X, _ = _blobs(CENTRES, 40, 1.5, 7)
    sk = KMeans(5, n_init=10, random_state=0, tol=1e-4).fit(X)
    for init in ("greedy-k-means++", "k-means++"):
        ours = ncd_kmeans(X, k=5, n_init=10, init=init, rng=8)
        assert ours.inertia == pytest.approx(sk.inertia_, rel=1e-3)
        assert hungarian_accuracy(sk.labels_, ours.labels) > 0.99


def test_hidden_class_kfold_never_leaks_hidden_labels():
    y = np.repeat(np.array([3, 5, 7, 8, 9]), [4, 6, 5, 3, 7])
    for seed in range(5):
        folds = hidden_class_kfold(y, n_folds=3, rng=seed)
        hidden_all = np.concatenate([f.hidden_classes for f in folds])
        assert sorted(hidden_all.tolist()) == [3, 5, 7, 8, 9]  # each hidden exactly once
        for f in folds:
            assert not np.isin(y[f.train], f.hidden_classes).any()
            assert np.isin(y[f.hidden], f.hidden_classes).all()
            assert np.array_equal(np.sort(np.concatenate([f.train, f.hidden])),
                                  np.arange(len(y)))
            assert len(np.unique(y[f.train])) >= 1


def test_spectral_and_k_estimation_on_separated_blobs():
    X, y = _blobs(CENTRES, 25, 0.6, 9)
    known = y < 2
    # min_dist sets the kernel width from the longest minimum-spanning-tree edge (the gap
    # between blobs here): a small value keeps the blobs apart in the affinity graph
    res = ncd_spectral_clustering(X[~known], X[known], y[known], k=3, min_dist=0.05, rng=10)
    assert hungarian_accuracy(y[~known], res.labels) == 1.0
    assert estimate_k(X[~known], k_min=2, k_max=6, rng=11).k == 3


def test_digits_split_and_prototypes():
    s = load_ncd_split("digits")
    assert s.known_classes == (0, 1, 2, 3, 4) and s.novel_classes == (5, 6, 7, 8, 9)
    assert s.X_known.shape == (901, 64) and s.X_novel.shape == (896, 64)
    classes, P = class_prototypes(s.X_known, s.y_known)
    np.testing.assert_allclose(P[2], s.X_known[s.y_known == 2].mean(0))


# 6. bad inputs
def test_bad_inputs_are_refused():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="k must be <= 4, got 5"):
        ncd_kmeans(X, k=5)
    with pytest.raises(ValueError, match="init must be one of"):
        ncd_kmeans(X, k=2, init="random")
    with pytest.raises(ValueError, match=r"known_prototypes must have shape \('n', 2\)"):
        ncd_kmeans(X, np.zeros((1, 3)), k=2)
    with pytest.raises(ValueError, match=r"y_pred must have shape \(3,\), got \(2,\)"):
        hungarian_accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="n_folds must be <= 3, got 4"):
        hidden_class_kfold([0, 1, 2], n_folds=4)
    with pytest.raises(ValueError, match="y_known must hold at least 2 classes, got 1"):
        hidden_class_kfold([1, 1, 1], n_folds=2)
    with pytest.raises(ValueError, match="known_classes must be a non-empty proper subset"):
        load_ncd_split("wine", known_classes=[0, 1, 2])
    with pytest.raises(ValueError, match="name must be one of"):
        load_ncd_split("covtype")


# 7. non-convergence
def test_iteration_cap_warns():
    X, _ = _blobs(CENTRES, 20, 3.0, 12)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        res = ncd_kmeans(X, k=5, max_iter=1, n_init=1, rng=0)
    assert res.converged is False


# torch: PBN
def test_pbn_w0_is_an_autoencoder_and_deterministic():
    torch = pytest.importorskip("torch")
    from theorylab.ncd import train_pbn

    X, y = _blobs(CENTRES, 12, 1.0, 13)
    kw = dict(latent_dim=3, hidden=(8,), epochs=3, batch_size=16)
    a = train_pbn(X[:24], y[:24], X[24:], w=0.0, generator=torch.Generator().manual_seed(0),
                  **kw)
    b = train_pbn(X[:24], (y[:24] + 1) % 2, X[24:], w=0.0,
                  generator=torch.Generator().manual_seed(0), **kw)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))  # labels unused at w = 0
    c = train_pbn(X[:24], (y[:24] + 1) % 2, X[24:], w=0.5,
                  generator=torch.Generator().manual_seed(0), **kw)
    assert not np.array_equal(a.transform(X), c.transform(X))
    assert a.transform(X).shape == (len(X), 3) and len(a.history["loss"]) == 3
    assert "PBNResult" in a.summary() and len(repr(a)) <= 400
    with pytest.raises(ValueError, match="w must be <= 1, got 1.5"):
        train_pbn(X[:24], y[:24], X[24:], w=1.5, **kw)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        train_pbn(X[:24], y[:24], X[24:], w=0.5, generator=0, **kw)


def test_import_does_not_load_torch():
    import subprocess
    import sys

    code = "import sys, theorylab.ncd; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
