"""The shared theorylab.nn base: LoRALinear, the training harness and the offline data."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.nn.data import (  # noqa: E402
    FashionMNISTMissing,
    char_batches,
    char_corpus,
    load_digits_tensors,
    load_fashion_mnist,
)
from theorylab.nn.lora import LoRALinear  # noqa: E402
from theorylab.nn.training import (  # noqa: E402
    count_parameters,
    make_generator,
    over_seeds,
    resolve_device,
    train_steps,
)


def _lora(in_f=10, out_f=6, rank=2, seed=0, dtype=torch.float64):
    return LoRALinear(torch.nn.Linear(in_f, out_f).to(dtype), rank,
                      generator=torch.Generator().manual_seed(seed))


def test_lora_zero_update_at_init():
    layer = _lora(dtype=torch.float32)
    x = torch.randn(4, 10)
    assert torch.equal(layer(x), layer.base(x))
    assert torch.count_nonzero(layer.delta_weight()) == 0


def test_lora_merged_equals_unmerged_and_frozen_base():
    layer = _lora()
    opt = torch.optim.Adam([p for p in layer.parameters() if p.requires_grad], lr=0.1)
    w0 = layer.base.weight.clone()
    for _ in range(5):
        opt.zero_grad()
        (layer(torch.randn(8, 10, dtype=torch.float64)) ** 2).sum().backward()
        opt.step()
    assert torch.equal(layer.base.weight, w0)
    assert torch.count_nonzero(layer.B) > 0
    x = torch.randn(3, 10, dtype=torch.float64)
    torch.testing.assert_close(layer(x), x @ layer.merged_weight().T + layer.base.bias,
                               rtol=1e-12, atol=1e-12)
    assert torch.linalg.matrix_rank(layer.delta_weight()).item() == 2


def test_lora_errors_name_the_parameter():
    with pytest.raises(ValueError, match="rank"):
        LoRALinear(torch.nn.Linear(4, 3), 4)
    with pytest.raises(ValueError, match="alpha"):
        LoRALinear(torch.nn.Linear(4, 3), 2, alpha=-1.0)
    with pytest.raises(TypeError, match="base"):
        LoRALinear(torch.nn.ReLU(), 1)


def test_count_parameters_trainable_and_shared():
    layer = _lora(10, 6, rank=2)
    assert count_parameters(layer) == 2 * (10 + 6)
    assert count_parameters(layer, trainable_only=False) == 2 * 16 + 10 * 6 + 6
    lin = torch.nn.Linear(3, 3)
    shared = torch.nn.Sequential(lin, lin)
    assert count_parameters(shared) == 12


def test_train_steps_fits_and_reports_evaluations():
    g = make_generator(0)
    X = torch.randn(64, 3, generator=g)
    y = X @ torch.tensor([1.0, -2.0, 0.5])
    model = torch.nn.Linear(3, 1)
    hist = train_steps(model, lambda m, _s: ((m(X).squeeze(1) - y) ** 2).mean(), steps=200,
                       lr=0.05, eval_fn=lambda m: float(((m(X).squeeze(1) - y) ** 2).mean()),
                       eval_every=50)
    assert hist.final_loss < 1e-3 and hist.losses[0] > hist.final_loss
    assert hist.eval_steps == [50, 100, 150, 200]
    with pytest.raises(FloatingPointError, match="step 0"):
        train_steps(model, lambda m, _s: torch.tensor(float("nan"), requires_grad=True),
                    steps=3, lr=0.1)
    with pytest.raises(ValueError, match="optimizer"):
        train_steps(model, lambda m, _s: m(X).sum(), steps=1, lr=0.1, optimizer="lbfgs")
    with pytest.raises(ValueError, match="lr"):
        train_steps(model, lambda m, _s: m(X).sum(), steps=1, lr=0.0)


def test_over_seeds_and_devices():
    vals, mean, sem = over_seeds(lambda s: float(s), [1, 2, 3])
    assert vals.tolist() == [1.0, 2.0, 3.0] and mean == 2.0
    assert sem == pytest.approx(np.std([1, 2, 3], ddof=1) / np.sqrt(3))
    assert resolve_device(None).type == "cpu"
    with pytest.raises(ValueError, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device"):
            resolve_device("cuda")
    a = torch.rand(3, generator=make_generator(5))
    assert torch.equal(a, torch.rand(3, generator=make_generator(5)))


def test_fashion_mnist_missing_folder_has_clear_error(tmp_path):
    with pytest.raises(FashionMNISTMissing, match="dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        load_fashion_mnist(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="split"):
        load_fashion_mnist(tmp_path, split="validation")


def test_fashion_mnist_loads_when_installed():
    try:
        X, y = load_fashion_mnist(split="test", limit=100)
    except FashionMNISTMissing:
        pytest.skip("Fashion-MNIST is not installed here")
    assert X.shape == (100, 784) and y.shape == (100,)
    assert 0.0 <= float(X.min()) and float(X.max()) <= 1.0 and int(y.max()) <= 9


def test_char_corpus_reaches_paper_scale_sizes_with_the_same_start():
    # the paper-scale char LMs ask for 2 million characters, more than the default modules
    # hold (about 0.85 million): further stdlib modules follow, and the start is unchanged
    small, v_small = char_corpus(50_000)
    big, vocab = char_corpus(2_000_000)
    assert len(big) == 2_000_000 and big.max() < len(vocab)
    assert "".join(vocab[i] for i in big[:50_000]) == "".join(v_small[i] for i in small)


def test_char_corpus_is_deterministic_and_batches_are_shifted():
    a, vocab = char_corpus(5000)
    b, vocab2 = char_corpus(5000)
    assert np.array_equal(a, b) and vocab == vocab2 and len(a) == 5000
    assert vocab == sorted(set(vocab)) and a.max() < len(vocab)
    x, y = char_batches(a, batch_size=4, block=8, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 8)
    assert torch.equal(x[:, 1:], y[:, :-1])
    x2, _ = char_batches(a, batch_size=4, block=8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)
    with pytest.raises(ValueError, match="n_chars"):
        char_corpus(10)
    with pytest.raises(ValueError, match="block"):
        char_batches(a, batch_size=2, block=len(a))


def test_digits_split():
    Xtr, ytr, Xte, yte = load_digits_tensors(rng=0)
    assert Xtr.shape[1] == 64 and len(Xtr) + len(Xte) == 1797
    assert float(Xtr.max()) <= 1.0
    Xtr2, *_ = load_digits_tensors(rng=0)
    assert torch.equal(Xtr, Xtr2)
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits_tensors(test_fraction=1.5)
