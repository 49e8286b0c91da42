"""Label-agnostic forgetting: losses by hand, labels never read, extractor-only updates."""

import math

import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning.laf import (  # noqa: E402
    LAFConfig,
    LAFRConfig,
    embed,
    laf,
    last_linear,
    ra_loss,
    ue_loss,
)
from theorylab.unlearning.methods import (  # noqa: E402
    METHODS,
    Subset,
    UndeclaredInputError,
    apply_method,
    get_method,
    register_method,
)
from theorylab.unlearning.models import Recipe, as_tensors, build_model, train_model  # noqa: E402

FAST = dict(epochs=4, vae_epochs=5, lr_ue=1e-3, lr_ra=2e-3, batch_size_forget=8,
            batch_size_retain=8, tau=20.0)


@pytest.fixture(scope="module")
def trained():
    from theorylab.unlearning.data import load_digits_split

    d = load_digits_split(rng=0)
    X, y = as_tensors(d.X_train[:500], d.y_train[:500])
    r = Recipe(hidden=(32, 32), epochs=20, lr=3e-3)
    m = train_model(build_model(r, 64, 10, generator=torch.Generator().manual_seed(0)), X, y,
                    recipe=r, generator=torch.Generator().manual_seed(1))
    f = (y == 3).nonzero().ravel()
    k = (y != 3).nonzero().ravel()
    return m, Subset(X[f], y[f]), Subset(X[k], y[k])


def test_ra_loss_by_hand():
    # retain embeddings equal to the original (c_r = 0), forget ones orthogonal (c_f = 1):
    # L_RA = Σ_r [0 − log(n_f e^{1/τ})] = −n_r (log n_f + 1/τ)
    e0_r = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    e0_f = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    e_f = torch.tensor([[0.0, 5.0], [-2.0, 0.0]])
    tau = 4.0
    got = float(ra_loss(e0_r * 3.0, e0_r, e_f, e0_f, tau))  # cosine ignores the scale
    assert got == pytest.approx(-3 * (math.log(2) + 1 / tau), rel=1e-6)
    # one retain row at 90 degrees adds exactly c_r = 1
    e_r = e0_r.clone()
    e_r[0] = torch.tensor([0.0, 1.0])
    assert float(ra_loss(e_r, e0_r, e_f, e0_f, tau)) == pytest.approx(got + 1, rel=1e-6)


def test_ue_loss_by_hand():
    e_r, e_f = torch.randn(5, 3), torch.randn(2, 3)
    ident = torch.nn.Identity()
    assert float(ue_loss(e_r, e_f, ident, ident)) == pytest.approx(5 - 2)  # r = 0: e^0 = 1

    class Shift(torch.nn.Module):
        def forward(self, e):
            return e + 0.5  # squared error r = 3 · 0.25 = 0.75 for every row

    r = 0.75
    expected = 5 * math.exp(r / (r + 1)) - 2 * math.exp(0.0)
    assert float(ue_loss(e_r, e_f, Shift(), ident)) == pytest.approx(expected, rel=1e-6)


def test_embed_is_the_head_input():
    m = build_model(Recipe(hidden=(4, 3)), 5, 2, generator=torch.Generator().manual_seed(0))
    X = torch.randn(6, 5)
    e = embed(m, X)
    assert e.shape == (6, 3)
    torch.testing.assert_close(last_linear(m)(e), m(X))
    assert torch.all(e >= 0)  # after the ReLU
    with pytest.raises(TypeError, match="nn.Linear classifier head"):
        last_linear(torch.nn.Sequential(torch.nn.ReLU()))


