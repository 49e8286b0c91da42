"""NPO avoids gradient ascent's catastrophic collapse on the paper's synthetic problem: GA's
forget quality first improves and then diverges, NPO's converges and stays near its best.

Paper: Zhang, Lin, Bai & Mei 2024, "Negative Preference Optimization: From Catastrophic Collapse
to Effective Unlearning" (COLM 2024, arXiv:2404.05868), synthetic experiments (forget/retain
quality vs unlearning step; reference code ``synthetic/``). Setting, as in the reference code:
K = 2 classes, d = 16, N = 128 fixed random ReLU features, only the output layer trained;
Gaussian-mixture inputs with a softmax label model, n_r = 1000 retain and n_f = 200 forget
samples, forget/retain gap α; retain model (D_r only) and original (D_r ∪ D_f) pretrained from
zero by full-batch GD (lr 0.05, 20 000 steps); unlearning by full-batch GD for 2000 steps,
evaluated every 25. Forget quality = mean over 1000 fresh forget-distribution inputs of
KL(p_retain-model ‖ p_current) (lower is better); retain quality likewise on the retain
distribution. Learning rates of the reference code's run script: GA 5e-4, GradDiff 2e-4,
IDK 1e-4, NPO (β = 1) 5e-4, NPO+GradDiff (β = 0.1) 2e-4, DPO+GradDiff (β = 0.1) 1e-3.

Expected (paper): GA approaches the retain model, then diverges (forget predictions pushed to 0);
NPO converges and plateaus near the retain model. Acceptance, fixed before the first full run:
at α = 1, on every seed, (i) GA's forget-quality curve reaches its minimum before step 2000 and
(ii) ends at >= 2 × that minimum, while (iii) NPO ends within 1.2 × its own minimum and (iv) below
GA's final value. The factors 2 and 1.2 are the project's acceptance values (a collapse doubles
the distance; a plateau stays within 20 % of its best), not fitted to our runs; per-seed worst
cases are checked, so there is no seed-spread allowance. Other side: α = 0 (forget and retain
inputs from the same region with opposite label models; the shipped script's value) is run with
the same rates and reported, not checked (no statement about it is made in the paper that we
could confirm). Full scale also runs the configuration file's rates for each gap (α = 1: NPO
at 5e-3; α = 0: NPO β = 10 at 5e-2) as data. Smoke (one draw per seed, GA and NPO) checks
(i)–(iii) and records (iv) without checking it: at full scale (iv) failed on 2 of 5 draws,
where GA's collapse stays small (its minimum 3e-4–6e-4, final 0.003–0.011) while NPO at
lr 5e-4 is still descending at step 2000 (0.027–0.054), so one draw cannot carry (iv).
"""

import numpy as np

from theorylab import claims
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_seeds, plot_theory
from theorylab.sweep import sweep

PAPER = "zhang2024_npo"
CLAIM = ("On the paper's random-features synthetic (α = 1), GA's forget quality (KL to the "
         "retain model) reaches its minimum before step 2000 and ends >= 2x it, while NPO ends "
         "within 1.2x its minimum and below GA.")
PROBLEM = dict(K=2, d=16, N=128, n_r=1000, n_f=200, n_eval=1000, pretrain_lr=0.05,
               pretrain_steps=20_000, pretrain="gd")
SIZES = {
    # smoke: the same problem and recipe, α = 1 only, GA and NPO, one draw
    "smoke": dict(seeds=1, alphas=(1.0,), rates=("active",), methods=("ga", "npo"),
                  steps=2000, eval_every=25, problem=PROBLEM),
    "full": dict(seeds=5, alphas=(1.0, 0.0), rates=("active", "config"),
                 methods=("ga", "grad_diff", "idk", "npo", "npo_rt", "dpo_rt"),
                 steps=2000, eval_every=25, problem=PROBLEM),
    # the paper's synthetic is CPU-sized: the paper scale is the full one on --device
    "paper": dict(seeds=5, alphas=(1.0, 0.0), rates=("active", "config"),
                  methods=("ga", "grad_diff", "idk", "npo", "npo_rt", "dpo_rt"),
                  steps=2000, eval_every=25, problem=PROBLEM),
}


