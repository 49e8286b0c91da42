"""The identity-unlearning benchmark is sensitive and fair: the simple loss-MIA separates the
forgotten identities from unseen ones for the original model but not for the retrained
oracle, so NoMUS ranks retraining above no unlearning.

Paper: Choi & Na 2023 (arXiv:2311.02240), MUFAC benchmark and NoMUS; numbers from the public
reference code's README (MUFAC, ResNet-18 from scratch): Original test accuracy 0.5951,
forgetting score 0.2136, NoMUS 0.5839; Retrained 0.4880, 0.0445, 0.6995; fine-tuning 0.6055,
0.2129, 0.5898; NegGrad 0.4048, 0.0485, 0.6539; SCRUB 0.5984, 0.1415, 0.6577; Advanced NegGrad
0.5633, 0.0953, 0.6863; CF-3 0.5900, 0.2126, 0.5824.

Small faithful experiment (no face data on CPU): 120 pseudo-identities built from scikit-learn
digits, each owning one image of every digit (the task label does not depend on the person)
and stamping it with a private style (a random pattern of amplitude 0.15 and a fixed one-pixel
shift); identities split 70 train-retain / 10 train-forget / 20 test / 20 unseen. MLP
64-128-64-10, Adam 1e-3, batches of 64, trained to memorise (forget-set accuracy ≈ 1).
Forgetting score = |acc − 0.5| of the simple MIA (logistic regression on the per-sample
cross-entropy, forget images = members vs unseen-identity images = non-members, equal sizes,
mean accuracy over 10 stratified shuffle splits); NoMUS = 0.5·TA + 0.5·(1 − 2·score).

Conditions checked (project acceptance, the paper states no threshold): the original's
forgetting score >= 0.10 and the retrained oracles' <= 0.05 (means over seeds and oracles),
NoMUS(retrained, oracle mean) > NoMUS(original) in every seed. The other side: fine-tuning on
D_r alone (the reference table's FT, 0.2129 vs the original's 0.2136) keeps a forgetting score
>= 0.10, i.e. the benchmark does not reward a method that never touches D_f. The baselines of
the table (CF-k, NegGrad, Advanced NegGrad, SCRUB) run at full scale and are reported as gaps
to the oracle mean with the oracles' spread; their ranking is not checked (the reference
hyperparameters are for ResNet-18 and are retuned here, see ``SIZES``). Full scale also
reports, without checking them, the same methods under a class deletion request (digit 3) on
the same data, and per-image U-LiRA AUCs (unlearned shadows vs retrained shadows) per method.

Scales: full follows the design above (120 identities, 10 forget, 5 seeds, 5 oracles, 60
epochs, Adam 1e-3) with the project acceptance bounds. Smoke (one seed, 3 oracles, 30 epochs,
Adam 3e-3) uses every digit image it can: 170 identities split 70 retain / 40 forget / 20 test
/ 40 unseen, because the attack's spread is set by the number of identities, not images: with
10 forget identities a single seed's retrained score reached 0.10 and the original's fell to
0.02 (identity-level effects: some styles are harder for every model).
Tolerance (smoke), measured over trial seeds 0-19 on 2026-12-03: original forgetting score
0.083-0.139 (mean 0.109), retrained (mean of 3 oracles) 0.005-0.048 (mean 0.020), NoMUS
difference 0.015-0.11 (mean 0.063), fine-tuning 0.069-0.135 (mean 0.104). Smoke bounds:
original >= 0.06, retrained <= 0.07, NoMUS difference > 0, fine-tuning >= 0.05 — each beyond
the 20-seed extreme, so any seed passes while a benchmark that cannot tell members from
non-members (score ~0.02 for both) fails.
"""

import numpy as np

from theorylab import claims
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_seeds, plot_theory
from theorylab.sweep import sweep

PAPER = "choi2023_mufac"
CLAIM = ("On task-agnostic identity forgetting the simple loss-MIA detects the forgotten "
         "identities in the original model (forgetting score >= 0.10) but not in retrained "
         "models (<= 0.05), so NoMUS ranks retraining above no unlearning; fine-tuning on "
         "the retain set alone does not forget.")
