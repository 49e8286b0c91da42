"""Logit metrics pass while representation metrics fail: head-only retraining and random
labels (RL) reach the retrained model's forget accuracy but keep the original's features.

Paper: Kim, Cha & Kim 2025, "Are We Truly Forgetting? A Critical Re-examination of Machine
Unlearning Evaluation Protocols" (arXiv:2503.06991; Eng. Appl. of AI 167, 2026), the CKA and
k-NN analyses of ImageNet-1k class unlearning: "classifier-only" methods stay close to the
original model in feature space (high CKA to it) although their logit metrics look like
retraining's. The paper gives no single number for this; the testable form is ours.

Small faithful experiment: the upstream model is an MLP trained on all classes but two, which
form a downstream task (digits 0–7 upstream, {8, 9} downstream at smoke scale; Fashion-MNIST
without {Sneaker, Ankle boot}, 10 000 training images, at full scale). The forget class is
one similar to the downstream classes (digit 3; "Sandal", footwear like the downstream
classes). Retrained models: the same recipe on D_r from independent seeds. Unlearning
methods run through the harness: head-only retraining (``head_only``: the last layer
re-initialised and fitted on D_r with frozen features), RL, and as reported, not checked,
GA, FT, SalUn and SCRUB (harness defaults). Features: the input of the last layer.
Metrics: forget- and retain-class test accuracy (logit level); debiased linear CKA of θ_u's
forget-class test features to θ_o's and to the retrained models' (mean); forget-class
probe accuracy (multinomial logistic regression on frozen training features of all upstream
classes, scored on forget-class test images); downstream 5-NN accuracy (cosine).

Checks (acceptance stated before the first full run, kept): for head-only and RL
 (1) logit level passes: |forget-test acc − retrained's| <= 0.05;
 (2) representation fails: CKA(θ_u, θ_o) − CKA(θ_u, θ_r) on forget-class test features
     > (1 − CKA between two retrained models) + 0.05 — the retrained models' disagreement
     is the noise floor, 0.05 the margin above it;
 (3) forget-class probe accuracy > the retrained models' mean.
 The other side: one more retrained model, not among the oracles, must *not* meet (2) —
 retraining does forget in this sense, so the test can tell the two apart.
 Every check is taken on the worst seed (max/min over trials).

Smoke scale (digits; 61 forget-class test images) checks a subset, from the measured spread
over trial seeds 0–19 (2026-12-03): head-only's CKA excess over (1 − floor) + 0.05 was 0.027
to 0.128 (20/20 above 0, so (2) is kept for head-only), RL's was −0.057 to 0.157 (negative on
7/20 seeds), so for RL the smoke checks only that its forget features are closer to θ_o's
than to θ_r's (CKA gap > 0; it was 0.043 to 0.252); the probe accuracies are quantised at
1/61 and equal to retraining's on 1 (head-only) and 3 (RL) of the 20 seeds, so the smoke
asks >= instead of >. The logit-level checks and the other side are as at full scale.
"""

import numpy as np

from theorylab import claims
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_seeds, plot_theory
from theorylab.sweep import sweep

PAPER = "truly_forgetting2025"
CLAIM = ("Head-only retraining and random labels reach the retrained model's forget accuracy "
         "(within 0.05) while their forget-class features stay the original's: CKA to θ_o "
         "minus CKA to θ_r exceeds the retrain-vs-retrain noise floor by 0.05 and the "
         "forget-class probe accuracy exceeds retraining's.")
LABEL = "partial"
LABEL_REASON = ("MLP on digits/Fashion-MNIST, held-out classes as downstream task; "
                "not ImageNet ResNet-50")
SIZES = {
    "smoke": dict(dataset="digits", upstream_drop=(8, 9), cls=3, n_train=None,
                  hidden=(64, 64), epochs=30, lr=3e-3, n_oracles=2, seeds=1),
    "full": dict(dataset="fashion_mnist", upstream_drop=(7, 9), cls=5, n_train=10_000,
                 hidden=(256, 128), epochs=15, lr=1e-3, n_oracles=4, seeds=2),
}
CHECKED = ("head_only", "rl")
REPORTED = ("ga", "ft", "salun", "scrub")
MARGIN = 0.05


