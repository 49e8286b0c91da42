"""RSS with out-of-domain unlabeled data reproduces Table 1 (isotropic GMM, linear model).

Paper: Saberi et al. 2024 (arXiv:2310.00027), Table 1 (from the authors' poster source).
Expected: the mean-difference direction sum_i y_i x_i has accuracy Phi(sqrt(m/(m+d)))
(0.586/0.618/0.658 for m = 10/20/40 at d = 200); the paper's ERM column is 0.59/0.62/0.65; RSS
accuracy grows with n toward the Bayes accuracy Phi(1) = 0.841 (paper 0.82 at n = 10,000 for
alpha = 0 and 0.80-0.81 for alpha = 0.5).
Tolerance: accuracies are exact per trial (Phi of the normalised margin), so the spread is only
across trials. Mean-difference direction vs Phi(sqrt(m/(m+d))): 4 s.e. of the run's trials +
0.001. The formula is not only asymptotic: a 400,000-draw Monte Carlo of the exact law
(w = mu + N(0, I/m)) gives 0.5861/0.6181/0.6581 vs 0.5864/0.6185/0.6585, a finite-size bias
<= 0.0004 at d = 200; the per-trial spread is 0.026/0.024/0.021 (s.e. about 0.005 with 20
trials). ERM solver vs the paper's column: +-0.02 (paper's 2 digits +-0.005, plus 3 s.e.).
RSS cells +-0.03 (+-0.04 for n <= 10m, where the trial-to-trial spread is 0.05-0.08), RSS at
n = 10,000 >= 0.80 (alpha = 0) / 0.78 (alpha = 0.5), monotone in n within 2 standard errors.
Before: the ERM *solver* (plain ramp loss, Riemannian descent from the mean-difference start)
was compared with Phi(sqrt(m/(m+d))) +-0.02 and failed on seeds 8 and 16 of 0-19 at m = 40
(0.6378 vs 0.6585). The formula describes the mean-difference direction, not the solver: in 300
paired trials at d = 200 the solver is lower by 0.0000/0.0024/0.0076 (s.e. 0.0006) for
m = 10/20/40, solver means 0.5869/0.6172/0.6506 (presumably because the ramp loss is linear
in w, hence minimised by the mean-difference direction, only while no margin reaches a flat
part of the ramp, which happens more often as m grows). So the formula is
now checked on the estimator it describes, and the solver against the paper's column.
Seed 16 failed on the PCA oracle instead (0.754 vs 0.817 +-0.02): in one of its 10 trials the
sign taken from the m = 20 labels was wrong (y'X mu_0 = -0.60 where 20 +- 4.5 is expected, a
4.6-sigma draw), giving 0.183 = 1 - 0.817. The spiked-covariance formula is for the correctly
signed component, so the oracle is now signed along mu_0 and the label sign's agreement is
recorded (data['pca_label_sign_ok']); per-trial spread of the signed oracle is about 0.003.

Hyperparameters are theorylab's (the paper does not state them): ramp slope 1, gamma = 1,
gamma' in {0.1, 0.3}, lambda in {0.1, 1, 10}, chosen by 3-fold cross-validation of the held-out
accuracy on the labeled data only (never on test data). The labeled set is class-balanced
(m/2 per class) so that cross-validation is possible at m = 10.

Speed: the RSS fits compute their products with the unlabeled data in float32
(``products="float32"``, the rest of the descent in float64), about 1.7x faster. Against the
float64 path on the same data the final accuracies agree to <= 1e-6 in most fits; a fit that
stops at a nonsmooth point of the ramp can stop elsewhere (up to 5e-4 in accuracy).
"""

import numpy as np

from theorylab.claims import Check, ClaimResult, script_main
from theorylab.dro import (
    bayes_accuracy,
    erm_accuracy,
    exact_accuracy,
    pca_oracle_accuracy,
    sample_gmm_shift,
    solve_rss,
)
from theorylab.plotting import color, finish, new_figure, plot_measured, plot_theory
from theorylab.sweep import sweep

