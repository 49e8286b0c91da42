"""Concept-guided poisoning forgets a class while sparing its concept neighbours better than
gradient ascent at the same level of forgetting.

Paper: Chang, Zhu, Xu, Liu & Zhou 2024, "Class Machine Unlearning for Complex Data via
Concepts Inference and Data Poisoning" (arXiv:2405.15662): concepts of a class are inferred
with a post-hoc concept bottleneck (PCBM) and Integrated Gradients, and the class is unlearned
by poisoning (random or targeted labels); the paper states that it erases the target while
"largely maintaining" the rest (no number in the abstract). Over-unlearning is the accuracy
lost on retain classes that share concepts with the forgotten class.

Small experiment: scikit-learn digits, the harness CNN (MLP 64-64 at smoke scale), forget
class 8. Concept bank: 12 pixel-region concepts (bars, strokes, loops, hole, diagonals, hook,
descender); CAVs are logistic probes on the penultimate features, the PCBM an elastic-net
head on the 12 concept scores; the two concept neighbours of class 8 are the classes with the
most similar IG importance profiles. Methods: ``concept_poison`` with random, targeted
(most concept-similar class) or per-sample concept labels; GA with its learning rate chosen
per seed as the smallest on a grid that brings the forget-class test accuracy to <= 0.05
(matched forgetting); RL, FT and SCRUB at the harness defaults; retraining on D_r (2 seeds)
as the oracle.

Checks (acceptance stated before the first full run, from the paper's description):

- PCBM gate: the PCBM's test accuracy is within 0.05 of the model's (mean over seeds),
  otherwise the concepts are too weak to guide anything;
- the poisoning variant is chosen on a separate selection seed (fewest neighbour points lost
  among variants reaching forget accuracy <= 0.05); on the evaluation seeds its mean
  forget-class test accuracy is <= 0.05;
- its mean accuracy drop on the two concept-neighbour classes (original − unlearned,
  5 evaluation seeds) is smaller than GA's at matched forgetting.

Smoke (one seed, the per-sample concept labels fixed, no selection seed, 1 oracle): the PCBM
gate on the single seed at -0.06 (the gap's spread over the 5 full-scale seeds: mean -0.030,
std 0.008, range -0.041…-0.020; a single seed gets 3 std below the mean instead of the mean's
-0.05), forget-class test accuracy <= 0.05, and concept poisoning loses at most 0.05 on the
concept neighbours (full-scale seeds: -0.018…0.000); GA's matched drop is reported but not
compared on one seed (at full scale it is 0 on one of five seeds).
"""

import numpy as np

from theorylab import claims
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_seeds, plot_theory
from theorylab.sweep import sweep

PAPER = "concept_poisoning2024"
CLAIM = ("Concept-guided poisoning removes a class (test accuracy <= 5 %) while losing fewer "
         "accuracy points on its concept-neighbour classes than gradient ascent.")
LABEL = "partial"
LABEL_REASON = "digits and a pixel-region concept bank instead of CIFAR with CLIP concepts"
VARIANTS = ("random", "targeted", "concept")
GA_LRS = (1e-3, 1.25e-3, 1.5e-3, 2e-3, 2.5e-3, 3e-3, 5e-3)
SIZES = {
    "smoke": dict(arch="cnn", hidden=(128, 64), epochs=20, lr=3e-3, cls=8, n_oracles=1,
                  variants=("concept",), baselines=(), seeds=1, select_seed=False),
    "full": dict(arch="cnn", hidden=(128, 64), epochs=20, lr=3e-3, cls=8, n_oracles=2,
                 variants=VARIANTS, baselines=("rl", "ft", "scrub"), seeds=5,
                 select_seed=True),
}


