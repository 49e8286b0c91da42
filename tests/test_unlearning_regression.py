"""Blindspot unlearning, Gaussian fine-tuning and the L1 regression baselines."""

import copy
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning.methods import (  # noqa: E402
    Subset,
    UndeclaredInputError,
    apply_method,
    get_method,
)
from theorylab.unlearning.models import (  # noqa: E402
    MLP,
    Recipe,
    as_tensors,
    build_model,
    train_model,
)
from theorylab.unlearning.regression import (  # noqa: E402
    BlindspotConfig,
    GaussianFTConfig,
    RegressionFTConfig,
    RegressionGAConfig,
    attention_diff,
    attention_map,
    blindspot_loss,
    forward_with_activations,
    train_proxy,
)
from theorylab.unlearning.scenarios import target_range_forget  # noqa: E402

G = lambda s: torch.Generator().manual_seed(s)


@pytest.fixture(scope="module")
def friedman():
    from theorylab.unlearning.data import load_friedman1_split

    d = load_friedman1_split(n_samples=800, test_size=200, rng=0)
    sp = target_range_forget(d.y_train, quantile=0.3)
    X, y = as_tensors(d.X_train, d.y_train, task="regression")
    r = Recipe(hidden=(32, 32), epochs=40, lr=3e-3, task="regression")
    m = train_model(build_model(r, 10, 1, generator=G(0)), X, y, recipe=r, generator=G(1))
    ix = lambda a: torch.as_tensor(a)
    return (m.eval(), Subset(X[ix(sp.forget)], y[ix(sp.forget)]),
            Subset(X[ix(sp.retain)], y[ix(sp.retain)]))


def _mae(m, s):
    with torch.no_grad():
        return float((m(s.X)[:, 0] - s.y).abs().mean())


def test_attention_map_by_hand():
    h = torch.tensor([[1.0, -2.0], [0.0, 3.0]])
    np.testing.assert_allclose(attention_map(h).numpy(),
                               [[1 / math.sqrt(17), 4 / math.sqrt(17)], [0.0, 1.0]], rtol=1e-6)
    # (B, C, H, W): mean over channels of A², then flattened and normalised
    A = torch.zeros(1, 2, 1, 2)
    A[0, 0, 0] = torch.tensor([1.0, 0.0])
    A[0, 1, 0] = torch.tensor([1.0, 2.0])  # channel mean of squares: [1, 2]
    np.testing.assert_allclose(attention_map(A).numpy(), [[1 / math.sqrt(5), 2 / math.sqrt(5)]],
                               rtol=1e-6)
    # a(A) is scale-free, so the attention term ignores a global rescaling
    assert float(attention_diff(h, 5 * h)) == pytest.approx(0.0, abs=1e-12)


def test_forward_with_activations_returns_the_relu_outputs():
    m = MLP(3, 1, (4, 5)).double()
    x = torch.randn(6, 3, generator=G(0), dtype=torch.float64)
    out, acts = forward_with_activations(m, x)
    lin = [mod for mod in m.net if isinstance(mod, torch.nn.Linear)]
    h1 = torch.relu(lin[0](x))
    h2 = torch.relu(lin[1](h1))
    assert len(acts) == 2
    torch.testing.assert_close(acts[0], h1)
    torch.testing.assert_close(acts[1], h2)
    torch.testing.assert_close(out, lin[2](h2))
    # hooks are removed afterwards
    assert all(not mod._forward_hooks for mod in m.modules())


def test_blindspot_loss_by_hand():
    out = torch.tensor([[1.0], [2.0], [0.5], [-1.0]])
    y = torch.tensor([0.0, 2.5, 9.0, 9.0])
    proxy_out = torch.tensor([[9.0], [9.0], [1.5], [1.0]])
    u = torch.tensor([False, False, True, True])
    a = [torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])]
    b = [torch.tensor([[5.0, 5.0], [5.0, 5.0], [1.0, 0.0], [0.0, 3.0]])]
    c = 0.5
    retain_l1 = (1.0 + 0.5) / 2
    forget_l1 = (1.0 + 2.0) / 2
    # forget rows: a = [1/√2, 1/√2] vs [1, 0]; [1, 0] vs [0, 1]
    r = 1 / math.sqrt(2)
    at = ((r - 1) ** 2 + r ** 2 + 1 + 1) / 4
    expect0 = (1 - c) * retain_l1 + c * forget_l1
    got0 = blindspot_loss(out, a, y, proxy_out, b, u, beta=0.0)
    assert float(got0) == pytest.approx(expect0, rel=1e-6)
    got = blindspot_loss(out, a, y, proxy_out, b, u, beta=50.0)
    assert float(got) == pytest.approx(expect0 + c * 50.0 * at, rel=1e-6)
    # an all-retain batch is plain L1 on the labels; an all-forget batch ignores the labels
    none = torch.zeros(4, dtype=torch.bool)
    assert float(blindspot_loss(out, a, y, proxy_out, b, none, beta=50.0)) == pytest.approx(
        float((out[:, 0] - y).abs().mean()))
    allf = torch.ones(4, dtype=torch.bool)
    assert float(blindspot_loss(out, a, y + 100, proxy_out, b, allf, beta=0.0)) == pytest.approx(
        float((out - proxy_out).abs().mean()))


