"""The fast paths of the unlearnable-data code against their slow twins: the fused numba
CUDA convolution, the evaluation in small batches under inference mode, and several MLPs
trained as one stacked model."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearnable import cuda  # noqa: E402
from theorylab.unlearnable.batched import stacked_logits, train_mlps_stacked  # noqa: E402
from theorylab.unlearnable.training import _predict_logits, predict_labels  # noqa: E402
from theorylab.unlearning.models import (  # noqa: E402
    Recipe,
    build_model,
    predict_logits,
    train_model,
)


@pytest.mark.parametrize("quantize", [True, False])
@pytest.mark.parametrize("shape, size", [((40, 1, 28, 28), 3), ((9, 3, 7, 5), 5),
                                         ((5, 2, 1, 4), 3)])
def test_fused_convolution_is_bitwise_the_numpy_path(quantize, shape, size):
    rng = np.random.default_rng(3)
    X = np.floor(rng.random(shape) * 256) / 255
    X[1] = 0.0  # an all-black image stays black
    F = cuda.random_filters(shape[0], size=size, generator=4)
    ref = cuda._normalise(cuda._convolve(X, F), quantize)
    fast = cuda._convolve_normalise(X, F, quantize)
    assert fast.dtype == np.float64 and fast.shape == ref.shape
    np.testing.assert_array_equal(fast, ref)
    assert np.all(fast[1] == 0)


def test_public_functions_use_the_fused_path_with_the_same_output():
    rng = np.random.default_rng(5)
    X = rng.random((30, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 4, 30)
    F = cuda.cuda_filters(4, 11)
    got = cuda.apply_cuda(X, y, F, mix=0.6, generator=2)
    mask = np.random.default_rng(2).random(30) < 0.6
    want = X.astype(np.float64)
    want[mask] = cuda._normalise(cuda._convolve(want[mask], F[y[mask]]), True)
    np.testing.assert_array_equal(got.X, want.astype(np.float32))
    np.testing.assert_array_equal(got.poisoned, mask)
    conv = cuda.convolve_images(X, F[y])
    np.testing.assert_array_equal(
        conv, cuda._normalise(cuda._convolve(X.astype(np.float64), F[y]), True)
        .astype(np.float32))


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_eval_in_small_batches_equals_the_harness_prediction(arch):
    rec = Recipe(arch=arch, hidden=(16,), epochs=1)
    m = build_model(rec, 64, 10, generator=torch.Generator().manual_seed(0),
                    image_shape=(1, 8, 8))
    X = torch.rand(700, 64, generator=torch.Generator().manual_seed(1))
    m.train()
    fast = _predict_logits(m, X, batch_size=256)
    assert m.training  # mode restored
    assert not fast.requires_grad
    torch.testing.assert_close(fast, predict_logits(m, X), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(predict_labels(m, X.numpy()),
                                  predict_logits(m, X).argmax(1).numpy())


def _data(M=3, n=150, d=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    Xs = [torch.rand(n, d, generator=g) for _ in range(M)]
    return Xs, torch.randint(0, 4, (n,), generator=g), torch.rand(40, d, generator=g)


def test_stacked_mlps_equal_separate_training():
    """Each member is the model train_model gives with the same generators (init, order),
    on its own inputs; 150 rows in batches of 32 (a short last batch), 3 epochs."""
    Xs, y, Xt = _data()
    rec = Recipe(arch="mlp", hidden=(16, 8), epochs=3, lr=1e-2, batch_size=32)
    G = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
    models = train_mlps_stacked(rec, Xs, y, n_out=4, init_generators=[G(m) for m in range(3)],
                                order_generators=[G(50 + m) for m in range(3)])
    fast = stacked_logits(models, Xt)
    assert fast.shape == (3, 40, 4)
    for m in range(3):
        ref = build_model(rec, 12, 4, generator=G(m))
        train_model(ref, Xs[m], y, recipe=rec, generator=G(50 + m))
        for p, q in zip(models[m].parameters(), ref.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(fast[m], predict_logits(ref, Xt), rtol=1e-5, atol=1e-5)
    # the members are independent: another member's data does not change member 0
    alone = train_mlps_stacked(rec, Xs[:1], y, n_out=4, init_generators=[G(0)],
                               order_generators=[G(50)])
    torch.testing.assert_close(stacked_logits(alone, Xt)[0], fast[0], rtol=1e-5, atol=1e-5)


def test_stacked_mlps_bad_inputs():
    Xs, y, _ = _data(M=2)
    rec = Recipe(arch="mlp", hidden=(8,), epochs=1)
    G = [torch.Generator().manual_seed(s) for s in range(2)]
    with pytest.raises(ValueError, match="Xs must hold at least 1"):
        train_mlps_stacked(rec, [], y, n_out=4, init_generators=[], order_generators=[])
    with pytest.raises(ValueError, match="must have 2 entries"):
        train_mlps_stacked(rec, Xs, y, n_out=4, init_generators=G[:1], order_generators=G)
    with pytest.raises(ValueError, match=r"Xs\[1\] must have shape \(150, 12\)"):
        train_mlps_stacked(rec, [Xs[0], Xs[1][:10]], y, n_out=4, init_generators=G,
                           order_generators=G)
    with pytest.raises(ValueError, match=r"y must have shape \(150,\)"):
        train_mlps_stacked(rec, Xs, y[:5], n_out=4, init_generators=G, order_generators=G)
    with pytest.raises(ValueError, match="recipe must be an 'mlp'"):
        train_mlps_stacked(Recipe(arch="cnn"), Xs, y, n_out=4, init_generators=G,
                           order_generators=G)
    with pytest.raises(TypeError, match="recipe must be a Recipe"):
        train_mlps_stacked("mlp", Xs, y, n_out=4, init_generators=G, order_generators=G)
