"""SLTrain (sparse + low-rank, official init) pretrains a character LM to a lower validation
loss than low-rank weights with at least as many parameters; the official init (B = 0,
random sparse S) is what makes the sparse part useful.

Paper: Han et al. 2024 (arXiv:2406.02214), Sec. 5 / Table 2: SLTrain ≈ full-rank perplexity
and far below low-rank on LLaMA 60M–1B / C4 (recalled, unconfirmed: 34.15 vs 78.18 at 60M).
CPU stand-in: a from-scratch char-level MLP LM on the Python standard-library
sources whose two hidden H×H weights are dense / low-rank / SLTrain.
Expected (acceptance rule fixed before the runs, full scale): SLTrain (reference init) val
loss < low-rank with
parameters ≥ SLTrain's, and SLTrain with zero-S init ≥ SLTrain (reference init) + 0.03, over
3 seeds. An earlier prototype: 1.897 (SLTrain r=16 + 3 %) vs 1.955 (zero-S init) vs ≈ 1.92
(low-rank interpolated to the same count).
Tolerance: SLTrain must beat low-rank by more than 2 standard errors of the per-seed paired
difference (seeds share data order and validation windows). At smoke scale (≈ 1 s per arm, lr 1e-2
so that 300 steps get somewhere) only the first comparison runs; the zero-S ablation is a
full-scale check. Smoke pairs 3 seeds (with 2, the s.e. of two differences made seed 15 of
0-19 fail at a mean margin of +0.12 nats/char).
Scale ``paper``: the paper's LLaMA-60M layer — hidden 512, r = 128, δ = 0.03 — for 10k steps
of batch 512 on ``--device`` (the char corpus stands in for C4); ``--dry-run`` builds both arms
and takes one step on a 20 000-character slice.
"""

import math

import numpy as np

from theorylab import claims
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_seeds, plot_theory
from theorylab.sweep import sweep

PAPER = "han2024_sltrain"
CLAIM = ("SLTrain (sparse + low-rank, official init) reaches a lower char-LM validation loss "
         "than low-rank weights with at least as many parameters.")
SIZES = {
    "smoke": dict(context=16, embed=16, rank=8, density=0.05, steps=300, batch=128,
                  n_chars=200_000, seeds=3, lr=1e-2),
    "full": dict(context=16, embed=24, rank=16, density=0.03, steps=2000, batch=128,
                 n_chars=300_000, seeds=3, lr=2e-3),
    # the paper's LLaMA-60M layer: hidden 512 (context 16 × embed 32), r = 128, δ = 0.03,
    # 10k steps; the char corpus stands in for C4
    "paper": dict(context=16, embed=32, rank=128, density=0.03, steps=10_000, batch=512,
                  n_chars=800_000, seeds=3, lr=1e-3),
}
N_VAL = 4096


def _arm_params(arm, width, rank, density):
    """(low-rank rank, density, init) of an arm's hidden layers."""
    from theorylab.nn.sltrain import sltrain_num_parameters

    if arm == "sltrain":
        return rank, density, "reference"
    if arm == "sltrain_zero_s":
        return rank, density, "zero_sparse"
    p = sltrain_num_parameters(width, width, rank=rank, density=density)
    r_eq = math.ceil((p - width) / (2 * width))  # low-rank with >= SLTrain's parameters
    return (r_eq if arm == "lowrank_eq" else rank), 0.0, "zero_sparse"


