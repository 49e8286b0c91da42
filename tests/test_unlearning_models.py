"""Unlearning harness: model recipes, explicit generators, and the vmap oracle ensemble."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning.data import load_digits_split  # noqa: E402
from theorylab.unlearning.models import (  # noqa: E402
    Recipe,
    Seeds,
    as_tensors,
    build_model,
    loss_fn,
    predict_logits,
    resolve_device,
    train_model,
)
from theorylab.unlearning.oracle import (  # noqa: E402
    Ensemble,
    _train_vmap,
    ensemble_seeds,
    retrain_oracles,
    train_ensemble,
)


@pytest.fixture(scope="module")
def digits():
    d = load_digits_split(rng=0)
    X, y = as_tensors(d.X_train[:300], d.y_train[:300], dtype=torch.float64)
    return d, X, y


def _gens(seeds, which):
    return [s.generator(which) for s in seeds]


def test_init_depends_only_on_the_init_generator():
    r = Recipe(hidden=(8,))
    a = build_model(r, 5, 3, generator=torch.Generator().manual_seed(0))
    b = build_model(r, 5, 3, generator=torch.Generator().manual_seed(0))
    c = build_model(r, 5, 3, generator=torch.Generator().manual_seed(1))
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters(), strict=True):
        assert torch.equal(pa, pb) and not torch.equal(pa, pc)
    w0, w1 = a.net[0].weight, a.net[2].weight
    assert w0.abs().max() <= 1 / np.sqrt(5) and w1.abs().max() <= 1 / np.sqrt(8)
    assert w0.abs().max() > 0.8 / np.sqrt(5)  # uses the whole U(-1/sqrt(fan_in), .) range


def test_seeds_give_three_independent_generators():
    s = Seeds(init=1, order=2, forget=3)
    draws = [torch.rand(3, generator=s.generator(w)) for w in ("init", "order", "forget")]
    assert not torch.equal(draws[0], draws[1]) and not torch.equal(draws[1], draws[2])
    assert torch.equal(draws[0], torch.rand(3, generator=torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match="which must be one of"):
        s.generator("data")


def test_training_learns_digits_mlp_and_cnn(digits):
    d, X, y = digits
    Xt, yt = as_tensors(d.X_test, d.y_test, dtype=torch.float64)
    for arch in ("mlp", "cnn"):
        r = Recipe(arch=arch, hidden=(32,), epochs=8, lr=1e-2)
        m = build_model(r, 64, 10, generator=torch.Generator().manual_seed(0),
                        image_shape=(1, 8, 8), dtype=torch.float64)
        before = (predict_logits(m, Xt).argmax(1) == yt).double().mean().item()
        train_model(m, X, y, recipe=r, generator=torch.Generator().manual_seed(1))
        after = (predict_logits(m, Xt).argmax(1) == yt).double().mean().item()
        assert before < 0.3 and after > 0.7, (arch, before, after)


def test_regression_recipe_reduces_mse():
    rng = np.random.default_rng(0)
    Xn = rng.normal(size=(200, 3))
    X, y = as_tensors(Xn, Xn @ [1.0, -2.0, 0.5], task="regression", dtype=torch.float64)
    r = Recipe(hidden=(16,), epochs=20, task="regression", lr=1e-2)
    m = build_model(r, 3, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    mse0 = loss_fn(m(X), y, "regression").item()
    train_model(m, X, y, recipe=r, generator=torch.Generator().manual_seed(0))
    assert loss_fn(m(X), y, "regression").item() < 0.05 * mse0


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_vmap_ensemble_equals_python_loop(digits, arch):
    _, X, y = digits
    r = Recipe(arch=arch, hidden=(16,), epochs=1 if arch == "cnn" else 2, batch_size=50)
    seeds = ensemble_seeds(3)
    kw = dict(n_out=10, init_generators=_gens(seeds, "init"),
              order_generators=_gens(seeds, "order"), image_shape=(1, 8, 8))
    ens = train_ensemble(r, X, y, **kw)
    loop = train_ensemble(r, X, y, **{**kw, "init_generators": _gens(seeds, "init"),
                                      "order_generators": _gens(seeds, "order")},
                          vectorize=False)
    for name in ens.params:
        torch.testing.assert_close(ens.params[name], loop.params[name], rtol=1e-6, atol=1e-6)
    # members differ from each other, and an ensemble member is an ordinary module
    assert not torch.allclose(ens.params["net.0.weight" if arch == "mlp" else "head.1.weight"][0],
                              ens.params["net.0.weight" if arch == "mlp" else "head.1.weight"][1])
    torch.testing.assert_close(ens.logits(X)[2], predict_logits(ens.member(2), X))


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_mlp_batched_products_equal_the_generic_vmap_path(digits, task):
    # MLP ensembles skip vmap; the generic vmap(functional_call) path is the reference,
    # with two hidden layers, weight decay, and a last batch smaller than the others
    _, X, y = digits
    yy = y if task == "classification" else y.double() / 9.0
    n_out = 10 if task == "classification" else 1
    r = Recipe(hidden=(16, 8), epochs=2, batch_size=70, weight_decay=1e-3, task=task)
    seeds = ensemble_seeds(3)
    fast = train_ensemble(r, X, yy, n_out=n_out, init_generators=_gens(seeds, "init"),
                          order_generators=_gens(seeds, "order"))
    models = [build_model(r, 64, n_out, generator=g, dtype=torch.float64)
              for g in _gens(seeds, "init")]
    ref = _train_vmap(r, X, yy, Ensemble.from_models(models), _gens(seeds, "order"))
    assert set(fast.params) == set(ref.params)
    for name in ref.params:
        assert fast.params[name].shape == ref.params[name].shape
        torch.testing.assert_close(fast.params[name], ref.params[name], rtol=1e-9, atol=1e-10)
    with torch.no_grad():  # and training moved the weights away from the init
        assert not torch.allclose(fast.params["net.0.weight"][0], models[0].net[0].weight)


def test_ensemble_member_equals_single_train_model(digits):
    _, X, y = digits
    r = Recipe(hidden=(16,), epochs=2)
    s = Seeds(init=7, order=8, forget=0)
    ens = retrain_oracles(r, X, y, np.arange(100, 300), n_out=10, seeds=[s])
    single = build_model(r, 64, 10, generator=s.generator("init"), dtype=torch.float64)
    train_model(single, X[100:], y[100:], recipe=r, generator=s.generator("order"))
    torch.testing.assert_close(ens.logits(X)[0], predict_logits(single, X), rtol=1e-6,
                               atol=1e-6)
    assert isinstance(Ensemble.from_models([single, single]).member(1), torch.nn.Module)


def test_retrain_from_pretrained_starts_at_the_given_weights(digits):
    _, X, y = digits
    r = Recipe(hidden=(16,), epochs=0)
    base = build_model(r, 64, 10, generator=torch.Generator().manual_seed(3),
                       dtype=torch.float64)
    ens = retrain_oracles(r, X, y, np.arange(50), n_out=10, seeds=ensemble_seeds(2),
                          from_pretrained=base)
    for name, p in base.named_parameters():  # zero epochs: both members equal the start
        assert torch.equal(ens.params[name][0], p) and torch.equal(ens.params[name][1], p)
    r1 = Recipe(hidden=(16,), epochs=1)
    ens1 = retrain_oracles(r1, X, y, np.arange(200), n_out=10, seeds=ensemble_seeds(2),
                           from_pretrained=base)
    w = ens1.params["net.0.weight"]
    assert not torch.equal(w[0], w[1])  # different data orders
    assert (w[0] - base.net[0].weight).abs().max() < 0.05  # stays near the pretrained start


def test_model_bad_inputs():
    with pytest.raises(ValueError, match="arch must be one of"):
        Recipe(arch="resnet")
    with pytest.raises(ValueError, match="lr must be > 0"):
        Recipe(lr=0.0)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        build_model(Recipe(), 4, 2, generator=0)
    with pytest.raises(ValueError, match="image_shape must be given"):
        build_model(Recipe(arch="cnn"), 64, 10, generator=torch.Generator())
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("tpu")
    with pytest.raises(ValueError, match="order_generators must have 2"):
        train_ensemble(Recipe(), torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), n_out=2,
                       init_generators=[torch.Generator()] * 2,
                       order_generators=[torch.Generator()])


@pytest.mark.gpu
def test_cuda_ensemble_matches_cpu(digits):
    _, X, y = digits
    r = Recipe(hidden=(16,), epochs=1)
    seeds = ensemble_seeds(2)
    kw = dict(n_out=10, init_generators=_gens(seeds, "init"),
              order_generators=_gens(seeds, "order"))
    cpu = train_ensemble(r, X, y, **kw)
    kw.update(init_generators=_gens(seeds, "init"), order_generators=_gens(seeds, "order"))
    gpu = train_ensemble(r, X.cuda(), y.cuda(), **kw)
    for name in cpu.params:
        torch.testing.assert_close(gpu.params[name].cpu(), cpu.params[name], rtol=1e-6,
                                   atol=1e-6)


def test_train_model_refuses_bad_data_by_name_and_flags_divergence():
    # before: NaN inputs trained a NaN model silently; a label past the model's outputs or a
    # negative one failed inside cross_entropy without naming y
    r = Recipe(hidden=(8,), epochs=1)
    X, y = torch.rand(10, 4), torch.arange(10) % 3
    fresh = lambda: build_model(r, 4, 3, generator=torch.Generator().manual_seed(0))  # noqa: E731
    gen = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    Xn = X.clone()
    Xn[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"X must be finite, got 1 NaN/inf"):
        train_model(fresh(), Xn, y, recipe=r, generator=gen())
    with pytest.raises(ValueError, match=r"y must hold labels in \[0, 3\).*got a label 5"):
        train_model(fresh(), X, y + 3, recipe=r, generator=gen())
    with pytest.raises(ValueError, match=r"y must hold labels >= 0, got a label -1"):
        train_model(fresh(), X, y - 1, recipe=r, generator=gen())
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        train_model(fresh(), X, y.float(), recipe=r, generator=gen())
    big = Recipe(hidden=(8,), epochs=3, lr=1e30)  # Adam steps of 1e30: weights overflow
    with pytest.raises(FloatingPointError, match=r"training diverged.*lr=1e\+30"):
        train_model(build_model(big, 4, 3, generator=torch.Generator().manual_seed(0)),
                    X * 1e30, y, recipe=big, generator=gen())
    # valid data trains as before
    m = train_model(fresh(), X, y, recipe=r, generator=gen())
    assert all(bool(torch.isfinite(p).all()) for p in m.parameters())
