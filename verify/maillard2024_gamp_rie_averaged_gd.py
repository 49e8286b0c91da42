"""Averaged gradient descent approaches the Bayes-optimal error; a single run has ≈ twice it.

Paper: Maillard et al. 2024 (arXiv:2408.03733), abstract and the GD figure (figure number
unconfirmed): without label noise, GD from random initialisation appears to sample the
posterior, and averaging over initialisations reaches the Bayes-optimal error.
Expected (small scale, κ = 0.5, δ = 0): if runs were posterior samples, a single run's
error is 2·MMSE and the average of B runs has MMSE·(1 + 1/B) (Nishimori), so the ratio
single/averaged is 2/(1 + 1/B).  Checks: the ratio within ±20% of that value (GD is only
an approximate sampler; the reference code's d = 100 data are consistent with this), and
the averaged-GD error within 0.1 of GAMP-RIE's error on the same instance (the finite-d
stand-in for the Bayes error; at d = 100 the published averaged GD sat 0.03–0.07 above
theory).  d = 24–40 here, so the theory curve is drawn but only loosely comparable.
Why the tolerance holds on every seed: one smoke instance (d = 24, alpha = 0.2, B = 16) is
noisy — over 136 instances the single/averaged ratio was 2.03 ± 0.16 (mean ± sd) and averaged
GD − GAMP-RIE 0.024 ± 0.092 (min −0.255, max +0.322), so one instance alone failed the ±0.1
check on 3 of seeds 0–19. Smoke therefore averages 8 independent instances; over seeds 0–19
the claim's ratio was 2.005 ± 0.068 (min 1.90, max 2.12; bounds 1.51–2.26) and averaged GD −
GAMP-RIE 0.024 ± 0.033 (max 0.079 against the unchanged tolerance 0.1): all 20 pass.
Scale ``paper``: the reference code's size (d = 100, 64 initialisations), GD on ``--device``;
``--dry-run`` samples the instance and takes one GD step.
"""

import warnings

import numpy as np

from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_measured, plot_seeds, plot_theory
from theorylab.sweep import sweep

PAPER = "maillard2024_gamp_rie"
CLAIM = ("Gradient descent on the quadratic network (κ = 0.5, no label noise, d ≤ 40) from random "
         "initialisations behaves like posterior sampling: one run has ~2x the error of the "
         "average of runs, which comes within 0.1 of GAMP-RIE's error.")
LABEL = "partial"
LABEL_REASON = "averaged GD 0.05–0.08 above GAMP-RIE at α = 0.2–0.3; GD not at interpolation"
KAPPA = 0.5
SIZES = {
    "smoke": dict(d=24, alphas=(0.2,), seeds=8, n_init=16, n_steps=1500, lr=1.0),
    "full": dict(d=40, alphas=(0.1, 0.2, 0.3), seeds=2, n_init=32, n_steps=4000, lr=1.0),
    # the reference code's size: d = 100, 64 initialisations (GD on --device)
    "paper": dict(d=100, alphas=(0.1, 0.2, 0.3), seeds=2, n_init=64, n_steps=4000, lr=1.0),
}
# reference code, averaged GD over 64 inits at d = 100 (figure units)
PUBLISHED_AVG_D100 = {0.102: 0.771, 0.205: 0.458, 0.308: 0.156}


def _one(d, alpha, n_init, n_steps, lr, seed, device="cpu", amp=True):
    import torch

    from theorylab.gamp import sample_quadratic_network, solve_gamp_rie
    from theorylab.gamp.gd import train_quadratic_network_gd
    from theorylab.results import ConvergenceWarning

    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    inst = sample_quadratic_network(d, alpha=alpha, kappa=KAPPA, rng=rng)
    m = inst.W.shape[1]
    gd = train_quadratic_network_gd(inst.X, inst.y, width=m, n_init=n_init, lr=lr,
                                    n_steps=n_steps, device=device,
                                    generator=torch.Generator().manual_seed(seed))
    err = lambda S: float(np.sum((S - inst.S_star) ** 2) / d**2)
    out = {"single": float(np.mean([err(S) for S in gd.S_runs])), "averaged": err(gd.S),
           "train_loss": float(gd.train_loss.mean()), "n_samples": len(inst.y), "width": m}
    if amp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out["gamp"] = solve_gamp_rie(inst.X, inst.y, kappa=inst.kappa, rng=rng,
                                         max_iter=200, S_star=inst.S_star).mse
    return out