def test_blindspot_one_full_batch_step_matches_adam_on_the_loss():
    # one epoch, one batch: the update is one Adam step on blindspot_loss with the proxy
    # trained from the same generator state; Adam's first step is −lr·g/(|g| + eps)
    torch.manual_seed(0)
    m = MLP(3, 1, (4,)).double()
    gen = G(3)
    Xf = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    Xr = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    forget, retain = Subset(Xf, Xf[:, 0]), Subset(Xr, Xr.sum(1))
    cfg = BlindspotConfig(proxy_epochs=1, epochs=1, batch_size=64, lr=1e-2, beta=50.0)
    out, _ = apply_method("blindspot", m, forget, retain, config=cfg, generator=G(11))
    g = G(11)
    proxy = train_proxy(m, retain, config=cfg, generator=g)
    order = torch.randperm(12, generator=g)  # the method's single batch order
    X = torch.cat([Xf, Xr])[order]
    y = torch.cat([forget.y, retain.y])[order]
    u = (order < 5)
    work = copy.deepcopy(m)
    o, acts = forward_with_activations(work, X)
    po, pacts = forward_with_activations(proxy, X)
    blindspot_loss(o, acts, y, po, pacts, u, beta=50.0).backward()
    for p0, p1, pw in zip(m.parameters(), out.parameters(), work.parameters(), strict=True):
        step = -1e-2 * pw.grad / (pw.grad.abs() + 1e-8)
        torch.testing.assert_close(p1 - p0, step, rtol=1e-6, atol=1e-12)


def test_blindspot_forgets_the_range_and_finetuning_does_not(friedman):
    m, forget, retain = friedman
    out, _ = apply_method("blindspot", m, forget, retain, config=BlindspotConfig(),
                          generator=G(5))
    ft, _ = apply_method("reg_ft", m, forget, retain, config=RegressionFTConfig(),
                         generator=G(5))
    mae_f0, mae_r0 = _mae(m, forget), _mae(m, retain)
    assert _mae(out, forget) > 2.0 * mae_f0
    assert _mae(out, retain) < 1.6 * mae_r0
    assert _mae(ft, forget) < _mae(out, forget) - 0.1


def test_gaussian_ft_reads_only_the_target_statistics_of_the_forget_labels(friedman):
    m, forget, retain = friedman
    perm = torch.randperm(len(forget), generator=G(0))
    shuffled = Subset(forget.X, forget.y[perm])  # same multiset of targets
    cfg = GaussianFTConfig(epochs=2, redraw=True)
    a, _ = apply_method("gaussian_ft", m, forget, retain, config=cfg, generator=G(2))
    b, _ = apply_method("gaussian_ft", m, shuffled, retain, config=cfg, generator=G(2))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)
    assert _mae(a, forget) > _mae(m, forget) + 0.1


def test_finetune_never_reads_the_forget_set_and_ascent_never_reads_retain(friedman):
    m, forget, retain = friedman
    cfg = RegressionFTConfig(epochs=1)
    junk = Subset(torch.full_like(forget.X, float("nan")), forget.y)
    a, _ = apply_method("reg_ft", m, forget, retain, config=cfg, generator=G(4))
    b, _ = apply_method("reg_ft", m, junk, retain, config=cfg, generator=G(4))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not get_method("reg_ga").needs_retain
    ga, _ = apply_method("reg_ga", m, forget, retain, config=RegressionGAConfig(),
                         generator=G(4))
    assert _mae(ga, forget) > _mae(m, forget)


def test_declarations_are_enforced(friedman):
    m, forget, _ = friedman
    for name in ("blindspot", "gaussian_ft", "reg_ft"):
        assert get_method(name).needs_retain
        with pytest.raises(ValueError, match="retain_set must be given"):
            apply_method(name, m, forget, generator=G(0))

    @torch.no_grad()
    def peek(model, forget, retain=None, **kw):
        return len(retain)

    from theorylab.unlearning.methods import MethodSpec

    spec = MethodSpec(name="peek", fn=peek, config_cls=RegressionGAConfig)
    with pytest.raises(UndeclaredInputError, match="needs_retain=True"):
        apply_method(spec, m, forget, forget, generator=G(0))


@pytest.mark.parametrize("cls, kw, match", [
    (BlindspotConfig, {"beta": -1.0}, "beta must be >= 0, got -1.0"),
    (BlindspotConfig, {"proxy_fraction": 0.0}, "proxy_fraction must be > 0, got 0.0"),
    (BlindspotConfig, {"proxy_fraction": 1.5}, "proxy_fraction must be <= 1, got 1.5"),
    (BlindspotConfig, {"proxy_epochs": 0}, "proxy_epochs must be >= 1, got 0"),
    (BlindspotConfig, {"lr": 0.0}, "lr must be > 0, got 0.0"),
    (GaussianFTConfig, {"epochs": 0}, "epochs must be >= 1, got 0"),
    (RegressionFTConfig, {"batch_size": 0}, "batch_size must be >= 1, got 0"),
    (RegressionGAConfig, {"lr": -1e-3}, "lr must be > 0, got -0.001"),
])
def test_bad_configs(cls, kw, match):
    with pytest.raises(ValueError, match=match):
        cls(**kw)
    with pytest.raises(TypeError, match="redraw must be a bool"):
        GaussianFTConfig(redraw=1)
