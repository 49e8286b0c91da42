"""On random supports the samples needed for prediction error ε grow like log d, not like d.

Paper: Chandrasekaran, Meka & Stavropoulos 2025 (abstract): N = poly(k, log d, 1/ε) samples
suffice for random supports; generic polynomial-time methods need N = O(d). Expected:
N_ε(d), the smallest N on a grid whose mean prediction error over random supports is ≤ ε,
grows logarithmically in d: N_ε(d_max)/N_ε(d_min) ≤ 3 (log growth predicts
log d_max / log d_min ≈ 1.3–1.5; linear growth would give d_max/d_min = 4–8), and
N_ε(d_max) < d_max/2 (well below the O(d) of OLS, which needs N ≥ d).
Design: gadget designs (η = 1e-3), k = 5, noise σ = 0.1, ε = 0.01 (signal power 1).
Solver: theorylab's stand-in for the paper's method (see NOTE). Tolerance: N is read on a
grid (ratio ≈ 1.3 between neighbours), means over 5 (smoke) / 10 (full) supports.
Measured spread (smoke, seeds 0..19, all pass): N_ε(400)/N_ε(100) in 0.76–1.65 (median
1.29; grid noise can put d = 400 below d = 100), N_ε(400)/400 in 0.033–0.09.
"""

import numpy as np

from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_measured, plot_theory
from theorylab.sparse import (
    STANDIN_NOTE,
    gadget_design,
    prediction_error,
    solve_random_support_regression,
)
from theorylab.sweep import sweep

PAPER = "chandrasekaran2025_random_support"
CLAIM = ("With theorylab's stand-in solver on random supports of gadget designs, the samples "
         "needed for prediction error 0.01 grow slowly with d (at most 3× over the d grid, as "
         "log d would), not like d.")
LABEL = "stand-in"
LABEL_REASON = "the paper's Phase 1/2 algorithm is not available; runs theorylab's own solver"
NGRID = (10, 13, 17, 22, 28, 36, 46, 60, 78, 100, 130, 170)
SIZES = {"smoke": dict(ds=(100, 400), supports=5), "full": dict(ds=(100, 200, 400, 800, 1600),
                                                                supports=10)}
K, EPS, NOISE = 5, 0.01, 0.1


def _pe(n, d, seed):
    inst = gadget_design(n, d, k=K, support="random", eta=1e-3, noise=NOISE, rng=seed)
    return prediction_error(inst.X, solve_random_support_regression(inst.X, inst.y, k=K).w,
                            inst.w_star)


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="chandrasekaran2025_random_support_sample_complexity", paper=PAPER,
                      statement=CLAIM, scale=scale, seed=seed)
    sw = sweep(_pe, {"d": list(cfg["ds"]), "n": list(NGRID)},
               seeds=[1000 * seed + j for j in range(cfg["supports"])], desc="N vs d")
    pe = sw.mean().reshape(len(cfg["ds"]), len(NGRID))
    needed = []
    for i in range(len(cfg["ds"])):
        ok = pe[i] <= EPS
        # smallest N from which every larger grid N also meets ε
        idx = next((j for j in range(len(NGRID)) if ok[j:].all()), None)
        needed.append(NGRID[idx] if idx is not None else np.inf)
    ds = np.array(cfg["ds"], float)
    needed = np.array(needed, float)
    res.data.update(ds=ds, n_grid=NGRID, mean_pe=pe, n_needed=needed)
    ratio = needed[-1] / needed[0]
    res.add(Check.at_most(f"N_ε(d={int(ds[-1])}) / N_ε(d={int(ds[0])})", float(ratio), 3.0,
                          detail=f"log ratio {np.log(ds[-1]) / np.log(ds[0]):.2f}, linear "
                                 f"ratio {ds[-1] / ds[0]:.0f}; N_ε = {needed.tolist()}"))
    res.add(Check.at_most(f"N_ε(d={int(ds[-1])}) / d", float(needed[-1] / ds[-1]), 0.5))
    fig, axes = new_figure(2, title=f"Random supports, gadget design, k={K}, ε={EPS}")
    plot_measured(axes[0], ds, needed, None, label="N_ε measured (ours, proxy)")
    fit = needed[0] * np.log(ds) / np.log(ds[0])
    plot_theory(axes[0], ds, fit, label="∝ log d (through the first point)")
    axes[0].plot(ds, ds, ls=":", color="gray", label="N = d (OLS / generic)")
    finish(axes[0], xlabel="d", ylabel="samples needed", logx=True, logy=True)
    for i, d in enumerate(cfg["ds"]):
        plot_measured(axes[1], NGRID, pe[i], sw.sem().reshape(pe.shape)[i], color=color(i),
                      label=f"d = {d}")
    axes[1].axhline(EPS, ls="--", color="k", lw=1, label="ε")
    finish(axes[1], xlabel="N", ylabel="mean prediction error", logx=True, logy=True)
    res.figure = fig
    res.caveats.append(STANDIN_NOTE)
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
