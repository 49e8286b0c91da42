"""Applying the SRHT to [A | b] costs O(n d log n): measured time grows no faster than
n log n at fixed d (and like d at fixed n).

Since the fused sampled transform (2026-11-28) theorylab needs only N′k(log₂B + m/B)
operations (B ≈ min(m, 4096): O(n d log m), better than the paper's bound), so time per
N′(d+1)log₂N′ butterfly now *falls* with n. Checked: it does not grow (largest n over
smallest n <= 2: the O(n d log n) bound), and time per operation of the sampled model is
constant up to a factor 2 over the n grid.

Paper: Song, Ye, Yin & Zhang 2023 (arXiv:2302.00248), abstract (O(nd log n) sketching
time). Expected: best-of-R time divided by the butterfly count N′(d+1)log₂N′ constant up to a
factor 2 over the n grid (that is what O(·) asserts), and the cost per column for 4d
columns within a factor 2 of that for d columns (ideal 1; measured ≈ 1.6 under load, since
more columns mean fewer rows per cache block and one more pass over memory).
Timings are best-of-R CPU times of this process (``time.process_time``), so that other
processes on a shared machine do not enter (a CI run next to other jobs measured 2.02 with
wall-clock time). Why so loose: time on a 2-core CPU is memory-bandwidth bound and the
operation count does not model the memory hierarchy —
measured 0.3 ns per butterfly in cache vs 0.9–1.4 ns out of it. An earlier version checked
the log–log slope against 1 ± 0.3: it measured 0.80 (smoke, n = 2¹⁴…2¹⁷, quiet machine),
1.31 (full, n = 2¹⁴…2¹⁹) and 1.24–1.76 (smoke, machine under load); the slope is now
reported in the data only. Grids start above L2 (2 MB).
"""

import time

import numpy as np
from matplotlib.ticker import NullFormatter

from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import finish, new_figure, plot_measured, plot_theory
from theorylab.sketch import draw_sketch
from theorylab.sketch.theory import srht_flops, srht_sampled_ops

PAPER = "song2023_linf_sketch"
CLAIM = ("Applying SRHT costs O(n d log n): time vs n grows no faster than n log n "
         "(theorylab's sampled transform: O(n d log m)).")
SIZES = {"smoke": dict(log2n=(16, 17, 18), d=16, repeats=7),   # [A | b] > L2 (2 MB)
         # full: sizes where [A | b] (65 columns) is far beyond cache; a first full run over
         # 2^14..2^19 measured slope 1.31 because 0.3 ns/butterfly in cache became 0.9 ns
         # out of it (recorded in the paper note)
         "full": dict(log2n=(17, 18, 19, 20), d=64, repeats=3)}


def _time(log2n, d, repeats, seed):
    rng = np.random.default_rng(seed)
    n = 2**log2n
    M = rng.standard_normal((n, d + 1))
    op = draw_sketch("srht", n, 4 * d, rng=rng)
    op.apply(M)  # warm up (numba compile, page faults)
    best = np.inf
    for _ in range(repeats):
        # CPU time of this process: other processes on a shared machine do not count
        t0 = time.process_time()
        op.apply(M)
        best = min(best, time.process_time() - t0)
    return best


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="song2023_linf_sketch_speed", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    # timings are measured here in the calling process, not through sweep(): they must not
    # run in parallel with each other and must never be served from the sweep cache
    t = np.array([_time(k, cfg["d"], cfg["repeats"], seed) for k in cfg["log2n"]])
    ns = 2.0 ** np.array(cfg["log2n"])
    m = 4 * cfg["d"]
    flops = np.array([srht_flops(int(n), cfg["d"] + 1) for n in ns])
    ops = np.array([srht_sampled_ops(int(n), cfg["d"] + 1, m) for n in ns])
    slope = float(np.polyfit(np.log(ns), np.log(t), 1)[0])
    per = t / flops
    per_op = t / ops
    res.add(Check.at_most("time per butterfly N′(d+1)log₂N′, largest n / smallest n",
                          float(per[-1] / per[0]), 2.0,
                          detail=f"best of {cfg['repeats']}, d={cfg['d']}, m={m}: the paper's "
                          f"O(n d log n) bound; log-log slope vs n {slope:.2f} (reported)"))
    res.add(Check.at_most("max/min time per operation N′(d+1)(log₂B + m/B) over n",
                          float(per_op.max() / per_op.min()), 2.0,
                          detail="theorylab's sampled-transform cost model"))
    n_big = int(cfg["log2n"][0])      # smallest size: keeps the 4d-column copy small
    t_d = _time(n_big, cfg["d"], cfg["repeats"], seed)
    t_4d = _time(n_big, 4 * cfg["d"], cfg["repeats"], seed)
    per_col = (t_4d / (4 * cfg["d"] + 1)) / (t_d / (cfg["d"] + 1))
    res.add(Check.at_most(f"time per column, 4d vs d, at n=2^{n_big}", per_col, 2.0,
                          detail="O(n d log n): bounded; 1 without memory effects"))
    res.add(Check.at_least(f"time per column, 4d vs d, at n=2^{n_big} (lower)", per_col, 0.5))
    res.data.update(n=ns, seconds=t, ns_per_butterfly=per * 1e9, ns_per_op=per_op * 1e9,
                    slope_vs_n=slope,
                    ratio_4d=t_4d / t_d, per_column_ratio_4d=per_col)
    fig, axes = new_figure(1, title=f"SRHT apply time, d={cfg['d']}")
    plot_measured(axes[0], ns, t, np.zeros_like(t), label="measured (best of R)")
    plot_theory(axes[0], ns, flops * float(np.median(t / flops)), label="∝ N′ (d+1) log N′")
    plot_theory(axes[0], ns, ops * float(np.median(t / ops)), label="∝ N′ (d+1)(log B + m/B)",
                color="C2")
    finish(axes[0], xlabel="n", ylabel="seconds", logx=True, logy=True)
    for ax in fig.axes:   # log axes: no crowded minor-tick labels
        ax.xaxis.set_minor_formatter(NullFormatter())
    res.figure = fig
    res.caveats.append(
        "CPU timings are memory-bandwidth bound: time per operation is constant only up to a "
        "factor 2 (checked). theorylab's sampled SRHT costs O(n d log m) < O(n d log n), so "
        "the paper's bound is checked as 'time per N′ log N′ butterfly does not grow'.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
