"""Sparse Spectral Training: training all singular values plus r singular-vector pairs sampled
∝ σ (re-sampled every round) closes part of the gap between low-rank training and full-rank
training at a LoRA-sized trainable budget, and beats merge-and-restart low-rank training.

Paper: Zhao et al. 2024 (arXiv:2405.15481), Sec. 4 and Tables 1–2 (OPT/LLaMA pretraining):
order full ≤ SST < ReLoRA* < LoRA in perplexity; v1 headline: SST closes 67.6 % of the gap
between low-rank methods and full rank (OPT-125M). Small versions: smoke — a single linear layer
trained from its random init to fit a full-rank linear teacher (a pure rank-capacity test);
full — a character-level MLP language model on stdlib sources with two residual
256×256 layers under test. Arms: full rank (dense), LoRA from scratch (frozen random W0 + BA),
ReLoRA* (merge BA into W0 and restart every T steps, its optimizer state reset), SST
(round length T, re-SVD every round, vector optimizer state reset).
Tolerance: paired over seeds (same data, same initial W0 for every arm). Checks:
loss(SST) < loss(LoRA) (paired mean + 2 s.e. of the difference < 0) and the share of the
LoRA→full gap closed by SST ≥ 0.25 (the paper's 67.6 % read loosely: smaller models, far
shorter training). SST vs ReLoRA* is recorded, not checked (a prototype saw SST ahead by only
0.004–0.014 nats).
Outcome: smoke passes (SST closes ~55 % of the gap, though ReLoRA* does better still); at full
scale BOTH checks fail — on the character LM SST, LoRA and ReLoRA* end within 0.003 nats of
each other (1.80 vs full rank 1.73, 3 seeds). Left failing on purpose: a documented negative
result (see paper_notes/zhao2024_sst.md).
Scale ``paper``: the char LM at OPT-125M's width 768 with SST rank 64, 20k steps on
``--device`` (the char corpus stands in for the paper's corpora); ``--dry-run`` builds the
LoRA and SST arms and takes one step each.
"""

import numpy as np

from theorylab import claims
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_seeds
from theorylab.sweep import sweep

PAPER = "zhao2024_sst"
CLAIM = ("SST (all σ + r sampled singular vectors) beats LoRA and closes at least a quarter of the "
         "gap to full-rank training at a LoRA-sized budget.")
ARMS = ("dense", "lora", "relora", "sst")
SIZES = {
    "smoke": dict(task="teacher", d=32, rank=2, period=100, steps=500, lr=1e-2, seeds=3),
    "full": dict(task="charlm", d=256, rank=16, period=500, steps=2000, lr=2e-3, seeds=3),
    # the paper's OPT-125M width (768) and SST rank 64; the char corpus stands in for
    # OpenWebText / C4
    "paper": dict(task="charlm", d=768, rank=64, period=200, steps=20_000, lr=1e-3, seeds=3),
}


def _tested(arm, base, rank, gen):
    from theorylab.nn.lora import LoRALinear
    from theorylab.nn.svd import SSTLinear

    if arm == "dense":
        return base
    if arm in ("lora", "relora"):
        return LoRALinear(base, rank=rank, generator=gen)
    return SSTLinear(base, rank=rank, generator=gen)


def _end_round(arm, layers, opt, gen):
    import math

    import torch

    from theorylab.nn.svd import reset_optimizer_state

    with torch.no_grad():
        for lay in layers:
            if arm == "relora":  # merge and restart (ReLoRA*)
                lay.base.weight += lay.delta_weight()
                bound = 1 / math.sqrt(lay.A.shape[1])  # drawn on the CPU generator, then moved
                lay.A.copy_(torch.empty(lay.A.shape, dtype=lay.A.dtype)
                            .uniform_(-bound, bound, generator=gen))
                lay.B.zero_()
                reset_optimizer_state(opt, [lay.A, lay.B])
            elif arm == "sst":
                lay.resample(generator=gen, resvd=True)
                # re-SVD re-sorts the components, so σ's moments no longer match: reset too
                reset_optimizer_state(opt, lay.vector_parameters() + [lay.sigma])


