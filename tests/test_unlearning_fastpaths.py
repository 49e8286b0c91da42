"""Fast paths of theorylab.unlearning.fastpaths against their slow twins (the harness code)."""

import copy

import pytest

torch = pytest.importorskip("torch")

from torch.nn import functional as F  # noqa: E402

from theorylab.unlearning import fastpaths as fp  # noqa: E402
from theorylab.unlearning import gan as g  # noqa: E402
from theorylab.unlearning.models import Recipe, TinyCNN, build_model, train_model  # noqa: E402


def _same(ma, mb):
    pa, pb = list(ma.parameters()), list(mb.parameters())
    return len(pa) == len(pb) and all(torch.equal(a, b) for a, b in zip(pa, pb, strict=True))


@pytest.mark.parametrize("shape", [(4, 3, 8, 8), (2, 2, 7, 9), (1, 1, 2, 2)])
def test_max_pool2x2_equals_max_pool2d_values_and_gradient_with_ties(shape):
    gen = torch.Generator().manual_seed(0)
    x0 = torch.relu(torch.randn(shape, generator=gen))
    x0[..., : shape[-2] // 2, :] = 0.25  # windows of equal positive values: first index wins
    x0[0, 0, -2:, -2:] = torch.tensor([[0.5, 0.5], [0.5, 0.4]])[: x0.shape[-2], : x0.shape[-1]]
    gout = torch.randn(shape[0], shape[1], shape[2] // 2, shape[3] // 2, generator=gen)
    xa, xb = x0.clone().requires_grad_(True), x0.clone().requires_grad_(True)
    ya, yb = F.max_pool2d(xa, 2), fp.max_pool2x2(xb)
    ya.backward(gout)
    yb.backward(gout)
    assert torch.equal(ya, yb)
    assert torch.equal(xa.grad, xb.grad)


def test_max_pool2x2_rejects_non_4d():
    with pytest.raises(ValueError, match="x must be a 4-D tensor"):
        fp.max_pool2x2(torch.zeros(2, 3, 4))


def test_fast_cnn_trains_bit_identically_to_tiny_cnn():
    rec = Recipe(arch="cnn", epochs=2, lr=1e-3, batch_size=32)
    gen = torch.Generator().manual_seed(1)
    X = torch.rand(96, 64, generator=gen)
    X[:, :24] = 0.0  # blank rows: windows of equal conv outputs, as on image backgrounds
    y = torch.randint(0, 4, (96,), generator=gen)
    kw = dict(generator=torch.Generator().manual_seed(5), image_shape=(1, 8, 8))
    slow = build_model(rec, 64, 4, **kw)
    kw["generator"] = torch.Generator().manual_seed(5)
    fast = fp.build_fast_model(rec, 64, 4, **kw)
    assert type(slow) is TinyCNN and isinstance(fast, fp.FastTinyCNN) and _same(slow, fast)
    train_model(slow, X, y, recipe=rec, generator=torch.Generator().manual_seed(2))
    train_model(fast, X, y, recipe=rec, generator=torch.Generator().manual_seed(2))
    assert _same(slow, fast)
    with torch.no_grad():
        assert torch.equal(slow(X), fast(X))


def test_build_fast_model_leaves_mlp_alone():
    rec = Recipe(arch="mlp", hidden=(8,), epochs=1)
    m = fp.build_fast_model(rec, 5, 3, generator=torch.Generator().manual_seed(0))
    assert type(m).__name__ == "MLP"


def _gan_pair(seed=3):
    cfg = g.GANConfig(z_dim=4, hidden=16, steps=30, batch_size=16)
    slow = g.build_gan(12, cfg, generator=torch.Generator().manual_seed(seed))
    fast = fp.build_gan(12, cfg, generator=torch.Generator().manual_seed(seed))
    assert isinstance(fast[0], fp.FastMLPGenerator) and _same(slow[0], fast[0])
    assert isinstance(fast[1], fp.FastMLPDiscriminator) and _same(slow[1], fast[1])
    return cfg, slow, fast


def test_train_gan_bit_identical_with_penalty_and_callback():
    cfg, (Gs, Ds), (Gf, Df) = _gan_pair()
    X = torch.rand(40, 12, generator=torch.Generator().manual_seed(0))
    theta0 = {k: v.detach().clone() for k, v in Gs.named_parameters()}
    pen = lambda G: 0.1 * sum(((p - theta0[k]) ** 2).sum()  # noqa: E731
                              for k, p in G.named_parameters())
    seen = {"slow": [], "fast": []}
    for key, train, G, D in (("slow", g.train_gan, Gs, Ds), ("fast", fp.train_gan, Gf, Df)):
        train(G, D, X, steps=cfg.steps, lr=cfg.lr, beta1=cfg.beta1, batch_size=cfg.batch_size,
              generator=torch.Generator().manual_seed(4), penalty=pen,
              callback=lambda t, M, key=key: seen[key].append(
                  float(M.net[0].weight.detach().sum())))
    assert _same(Gs, Gf) and _same(Ds, Df)
    assert seen["slow"] == seen["fast"] and len(seen["fast"]) == cfg.steps
    z = torch.randn(5, 4, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        assert torch.equal(Gs(z), Gf(z)) and torch.equal(Ds(X), Df(X))


def test_adapt_and_unlearn_bit_identical():
    cfg, (Gs, Ds), (Gf, Df) = _gan_pair(7)
    neg = torch.rand(10, 12, generator=torch.Generator().manual_seed(1))
    pos = torch.rand(30, 12, generator=torch.Generator().manual_seed(2))
    acfg = g.AdaptConfig(steps=15, lam_ewc=100.0, n_fisher=20)
    Ns, _ = g.adapt_negative(Gs, Ds, neg, config=acfg, generator=torch.Generator().manual_seed(3))
    Nf, _ = fp.adapt_negative(Gf, Df, neg, config=acfg,
                              generator=torch.Generator().manual_seed(3))
    assert _same(Ns, Nf)
    assert _same(Gs, Gf)  # the inputs are not modified
    for kind, gam in (("nl2", 10.0), ("el2", 1.0), ("none", 0.0)):
        ucfg = g.UnlearnConfig(steps=12, gamma=gam, repulsion=kind)
        adapted_s, adapted_f = ([Ns], [Nf]) if kind != "none" else ([], [])
        Us = g.adapt_then_unlearn(Gs, Ds, pos, adapted_s, config=ucfg,
                                  generator=torch.Generator().manual_seed(5))
        Uf = fp.adapt_then_unlearn(Gf, Df, pos, adapted_f, config=ucfg,
                                   generator=torch.Generator().manual_seed(5))
        assert _same(Us, Uf), kind


def test_fast_gan_rejects_bad_generator():
    cfg, _, (Gf, Df) = _gan_pair()
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        fp.train_gan(Gf, Df, torch.rand(4, 12), steps=1, lr=1e-3, beta1=0.5, batch_size=2,
                     generator=0)
    with pytest.raises(ValueError, match="steps must be"):
        fp.train_gan(Gf, Df, torch.rand(4, 12), steps=-1, lr=1e-3, beta1=0.5, batch_size=2,
                     generator=torch.Generator())
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        fp.adapt_then_unlearn(Gf, Df, torch.rand(4, 12), [], generator=None)


def test_fast_cnn_deepcopy_keeps_fast_forward():
    rec = Recipe(arch="cnn")
    m = fp.build_fast_model(rec, 64, 3, generator=torch.Generator().manual_seed(0),
                            image_shape=(1, 8, 8))
    assert type(copy.deepcopy(m)) is fp.FastTinyCNN
