"""Selective Synaptic Dampening forgets a whole class without any optimiser step, keeping the
rest of the model, in a small fraction of the time of retraining.

Paper: Foster, Schoepf & Brintrup 2023 (arXiv:2308.07707), Sec. 3 (method) and the full-class
experiments (CIFAR-100/CIFAR-20 with ResNet-18 and ViT). Small faithful experiment: one class
forgotten (digit 3 on scikit-learn digits at smoke scale; "Trouser" on a 10 000-image
Fashion-MNIST subset at full scale), SSD with the paper's defaults α = 10, λ = 1, importances
from batches of 64 on D and D_f. Reference: the same recipe retrained from scratch on D_r.
SSD runs through the harness's shared evaluation (``evaluate_methods`` with
``classifier_scorer``): besides the checked accuracies, its UA, RA, TA and SVC-confidence MIA
are reported against the retrained oracles' mean ± std, with the Avg.Gap (not checked).
The run-time check times the whole call, as the reference code does: both importance passes
and the dampening. Its detail also gives the two parts on their own, the training-set
importance I_D (which does not depend on the forget request) and the per-request part (I_Df
and the dampening), with the ratio SSD would have were I_D computed once after training and
reused; a further check confirms that the split gives the same weights. Whether the paper's
timings amortise I_D so is unconfirmed, so that ratio is reported, not checked.

Expected (project acceptance; the paper's abstract gives no number): at full scale, SSD's
accuracy on the forgotten class's test images <= 0.05 and accuracy on the other classes' test
images >= the original's − 0.03, in every seed; SSD's run time < 5 % of one retraining; no
parameter grows in magnitude (dampening only). The retrained model scores 0 on the forgotten
class by construction.
Tolerance (smoke, digits MLP 64-64-10): measured over trial seeds 0–19, SSD's forget-test
accuracy was 0.030 on average and at most 0.098, the retain-test drop 0.016 on average and at
most 0.073, the run-time ratio at most 0.07 (retraining one digits MLP takes about a second on a
loaded CPU). A rule "max of 2 trials <= 0.15" then failed claim seed 17 of 0-19 (trials 0.016
and 0.164): over those 40 trials the forget-test accuracy had mean 0.027, median 0.016 and a
tail to 0.164. Smoke therefore checks the MEAN of 4 trials <= 0.10 (resampling the 40 measured
trials: exceeded in about 0.2 % of draws), and the max drop <= 0.10 and time ratio <= 0.25
(maxima measured 0.073 and 0.07); per-trial values are in the check's detail. The stricter
full-scale acceptance (0.05 / 0.03) was met on digits in 17/20 seeds (forget-test) and 16/20
seeds (drop), see the note.
"""

import numpy as np

from theorylab import claims
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_seeds, plot_theory
from theorylab.sweep import sweep

PAPER = "foster2023_ssd"
CLAIM = ("SSD forgets a full class with no optimiser step: forget-test accuracy near the "
         "retrained model's, retain-test accuracy kept, a fraction of retraining time.")
LABEL = "partial"
LABEL_REASON = "small models on digits/Fashion-MNIST, not CIFAR; smoke bounds looser than 0.05/0.03"
SIZES = {
    "smoke": dict(dataset="digits", cls=3, arch="mlp", hidden=(64,), epochs=20, lr=3e-3,
                  seeds=4, n_oracles=1, ft_stat="mean", ft_bound=0.10, drop_bound=0.10,
                  time_bound=0.25),
    "full": dict(dataset="fashion_mnist", cls=1, arch="cnn", hidden=(64,), epochs=8,
                 lr=1e-3, seeds=2, n_oracles=2, ft_stat="max", ft_bound=0.05, drop_bound=0.03,
                 time_bound=0.05),
}


