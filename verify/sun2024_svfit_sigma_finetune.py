"""SVFit: fine-tuning only the singular values of pretrained weights adapts a network to a
shifted task better than LoRA at the same number of trainable parameters.

Paper: Sun et al. 2024 (arXiv:2409.05926), abstract and Tables 1–3 (GLUE, image
classification): SVFit "outperforms LoRA while requiring 16 times fewer trainable parameters".
Small version: an MLP 64-h-h-10 pretrained on digits, adapted to fixed input shifts
(pixel permutation, sign flip of half the pixels); adapters on the two hidden layers, head
frozen. Arms: SVFit with all singular values (64 + h parameters); LoRA r = 1 on the first layer
only (exactly 64 + h parameters — the equal-parameter baseline); LoRA r = 1 and r = 4 on both
layers (≈ 2.3 × and ≈ 9 × SVFit's parameters, standing in for the paper's 16 ×).
Expected: SVFit ≥ LoRA at equal parameters (paper direction); a prototype found LoRA with ≥ 5 ×
SVFit's parameters better everywhere, i.e. the 16 × claim not reproduced at small scale.
Tolerance: paired over seeds (same pretrained net, same data order); check mean − 2 s.e. of
acc(SVFit) − acc(LoRA, equal parameters) ≥ 0 on each task. Calibration of smoke (permutation):
60 measured paired runs give a difference of +0.145, s.d. 0.086, with a heavy lower tail (5 of
60 below +0.005, down to −0.062). With 3 runs per seed the check failed on seeds 7, 9, 19 of
0-19, with 6 on seed 1 (0.252 0.301 0.078 0.004 −0.062 0.027: the tail inflates the s.e.).
Resampling the 60 runs, mean − 2 s.e. fails on 4.7 % of seeds with 6 runs, 1.0 % with 8,
0.2 % with 10 and 0.04 % with 12, while a true difference of 0 (the 60 runs shifted to mean 0)
still passes only 5.4 % of the time with 12. Smoke therefore pairs 12 runs and trains only the
two compared arms (LoRA r = 4 is left to full scale) to stay within a few seconds.
Measured with this rule: 20/20 of seeds 0-19 pass (smallest mean − 2 s.e. +0.045, seed 1); the
240 runs give +0.156, s.d. 0.086, as calibrated.
Outcome: smoke passes (permutation, +0.17). Full passes on permutation (+0.32) and sign flip
(+0.23) but fails on the easy gain task, a tie at 0.967 near the ceiling; LoRA r = 4 beats
SVFit on every task (paper_notes/sun2024_svfit.md).
Scale ``paper``: hidden width 768 (ViT-B / RoBERTa-base) on ``--device``; the paper's
checkpoints and datasets are not used; ``--dry-run`` builds every arm and takes one step.
"""

import numpy as np

from theorylab import claims
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_seeds
from theorylab.sweep import sweep

PAPER = "sun2024_svfit"
CLAIM = ("Training only the singular values (SVFit) beats LoRA at equal trainable parameters on "
         "every input shift of a pretrained digits MLP.")
ARMS = ("svfit", "lora_equal", "lora_r1", "lora_r4")
SIZES = {
    # 12 paired seeds and only the two compared arms (LoRA r = 4 is measured at full scale):
    # calibrated on 60 measured runs (see the module docstring)
    "smoke": dict(hidden=128, pre_steps=400, steps=300, seeds=12, tasks=("permute",),
                  arms=("svfit", "lora_equal")),
    "full": dict(hidden=256, pre_steps=1500, steps=1500, seeds=5,
                 tasks=("gain", "permute", "signflip"), arms=ARMS),
    # the paper's ViT-B / RoBERTa-base hidden width (768) for the two adapted layers; the
    # paper's checkpoints, GLUE and image datasets are not used (digits with shifted inputs)
    "paper": dict(hidden=768, pre_steps=3000, steps=1500, seeds=5,
                  tasks=("gain", "permute", "signflip"), arms=ARMS),
}


def _make_shift(task, n, rng):
    """A fixed input transform ``X -> X'`` (the downstream task), applied to train and test."""
    import torch

    if task == "permute":
        perm = torch.as_tensor(rng.permutation(n))
        return lambda X: X[:, perm]
    if task == "signflip":
        s = torch.as_tensor(np.where(rng.random(n) < 0.5, -1.0, 1.0), dtype=torch.float32)
        return lambda X: X * s.to(X.device)
    gain = torch.as_tensor(rng.uniform(0.2, 1.8, n), dtype=torch.float32)
    return lambda X: X * gain.to(X.device)


