"""DCDM needs fewer iterations than CG and symmetric Gauss–Seidel PCG on Poisson pressure
systems; the paper says its count does not grow with the grid size. Measured beside IC(0)-PCG
and AMG-PCG (pyamg smoothed aggregation and Ruge–Stüben), iterations and wall time.

Paper: Kaneda et al. 2022 (arXiv:2205.10763, ICML 2023), Sec. 4, Fig. 4–6 and Tables 1–2:
on 3-D pressure systems (64³–256³) DCDM reaches ‖r‖/‖b‖ < tol in a small number of iterations
"independent of the problem size", far fewer than CG, IC-PCG and deflated PCG.
Small faithful experiment (CPU): 2-D Dirichlet Poisson (5-point stencil), a U-Net direction
model (16 channels, ``levels`` 2× pooling levels) trained without labels on the
scale-invariant loss ‖b − αAq‖², α = qᵀb/qᵀAq, over right-hand sides built from A's
eigenvectors with the low half (+5 %) of the spectrum weighted ×9 (the paper's Ritz rule);
tested on unseen sources: five Gaussian bumps (width 0.05) and, at full scale, white noise,
at the training size and at 2× and 4× it. Stop at ‖r‖/‖b‖ < 1e-4 (the paper's test
script), DCDM capped at 300 iterations.
Expected (a prototype on the same setting with a one-level net trained at 32²): DCDM 8.2 /
17.0 iterations at 32² / 64² vs CG 66.8 / 137.4 and SGS-PCG 25.2 / 50.0, i.e. ~8× fewer than
CG, ~3× fewer than SGS-PCG, but the count doubled from 32² to 64² like CG's.
Checks and thresholds (stated before the first full run):
- at every tested size and source: mean DCDM iterations < mean SGS-PCG iterations, and
  ≤ CG/4 (half the prototype's 8× margin, room for the shorter CPU training);
- the paper's size independence (full scale only; the smoke grids 16²/32² are too small
  to speak to it): DCDM iterations at 4× the training size ≤ 1.3 × those at the training
  size (the prototype's acceptance bound). The prototype predicts this FAILS;
- the peer's size independence: AMG-PCG (smoothed aggregation) ≤ 6 iterations everywhere.
Full scale also reports (unchecked) the Dirichlet-trained net on an unseen family: 64²
Neumann walls with four solid discs, null space projected.
Wall times (set-up + solve; DCDM's includes every network evaluation, not its training) are
recorded in ``data`` and drawn; they are not checked: the benchmark and the note compare them.
Why the smoke thresholds hold on every seed (seeds 0–19, measured before this paragraph was
written; all 20 pass): DCDM 5.0–7.3 iterations at 16² (CG 35–36.3, smallest margin to CG/4
1.5 iterations) and 8.3–14.7 at 32² (CG 66.3–69.7, smallest margin 2.25); SGS-PCG above
DCDM by ≥ 6.3 (16²) / ≥ 10.7 (32²); AMG(SA) 4 iterations on every seed.
"""

import time
import warnings

import numpy as np

from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_measured, plot_theory
from theorylab.results import ConvergenceWarning
from theorylab.sweep import sweep

PAPER = "kaneda2022_dcdm"
CLAIM = ("DCDM needs fewer iterations than CG and symmetric Gauss-Seidel PCG on Poisson "
         "pressure systems, with an iteration count independent of the grid size (paper); "
         "AMG-PCG iterations and all wall times measured beside it.")
LABEL = "partial"
LABEL_REASON = "2-D grids <= 128^2, CPU U-Net trained at 32^2 (paper: 3-D 64^3-256^3, GPU nets)"
SIZES = {
    "smoke": dict(train_n=16, levels=2, channels=16, samples=400, steps=150, batch=16,
                  test_ns=[16, 32], n_rhs=3, sources=("bumps",)),
    "full": dict(train_n=32, levels=3, channels=16, samples=2000, steps=1500, batch=16,
                 test_ns=[32, 64, 128], n_rhs=5, sources=("bumps", "noise"),
                 generalisation=dict(n=64, n_obstacles=4, radius=0.1)),
}
TOL = 1e-4
DCDM_MAX_ITER = 300
CG_FACTOR = 4.0      # DCDM <= CG / 4
SIZE_RATIO = 1.3     # iterations(4x training size) <= 1.3 x iterations(training size)
AMG_MAX = 6
METHODS = ("dcdm", "cg", "pcg-sgs", "pcg-ic0", "pcg-amg_sa", "pcg-amg_rs")
PEERS = {"cg": "none", "pcg-sgs": "sgs", "pcg-ic0": "ic0", "pcg-amg_sa": "amg_sa",
         "pcg-amg_rs": "amg_rs"}