def _trial(dataset, cls, arch, hidden, epochs, lr, n_oracles, device, seed):
    import copy

    import torch

    from theorylab.unlearning.data import load_digits_split, load_fashion_mnist_split
    from theorylab.unlearning.evaluation import KEYS, classifier_scorer, evaluate_methods
    from theorylab.unlearning.methods import Subset
    from theorylab.unlearning.metrics import timed
    from theorylab.unlearning.models import Recipe, as_tensors, build_model, train_model
    from theorylab.unlearning.scenarios import class_forget
    from theorylab.unlearning.ssd import SSDConfig, importance, ssd_dampen

    torch.set_num_threads(1)
    if dataset == "digits":
        d = load_digits_split(rng=0)
    else:
        d = load_fashion_mnist_split(n_train=10_000, n_test=2_000, rng=0)
    sp = class_forget(d.y_train, cls=cls, y_test=d.y_test)
    X, y = as_tensors(d.X_train, d.y_train, device=device)
    Xt, _ = as_tensors(d.X_test, d.y_test, device=device)
    recipe = Recipe(arch=arch, hidden=tuple(hidden), epochs=epochs, lr=lr)
    ix = lambda a: torch.as_tensor(a, device=X.device)
    # the harness's scores: UA, RA, TA, SVC-confidence MIA, and the test accuracy on the
    # forgotten class (forget_test_acc) and on the other classes (retain_test_acc)
    score = classifier_scorer(X, d.y_train, Xt, d.y_test, sp, class_test=True)

    def fresh(k):
        return build_model(recipe, X.shape[1], 10, image_shape=d.image_shape, device=device,
                           generator=torch.Generator().manual_seed(1000 * seed + k))

    original = train_model(fresh(0), X, y, recipe=recipe,
                           generator=torch.Generator().manual_seed(1000 * seed + 500))
    forget = Subset(X[ix(sp.forget)], y[ix(sp.forget)])
    retain = Subset(X[ix(sp.retain)], y[ix(sp.retain)])
    oracle_scores, times = [], []
    for k in range(n_oracles):
        # model construction inside the clock, as a retraining from scratch includes it
        orc, t = timed(lambda k=k: train_model(
            fresh(k + 1), retain.X, retain.y, recipe=recipe,
            generator=torch.Generator().manual_seed(1000 * seed + 600 + k)), device=device)
        times.append(t)
        oracle_scores.append(score(orc))
    # SSD at the paper's defaults (alpha = 10, lambda = 1) through the shared evaluation:
    # its scores, their gaps to the oracles' mean, and the run time of the call
    table = evaluate_methods(original, forget, retain, ["ssd"], score=score,
                             oracle_scores=oracle_scores, generator=torch.Generator,
                             train_set=Subset(X, y), device=device, keep_models=True)
    out = table.models["ssd"]
    # the same SSD split in two: the training-set importance I_D (independent of the forget
    # request, so it could be computed once after training and reused) and the per-request
    # part (I_Df and the dampening); reported, not checked
    cfg = SSDConfig()
    m = copy.deepcopy(original)
    imp_d, t_d = timed(importance, m, Subset(X, y), batch_size=cfg.batch_size, device=device)

    def per_request():
        ssd_dampen(m, imp_d, importance(m, forget, batch_size=cfg.batch_size),
                   alpha=cfg.alpha, lam=cfg.lam)

    _, t_req = timed(per_request, device=device)
    grew = any(bool((p1.abs() > p0.abs()).any())
               for p0, p1 in zip(original.parameters(), out.parameters(), strict=True))
    changed = sum(int((p1 != p0).sum())
                  for p0, p1 in zip(original.parameters(), out.parameters(), strict=True))
    orig, ssd = score(original), table.metrics["ssd"]
    res = {"orig_ft": orig["forget_test_acc"], "orig_rt": orig["retain_test_acc"],
           "ssd_ft": ssd["forget_test_acc"], "ssd_rt": ssd["retain_test_acc"],
           "oracle_ft": table.oracle_mean["forget_test_acc"],
           "oracle_rt": table.oracle_mean["retain_test_acc"],
           "rte_s": table.rte["ssd"], "retrain_s": float(np.mean(times)), "grew": float(grew),
           "n_changed": float(changed), "ssd_avg_gap": table.avg_gap["ssd"],
           "importance_d_s": t_d, "per_request_s": t_req,
           "same_as_split": float(all(torch.equal(p, q) for p, q in
                                      zip(out.parameters(), m.parameters(), strict=True)))}
    for k in KEYS:
        res[f"orig_{k}"], res[f"ssd_{k}"] = orig[k], ssd[k]
        res[f"oracle_{k}"], res[f"oracle_std_{k}"] = table.oracle_mean[k], table.oracle_std[k]
    return res


