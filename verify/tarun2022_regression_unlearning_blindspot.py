"""Blindspot unlearning forgets a target range of a regression model: its forget-set MAE
rises to that of a model retrained without the range, while predictions outside the range
are kept; plain fine-tuning on the retain set does not forget.

Paper: Tarun, Chundawat, Mandal & Kankanhalli, "Deep Regression Unlearning" (ICML 2023,
arXiv:2210.08196), Sec. 4 (Blindspot) and the AgeDB "forget ages 0–30" experiments; the
abstract gives no number and the table values were not retrieved. Small faithful analogue:
``make_friedman1`` (10 features, noise 1.0, standardised targets), forget every training point
whose target is in the lowest 30 %, MLP 10-64-64-1 trained with Adam and MSE. Forget
validation = the test points in the same target range ("in-range"); the other test points are
"out-of-range". Retrained oracles: the same recipe from scratch on D_r (several seeds; the gaps
below are to their mean, their spread is reported beside).

Methods: Blindspot — proxy trained 5 epochs on D_r (Adam 3e-3, L1), then 1 epoch on
D_f ∪ D_r shuffled together (Adam 1e-3, β = 50); the proxy schedule was chosen on friedman1
data seeds 2 and 3 among {2, 5, 10, 20} epochs × lr {1e-2, 3e-3}. Baselines with the reference
notebook's settings: Gaussian fine-tuning (forget targets replaced by one draw from
N(mean, std) of the training targets, 1 epoch on D, Adam 1e-3); FT (5 epochs on D_r, Adam 1e-3,
L1); GA (gradient ascent on L1(D_f), 5 epochs, Adam 1e-4, project choice). The other side,
also run: Blindspot with the notebook's proxy (2 epochs at lr 1e-2, noisy on this MLP) and with
a weak proxy (1 epoch on 30 % of D_r at lr 1e-3, 5 unlearning epochs) — when the proxy does not
fit D_r, the unlearned model overshoots the oracle's forget MAE.

Expected (project acceptance on a held-out data seed; data seeds 0–5 were used while choosing
the configuration; the claim uses seeds 1000·s + 7 + k): Blindspot's forget MAE within
25 % (relative) of the oracles' mean forget MAE, its out-of-range test MAE <= 1.1 × the
original's, and FT's forget MAE closer to the original's than to the oracles'.
Tolerance (smoke: friedman1 with 1 000 samples, 30 epochs, Adam 3e-3, 2 oracles, one trial):
measured over smoke seeds 0–19, Blindspot's relative forget-MAE gap was +0.12 on average,
between −0.16 and +0.58 (the 2-oracle mean itself varies by up to 28 %), and the out-of-range
ratio between 0.95 and 1.28; the smoke bounds 0.75 and 1.35 sit above those maxima so that any
seed passes. FT's forget MAE was closer to the original's on all 20 seeds. The full scale
(3 000 samples, 5 oracles, 3 trials) keeps the acceptance values 0.25 and 1.10.
"""

import numpy as np

from theorylab import claims
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_seeds, plot_theory
from theorylab.sweep import sweep

PAPER = "tarun2022_regression_unlearning"
CLAIM = ("Blindspot unlearning raises the forget-range MAE to the retrained model's while "
         "keeping predictions outside the range; fine-tuning on the retain set does not forget.")
LABEL = "partial"
LABEL_REASON = "friedman1/diabetes MLP stand-in for AgeDB/STS-B/electricity; AIN with MSE"
SIZES = {
    "smoke": dict(n_samples=1000, test_size=250, epochs=30, lr=3e-3, n_oracles=2, seeds=1,
                  rel_bound=0.75, out_bound=1.35, diabetes=False),
    "full": dict(n_samples=3000, test_size=750, epochs=50, lr=1e-3, n_oracles=5, seeds=3,
                 rel_bound=0.25, out_bound=1.10, diabetes=True),
}
METHODS = ("original", "oracle", "blindspot", "gaussian_ft", "reg_ft", "reg_ga",
           "blindspot_notebook", "blindspot_weak")
