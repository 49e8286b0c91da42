"""The frozen subspace: for α < 1, N − P weight directions never learn, so the initial
weight variance σ_0² adds (1 − α) σ_0² to the long-time test error.

Paper: Advani & Saxe 2017, Sec. 3 ("frozen subspace"; small initial weights are needed).
Expected: ∂E_g(∞)/∂σ_0² = 1 − α (theory, exactly); simulated slope within ± 0.02 at
α = 0.5 (fixed before the runs) — the slope is estimated with common random numbers (the same
instance for every σ_0², only the scale of w(0) changes), which removes most seed noise;
tolerance 0.02 or 3 s.e. across seeds, whichever is larger (the per-seed slope is
‖P_⊥ξ‖²/N for the normalised init ξ, std ≈ √(2(1−α)/N), a finite-size fluctuation).
"""

import numpy as np

from theorylab.claims import Check, ClaimResult, script_main
from theorylab.dynamics import gd_error_curves, long_time_errors, simulate_gradient_flow
from theorylab.plotting import color, finish, new_figure, plot_seeds, plot_theory
from theorylab.sweep import sweep

PAPER = "advani2017_dynamics"
CLAIM = ("Linear student–teacher, α < 1: the frozen subspace adds (1 − α)·σ_0² to the long-time "
         "test error (theory; simulated at α = 0.5).")
SIZES = {"smoke": dict(n=200, seeds=20), "full": dict(n=1000, seeds=40)}
ALPHA, SNR, T_LATE = 0.5, 5.0, 1e4
SIGMAS = (0.0, 0.5, 1.0)


def _late_errors(n, seed):
    t = np.array([T_LATE])
    return [float(simulate_gradient_flow(n, int(ALPHA * n), t, snr=SNR, sigma0_sq=s0,
                                         rng=seed).test_error[0]) for s0 in SIGMAS]


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="advani2017_dynamics_frozen_subspace", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    seeds = [1000 * seed + k for k in range(cfg["seeds"])]
    sw = sweep(_late_errors, {"n": [cfg["n"]]}, seeds=seeds,
               desc="frozen subspace sim")
    e = sw.array()[0]  # (seeds, n_sigma)
    slopes = np.polyfit(np.array(SIGMAS), e.T, 1)[0]  # per seed
    slope, se = float(slopes.mean()), float(slopes.std(ddof=1) / np.sqrt(len(slopes)))
    th = [long_time_errors(ALPHA, SNR, sigma0_sq=s0)[0] for s0 in SIGMAS]
    th_slope = float(np.polyfit(SIGMAS, th, 1)[0])
    res.add(Check.close("theory slope dE_g(∞)/dσ_0²", th_slope, 1 - ALPHA, 1e-12))
    res.add(Check.close("simulated slope dE_g(T=1e4)/dσ_0² at α=0.5", slope, 1 - ALPHA,
                        max(0.02, 3 * se), detail=f"{cfg['seeds']} seeds, N={cfg['n']}"))
    # above α = 1 nothing is frozen: σ_0² leaves E_g(∞) unchanged
    above = long_time_errors(2.0, SNR, sigma0_sq=1.0)[0] - long_time_errors(2.0, SNR)[0]
    res.add(Check.close("theory: σ_0² leaves E_g(∞) unchanged at α = 2", above, 0.0, 1e-12))
    res.data.update(slopes=slopes, errors=e)

    fig, axes = new_figure(2, title=f"Frozen subspace, α = {ALPHA}, SNR = {SNR:g}")
    ax = axes[0]
    s_dense = np.linspace(0, 1, 50)
    plot_theory(ax, s_dense, [long_time_errors(ALPHA, SNR, sigma0_sq=s)[0] for s in s_dense],
                label="theory E_g(∞)")
    plot_seeds(ax, SIGMAS, e.T, label=f"simulation E_g(T=1e4), N={cfg['n']}")
    finish(ax, xlabel="σ_0²", ylabel="long-time test error",
           title=f"slope {slope:.3f} ± {se:.3f} (theory {1 - ALPHA:g})")
    ax = axes[1]
    tt = np.logspace(-1, 3, 200)
    for k, s0 in enumerate(SIGMAS):
        plot_theory(ax, tt, gd_error_curves(ALPHA, SNR, tt, sigma0_sq=s0).test_error,
                    color=color(k), label=f"σ_0² = {s0:g}")
    finish(ax, xlabel="t / τ", ylabel="E_g(t) (theory)", logx=True)
    res.figure = fig
    res.caveats.append("Normalisation as in paper_notes/advani2017_dynamics.md (unconfirmed in "
                       "the paper).")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
