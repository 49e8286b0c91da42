"""PBN + NCD k-means, tuned by hidden-class cross-validation, vs k-means on the novel classes.

Paper: Troisemaine et al. 2023 (arXiv:2311.05440, Machine Learning journal), method and
experiments: the Projection-Based NCD network (PBN: encoder, known-class head, decoder; loss
w * CE(known) + (1 - w) * reconstruction) with its hyperparameters chosen by k-fold CV that hides
known classes, followed by NCD k-means (known prototypes fixed) in the latent, beats k-means and
(NCD) spectral clustering on the novel classes; the authors' tuned optdigits w is 0.064.
Data: scikit-learn's digits (the UCI optdigits test set, 1797 rows, 64 raw pixels), known
classes {0..4} (901 rows, labelled), novel {5..9} (896 rows, unlabeled); Hungarian accuracy on
the novel rows; the number of novel classes k = 5 is given to the clusterers and separately
estimated (silhouette argmax over k = 2..10 in the tuned latent).
Protocol: 3-fold hidden-class CV over the 5 known classes (2, 2, 1 hidden per fold) picks w from
the grid (latent 32, hidden 128, AdamW lr 1e-3, batch 128, EPOCHS epochs); PBN is retrained on all
known classes with the picked w; its latent is clustered by NCD k-means (known prototypes =
known-class latent means), k-means, and NCD spectral clustering; k-means on the raw pixels is the
baseline a practitioner would run first.
Expected (a prototype, untuned, 60 epochs): raw k-means 0.893-0.900; PBN w = 0 (autoencoder)
0.896, w = 0.06 0.87, w = 0.2 0.67-0.71, w = 0.5 0.59-0.66: a strong CE term collapses the
novel-class structure, so the paper's ordering was NOT reproduced untuned.
Thresholds (fixed before the first full run): the paper's claim is asserted as stated — mean
tuned PBN + NCD k-means accuracy >= raw k-means (no margin), >= k-means and >= NCD spectral
clustering on the same latent; the procedure check: CV picks w <= 0.1 on every seed; k
estimation: |k_hat - 5| <= 1 on a majority of seeds. Smoke (1 seed, w in {0, 0.5}, 2 folds, 10
epochs) checks the machinery only: the hidden rows never reach training, the tuned pipeline is
well above chance (>= SMOKE_FLOOR = 0.5; 20 seeds measured 0.68-0.89, chance ~0.2-0.3), and NCD
k-means with the raw known prototypes stays within SMOKE_TOL = 0.03 of k-means on the raw pixels
(the prototypes only steer the seeding). At smoke size the CV does not separate w = 0 from w = 0.5
(fold scores 0.88-0.97 for both) and the tuned pipeline is below raw k-means on every seed.
"""

import numpy as np

from theorylab.claims import Check, ClaimResult, script_main
from theorylab.ncd import (
    class_prototypes,
    estimate_k,
    hidden_class_kfold,
    hungarian_accuracy,
    load_ncd_split,
    ncd_kmeans,
    ncd_spectral_clustering,
)
from theorylab.plotting import color, finish, new_figure, plot_measured

PAPER = "troisemaine2023_ncd_tabular"
LABEL = "partial"
LABEL_REASON = "optdigits only (1 of the 7 data sets; the others are not offline); CV tunes w only"
CPU_ONLY = ("PBN is a 64-128-32 MLP trained on 1797 rows in batches of 128: CPU-sized, and "
            "the CPU keeps the runs bit-reproducible")
CLAIM = ("PBN with hyperparameters chosen by hidden-known-class cross-validation, followed by NCD "
         "k-means in its latent, beats k-means (raw features and the same latent) and NCD "
         "spectral clustering on the novel classes of optdigits.")
SIZES = {"smoke": dict(seeds=1, ws=[0.0, 0.5], epochs=10, folds=2, spectral=False),
         "full": dict(seeds=5, ws=[0.0, 0.05, 0.2, 0.5], epochs=30, folds=3, spectral=True)}
ARCH = dict(latent_dim=32, hidden=(128,), lr=1e-3, batch_size=128)
SMOKE_FLOOR = 0.5
SMOKE_TOL = 0.03


def _pbn(Xk, yk, Xu, w, epochs, seed):
    import torch

    from theorylab.ncd import train_pbn

    g = torch.Generator().manual_seed(int(seed))
    return train_pbn(Xk, yk, Xu, w=w, epochs=epochs, generator=g, **ARCH)


def _ncd_acc(model, Xk, yk, Xu, yu, k, rng):
    _, P = class_prototypes(model.transform(Xk), yk)
    lab = ncd_kmeans(model.transform(Xu), P, k=k, rng=rng).labels
    return hungarian_accuracy(yu, lab)