def _trial(arch, hidden, epochs, lr, cls, n_oracles, variants, baselines, device, seed):
    import torch

    from theorylab.unlearning import concept as cc
    from theorylab.unlearning.data import load_digits_split
    from theorylab.unlearning.methods import Subset, apply_method, get_method
    from theorylab.unlearning.models import (
        Recipe,
        as_tensors,
        build_model,
        predict_logits,
        train_model,
    )
    from theorylab.unlearning.scenarios import class_forget

    torch.set_num_threads(1)
    d = load_digits_split(rng=0)
    X, y = as_tensors(d.X_train, d.y_train, device=device)
    Xt, _ = as_tensors(d.X_test, d.y_test, device=device)
    rec = Recipe(arch=arch, hidden=tuple(hidden), epochs=epochs, lr=lr)
    gen = lambda k: torch.Generator().manual_seed(1000 * seed + k)
    fresh = lambda k: build_model(rec, X.shape[1], 10, generator=gen(k),
                                  image_shape=d.image_shape, device=device)
    original = train_model(fresh(1), X, y, recipe=rec, generator=gen(2)).eval()
    cm = cc.fit_concept_model(original, X, d.y_train, image_shape=d.image_shape, n_classes=10)
    nb = cc.concept_neighbours(cm, cls, k=2)
    ta = float((predict_logits(original, Xt).argmax(1).cpu().numpy() == d.y_test).mean())
    pcbm_ta = float((cm.logits(cc.embedding_features(original, Xt)).argmax(1) == d.y_test).mean())
    out = {"model_TA": ta, "pcbm_TA": pcbm_ta, "neighbour0": int(nb[0]),
           "neighbour1": int(nb[1])}
    groups = lambda m: cc.class_group_accuracy(m, Xt, d.y_test, forget_class=cls, neighbours=nb)
    put = lambda name, g: out.update({f"{name}_{k}": v for k, v in g.items()
                                      if k in ("forget_acc", "neighbour_acc", "other_acc")})
    put("orig", groups(original))
    sp = class_forget(d.y_train, cls=cls, y_test=d.y_test)
    ix = lambda a: torch.as_tensor(a, device=X.device)
    forget = Subset(X[ix(sp.forget)], y[ix(sp.forget)])
    retain = Subset(X[ix(sp.retain)], y[ix(sp.retain)])
    orc = [groups(train_model(fresh(10 + k), retain.X, retain.y, recipe=rec,
                              generator=gen(20 + k)).eval()) for k in range(n_oracles)]
    for key in ("forget_acc", "neighbour_acc", "other_acc"):
        vals = [o[key] for o in orc]
        out[f"oracle_{key}"] = float(np.mean(vals))
        out[f"oracle_{key}_std"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
    for v in variants:
        cfg = cc.ConceptPoisonConfig(labels=v, image_shape=d.image_shape)
        u, _ = apply_method("concept_poison", original, forget, retain, config=cfg,
                            generator=gen(99), device=device)
        put(f"cp_{v}", groups(u))
    ga = get_method("ga")
    for j, glr in enumerate(GA_LRS):  # smallest lr reaching forget accuracy <= 0.05
        u, _ = apply_method(ga, original, forget, retain, config=ga.default_config(lr=glr),
                            generator=gen(99), device=device)
        g = groups(u)
        if g["forget_acc"] <= 0.05 or j == len(GA_LRS) - 1:
            put("ga", g)
            out["ga_lr"] = glr
            break
    for meth in baselines:
        u, _ = apply_method(meth, original, forget, retain, generator=gen(99), device=device)
        put(meth, groups(u))
    return out


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="concept_poisoning2024_neighbours", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    point = {k: cfg[k] for k in ("arch", "hidden", "epochs", "lr", "cls", "n_oracles",
                                 "variants", "baselines")}
    point["device"] = claims.device()
    variants = cfg["variants"]
    if cfg["select_seed"]:  # choose the poisoning variant on a separate seed
        sel = sweep(_trial, [point], seeds=[100 * seed + 99], backend="serial",
                    desc="concept poisoning (selection seed)").values[0][0]
        ok = [v for v in variants if sel[f"cp_{v}_forget_acc"] <= 0.05] or list(variants)
        chosen = min(ok, key=lambda v: sel["orig_neighbour_acc"] - sel[f"cp_{v}_neighbour_acc"])
    else:
        chosen = variants[0]
    sw = sweep(_trial, [point], seeds=[100 * seed + k for k in range(cfg["seeds"])],
               backend="serial", desc="concept poisoning")
    rows = sw.values[0]
    a = {k: np.asarray([r[k] for r in rows], dtype=float) for k in rows[0]}
    drop = lambda name: a["orig_neighbour_acc"] - a[f"{name}_neighbour_acc"]

    gate = -0.05 if scale == "full" else -0.06
    res.add(Check.at_least("PCBM test accuracy − model test accuracy (mean over seeds)",
                           float((a["pcbm_TA"] - a["model_TA"]).mean()), gate,
                           detail=f"PCBM {a['pcbm_TA'].mean():.3f}, model "
                                  f"{a['model_TA'].mean():.3f}; neighbours of class "
                                  f"{cfg['cls']}: " + ", ".join(
                                      f"({int(p)}, {int(q)})" for p, q in
                                      zip(a["neighbour0"], a["neighbour1"], strict=True))))
    res.add(Check.at_most(f"forget-class test accuracy of concept poisoning ({chosen})",
                          float(a[f"cp_{chosen}_forget_acc"].mean()), 0.05,
                          detail=f"original {a['orig_forget_acc'].mean():.3f}, retrained "
                                 f"{a['oracle_forget_acc'].mean():.3f}"))
    others = ", ".join(f"{m} {drop(m).mean():.3f}"
                       for m in (*[f"cp_{v}" for v in variants], *cfg["baselines"]))
    diff = float(drop(f"cp_{chosen}").mean() - drop("ga").mean())
    o_drop = float((a["orig_neighbour_acc"] - a["oracle_neighbour_acc"]).mean())
    detail = (f"concept {drop(f'cp_{chosen}').mean():.3f}, GA {drop('ga').mean():.3f} (lr "
              f"{a['ga_lr'].tolist()}, forget {a['ga_forget_acc'].mean():.3f}); {others}; "
              f"retrained {o_drop:.3f} ± {a['oracle_neighbour_acc_std'].mean():.3f}")
    if scale == "full":
        # strictly smaller: equal drops (both 0) would not show that GA over-unlearns
        res.add(Check.true("neighbour-class accuracy drop: concept poisoning < GA (matched)",
                           diff < 0.0, measured=diff, expected="< 0", detail=detail))
    else:
        res.add(Check.at_most("neighbour-class accuracy drop of concept poisoning",
                              float(drop(f"cp_{chosen}").mean()), 0.05, detail=detail))
    res.data.update(a)
    res.data["chosen_variant"] = chosen
    res.data["config"] = dict(cfg)

    fig, axes = new_figure(2, title="concept-guided poisoning vs GA (digits, class "
                                    f"{cfg['cls']})")
    names = [f"cp_{v}" for v in variants] + ["ga", *cfg["baselines"]]
    x = np.arange(len(names), dtype=float)
    plot_seeds(axes[0], x, np.stack([drop(m) for m in names]), color=color(0))
    plot_theory(axes[0], x, np.full(x.size, float(
        (a["orig_neighbour_acc"] - a["oracle_neighbour_acc"]).mean())),
        label="retrained oracle", color=color(1))
    finish(axes[0], xlabel=" / ".join(f"{i} = {m}" for i, m in enumerate(names)),
           ylabel="accuracy drop on concept neighbours", title="over-unlearning")
    plot_seeds(axes[1], x, np.stack([a[f"{m}_forget_acc"] for m in names]), color=color(2),
               label="forget class (test)")
    plot_theory(axes[1], x, np.full(x.size, 0.05), label="acceptance 0.05", color=color(3))
    finish(axes[1], xlabel=" / ".join(f"{i} = {m}" for i, m in enumerate(names)),
           ylabel="test accuracy", title="forgetting")
    res.figure = fig
    res.caveats.append(
        "Pixel-region concepts on 8×8 digits stand in for CLIP concept banks; how the paper "
        "lets concepts choose the poisoned labels is unconfirmed (three variants compared).")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
