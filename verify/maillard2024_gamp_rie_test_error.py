"""Test error on fresh samples = 2 × (matrix error) + δ, hence 2 × MMSE + δ at the Bayes optimum.

Paper: Maillard et al. 2024 (arXiv:2408.03733): the figures report ‖Ŝ − S*‖²_F/d²; the
generalisation error of f̂(x) = (1/d)⟨xxᵀ − I, Ŝ⟩ on fresh data is
E(y − f̂)² = 2‖Ŝ − S*‖²_F/d² + δ (derived: Var(xᵀAx − Tr A) = 2‖A‖²_F; paper wording
unconfirmed).  Expected: the empirical test error of the GAMP-RIE estimate on n_test
fresh samples equals 2·MSE + δ within 4 standard errors of the test average (an identity,
only Monte-Carlo error), and equals 2·MMSE(α) + δ within 0.06 (= 2 × the 0.03 finite-size
tolerance of GAMP-RIE at d = 100 vs theory, see the gamp_vs_theory claim) for α ≥ 0.2;
at α = 0.1, where the published d = 100 runs themselves sit up to 0.06 above theory, the
comparison is with 2 × the published finite-d mean + δ, within 2 × 3 published std.
Smoke averages 3 instances, as full does: with one instance, α = 0.3 (near α_PR = 0.375,
where single-instance errors at d = 100 fluctuate most) failed on seed 9 of 0–19 (test error
0.335 vs 2·MMSE = 0.256, i.e. an MSE 0.04 above theory).
"""

import warnings

import numpy as np

from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_seeds, plot_theory
from theorylab.sweep import sweep

PAPER = "maillard2024_gamp_rie"
CLAIM = ("The test error of the GAMP-RIE estimate on fresh samples equals 2 x its matrix MSE (+ "
         "label noise delta), and 2 x MMSE + delta at the Bayes optimum (κ = 0.5, d = 100).")
KAPPA = 0.5
PUBLISHED_D100 = {(0.1, 0.0): (0.732, 0.025), (0.1, 0.25): (0.831, 0.030)}  # mean, std
SIZES = {
    "smoke": dict(d=100, points=[(0.3, 0.0), (0.5, 0.25)], seeds=3, n_test=20000),
    "full": dict(d=100, points=[(a, dl) for dl in (0.0, 0.25) for a in (0.1, 0.2, 0.3, 0.4, 0.5)],
                 seeds=3, n_test=100000),
}


def _one(d, alpha, delta, n_test, seed):
    from theorylab.gamp import quadratic_labels, sample_quadratic_network, solve_gamp_rie
    from theorylab.results import ConvergenceWarning

    rng = np.random.default_rng(seed)
    inst = sample_quadratic_network(d, alpha=alpha, kappa=KAPPA, delta=delta, rng=rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r = solve_gamp_rie(inst.X, inst.y, kappa=KAPPA, delta=delta, max_iter=100, rng=rng,
                           S_star=inst.S_star)
    sq = np.empty(0)
    for chunk in range(0, n_test, 20000):  # fresh inputs in chunks: O(chunk · d) memory
        k = min(20000, n_test - chunk)
        Xt = rng.standard_normal((k, d))
        yt = quadratic_labels(Xt, inst.S_star) + np.sqrt(delta) * rng.standard_normal(k)
        sq = np.r_[sq, (yt - quadratic_labels(Xt, r.S)) ** 2]
    return {"mse": r.mse, "test": float(sq.mean()), "test_se": float(sq.std() / np.sqrt(sq.size))}


def run(scale="smoke", seed=0) -> ClaimResult:
    from theorylab.gamp import bayes_optimal_mmse, expected_test_error

    cfg = SIZES[scale]
    res = ClaimResult(claim="maillard2024_gamp_rie_test_error", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    seeds = [seed * 1000 + 31 + s for s in range(cfg["seeds"])]
    sw = sweep(_one, [dict(d=cfg["d"], alpha=a, delta=dl, n_test=cfg["n_test"])
                      for a, dl in cfg["points"]], seeds=seeds)
    test, mse, se = sw.array("test"), sw.array("mse"), sw.array("test_se")
    fig, axes = new_figure(2, title="Test error on fresh samples, kappa = 0.5")
    for i, (a, dl) in enumerate(cfg["points"]):
        pred = expected_test_error(mse[i], delta=dl)
        # identity per run: |test − (2 mse + δ)| within 4 s.e. of the test average
        z = np.abs(test[i] - pred) / se[i]
        res.add(Check.at_most(f"max |test - (2 MSE + delta)|/s.e., alpha={a}, delta={dl}",
                              float(z.max()), 4.0, detail=f"{cfg['n_test']} fresh samples"))
        bayes = expected_test_error(bayes_optimal_mmse(a, KAPPA, delta=dl), delta=dl)
        if a >= 0.2:
            res.add(Check.close(f"test error alpha={a}, delta={dl} vs 2 MMSE + delta",
                                float(test[i].mean()), float(bayes), 0.06,
                                detail=f"d={cfg['d']}, {len(seeds)} seed(s); 2 x 0.03 finite "
                                       "size"))
        else:  # alpha = 0.1: the published d = 100 runs themselves sit up to 0.06 above theory
            pm, ps = PUBLISHED_D100[(a, dl)]
            res.add(Check.close(f"test error alpha={a}, delta={dl} vs 2 x published d=100 "
                                "GAMP MSE + delta", float(test[i].mean()),
                                float(expected_test_error(pm, delta=dl)),
                                2 * 3 * max(ps, 0.01), detail="2 x 3 published std"))
            res.caveats.append(f"alpha={a}, delta={dl}: compared with the published finite-d "
                               f"GAMP runs ({pm}±{ps}), not with theory "
                               f"({bayes_optimal_mmse(a, KAPPA, delta=dl):.4f}).")
        res.data[f"alpha{a}_delta{dl}"] = dict(test=test[i].tolist(), mse=mse[i].tolist(),
                                               test_se=se[i].tolist(), bayes=float(bayes))
    for k, dl in enumerate(sorted({dl for _, dl in cfg["points"]})):
        idx = [i for i, (_, d2) in enumerate(cfg["points"]) if d2 == dl]
        al = [cfg["points"][i][0] for i in idx]
        grid = np.linspace(0.02, 0.55, 40)
        plot_theory(axes[k], grid, expected_test_error(bayes_optimal_mmse(grid, KAPPA, delta=dl),
                                                       delta=dl),
                    label="2 MMSE + delta (theory)", color="k")
        plot_seeds(axes[k], al, test[idx], label=f"GAMP-RIE test error, d={cfg['d']}",
                   color=color(0))
        plot_seeds(axes[k], al, expected_test_error(mse[idx], delta=dl),
                   label="2 MSE + delta (same runs)", color=color(1), mfc="none")
        finish(axes[k], xlabel="alpha", ylabel="test error", title=f"delta = {dl}")
    res.figure = fig
    res.caveats.append("The factor 2 and the additive delta are derived (Gaussian inputs); the "
                       "paper's own statement of the test-error normalisation was not read.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