def _gaps(a) -> str:
    """SSD's UA/MIA/RA/TA against the retrained oracles (mean ± std over the oracles, then
    over trials), and the mean Avg.Gap: the harness's standard report, not checked here."""
    parts = [f"{k} {a[f'ssd_{k}'].mean():.3f} vs oracle {a[f'oracle_{k}'].mean():.3f} ± "
             f"{a[f'oracle_std_{k}'].mean():.3f}" for k in ("UA", "MIA", "RA", "TA")]
    return f"{', '.join(parts)}; Avg.Gap {a['ssd_avg_gap'].mean():.3f}"


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="foster2023_ssd_full_class", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    point = {k: cfg[k] for k in ("dataset", "cls", "arch", "hidden", "epochs", "lr",
                                 "n_oracles")} | {"device": claims.device()}
    sw = sweep(_trial, [point], seeds=[100 * seed + k for k in range(cfg["seeds"])],
               backend="serial" if scale == "smoke" else None, desc="SSD full class")
    a = {k: sw.array(k)[0] for k in sw.values[0][0]}
    ft = getattr(np, cfg["ft_stat"])(a["ssd_ft"])
    res.add(Check.at_most(f"SSD forget-test accuracy ({cfg['ft_stat']} over trials)", float(ft),
                          cfg["ft_bound"],
                          detail=f"per trial {np.round(a['ssd_ft'], 3).tolist()}; retrained "
                                 f"model: {a['oracle_ft'].mean():.3f}; {_gaps(a)}"))
    drop = a["orig_rt"] - a["ssd_rt"]
    res.add(Check.at_most("retain-test accuracy drop original → SSD (max over seeds)",
                          float(drop.max()), cfg["drop_bound"]))
    ratio = a["rte_s"] / a["retrain_s"]
    res.add(Check.at_most("SSD run time / one retraining (max over seeds)", float(ratio.max()),
                          cfg["time_bound"],
                          detail=f"SSD {a['rte_s'].mean():.3f} s, retrain "
                          f"{a['retrain_s'].mean():.2f} s; of the call, I_D over the training "
                          f"set {a['importance_d_s'].mean():.3f} s and the per-request part "
                          f"(I_Df + dampening) {a['per_request_s'].mean():.3f} s, ratio "
                          f"{(a['per_request_s'] / a['retrain_s']).max():.4f} were I_D "
                          "computed once and reused (reported, not checked)"))
    res.add(Check.true("SSD split into I_D and a per-request part gives the same weights",
                       bool(a["same_as_split"].all()), measured=float(a["same_as_split"].min())))
    res.add(Check.true("no parameter grows in magnitude (dampening only)",
                       not a["grew"].any(), measured=float(a["grew"].sum())))
    res.add(Check.at_least("parameters changed (min over seeds)", float(a["n_changed"].min()),
                           1.0))
    res.data.update({k: v for k, v in a.items()})
    res.data["config"] = dict(cfg)

    fig, axes = new_figure(2, title=f"SSD, full-class forgetting ({cfg['dataset']})")
    x = np.arange(3.0)
    names = "0 = original, 1 = SSD, 2 = retrained"
    for ax, key, title in ((axes[0], "ft", "forgotten class (test)"),
                           (axes[1], "rt", "other classes (test)")):
        samples = np.stack([a[f"orig_{key}"], a[f"ssd_{key}"], a[f"oracle_{key}"]])
        plot_seeds(ax, x, samples, color=color(0))
        if key == "ft":
            plot_theory(ax, x, np.full(3, cfg["ft_bound"]),
                        label=f"bound: SSD <= {cfg['ft_bound']}", color=color(1))
        else:
            plot_theory(ax, x, np.full(3, a["orig_rt"].mean() - cfg["drop_bound"]),
                        label=f"bound: original − {cfg['drop_bound']}", color=color(1))
        finish(ax, xlabel=names, ylabel="accuracy", title=title)
    res.figure = fig
    res.caveats.append(
        "Stand-in for the paper's ResNet-18/ViT CIFAR experiments; the thresholds are project "
        "acceptance values, not the paper's numbers (its tables were not retrieved). Run time "
        "is wall-clock on a shared CPU.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
