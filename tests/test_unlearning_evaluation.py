"""The shared evaluation pipeline (score, oracle summary, method × metric table) equals the
hand-written loop the unlearning claims used before, on a tiny digits instance."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning import metrics as mt  # noqa: E402
from theorylab.unlearning.data import load_digits_split  # noqa: E402
from theorylab.unlearning.evaluation import (  # noqa: E402
    KEYS,
    classifier_scorer,
    evaluate_methods,
    oracle_summary,
)
from theorylab.unlearning.methods import Subset, apply_method, get_method  # noqa: E402
from theorylab.unlearning.models import (  # noqa: E402
    Recipe,
    as_tensors,
    build_model,
    predict_logits,
    train_model,
)
from theorylab.unlearning.scenarios import class_forget  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    torch.set_num_threads(1)
    d = load_digits_split(rng=0)
    sp = class_forget(d.y_train, cls=3, y_test=d.y_test)
    X, y = as_tensors(d.X_train, d.y_train)
    Xt, _ = as_tensors(d.X_test, d.y_test)
    rec = Recipe(hidden=(16,), epochs=2, lr=3e-3)
    gen = lambda k: torch.Generator().manual_seed(k)
    original = train_model(build_model(rec, X.shape[1], 10, generator=gen(1)), X, y,
                           recipe=rec, generator=gen(2))
    ix = lambda a: torch.as_tensor(a)
    forget = Subset(X[ix(sp.forget)], y[ix(sp.forget)])
    retain = Subset(X[ix(sp.retain)], y[ix(sp.retain)])
    oracles = [train_model(build_model(rec, X.shape[1], 10, generator=gen(10 + k)), retain.X,
                           retain.y, recipe=rec, generator=gen(20 + k)) for k in range(2)]
    return d, sp, X, Xt, original, forget, retain, oracles


def _hand_score(m, d, sp, X, Xt):
    z = predict_logits(m, X).double().cpu().numpy()
    zt = predict_logits(m, Xt).double().cpu().numpy()
    r = mt.accuracy_family(z, d.y_train, zt, d.y_test, forget=sp.forget, retain=sp.retain,
                           forget_test=sp.forget_test, retain_test=sp.retain_test)
    p, pt = mt.softmax(z), mt.softmax(zt)
    r["MIA"] = mt.svc_mia(p[sp.retain], d.y_train[sp.retain], pt, d.y_test, p[sp.forget],
                          d.y_train[sp.forget], features=("confidence",))["confidence"]
    return r


def test_evaluate_methods_equals_the_hand_built_pipeline(tiny):
    d, sp, X, Xt, original, forget, retain, oracles = tiny
    # the hand-built loop: oracle mean/std, then each method on the original with a fresh
    # generator of seed 99, scored, gaps and Avg.Gap to the oracle mean
    orc = [_hand_score(m, d, sp, X, Xt) for m in oracles]
    o_mean = {k: float(np.mean([o[k] for o in orc])) for k in orc[0]}
    o_std = {k: float(np.std([o[k] for o in orc], ddof=1)) for k in orc[0]}
    ga_cfg = get_method("ga").default_config(lr=1e-3)
    hand = {}
    for label, name, cfg in (("ft", "ft", None), ("ga_fast", "ga", ga_cfg)):
        spec = get_method(name)
        u, _ = apply_method(spec, original, forget, retain,
                            config=cfg or spec.default_config(),
                            generator=torch.Generator().manual_seed(99))
        met = _hand_score(u, d, sp, X, Xt)
        hand[label] = (met, mt.avg_gap(met, o_mean))

    score = classifier_scorer(X, d.y_train, Xt, d.y_test, sp, class_test=True)
    table = evaluate_methods(original, forget, retain, ["ft", ("ga_fast", "ga", ga_cfg)],
                             score=score, oracle_scores=[score(m) for m in oracles],
                             generator=lambda: torch.Generator().manual_seed(99))
    assert table.methods == ["ft", "ga_fast"]
    assert table.oracle_mean == o_mean
    assert table.oracle_std == o_std
    for label, (met, gap) in hand.items():
        assert table.metrics[label] == met
        assert table.avg_gap[label] == gap
        for k in KEYS:
            assert table.gaps[label][k] == abs(met[k] - o_mean[k])
        row = table.row(label)
        assert row["avg_gap"] == gap and row["UA_gap"] == table.gaps[label]["UA"]
    # the two methods really differ (the table does not repeat one row)
    assert table.metrics["ft"] != table.metrics["ga_fast"]


def test_oracle_summary_and_bad_inputs(tiny):
    mean, std = oracle_summary([{"UA": 0.25, "TA": 1.0}, {"UA": 0.75, "TA": 0.5}])
    assert mean == {"UA": 0.5, "TA": 0.75}
    assert std == pytest.approx({"UA": np.sqrt(0.125), "TA": np.sqrt(0.125)})
    assert oracle_summary([{"UA": 0.3}]) == ({"UA": 0.3}, {"UA": 0.0})
    with pytest.raises(ValueError, match="runs must hold at least one"):
        oracle_summary([])
    d, sp, X, Xt, original, forget, retain, oracles = tiny
    score = classifier_scorer(X, d.y_train, Xt, d.y_test, sp)
    runs = [score(m) for m in oracles]
    with pytest.raises(TypeError, match="generator must be a callable"):
        evaluate_methods(original, forget, retain, ["none"], score=score, oracle_scores=runs,
                         generator=torch.Generator())
    with pytest.raises(ValueError, match="missing"):
        evaluate_methods(original, forget, retain, ["none"], score=score, oracle_scores=runs,
                         generator=torch.Generator, keys=("UA", "nope"))
    with pytest.raises(ValueError, match="labels must be unique"):
        evaluate_methods(original, forget, retain, ["none", "none"], score=score,
                         oracle_scores=runs, generator=torch.Generator)
    with pytest.raises(TypeError, match="entries must be a name"):
        evaluate_methods(original, forget, retain, [("none", "none")], score=score,
                         oracle_scores=runs, generator=torch.Generator)
    t = evaluate_methods(original, forget, retain, ["none"], score=score, oracle_scores=runs,
                         generator=torch.Generator, keep_models=True)
    with pytest.raises(ValueError, match="method must be one of"):
        t.row("ft")
    # "none" returns the original's copy: its scores are the original's
    assert t.metrics["none"] == score(original)
    assert t.models["none"] is not original
