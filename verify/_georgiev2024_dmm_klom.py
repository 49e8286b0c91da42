"""DRAFT, not a registered claim (the leading underscore keeps it out of `theorylab verify`):
at the sizes a shared 2-core CPU allows (N = 24 models per side) KLoM is dominated by binning
noise and DMM did not beat the baselines (numbers in paper_notes/georgiev2024_dmm.md). Run it
by hand, e.g. `python verify/_georgiev2024_dmm_klom.py --scale full --device cuda`, to repeat
the comparison at N = 60 and M = 2000 (or raise them towards N = 100).

Datamodel matching unlearns a coherent forget set to a lower KLoM (distance of the margin
distribution to that of retrained models) than gradient ascent, retain-set descent, their
combination and SCRUB, while keeping the validation accuracy.

Paper: Georgiev et al. 2024 (arXiv:2410.23232), KLoM experiments on CIFAR-10/ResNet-9 and
Living-17/ResNet-18 (the table values were not retrieved: unconfirmed). For scale, models that
unlearn nothing score P95 KLoM 9.26 on the forget set (0.32 retain, 0.26 validation) against 100
oracles on CIFAR-10 forget set 2 (EasyDUB README).

Small faithful experiment: scikit-learn digits; forget set = one k-means cluster of digit 8
(coherent, "F3"); MLP trained with Adam; N originals trained on D and N oracles on D_r as vmap
ensembles (init and data order both vary); every original is unlearned by each method; KLoM =
per-point KL(unlearned margins ‖ oracle margins) over 20 bins, P95 over the forget set, a fixed
sample of retain points and the validation set; the floor is KLoM between two halves of the
oracles (N/2 each, so the floor is biased *up* relative to the methods at N: compare methods
with each other at equal N, and read the floor as a scale).
DMM: datamodels from M models on random 50 % subsets (ridge, λ by 5-fold CV), simulated oracle
f̂ = f_θo − Σ_F β, matching on S = F ∪ 3|F| retain points. OM: the same loop towards the mean of
10 extra oracles never used for evaluation. Baselines at the harness defaults and a small grid
(chosen on the same forget set, which favours them).

Expected (project acceptance): P95 forget KLoM of DMM below every baseline's best grid point
whose retain KLoM is at most 2 × the retain floor (else the baseline counts with its best
forget KLoM regardless), and DMM's validation accuracy within 0.02 (smoke) / 0.01 (full) of
doing nothing, averaged over the N models. Other side: OM (real oracles) should reach at least
DMM's level; doing nothing stays far above.
Tolerance: see the note for the measured spread over seeds.
"""

import numpy as np

from theorylab import claims
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_theory
from theorylab.sweep import sweep

PAPER = "georgiev2024_dmm"
CLAIM = ("DMM reaches lower forget-set KLoM than GA, GD, GA+GD and SCRUB on a coherent forget "
         "set, keeping validation accuracy (digits MLP, vmap ensembles).")
LABEL = "stand-in"
LABEL_REASON = ("digits MLP ensembles instead of CIFAR-10 ResNet-9; own grid; N far below 100 "
                "at smoke")
SIZES = {
    "smoke": dict(n_train=400, n_val=200, hidden=(32,), epochs=20, batch=32, n_models=24,
                  n_dm=600, target_size=20, acc_tol=0.02),
    "mid": dict(n_train=400, n_val=200, hidden=(32,), epochs=20, batch=32, n_models=60,
                n_dm=1500, target_size=20, acc_tol=0.02),
    "full": dict(n_train=None, n_val=None, hidden=(64, 64), epochs=30, batch=64, n_models=60,
                 n_dm=2000, target_size=45, acc_tol=0.01),
}
#: method -> list of config overrides tried (DMM and OM: one fixed setting)
GRIDS = {
    "none": [{}],
    "ga": [{"lr": 1e-4}, {"lr": 1e-3}, {"lr": 1e-2}],
    "ft": [{"epochs": 2}, {"epochs": 5}, {"epochs": 10}],
    "ga_gd": [{"lr": 1e-3}, {"lr": 1e-2}],
    "scrub": [{}, {"lr": 2e-3}],
    "om": [{"lr": 1e-3, "epochs": 100, "batch_size": 64, "num_oracles": 10}],
    "dmm": [{"lr": 1e-3, "epochs": 100, "batch_size": 64}],
}