def train(cfg, seed, device):
    import torch

    from theorylab.precond import DCDMNet, poisson_system, ritz_rhs, train_dcdm_net

    system = poisson_system((cfg["train_n"],) * 2)
    rhs = ritz_rhs(system, cfg["samples"], rng=np.random.default_rng([seed, 1]))
    gen = torch.Generator().manual_seed(seed)
    net = DCDMNet(2, channels=cfg["channels"], levels=cfg["levels"], generator=gen)
    return train_dcdm_net(net, system, rhs, steps=cfg["steps"], batch_size=cfg["batch"],
                          lr=1e-3, generator=gen, device=device)


def measure(net, n, source, k, seed, device):
    """Iterations and times of every method on one right-hand side."""
    from theorylab.precond import (
        bump_rhs,
        net_direction,
        noise_rhs,
        poisson_system,
        solve_dcdm,
        solve_pcg,
    )

    system = poisson_system((n, n))
    rng = np.random.default_rng([seed, n, k, 0 if source == "bumps" else 1])
    b = bump_rhs(system, rng=rng) if source == "bumps" else noise_rhs(system, rng=rng)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        direction = net_direction(net, system, device=device)
        setup = time.perf_counter() - t0
        r = solve_dcdm(system.A, b, direction, tol=TOL, max_iter=DCDM_MAX_ITER)
        out["dcdm"] = (r.n_iter, r.converged, setup + r.solve_time)
        for name, kind in PEERS.items():
            r = solve_pcg(system.A, b, preconditioner=kind, tol=TOL)
            out[name] = (r.n_iter, r.converged, r.total_time)
    return out


