"""Stacked fast paths of the worst-case and prune-first claims against the harness's own
single-model paths (the reference twins): oracles with per-member retain sets and masks, OMP
with rewinding from one dense run, and the baselines on several forget sets at once."""

import numpy as np
import pytest
import torch

from theorylab.claims import load_claim
from theorylab.unlearning.data import load_digits_split
from theorylab.unlearning.methods import Subset, apply_method, get_method
from theorylab.unlearning.models import Recipe, as_tensors, build_model, train_model
from theorylab.unlearning.oracle import ensemble_seeds, retrain_oracles
from theorylab.unlearning.scenarios import random_forget
from theorylab.unlearning.sparse import prune_and_rewind, train_masked
from theorylab.unlearning.stacked import prune_and_rewind_all, train_stacked_mlps
from theorylab.unlearning.stacked_baselines import STACKED_METHODS, unlearn_stacked

REC = Recipe(hidden=(24, 16), epochs=3, lr=3e-3)


@pytest.fixture(scope="module")
def digits():
    d = load_digits_split(rng=0)
    X, y = as_tensors(d.X_train, d.y_train)
    return X, y


def _gen(k):
    return torch.Generator().manual_seed(k)


def _max_diff(a, b):
    return max(float((p - q).abs().max()) for p, q in
               zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_stacked_oracles_with_rows_equal_retrain_oracles_per_set(digits):
    X, y = digits
    sets = [random_forget(X.shape[0], fraction=0.1, rng=j) for j in range(3)]
    seeds = [ensemble_seeds(2, base=100 * i) for i in range(3)]
    ref = [retrain_oracles(REC, X, y, s.retain, n_out=10, seeds=sd, vectorize=False)
           for s, sd in zip(sets, seeds, strict=True)]
    members = [build_model(REC, X.shape[1], 10, generator=s.generator("init"))
               for sd in seeds for s in sd]
    ens = train_stacked_mlps(REC, X, y, members, rows=np.stack(
        [s.retain for s in sets for _ in range(2)]),
        order_generators=[s.generator("order") for sd in seeds for s in sd])
    assert ens.n_models == 6
    for i in range(3):
        for k in range(2):
            assert _max_diff(ens.member(2 * i + k), ref[i].member(k)) < 1e-5


@pytest.mark.parametrize("per_member", [False, True])
def test_stacked_masked_oracles_equal_train_masked(digits, per_member):
    X, y = digits
    pruned = prune_and_rewind_all(REC, X, y, n_out=10, sparsities=(0.5, 0.8), rewind_epoch=1,
                                  init_generator=_gen(1), order_generator=_gen(2))
    retain = np.arange(100, X.shape[0])
    Xr, yr = X[torch.as_tensor(retain)], y[torch.as_tensor(retain)]
    plan = [(pruned[i][1], k) for i in (range(2) if per_member else [0]) for k in range(2)]
    ref = []
    for masks, k in plan:
        m = build_model(REC, X.shape[1], 10, generator=_gen(10 + k))
        ref.append(train_masked(m, Xr, yr, recipe=REC, masks=masks, generator=_gen(20 + k)))
    masks = (pruned[0][1] if not per_member else
             {n: torch.stack([mk[n] for mk, _ in plan]) for n in pruned[0][1]})
    ens = train_stacked_mlps(REC, X, y,
                             [build_model(REC, X.shape[1], 10, generator=_gen(10 + k))
                              for _, k in plan],
                             order_generators=[_gen(20 + k) for _, k in plan],
                             rows=np.tile(retain, (len(plan), 1)), masks=masks)
    for j, (mk, _) in enumerate(plan):
        got = ens.member(j)
        assert _max_diff(got, ref[j]) < 1e-5
        for name, keep in mk.items():
            w = got.get_parameter(name)
            assert torch.all(w[~keep] == 0)  # pruned weights exactly zero


def test_prune_and_rewind_all_is_bit_identical(digits):
    X, y = digits
    sps = (0.0, 0.5, 0.9)
    fast = prune_and_rewind_all(REC, X, y, n_out=10, sparsities=sps, rewind_epoch=1,
                                init_generator=_gen(1), order_generator=_gen(2))
    for s, (m, masks) in zip(sps, fast, strict=True):
        m0, masks0 = prune_and_rewind(REC, X, y, n_out=10, sparsity=s, rewind_epoch=1,
                                      init_generator=_gen(1), order_generator=_gen(2))
        for a, b in zip(m.state_dict().values(), m0.state_dict().values(), strict=True):
            assert torch.equal(a, b)
        assert all(torch.equal(masks[n], masks0[n]) for n in masks0)


@pytest.mark.parametrize("method", STACKED_METHODS)
def test_unlearn_stacked_equals_apply_method_per_set(digits, method):
    X, y = digits
    theta_o = train_model(build_model(REC, X.shape[1], 10, generator=_gen(0)), X, y,
                          recipe=REC, generator=_gen(1))
    sets = [random_forget(X.shape[0], fraction=0.1, rng=j) for j in range(3)]
    ix = torch.as_tensor
    F = [Subset(X[ix(s.forget)], y[ix(s.forget)]) for s in sets]
    R = [Subset(X[ix(s.retain)], y[ix(s.retain)]) for s in sets]
    spec = get_method(method)
    cfg = spec.default_config(epochs=2)
    ref = [apply_method(spec, theta_o, f, r, config=cfg, generator=_gen(99))[0]
           for f, r in zip(F, R, strict=True)]
    before = [p.clone() for p in theta_o.parameters()]
    got = unlearn_stacked(method, theta_o, F, R, config=cfg, generator=_gen(99))
    assert all(torch.equal(p, q) for p, q in zip(before, theta_o.parameters(), strict=True))
    for a, b in zip(got, ref, strict=True):
        assert _max_diff(a, b) < 1e-5
        assert not a.training


def test_stacked_bad_inputs(digits):
    X, y = digits
    mdl = build_model(REC, X.shape[1], 10, generator=_gen(0))
    with pytest.raises(ValueError, match=r"rows must have shape \(2, n\)"):
        train_stacked_mlps(REC, X, y, [mdl, mdl], order_generators=[_gen(1), _gen(2)],
                           rows=np.zeros((3, 5), dtype=int))
    with pytest.raises(ValueError, match="order_generators must hold 2"):
        train_stacked_mlps(REC, X, y, [mdl, mdl], order_generators=[_gen(1)])
    with pytest.raises(ValueError, match=r"masks\['net.0.weight'\] must have shape"):
        train_stacked_mlps(REC, X, y, [mdl], order_generators=[_gen(1)],
                           masks={"net.0.weight": torch.ones(3, 3, dtype=torch.bool)})
    with pytest.raises(ValueError, match="rewind_epoch must be in"):
        prune_and_rewind_all(REC, X, y, n_out=10, sparsities=(0.5,), rewind_epoch=9,
                             init_generator=_gen(1), order_generator=_gen(2))
    f = Subset(X[:10], y[:10])
    r = Subset(X[10:40], y[10:40])
    cfg = get_method("ft").default_config()
    with pytest.raises(ValueError, match="method must be one of"):
        unlearn_stacked("ssd", mdl, [f], [r], config=cfg, generator=_gen(0))
    with pytest.raises(TypeError, match="config must be a SGDConfig"):
        unlearn_stacked("ft", mdl, [f], [r], config=get_method("scrub").default_config(),
                        generator=_gen(0))
    with pytest.raises(ValueError, match="retain sets must all have one size"):
        unlearn_stacked("ft", mdl, [f, f], [r, Subset(X[:5], y[:5])], config=cfg,
                        generator=_gen(0))
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        unlearn_stacked("ft", mdl, [f], [r], config=cfg, generator=0)



def test_jia_validation_trial_gives_the_same_l1_numbers():
    """The γ-validation trial runs only the ℓ1-sparse runs and the s = 0 oracles; what it
    returns equals those keys of a complete trial."""
    J = load_claim("jia2023_sparsity_unlearning_prune_first")
    cfg = J.SIZES["smoke"]
    kw = {k: cfg[k] for k in ("dataset", "scenario", "n_train", "hidden", "epochs", "lr",
                              "sparsities", "n_oracles", "rewind_epoch", "gammas")}
    kw.update(epochs=4)
    full = J._trial(device="cpu", seed=3, **kw)
    val = J._trial(device="cpu", seed=3, l1_only=True, **kw)
    assert set(val) < set(full)
    assert any(k.startswith("l1_g0_") for k in val)
    for k in val:
        if "rte" in k or k.startswith("retrain_s"):
            continue
        assert val[k] == pytest.approx(full[k], abs=1e-12), k