def _trial(n_train, n_val, hidden, epochs, batch, n_models, n_dm, target_size, device, seed):
    import time

    import torch

    from theorylab.unlearning import metrics as mt
    from theorylab.unlearning.attribution import datamodel_attribution
    from theorylab.unlearning.data import load_digits_split
    from theorylab.unlearning.methods import Subset, apply_method, get_method
    from theorylab.unlearning.models import Recipe, as_tensors, predict_logits
    from theorylab.unlearning.oracle import ensemble_seeds, retrain_oracles
    from theorylab.unlearning.scenarios import coherent_forget

    torch.set_num_threads(1)
    d = load_digits_split(rng=0)
    g = np.random.default_rng(1000 + seed)
    Xtr, ytr, Xv, yv = d.X_train, d.y_train, d.X_test, d.y_test
    if n_train is not None:
        keep = np.sort(g.choice(ytr.size, size=n_train, replace=False))
        Xtr, ytr = Xtr[keep], ytr[keep]
    if n_val is not None:
        keep = np.sort(g.choice(yv.size, size=n_val, replace=False))
        Xv, yv = Xv[keep], yv[keep]
    sp = coherent_forget(Xtr, ytr, cls=8, n_clusters=4, target_size=target_size, rng=g)
    X, y = as_tensors(Xtr, ytr, device=device)
    Xt, yt = as_tensors(Xv, yv, device=device)
    rec = Recipe(hidden=tuple(hidden), epochs=epochs, lr=1e-3, batch_size=batch)
    base = 100_000 * (seed + 1)
    t0 = time.perf_counter()
    originals = retrain_oracles(rec, X, y, np.arange(ytr.size), n_out=10,
                                seeds=ensemble_seeds(n_models, base=base))
    t_orig = time.perf_counter() - t0
    oracles = retrain_oracles(rec, X, y, sp.retain, n_out=10,
                              seeds=ensemble_seeds(n_models, base=base + 20_000))
    om_oracles = retrain_oracles(rec, X, y, sp.retain, n_out=10,
                                 seeds=ensemble_seeds(10, base=base + 40_000))
    t0 = time.perf_counter()
    dm, _, _ = datamodel_attribution(rec, X, y, n_out=10, n_models=n_dm, rng=g)
    t_dm = time.perf_counter() - t0

    P = torch.cat([X, Xt])
    labels = np.r_[ytr, yv]
    r_sample = g.choice(sp.retain, size=min(200, sp.retain.size), replace=False)
    parts = {"forget": sp.forget, "retain": r_sample, "val": ytr.size + np.arange(yv.size)}
    m_o = mt.margins(oracles.logits(P).double().cpu().numpy(), labels)
    out = {"n_forget": float(sp.forget.size), "lam": dm.lam, "t_dm_s": t_dm,
           "t_retrain_ensemble_s": t_orig}
    for part, cols in parts.items():
        out[f"floor_{part}"] = mt.klom_floor(m_o[:, cols], rng=seed)
    ix = lambda a: torch.as_tensor(a, device=X.device)
    forget = Subset(X[ix(sp.forget)], y[ix(sp.forget)])
    retain = Subset(X[ix(sp.retain)], y[ix(sp.retain)])
    members = [originals.member(k) for k in range(n_models)]
    for method, grid in GRIDS.items():
        spec = get_method(method)
        for j, over in enumerate(grid):
            kw = dict(over)
            if method == "dmm":
                kw["attribution"] = dm
            cfg = spec.default_config(**kw)
            zs, times = [], []
            for k, mdl in enumerate(members):
                gen = torch.Generator().manual_seed(base + 60_000 + k)
                u, sec = apply_method(spec, mdl, forget, retain, config=cfg, generator=gen,
                                      train_set=Subset(X, y), oracles=om_oracles)
                zs.append(predict_logits(u, P).double().cpu().numpy())
                times.append(sec)
            z = np.stack(zs)
            m_u = mt.margins(z, labels)
            key = f"{method}#{j}"
            for part, cols in parts.items():
                out[f"{key}|klom_{part}"] = mt.klom_p95(m_u[:, cols], m_o[:, cols])
            out[f"{key}|val_acc"] = float((z[:, parts["val"]].argmax(-1) == yv).mean())
            out[f"{key}|rte_s"] = float(np.mean(times))
    return out