def _train_lm(arm, context, embed, rank, density, steps, batch, n_chars, lr, device, seed,
              n_val=N_VAL):
    """Train the char MLP LM with one kind of hidden layer; return the validation loss."""
    import torch
    from torch import nn

    from theorylab.nn.data import char_corpus
    from theorylab.nn.sltrain import SparsePlusLowRankLinear
    from theorylab.nn.training import count_parameters, train_steps

    torch.set_num_threads(1)
    dev = torch.device(device)
    codes, vocab = char_corpus(n_chars)
    data = torch.as_tensor(codes)
    n_train = int(0.9 * len(codes))
    train, val = data[:n_train], data[n_train:]
    V, T, H = len(vocab), context, context * embed

    train_win, val_win = train.unfold(0, T + 1, 1), val.unfold(0, T + 1, 1)  # (n - T, T + 1)

    def windows(src, idx):  # (B, T) contexts and (B,) next characters
        w = src[idx].to(dev)
        return w[:, :T], w[:, T]

    vx, vy = windows(val_win, torch.randint(0, len(val_win), (n_val,),
                                            generator=torch.Generator().manual_seed(12345)))
    g = torch.Generator().manual_seed(seed)

    def hidden():
        if arm == "dense":
            layer = nn.Linear(H, H)
            with torch.no_grad():
                b = 1 / math.sqrt(H)
                layer.weight.uniform_(-b, b, generator=g)
                layer.bias.uniform_(-b, b, generator=g)
            return layer
        r, dens, init = _arm_params(arm, H, rank, density)
        return SparsePlusLowRankLinear(H, H, rank=r, density=dens, init=init, generator=g)

    class CharMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(V, embed)
            self.l1, self.l2 = hidden(), hidden()
            self.head = nn.Linear(H, V)
            with torch.no_grad():
                self.emb.weight.normal_(generator=g)
                b = 1 / math.sqrt(H)
                self.head.weight.uniform_(-b, b, generator=g)
                self.head.bias.zero_()

        def forward(self, x):  # (B, T) -> (B, V)
            h = torch.relu(self.l1(self.emb(x).reshape(len(x), H)))  # (B, H)
            h = h + torch.relu(self.l2(h))
            return self.head(h)

    model = CharMLP().to(dev)
    gb = torch.Generator().manual_seed(10_000 + seed)

    def loss_fn(m, _step):
        x, y = windows(train_win, torch.randint(0, len(train_win), (batch,), generator=gb))
        return nn.functional.cross_entropy(m(x), y)

    # foreach Adam: the same update as the per-tensor loop, in a few multi-tensor kernels
    opt = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
    train_steps(model, loss_fn, steps=steps, lr=lr, optimizer=opt)
    with torch.no_grad():
        val_loss = float(nn.functional.cross_entropy(model(vx), vy))
    return {"val_loss": val_loss, "hidden_params": count_parameters(model.l1)}