def _one_seed(split, cfg, seed):
    rng = np.random.default_rng(seed)
    Xk, yk, Xu, yu = split.X_known, split.y_known, split.X_novel, split.y_novel
    folds = hidden_class_kfold(yk, n_folds=cfg["folds"], rng=rng)
    leaks = 0
    cv = np.zeros(len(cfg["ws"]))
    for f, fold in enumerate(folds):
        # the hidden rows enter only as unlabeled rows: their labels are never passed
        leaks += int(np.isin(yk[fold.train], fold.hidden_classes).any())
        for i, w in enumerate(cfg["ws"]):
            m = _pbn(Xk[fold.train], yk[fold.train], Xk[fold.hidden], w, cfg["epochs"],
                     seed * 1000 + 10 * f + i)
            cv[i] += _ncd_acc(m, Xk[fold.train], yk[fold.train], Xk[fold.hidden],
                              yk[fold.hidden], len(fold.hidden_classes), rng) / len(folds)
    w_best = cfg["ws"][int(np.argmax(cv))]
    model = _pbn(Xk, yk, Xu, w_best, cfg["epochs"], seed * 1000 + 999)
    Zk, Zu = model.transform(Xk), model.transform(Xu)
    k = len(split.novel_classes)
    out = {"w_cv": w_best, "cv_scores": cv.tolist(), "leaks": leaks,
           "pbn_ncd_kmeans": _ncd_acc(model, Xk, yk, Xu, yu, k, rng),
           "pbn_kmeans": hungarian_accuracy(yu, ncd_kmeans(Zu, k=k, rng=rng).labels),
           "raw_kmeans": hungarian_accuracy(yu, ncd_kmeans(Xu, k=k, rng=rng).labels),
           "raw_ncd_kmeans": hungarian_accuracy(
               yu, ncd_kmeans(Xu, class_prototypes(Xk, yk)[1], k=k, rng=rng).labels)}
    if cfg["spectral"]:
        out["pbn_ncd_spectral"] = hungarian_accuracy(
            yu, ncd_spectral_clustering(Zu, Zk, yk, k=k, rng=rng).labels)
        out["k_hat"] = estimate_k(Zu, k_min=2, k_max=10, rng=rng).k
    return out


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="troisemaine2023_ncd_tabular_pbn_cv", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    split = load_ncd_split("digits", known_classes=range(5))
    rows = [_one_seed(split, cfg, seed * 100 + s) for s in range(cfg["seeds"])]
    keys = [k for k in rows[0] if k not in ("cv_scores",)]
    res.data.update({k: [r[k] for r in rows] for k in keys})
    res.data.update({"cv_scores": [r["cv_scores"] for r in rows], "ws": cfg["ws"],
                     "epochs": cfg["epochs"], "architecture": ARCH})
    mean = {k: float(np.mean(res.data[k])) for k in keys if k not in ("leaks",)}
    res.add(Check.true("hidden-class CV never trains on a hidden class",
                       sum(res.data["leaks"]) == 0, measured=sum(res.data["leaks"]),
                       expected=0))
    if scale == "smoke":
        res.add(Check.at_least("tuned PBN + NCD k-means: novel accuracy well above chance",
                               mean["pbn_ncd_kmeans"], SMOKE_FLOOR,
                               detail=f"CV w {res.data['w_cv'][0]}, raw k-means "
                                      f"{mean['raw_kmeans']:.3f}"))
        res.add(Check.close("NCD k-means vs k-means on raw pixels (same data, same k)",
                            mean["raw_ncd_kmeans"], mean["raw_kmeans"], SMOKE_TOL))
    else:
        res.add(Check.at_most("largest CV-selected w (every seed)", max(res.data["w_cv"]), 0.1))
        for peer in ("raw_kmeans", "pbn_kmeans", "pbn_ncd_spectral"):
            res.add(Check.at_least(f"tuned PBN + NCD k-means vs {peer} (mean novel accuracy)",
                                   mean["pbn_ncd_kmeans"], mean[peer]))
        close = sum(abs(k - len(split.novel_classes)) <= 1 for k in res.data["k_hat"])
        res.add(Check.at_least("seeds with |k_hat - 5| <= 1", close, len(rows) // 2 + 1,
                               detail=f"k_hat {res.data['k_hat']}"))
    fig, axes = new_figure(2, title="digits, known {0..4}, novel {5..9}")
    ax = axes[0]
    methods = [k for k in ("raw_kmeans", "pbn_kmeans", "pbn_ncd_spectral", "pbn_ncd_kmeans")
               if k in mean]
    for i, k in enumerate(methods):
        v = np.asarray(res.data[k])
        plot_measured(ax, [i], [v.mean()], [v.std(ddof=1) if len(v) > 1 else 0.0], label=k,
                      color=color(i))
    finish(ax, xlabel="method", ylabel="novel-class accuracy")
    ax = axes[1]
    for s, r in enumerate(rows):
        plot_measured(ax, cfg["ws"], r["cv_scores"], None, label=f"seed {s}", color=color(s))
    finish(ax, xlabel="w (CE weight)", ylabel="hidden-class CV accuracy", legend=True)
    res.figure = fig
    res.caveats.append("k-means on raw pixels is already strong on digits (0.89); the seven "
                       "UCI data sets of the paper are not available offline.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