def _best(a, method, retain_cap):
    """Index and values of a method's best grid point: lowest forget KLoM among points with
    retain KLoM <= retain_cap (all points when none qualifies)."""
    pts = range(len(GRIDS[method]))
    ok = [j for j in pts if a[f"{method}#{j}|klom_retain"] <= retain_cap] or list(pts)
    j = min(ok, key=lambda j: a[f"{method}#{j}|klom_forget"])
    return j, {k.split("|")[1]: v for k, v in a.items() if k.startswith(f"{method}#{j}|")}


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="georgiev2024_dmm_klom", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    point = {k: v for k, v in cfg.items() if k != "acc_tol"}
    point["device"] = claims.device()
    sw = sweep(_trial, [point], seeds=[seed], backend="serial", desc="DMM KLoM")
    a = sw.values[0][0]
    cap = 2 * a["floor_retain"]
    best = {m: _best(a, m, cap) for m in GRIDS}
    dmm = best["dmm"][1]
    baselines = ("ga", "ft", "ga_gd", "scrub")
    rival = min(baselines, key=lambda m: best[m][1]["klom_forget"])
    res.add(Check.at_most(
        "P95 forget KLoM: DMM − best of GA/GD/GA+GD/SCRUB (must be < 0)",
        dmm["klom_forget"] - best[rival][1]["klom_forget"], 0.0,
        detail=f"DMM {dmm['klom_forget']:.2f}, best baseline {rival} "
        f"{best[rival][1]['klom_forget']:.2f}, floor {a['floor_forget']:.2f}"))
    res.add(Check.at_most(
        "validation accuracy: do-nothing − DMM",
        best["none"][1]["val_acc"] - dmm["val_acc"], cfg["acc_tol"],
        detail=f"do-nothing {best['none'][1]['val_acc']:.3f}, DMM {dmm['val_acc']:.3f}"))
    res.add(Check.at_most(
        "other side: P95 forget KLoM, DMM − do-nothing (must be < 0)",
        dmm["klom_forget"] - best["none"][1]["klom_forget"], 0.0,
        detail=f"do-nothing {best['none'][1]['klom_forget']:.2f}, OM (10 real oracles) "
        f"{best['om'][1]['klom_forget']:.2f}"))
    res.data.update(a)
    res.data["best_grid_point"] = {m: b[0] for m, b in best.items()}
    res.data["config"] = dict(cfg)

    fig, axes = new_figure(3, title=f"KLoM P95 vs retrained oracles (digits, N = "
                                    f"{cfg['n_models']}, coherent forget set)")
    names = list(GRIDS)
    x = np.arange(len(names), dtype=float)
    for ax, part in zip(axes, ("forget", "retain", "val"), strict=True):
        vals = [best[m][1][f"klom_{part}"] for m in names]
        ax.plot(x, vals, "o", color=color(0), label="method (best grid point)")
        plot_theory(ax, x, np.full(x.size, a[f"floor_{part}"]), color=color(1),
                    label="oracle-half floor (N/2)")
        finish(ax, xlabel=" ".join(f"{i}={m}" for i, m in enumerate(names)),
               ylabel="P95 KLoM", title=part)
    res.figure = fig
    res.caveats.append(
        "Stand-in for CIFAR-10/ResNet-9; the baseline grids were chosen on the evaluated forget "
        "set (favouring the baselines); DMM/OM use lr 1e-3, 100 epochs, batch 64 instead of the "
        "reference 5e-4/5/512, because |S| here is 4|F| <= 180 points.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
