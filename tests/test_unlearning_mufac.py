"""MUFAC-style identity unlearning: pseudo-identity data, CF-k, Advanced NegGrad, NoMUS."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning.methods import Subset, apply_method, get_method  # noqa: E402
from theorylab.unlearning.metrics import nomus  # noqa: E402
from theorylab.unlearning.models import Recipe, as_tensors, build_model  # noqa: E402
from theorylab.unlearning.mufac import (  # noqa: E402
    AdvNegGradConfig,
    CFKConfig,
    class_forget_variant,
    identity_benchmark,
    last_layers,
    make_identity_data,
    style_images,
)

# Reference-code README, MUFAC (ResNet-18): (test accuracy, forgetting score, NoMUS) per method
MUFAC_TABLE = {
    "original": (0.5951, 0.2136, 0.5839), "retrained": (0.4880, 0.0445, 0.6995),
    "fine-tuning": (0.6055, 0.2129, 0.5898), "cf-3": (0.5900, 0.2126, 0.5824),
    "neggrad": (0.4048, 0.0485, 0.6539), "unsir stage 1": (0.5893, 0.2089, 0.5857),
    "unsir stage 2": (0.5925, 0.1990, 0.5972), "scrub": (0.5984, 0.1415, 0.6577),
    "advanced neggrad": (0.5633, 0.0953, 0.6863),
}


def test_nomus_reproduces_every_mufac_table_column():
    assert nomus(0.5951, 0.2136) == pytest.approx(0.5839, abs=5e-5)  # the worked example
    assert nomus(0.4880, 0.0445) == pytest.approx(0.6995, abs=5e-5)
    for name, (ta, fs, score) in MUFAC_TABLE.items():
        assert nomus(ta, fs) == pytest.approx(score, abs=1e-4), name
    # the ranking of the table: retrained first, advanced NegGrad second, CF-3 last
    ranked = sorted(MUFAC_TABLE, key=lambda k: -nomus(*MUFAC_TABLE[k][:2]))
    assert ranked[:2] == ["retrained", "advanced neggrad"] and ranked[-1] == "cf-3"


def test_style_images_by_hand():
    img = np.arange(9, dtype=float).reshape(1, 3, 3) / 10
    pat = np.full((3, 3), 0.25)
    out = style_images(img, pat, (1, 0))  # one pixel down: top row zero-filled
    expect = np.array([[0.0, 0.0, 0.0], [0.0, 0.1, 0.2], [0.3, 0.4, 0.5]]) + 0.25
    np.testing.assert_allclose(out[0], expect)
    out = style_images(img, np.full((3, 3), 0.5), (0, -1))  # one pixel left, then clipped
    np.testing.assert_allclose(out[0], np.clip(np.array(
        [[0.1, 0.2, 0.0], [0.4, 0.5, 0.0], [0.7, 0.8, 0.0]]) + 0.5, 0, 1))


def test_identity_data_is_task_agnostic_and_split_by_identity():
    d = make_identity_data(rng=0)
    ds, sp = d.dataset, d.split
    assert ds.X_train.shape == (800, 64) and ds.X_test.shape == (200, 64)
    assert d.X_unseen.shape == (200, 64)
    ids = [d.retain_ids, d.forget_ids, d.test_ids, d.unseen_ids]
    assert [len(a) for a in ids] == [70, 10, 20, 20]
    assert len(np.unique(np.concatenate(ids))) == 120  # disjoint, covering all
    # every identity owns exactly one image of every class: labels carry no identity
    for k in np.unique(ds.identities):
        assert sorted(ds.y_train[ds.identities == k].tolist()) == list(range(10))
    assert sorted(np.unique(ds.identities[sp.forget]).tolist()) == d.forget_ids.tolist()
    assert not np.isin(ds.identities[sp.retain], d.forget_ids).any()
    assert ds.X_train.min() >= 0 and ds.X_train.max() <= 1
    # no source image is used twice
    rows = np.vstack([ds.X_train, ds.X_test, d.X_unseen])
    assert len(np.unique(rows, axis=0)) == 1200
    again = make_identity_data(rng=0)
    assert np.array_equal(again.dataset.X_train, ds.X_train)
    assert not np.array_equal(make_identity_data(rng=1).dataset.X_train, ds.X_train)


def test_class_forget_variant_forgets_a_class_across_identities():
    d = make_identity_data(rng=0)
    c = class_forget_variant(d, cls=3)
    ds = c.dataset
    assert np.array_equal(c.split.forget, np.flatnonzero(ds.y_train == 3))
    assert len(np.unique(ds.identities[c.split.forget])) == 80  # every training identity
    assert np.all(c.y_unseen == 3) and len(c.y_unseen) == 20
    assert ds is d.dataset  # same images, same test set (with class 3 in it)
    with pytest.raises(ValueError, match="cls must be a class present"):
        class_forget_variant(d, cls=11)


def test_identity_data_bad_inputs():
    with pytest.raises(ValueError, match="n_forget \\+ n_test \\+ n_unseen must be <"):
        make_identity_data(n_identities=40, n_forget=10, n_test=20, n_unseen=10)
    with pytest.raises(ValueError, match="must be <= the smallest class count"):
        make_identity_data(n_identities=200)
    with pytest.raises(ValueError, match="amplitude"):
        make_identity_data(amplitude=1.5)
    with pytest.raises(ValueError, match="source must be one of"):
        make_identity_data(source="faces")


def _tiny(dtype=torch.float64):
    d = make_identity_data(n_identities=40, n_forget=4, n_test=6, n_unseen=6, rng=3)
    X, y = as_tensors(d.dataset.X_train, d.dataset.y_train, dtype=dtype)
    f, r = torch.as_tensor(d.split.forget), torch.as_tensor(d.split.retain)
    m = build_model(Recipe(hidden=(16, 8)), 64, 10, generator=torch.Generator().manual_seed(0),
                    dtype=dtype)
    return m, Subset(X[f], y[f]), Subset(X[r], y[r])


def test_cf_k_trains_only_the_last_k_layers():
    m, forget, retain = _tiny()
    out, _ = apply_method("cf_k", m, forget, retain, config=CFKConfig(k=2, lr=0.05),
                          generator=torch.Generator().manual_seed(1))
    before, after = last_layers(m, 3), last_layers(out, 3)
    for p0, p1 in zip(before[0].parameters(), after[0].parameters(), strict=True):
        assert torch.equal(p0, p1)  # frozen layer bit for bit
    for lay0, lay1 in zip(before[1:], after[1:], strict=True):
        assert not torch.equal(lay0.weight, lay1.weight)
    assert all(p.requires_grad for p in out.parameters())  # flags restored
    # CF-k never reads D_f: garbage forget inputs give the same model
    junk = Subset(torch.full_like(forget.X, 7.0), forget.y)
    out2, _ = apply_method("cf_k", m, junk, retain, config=CFKConfig(k=2, lr=0.05),
                           generator=torch.Generator().manual_seed(1))
    for p1, p2 in zip(out.parameters(), out2.parameters(), strict=True):
        assert torch.equal(p1, p2)
    with pytest.raises(ValueError, match="k must be <= the number of Linear/Conv2d layers"):
        apply_method("cf_k", m, forget, retain, config=CFKConfig(k=4),
                     generator=torch.Generator())
    with pytest.raises(ValueError, match="k must be >= 1"):
        CFKConfig(k=0)


def test_advanced_neggrad_is_sgd_on_retain_minus_forget_by_hand():
    m, forget, retain = _tiny()
    cfg = AdvNegGradConfig(epochs=3, lr=0.05, batch_size=10_000)  # one full batch per epoch
    out, _ = apply_method("adv_neggrad", m, forget, retain, config=cfg,
                          generator=torch.Generator().manual_seed(2))
    ref = copy.deepcopy(m)
    ce = torch.nn.functional.cross_entropy
    for _ in range(3):
        ref.zero_grad()
        (ce(ref(retain.X), retain.y) - ce(ref(forget.X), forget.y)).backward()
        with torch.no_grad():
            for p in ref.parameters():
                p -= 0.05 * p.grad
    for p1, p2 in zip(out.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p1, p2, rtol=1e-12, atol=1e-14)
    spec = get_method("adv_neggrad")
    assert spec.needs_retain and spec.needs_labels
    with pytest.raises(ValueError, match="retain_set must be given"):
        apply_method("adv_neggrad", m, forget, config=cfg, generator=torch.Generator())


def test_identity_benchmark_records_and_gaps():
    d = make_identity_data(n_identities=60, n_forget=6, n_test=12, n_unseen=12, rng=0)
    res = identity_benchmark(d, ["none", "cf_k"], recipe=Recipe(hidden=(16,), epochs=3),
                             n_oracles=2, seed=0, method_configs={"cf_k": {"k": 1}})
    orig, none = res["original"], res["methods"]["none"]
    for k in ("TA", "forgetting_score", "NoMUS", "MIA_svc"):
        assert none[k] == orig[k]  # doing nothing scores as the original
        assert none[f"{k}_gap"] == pytest.approx(abs(orig[k] - res["oracle_mean"][k]))
    for r in (orig, *res["oracles"]):
        assert r["NoMUS"] == pytest.approx(nomus(r["TA"], r["forgetting_score"]))
        assert r["forgetting_score"] == pytest.approx(abs(r["loss_MIA_acc"] - 0.5))
    assert len(res["oracles"]) == 2 and res["oracle_std"]["TA"] >= 0
    with pytest.raises(ValueError, match="method_configs must only name methods being run"):
        identity_benchmark(d, ["none"], recipe=Recipe(epochs=1), method_configs={"ft": {}})


@pytest.fixture
def retrain_method():
    """A test-only method that retrains from scratch on D_r: its U-LiRA AUC must be ~0.5."""
    from dataclasses import dataclass

    from theorylab.unlearning.methods import METHODS, register_method
    from theorylab.unlearning.models import train_model

    @dataclass(frozen=True)
    class Cfg:
        pass

    recipe = Recipe(hidden=(64,), epochs=40, lr=3e-3)

    def retrain(model, forget, retain=None, *, config, generator, train_set=None,
                oracles=None):
        fresh = build_model(recipe, 64, 10, generator=generator)
        return train_model(fresh, retain.X, retain.y, recipe=recipe, generator=generator)

    register_method("_test_retrain", config=Cfg, needs_retain=True)(retrain)
    yield recipe
    del METHODS["_test_retrain"]


def test_identity_ulira_detects_no_unlearning_and_not_retraining(retrain_method):
    from theorylab.unlearning.mufac import identity_ulira

    d = make_identity_data(n_identities=60, n_forget=8, n_test=6, n_unseen=6, rng=0)
    kw = dict(recipe=retrain_method, n_shadows=4, n_targets=2, seed=0)
    none = identity_ulira(d, "none", **kw)
    retrained = identity_ulira(d, "_test_retrain", **kw)
    assert none["AUC"] > 0.8  # the original still carries the forgotten identities
    assert abs(retrained["AUC"] - 0.5) < 0.15  # retraining is what the oracles are
    with pytest.raises(ValueError, match="n_shadows must be >= 2"):
        identity_ulira(d, "none", recipe=retrain_method, n_shadows=1)


def test_identity_ulira_methods_share_the_ensembles_and_equal_single_calls(retrain_method):
    from theorylab.unlearning.mufac import identity_ulira, identity_ulira_methods

    d = make_identity_data(n_identities=60, n_forget=8, n_test=6, n_unseen=6, rng=0)
    kw = dict(recipe=retrain_method, n_shadows=4, n_targets=2, seed=1)
    both = identity_ulira_methods(d, {"none": None, "ft": {"epochs": 1}}, **kw)
    assert both["none"] == identity_ulira(d, "none", **kw)
    assert both["ft"] == identity_ulira(d, "ft", method_config={"epochs": 1}, **kw)
    assert identity_ulira_methods(d, ["none"], **kw) == {"none": both["none"]}
    with pytest.raises(TypeError, match="methods must be a mapping"):
        identity_ulira_methods(d, "none", **kw)
    with pytest.raises(ValueError, match="methods must name at least one method"):
        identity_ulira_methods(d, [], **kw)
    with pytest.raises(ValueError, match="method must be one of"):
        identity_ulira_methods(d, ["nope"], **kw)


def test_identity_ulira_defaults_to_64_models_per_side():
    """LiRA-style audits default to ensembles of >= 64 models per side (62 shadows + the 2
    targets); fewer shadows fit each image's Gaussians on too few models."""
    import inspect

    from theorylab.unlearning.mufac import identity_ulira

    p = inspect.signature(identity_ulira).parameters
    assert p["n_shadows"].default + p["n_targets"].default >= 64
