"""GAMP-RIE at finite d sits on the Bayes-optimal MMSE curve and recovers S* beyond α_PR.

Paper: Maillard et al. 2024 (arXiv:2408.03733), appendix figure comparing GAMP-RIE with
theory (figure number unconfirmed) and the reference code's ``AMP_{d}_0.5_{δ}.csv``.
Expected (κ = 0.5, figure units ‖Ŝ − S*‖²_F/d²): the theory MMSE (0.7237, 0.3922, 0.1281,
0, 0 at α = 0.1..0.5 noiseless; 0.7695, 0.5178, 0.3357, 0.2267, 0.1639 at δ = 0.25) and
an error ≈ 0 beyond α_PR = κ − κ²/2 = 0.375.
Tolerance: the published d = 100 runs sit +0.003..+0.03 above theory (finite-size bias)
with seed std 0.003–0.03, so |seed mean − theory| ≤ 0.03 for α ∈ [0.2, 0.3] and
MSE < 0.01 for α ≥ 0.4 noiseless.  At α = 0.1 (and noisy α ≤ 0.1) the published d = 100
means differ from theory by up to 0.06; there the run is compared with the published
finite-d mean ± 3 published std instead (recorded as a caveat).
"""

import warnings

import numpy as np

from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_measured, plot_seeds, plot_theory
from theorylab.sweep import sweep

PAPER = "maillard2024_gamp_rie"
CLAIM = ("GAMP-RIE at d = 100 and 200 (κ = 0.5) matches the Bayes-optimal MMSE within finite-size "
         "error and its error falls to ~0 beyond alpha_PR = kappa - kappa^2/2.")
KAPPA = 0.5
# published GAMP-RIE (reference code CSVs): {(d, delta): {alpha: (mean, std)}}
PUBLISHED = {
    (100, 0.0): {0.1: (0.732, 0.025), 0.2: (0.418, 0.024), 0.3: (0.137, 0.005),
                 0.4: (0.0045, 0.0008), 0.5: (1.5e-4, 0.0)},
    (200, 0.0): {0.1: (0.748, 0.020), 0.2: (0.403, 0.013), 0.3: (0.133, 0.007),
                 0.4: (0.0039, 0.0003), 0.5: (1.5e-4, 0.0)},
    (100, 0.25): {0.1: (0.831, 0.030), 0.2: (0.539, 0.016), 0.3: (0.349, 0.018),
                  0.4: (0.245, 0.011), 0.5: (0.174, 0.003)},
    (200, 0.25): {0.1: (0.799, 0.009), 0.2: (0.538, 0.009), 0.3: (0.349, 0.003),
                  0.4: (0.237, 0.003), 0.5: (0.173, 0.003)},
}
SIZES = {
    "smoke": dict(runs=[(100, 0.0, (0.3, 0.4), 1)], max_iter=100),
    "full": dict(runs=[(100, 0.0, (0.1, 0.2, 0.3, 0.4, 0.5), 5),
                       (100, 0.25, (0.1, 0.2, 0.3, 0.4, 0.5), 5),
                       (200, 0.0, (0.1, 0.2, 0.3, 0.4, 0.5), 2),
                       (200, 0.25, (0.1, 0.2, 0.3, 0.4, 0.5), 2)], max_iter=100),
}