PAPER = "saberi2024_dro_ood"
CLAIM = ("RSS with unlabeled out-of-domain data lifts the accuracy of a linear classifier on a "
         "Gaussian mixture from the ERM level Phi(sqrt(m/(m+d))) toward the Bayes accuracy "
         "(Table 1).")
SIZES = {
    "smoke": dict(d=50, ms=[10], ns={10: [2000]}, alphas=[0.0], trials=5, erm_d=200,
                  erm_trials=20, pca_n=2000, pca_trials=10),
    "full": dict(d=200, ms=[10, 20, 40],
                 ns={10: [10, 100, 1000, 10000], 20: [20, 200, 2000, 10000],
                     40: [40, 400, 4000, 10000]},
                 alphas=[0.0, 0.5], trials=20, erm_d=200, erm_trials=20, pca_n=2000,
                 pca_trials=10),
}
# |mean - Phi(sqrt(m/(m+d)))| of the mean-difference direction <= ERM_K_SE s.e. + the
# finite-size bias bound: the formula is exact in distribution up to <= 0.0004 at d = 200
# (400,000-draw Monte Carlo of the exact law: 0.5861/0.6181/0.6581 vs 0.5864/0.6185/0.6585)
ERM_K_SE, ERM_FINITE_BIAS = 4.0, 0.001
GRID = dict(gamma=1.0, gamma_u=[0.1, 0.3], lam=[0.1, 1.0, 10.0])
PAPER_ERM = {10: 0.59, 20: 0.62, 40: 0.65, 10000: 0.83}
PAPER_RSS = {  # (m, n) -> (alpha = 0, alpha = 0.5)
    (10, 10): (0.63, 0.61), (10, 100): (0.66, 0.65), (10, 1000): (0.79, 0.78),
    (10, 10000): (0.82, 0.81), (20, 20): (0.64, 0.65), (20, 200): (0.69, 0.65),
    (20, 2000): (0.80, 0.79), (20, 10000): (0.82, 0.80), (40, 40): (0.65, 0.65),
    (40, 400): (0.71, 0.73), (40, 4000): (0.81, 0.78), (40, 10000): (0.82, 0.80),
}


def _cell(d, m, n, alpha, seed):
    """One trial: ERM and RSS (CV-selected) accuracies, exact on the in-domain mixture."""
    s = sample_gmm_shift(d, m, n, alpha=alpha, balanced=True, rng=seed)
    erm = solve_rss(s.X, s.y, method="erm")
    out = {"erm": exact_accuracy(erm.w, s.mu0)}
    if n > 0:
        rss = solve_rss(s.X, s.y, s.X_unlabeled, **GRID, products="float32", rng=seed + 1)
        out["rss"] = exact_accuracy(rss.w, s.mu0)
        out["lam"] = rss.hyperparameters["lam"]
        out["gamma_u"] = rss.hyperparameters["gamma_u"]
    return out


def _erm_only(d, m, seed):
    """Exact accuracies on one labeled sample: the ERM solver (plain ramp loss, Riemannian
    descent from the mean-difference start) and the mean-difference direction sum_i y_i x_i,
    the estimator that Phi(sqrt(m/(m+d))) describes."""
    s = sample_gmm_shift(d, m, 0, rng=seed)
    return {"erm": exact_accuracy(solve_rss(s.X, s.y, method="erm").w, s.mu0),
            "mean_diff": exact_accuracy(s.X.T @ s.y, s.mu0)}