def _next_char_batch(codes, *, ctx, batch_size, generator):
    """Contexts (B, ctx) and next characters (B,): the same draw and the same windows as
    ``char_batches(codes, batch_size=batch_size, block=ctx + 1)`` read as
    ``x[:, :ctx], y[:, ctx - 1]``, gathered in one indexing op (no loop over the rows)."""
    import torch

    ix = torch.randint(0, len(codes) - ctx - 2, (batch_size,), generator=generator)
    w = codes[ix[:, None] + torch.arange(ctx + 1)]  # (B, ctx + 1)
    return w[:, :ctx], w[:, ctx]


def _train(arm, task, d, rank, period, steps, lr, device, seed):
    import torch
    from torch import nn

    from theorylab.nn.training import count_parameters, make_generator, train_steps

    torch.set_num_threads(1)
    torch.manual_seed(seed)  # same W0 and data for every arm of this seed
    gen = make_generator(seed + 1)
    if task == "teacher":
        T = (torch.randn(d, d, generator=make_generator(seed + 2)) / np.sqrt(d)).to(device)
        Xval = torch.randn(2048, d, generator=make_generator(seed + 3)).to(device)
        base = nn.Linear(d, d)
        model = _tested(arm, base, rank, gen).to(device)
        layers = [model]
        data_gen = make_generator(seed + 4)

        def batch():
            x = torch.randn(128, d, generator=data_gen).to(device)
            return x, x @ T.T

        def loss_fn(m, step):
            if step and step % period == 0:
                _end_round(arm, layers, opt, gen)
            x, y = batch()
            return (m(x) - y).square().sum(1).mean()

        def val(m):
            with torch.no_grad():
                return float((m(Xval) - Xval @ T.T).square().sum(1).mean())
    else:
        from theorylab.nn.data import char_batches, char_corpus

        codes, vocab = char_corpus(400_000)
        n_val = 40_000
        tr, va = codes[:-n_val], codes[-n_val:]
        ctx, emb = 16, 16

        class LM(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(len(vocab), emb)
                self.inp = nn.Linear(ctx * emb, d)
                self.h1 = _tested(arm, nn.Linear(d, d), rank, gen)
                self.h2 = _tested(arm, nn.Linear(d, d), rank, gen)
                self.out = nn.Linear(d, len(vocab))

            def forward(self, x):  # (B, ctx) -> (B, vocab)
                h = torch.relu(self.inp(self.emb(x).flatten(1)))  # (B, d)
                h = h + torch.relu(self.h1(h))
                h = h + torch.relu(self.h2(h))
                return self.out(h)

        model = LM().to(device)
        layers = [model.h1, model.h2]
        data_gen = make_generator(seed + 4)

        tr_t = torch.as_tensor(tr)

        def loss_fn(m, step):
            if step and step % period == 0:
                _end_round(arm, layers, opt, gen)
            x, y = _next_char_batch(tr_t, ctx=ctx, batch_size=128, generator=data_gen)
            return nn.functional.cross_entropy(m(x.to(device)), y.to(device))

        vgen = make_generator(10_000 + seed)
        vx, vy = char_batches(va, batch_size=4096, block=ctx + 1, generator=vgen,
                              device=device)

        def val(m):
            with torch.no_grad():
                return float(nn.functional.cross_entropy(m(vx[:, :ctx]), vy[:, ctx - 1]))

    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr,
                           foreach=True)
    tested = sum(count_parameters(lay) for lay in layers)
    hist = train_steps(model, loss_fn, steps=steps, lr=lr, optimizer=opt)
    return {"val": val(model), "train": hist.final_loss, "tested_params": float(tested)}


