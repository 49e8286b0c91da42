"""SVD-free projection: picking the r DCT columns most aligned with a gradient captures
gradient energy close to the SVD's and far above random columns, at a fraction of the SVD's cost.

Paper: Modoranu et al. 2025 (arXiv:2505.17967), Sec. 3 (DCT column selection) and the runtime
comparison ("matches ... SVD-based methods while achieving faster runtime"). Expected:
energy(SVD) ≥ energy(DCT-select) ≫ energy(random DCT columns); DCT selection time ≪ SVD time.
Small version: gradients of a digits MLP 64-256-256-10 after 200 Adam steps, r = 8
and 32; a prototype measured DCT 0.81 / 0.66 vs random 0.04 / 0.01 at r = 8.
Tolerance: energies are averaged over several gradient batches and seeds. Checks: DCT ≤ SVD
(Eckart–Young) on both layers at r = 8, and the acceptance rule DCT ≥ 5 × random. For
random columns the expected captured energy is exactly r/k (k orthonormal columns, each
equally likely), which is used as the denominator: sampled random energies are dominated by
rare draws of the DC column (ReLU activations are positive, so the DC column holds much of
the energy) and are far noisier than the expectation (the prototype's 0.039 / 0.008 were
such samples). On the 64-wide side r/k = 1/8, so the ratio can be at most 8 there.
Time: ratio SVD / DCT ≥ 2 (median of repeats, same run, same matrix — a loose bound because
the 2-core machine is shared).
Scale ``paper``: the digits MLP at the paper's LLaMA-350M width 1024 (ranks up to 64, the
input layer's smaller side) on ``--device``, refresh timing up to n = 4096; ``--dry-run``
builds it, takes one step and projects one gradient batch.
"""

import time

import numpy as np

from theorylab import claims
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_measured, plot_seeds, plot_theory
from theorylab.sweep import sweep

PAPER = "modoranu2025_dct_lowrank"
CLAIM = ("On digits-MLP gradients, DCT column selection captures gradient energy no more than "
         "SVD's and ≥ 5× random columns' (the expected r/k), at under half the SVD's time.")
LABEL = "partial"
LABEL_REASON = "DCT keeps 0.71–0.87 of the energy vs SVD's ≈ 1: \"close to SVD\" not shown"
SIZES = {
    "smoke": dict(width=256, steps=200, n_batches=3, seeds=2, ranks=(8, 32),
                  time_sizes=(512,), repeats=3),
    "full": dict(width=256, steps=200, n_batches=16, seeds=5, ranks=(4, 8, 16, 32, 64),
                 time_sizes=(256, 512, 1024, 2048), repeats=5),
    # the paper's LLaMA-350M width (1024) on the digits MLP (ranks up to 64, the input
    # layer's smaller side), refresh timing up to LLaMA-7B's 4096 (C4 and the LLaMA models
    # are not used)
    "paper": dict(width=1024, steps=200, n_batches=16, seeds=5, ranks=(8, 16, 32, 64),
                  time_sizes=(1024, 2048, 4096), repeats=5),
}


def _energies(width, steps, n_batches, ranks, device, seed):
    import torch
    from torch import nn

    from theorylab.nn.data import load_digits_tensors
    from theorylab.nn.galore import make_projector, projection_energy
    from theorylab.nn.training import make_generator, train_steps

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    Xtr, ytr, _, _ = load_digits_tensors(rng=seed)
    Xtr, ytr = Xtr.to(device), ytr.to(device)
    model = nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                          nn.Linear(width, 10)).to(device)
    g = make_generator(seed)

    def loss_fn(m, step):
        idx = torch.randint(0, len(ytr), (64,), generator=g)
        return nn.functional.cross_entropy(m(Xtr[idx]), ytr[idx])

    train_steps(model, loss_fn, steps=steps, lr=2e-3)
    layers = [model[0], model[2]]
    E = np.zeros((3, len(ranks), len(layers)))  # (projector, rank, layer)
    for _ in range(n_batches):
        model.zero_grad()
        loss_fn(model, 0).backward()
        for li, lay in enumerate(layers):
            G = lay.weight.grad
            for ri, r in enumerate(ranks):
                for pi, kind in enumerate(("svd", "dct", "random")):
                    p = make_projector(kind, r)
                    p.update(G, generator=g)
                    E[pi, ri, li] += projection_energy(G, p) / n_batches
    return {"energy": E, "n_params": sum(p.numel() for p in model.parameters())}


def _timing(n, rank, repeats, seed):
    import torch

    from theorylab.nn.galore import DCTProjector, SVDProjector, dct_matrix

    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(seed)
    G = torch.randn(n, n, generator=g)
    dct_matrix(n)  # built once per size and shared by all layers: not part of a refresh
    out = {}
    for name, proj in (("svd", SVDProjector(rank)), ("dct", DCTProjector(rank))):
        ts = []
        for _ in range(repeats):
            t0 = time.process_time()  # CPU time: robust to other jobs on a shared machine
            proj.update(G)
            ts.append(time.process_time() - t0)
        out[name] = float(np.median(ts))
    return out