#: Blindspot configurations: the one the claim is about (proxy tuned on data seeds 2 and 3),
#: the reference notebook's defaults, and a weak proxy (1 epoch on 30 % of D_r)
BLINDSPOT = {"blindspot": dict(proxy_epochs=5, proxy_lr=3e-3),
             "blindspot_notebook": {},
             "blindspot_weak": dict(proxy_epochs=1, proxy_fraction=0.3, proxy_lr=1e-3,
                                    epochs=5)}


def _trial(dataset, n_samples, test_size, epochs, lr, n_oracles, device, seed):
    import time

    import torch

    from theorylab.unlearning import metrics as mt
    from theorylab.unlearning.data import load_diabetes_split, load_friedman1_split
    from theorylab.unlearning.evaluation import evaluate_methods
    from theorylab.unlearning.methods import Subset, get_method
    from theorylab.unlearning.models import (
        Recipe,
        as_tensors,
        build_model,
        predict_logits,
        train_model,
    )
    from theorylab.unlearning.scenarios import target_range_forget

    torch.set_num_threads(1)
    if dataset == "friedman1":
        d = load_friedman1_split(n_samples=n_samples, test_size=test_size, rng=seed)
    else:
        d = load_diabetes_split(rng=seed)
    sp = target_range_forget(d.y_train, quantile=0.3)
    in_range = d.y_test <= d.y_train[sp.forget].max()
    X, y = as_tensors(d.X_train, d.y_train, task="regression", device=device)
    Xt, yt = as_tensors(d.X_test, d.y_test, task="regression", device=device)
    recipe = Recipe(hidden=(64, 64), epochs=epochs, lr=lr, task="regression")
    ix = lambda a: torch.as_tensor(a, device=X.device)
    fresh = lambda k: build_model(recipe, X.shape[1], 1, device=device,
                                  generator=torch.Generator().manual_seed(1000 * seed + k))

    def score(m):
        p = predict_logits(m, X)[:, 0].double().cpu().numpy()
        pt = predict_logits(m, Xt)[:, 0].double().cpu().numpy()
        r = mt.mae_family(p, d.y_train, pt, d.y_test, forget=sp.forget, retain=sp.retain)
        e, loss = np.abs(pt - d.y_test), np.abs(p - d.y_train)
        r["MAE_tin"], r["MAE_tout"] = float(e[in_range].mean()), float(e[~in_range].mean())
        r["MIA"] = mt.regression_svc_mia(loss[sp.retain], e, loss[sp.forget])
        return r

    original = train_model(fresh(0), X, y, recipe=recipe,
                           generator=torch.Generator().manual_seed(1000 * seed + 500))
    forget = Subset(X[ix(sp.forget)], y[ix(sp.forget)])
    retain = Subset(X[ix(sp.retain)], y[ix(sp.retain)])
    oracles, times = [], []
    for k in range(n_oracles):
        t0 = time.perf_counter()
        oracles.append(train_model(fresh(k + 1), retain.X, retain.y, recipe=recipe,
                                   generator=torch.Generator().manual_seed(1000 * seed + 600 + k)))
        times.append(time.perf_counter() - t0)
    runs = [("gaussian_ft", {}), ("reg_ft", {}), ("reg_ga", {}), *BLINDSPOT.items()]
    entries = []
    for name, kw in runs:
        spec = get_method(name.split("_")[0] if name.startswith("blindspot") else name)
        entries.append((name, spec.name, spec.default_config(**kw)))
    tab = evaluate_methods(original, forget, retain, entries, score=score,
                           oracle_scores=[score(o) for o in oracles],
                           generator=lambda: torch.Generator().manual_seed(1000 * seed + 700),
                           keys=("MAE_r", "MAE_f", "MAE_t", "MIA"), device=device,
                           keep_models=True)
    out = {}
    for key in tab.oracle_mean:
        out[f"oracle_{key}"] = tab.oracle_mean[key]
        out[f"oracle_{key}_std"] = tab.oracle_std[key]
    out.update({f"original_{k}": v for k, v in score(original).items()})
    Xv, yv = Xt[ix(np.flatnonzero(in_range))], yt[ix(np.flatnonzero(in_range))]
    for name in tab.methods:
        out.update({f"{name}_{k}": v for k, v in tab.metrics[name].items()})
        a = mt.ain(tab.models[name], oracles[0], original, X, y, Xv, yv, task="regression",
                   generator_seed=1000 * seed + 800)
        out[f"{name}_AIN"], out[f"{name}_AIN_censored"] = a["AIN"], a["censored"]
        out[f"{name}_rte_s"] = tab.rte[name]
    out["retrain_s"] = float(np.mean(times))
    return out


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    dev = claims.device()
    res = ClaimResult(claim="tarun2022_regression_unlearning_blindspot", paper=PAPER,
                      statement=CLAIM, scale=scale, seed=seed)
    point = {k: cfg[k] for k in ("n_samples", "test_size", "epochs", "lr", "n_oracles")}
    trial_seeds = [1000 * seed + 7 + k for k in range(cfg["seeds"])]
    backend = "serial" if scale == "smoke" else None
    sw = sweep(_trial, [dict(dataset="friedman1", device=dev, **point)], seeds=trial_seeds,
               backend=backend, desc="Blindspot friedman1")
    a = {k: sw.array(k)[0] for k in sw.values[0][0]}
    rel = np.abs(a["blindspot_MAE_f"] - a["oracle_MAE_f"]) / a["oracle_MAE_f"]
    res.add(Check.at_most("Blindspot forget MAE: |gap to oracle mean| / oracle mean (max)",
                          float(rel.max()), cfg["rel_bound"],
                          detail=f"Blindspot {a['blindspot_MAE_f'].mean():.3f}, oracle "
                          f"{a['oracle_MAE_f'].mean():.3f} ± {a['oracle_MAE_f_std'].mean():.3f}"
                          f", original {a['original_MAE_f'].mean():.3f}"))
    ratio = a["blindspot_MAE_tout"] / a["original_MAE_tout"]
    res.add(Check.at_most("Blindspot out-of-range test MAE / original's (max)",
                          float(ratio.max()), cfg["out_bound"]))
    ft_closer = (np.abs(a["reg_ft_MAE_f"] - a["original_MAE_f"])
                 < np.abs(a["reg_ft_MAE_f"] - a["oracle_MAE_f"]))
    res.add(Check.true("FT's forget MAE closer to the original's than to the oracle's (all)",
                       bool(ft_closer.all()), measured=float(ft_closer.mean()),
                       detail=f"FT {a['reg_ft_MAE_f'].mean():.3f}"))
    tr = a["blindspot_rte_s"] / a["retrain_s"]
    res.add(Check.at_most("Blindspot run time / one retraining (max)", float(tr.max()), 1.0,
                          detail=f"Blindspot {a['blindspot_rte_s'].mean():.2f} s, retrain "
                          f"{a['retrain_s'].mean():.2f} s"))
    res.data.update({k: v for k, v in a.items()})
    if cfg["diabetes"]:
        sd = sweep(_trial, [dict(dataset="diabetes", device=dev, n_samples=442, test_size=110,
                                 epochs=100, lr=1e-3, n_oracles=cfg["n_oracles"])],
                   seeds=trial_seeds, backend=backend, desc="Blindspot diabetes")
        res.data.update({f"diabetes_{k}": sd.array(k)[0] for k in sd.values[0][0]})
    res.data["config"] = dict(cfg)

    fig, axes = new_figure(3, title="Blindspot regression unlearning (friedman1, lowest 30 %)")
    x = np.arange(len(METHODS), dtype=float)
    names = "  ".join(f"{i}={m}" for i, m in enumerate(METHODS))
    for ax, key, title in ((axes[0], "MAE_f", "forget-set MAE"),
                           (axes[1], "MAE_tout", "out-of-range test MAE"),
                           (axes[2], "MIA", "regression SVC-MIA member rate on D_f")):
        plot_seeds(ax, x, np.stack([a[f"{m}_{key}"] for m in METHODS]), color=color(0))
        plot_theory(ax, x, np.full(x.size, a[f"oracle_{key}"].mean()), label="oracle mean",
                    color=color(1))
        finish(ax, xlabel=names if ax is axes[0] else None, ylabel=key, title=title)
    res.figure = fig
    res.caveats.append(
        "Stand-in for the paper's AgeDB/STS-B/electricity experiments (not run); thresholds "
        "are project acceptance values. AIN uses the harness's MSE relearning loss on the full "
        "training set. Run times are wall-clock on a shared CPU.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