def _one(d, alpha, delta, max_iter, seed):
    from theorylab.gamp import sample_quadratic_network
    from theorylab.gamp.fast import solve_gamp_rie_fast
    from theorylab.results import ConvergenceWarning

    rng = np.random.default_rng(seed)
    inst = sample_quadratic_network(d, alpha=alpha, kappa=KAPPA, delta=delta, rng=rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # recorded as `converged`
        r = solve_gamp_rie_fast(inst.X, inst.y, kappa=KAPPA, delta=delta, damping=0.5,
                                tol=1e-5, max_iter=max_iter, rng=rng, S_star=inst.S_star)
    return {"mse": r.mse, "n_iter": float(r.n_iter), "converged": float(r.converged)}


def run(scale="smoke", seed=0) -> ClaimResult:
    from theorylab.gamp import perfect_recovery_threshold
    from theorylab.gamp.fast import bayes_optimal_mmse_fast as bayes_optimal_mmse

    cfg = SIZES[scale]
    res = ClaimResult(claim="maillard2024_gamp_rie_gamp_vs_theory", paper=PAPER,
                      statement=CLAIM, scale=scale, seed=seed)
    a_pr = perfect_recovery_threshold(KAPPA)
    fig, axes = new_figure(2, title="GAMP-RIE vs Bayes-optimal MMSE, kappa = 0.5")
    lagging = []
    for j, (d, delta, alphas, n_seeds) in enumerate(cfg["runs"]):
        seeds = [seed * 1000 + 17 * d + k for k in range(n_seeds)]
        sw = sweep(_one, {"alpha": list(alphas), "d": [d], "delta": [delta],
                          "max_iter": [cfg["max_iter"]]}, seeds=seeds)
        mse = sw.array("mse")  # (n_alpha, n_seeds)
        conv = sw.array("converged")
        theory = bayes_optimal_mmse(np.array(alphas), KAPPA, delta=delta)
        pub = PUBLISHED.get((d, delta), {})
        for i, a in enumerate(alphas):
            m = float(mse[i].mean())
            label = f"d={d}, delta={delta}, alpha={a} ({n_seeds} seeds)"
            if delta == 0.0 and a > a_pr:
                res.add(Check.at_most(f"MSE {label}", m, 0.01, detail="beyond alpha_PR"))
            elif 0.2 <= a <= 0.3 or (delta > 0 and a >= 0.2):
                res.add(Check.close(f"MSE {label}", m, theory[i], 0.03,
                                    detail="finite-size bias + seed spread"))
            elif a in pub:
                pm, ps = pub[a]
                res.add(Check.close(f"MSE {label} vs published d={d} run", m, pm,
                                    3 * max(ps, 0.01), detail="3 published std"))
                lagging.append(f"{label}: measured {m:.3f}, theory {theory[i]:.3f}, "
                               f"published d={d} {pm:.3f}±{ps:.3f}")
            res.data[f"d{d}_delta{delta}_alpha{a}"] = dict(
                mse=mse[i].tolist(), converged=conv[i].tolist(),
                n_iter=sw.array("n_iter")[i].tolist(), theory=float(theory[i]),
                published=pub.get(a))
        ax = axes[0 if delta == 0.0 else 1]
        plot_seeds(ax, alphas, mse, label=f"GAMP-RIE d={d} (mean ± s.e.)", color=color(j))
        if pub:
            ks = sorted(pub)
            plot_measured(ax, ks, [pub[k][0] for k in ks], [pub[k][1] for k in ks],
                          label=f"published d={d} (± std)", color=color(j), mfc="none")
    for k, delta in enumerate((0.0, 0.25)):
        grid = np.linspace(0.02, 0.55, 40)
        th = bayes_optimal_mmse(grid, KAPPA, delta=delta)
        plot_theory(axes[k], grid, th, label="theory (d -> inf)", color="k")
        finish(axes[k], xlabel="alpha = n/d^2", ylabel="||S_hat - S*||^2 / d^2",
               title=f"delta = {delta}" + (" (Delta_th = 0.5)" if delta else ""))
    res.figure = fig
    res.data["alpha_PR"] = a_pr
    if lagging:
        res.caveats.append("At alpha = 0.1 GAMP-RIE at finite d is compared with the published "
                           "finite-d runs, not with theory (finite-size gap up to 0.06 in the "
                           "published data): " + "; ".join(lagging))
    res.caveats.append("Runs stop at 100 iterations like the reference code; at small alpha "
                       "GAMP-RIE often does not meet tol=1e-5 (a small finite-size limit "
                       "cycle); converged flags are stored per run in data.")
    res.caveats.append("The number of seeds behind the published means/stds is not recorded.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