LABEL = "partial"
LABEL_REASON = "pseudo-identities on digits with an MLP, not MUFAC faces with ResNet-18"
_METHOD_CONFIGS = {
    "ft": {"lr": 1e-2, "epochs": 5, "momentum": 0.9},
    "cf_k": {"k": 2, "lr": 1e-2, "epochs": 5, "momentum": 0.9},
    "ga": {"lr": 1e-2, "epochs": 5, "momentum": 0.9},
    "adv_neggrad": {"lr": 5e-3, "epochs": 5},
    "scrub": {},
}
SIZES = {
    "smoke": dict(ids=(170, 40, 20, 40), epochs=30, lr=3e-3, n_oracles=3, seeds=1,
                  methods=("ft",), orig_bound=0.06, oracle_bound=0.07, ft_bound=0.05,
                  contrast=False, ulira_shadows=0),
    "full": dict(ids=(120, 10, 20, 20), epochs=60, lr=1e-3, n_oracles=5, seeds=5,
                 methods=("ft", "cf_k", "ga", "adv_neggrad", "scrub"), orig_bound=0.10,
                 oracle_bound=0.05, ft_bound=0.10, contrast=True, ulira_shadows=62),
}
_KEYS = ("TA", "forgetting_score", "NoMUS", "forget_acc", "MIA_svc")


def _trial(ids, epochs, lr, n_oracles, methods, contrast, device, seed):
    import torch

    from theorylab.unlearning.models import Recipe
    from theorylab.unlearning.mufac import (
        class_forget_variant,
        identity_benchmark,
        make_identity_data,
    )

    torch.set_num_threads(1)
    n_id, n_forget, n_test, n_unseen = ids
    data = make_identity_data(source="digits", n_identities=n_id, n_forget=n_forget,
                              n_test=n_test, n_unseen=n_unseen, amplitude=0.15, rng=seed)
    bench = lambda d: identity_benchmark(
        d, list(methods), recipe=Recipe(arch="mlp", hidden=(128, 64), epochs=epochs, lr=lr),
        n_oracles=n_oracles, seed=seed, device=device,
        method_configs={m: _METHOD_CONFIGS[m] for m in methods})
    res = bench(data)
    out = {}
    for k in _KEYS:
        out[f"orig_{k}"] = res["original"][k]
        out[f"oracle_{k}"] = res["oracle_mean"][k]
        out[f"oracle_std_{k}"] = res["oracle_std"][k]
        for m in methods:
            out[f"{m}_{k}"] = res["methods"][m][k]
    if contrast:  # the same images and models, a class deletion request (digit 3)
        cres = bench(class_forget_variant(data, cls=3))
        for k in _KEYS:
            out[f"class_orig_{k}"] = cres["original"][k]
            out[f"class_oracle_{k}"] = cres["oracle_mean"][k]
            for m in methods:
                out[f"class_{m}_{k}"] = cres["methods"][m][k]
    for m in methods:
        out[f"{m}_RTE"] = res["methods"][m]["RTE"]
    out["train_time_s"] = res["train_time_s"]
    out["oracle_time_s"] = res["oracle_time_s"]
    return out


