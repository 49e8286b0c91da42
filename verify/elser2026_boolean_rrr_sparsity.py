"""Margin theorem: with σ = 3 every learned neuron whose margin holds on all its inputs is a
COPY/NOT or a 3-input majority gate, with weights ±√(deg/3).

Paper: Elser & Lal 2026 (abstract: "with a large enough margin the learned networks are
provably sparse, equivalent to circuits of simple gates"); statement as in the authors'
documentation (github.com/veitelser/boolearn): a BTF with margin √(m/σ) at w·w = m has a
representation with
support ≤ the largest odd integer ≤ σ. Expected: on every solved 2-bit-multiplier net, each
first-layer neuron (it sees all 16 input patterns, so the theorem applies) has ≤ 3 weights
above 0.1 and those within 5 % of √(5/3) = 1.291; upper-layer neurons see few patterns and
may be denser (the theorem concerns the margin over all inputs) — their share is recorded.
Tolerance: 5 %: RRR stops at gap 0.01, not at the exact solution.
"""

import numpy as np

from theorylab.boolean import layered_network, multiplier_task, solve_rrr
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import finish, new_figure, plot_theory
from theorylab.sweep import sweep

PAPER = "elser2026_boolean_rrr"
CLAIM = ("With σ = 3, every first-layer neuron of a solved 2-bit-multiplier network (its margin "
         "holds on all inputs) is COPY/NOT or MAJ3 with weights ±√(deg/3).")
SIZES = {"smoke": dict(seeds=[9]), "full": dict(seeds=list(range(40)))}
WIDTHS = (4, 4, 4, 4)


def _solve(seed):
    import warnings

    from theorylab._result import ConvergenceWarning

    X, Y = multiplier_task(2)
    net = layered_network(WIDTHS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r = solve_rrr(net, X, Y, sigma=3.0, max_iter=10_000, rng=seed)
    return {"solved": float(r.solved), "weights": r.weights}


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    res = ClaimResult(claim="elser2026_boolean_rrr_sparsity", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    seeds = cfg["seeds"] if seed == 0 else [1000 * seed + s for s in range(len(cfg["seeds"]))]
    sw = sweep(_solve, [{}], seeds=seeds, desc="RRR 2x2")
    net = layered_network(WIDTHS)
    first = range(net.first_neuron, net.first_neuron + WIDTHS[1])
    upper = range(net.first_neuron + WIDTHS[1], net.n_nodes)
    amp = np.sqrt(5 / 3)
    sup_first, mags, sup_upper, n_solved = [], [], [], 0
    for v in sw.values[0]:
        if not v["solved"]:
            continue
        n_solved += 1
        w = v["weights"]
        for n in first:
            wn = w[net.in_start[n]:net.in_start[n + 1]]
            nz = np.abs(wn) > 0.1
            sup_first.append(int(nz.sum()))
            mags.extend(np.abs(wn[nz]).tolist())
        for n in upper:
            wn = w[net.in_start[n]:net.in_start[n + 1]]
            sup_upper.append(int((np.abs(wn) > 0.1).sum()))
    res.add(Check.at_least("solved networks examined", n_solved, 1,
                           detail=f"of {len(seeds)} restarts"))
    max_sup = max(sup_first) if sup_first else 99
    res.add(Check.at_most("largest support of a first-layer neuron (all inputs seen)",
                          max_sup, 3))
    dev = float(np.max(np.abs(np.array(mags) / amp - 1))) if mags else np.inf
    res.add(Check.at_most("max relative deviation of nonzero weights from √(deg/3)", dev, 0.05))
    res.add(Check.true("first-layer supports are odd (COPY/NOT = 1, MAJ3 = 3)",
                       all(s in (1, 3) for s in sup_first) and bool(sup_first),
                       measured=sorted(set(sup_first))))
    frac = float(np.mean(np.array(sup_upper) <= 3)) if sup_upper else float("nan")
    res.data.update(first_layer_supports=sup_first, upper_supports=sup_upper,
                    nonzero_magnitudes=mags, upper_sparse_fraction=frac)
    res.caveats.append(f"Upper-layer neurons see only the patterns the network produces, not "
                       f"all inputs, so the theorem does not bind them: {100 * frac:.0f}% of them "
                       "had support ≤ 3 (their logic is still extracted exactly, see the "
                       "multiplier claim).")
    fig, axes = new_figure(2, title="Margin theorem on solved 2x2 multipliers (σ = 3)")
    axes[0].hist(mags, bins=30, color="#1f77b4", alpha=0.8, label="|w| > 0.1, first layer")
    plot_theory(axes[0], [amp, amp], [0, max(1, len(mags) / 4)], label="√(deg/3)")
    finish(axes[0], xlabel="|weight|", ylabel="count")
    bins = np.arange(0.5, 6.5)
    axes[1].hist([sup_first, sup_upper], bins=bins, label=["first layer", "upper layers"])
    finish(axes[1], xlabel="support (|w| > 0.1, bias included)", ylabel="neurons")
    res.figure = fig
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