def _paper_dry_run(cfg, seed) -> ClaimResult:
    """``--scale paper --dry-run``: the paper-size instance (d = 100), one GD step of 2
    initialisations on ``--device``; GAMP-RIE runs only in the real run."""
    from theorylab import claims

    res = ClaimResult(claim="maillard2024_gamp_rie_averaged_gd", paper=PAPER, statement=CLAIM,
                      scale="paper", seed=seed)
    d, a = cfg["d"], cfg["alphas"][0]
    out = _one(d, a, 2, 1, cfg["lr"], seed, device=claims.device(), amp=False)
    res.add(Check.close(f"paper config built: n = alpha d² samples at d = {d}, alpha = {a}",
                        out["n_samples"], round(a * d * d), 1.0,
                        detail=f"student width {out['width']} = κ d"))
    res.add(Check.true("one GD step: finite errors",
                       bool(np.isfinite(out["single"]) and np.isfinite(out["averaged"])),
                       measured=out["averaged"], detail=f"device {claims.device()}"))
    return res


def run(scale="smoke", seed=0) -> ClaimResult:
    from theorylab import claims
    from theorylab.gamp import bayes_optimal_mmse

    cfg = SIZES[scale]
    if scale == "paper" and claims.dry_run():
        return _paper_dry_run(cfg, seed)
    res = ClaimResult(claim="maillard2024_gamp_rie_averaged_gd", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    seeds = [seed * 1000 + 5 + s for s in range(cfg["seeds"])]
    sw = sweep(_one, {"alpha": list(cfg["alphas"]), "d": [cfg["d"]], "n_init": [cfg["n_init"]],
                      "n_steps": [cfg["n_steps"]], "lr": [cfg["lr"]],
                      "device": [claims.device()]}, seeds=seeds)
    single, avg, amp = sw.array("single"), sw.array("averaged"), sw.array("gamp")
    B = cfg["n_init"]
    target = 2.0 / (1.0 + 1.0 / B)
    for i, a in enumerate(cfg["alphas"]):
        ratio = float(single[i].mean() / avg[i].mean())
        res.add(Check.rel(f"single/averaged GD error, alpha={a}, d={cfg['d']}, B={B}", ratio,
                          target, 0.2, detail="posterior sampling: 2/(1+1/B)"))
        res.add(Check.close(f"averaged GD error vs GAMP-RIE (same instances), alpha={a}",
                            float(avg[i].mean()), float(amp[i].mean()), 0.1,
                            detail=f"finite d={cfg['d']}; theory "
                                   f"{bayes_optimal_mmse(a, KAPPA):.3f}"))
        res.data[f"alpha{a}"] = dict(single=single[i].tolist(), averaged=avg[i].tolist(),
                                     gamp=amp[i].tolist(),
                                     train_loss=sw.array("train_loss")[i].tolist(),
                                     theory=float(bayes_optimal_mmse(a, KAPPA)))
    fig, axes = new_figure(1, title=f"GD on the quadratic network, kappa=0.5, d={cfg['d']}")
    ax = axes[0]
    grid = np.linspace(0.02, 0.37, 40)
    th = bayes_optimal_mmse(grid, KAPPA)
    plot_theory(ax, grid, th, label="MMSE (theory)", color="k")
    plot_theory(ax, grid, 2 * th, label="2 MMSE (posterior sample)", color="0.5")
    al = list(cfg["alphas"])
    plot_seeds(ax, al, single, label=f"single GD run (mean of {B})", color=color(0))
    plot_seeds(ax, al, avg, label=f"GD averaged over {B} inits", color=color(1))
    plot_seeds(ax, al, amp, label="GAMP-RIE (same instances)", color=color(2))
    ks = sorted(PUBLISHED_AVG_D100)
    plot_measured(ax, ks, [PUBLISHED_AVG_D100[k] for k in ks], None,
                  label="published averaged GD, d=100", color=color(3), mfc="none")
    finish(ax, xlabel="alpha", ylabel="||S - S*||^2 / d^2")
    res.figure = fig
    res.caveats.append("Plain full-batch GD on the mean loss (1/4n) sum (f - y)^2 with lr 1.0 "
                       "stands in for the reference code's SGD/Adam settings on a summed loss; "
                       "student width = teacher width; small d (finite-size effects are large; "
                       "GAMP-RIE on the same instances is the Bayes stand-in).")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
