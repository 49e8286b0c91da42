"""At a fixed degree the polynomial method's cost grows linearly in n, while exact tensor
attention grows like n³; the polynomial method is faster from n = 256 on (g = 2).

Paper: Alman & Song 2023 (arXiv:2310.04064), Sec. 1 and 5: exact tensor attention touches
all n³ (query, key, key) triples, O(n³ d); the polynomial method costs O(n r d) with
r = C(d + g, g) feature-map columns. Measured here: best-of-3 CPU time of this process
(one torch thread; unlike wall time it ignores the time other processes hold the cores) of
``tensor_attention_exact`` (float64, queries in cache-sized blocks) for n in ``n_exact`` and
of ``tensor_attention_poly`` (g = 2, d = 4, r = 15) for n in ``n_poly`` (below a few
thousand rows the polynomial method's fixed overhead dominates, so its slope is fitted on
large n), entries uniform in [−0.5, 0.5] (the relative error is recorded beside the timing).
Expected: log-log slope of exact time vs n ≈ 3 and of poly time ≈ 1; poly faster than exact
at n = 256.
Tolerance: least-squares slopes. Timings on the shared 2-core machine (load 15–18) still
vary: with exact sizes 192/256/384 the exact slope over seeds 0–19 ranged 2.35–3.75 (mean
2.87) and the poly slope 0.88–1.13; the exact sweep therefore uses five sizes 192–384 and
the windows are [2.2, 3.8] (exact: cleanly super-quadratic, a doubling of n costing 4.6–14×)
and [0.6, 1.4] (poly: 1.5–2.6× per doubling). With the five sizes, seeds 0–19 measured exact
slopes 2.42–3.33 (mean 2.88, sd 0.28) and poly slopes 0.76–1.18 (mean 0.97, sd 0.12), all 20
passing; exact/poly time at n = 256 was 112–249×.
"""

import time

import numpy as np

from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_measured, plot_theory

PAPER = "alman2023_tensor_attention"
CLAIM = ("At fixed degree the polynomial method's time grows linearly in n while exact tensor "
         "attention grows like n³; with g = 2 the polynomial method is faster from n = 256.")
CPU_ONLY = "the claim is about CPU time of one torch thread (its growth with n)"
SIZES = {
    "smoke": dict(d=4, degree=2, n_exact=(192, 224, 256, 320, 384),
                  n_poly=(4096, 16384, 65536), repeat=3),
    "full": dict(d=4, degree=2, n_exact=(192, 256, 384, 512, 768), n_poly=(1024, 4096, 16384,
                                                                       65536, 262144),
                 repeat=3),
}
B = 0.5
EXACT_SLOPE = (2.2, 3.8)
POLY_SLOPE = (0.6, 1.4)


def _best_time(fn, repeat):
    """Best of ``repeat`` CPU times of this process (one torch thread), after a warm-up:
    unlike wall time it does not count the time other processes hold the cores."""
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        ts.append(time.process_time() - t0)
    return min(ts)


def _inputs(n, d, seed):
    import torch

    g = torch.Generator().manual_seed(seed)
    return [B * (2 * torch.rand(n, d, generator=g, dtype=torch.float64) - 1) for _ in range(5)]


def _slope(ns, ts):
    """Least-squares slope of log(time) against log(n)."""
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0])


def run(scale="smoke", seed=0) -> ClaimResult:
    import torch

    from theorylab.seq.tensor_attention import tensor_attention_exact, tensor_attention_poly

    torch.set_num_threads(1)
    cfg = SIZES[scale]
    res = ClaimResult(claim="alman2023_tensor_attention_cost", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    d, g, rep = cfg["d"], cfg["degree"], cfg["repeat"]
    t_ex, t_po_small, errs = [], [], []
    for n in cfg["n_exact"]:
        X = _inputs(n, d, seed)
        t_ex.append(_best_time(lambda X=X: tensor_attention_exact(*X), rep))
        t_po_small.append(_best_time(lambda X=X: tensor_attention_poly(*X, degree=g), rep))
        ex = tensor_attention_exact(*X)
        errs.append(float((tensor_attention_poly(*X, degree=g) - ex).norm() / ex.norm()))
    t_po = []
    for n in cfg["n_poly"]:
        X = _inputs(n, d, seed)
        t_po.append(_best_time(lambda X=X: tensor_attention_poly(*X, degree=g), rep))
    s_ex, s_po = _slope(cfg["n_exact"], t_ex), _slope(cfg["n_poly"], t_po)
    i256 = cfg["n_exact"].index(256)
    res.add(Check.at_least("log-log slope of exact time vs n", s_ex, EXACT_SLOPE[0],
                           detail=f"least squares over n = {list(cfg['n_exact'])}"))
    res.add(Check.at_most("log-log slope of exact time vs n (upper)", s_ex, EXACT_SLOPE[1]))
    res.add(Check.at_least("log-log slope of poly time vs n", s_po, POLY_SLOPE[0],
                           detail=f"least squares over n = {list(cfg['n_poly'])}, g = {g}"))
    res.add(Check.at_most("log-log slope of poly time vs n (upper)", s_po, POLY_SLOPE[1]))
    res.add(Check.at_least("exact / poly time at n = 256", t_ex[i256] / t_po_small[i256], 1.0,
                           detail=f"relative error of poly there {errs[i256]:.1e} "
                                  f"(entries U[−{B}, {B}], d = {d})"))
    res.data.update({"n_exact": list(cfg["n_exact"]), "t_exact": t_ex,
                     "t_poly_at_n_exact": t_po_small, "rel_error": errs,
                     "n_poly": list(cfg["n_poly"]), "t_poly": t_po,
                     "slope_exact": s_ex, "slope_poly": s_po})

    fig, axes = new_figure(1, title=f"Tensor attention cost, d = {d}, poly degree {g}")
    ax = axes[0]
    plot_measured(ax, cfg["n_exact"], t_ex, np.zeros(len(t_ex)), label="exact (best of 3)",
                  color=color(0))
    n_all = list(cfg["n_exact"]) + list(cfg["n_poly"])
    plot_measured(ax, n_all, t_po_small + t_po, np.zeros(len(n_all)),
                  label=f"polynomial g = {g} (best of 3)", color=color(1))
    ne = np.asarray(cfg["n_exact"], dtype=float)
    plot_theory(ax, list(ne), list(t_ex[-1] * (ne / ne[-1]) ** 3), label="∝ n³",
                color=color(0))
    npo = np.asarray(cfg["n_poly"], dtype=float)
    plot_theory(ax, list(npo), list(t_po[-1] * (npo / npo[-1])), label="∝ n", color=color(1))
    finish(ax, xlabel="n", ylabel="CPU time (s)", logx=True, logy=True)
    res.figure = fig
    res.caveats.append("CPU time of this process (one thread) on a shared CPU; best of 3 "
                       "timings per size, least-squares slopes.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
