"""Pretraining wins when m >> n with weak per-coordinate signal, and loses when m is small.

Paper: Ge, Tang, Fan, Jin 2023 (arXiv:2303.01566, ICLR 2024), the main bound and its factor-model
instance: MLE pretraining on m unlabeled samples + ERM on n labels has excess risk
O~(sqrt(C_Phi/m) + sqrt(C_Psi/n)), supervised learning O~(sqrt(C_{Phi o Psi}/n)); pretraining
helps when m >> n and C_{Phi o Psi} > C_Psi.
Instance (theorylab's small faithful experiment): x = B z + eps in d = 200, r = 5, B_ij ~
N(0, 0.15^2) (weak per-coordinate signal), sigma_x = 1, y = theta.z + xi, theta ~ N(0, I),
sigma_y = 0.1; a new model per repetition. Pretraining = maximum-likelihood factor analysis (EM)
on m unlabeled samples, then least squares (with intercept) of y on E[z | x]. The peer is what a
practitioner would use: ridge on the raw x with the penalty chosen by efficient leave-one-out CV
(scikit-learn RidgeCV, 30 log-spaced alphas in [1e-3, 1e6]). Excess risk = exact population risk of
the fitted linear predictor (closed form in B, theta, sigma_x, sigma_y; no test-set noise) - Bayes
risk (analytic, theta^T (I + B^T B / sigma_x^2)^{-1} theta + sigma_y^2 ~ 0.675).
Expected (a prototype, 20 repetitions, 5000 test points): at m = 20,000 the ratio
ridge / pretraining excess is 8.3, 12.7, 12.1 at n = 50, 100, 200 and falls to 5.7 at n = 2000; at
m = 200 pretraining stalls at a floor ~0.19-0.20 (the sqrt(C_Phi/m) term) and ridge wins at
n = 2000 (0.062 vs 0.195).
Thresholds (fixed before the first full run, from that prototype): at the largest m the ratio is
>= 5 for every n in [50, 200]; at the smallest m ridge beats pretraining at n = 2000 (paired
difference beyond 2 standard errors); the gap narrows as n grows: the ratio at n = 2000 is below
the ratio at n = 100 for every m <= 2000. Deviation from the prototype: it also saw the ratio
fall at m = 20,000 (12.7 -> 5.7), but with exact risks (no test noise) the pretraining excess at
n = 2000 is ~0.005, four times below the +-0.02 noise of a 5000-point test MSE; measured exactly,
the ratio stays ~12-19 there (n = 2000 is still << m), so the narrowing is asserted only where
n reaches m, as the bound predicts; the ratios at m = 20,000 are recorded.
Bound shape: the pretraining excess at the largest n decreases with m (paired, 2 s.e.), and the
log-log slope of that floor between the smallest and the largest m is <= -0.5: the paper's
sqrt(C_Phi/m) is an upper bound, so the floor must fall at least that fast (squared loss in
this Gaussian model suggests the fast rate 1/m; derived, not from the paper). The dashed curve is
the m -> infinity limit: least squares on the true E[z | x],
sigma_eff^2 (1/n + (1 + 1/n) r / (n - r - 2)).
Smoke: m in {200, 20000}, n in {50, 100, 2000}, 6 repetitions; tolerances as
above (the smoke margins over 20 seeds are in the note).
"""

import numpy as np
from sklearn.linear_model import RidgeCV

from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_measured, plot_theory
from theorylab.pretrain import (
    fit_downstream_ols,
    fit_factor_analysis,
    oracle_ols_excess_risk,
    sample_factor_model,
)

PAPER = "ge2023_unsupervised_pretraining"
CLAIM = ("Pretraining (factor analysis on m unlabeled samples, then least squares on n labels) "
         "beats cross-validated ridge on raw inputs when m >> n with weak per-coordinate signal, "
         "and loses to it when m is small and n is large (main bound, factor-model instance).")
SIZES = {"smoke": dict(d=200, r=5, ms=[200, 20000], ns=[50, 100, 2000], reps=6),
         "full": dict(d=200, r=5, ms=[200, 2000, 20000], ns=[10, 20, 50, 100, 200, 500, 2000],
                      reps=20)}
MODEL = dict(loading_scale=0.15, sigma_x=1.0, sigma_y=0.1)
ALPHAS = np.logspace(-3, 6, 30)


