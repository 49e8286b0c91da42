"""Label-agnostic forgetting (LAF) removes a whole class without reading a single label, at
parity with supervised unlearning baselines.

Paper: Shen et al. 2024, "Label-Agnostic Forgetting: A Supervision-Free Unlearning in Deep
Models" (ICLR 2024, arXiv:2404.00506), Sec. 4 (VAEs on representations, extractor
unlearning, representation alignment) and the class-removal experiments (MNIST,
Fashion-MNIST, CIFAR-10, SVHN). The paper claims parity ("comparable" to supervised methods);
its abstract gives no number. Small faithful experiment: remove one class (digit 3 on
scikit-learn digits at smoke scale; "Sandal" on a 5 000-image Fashion-MNIST subset at full
scale) from an MLP trained with Adam; LAF runs through the harness with
``needs_labels=False`` (the labels it is handed are placeholders that raise on any use);
supervised baselines FT, GA (NegGrad), RL and SCRUB run at the harness defaults; the oracle is
the same recipe retrained on D_r (several seeds). Metrics: forget-class and retain-class test
accuracy, UA, RA, TA, SVC-MIA efficacy (confidence) and Avg.Gap to the oracle mean.

Checks (project acceptance, margins proposed before measuring): LAF's forget-class test
accuracy <= 0.10; its retain-class test accuracy >= the original's − 0.05; its Avg.Gap <=
the median Avg.Gap of {FT, GA, RL, SCRUB} + 0.02. LAF's learning rates are scaled up from the
reference code's (5e-5 / 1e-4 for 20 epochs on 6 000 forget images) because a digits class
has about 110 images: with batches of 8 that is 14 paired steps per epoch instead of
hundreds; τ = 20 as the reference code uses for class removal. Calibration (2026-12-03):
with 20 epochs at lr 1e-3 / 2e-3, 3 of the first 9 trial seeds left 0.13–0.33 forget-class
accuracy; 30 epochs at 2e-3 / 4e-3 (chosen on trial seeds 700 and 800, which had failed)
reached 0.000 / 0.033 with retain drops 0.025 / 0.000. The margins are the acceptance values
themselves, not widened; the 20-seed result is in the note.
"""

import numpy as np

from theorylab import claims
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_seeds, plot_theory
from theorylab.sweep import sweep

PAPER = "shen2024_laf"
CLAIM = ("LAF forgets a whole class without reading any label: forget-class accuracy <= 0.10, "
         "retain accuracy kept, Avg.Gap within 0.02 of the supervised baselines' median.")
LABEL = "partial"
LABEL_REASON = "MLP on digits/Fashion-MNIST, not the paper's CNN; lrs scaled to the forget set"
LAF_KW = dict(epochs=30, lr_ue=2e-3, lr_ra=4e-3, tau=20.0, vae_epochs=30,
              batch_size_forget=8, batch_size_retain=8)
SIZES = {
    "smoke": dict(dataset="digits", cls=3, n_train=None, hidden=(64, 64), epochs=20, lr=3e-3,
                  n_oracles=2, seeds=1, laf=LAF_KW),
    "full": dict(dataset="fashion_mnist", cls=5, n_train=5_000, hidden=(256, 256), epochs=12,
                 lr=1e-3, n_oracles=3, seeds=3, laf=dict(LAF_KW, epochs=20, lr_ue=5e-4,
                                                         lr_ra=1e-3)),
}
BASELINES = ("ft", "ga", "rl", "scrub")
KEYS = ("UA", "MIA", "RA", "TA")


