"""The CUDA claim's shortcut probes and protected training sets, built once per process and
shared by the arms of a trial seed: the same arrays as building them in each arm, and later
arms reuse them."""

import numpy as np
import pytest

pytest.importorskip("torch")

from theorylab.claims import load_claim  # noqa: E402
from theorylab.unlearnable import apply_cuda, convolve_images, cuda_filters  # noqa: E402


def test_probes_equal_the_per_arm_construction_and_are_shared_by_arms():
    v = load_claim("sadasivan2023_cuda_erm")
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


@pytest.mark.parametrize("mix, same", [(1.0, False), (0.5, False), (1.0, True)])
def test_protected_set_equals_the_per_arm_construction(mix, same):
    v = load_claim("sadasivan2023_cuda_erm")
    key, blur, seed = 4321, 0.3, 2
    d = v._load("digits", None)
    ref = apply_cuda(d.X_train, d.y_train, cuda_filters(d.n_classes, key, blur=blur, same=same),
                     mix=mix, generator=np.random.default_rng([seed, 1]),
                     image_shape=d.image_shape)
    got = v._protected("digits", None, key, blur, mix, seed, same)
    np.testing.assert_array_equal(got.X, ref.X)
    np.testing.assert_array_equal(got.poisoned, ref.poisoned)
    assert v._protected("digits", None, key, blur, mix, seed, same) is got  # cached


def test_arms_of_one_mix_share_one_protected_set():
    v = load_claim("sadasivan2023_cuda_erm")
    v._protected.cache_clear()
    cfg = v.SIZES["smoke"]
    kw = dict(dataset="digits", n_train=None, arch="mlp", hidden=cfg["hidden"], epochs=1,
              lr=cfg["lr"], batch_size=cfg["batch_size"], mix=0.5, blur=0.3, key_base=10,
              at_eps=cfg["at_eps"], at_eps_l2=cfg["at_eps_l2"], at_steps=1, device="cpu",
              seed=1)
    a = v._trial(arm="cuda", **kw)
    b = v._trial(arm="clean_only", **kw)
    info = v._protected.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    # clean_only trains on the images the shared draw left unprotected
    prot = v._protected("digits", None, 11, 0.3, 0.5, 1, False)
    assert b["n_used"] == int((~prot.poisoned).sum()) < a["n_used"]
