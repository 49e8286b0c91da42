"""Unlearning harness: forget-set scenarios and the offline data loaders (NumPy only)."""

import gzip
import sys

import numpy as np
import pytest

from theorylab.unlearning.data import (
    FASHION_MNIST_DIR,
    load_diabetes_split,
    load_digits_split,
    load_fashion_mnist_split,
    load_friedman1_split,
    read_idx,
)
from theorylab.unlearning.scenarios import (
    DIGITS_SUPERCLASSES,
    check_forget_retain,
    class_forget,
    coherent_forget,
    identity_forget,
    noisy_label_forget,
    random_forget,
    subclass_forget,
    superclass_labels,
    target_range_forget,
)


def _partition(split, n):
    assert split.forget.dtype == np.int64 and split.retain.dtype == np.int64
    assert np.intersect1d(split.forget, split.retain).size == 0
    np.testing.assert_array_equal(np.union1d(split.forget, split.retain), np.arange(n))


@pytest.fixture(scope="module")
def digits():
    return load_digits_split(rng=0)


def test_digits_split_sizes_and_determinism(digits):
    assert digits.X_train.shape == (1257, 64) and digits.X_test.shape == (540, 64)
    assert digits.X_train.min() >= 0 and digits.X_train.max() <= 1
    again = load_digits_split(rng=0)
    np.testing.assert_array_equal(again.y_train, digits.y_train)
    assert not np.array_equal(load_digits_split(rng=1).y_train, digits.y_train)