def _trial(dataset, cls, n_train, hidden, epochs, lr, n_oracles, laf, device, seed):
    import time

    import torch

    from theorylab.unlearning.data import load_digits_split, load_fashion_mnist_split
    from theorylab.unlearning.evaluation import classifier_scorer, evaluate_methods
    from theorylab.unlearning.methods import Subset, get_method
    from theorylab.unlearning.models import Recipe, as_tensors, build_model, train_model
    from theorylab.unlearning.scenarios import class_forget

    torch.set_num_threads(1)
    if dataset == "digits":
        d = load_digits_split(rng=0)
    else:
        d = load_fashion_mnist_split(n_train=n_train, n_test=2_000, rng=0)
    sp = class_forget(d.y_train, cls=cls, y_test=d.y_test)
    X, y = as_tensors(d.X_train, d.y_train, device=device)
    Xt, _ = as_tensors(d.X_test, d.y_test, device=device)
    rec = Recipe(hidden=tuple(hidden), epochs=epochs, lr=lr)
    ix = lambda a: torch.as_tensor(a, device=X.device)
    forget = Subset(X[ix(sp.forget)], y[ix(sp.forget)])
    retain = Subset(X[ix(sp.retain)], y[ix(sp.retain)])
    gen = lambda k: torch.Generator().manual_seed(1000 * seed + k)

    score = classifier_scorer(X, d.y_train, Xt, d.y_test, sp, class_test=True)
    fresh = lambda k: build_model(rec, X.shape[1], 10, generator=gen(k), device=device)
    original = train_model(fresh(1), X, y, recipe=rec, generator=gen(2))
    orc, t_re = [], []
    for k in range(n_oracles):
        t0 = time.perf_counter()
        m = train_model(fresh(10 + k), retain.X, retain.y, recipe=rec, generator=gen(20 + k))
        t_re.append(time.perf_counter() - t0)
        orc.append(score(m))
    orig_scores = score(original)
    tab = evaluate_methods(original, forget, retain,
                           [("laf", "laf", get_method("laf").default_config(**laf)),
                            *BASELINES], score=score, oracle_scores=orc,
                           generator=lambda: gen(99), keys=KEYS, device=device)
    out = {f"oracle_{k}": v for k, v in tab.oracle_mean.items()}
    out["retrain_s"] = float(np.mean(t_re))
    out.update({f"oracle_{k}_std": tab.oracle_std[k] for k in KEYS})
    out.update({f"orig_{k}": v for k, v in orig_scores.items()})
    for meth in tab.methods:
        out.update({f"{meth}_{k}": v for k, v in tab.metrics[meth].items()})
        out[f"{meth}_avg_gap"] = tab.avg_gap[meth]
        out[f"{meth}_rte"] = tab.rte[meth]
    return out


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="shen2024_laf_class_removal", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    point = {k: cfg[k] for k in ("dataset", "cls", "n_train", "hidden", "epochs", "lr",
                                 "n_oracles", "laf")}
    point["device"] = claims.device()
    sw = sweep(_trial, [point], seeds=[100 * seed + k for k in range(cfg["seeds"])],
               backend="serial" if scale == "smoke" else None, desc="LAF class removal")
    a = {k: np.asarray(sw.array(k)[0], dtype=float) for k in sw.values[0][0]}

    from theorylab.unlearning.methods import get_method

    res.add(Check.true("LAF is registered with needs_labels=False (labels withheld)",
                       get_method("laf").needs_labels is False))
    res.add(Check.at_most("LAF forget-class test accuracy (max over seeds)",
                          float(a["laf_forget_test_acc"].max()), 0.10,
                          detail=f"original {a['orig_forget_test_acc'].mean():.3f}, retrained "
                                 f"{a['oracle_forget_test_acc'].mean():.3f}"))
    drop = a["orig_retain_test_acc"] - a["laf_retain_test_acc"]
    res.add(Check.at_most("LAF retain-class test accuracy drop vs original (max over seeds)",
                          float(drop.max()), 0.05,
                          detail=f"original {a['orig_retain_test_acc'].mean():.3f}, LAF "
                                 f"{a['laf_retain_test_acc'].mean():.3f}"))
    base = np.stack([a[f"{m}_avg_gap"] for m in BASELINES])  # (4, seeds)
    median = np.median(base, axis=0)
    excess = a["laf_avg_gap"] - median
    res.add(Check.at_most("LAF Avg.Gap − median supervised Avg.Gap (max over seeds)",
                          float(excess.max()), 0.02,
                          detail=", ".join(f"{m} {a[f'{m}_avg_gap'].mean():.3f}"
                                           for m in ("laf", *BASELINES))
                          + f"; oracle MIA std {a['oracle_MIA_std'].mean():.3f}"))
    res.data.update({k: v for k, v in a.items()})
    res.data["config"] = dict(cfg)

    fig, axes = new_figure(2, title=f"LAF, class removal ({cfg['dataset']})")
    names = ("laf", *BASELINES)
    x = np.arange(len(names), dtype=float)
    plot_seeds(axes[0], x, np.stack([a[f"{m}_avg_gap"] for m in names]), color=color(0))
    plot_theory(axes[0], x, np.full(x.size, median.mean() + 0.02),
                label="median supervised + 0.02", color=color(1))
    finish(axes[0], xlabel=" / ".join(f"{i} = {m}" for i, m in enumerate(names)),
           ylabel="Avg.Gap to retrain", title="Avg.Gap (UA, MIA, RA, TA)")
    for j, (key, lab) in enumerate((("forget_test_acc", "forgotten class"),
                                    ("retain_test_acc", "other classes"))):
        plot_seeds(axes[1], x + 0.05 * j,
                   np.stack([a[f"{m}_{key}"] for m in names]), color=color(2 + j),
                   label=f"{lab} (test)")
        plot_theory(axes[1], x, np.full(x.size, a[f"oracle_{key}"].mean()),
                    label=f"retrained: {lab}", color=color(2 + j))
    finish(axes[1], xlabel=" / ".join(f"{i} = {m}" for i, m in enumerate(names)),
           ylabel="test accuracy", title="accuracy by class group")
    res.figure = fig
    res.caveats.append(
        "MLP stand-in for the paper's CNN; LAF learning rates scaled to the small forget set; "
        "the supervised baselines run at harness defaults, not tuned per data set.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
