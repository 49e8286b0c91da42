"""Unlearning benchmark runner: records, oracle gaps, cache/resume, collapse flags; and
end-to-end checks of the metrics on trained digits models (SVC-MIA direction, AIN = 1)."""

from dataclasses import dataclass

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning.methods import register_method  # noqa: E402
from theorylab.unlearning.metrics import ain  # noqa: E402
from theorylab.unlearning.models import Recipe, as_tensors, build_model, train_model  # noqa: E402
from theorylab.unlearning.runner import (  # noqa: E402
    collapse_flags,
    run_benchmark,
    summarize,
)

RECIPE = dict(hidden=(32,), epochs=20, lr=3e-3)


@dataclass(frozen=True)
class _NoCfg:
    pass


@register_method("test_diverge", config=_NoCfg, needs_labels=False)
def _diverge(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    return model


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    cache = tmp_path_factory.mktemp("unlearn_cache")
    res = run_benchmark(["none", "ft"], ["random", "class"], [0], recipe=RECIPE, n_oracles=2,
                        method_configs={"ft": {"epochs": 2}}, cache_dir=cache,
                        backend="serial", progress=False)
    return res, cache


def test_one_record_per_method_scenario_seed_with_gaps(bench):
    res, _ = bench
    assert res.n_cached == 0 and res.n_computed == 2 + 4
    assert {(r["method"], r["scenario"], r["seed"]) for r in res.records} == {
        (m, s, 0) for m in ("none", "ft") for s in ("random", "class")}
    for r in res.records:
        for k in ("UA", "RA", "TA", "MIA", "MIA_entropy_lr", "NoMUS", "RTE"):
            assert np.isfinite(r[k]), k
        for k in ("UA", "RA", "TA", "MIA"):
            assert r[f"{k}_gap"] == pytest.approx(abs(r[k] - r[f"{k}_oracle_mean"]))
            assert r[f"{k}_oracle_std"] >= 0
        assert r["avg_gap"] == pytest.approx(np.mean([r[f"{k}_gap"] for k in
                                                      ("UA", "MIA", "RA", "TA")]))
        assert {"seed_init", "seed_order", "seed_forget", "seed_method"} <= set(r)
        assert r["flags"] == []


def test_do_nothing_scores_equal_the_original_and_class_oracle_forgets(bench):
    res, _ = bench
    by = {(r["method"], r["scenario"]): r for r in res.records}
    none_c = by[("none", "class")]
    for k in ("UA", "RA", "TA", "MIA", "forget_test_acc"):
        assert none_c[k] == none_c[f"orig_{k}"]
    # the oracle never saw the class: it cannot classify it; the original can
    assert none_c["UA_oracle_mean"] == 1.0 and none_c["forget_test_acc_oracle_mean"] == 0.0
    assert none_c["UA"] < 0.1 and none_c["UA_gap"] > 0.9


def test_svc_mia_of_the_original_is_below_the_oracles_on_random_forgetting(bench):
    res, _ = bench
    r = next(r for r in res.records if r["method"] == "none" and r["scenario"] == "random")
    # members are recognised (low efficacy) by the memorising original, less so by oracles
    assert r["orig_MIA"] < r["MIA_oracle_mean"]


def test_rerun_comes_from_the_cache(bench):
    res, cache = bench
    again = run_benchmark(["none", "ft"], ["random", "class"], [0], recipe=RECIPE, n_oracles=2,
                          method_configs={"ft": {"epochs": 2}}, cache_dir=cache,
                          backend="serial", progress=False)
    assert again.n_computed == 0 and again.n_cached == 6
    assert [r["MIA"] for r in again.records] == [r["MIA"] for r in res.records]


def test_a_diverged_method_is_flagged_not_averaged(bench):
    _, cache = bench
    res = run_benchmark(["test_diverge"], ["class"], [0], recipe=RECIPE, n_oracles=2,
                        cache_dir=cache, backend="serial", progress=False)
    (rec,) = res.records
    assert rec["flags"] == ["diverged"] and np.isnan(rec["TA"])
    assert res.n_cached == 1  # the original and oracles came from the cache
    (row,) = summarize(res.records)
    assert row["n"] == 0 and row["n_flagged"] == 1 and "TA_mean" not in row


def test_collapse_flags_and_summary_leave_flagged_runs_out():
    assert collapse_flags({"TA": 0.12, "MIA": 0.5}, chance=0.1, oracle_mia=0.5) == [
        "utility_at_chance"]
    assert collapse_flags({"TA": 0.9, "MIA": 1.0}, chance=0.1, oracle_mia=0.3) == [
        "mia_degenerate"]
    assert collapse_flags({"TA": 0.9, "MIA": 1.0}, chance=0.1, oracle_mia=1.0) == []
    recs = [{"method": "m", "scenario": "s", "UA": u, "UA_gap": u, "flags": f}
            for u, f in ((0.1, []), (0.3, []), (0.9, ["utility_at_chance"]))]
    (row,) = summarize(recs, keys=("UA",))
    assert row["n"] == 2 and row["n_flagged"] == 1
    assert row["UA_mean"] == pytest.approx(0.2) and row["UA_std"] == pytest.approx(0.1414, 1e-3)


def test_runner_bad_inputs():
    with pytest.raises(ValueError, match="method must be one of"):
        run_benchmark(["nope"], ["class"], [0])
    with pytest.raises(ValueError, match="scenario must be one of"):
        run_benchmark(["none"], ["everything"], [0])
    with pytest.raises(ValueError, match="n_oracles must be >= 2"):
        run_benchmark(["none"], ["class"], [0], n_oracles=1)
    with pytest.raises(ValueError, match="dataset must be one of"):
        run_benchmark(["none"], ["class"], [0], dataset="cifar")
    with pytest.raises(TypeError, match="unexpected keyword"):
        run_benchmark(["ft"], ["class"], [0], method_configs={"ft": {"epoch": 3}})
    with pytest.raises(ValueError, match="method_configs must only name"):
        run_benchmark(["none"], ["class"], [0], method_configs={"ft": {}})


def test_ain_of_the_oracle_against_itself_is_one():
    from theorylab.unlearning.data import load_digits_split

    d = load_digits_split(rng=0)
    X, y = as_tensors(d.X_train[:300], d.y_train[:300])
    r = Recipe(hidden=(16,), epochs=10, lr=1e-2)
    orig = train_model(build_model(r, 64, 10, generator=torch.Generator().manual_seed(0)),
                       X, y, recipe=r, generator=torch.Generator().manual_seed(1))
    oracle = build_model(r, 64, 10, generator=torch.Generator().manual_seed(2))
    Xv, yv = as_tensors(d.X_test[:100], d.y_test[:100])
    res = ain(oracle, oracle, orig, X, y, Xv, yv, generator_seed=0, lr=1e-2, batch_size=32,
              max_epochs=30)
    assert res["AIN"] == 1.0 and res["rt_r"] > 0 and res["censored"] == 0.0
    # the original already meets its own target: it relearns in zero steps
    res_o = ain(orig, oracle, orig, X, y, Xv, yv, generator_seed=0, lr=1e-2, batch_size=32,
                max_epochs=30)
    assert res_o["rt_u"] == 0 and res_o["AIN"] == 0.0


def test_klom_of_doing_nothing_on_a_class_is_far_above_the_oracle_floor():
    from theorylab.unlearning.runner import evaluate_klom

    r = evaluate_klom("none", "class", n_models=32, recipe=dict(hidden=(16,), epochs=6, lr=3e-3))
    # the originals classify the forgotten class, the oracles never saw it
    assert r["klom_forget"] > r["floor_forget"] + 3
    # on retained points the two ensembles agree far better than on the forgotten class
    assert r["klom_retain"] < r["klom_forget"] - 3
    with pytest.raises(ValueError, match="n_models must be >= 4"):
        evaluate_klom("none", "class", n_models=2)


def test_klom_default_ensembles_are_large_enough_for_an_unsaturated_floor():
    """64 models per side by default: with 8, each floor saturates at about 10.5 and no
    method can be told apart from the oracles."""
    from theorylab.unlearning.runner import evaluate_klom

    r = evaluate_klom("none", "class")
    assert r["n_models"] == 64
    assert max(r["floor_forget"], r["floor_retain"], r["floor_val"]) < 5
    assert r["klom_forget"] > r["floor_forget"] + 3


def test_relearn_curve_counts_steps_to_the_original_accuracy():
    from theorylab.unlearning.data import load_digits_split
    from theorylab.unlearning.metrics import relearn_curve

    d = load_digits_split(rng=0)
    X, y = as_tensors(d.X_train[:300], d.y_train[:300])
    Xh, yh = as_tensors(d.X_test[:100], d.y_test[:100])
    r = Recipe(hidden=(16,), epochs=10, lr=1e-2)
    orig = train_model(build_model(r, 64, 10, generator=torch.Generator().manual_seed(0)),
                       X, y, recipe=r, generator=torch.Generator().manual_seed(1))
    target = float((orig(Xh).argmax(1) == yh).float().mean())
    kw = dict(target_accuracy=target, lr=1e-2, max_steps=300)
    same = relearn_curve(orig, X, y, Xh, yh, generator=torch.Generator(), **kw)
    assert same["steps"] == 0 and not same["censored"] and same["curve"].size == 1
    fresh = build_model(r, 64, 10, generator=torch.Generator().manual_seed(5))
    res = relearn_curve(fresh, X, y, Xh, yh, generator=torch.Generator().manual_seed(0), **kw)
    assert 0 < res["steps"] == res["curve"].size - 1
    assert res["curve"][0] < target - 0.5
    assert res["censored"] or res["curve"][-1] >= target - 0.02


# --------------------------------------------------------------------------- regression data

REG_RECIPE = dict(hidden=(32,), epochs=30, lr=3e-3)


@pytest.fixture(scope="module")
def reg_bench(tmp_path_factory):
    cache = tmp_path_factory.mktemp("unlearn_reg_cache")
    res = run_benchmark(["none", "reg_ft"], ["target_range", "random"], [0], dataset="diabetes",
                        recipe=REG_RECIPE, n_oracles=2, method_configs={"reg_ft": {"epochs": 2}},
                        cache_dir=cache, backend="serial", progress=False)
    return res, cache


def test_regression_records_hold_the_mae_family_with_oracle_gaps(reg_bench):
    from theorylab.unlearning.data import load_diabetes_split
    from theorylab.unlearning.scenarios import target_range_forget

    res, _ = reg_bench
    assert {(r["method"], r["scenario"]) for r in res.records} == {
        (m, s) for m in ("none", "reg_ft") for s in ("target_range", "random")}
    for r in res.records:
        assert r["task"] == "regression" and "UA" not in r
        for k in ("MAE_r", "MAE_f", "MAE_t", "MIA"):
            assert np.isfinite(r[k]) and r[f"{k}_gap"] == pytest.approx(
                abs(r[k] - r[f"{k}_oracle_mean"]))
        assert r["avg_gap"] == pytest.approx(np.mean([r[f"{k}_gap"] for k in
                                                      ("MAE_f", "MIA", "MAE_r", "MAE_t")]))
        assert 0.0 <= r["MIA"] <= 1.0 and r["flags"] == []
    by = {(r["method"], r["scenario"]): r for r in res.records}
    none_t = by[("none", "target_range")]
    # the oracles never saw the lowest 30 % of targets: their forget MAE is far above the
    # original's, which fitted them (an independent recomputation of the forget set's size)
    ds = load_diabetes_split(rng=0)
    split = target_range_forget(ds.y_train, quantile=0.3)
    assert split.forget.size == int(np.sum(ds.y_train <= np.quantile(ds.y_train, 0.3)))
    assert none_t["MAE_f_oracle_mean"] > 1.5 * none_t["MAE_f"]
    assert none_t["MAE_f"] == none_t["orig_MAE_f"]
    rows = summarize(res.records)
    assert {"MAE_f_mean", "MAE_f_gap_mean", "avg_gap_mean"} <= set(rows[0])


def test_regression_collapse_flags():
    from theorylab.unlearning.runner import regression_collapse_flags as flags

    assert flags({"MAE_t": 0.99, "MIA": 0.5}, constant_mae=1.0, oracle_mia=0.5) == [
        "utility_at_chance"]
    assert flags({"MAE_t": 0.5, "MIA": 0.5}, constant_mae=1.0, oracle_mia=0.5) == []
    assert flags({"MAE_t": float("nan"), "MIA": 0.5}, constant_mae=1.0,
                 oracle_mia=0.5) == ["diverged"]
    # a member rate of 0 or 1 is a legitimate regression MIA value, not a collapse
    assert flags({"MAE_t": 0.5, "MIA": 1.0}, constant_mae=1.0, oracle_mia=0.4) == []


def test_regression_bad_inputs():
    with pytest.raises(ValueError, match="regression methods on dataset 'diabetes'.*'ft'"):
        run_benchmark(["ft"], ["random"], [0], dataset="diabetes")
    with pytest.raises(ValueError, match="scenarios must be one of.*got 'class'"):
        run_benchmark(["none"], ["class"], [0], dataset="friedman1")
    with pytest.raises(ValueError, match="'target_range' needs a regression dataset"):
        run_benchmark(["none"], ["target_range"], [0], dataset="digits")
    with pytest.raises(ValueError, match="recipe task must be 'regression'"):
        run_benchmark(["none"], ["random"], [0], dataset="diabetes",
                      recipe={"task": "classification"})
    from theorylab.unlearning.runner import evaluate_klom

    with pytest.raises(ValueError, match="classification dataset for KLoM"):
        evaluate_klom("none", dataset="diabetes")


def test_config_instances_are_keyed_by_their_fields(bench):
    from theorylab.unlearning.baselines import SGDConfig
    from theorylab.unlearning.methods import get_method

    res, cache = bench
    assert get_method("ft").config_cls is SGDConfig
    cfg = SGDConfig(epochs=2)
    again = run_benchmark(["ft"], ["random", "class"], [0], recipe=RECIPE, n_oracles=2,
                          method_configs={"ft": cfg}, cache_dir=cache, backend="serial",
                          progress=False)
    # the same values as the mapping {"epochs": 2}: served from the cache, same numbers
    assert again.n_computed == 0
    first = [r["MIA"] for r in res.records if r["method"] == "ft"]
    assert [r["MIA"] for r in again.records] == first
    other = run_benchmark(["ft"], ["random"], [0], recipe=RECIPE, n_oracles=2,
                          method_configs={"ft": SGDConfig(epochs=3)}, cache_dir=cache,
                          backend="serial", progress=False)
    assert other.n_computed == 1  # another value: a new point, not a stale one
    with pytest.raises(TypeError, match=r"method_configs\['ft'\] must be a mapping or a"):
        run_benchmark(["ft"], ["random"], [0], method_configs={"ft": [("epochs", 2)]})