def _trial(dataset, upstream_drop, cls, n_train, hidden, epochs, lr, n_oracles, device, seed):
    import torch

    from theorylab.unlearning import metrics as mt
    from theorylab.unlearning.data import load_digits_split, load_fashion_mnist_split
    from theorylab.unlearning.methods import Subset, apply_method
    from theorylab.unlearning.models import (
        Recipe,
        as_tensors,
        build_model,
        predict_logits,
        train_model,
    )
    from theorylab.unlearning.representation import (
        cka_noise_floor,
        penultimate_features,
        representation_report,
    )
    from theorylab.unlearning.scenarios import class_forget

    torch.set_num_threads(1)
    if dataset == "digits":
        d = load_digits_split(rng=0)
    else:
        d = load_fashion_mnist_split(n_train=n_train, n_test=3_000, rng=0)
    # upstream task: every class but ``upstream_drop``, relabelled 0..K-1
    up = [c for c in range(10) if c not in upstream_drop]
    remap = np.full(10, -1)
    remap[up] = np.arange(len(up))
    keep, keep_t = np.isin(d.y_train, up), np.isin(d.y_test, up)
    ytr, yte = remap[d.y_train[keep]], remap[d.y_test[keep_t]]
    sp = class_forget(ytr, cls=int(remap[cls]), y_test=yte)
    X, y = as_tensors(d.X_train[keep], ytr, device=device)
    Xt, yt = as_tensors(d.X_test[keep_t], yte, device=device)
    down, down_t = ~keep, ~keep_t
    dX, _ = as_tensors(d.X_train[down], d.y_train[down], device=device)
    dXt, _ = as_tensors(d.X_test[down_t], d.y_test[down_t], device=device)
    downstream = (dX, d.y_train[down], dXt, d.y_test[down_t])
    K = len(up)
    rec = Recipe(hidden=tuple(hidden), epochs=epochs, lr=lr)
    ix = lambda a: torch.as_tensor(a, device=X.device)
    forget = Subset(X[ix(sp.forget)], y[ix(sp.forget)])
    retain = Subset(X[ix(sp.retain)], y[ix(sp.retain)])
    Xf, Xr = Xt[ix(sp.forget_test)], Xt[ix(sp.retain_test)]
    gen = lambda k: torch.Generator().manual_seed(1000 * seed + k)
    fresh = lambda k: build_model(rec, X.shape[1], K, generator=gen(k), device=device)

    def logit(m):
        zt = predict_logits(m, Xt).double().cpu().numpy()
        return {"forget_acc": mt.accuracy(zt[sp.forget_test], yte[sp.forget_test]),
                "retain_acc": mt.accuracy(zt[sp.retain_test], yte[sp.retain_test])}

    original = train_model(fresh(1), X, y, recipe=rec, generator=gen(2))
    retrained = [train_model(fresh(10 + j), retain.X, retain.y, recipe=rec,
                             generator=gen(30 + j)) for j in range(n_oracles + 1)]
    oracles, control = retrained[:n_oracles], retrained[n_oracles]
    floor, floor_sd = cka_noise_floor([penultimate_features(m, Xf) for m in oracles])
    out = {"floor": floor, "floor_sd": floor_sd}

    def report(name, m):
        r = logit(m)
        r.update(representation_report(m, original=original, retrained=oracles, X_fit=X,
                                       y_fit=ytr, X_forget=Xf, y_forget=yte[sp.forget_test],
                                       X_retain=Xr, downstream=downstream))
        r["cka_gap_forget"] = r["cka_original_forget"] - r["cka_retrained_forget"]
        out.update({f"{name}_{k}": v for k, v in r.items()})

    report("orig", original)
    report("control", control)
    orc = [logit(m) for m in oracles]
    for k in ("forget_acc", "retain_acc"):
        out[f"oracle_{k}"] = float(np.mean([o[k] for o in orc]))
    feats = [penultimate_features(m, X) for m in oracles]
    f_forget = [penultimate_features(m, Xf) for m in oracles]
    from theorylab.unlearning.representation import knn_accuracy, probe_accuracy

    yf = yte[sp.forget_test]
    out["oracle_probe_forget"] = float(np.mean(
        [probe_accuracy(a, ytr, b, yf) for a, b in zip(feats, f_forget, strict=True)]))
    out["oracle_knn_forget"] = float(np.mean(
        [knn_accuracy(a, ytr, b, yf) for a, b in zip(feats, f_forget, strict=True)]))
    out["oracle_knn_downstream"] = float(np.mean(
        [knn_accuracy(penultimate_features(m, dX), downstream[1],
                      penultimate_features(m, dXt), downstream[3]) for m in oracles]))
    for meth in (*CHECKED, *REPORTED):
        u, _ = apply_method(meth, original, forget, retain, generator=gen(99), device=device)
        report(meth, u)
    return out


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="truly_forgetting2025_logit_vs_representation", paper=PAPER,
                      statement=CLAIM, scale=scale, seed=seed)
    point = {k: cfg[k] for k in ("dataset", "upstream_drop", "cls", "n_train", "hidden",
                                 "epochs", "lr", "n_oracles")}
    point["device"] = claims.device()
    sw = sweep(_trial, [point], seeds=[100 * seed + k for k in range(cfg["seeds"])],
               backend="serial" if scale == "smoke" else None,
               desc="logit vs representation")
    a = {k: np.asarray(sw.array(k)[0], dtype=float) for k in sw.values[0][0]}
    need = (1 - a["floor"]) + MARGIN
    strict = scale != "smoke"
    for m in CHECKED:
        gap = np.abs(a[f"{m}_forget_acc"] - a["oracle_forget_acc"])
        res.add(Check.at_most(f"{m}: |forget-test acc − retrained's| (max over trials)",
                              float(gap.max()), 0.05,
                              detail=f"{m} {a[f'{m}_forget_acc'].mean():.3f}, retrained "
                                     f"{a['oracle_forget_acc'].mean():.3f}, original "
                                     f"{a['orig_forget_acc'].mean():.3f}"))
        cka_detail = (f"CKA to θ_o {a[f'{m}_cka_original_forget'].mean():.3f}, to θ_r "
                      f"{a[f'{m}_cka_retrained_forget'].mean():.3f}, floor "
                      f"{a['floor'].mean():.3f} ± {a['floor_sd'].mean():.3f}")
        if strict or m == "head_only":
            excess = a[f"{m}_cka_gap_forget"] - need
            res.add(Check.true(
                f"{m}: CKA(θ_u,θ_o) − CKA(θ_u,θ_r) on forget features > (1 − floor) + "
                f"{MARGIN} (min over trials)", bool(excess.min() > 0),
                measured=float(excess.min()), detail=cka_detail))
        else:  # smoke: RL's forget features are closer to θ_o's than to θ_r's
            res.add(Check.true(
                f"{m}: CKA(θ_u,θ_o) − CKA(θ_u,θ_r) on forget features > 0 (smoke; min over "
                "trials)", bool(a[f"{m}_cka_gap_forget"].min() > 0),
                measured=float(a[f"{m}_cka_gap_forget"].min()), detail=cka_detail))
        pgap = a[f"{m}_probe_forget"] - a["oracle_probe_forget"]
        res.add(Check.true(f"{m}: forget-class probe acc {'>' if strict else '>='} "
                           "retrained's (min over trials)",
                           bool(pgap.min() > 0 if strict else pgap.min() >= 0),
                           measured=float(pgap.min()),
                           detail=f"{m} {a[f'{m}_probe_forget'].mean():.3f}, retrained "
                                  f"{a['oracle_probe_forget'].mean():.3f}"))
    cexcess = a["control_cka_gap_forget"] - need
    res.add(Check.true("other side: a held-out retrained model does not meet the "
                       "representation-fail criterion (max over trials)",
                       bool(cexcess.max() <= 0), measured=float(cexcess.max()),
                       detail=f"CKA to θ_o {a['control_cka_original_forget'].mean():.3f}, "
                              f"to θ_r {a['control_cka_retrained_forget'].mean():.3f}"))
    res.data.update({k: v for k, v in a.items()})
    res.data["config"] = dict(cfg)

    names = ("control", *CHECKED, *REPORTED)
    x = np.arange(len(names), dtype=float)
    fig, axes = new_figure(2, title=f"Logit vs representation metrics ({cfg['dataset']})")
    plot_seeds(axes[0], x, np.stack([a[f"{m}_forget_acc"] for m in names]), color=color(0),
               label="forget-test accuracy")
    plot_seeds(axes[0], x + 0.05, np.stack([a[f"{m}_cka_gap_forget"] for m in names]),
               color=color(1), label="CKA to θ_o − CKA to θ_r")
    plot_theory(axes[0], x, np.full(x.size, need.mean()), label="(1 − floor) + 0.05",
                color=color(1))
    plot_theory(axes[0], x, np.full(x.size, a["oracle_forget_acc"].mean()),
                label="retrained forget accuracy", color=color(0))
    lab = " / ".join(f"{i} = {m}" for i, m in enumerate(names))
    finish(axes[0], xlabel=lab, ylabel="value", title="logit passes, representation fails")
    plot_seeds(axes[1], x, np.stack([a[f"{m}_probe_forget"] for m in names]), color=color(2),
               label="forget-class probe")
    plot_seeds(axes[1], x + 0.05, np.stack([a[f"{m}_knn_downstream"] for m in names]),
               color=color(3), label="downstream 5-NN")
    plot_theory(axes[1], x, np.full(x.size, a["oracle_probe_forget"].mean()),
                label="retrained probe", color=color(2))
    plot_theory(axes[1], x, np.full(x.size, a["oracle_knn_downstream"].mean()),
                label="retrained downstream 5-NN", color=color(3))
    finish(axes[1], xlabel=lab, ylabel="accuracy", title="frozen-feature accuracy")
    res.figure = fig
    res.caveats.append(
        "MLP stand-in for ResNet-50; one forget class similar to the downstream classes; "
        "whole-split debiased CKA, not the reference code's per-batch average; baselines at "
        "harness defaults (GA, FT, SalUn, SCRUB reported, not checked).")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