def generalisation(net, cfg, seed, device):
    """The Dirichlet-trained net on an unseen system family: Neumann walls and solid
    obstacles (null space projected), bump sources. Reported, not checked."""
    from theorylab.precond import (
        bump_rhs,
        net_direction,
        obstacle_mask,
        poisson_system,
        solve_dcdm,
        solve_pcg,
    )

    g = cfg["generalisation"]
    rng = np.random.default_rng([seed, 7])
    shape = (g["n"], g["n"])
    system = poisson_system(shape, bc="neumann", solid=obstacle_mask(
        shape, n_obstacles=g["n_obstacles"], radius=g["radius"], rng=rng))
    out = {m: [] for m in METHODS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(cfg["n_rhs"]):
            b = bump_rhs(system, rng=rng)
            r = solve_dcdm(system.A, b, net_direction(net, system, device=device), tol=TOL,
                           max_iter=DCDM_MAX_ITER, null_basis=system.null_basis)
            out["dcdm"].append(r.n_iter if r.converged else -1)
            for name, kind in PEERS.items():
                r = solve_pcg(system.A, b, preconditioner=kind, tol=TOL,
                              null_basis=system.null_basis)
                out[name].append(r.n_iter if r.converged else -1)
    return {"grid": g["n"], "n_unknowns": system.n, "iterations (-1: not converged)": out}


def experiment(scale, device, seed):
    """Train the net on ``device`` and time every solver on every test system (one sweep
    point: the device arrives as an argument, so ``--device`` reaches the training)."""
    import torch

    from theorylab.precond import make_preconditioner, poisson_system

    cfg = SIZES[scale]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the timings compare single-threaded CPU codes
    try:
        for kind in PEERS.values():  # numba cache loads and the pyamg import: not timed
            make_preconditioner(poisson_system((4, 4)).A, kind)
        tr = train(cfg, seed, device)
        ns, sources, K = cfg["test_ns"], cfg["sources"], cfg["n_rhs"]
        shape = (len(sources), len(ns), K)
        its = {m: np.zeros(shape) for m in METHODS}
        secs = {m: np.zeros(shape) for m in METHODS}
        conv = {m: np.zeros(shape, dtype=bool) for m in METHODS}
        for i, src in enumerate(sources):
            for j, n in enumerate(ns):
                for k in range(K):
                    for m, (it, ok, t) in measure(tr.net, n, src, k, seed, device).items():
                        its[m][i, j, k], conv[m][i, j, k], secs[m][i, j, k] = it, ok, t
        gen = generalisation(tr.net, cfg, seed, device) if "generalisation" in cfg else None
    finally:
        torch.set_num_threads(threads)
    return {"its": its, "secs": secs, "conv": conv, "train_time": tr.train_time,
            "final_loss": tr.final_loss, "generalisation": gen}


def run(scale="smoke", seed=0) -> ClaimResult:
    from theorylab import claims

    cfg = SIZES[scale]
    res = ClaimResult(claim="kaneda2022_dcdm_iterations", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    sw = sweep(experiment, {"scale": [scale], "device": [claims.device()]}, seeds=[seed],
               backend="serial")
    out = sw.values[0][0]
    its, secs, conv = out["its"], out["secs"], out["conv"]
    ns, sources = cfg["test_ns"], cfg["sources"]
    mean = {m: its[m].mean(2) for m in METHODS}
    res.data.update({
        "test_sizes": ns, "sources": list(sources), "train_size": cfg["train_n"],
        "levels": cfg["levels"], "train_steps": cfg["steps"], "train_time_s": out["train_time"],
        "final_loss": out["final_loss"], "tol": TOL,
        "iterations_mean": {m: mean[m] for m in METHODS},
        "iterations": {m: its[m] for m in METHODS},
        "wall_time_mean_s": {m: secs[m].mean(2) for m in METHODS},
        "all_converged": {m: bool(conv[m].all()) for m in METHODS},
    })
    if out["generalisation"] is not None:
        res.data["neumann_obstacles"] = out["generalisation"]
    for i, src in enumerate(sources):
        for j, n in enumerate(ns):
            d, c, s = mean["dcdm"][i, j], mean["cg"][i, j], mean["pcg-sgs"][i, j]
            res.add(Check.at_most(f"{src} {n}^2: DCDM iterations < SGS-PCG iterations", d,
                                  s - 1e-9, detail=f"DCDM {d:.1f}, SGS-PCG {s:.1f}"))
            res.add(Check.at_most(f"{src} {n}^2: DCDM iterations <= CG/{CG_FACTOR:g}", d,
                                  c / CG_FACTOR, detail=f"DCDM {d:.1f}, CG {c:.1f}"))
            a = float(its["pcg-amg_sa"][i, j].max())
            res.add(Check.at_most(f"{src} {n}^2: AMG(SA)-PCG iterations <= {AMG_MAX} (peer)", a,
                                  AMG_MAX))
    if scale != "smoke":
        for i, src in enumerate(sources):
            ratio = mean["dcdm"][i, -1] / mean["dcdm"][i, 0]
            res.add(Check.at_most(
                f"{src}: DCDM iterations {ns[-1]}^2 / {ns[0]}^2 <= {SIZE_RATIO} (paper: size "
                "independent)", ratio, SIZE_RATIO,
                detail=f"CG ratio {mean['cg'][i, -1] / mean['cg'][i, 0]:.2f}"))
    fig, axes = new_figure(2, title=f"Poisson {ns[0]}^2-{ns[-1]}^2, DCDM trained at "
                           f"{cfg['train_n']}^2 ({cfg['levels']} levels), tol {TOL:g}")
    for k, m in enumerate(METHODS):
        sd = its[m][0].std(1)
        plot_measured(axes[0], ns, mean[m][0], sd, label=m, color=color(k))
        t = secs[m][0]
        plot_measured(axes[1], ns, t.mean(1), t.std(1), label=m, color=color(k))
    nn = np.array([ns[0], ns[-1]], dtype=float)
    plot_theory(axes[0], nn, [mean["dcdm"][0, 0]] * 2, label="size-independent (paper)",
                color=color(0))
    plot_theory(axes[0], nn, mean["cg"][0, 0] * nn / ns[0], label="O(N) (CG theory)",
                color=color(1))
    finish(axes[0], xlabel="grid N (N x N)", ylabel=f"iterations ({sources[0]})",
           logx=True, logy=True)
    finish(axes[1], xlabel="grid N (N x N)", ylabel="wall time s (setup + solve)",
           logx=True, logy=True)
    res.figure = fig
    res.caveats.append(
        "2-D Dirichlet grids and a CPU-trained U-Net; the paper's 3-D 64^3-256^3 systems, "
        "Lanczos Ritz vectors (exact eigenvectors here) and GPU training are not reproduced.")
    res.caveats.append(
        "Wall times are single-threaded CPU; DCDM's include one network forward per "
        "iteration (not the training, "
        f"{out['train_time']:.0f} s here); AMG's include its set-up.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