def _repetition(cfg, rng):
    d, r, ms, ns = cfg["d"], cfg["r"], cfg["ms"], cfg["ns"]
    model = sample_factor_model(d, r, rng=rng, **MODEL)
    X_u, _ = model.sample(max(ms), rng=rng)
    X_l, y_l = model.sample(max(ns), rng=rng)
    pre = np.empty((len(ms), len(ns)))
    ridge = np.empty(len(ns))
    for j, n in enumerate(ns):
        # the same leave-one-out path either way; "svd" is the cheaper one when n > d
        fit = RidgeCV(alphas=ALPHAS, gcv_mode="svd" if n > d else "eigen").fit(X_l[:n], y_l[:n])
        ridge[j] = model.linear_risk(fit.coef_, fit.intercept_) - model.bayes_risk
    for i, m in enumerate(ms):
        fa = fit_factor_analysis(X_u[:m], r)
        for j, n in enumerate(ns):
            head = fit_downstream_ols(fa.W, fa.noise_variance, fa.mean, X_l[:n], y_l[:n])
            pre[i, j] = model.linear_risk(*head.linear_coef()) - model.bayes_risk
    return pre, ridge, model.bayes_risk


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="ge2023_unsupervised_pretraining_advantage", paper=PAPER,
                      statement=CLAIM, scale=scale, seed=seed)
    ms, ns, T = cfg["ms"], cfg["ns"], cfg["reps"]
    rngs = np.random.default_rng(seed).spawn(T)
    out = [_repetition(cfg, g) for g in rngs]
    pre = np.stack([o[0] for o in out])  # (T, len(ms), len(ns))
    ridge = np.stack([o[1] for o in out])  # (T, len(ns))
    bayes = float(np.mean([o[2] for o in out]))
    pre_mean, ridge_mean = pre.mean(0), ridge.mean(0)
    se = lambda a: a.std(0, ddof=1) / np.sqrt(T)  # noqa: E731
    ratio = ridge_mean[None, :] / pre_mean
    res.data.update({"ms": ms, "ns": ns, "pretrain_excess": pre_mean,
                     "pretrain_se": se(pre), "ridge_excess": ridge_mean, "ridge_se": se(ridge),
                     "ratio_ridge_over_pretrain": ratio, "bayes_risk_mean": bayes,
                     "model": MODEL, "reps": T})
    big, small = len(ms) - 1, 0
    for j, n in enumerate(ns):
        if 50 <= n <= 200:
            res.add(Check.at_least(f"m={ms[big]}, n={n}: ridge / pretraining excess risk",
                                   ratio[big, j], 5.0,
                                   detail=f"{ridge_mean[j]:.3g} vs {pre_mean[big, j]:.3g}"))
    j100, jmax = ns.index(100), len(ns) - 1
    for i, m in enumerate(ms):
        if m <= ns[jmax]:  # the gap narrows once n reaches m (sqrt(C_Psi/n) vs sqrt(C_Phi/m))
            res.add(Check.at_most(f"m={m}: ratio at n={ns[jmax]} below the ratio at n=100",
                                  ratio[i, jmax], ratio[i, j100]))
    res.data["ratio_change_largest_m_n100_to_nmax"] = [ratio[big, j100], ratio[big, jmax]]
    diff = pre[:, small, jmax] - ridge[:, jmax]
    res.add(Check.at_least(f"m={ms[small]}, n={ns[jmax]}: pretraining minus ridge excess "
                           "(paired mean - 2 s.e.; ridge wins when > 0)",
                           diff.mean() - 2 * diff.std(ddof=1) / np.sqrt(T), 0.0,
                           detail=f"pretraining {pre_mean[small, jmax]:.3g}, "
                                  f"ridge {ridge_mean[jmax]:.3g}"))
    for i in range(len(ms) - 1):
        drop = pre[:, i, jmax] - pre[:, i + 1, jmax]
        res.add(Check.at_least(f"n={ns[jmax]}: pretraining excess falls from m={ms[i]} to "
                               f"m={ms[i + 1]} (paired mean - 2 s.e.)",
                               drop.mean() - 2 * drop.std(ddof=1) / np.sqrt(T), 0.0))
    slope = float(np.log(pre_mean[big, jmax] / pre_mean[small, jmax])
                  / np.log(ms[big] / ms[small]))
    res.data["floor_slope_in_m"] = slope
    res.add(Check.at_most(f"log-log slope of the pretraining excess at n={ns[jmax]} in m "
                          "(bound sqrt(C_Phi/m): <= -0.5)", slope, -0.5))

    fig, axes = new_figure(2, title=f"factor model d={cfg['d']}, r={cfg['r']}, "
                                    f"B_ij ~ N(0, 0.15^2)")
    ax = axes[0]
    plot_measured(ax, ns, ridge_mean, se(ridge), label="ridge on x (CV)", color=color(0))
    for i, m in enumerate(ms):
        plot_measured(ax, ns, pre_mean[i], se(pre)[i], label=f"FA + OLS, m={m}",
                      color=color(i + 1))
    nn = np.geomspace(max(ns[0], cfg["r"] + 3), ns[-1], 40)
    plot_theory(ax, nn, [oracle_ols_excess_risk(int(v), cfg["r"], noise_var=bayes,
                                                fit_intercept=True) for v in nn],
                label="OLS on true E[z|x] (m = inf)", color="k")
    finish(ax, xlabel="labeled n", ylabel="excess risk", logx=True, logy=True)
    ax = axes[1]
    for i, m in enumerate(ms):
        plot_measured(ax, ns, ratio[i], None, label=f"m={m}", color=color(i + 1))
    plot_theory(ax, ns, [1.0] * len(ns), label="tie", color="k", lw=0.8)
    finish(ax, xlabel="labeled n", ylabel="ridge / pretraining excess", logx=True, logy=True)
    res.figure = fig
    res.caveats.append("The paper gives rates with unpublished constants; this checks the "
                       "shape (who wins where, and how the gap moves with n and m) on "
                       "theorylab's instance, not numbers from the paper.")
    res.caveats.append("Strong loadings (B_ij ~ N(0, 1)) make ridge on x nearly as good: the "
                       "advantage needs weak per-coordinate signal (see the note).")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