def test_regression_loaders_are_seeded_and_standardised():
    d = load_diabetes_split(rng=0)
    assert d.task == "regression" and d.X_train.shape == (332, 10)
    assert abs(d.y_train.mean()) < 1e-5 and abs(d.y_train.std() - 1) < 1e-5
    f0, f0b, f1 = (load_friedman1_split(n_samples=200, test_size=50, rng=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(f0.X_train, f0b.X_train)
    assert not np.array_equal(f0.X_train, f1.X_train)
    assert f0.X_train.shape == (150, 10)


def test_random_forget_is_a_partition_of_the_requested_size(digits):
    s = random_forget(digits.n_train, fraction=0.1, rng=0)
    assert s.forget.size == 126
    _partition(s, digits.n_train)
    np.testing.assert_array_equal(s.forget, random_forget(1257, fraction=0.1, rng=0).forget)


def test_class_forget_train_and_test(digits):
    s = class_forget(digits.y_train, cls=3, y_test=digits.y_test)
    _partition(s, digits.n_train)
    assert np.all(digits.y_train[s.forget] == 3) and not np.any(digits.y_train[s.retain] == 3)
    assert np.all(digits.y_test[s.forget_test] == 3)
    assert s.forget_test.size + s.retain_test.size == 540


def test_subclass_forget_relabels_to_superclasses(digits):
    s = subclass_forget(digits.y_train, subclass=8, y_test=digits.y_test)
    _partition(s, digits.n_train)
    assert np.all(s.y_train[s.forget] == 0)  # 8 belongs to {0, 6, 8, 9}
    np.testing.assert_array_equal(superclass_labels([0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
                                                    DIGITS_SUPERCLASSES),
                                  [0, 1, 2, 2, 1, 2, 0, 1, 0, 0])
    assert set(np.unique(s.y_test)) == {0, 1, 2}


def test_noisy_label_forget_flips_exactly_the_forget_set(digits):
    s = noisy_label_forget(digits.y_train, n_classes=10, fraction=0.1, rng=3)
    _partition(s, digits.n_train)
    changed = np.flatnonzero(s.y_train != digits.y_train)
    np.testing.assert_array_equal(changed, s.forget)
    assert s.y_train.min() >= 0 and s.y_train.max() <= 9


def test_coherent_forget_is_one_cluster_inside_the_class(digits):
    s = coherent_forget(digits.X_train, digits.y_train, cls=3, n_clusters=4, rng=0)
    _partition(s, digits.n_train)
    assert np.all(digits.y_train[s.forget] == 3)
    assert 10 <= s.forget.size < np.sum(digits.y_train == 3)
    # coherent: the forget points are closer to their own mean than the class is to its mean
    Xc = digits.X_train[digits.y_train == 3]
    Xf = digits.X_train[s.forget]
    assert (np.linalg.norm(Xf - Xf.mean(0), axis=1).mean()
            < np.linalg.norm(Xc - Xc.mean(0), axis=1).mean())


def test_target_range_forget_default_is_lowest_30_percent():
    y = np.arange(10, dtype=float)
    s = target_range_forget(y)
    np.testing.assert_array_equal(s.forget, [0, 1, 2])  # quantile 0.3 of 0..9 is 2.7
    np.testing.assert_array_equal(target_range_forget(y, low=4, high=5.5).forget, [4, 5])
    _partition(s, 10)


def test_identity_forget():
    ids = np.array([0, 1, 2, 1, 0, 2, 2])
    s = identity_forget(ids, ids=[2])
    np.testing.assert_array_equal(s.forget, [2, 5, 6])
    np.testing.assert_array_equal(s.retain, [0, 1, 3, 4])


@pytest.mark.parametrize("forget, retain, match", [
    ([], [0, 1], "forget must be non-empty"),
    ([0], [], "retain must be non-empty"),
    ([0, 1], [1, 2], "forget and retain must be disjoint"),
    ([0, 5], [1], r"forget indices must be in \[0, 4\], got 5"),
    ([0], [-1, 1], r"retain indices must be in \[0, 4\], got -1"),
    ([0, 0], [1], "forget must not repeat"),
])
def test_check_forget_retain_errors(forget, retain, match):
    with pytest.raises(ValueError, match=match):
        check_forget_retain(np.array(forget, dtype=int), np.array(retain, dtype=int), 5)


def test_scenario_bad_inputs_name_the_parameter(digits):
    with pytest.raises(ValueError, match="cls must be a class present in y_train"):
        class_forget(digits.y_train, cls=11)
    with pytest.raises(ValueError, match="subclass must be a class present"):
        subclass_forget(digits.y_train, subclass=42)
    with pytest.raises(ValueError, match="fraction must be"):
        random_forget(100, fraction=1.0)
    with pytest.raises(ValueError, match="ids must be identities present"):
        identity_forget([0, 1, 1], ids=[7])
    with pytest.raises(ValueError, match=r"low must be <= high"):
        target_range_forget(np.arange(5.0), low=3, high=1)
    with pytest.raises(ValueError, match="groups must cover every label"):
        superclass_labels([0, 1, 2], [(0, 1)])
    with pytest.raises(ValueError, match="y_train labels must be in"):
        noisy_label_forget([0, 1, 5], n_classes=3, rng=0)
    with pytest.raises(TypeError, match="forget must hold integer indices"):
        check_forget_retain(np.array([0.5]), np.array([1]), 3)


def _write_idx(path, arr):
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + arr.astype(np.uint8).tobytes())


def test_read_idx_round_trip_and_fashion_loader_on_fake_files(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 12), ("t10k", 5)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    imgs = read_idx(tmp_path / "train-images-idx3-ubyte.gz")
    assert imgs.shape == (12, 28, 28) and imgs.dtype == np.uint8
    d = load_fashion_mnist_split(tmp_path, n_train=6, rng=0)
    assert d.X_train.shape == (6, 784) and d.X_test.shape == (5, 784)
    assert d.X_train.max() <= 1.0 and d.image_shape == (1, 28, 28)
    (tmp_path / "bad.gz").write_bytes(gzip.compress(b"\x01\x02\x08\x01abcd"))
    with pytest.raises(ValueError, match="IDX file"):
        read_idx(tmp_path / "bad.gz")


def test_both_fashion_loaders_read_the_folder_the_environment_names(tmp_path, monkeypatch):
    # a machine without the Debian package: the files copied anywhere, the variable set;
    # the unlearning harness and the torch claims must both find them there
    import torch

    from theorylab.nn.data import FashionMNISTMissing, load_fashion_mnist

    rng = np.random.default_rng(1)
    for prefix, n in (("train", 8), ("t10k", 4)):
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    monkeypatch.setenv("THEORYLAB_FASHION_MNIST", str(tmp_path))
    d = load_fashion_mnist_split()
    X, y = load_fashion_mnist(split="train")
    assert d.X_train.shape == (8, 784) and d.X_test.shape == (4, 784)
    assert torch.equal(X, torch.as_tensor(d.X_train)) and y.tolist() == d.y_train.tolist()
    monkeypatch.setenv("THEORYLAB_FASHION_MNIST", str(tmp_path / "nowhere"))
    for load in (load_fashion_mnist_split, load_fashion_mnist):
        with pytest.raises(FashionMNISTMissing, match="THEORYLAB_FASHION_MNIST"):
            load()


def test_both_fashion_loaders_refuse_a_root_that_is_not_a_path(monkeypatch, tmp_path):
    # an int or bytes root used to reach pathlib and fail there without naming `root`; an
    # empty string silently meant the environment's folder
    from theorylab.nn.data import load_fashion_mnist

    monkeypatch.setenv("THEORYLAB_FASHION_MNIST", str(tmp_path))
    for load in (load_fashion_mnist_split, load_fashion_mnist):
        for bad in (3, b"/tmp", ["/tmp"]):
            with pytest.raises(TypeError, match=r"root must be a folder path.*got"):
                load(bad)
        for bad in ("", "  "):
            with pytest.raises(ValueError, match="root must be a non-empty folder path"):
                load(bad)


def test_fashion_missing_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path).replace("\\", "\\\\")):
        load_fashion_mnist_split(tmp_path)


@pytest.mark.skipif(not (FASHION_MNIST_DIR / "t10k-labels-idx1-ubyte.gz").exists(),
                    reason="Fashion-MNIST package not installed")
def test_fashion_mnist_real_files():
    d = load_fashion_mnist_split(n_train=500, n_test=100, rng=0)
    assert d.X_train.shape == (500, 784) and d.n_classes == 10
    assert set(np.unique(d.y_test)) <= set(range(10))


def test_scenarios_do_not_import_torch():
    assert "theorylab.unlearning.scenarios" in sys.modules
    import subprocess

    code = ("import sys, theorylab.unlearning as u; u.class_forget([0, 1, 1], cls=1); "
            "u.load_digits_split; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