def _reference_one(hidden, pre_steps, steps, tasks, arms, device, seed):
    """One seed, every model trained on its own: the slow reference twin of :func:`_batch`
    (used by the tests only)."""
    import copy

    import torch
    from torch import nn

    from theorylab.nn.data import load_digits_tensors
    from theorylab.nn.lora import LoRALinear
    from theorylab.nn.svd import SVDLinear
    from theorylab.nn.training import count_parameters, make_generator, train_steps

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    Xtr, ytr, Xte, yte = load_digits_tensors(rng=seed)
    Xtr, ytr, Xte, yte = (t.to(device) for t in (Xtr, ytr, Xte, yte))
    net = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                        nn.Linear(hidden, 10)).to(device)

    def loss_on(X, g):
        def f(m, step):
            idx = torch.randint(0, len(ytr), (64,), generator=g)
            return nn.functional.cross_entropy(m(X[idx]), ytr[idx])
        return f

    train_steps(net, loss_on(Xtr, make_generator(seed)), steps=pre_steps, lr=1e-3)
    for p in net.parameters():
        p.requires_grad_(False)
    acc = lambda m, X: float((m(X).argmax(1) == yte).float().mean())  # noqa: E731
    out = {"pretrained_acc": acc(net, Xte), "params": []}
    rng = np.random.default_rng(seed)
    for task in tasks:
        shift = _make_shift(task, Xtr.shape[1], rng)
        Xs_tr, Xs_te = shift(Xtr), shift(Xte)
        accs = []
        for arm in arms:
            m = copy.deepcopy(net)
            ga = make_generator(seed + 7, device)  # LoRA draws A on the weights' device
            if arm == "svfit":  # all singular values of both hidden layers
                m[0], m[2] = SVDLinear(m[0], rank=64), SVDLinear(m[2], rank=hidden)
                lr = 1e-2
            elif arm == "lora_equal":  # r = 1 on the first layer: 64 + hidden parameters
                m[0] = LoRALinear(m[0], rank=1, generator=ga)
                lr = 3e-3
            else:
                r = 1 if arm == "lora_r1" else 4
                m[0] = LoRALinear(m[0], rank=r, generator=ga)
                m[2] = LoRALinear(m[2], rank=r, generator=ga)
                lr = 3e-3
            if task == tasks[0]:
                out["params"].append(count_parameters(m))
            train_steps(m, loss_on(Xs_tr, make_generator(seed + 1)), steps=steps, lr=lr)
            with torch.no_grad():
                accs.append(acc(m, Xs_te))
        out[task] = accs
        out[f"{task}_frozen"] = acc(net, Xs_te)
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def _adapt(net, arm, hidden, ga):
    """A deep copy of ``net`` with the arm's adapters on its hidden layers, and its lr."""
    import copy

    from theorylab.nn.lora import LoRALinear
    from theorylab.nn.svd import SVDLinear

    m = copy.deepcopy(net)
    if arm == "svfit":  # all singular values of both hidden layers
        m[0], m[2] = SVDLinear(m[0], rank=64), SVDLinear(m[2], rank=hidden)
        return m, 1e-2
    if arm == "lora_equal":  # r = 1 on the first layer: 64 + hidden parameters
        m[0] = LoRALinear(m[0], rank=1, generator=ga)
        return m, 3e-3
    r = 1 if arm == "lora_r1" else 4
    m[0] = LoRALinear(m[0], rank=r, generator=ga)
    m[2] = LoRALinear(m[2], rank=r, generator=ga)
    return m, 3e-3


# the right factors the stacked layers multiply by transposed (stored so, contiguous)
_TRANSPOSED = ("weight", ".U", ".A", ".B")


def _stacked_mlp(state, x, scalings):
    """The 64-h-h-10 MLP (plain, SVFit or LoRA hidden layers) of every member at once:
    ``x (M, B, 64)`` → logits ``(M, B, 10)``."""
    from torch import nn

    from theorylab.nn import stacked as st

    h = x
    for i in (0, 2, 4):
        if f"{i}.sigma" in state:  # weight, U, A, B stored transposed (_TRANSPOSED)
            h = st.svd_linear(h, state[f"{i}.base.weight"], state[f"{i}.base.bias"],
                              state[f"{i}.U"], state[f"{i}.V"], state[f"{i}.sigma"],
                              state[f"{i}.sigma0"])
        elif f"{i}.A" in state:
            h = st.lora_linear(h, state[f"{i}.base.weight"], state[f"{i}.base.bias"],
                               state[f"{i}.A"], state[f"{i}.B"], scalings[i])
        else:
            h = st.linear(h, state[f"{i}.weight"], state[f"{i}.bias"])
        if i < 4:
            h = nn.functional.relu(h)
    return h


