"""For SRHT the achieved ε scales like √(d/m): median ρ·√(m/d) is a constant in [1, 3]
and the log–log slope of median ρ against m is −1/2.

Paper: Song, Ye, Yin & Zhang 2023 (arXiv:2302.00248), Thm. 1.1 states m = ε⁻² d log³(n/δ),
i.e. ε ∝ √(d/m) up to logs — its proof is DISPUTED (Song & Zhang 2026), so this is an
empirical scaling check. Instance: coherent spiky (x* = 0, ‖A†‖ = 1). Expected: slope −0.5
± 0.1 (median over T trials has ~1/√T relative noise over a 16× range of m, the log factors
are constant at fixed n); constant in [1, 3] (prototype: C ≈ 1.5–2.5). The m grid stops at
N′/8 because rows are sampled without replacement: the error then carries the factor
√(1 − m/N′), measured as a slope of about −0.64 when m reaches N′/2 (n = 2¹², m ≤ 2048).
"""

import numpy as np
from matplotlib.ticker import NullFormatter

from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import finish, new_figure, plot_measured, plot_theory
from theorylab.sketch import coherent_spiky_instance, solve_sketched_lstsq
from theorylab.sweep import sweep

PAPER = "song2023_linf_sketch"
CLAIM = "SRHT's achieved l_inf error ratio scales like sqrt(d/m) (empirical)."
LABEL = "partial"
LABEL_REASON = "empirical only: the ℓ∞ theorem's proof is disputed"
# m <= N′/8: sampling rows without replacement shrinks the error by √(1 − m/N′)
# (finite-population factor), which steepens the slope when m approaches N′
SIZES = {"smoke": dict(n=2**14, d=16, t=4, ms=(128, 256, 512, 1024, 2048), tasks=6, per_task=8),
         "full": dict(n=2**16, d=32, t=8, ms=(256, 512, 1024, 2048, 4096, 8192), tasks=20,
                      per_task=10)}


def _trials(n, d, t, ms, per_task, seed):
    cfg = dict(n=n, d=d, t=t, ms=ms, per_task=per_task)   # grid parameters: cache keys
    rng = np.random.default_rng(seed)
    rho = np.empty((cfg["per_task"], len(cfg["ms"])))
    for k in range(cfg["per_task"]):
        inst = coherent_spiky_instance(cfg["n"], cfg["d"], cfg["t"], rng=rng)
        for j, m in enumerate(cfg["ms"]):
            x = solve_sketched_lstsq(inst.A, inst.b, sketch="srht", m=m, rng=rng).x
            rho[k, j] = np.max(np.abs(x)) * np.sqrt(cfg["d"]) / inst.residual_norm
    return {"rho": rho}


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="song2023_linf_sketch_sqrt_scaling", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    sw = sweep(_trials, {k: [v] for k, v in cfg.items() if k != "tasks"},
               seeds=[1000 * seed + k for k in range(cfg["tasks"])],
               desc="SRHT scaling")
    rho = np.concatenate(sw.array("rho")[0], axis=0)   # (T, ms)
    T = rho.shape[0]
    ms, d = np.array(cfg["ms"], dtype=float), cfg["d"]
    med = np.median(rho, axis=0)
    slope = float(np.polyfit(np.log(ms), np.log(med), 1)[0])
    c = med * np.sqrt(ms / d)
    res.add(Check.close("log-log slope of median ρ vs m", slope, -0.5, 0.1,
                        detail=f"{T} trials per m"))
    res.add(Check.at_least("min median ρ·√(m/d)", float(c.min()), 1.0))
    res.add(Check.at_most("max median ρ·√(m/d)", float(c.max()), 3.0))
    res.data.update(ms=ms, median_rho=med, constant=c, slope=slope, trials=T,
                    p99=np.percentile(rho, 99, axis=0))
    fig, axes = new_figure(1, title=f"SRHT on the hard instance n={cfg['n']}, d={d}, "
                           f"t={cfg['t']} ({T} trials)")
    q75, q25 = np.percentile(rho, [75, 25], axis=0)
    plot_measured(axes[0], ms, med, (q75 - q25) / np.sqrt(T), label="SRHT median ρ")
    plot_theory(axes[0], ms, float(np.mean(c)) * np.sqrt(d / ms),
                label=f"{np.mean(c):.2f}·√(d/m)")
    finish(axes[0], xlabel="m", ylabel="ρ", logx=True, logy=True)
    for ax in fig.axes:   # log axes: no crowded minor-tick labels
        ax.xaxis.set_minor_formatter(NullFormatter())
    res.figure = fig
    res.caveats.append("Empirical: the paper's proof of the SRHT l_inf bound is disputed by "
                       "two of its authors (2026 note); the log³(n/δ) factor is not tested.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
