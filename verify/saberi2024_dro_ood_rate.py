"""The shift alpha sets a floor: RSS excess risk vs n saturates at a level that grows with alpha.

Paper: Saberi et al. 2024 (arXiv:2310.00027), Theorem 4.2 and its corollaries: the excess 0-1
risk of RSS is O(((||mu_1||^2 + sigma_1^2) 2 d alpha / m + (4d/m) sqrt((2d + 2 log 1/delta)/
(2n + m)))^{1/4} + ...): the n-dependent part vanishes, the alpha part does not.
Expected (derived): with a fixed large weight on the unlabeled term the classifier tends to the
top principal direction mu_1 of the shifted data, so the excess risk tends to
Phi(||mu_0||/sigma) - Phi(mu_0.mu_1/(||mu_1|| sigma)) = Phi(1) - Phi(1/sqrt(1 + alpha^2))
(0, 0.027, 0.081 for alpha = 0, 0.5, 1); the PCA-oracle curve is drawn dashed.
Tolerance: ordering in alpha at the largest n must hold beyond 2 paired standard errors; the
saturation level is compared with the floor within 0.02 (the labeled term pulls slightly toward
mu_0, so RSS may sit a little below the PCA floor). Theorem 4.2's bound (O(.) constant 1) is only
an upper bound and is checked as such (it is vacuous here).
Hyperparameters fixed (theorylab's choice): gamma = 1, gamma' = 0.3, lambda = 10, ramp slope 1.
Speed: the fits compute their products with the unlabeled data in float32
(``products="float32"``; the rest of the descent in float64), about 2x faster; against the
float64 path on the same data the accuracies agree to <= 1e-3 (a fit stopping at a nonsmooth
point of the ramp may stop a little elsewhere), mostly to <= 1e-6.
"""

import numpy as np
from scipy.special import ndtr

from theorylab.claims import Check, ClaimResult, script_main
from theorylab.dro import (
    bayes_accuracy,
    bound_theorem42,
    exact_accuracy,
    pca_oracle_accuracy,
    sample_gmm_shift,
    solve_rss,
)
from theorylab.plotting import color, finish, new_figure, plot_measured, plot_theory
from theorylab.sweep import sweep

PAPER = "saberi2024_dro_ood"
CLAIM = ("The domain shift alpha sets a floor: the excess risk of RSS decreases with n and "
         "saturates at a level that increases with alpha (Theorem 4.2).")
SIZES = {"smoke": dict(d=50, m=40, ns=[500, 4000], alphas=[0.0, 1.0], trials=5),
         "full": dict(d=200, m=40, ns=[400, 1000, 4000, 10000], alphas=[0.0, 0.5, 1.0],
                      trials=20)}
HP = dict(gamma=1.0, gamma_u=0.3, lam=10.0)


def _trial(d, m, n, alpha, seed):
    s = sample_gmm_shift(d, m, n, alpha=alpha, rng=seed)
    r = solve_rss(s.X, s.y, s.X_unlabeled, **HP, products="float32")
    return bayes_accuracy(1.0) - exact_accuracy(r.w, s.mu0)


def floor(alpha: float) -> float:
    return bayes_accuracy(1.0) - float(ndtr(1.0 / np.sqrt(1.0 + alpha**2)))


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="saberi2024_dro_ood_rate", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    d, m, ns, alphas, T = cfg["d"], cfg["m"], cfg["ns"], cfg["alphas"], cfg["trials"]
    # the same seeds for every alpha: the paired differences remove the draw-to-draw spread
    seeds = [seed * 100_000 + 11 * k for k in range(T)]
    sw = sweep(_trial, {"alpha": alphas, "n": ns, "d": [d], "m": [m]}, seeds=seeds)
    ex = sw.array().reshape(len(alphas), len(ns), T)
    mean, se = ex.mean(2), ex.std(2, ddof=1) / np.sqrt(T)
    res.data.update({"alphas": alphas, "ns": ns, "excess_mean": mean, "excess_se": se,
                     "floor": [floor(a) for a in alphas], "hyperparameters": HP})
    for k in range(len(alphas) - 1):
        diff = ex[k + 1, -1] - ex[k, -1]
        res.add(Check.at_least(
            f"excess risk at n={ns[-1]}: alpha={alphas[k + 1]} minus alpha={alphas[k]} "
            "(paired mean - 2 s.e.)", diff.mean() - 2 * diff.std(ddof=1) / np.sqrt(T), 0.0))
    for k, a in enumerate(alphas):
        res.add(Check.close(f"saturation level at n={ns[-1]}, alpha={a} vs floor "
                            "Phi(1) - Phi(1/sqrt(1+alpha^2))", mean[k, -1], floor(a), 0.02,
                            detail=f"s.e. {se[k, -1]:.3f}"))
        drop = ex[k, 0] - ex[k, -1]
        res.add(Check.at_least(f"excess risk decreases from n={ns[0]} to n={ns[-1]} "
                               f"(alpha={a}; paired mean + 2 s.e.)",
                               drop.mean() + 2 * drop.std(ddof=1) / np.sqrt(T), 0.0))
        b = bound_theorem42(m, ns[-1], d, alpha=a)
        res.add(Check.at_most(f"Theorem 4.2 bound (constant 1) holds at n={ns[-1]}, alpha={a}",
                              mean[k, -1], b, detail="vacuous at this size; upper bound only"))
    fig, axes = new_figure(1, title=f"excess risk vs n (d={d}, m={m})")
    ax = axes[0]
    nn = np.geomspace(ns[0], ns[-1], 40)
    for k, a in enumerate(alphas):
        plot_measured(ax, ns, mean[k], se[k], label=f"RSS alpha={a}", color=color(k))
        plot_theory(ax, nn, [bayes_accuracy(1.0) - pca_oracle_accuracy(int(v), d, alpha=a)
                             for v in nn], label=f"PCA oracle alpha={a}", color=color(k))
        plot_theory(ax, nn, [floor(a)] * len(nn), label=None, color=color(k), lw=0.8)
    finish(ax, xlabel="unlabeled n", ylabel="excess 0-1 risk", logx=True, logy=True)
    res.figure = fig
    res.caveats.append("The floor Phi(1) - Phi(1/sqrt(1+alpha^2)) is theorylab's derivation for "
                       "a shift orthogonal to mu_0; Theorem 4.2 only gives an O(.) upper bound "
                       "whose constants are not published (constant 1 makes it vacuous here).")
    res.caveats.append("Hyperparameters fixed (gamma=1, gamma'=0.3, lambda=10), not from the "
                       "paper.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