def _rf_unlearn_seeds(problems, method, *, lr, beta, steps, eval_every, retain_weight=1.0,
                      device=None):
    """``rf_unlearn`` of ``theorylab.unlearning.llm.synthetic_rf`` on several draws of the
    problem at once: the draws' output layers stacked (S, N, K−1), each draw's loss its own
    (the formulas of ``theorylab.unlearning.llm.losses``, batched over draws), one backward
    pass of their sum (draw s's loss depends on its own layer alone, so each gets its own
    gradient), float64 as the original. Returns one curve per draw: a dict with ``steps``,
    ``forget_quality``, ``retain_quality`` (their values equal ``rf_unlearn``'s to rounding)."""
    import torch
    import torch.nn.functional as F

    from theorylab.unlearning.llm.synthetic_rf import RF_METHODS

    if method not in RF_METHODS:
        raise ValueError(f"method must be one of {list(RF_METHODS)}, got {method!r}")
    if method.startswith(("npo", "dpo")) and beta is None:
        raise ValueError(f"beta must be given for method {method!r}, got None")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (np.isfinite(lr)
                                                                         and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    dev = torch.device(device if device is not None else "cpu")

    def t(get, dtype=torch.float64):
        return torch.as_tensor(np.stack([get(p) for p in problems]), dtype=dtype, device=dev)

    def log_probs(Z, a):  # (S, n, N), (S, N, K-1) -> (S, n, K), the last logit pinned to 0
        logits = torch.stack([Z[i] @ a[i] for i in range(len(problems))])  # mm: faster than
        # bmm in float64 for a thin a
        return torch.log_softmax(F.pad(logits, (0, 1)), dim=2)

    def pick(lp, y):
        return lp.gather(2, y[..., None])[..., 0]

    def kl_rows(lp_target, lp):  # per draw mean_x KL(p_target ‖ p)
        return (lp_target.exp() * (lp_target - lp)).sum(2).mean(1)

    Z_f, Z_r = t(lambda p: p.features(p.X_f)), t(lambda p: p.features(p.X_r))
    y_f, y_r = t(lambda p: p.y_f, torch.long), t(lambda p: p.y_r, torch.long)
    y_idk = t(lambda p: p.y_idk, torch.long)
    a0 = t(lambda p: p.a_original)
    ref_f, ref_r = log_probs(Z_f, a0), log_probs(Z_r, a0)
    ref_pick_f, ref_pick_idk = pick(ref_f, y_f), pick(ref_f, y_idk)
    Ze_f, Ze_r = t(lambda p: p.features(p.X_eval_f)), t(lambda p: p.features(p.X_eval_r))
    a_ret = t(lambda p: p.a_retain)
    tgt_f, tgt_r = log_probs(Ze_f, a_ret), log_probs(Ze_r, a_ret)
    w = float(retain_weight)
    b = None if beta is None else float(beta)

    def loss(a):  # (S,) per-draw losses
        lp_f = log_probs(Z_f, a)
        logp_f = pick(lp_f, y_f)
        if method == "ga":
            return logp_f.mean(1)
        if method == "grad_diff":
            return logp_f.mean(1) - w * pick(log_probs(Z_r, a), y_r).mean(1)
        if method == "kl":
            return logp_f.mean(1) + w * kl_rows(ref_r, log_probs(Z_r, a))
        if method == "idk":
            return -pick(lp_f, y_idk).mean(1) - w * pick(log_probs(Z_r, a), y_r).mean(1)
        if method.startswith("npo"):
            out = (2.0 / b) * F.softplus(b * (logp_f - ref_pick_f)).mean(1)
        else:
            out = -(2.0 / b) * F.logsigmoid(b * ((pick(lp_f, y_idk) - ref_pick_idk)
                                                 - (logp_f - ref_pick_f))).mean(1)
        if method.endswith("_rt"):
            out = out - w * pick(log_probs(Z_r, a), y_r).mean(1)
        elif method.endswith("_kl"):
            out = out + w * kl_rows(ref_r, log_probs(Z_r, a))
        return out

    a = a0.clone().requires_grad_(True)
    rec_s, fq, rq = [], [], []

    def evaluate(s):
        with torch.no_grad():
            rec_s.append(s)
            fq.append(kl_rows(tgt_f, log_probs(Ze_f, a)))
            rq.append(kl_rows(tgt_r, log_probs(Ze_r, a)))

    evaluate(0)
    for s in range(1, steps + 1):
        per = loss(a)
        (g,) = torch.autograd.grad(per.sum(), a)
        with torch.no_grad():
            a -= lr * g
        if s % eval_every == 0 or s == steps:
            if not bool(torch.isfinite(per).all()):  # checked at the evaluations only
                raise FloatingPointError(f"method {method!r}: a non-finite loss by step {s}")
            evaluate(s)
    fq, rq = torch.stack(fq, 1).cpu().numpy(), torch.stack(rq, 1).cpu().numpy()
    return [{"steps": np.asarray(rec_s), "forget_quality": fq[i], "retain_quality": rq[i]}
            for i in range(len(problems))]


def _trials(alpha, rates, methods, steps, eval_every, problem, device, seed, n_seeds):
    """:func:`_reference_trial` for the draws ``1000 * (seed + 1) + k``, k < ``n_seeds``, with
    every unlearning run made for all draws at once (:func:`_rf_unlearn_seeds`)."""
    import torch

    from theorylab.unlearning.llm.synthetic_rf import make_rf_problem

    torch.set_num_threads(1)
    seeds = [1000 * (seed + 1) + k for k in range(n_seeds)]
    ps = [make_rf_problem(alpha=alpha, rng=np.random.default_rng(s), **problem) for s in seeds]
    outs = [{f"pretrain_grad_{k}": v for k, v in p.pretrain_grad_norm.items()} for p in ps]
    done = {}  # (method, lr, beta) -> curves: a rate shared by both tables runs once
    for r, m, lr, beta in _runs(alpha, rates, methods):
        if (m, lr, beta) not in done:
            done[m, lr, beta] = _rf_unlearn_seeds(ps, m, lr=lr, beta=beta, steps=steps,
                                                  eval_every=eval_every, device=device)
        for out, c in zip(outs, done[m, lr, beta], strict=True):
            out[f"{r}_{m}_fq"] = c["forget_quality"]
            out[f"{r}_{m}_rq"] = c["retain_quality"]
            out["steps"] = c["steps"]
    return outs


def _runs(alpha, rates, methods):
    """``(rate label, method, lr, beta)`` for every run the rate tables ask for; "config" is
    the configuration file's rates for this gap (α = 1 or α = 0)."""
    from theorylab.unlearning.llm.synthetic_rf import PAPER_RATES

    for r in rates:
        table = PAPER_RATES[r if r != "config" else ("alpha1" if alpha == 1.0 else "alpha0")]
        for m in methods:
            if m in table:
                yield (r, m, *table[m])


def _reference_trial(alpha, rates, methods, steps, eval_every, problem, device, seed):
    """One draw, one ``rf_unlearn`` per method (the slow twin of :func:`_trials`)."""
    import torch

    from theorylab.unlearning.llm.synthetic_rf import make_rf_problem, rf_unlearn

    torch.set_num_threads(1)
    p = make_rf_problem(alpha=alpha, rng=np.random.default_rng(seed), **problem)
    out = {f"pretrain_grad_{k}": v for k, v in p.pretrain_grad_norm.items()}
    done = {}  # (method, lr, beta) -> curve: a rate shared by both tables runs once
    for r, m, lr, beta in _runs(alpha, rates, methods):
        if (m, lr, beta) not in done:
            done[m, lr, beta] = rf_unlearn(p, m, lr=lr, beta=beta, steps=steps,
                                           eval_every=eval_every, device=device)
        c = done[m, lr, beta]
        out[f"{r}_{m}_fq"] = c.forget_quality
        out[f"{r}_{m}_rq"] = c.retain_quality
        out["steps"] = c.steps
    return out


def _paper_dry_run(cfg, seed) -> ClaimResult:
    from theorylab.unlearning.llm.synthetic_rf import make_rf_problem, rf_unlearn

    res = ClaimResult(claim="zhang2024_npo_synthetic_collapse", paper=PAPER, statement=CLAIM,
                      scale="paper", seed=seed)
    pr = dict(cfg["problem"], pretrain_steps=1)
    p = make_rf_problem(alpha=1.0, rng=np.random.default_rng(seed), **pr)
    res.add(Check.close("paper config built: N x d random features", p.W.size,
                        pr["N"] * pr["d"], 0.0))
    c = rf_unlearn(p, "npo", lr=5e-4, beta=1.0, steps=1, eval_every=1,
                   device=claims.device())
    res.add(Check.true("one NPO step: finite forget quality",
                       bool(np.all(np.isfinite(c.forget_quality))),
                       measured=float(c.forget_quality[-1])))
    return res


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    if scale == "paper" and claims.dry_run():
        return _paper_dry_run(cfg, seed)
    res = ClaimResult(claim="zhang2024_npo_synthetic_collapse", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    points = [dict(alpha=a, rates=cfg["rates"], methods=cfg["methods"], steps=cfg["steps"],
                   eval_every=cfg["eval_every"], problem=cfg["problem"],
                   device=claims.device()) for a in cfg["alphas"]]
    seeds = [1000 * (seed + 1) + k for k in range(cfg["seeds"])]
    # one sweep task per gap α: its draws unlearned together
    sw = sweep(_trials, [dict(p, n_seeds=cfg["seeds"]) for p in points], seeds=[seed],
               backend="serial" if scale == "smoke" else None, desc="NPO synthetic")
    rows = [v[0] for v in sw.values]  # per point: one dict per draw
    steps = np.asarray(rows[0][0]["steps"])
    curves = {}  # (alpha, key) -> (n_seeds, m)
    for pt, row in zip(sw.points, rows, strict=True):
        for k in row[0]:
            if k != "steps":
                curves[(pt["alpha"], k)] = np.asarray([v[k] for v in row], dtype=float)

    ga, npo = curves[(1.0, "active_ga_fq")], curves[(1.0, "active_npo_fq")]
    ga_min, ga_arg = ga.min(1), ga.argmin(1)
    npo_min = npo.min(1)
    res.add(Check.true("α=1: GA's forget-quality minimum comes before step 2000 (all seeds)",
                       bool(np.all(steps[ga_arg] < steps[-1])),
                       measured=int(steps[ga_arg].max()), expected=f"< {int(steps[-1])}",
                       detail="argmin steps " + ", ".join(str(int(s)) for s in steps[ga_arg])))
    res.add(Check.at_least("α=1: GA final / GA minimum forget quality (worst seed)",
                           float((ga[:, -1] / ga_min).min()), 2.0,
                           detail=f"GA min {ga_min.mean():.4f}, final {ga[:, -1].mean():.4f}"))
    res.add(Check.at_most("α=1: NPO final / NPO minimum forget quality (worst seed)",
                          float((npo[:, -1] / npo_min).max()), 1.2,
                          detail=f"NPO min {npo_min.mean():.4f}, final {npo[:, -1].mean():.4f}"))
    gap = npo[:, -1] - ga[:, -1]
    res.data["npo_final_minus_ga_final"] = gap
    if scale != "smoke":
        res.add(Check.true("α=1: NPO ends below GA in forget quality (all seeds)",
                           bool(np.all(gap < 0)), measured=float(gap.max()), expected="< 0",
                           detail="max over seeds of NPO final − GA final; per seed "
                                  + ", ".join(f"{g:+.4f}" for g in gap)))

    for (a, k), v in curves.items():
        res.data[f"alpha{a:g}_{k}"] = v
    res.data["steps"] = steps
    res.data["seeds"] = seeds
    res.data["config"] = {k: v for k, v in cfg.items()}
    other = {k: (curves[(0.0, k)][:, -1].mean(), curves[(0.0, k)].min(1).mean())
             for a, k in curves if a == 0.0 and k.endswith("_fq")}
    res.data["alpha0_final_over_min"] = {k: float(f / m) for k, (f, m) in other.items()}

    fig, axes = new_figure(3 if 0.0 in cfg["alphas"] else 2,
                           title="NPO vs GA on the random-features synthetic")
    names = [m for m in cfg["methods"] if (1.0, f"active_{m}_fq") in curves]
    for j, m in enumerate(names):
        plot_seeds(axes[0], steps, curves[(1.0, f"active_{m}_fq")].T, color=color(j), label=m)
        plot_seeds(axes[1], steps, curves[(1.0, f"active_{m}_rq")].T, color=color(j), label=m)
    plot_theory(axes[0], steps, np.full(steps.size, 2 * ga_min.mean()),
                label="2 × GA minimum", color=color(0))
    finish(axes[0], xlabel="unlearning step", ylabel="KL(retain model ‖ current), forget dist.",
           title="α = 1: forget quality", logy=True)
    finish(axes[1], xlabel="unlearning step", ylabel="KL(retain model ‖ current), retain dist.",
           title="α = 1: retain quality", logy=True)
    if 0.0 in cfg["alphas"]:
        for j, m in enumerate(names):
            plot_seeds(axes[2], steps, curves[(0.0, f"active_{m}_fq")].T, color=color(j),
                       label=m)
        finish(axes[2], xlabel="unlearning step", ylabel="forget quality",
               title="α = 0 (other side, reported)", logy=True)
    res.figure = fig
    res.caveats.append(
        "Learning rates from the reference code's run script; its configuration file lists "
        "others (NPO at 5e-3 for α = 1), run at full scale as data. Which produced each paper "
        "figure is unconfirmed. Evaluations every 25 steps include step 2000 itself.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
