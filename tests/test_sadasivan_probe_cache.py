"""The CUDA claim's shortcut probes, built once per process and shared by every arm of a
trial seed: the same arrays as building them in each arm, and a second arm reuses them."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from theorylab.unlearnable import convolve_images, cuda_filters  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _script():
    name = "sadasivan2023_cuda_erm"
    spec = importlib.util.spec_from_file_location(name, ROOT / "verify" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_probes_equal_the_per_arm_construction_and_are_shared_by_arms():
    v = _script()
    key, blur, seed = 1234, 0.3, 3
    own, j, other = v._probes("digits", None, key, blur, seed)
    d = v._load("digits", None)
    F = cuda_filters(d.n_classes, key, blur=blur)
    j_ref = np.random.default_rng([seed, 2]).integers(0, d.n_classes, d.y_test.size)
    np.testing.assert_array_equal(j, j_ref)
    np.testing.assert_array_equal(own, convolve_images(d.X_test, F[d.y_test],
                                                       image_shape=d.image_shape))
    np.testing.assert_array_equal(other, convolve_images(d.X_test, F[j_ref],
                                                         image_shape=d.image_shape))
    # another seed or key gives other probes
    assert not np.array_equal(v._probes("digits", None, key, blur, seed + 1)[1], j)
    assert not np.array_equal(v._probes("digits", None, key + 1, blur, seed)[0], own)

    v._probes.cache_clear()
    cfg = v.SIZES["smoke"]
    kw = dict(dataset="digits", n_train=None, arch="mlp", hidden=cfg["hidden"], epochs=1,
              lr=cfg["lr"], batch_size=cfg["batch_size"], mix=1.0, blur=blur,
              key_base=key - seed, at_eps=cfg["at_eps"], at_steps=1, device="cpu", seed=seed)
    a = v._trial(arm="cuda", **kw)
    b = v._trial(arm="same", **kw)
    info = v._probes.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    for out in (a, b):  # the probes read by both arms are the arrays checked above
        assert 0.0 <= out["filter_rate"] <= 1.0 and 0.0 <= out["own_filter_acc"] <= 1.0