def _paper_dry_run(cfg, seed) -> ClaimResult:
    """``--scale paper --dry-run``: the paper-size hidden layers, one Adam step on 4 windows
    of a 20 000-character slice of the corpus, validation on 64 windows."""
    from theorylab.nn.sltrain import sltrain_num_parameters

    res = ClaimResult(claim="han2024_sltrain_char_lm", paper=PAPER, statement=CLAIM,
                      scale="paper", seed=seed)
    H = cfg["context"] * cfg["embed"]
    common = {k: cfg[k] for k in ("context", "embed", "rank", "density", "lr")}
    for arm in ("sltrain", "lowrank_eq"):
        r, dens, _ = _arm_params(arm, H, cfg["rank"], cfg["density"])
        out = _train_lm(arm, **common, steps=1, batch=4, n_chars=20_000,
                        device=claims.device(), seed=seed, n_val=64)
        res.add(Check.close(f"paper config built ({arm}): hidden {H}×{H} layer n_params",
                            out["hidden_params"],
                            sltrain_num_parameters(H, H, rank=r, density=dens), 0.0,
                            detail=f"rank {r}, density {dens:g}"))
        res.add(Check.true(f"one step ({arm}): finite loss", np.isfinite(out["val_loss"]),
                           measured=out["val_loss"], detail=f"device {claims.device()}"))
    return res


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    if scale == "paper" and claims.dry_run():
        return _paper_dry_run(cfg, seed)
    res = ClaimResult(claim="han2024_sltrain_char_lm", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    arms = ["sltrain", "lowrank_eq"]
    if scale != "smoke":
        arms += ["sltrain_zero_s", "lowrank", "dense"]
    common = {k: cfg[k] for k in ("context", "embed", "rank", "density", "steps", "batch",
                                  "n_chars", "lr")}
    common["device"] = claims.device()
    sw = sweep(_train_lm, [{"arm": a, **common} for a in arms],
               seeds=[1000 * seed + k for k in range(cfg["seeds"])],
               backend="serial" if scale == "smoke" else None, desc="char LM arms")
    vl, npar = sw.array("val_loss"), sw.array("hidden_params")
    idx = {a: i for i, a in enumerate(arms)}
    H = cfg["context"] * cfg["embed"]
    r_eq = _arm_params("lowrank_eq", H, cfg["rank"], cfg["density"])[0]
    for a in arms:
        res.data[a] = {"val_loss": vl[idx[a]], "mean": float(vl[idx[a]].mean()),
                       "params_per_hidden_layer": int(npar[idx[a], 0])}
    res.data["lowrank_eq_rank"] = r_eq
    p_sl, p_lr = int(npar[idx["sltrain"], 0]), int(npar[idx["lowrank_eq"], 0])
    d_lr = vl[idx["lowrank_eq"]] - vl[idx["sltrain"]]  # > 0: SLTrain better
    se = d_lr.std(ddof=1) / np.sqrt(len(d_lr)) if len(d_lr) > 1 else 0.0
    res.add(Check.true("low-rank has >= SLTrain's parameters per hidden layer", p_lr >= p_sl,
                       measured=f"{p_lr} vs {p_sl}", expected="p_lowrank >= p_sltrain"))
    res.add(Check.at_least(
        f"val loss low-rank r={r_eq} − SLTrain r={cfg['rank']}+{cfg['density']:g} (ref init)"
        " − 2 s.e.", d_lr.mean() - 2 * se, 0.0,
        detail=f"mean margin {d_lr.mean():.4f} nats/char over {len(d_lr)} seeds"))
    if scale != "smoke":
        d_zero = vl[idx["sltrain_zero_s"]] - vl[idx["sltrain"]]
        res.data["zero_s_minus_reference"] = d_zero
        res.add(Check.at_least("val loss SLTrain zero-S init − SLTrain reference init "
                               "(acceptance: >= 0.03)", d_zero.mean(), 0.03,
                               detail=f"{len(d_zero)} seeds"))
    else:
        res.caveats.append(
            "the zero-S-init ablation runs only at full scale (it does not fit the 8 s budget); "
            "smoke uses lr 1e-2 and 300 steps, where the low-rank vs SLTrain gap is large "
            "relative to the seed noise")

    fig, axes = new_figure(1, title=f"SLTrain vs low-rank: char MLP LM, H = {H}, "
                                     f"{cfg['steps']} steps")
    ax = axes[0]
    for j, a in enumerate(arms):
        plot_seeds(ax, npar[idx[a], :1].astype(float), vl[idx[a]][None, :], label=a,
                   color=color(j))
    lr_arms = [a for a in ("lowrank", "lowrank_eq") if a in idx]
    if len(lr_arms) == 2:
        xs = [npar[idx[a], 0] for a in lr_arms]
        ys = [vl[idx[a]].mean() for a in lr_arms]
        plot_theory(ax, xs, ys, label="low-rank frontier (interpolated)", color=color(1))
    finish(ax, xlabel="parameters per hidden layer", ylabel="validation loss (nats/char)",
           logx=True)
    res.figure = fig
    res.caveats.append(
        "Stand-in for LLaMA 60M–1B on C4: a two-hidden-layer char MLP on stdlib sources; "
        "alpha = r (scale 1) instead of the reference alpha = 32; Adam without warmup.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