def _pca(d, n, m, seed):
    """Accuracy of the top principal component of n unlabeled samples, signed along mu_0 as
    the spiked-covariance formula assumes; also whether the sign from m labels agrees."""
    s = sample_gmm_shift(d, m, n, rng=seed)
    _, V = np.linalg.eigh(s.X_unlabeled.T @ s.X_unlabeled)
    v = V[:, -1] * np.sign(V[:, -1] @ s.mu0)
    return {"acc": exact_accuracy(v, s.mu0),
            "label_sign_ok": float(v @ (s.X.T @ s.y) > 0)}


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="saberi2024_dro_ood_table1", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    d, T = cfg["d"], cfg["trials"]
    seeds = [seed * 100_000 + 7 * k for k in range(T)]
    bayes = bayes_accuracy(1.0)

    # (a) closed forms behind the table: ERM direction and the PCA oracle, at d = 200
    e_seeds = [seed * 100_000 + 50_000 + k for k in range(cfg["erm_trials"])]
    erm_ms = [10, 20, 40] if scale == "smoke" else [10, 20, 40, 10000]
    sw_e = sweep(_erm_only, {"d": [cfg["erm_d"]], "m": erm_ms}, seeds=e_seeds)
    md, erm_e = sw_e.array("mean_diff"), sw_e.array("erm")  # (len(erm_ms), trials)
    se = lambda a: a.std(axis=1, ddof=1) / np.sqrt(a.shape[1])  # noqa: E731
    ma, ms_ = md.mean(axis=1), se(md)
    ea, es = erm_e.mean(axis=1), se(erm_e)
    for i, m in enumerate(erm_ms):
        th = erm_accuracy(m, cfg["erm_d"])
        tol = ERM_K_SE * ms_[i] + ERM_FINITE_BIAS
        res.add(Check.close(f"mean-difference direction: accuracy m={m}, d={cfg['erm_d']} vs "
                            "Phi(sqrt(m/(m+d)))", ma[i], th, tol,
                            detail=f"s.e. {ms_[i]:.4f}; tolerance {ERM_K_SE} s.e. + "
                                   f"{ERM_FINITE_BIAS} = {tol:.4f}"))
        res.add(Check.close(f"ERM solver accuracy m={m} vs paper", ea[i], PAPER_ERM[m], 0.02,
                            detail=f"s.e. {es[i]:.4f}; paper Table 1 ERM column (2 digits); "
                                   f"solver − mean-difference {ea[i] - ma[i]:+.4f}"))
    sw_p = sweep(_pca, {"d": [cfg["erm_d"]], "n": [cfg["pca_n"]], "m": [20]},
                 seeds=[seed * 100_000 + 60_000 + k for k in range(cfg["pca_trials"])])
    pa = sw_p.array("acc")[0]
    pm, ps = float(pa.mean()), float(pa.std(ddof=1) / np.sqrt(len(pa)))
    res.data["pca_label_sign_ok"] = float(sw_p.array("label_sign_ok")[0].mean())
    res.add(Check.close(f"PCA oracle n={cfg['pca_n']}, d={cfg['erm_d']} vs spiked-covariance "
                        "formula", pm, pca_oracle_accuracy(cfg["pca_n"], cfg["erm_d"]), 0.02,
                        detail=f"s.e. {ps:.3f}"))

    # (b) the table: RSS vs n for each m and alpha
    points = [{"d": d, "m": m, "n": n, "alpha": a}
              for a in cfg["alphas"] for m in cfg["ms"] for n in cfg["ns"][m]]
    sw = sweep(_cell, points, seeds=seeds)
    rss, erm = sw.array("rss"), sw.array("erm")
    table = []
    for i, p in enumerate(sw.points):
        r, e = rss[i], erm[i]
        row = {**p, "rss_mean": float(r.mean()), "rss_se": float(r.std(ddof=1) / np.sqrt(T)),
               "erm_mean": float(e.mean()), "gain_mean": float((r - e).mean()),
               "gain_se": float((r - e).std(ddof=1) / np.sqrt(T)),
               "lam_chosen": [float(v["lam"]) for v in sw.values[i]],
               "gamma_u_chosen": [float(v["gamma_u"]) for v in sw.values[i]]}
        if scale == "full":
            row["paper"] = PAPER_RSS[(p["m"], p["n"])][0 if p["alpha"] == 0 else 1]
        table.append(row)
    res.data["table"] = table
    res.data["erm_d200"] = {str(m): [float(ea[i]), float(es[i])] for i, m in enumerate(erm_ms)}
    res.data["mean_diff_d200"] = {str(m): [float(ma[i]), float(ms_[i])]
                                  for i, m in enumerate(erm_ms)}
    res.data["grid"] = GRID

    if scale == "smoke":
        row = table[0]
        res.add(Check.at_least(
            f"RSS gain over ERM at d={d}, m=10, n=2000 (paired mean - 2 s.e.)",
            row["gain_mean"] - 2 * row["gain_se"], 0.0,
            detail=f"RSS {row['rss_mean']:.3f} vs ERM {row['erm_mean']:.3f}, {T} trials"))
        res.add(Check.at_most("RSS accuracy <= Bayes accuracy Phi(1)", row["rss_mean"], bayes))
    else:
        failed = []
        for row in table:
            tol = 0.04 if row["n"] <= 10 * row["m"] else 0.03
            c = res.add(Check.close(
                f"RSS m={row['m']} n={row['n']} alpha={row['alpha']} vs paper",
                row["rss_mean"], row["paper"], tol,
                detail=f"s.e. {row['rss_se']:.3f}, {T} trials"))
            if not c.passed:
                failed.append(f"(m={row['m']}, n={row['n']}, alpha={row['alpha']}): "
                              f"{row['rss_mean']:.3f} vs paper {row['paper']:.2f}")
        for a in cfg["alphas"]:
            for m in cfg["ms"]:
                rows = [r for r in table if r["m"] == m and r["alpha"] == a]
                drops = [rows[k]["rss_mean"] - rows[k + 1]["rss_mean"]
                         - 2 * np.hypot(rows[k]["rss_se"], rows[k + 1]["rss_se"])
                         for k in range(len(rows) - 1)]
                res.add(Check.at_most(f"RSS non-decreasing in n (m={m}, alpha={a}): "
                                      "largest drop beyond 2 s.e.", max(drops), 0.0))
                res.add(Check.at_least(f"RSS at n=10000 (m={m}, alpha={a})",
                                       rows[-1]["rss_mean"], 0.80 if a == 0 else 0.78))
        if failed:
            res.caveats.append("Cells that do not reproduce the paper: " + "; ".join(failed))
            res.data["failed_cells"] = failed

    # figure: accuracy vs n, theory dashed, measured mean +- s.e.
    fig, axes = new_figure(len(cfg["alphas"]), title=f"Table 1: GMM, d={d}")
    for ai, a in enumerate(cfg["alphas"]):
        ax = axes[ai]
        for mi, m in enumerate(cfg["ms"]):
            rows = [r for r in table if r["m"] == m and r["alpha"] == a]
            ns = [r["n"] for r in rows]
            plot_measured(ax, ns, [r["rss_mean"] for r in rows], [r["rss_se"] for r in rows],
                          label=f"RSS m={m}", color=color(mi))
            plot_theory(ax, [min(ns), max(ns)], [erm_accuracy(m, d)] * 2,
                        label=f"ERM formula m={m}", color=color(mi))
            if scale == "full":
                ax.plot(ns, [r["paper"] for r in rows], "x", color=color(mi), ms=7,
                        label=f"paper m={m}")
            nn = np.geomspace(max(min(ns), 1), max(ns), 30)
            pcs = [pca_oracle_accuracy(int(v), d, alpha=a) for v in nn]
            if mi == 0:
                plot_theory(ax, nn, pcs, label="PCA oracle", color="gray")
        plot_theory(ax, [1, 10000], [bayes] * 2, label="Bayes Phi(1)", color="k")
        finish(ax, xlabel="unlabeled n", ylabel="exact test accuracy", logx=True,
               title=f"alpha = {a}")
    res.figure = fig
    res.caveats.append("Hyperparameters (ramp slope 1, gamma=1, gamma' in {0.1,0.3}, "
                       "lambda in {0.1,1,10}, 3-fold CV on labeled data), the optimiser "
                       "(Riemannian gradient descent on the unit sphere from the ERM and PCA "
                       "starts) and sigma=||mu_0||=1 are theorylab's: the paper does not state "
                       "them.")
    if scale == "smoke":
        res.caveats.append("Smoke scale checks d=50, m=10, n=2000 only; the paper's table is "
                           "reproduced at --scale full.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