def _train_members(models, data, lr, steps):
    """Train ``models`` (identical structure) as one stacked model, in place.

    ``data[k] = (X, y, g)``: member ``k``'s shifted training inputs, labels and batch
    generator; members given the same generator object share its batch indices (they are
    drawn once per step, as each would draw them alone from an equally seeded generator).
    """
    import torch
    from torch import nn

    from theorylab.nn.stacked import stack_state, train_stacked, unstack_state_

    names = [n for n, _ in models[0].named_parameters()] + [n for n, _ in
                                                            models[0].named_buffers()]
    tr = [n for n in names if n.endswith(_TRANSPOSED)]
    state, trainable = stack_state(models, transposed=tr)
    scalings = {i: getattr(models[0][i], "scaling", None) for i in (0, 2, 4)}
    gens = list(dict.fromkeys(g for _, _, g in data))  # distinct generators, in order
    n = {id(g): len(y) for _, y, g in data}

    def loss(step):
        idx = {id(g): torch.randint(0, n[id(g)], (64,), generator=g) for g in gens}
        X = torch.stack([X[idx[id(g)]] for X, _, g in data])  # (M, 64, 64)
        y = torch.stack([y[idx[id(g)]] for _, y, g in data])  # (M, 64)
        logits = _stacked_mlp(state, X, scalings)
        ce = nn.functional.cross_entropy(logits.transpose(1, 2), y, reduction="none")
        return ce.mean(1)  # (M,)

    train_stacked(loss, trainable, steps=steps, lr=lr)
    unstack_state_(state, models, transposed=tr)


def _batch(hidden, pre_steps, steps, tasks, arms, device, seeds):
    """Every seed of :func:`_reference_one` at once: the ``S`` pretrainings as one stacked
    model, then per arm the ``S × len(tasks)`` adaptations as one stacked model. Same
    initialisations, shifts and batch orders as the reference; values have a leading seed
    axis."""
    import torch
    from torch import nn

    from theorylab.nn.data import load_digits_tensors
    from theorylab.nn.training import count_parameters, make_generator

    torch.set_num_threads(1)
    nets, D = [], []
    for seed in seeds:
        torch.manual_seed(seed)
        Xtr, ytr, Xte, yte = load_digits_tensors(rng=seed)
        D.append(tuple(t.to(device) for t in (Xtr, ytr, Xte, yte)))
        nets.append(nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                  nn.ReLU(), nn.Linear(hidden, 10)).to(device))
    _train_members(nets, [(Xtr, ytr, make_generator(s)) for (Xtr, ytr, _, _), s
                          in zip(D, seeds, strict=True)], 1e-3, pre_steps)
    acc = lambda m, X, y: float((m(X).argmax(1) == y).float().mean())  # noqa: E731
    outs = []
    with torch.no_grad():
        for net, (_, _, Xte, yte) in zip(nets, D, strict=True):
            for p in net.parameters():
                p.requires_grad_(False)
            outs.append({"pretrained_acc": acc(net, Xte, yte), "params": []})
    shifted = []  # [seed][task] -> (X_train', X_test')
    for seed, (Xtr, _, Xte, _) in zip(seeds, D, strict=True):
        rng = np.random.default_rng(seed)
        shifted.append([])
        for task in tasks:
            shift = _make_shift(task, Xtr.shape[1], rng)
            shifted[-1].append((shift(Xtr), shift(Xte)))
    for o, net, sh, (_, _, _, yte) in zip(outs, nets, shifted, D, strict=True):
        with torch.no_grad():
            for ti, task in enumerate(tasks):
                o[task] = []
                o[f"{task}_frozen"] = acc(net, sh[ti][1], yte)
    for arm in arms:
        models, data = [], []
        for si, seed in enumerate(seeds):
            g = make_generator(seed + 1)  # every task of this seed: the same batch order
            for ti in range(len(tasks)):
                m, lr = _adapt(nets[si], arm, hidden, make_generator(seed + 7, device))
                if ti == 0:
                    outs[si]["params"].append(count_parameters(m))
                models.append(m)
                data.append((shifted[si][ti][0], D[si][1], g))
        _train_members(models, data, lr, steps)
        with torch.no_grad():
            for k, m in enumerate(models):
                si, ti = divmod(k, len(tasks))
                outs[si][tasks[ti]].append(acc(m, shifted[si][ti][1], D[si][3]))
    return {k: np.asarray([o[k] for o in outs], dtype=float) for k in outs[0]}