def _paper_dry_run(cfg, seed) -> ClaimResult:
    """``--scale paper --dry-run``: the paper-width MLP, one Adam step, one gradient batch
    projected at the largest rank, one refresh timed at the smallest size."""
    res = ClaimResult(claim="modoranu2025_dct_lowrank_projection", paper=PAPER,
                      statement=CLAIM, scale="paper", seed=seed)
    w, r = cfg["width"], max(cfg["ranks"])
    out = _energies(w, 1, 1, (r,), claims.device(), seed)
    res.add(Check.close(f"paper config built: MLP 64-{w}-{w}-10 n_params", out["n_params"],
                        64 * w + w + w * w + w + 10 * w + 10, 0.0))
    E = out["energy"]
    res.add(Check.true(f"one step, rank {r}: captured energies finite and in [0, 1]",
                       bool(np.all(np.isfinite(E)) and np.all((E >= -1e-6) & (E <= 1 + 1e-6))),
                       measured=f"SVD {E[0, 0].round(3).tolist()}, DCT {E[1, 0].round(3).tolist()}",
                       detail=f"device {claims.device()}"))
    t = _timing(min(cfg["time_sizes"]), 8, 1, seed)
    res.add(Check.true("one refresh timed: finite times", np.isfinite(t["svd"] + t["dct"]),
                       measured=f"SVD {t['svd']:.2e} s, DCT {t['dct']:.2e} s"))
    return res


def run(scale="smoke", seed=0) -> ClaimResult:
    if scale == "paper" and claims.dry_run():
        return _paper_dry_run(SIZES[scale], seed)
    cfg = dict(SIZES[scale])
    res = ClaimResult(claim="modoranu2025_dct_lowrank_projection", paper=PAPER,
                      statement=CLAIM, scale=scale, seed=seed)
    ranks = cfg["ranks"]
    sw = sweep(_energies, [dict(width=cfg["width"], steps=cfg["steps"],
                                n_batches=cfg["n_batches"], ranks=tuple(ranks),
                                device=claims.device())],
               seeds=[seed * 1000 + k for k in range(cfg["seeds"])], desc="gradient energy")
    E = sw.array("energy")[0]  # (S, 3, R, L)
    Em = E.mean(0)
    i8 = ranks.index(8)
    for li, lname in enumerate((f"64→{cfg['width']}", f"{cfg['width']}→{cfg['width']}")):
        svd, dct, rnd = Em[0, i8, li], Em[1, i8, li], Em[2, i8, li]
        k = (64, cfg["width"])[li]
        res.add(Check.at_least(f"r=8, layer {lname}: energy(DCT) / E[energy(random)] = "
                               f"energy(DCT)·k/r", float(dct * k / 8), 5.0,
                               detail=f"DCT {dct:.3f}, E[random] = r/k = {8 / k:.4f}, "
                                      f"sampled random {rnd:.4f}"))
        res.add(Check.at_most(f"r=8, layer {lname}: energy(DCT) − energy(SVD)",
                              float(dct - svd), 0.0, tolerance=1e-6,
                              detail=f"SVD {svd:.4f}"))
    timing = [_timing(n, 8, cfg["repeats"], seed) for n in cfg["time_sizes"]]
    t_svd = np.array([t["svd"] for t in timing])
    t_dct = np.array([t["dct"] for t in timing])
    ratio = t_svd / t_dct
    res.add(Check.at_least(f"projector refresh time SVD / DCT at n = {cfg['time_sizes'][-1]}",
                           float(ratio[-1]), 2.0,
                           detail=f"SVD {t_svd[-1] * 1e3:.1f} ms, DCT {t_dct[-1] * 1e3:.1f} ms"))
    res.data.update(ranks=list(ranks), energy_mean=Em, energy=E, time_sizes=list(
        cfg["time_sizes"]), time_svd_s=t_svd, time_dct_s=t_dct, time_ratio=ratio)
    res.caveats.append(
        "At batch loss ≈ 0.1 a few samples dominate each gradient, so the top few singular "
        "directions hold nearly all its energy and SVD reaches ≈ 1.0 already at r = 8; DCT "
        "columns, being data-independent, cannot follow such a spiky gradient as closely.")
    res.caveats.append("Timing on a shared 2-core CPU with one torch thread (torch.linalg.svd "
                       "vs one matmul + top-k); the paper times GPUs.")
    fig, axes = new_figure(2, title="SVD vs DCT-select vs random DCT columns")
    rr = np.asarray(ranks, dtype=float)
    for pi, lab in enumerate(("SVD", "DCT-select", "random DCT")):
        for li, ls in enumerate(("64→256", "256→256")):
            plot_seeds(axes[0], rr * (1 + 0.04 * li), E[:, pi, :, li].T, color=color(pi),
                       label=f"{lab}, {ls}")
    for k in (64, cfg["width"]):
        plot_theory(axes[0], rr, rr / k, color=color(2), label=f"E[random] = r/{k}")
    finish(axes[0], xlabel="rank r", ylabel="captured gradient energy", logx=True)
    plot_measured(axes[1], cfg["time_sizes"], t_svd * 1e3, None, label="SVD", color=color(0))
    plot_measured(axes[1], cfg["time_sizes"], t_dct * 1e3, None, label="DCT-select",
                  color=color(1))
    finish(axes[1], xlabel="matrix size n (n×n gradient)", ylabel="refresh time (ms)",
           logx=True, logy=True)
    res.figure = fig
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
