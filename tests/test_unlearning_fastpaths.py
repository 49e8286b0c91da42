"""Fast paths of theorylab.unlearning.fastpaths against their slow twins (the harness code)."""

import copy

import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning import fastpaths as fp  # noqa: E402
from theorylab.unlearning import gan as g  # noqa: E402


def _same(ma, mb):
    pa, pb = list(ma.parameters()), list(mb.parameters())
    return len(pa) == len(pb) and all(torch.equal(a, b) for a, b in zip(pa, pb, strict=True))


def test_flat_adam_equals_torch_adam_bit_for_bit():
    gen = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(7, 33), torch.nn.Tanh(), torch.nn.Linear(33, 3))
    ref = copy.deepcopy(net)
    opt_ref = torch.optim.Adam(ref.parameters(), lr=3e-3, betas=(0.5, 0.999))
    opt = fp.FlatAdam(net.parameters(), lr=3e-3, betas=(0.5, 0.999))
    for _ in range(25):
        x = torch.randn(16, 7, generator=gen)
        for model, o in ((ref, opt_ref), (net, opt)):
            o.zero_grad(set_to_none=True)
            (model(x) ** 2).mean().backward()
            o.step()
    assert _same(ref, net)
    assert not _same(net, torch.nn.Sequential(torch.nn.Linear(7, 33), torch.nn.Tanh(),
                                              torch.nn.Linear(33, 3)))


def test_flat_adam_rejects_missing_gradient_and_empty_params():
    net = torch.nn.Linear(3, 2)
    opt = fp.FlatAdam(net.parameters(), lr=1e-3)
    net.weight.sum().backward()  # no gradient for the bias
    with pytest.raises(RuntimeError, match="needs a gradient for every parameter"):
        opt.step()
    with pytest.raises(ValueError, match="params must hold at least one tensor"):
        fp.FlatAdam([], lr=1e-3)


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