def test_laf_declares_no_labels_and_the_harness_refuses_a_label_read(trained):
    spec = get_method("laf")
    assert spec.needs_labels is False and spec.needs_retain is True
    assert get_method("laf_r").needs_labels is True
    m, forget, retain = trained
    cfg = LAFConfig(**{**FAST, "epochs": 1, "vae_epochs": 1})
    apply_method("laf", m, forget, retain, config=cfg, generator=torch.Generator())  # no read

    # the same declarations plus one label read: the harness raises
    @register_method("_laf_peeks", config=LAFConfig, needs_retain=True, needs_labels=False)
    def peeks(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
        laf(model, forget, retain, config=config, generator=generator)
        return model if forget.y[0] >= 0 else model

    try:
        with pytest.raises(UndeclaredInputError, match="labels of the forget set"):
            apply_method("_laf_peeks", m, forget, retain, config=cfg,
                         generator=torch.Generator())
    finally:
        METHODS.pop("_laf_peeks")


def test_laf_output_does_not_depend_on_the_labels_and_keeps_the_head(trained):
    m, forget, retain = trained
    cfg = LAFConfig(**FAST)
    g = lambda: torch.Generator().manual_seed(5)
    a, _ = apply_method("laf", m, forget, retain, config=cfg, generator=g())
    scrambled = lambda s: Subset(s.X, (s.y + 1) % 10)
    b, _ = apply_method("laf", m, scrambled(forget), scrambled(retain), config=cfg,
                        generator=g())
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    head0, head1 = last_linear(m), last_linear(a)
    assert torch.equal(head0.weight, head1.weight) and torch.equal(head0.bias, head1.bias)
    changed = [not torch.equal(p, q) for p, q in zip(m.parameters(), a.parameters(),
                                                     strict=True)]
    assert all(changed[:-2]) and not any(changed[-2:])  # every extractor tensor moved


def test_zero_epochs_leave_the_model_bit_for_bit(trained):
    m, forget, retain = trained
    out, _ = apply_method("laf", m, forget, retain, generator=torch.Generator(),
                          config=LAFConfig(**{**FAST, "epochs": 0, "vae_epochs": 1}))
    for p, q in zip(m.parameters(), out.parameters(), strict=True):
        assert torch.equal(p, q)


def test_laf_forgets_a_class_without_labels(trained):
    m, forget, retain = trained
    out, _ = apply_method("laf", m, forget, retain, generator=torch.Generator().manual_seed(0),
                          config=LAFConfig(**{**FAST, "epochs": 20, "vae_epochs": 30,
                                              "lr_ue": 3e-3, "lr_ra": 6e-3, "tau": 5.0}))
    # measured on generator seeds 0-2: forget accuracy 1.0 -> 0.0, retain 0.982 -> 0.905-0.916
    acc = lambda mdl, s: float((mdl(s.X).argmax(1) == s.y).float().mean())
    assert acc(m, forget) > 0.9
    assert acc(out, forget) < 0.5
    assert acc(out, retain) > acc(m, retain) - 0.1


@pytest.mark.parametrize("cls, kw, match", [
    (LAFConfig, dict(tau=0.0), "tau must be > 0, got 0"),
    (LAFConfig, dict(latent=0), "latent must be >= 1, got 0"),
    (LAFConfig, dict(lr_ue=-1.0), "lr_ue must be >= 0, got -1"),
    (LAFRConfig, dict(label_fraction=0.0), "label_fraction must be > 0, got 0.0"),
    (LAFRConfig, dict(label_fraction=1.5), "label_fraction"),
])
def test_config_rejects_bad_values(cls, kw, match):
    with pytest.raises(ValueError, match=match):
        cls(**kw)


def test_laf_r_is_laf_then_a_head_repair(trained):
    m, forget, retain = trained
    g = lambda: torch.Generator().manual_seed(7)
    a, _ = apply_method("laf", m, forget, retain, config=LAFConfig(**FAST), generator=g())
    b, _ = apply_method("laf_r", m, forget, retain, generator=g(),
                        config=LAFRConfig(**FAST, label_fraction=0.2, head_epochs=3))
    pa, pb = list(a.parameters()), list(b.parameters())
    for p, q in zip(pa[:-2], pb[:-2], strict=True):  # the extractor: LAF's, bit-for-bit
        assert torch.equal(p, q)
    assert not torch.equal(pa[-2], pb[-2])  # the head was fine-tuned on the labelled part
    acc = lambda mdl, s: float((mdl(s.X).argmax(1) == s.y).float().mean())
    assert acc(b, retain) >= acc(a, retain) - 0.02


def test_laf_runs_on_the_harness_cnn_and_keeps_its_head(trained):
    _, forget, retain = trained
    r = Recipe(arch="cnn", epochs=1, lr=1e-2)
    m = build_model(r, 64, 10, generator=torch.Generator().manual_seed(0), image_shape=(1, 8, 8))
    assert embed(m, forget.X[:3]).shape == (3, 128)  # the FC-128 layer after the conv trunk
    out, _ = apply_method("laf", m, forget, retain, generator=torch.Generator(),
                          config=LAFConfig(**{**FAST, "epochs": 1, "vae_epochs": 1}))
    assert torch.equal(last_linear(out).weight, last_linear(m).weight)
    assert not torch.equal(out.features[0].weight, m.features[0].weight)