def _seeds_point(hidden, pre_steps, steps, tasks, arms, device, n_seeds, seed):
    """The sweep's point: seeds ``seed·1000 + k``, ``k < n_seeds``, as :func:`_batch`."""
    return _batch(hidden, pre_steps, steps, tasks, arms, device,
                  [seed * 1000 + k for k in range(n_seeds)])


def _paper_dry_run(cfg, seed) -> ClaimResult:
    """``--scale paper --dry-run``: the paper-width MLP, one pretraining and one adaptation
    step per arm on the first task."""
    res = ClaimResult(claim="sun2024_svfit_sigma_finetune", paper=PAPER, statement=CLAIM,
                      scale="paper", seed=seed)
    h, arms = cfg["hidden"], tuple(cfg["arms"])
    out = {k: v[0] for k, v in
           _batch(h, 1, 1, cfg["tasks"][:1], arms, claims.device(), (seed,)).items()}
    for arm in ("svfit", "lora_equal"):
        res.add(Check.close(f"paper config built ({arm}): trainable parameters, hidden {h}",
                            out["params"][arms.index(arm)], 64 + h, 0.0,
                            detail="64 + hidden: all singular values / LoRA r = 1 on layer 1"))
    acc = out[cfg["tasks"][0]]
    res.add(Check.true("one step per arm: finite accuracies", bool(np.all(np.isfinite(acc))),
                       measured=acc.round(3).tolist(), detail=f"device {claims.device()}"))
    return res


def run(scale="smoke", seed=0) -> ClaimResult:
    if scale == "paper" and claims.dry_run():
        return _paper_dry_run(SIZES[scale], seed)
    cfg = dict(SIZES[scale])
    n_seeds, tasks, arms = cfg.pop("seeds"), tuple(cfg.pop("tasks")), tuple(cfg.pop("arms"))
    res = ClaimResult(claim="sun2024_svfit_sigma_finetune", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    # one sweep point: the n_seeds seeds seed·1000 + k are trained together as stacked models
    sw = sweep(_seeds_point, [{"tasks": tasks, "arms": arms, "device": claims.device(),
                               "n_seeds": n_seeds, **cfg}], seeds=[seed], desc="SVFit vs LoRA")
    A = lambda k: sw.array(k)[0, 0]  # noqa: E731  (S, ...): the seeds of the point
    params = A("params")[0]
    i_sv, i_eq = arms.index("svfit"), arms.index("lora_equal")
    for task in tasks:
        a = A(task)  # (S, arms)
        d = a[:, i_sv] - a[:, i_eq]
        se = d.std(ddof=1) / np.sqrt(n_seeds)
        res.add(Check.at_least(f"{task}: acc(SVFit) − acc(LoRA, equal parameters) "
                               "(paired mean − 2 s.e.)", float(d.mean() - 2 * se), 0.0,
                               detail=f"SVFit {a[:, i_sv].mean():.3f}, LoRA "
                                      f"{a[:, i_eq].mean():.3f}, {int(params[i_sv])} "
                                      "parameters each"))
        res.data[task] = a
        res.data[f"{task}_frozen"] = A(f"{task}_frozen")
        res.data[f"{task}_svfit_minus_lora_equal"] = d
        if "lora_r4" not in arms:
            continue
        i_r4 = arms.index("lora_r4")
        gap = float((a[:, i_r4] - a[:, i_sv]).mean())
        res.data[f"{task}_lora_r4_minus_svfit"] = gap
        if gap > 0.01:
            res.caveats.append(
                f"{task}: LoRA r = 4 ({int(params[i_r4])} parameters, "
                f"{params[i_r4] / params[i_sv]:.1f} × SVFit's) beats SVFit by {gap:.3f} — "
                "'better than LoRA with 16 × fewer parameters' is not reproduced here.")
    res.data.update(arms=list(arms), params=params, tasks=list(tasks),
                    pretrained_acc=A("pretrained_acc"))
    res.caveats.append("All singular values are trained (r = min(m, n)); the paper's 'top-r "
                       "carrying 99 % of the information' rule and its learning rate for s are "
                       "unconfirmed. Input shifts of digits stand in for GLUE / ViT tasks.")
    fig, axes = new_figure(len(tasks), title="SVFit vs LoRA (head frozen; digits, shifted "
                                             "inputs)")
    for ti, task in enumerate(tasks):
        a = A(task)
        for ai, arm in enumerate(arms):
            plot_seeds(axes[ti], [params[ai]], a[:, ai:ai + 1].T, color=color(ai), label=arm)
        axes[ti].axhline(float(A(f"{task}_frozen").mean()), ls="--", color="gray",
                         label="frozen pretrained")
        finish(axes[ti], xlabel="trainable parameters", ylabel="test accuracy", title=task,
               logx=True)
    res.figure = fig
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