def _paper_dry_run(cfg, seed) -> ClaimResult:
    """``--scale paper --dry-run``: the paper-width char LM, one step per arm."""
    res = ClaimResult(claim="zhao2024_sst_spectral", paper=PAPER, statement=CLAIM,
                      scale="paper", seed=seed)
    c = {k: cfg[k] for k in ("task", "d", "rank", "period", "lr")}
    for arm in ("lora", "sst"):
        out = _train(arm, **c, steps=1, device=claims.device(), seed=seed)
        if arm == "lora":
            res.add(Check.close(f"paper config built: LoRA r={c['rank']} on two {c['d']}×"
                                f"{c['d']} layers, n_params", out["tested_params"],
                                4 * c["d"] * c["rank"], 0.0))
        else:
            res.add(Check.true(f"paper config built: SST r={c['rank']}, trainable parameters "
                               "in the tested layers > 0", out["tested_params"] > 0,
                               measured=out["tested_params"]))
        res.add(Check.true(f"one step ({arm}): finite validation loss", np.isfinite(out["val"]),
                           measured=out["val"], detail=f"device {claims.device()}"))
    return res


def run(scale="smoke", seed=0) -> ClaimResult:
    if scale == "paper" and claims.dry_run():
        return _paper_dry_run(SIZES[scale], seed)
    cfg = dict(SIZES[scale])
    n_seeds = cfg.pop("seeds")
    res = ClaimResult(claim="zhao2024_sst_spectral", paper=PAPER, statement=CLAIM, scale=scale,
                      seed=seed)
    sw = sweep(_train, [{"arm": a, "device": claims.device(), **cfg} for a in ARMS],
               seeds=[seed * 1000 + k for k in range(n_seeds)], desc="SST vs LoRA/ReLoRA*")
    V = sw.array("val")  # (arms, S)
    P = sw.array("tested_params")[:, 0]
    dense, lora, relora, sst = (V[ARMS.index(a)] for a in ARMS)
    d = sst - lora
    se = d.std(ddof=1) / np.sqrt(n_seeds)
    res.add(Check.at_most("val loss: SST − LoRA (paired mean + 2 s.e.)",
                          float(d.mean() + 2 * se), 0.0,
                          detail=f"SST {sst.mean():.4f}, LoRA {lora.mean():.4f}"))
    closed = (lora - sst) / (lora - dense)
    res.add(Check.at_least("share of the LoRA → full-rank gap closed by SST (mean over seeds)",
                           float(closed.mean()), 0.25,
                           detail=f"full {dense.mean():.4f}; paper (v1, OPT-125M): 0.676"))
    dr = sst - relora
    res.data.update(arms=list(ARMS), val=V, tested_params=P, gap_closed=closed,
                    sst_minus_relora=dr, train=sw.array("train"))
    dr_se = dr.std(ddof=1) / np.sqrt(n_seeds)
    res.caveats.append(
        f"SST − ReLoRA* = {dr.mean():+.4f} ± {dr_se:.4f} (paired, recorded, not checked); "
        + ("the paper's SST < ReLoRA* is NOT reproduced here."
           if dr.mean() > 2 * dr_se else
           "SST ahead of ReLoRA*, as in the paper." if dr.mean() < -2 * dr_se else
           "no resolved difference."))
    res.caveats.append(
        "No 'enhanced gradient' (its exact form is unconfirmed); indices drawn without "
        "replacement ∝ σ; re-SVD every round, after which the vectors' and σ's optimizer "
        "states are reset (the re-SVD re-sorts the components). "
        + ("Smoke scale fits a linear full-rank teacher (rank-capacity test), not a language "
           "model." if scale == "smoke" else "Character MLP LM stands in for OPT/LLaMA."))
    fig, axes = new_figure(1, title="SST vs LoRA / ReLoRA* / full rank")
    for ai, a in enumerate(ARMS):
        plot_seeds(axes[0], [P[ai]], V[ai:ai + 1], color=color(ai), label=a)
    finish(axes[0], xlabel="trainable parameters in the tested layers",
           ylabel="validation loss", logx=True, logy=scale == "smoke")
    res.figure = fig
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