def _ulira(ids, epochs, lr, methods, n_shadows, device, seed):
    import torch

    from theorylab.unlearning.models import Recipe
    from theorylab.unlearning.mufac import identity_ulira_methods, make_identity_data

    torch.set_num_threads(1)
    n_id, n_forget, n_test, n_unseen = ids
    data = make_identity_data(source="digits", n_identities=n_id, n_forget=n_forget,
                              n_test=n_test, n_unseen=n_unseen, amplitude=0.15, rng=seed)
    recipe = Recipe(arch="mlp", hidden=(128, 64), epochs=epochs, lr=lr)
    # one pair of ensembles (originals, oracles) serves every method
    configs = {m: _METHOD_CONFIGS.get(m, {}) for m in ("none", *methods)}
    res = identity_ulira_methods(data, configs, recipe=recipe, n_shadows=n_shadows,
                                 n_targets=2, seed=seed, device=device)
    return {f"ulira_{m}_{k}": v for m, r in res.items() for k, v in r.items()}


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="choi2023_mufac_identity", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    point = dict(ids=cfg["ids"], epochs=cfg["epochs"], lr=cfg["lr"],
                 n_oracles=cfg["n_oracles"], methods=cfg["methods"],
                 contrast=cfg["contrast"], device=claims.device())
    sw = sweep(_trial, [point], seeds=[100 * seed + k for k in range(cfg["seeds"])],
               backend="serial" if scale == "smoke" else None, desc="MUFAC identity")
    a = {k: sw.array(k)[0] for k in sw.values[0][0]}
    fs_o, fs_r = a["orig_forgetting_score"], a["oracle_forgetting_score"]
    spread = (f"oracle std over {cfg['n_oracles']} oracles "
              f"{a['oracle_std_forgetting_score'].mean():.3f}")
    res.add(Check.at_least("original forgetting score (mean over seeds)", float(fs_o.mean()),
                           cfg["orig_bound"], detail=f"per seed {np.round(fs_o, 3).tolist()}"))
    res.add(Check.at_most("retrained forgetting score (mean over seeds and oracles)",
                          float(fs_r.mean()), cfg["oracle_bound"], detail=spread))
    gap = a["oracle_NoMUS"] - a["orig_NoMUS"]
    res.add(Check.at_least("NoMUS(retrained) − NoMUS(original) (min over seeds)",
                           float(gap.min()), 1e-12,
                           detail=f"retrained {a['oracle_NoMUS'].mean():.3f}, original "
                           f"{a['orig_NoMUS'].mean():.3f}"))
    res.add(Check.at_least("fine-tuning on D_r: forgetting score (mean over seeds)",
                           float(a["ft_forgetting_score"].mean()), cfg["ft_bound"],
                           detail="gap to the oracle mean "
                           f"{abs(a['ft_forgetting_score'] - fs_r).mean():.3f}"))
    res.data.update({k: v for k, v in a.items()})
    if cfg["ulira_shadows"]:  # per-image U-LiRA on the first trial seed only (cost)
        sw2 = sweep(_ulira, [dict(ids=cfg["ids"], epochs=cfg["epochs"], lr=cfg["lr"],
                                  methods=cfg["methods"], n_shadows=cfg["ulira_shadows"],
                                  device=claims.device())],
                    seeds=[100 * seed], backend="serial", desc="U-LiRA")
        u = sw2.values[0][0]
        res.data.update(u)
        res.caveats.append(
            f"U-LiRA AUC on the forget images ({cfg['ulira_shadows']} + "
            f"{cfg['ulira_shadows']} shadows, 2 + 2 targets, seed {100 * seed}; 0.5 = "
            "indistinguishable from retraining), TPR at 1 % FPR in brackets: " + ", ".join(
                f"{m} {u[f'ulira_{m}_AUC']:.3f} ({u[f'ulira_{m}_TPR@1%']:.3f})"
                for m in ("none", *cfg["methods"])))
    res.data["config"] = {**cfg, "method_configs": {m: _METHOD_CONFIGS[m]
                                                    for m in cfg["methods"]}}

    names = ["original", "retrained", *cfg["methods"]]
    fig, axes = new_figure(2, title="identity unlearning on pseudo-identity digits")
    x = np.arange(len(names), dtype=float)
    for ax, key, title in ((axes[0], "forgetting_score", "forgetting score |acc − 0.5|"),
                           (axes[1], "NoMUS", "NoMUS")):
        samples = np.stack([a[f"orig_{key}"], a[f"oracle_{key}"],
                            *[a[f"{m}_{key}"] for m in cfg["methods"]]])
        plot_seeds(ax, x, samples, color=color(0))
        if key == "forgetting_score":
            plot_theory(ax, x, np.full(x.size, cfg["oracle_bound"]),
                        label=f"oracle bound {cfg['oracle_bound']}", color=color(1))
            plot_theory(ax, x, np.full(x.size, cfg["orig_bound"]),
                        label=f"original bound {cfg['orig_bound']}", color=color(2))
        ax.set_xticks(x, names, rotation=30, fontsize=7)
        finish(ax, ylabel=key, title=title)
    res.figure = fig
    if cfg["contrast"]:
        def ranking(prefix):
            names = {"orig": "original", "oracle": "retrained", **{m: m for m in cfg["methods"]}}
            score = {v: float(np.nanmean(a[f"{prefix}{k}_NoMUS"])) if
                     np.isfinite(a[f"{prefix}{k}_NoMUS"]).any() else float("nan")
                     for k, v in names.items()}
            order = sorted((v for v in score if np.isfinite(score[v])), key=lambda v: -score[v])
            return " > ".join(f"{v} {score[v]:.3f}" for v in order)
        res.caveats.append("NoMUS ranking, identity forgetting: " + ranking(""))
        res.caveats.append("NoMUS ranking, class forgetting (digit 3) on the same data, not "
                           "checked (unseen class-3 images are few): " + ranking("class_"))
    res.caveats.append(
        "Stand-in for MUFAC (faces, ResNet-18): pseudo-identities on digits, small MLP; "
        "method hyperparameters retuned for the small model; thresholds are project "
        "acceptance values.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
