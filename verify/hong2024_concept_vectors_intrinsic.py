"""Gradient ascent and NPO make a model stop answering about a concept while leaving the
concept's MLP value vector almost unchanged; Needle (editing that vector only) moves it and
leaves less to recover under held-out paraphrased questions.

Paper: Hong, Yu, Ravfogel, Yang, Geva 2024, "Intrinsic Evaluation of Unlearning Using
Parametric Knowledge Traces" (ConceptVectors, arXiv:2406.11614). On LLaMA-2-7B-chat and
OLMo-7B, fine-tuning unlearning methods (gradient ascent, gradient difference, NPO variants,
DPO) change a concept's located value vector very little even where behaviour changes, while
ablating the vector itself (Needle) removes the knowledge and resists jailbreak-style recovery.
The abstract gives no number ("minimally impact", "significantly reduces").

Small faithful experiment (a tiny GPT-2 stands in for the 7 B models). Fictitious facts: every
concept is one invented entity with its own answer words (one fact per attribute); unrelated
entities are trained alongside. The model is trained from scratch on two question templates
per fact (the main one and a paraphrase) to >= 95 % QA accuracy. Concept vectors are located
by the logit lens: the value vector (row of ``mlp.c_proj``) whose top-k vocabulary projection
overlaps the concept's answer words most. Localisation gate (the paper's causal validation):
zeroing the vector, or adding Gaussian noise of std 0.1 × its norm per coordinate, must drop
the concept's QA accuracy by >= 30 points while unrelated QA drops <= 5 points (either
ablation may pass; both are reported); concepts failing the gate are excluded and counted.
Then, for each gated concept, three unlearning runs on the concept's main questions only,
each stopped as soon as concept QA (main questions) <= 20 %: GA (gradient ascent, all
weights, Adam lr 3e-4), NPO (β = 0.1, all weights, Adam lr 3e-4) and Needle (gradient ascent on
the located vector only, Adam lr 0.5, then noise of std 0.1 × its norm — the noise rule is
unconfirmed); at most 60 steps each. Learning rates from two pilot runs (seed 0): GA at lr
1e-3 reached the stop in 2–3 steps but took unrelated QA to 0.44–0.63 at smoke scale, so 3e-4;
Needle at lr 0.1 needed 26–29 steps, at 0.5 (the top of the paper's Needle grid) 2–27.
QA accuracy = the fact's answer word appears in the greedy answer.

Acceptance (fixed before the first full run, from the paper's qualitative claim):
over gated concepts, median cos(v_before, v_after) >= 0.95 for GA and for NPO and <= 0.5 for
Needle; and under the held-out paraphrased questions Needle's mean concept QA is strictly
below GA's and NPO's. At least 3 of the concepts must pass the gate for these medians to be
read (a tiny model that does not localise concepts in single value vectors is a finding:
verdict fail with the counts). Reported, not checked: Jaccard of the top-k token sets,
unrelated QA after unlearning, QA under in-context priming (three true facts of the concept
written before the question); and, as a diagnostic of how distributed the concepts are,
concept/unrelated QA after zeroing the 4, 16 and 64 best-ranked value vectors of a concept
together (full scale).

Smoke scale (mechanism checks, 20 seeds; GA/NPO at lr 1e-3 to keep it short): trained QA
>= 0.95; GA, NPO and Needle reach concept QA <= 20 % on the selected concept (gated, else the
best-located one, labelled ungated); median cos >= 0.95 for GA/NPO; Needle's cos below GA's
and NPO's; Needle changes exactly one value vector. The absolute Needle bound (<= 0.5) is a
full-scale check: on one concept at smoke scale seed 13 of 0-19 gave 0.67 (5 steps), the
other 13 seeds run first -0.58 to 0.07. The gate count and paraphrase comparison are
full-scale checks.

Scale ``paper``: a public causal LM from a local directory (``THEORYLAB_LLM_PATH``; e.g.
GPT-2 124M, value vectors found through :data:`DOWN_PROJ_PATHS`) fine-tuned on the same fact
set, then the same pipeline with k = 200; ``--dry-run`` saves a tiny GPT-2 checkpoint to a
temporary directory when no path is set, loads it back through the same path and takes one
step of training and of each unlearning method.
"""

import os

import numpy as np

from theorylab import claims
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import color, finish, new_figure, plot_seeds, plot_theory
from theorylab.sweep import sweep

PAPER = "hong2024_concept_vectors"
CLAIM = ("GA and NPO stopped at concept QA <= 20 % leave the located concept value vector "
         "almost unchanged (median cos >= 0.95) while Needle moves it (median cos <= 0.5) and "
         "leaves lower concept QA under held-out paraphrases, over concepts whose vector passes "
         "the ablation gate (>= 30-point concept drop, <= 5-point unrelated drop).")
LABEL = "stand-in"
LABEL_REASON = (
    "tiny GPT-2 on invented entities stands in for LLaMA-2-7B / OLMo-7B and the benchmark")
ENV_PATH = "THEORYLAB_LLM_PATH"

UNLEARN = dict(ga_lr=3e-4, npo_lr=3e-4, beta=0.1, needle_lr=0.5, needle_noise=0.1,
               max_steps=60, stop_at=0.2)
SIZES = {
    "smoke": dict(n_concepts=3, n_unrelated=3, attributes=4, n_layer=2, n_embd=32, n_head=2,
                  epochs=60, lr=1e-2, batch_size=16, k=10, max_concepts=1, model_path=None,
                  unlearn=dict(UNLEARN, ga_lr=1e-3, npo_lr=1e-3), multi=()),
    "full": dict(n_concepts=20, n_unrelated=10, attributes=6, n_layer=4, n_embd=128, n_head=4,
                 epochs=80, lr=3e-3, batch_size=60, k=20, max_concepts=20, model_path=None,
                 unlearn=UNLEARN, multi=(4, 16, 64)),
    # a public checkpoint (e.g. GPT-2 124M) from a local path, fine-tuned on the facts;
    # k = 200 as in the paper; the unlearning lrs of the paper's grid for 7 B models
    "paper": dict(n_concepts=20, n_unrelated=20, attributes=8, n_layer=None, n_embd=None,
                  n_head=None, epochs=30, lr=5e-5, batch_size=16, k=200, max_concepts=20,
                  model_path=None,  # filled from $THEORYLAB_LLM_PATH by run()
                  unlearn=dict(UNLEARN, ga_lr=2e-5, npo_lr=2e-5, needle_lr=0.1,
                               max_steps=100), multi=()),
}
GATE = dict(min_drop=0.30, max_unrelated_drop=0.05)
METHODS = ("ga", "npo", "needle")
MIN_GATED = 3
FALLBACK = 5  # ungated concepts the methods still run on (reported only) when none passes


def _facts(n_concepts, n_unrelated, attributes, seed):
    from theorylab.unlearning.llm.facts import make_facts

    # one entity per group; each (group, attribute) has its own two-word pool, so every
    # concept's answers are words no other entity uses
    return make_facts(n_concepts + n_unrelated, 1, attributes, n_perturbed=1,
                      group_vocabulary=True, values_per_attribute=2, seed=seed)


def _accuracy(model, tok, questions, values):
    """Fraction of questions whose greedy answer contains the fact's answer word."""
    from theorylab.unlearning.llm.model import greedy_answers

    out = greedy_answers(model, tok, questions)
    return float(np.mean([v in a.split() for a, v in zip(out, values, strict=True)]))


def _priming_questions(facts):
    """Each question preceded by the answers of three other facts of the same concept."""
    out = []
    for i, f in enumerate(facts):
        ctx = [facts[(i + j) % len(facts)].answer for j in (1, 2, 3)]
        out.append(" ".join(ctx) + " " + f.question)
    return out


def _ranked_vectors(model, vocab, k):
    """All (layer, dim) value vectors ranked as locate_concept_vectors ranks them (overlap
    of the top-k tokens with ``vocab``, then rank-weighted overlap), best first."""
    import torch

    from theorylab.unlearning.llm import concept_vectors as cv

    E = cv.unembedding(model)
    weight = torch.arange(k, 0, -1, dtype=torch.float64)
    keys, ids = [], []
    for layer in range(model.config.num_hidden_layers):
        top = cv.topk_tokens(cv.value_vectors(model, layer), E, k)
        member = torch.isin(top, torch.tensor(vocab))
        keys.append(member.sum(1).double() * k * (k + 1) + (member.double() * weight).sum(1))
        ids += [(layer, j) for j in range(top.shape[0])]
    order = torch.argsort(torch.cat(keys), descending=True, stable=True)
    return [ids[i] for i in order.tolist()]


def _adam_until(model, loss_fn, lr, max_steps, stop):
    import torch

    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    steps = 0
    reached = bool(stop(model))  # the rule is evaluated once per model state
    while not reached and steps < max_steps:
        model.train()
        opt.zero_grad(set_to_none=True)
        loss_fn(model).backward()
        opt.step()
        model.eval()
        steps += 1
        reached = bool(stop(model))
    return steps, reached


def _npo_loss(forget, ref_logp, beta):
    """NPO (Zhang et al. 2024): (2/β) mean softplus(β (log π_θ(y|x) − log π_ref(y|x))), the
    toolkit's :func:`~theorylab.unlearning.llm.losses.npo_loss` on summed answer
    log-likelihoods."""
    from theorylab.unlearning.llm.losses import npo_loss
    from theorylab.unlearning.llm.model import sequence_logprob

    def loss(model):
        return npo_loss(sequence_logprob(model, forget, reduction="sum"), ref_logp, beta)

    return loss


def _trial(n_concepts, n_unrelated, attributes, n_layer, n_embd, n_head, epochs, lr,
           batch_size, k, max_concepts, model_path, unlearn, device, seed, multi=(),
           dry=False):
    import contextlib
    import copy
    import time

    import torch

    from theorylab.unlearning.llm import concept_vectors as cv
    from theorylab.unlearning.llm.model import (
        build_tokenizer,
        encode_qa,
        load_lm,
        qa_loss,
        sequence_logprob,
        tiny_gpt2,
        train_lm,
    )

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    fs = _facts(n_concepts, n_unrelated, attributes, seed)
    by_group = [fs.subset(fs.indices(g)) for g in range(fs.n_groups)]
    concept_facts = by_group[:n_concepts]
    unrelated = [f for g in by_group[n_concepts:] for f in g]
    gen = lambda j: torch.Generator().manual_seed(1000 * seed + j)
    out = {}
    if model_path is not None:  # a local checkpoint (paper scale)
        model, tok = load_lm(model_path, device=device)
        if tok.pad_token is None:  # GPT-2-style tokenizers ship without one
            tok.pad_token = tok.eos_token
    else:
        tok = build_tokenizer(fs.texts())
        model = tiny_gpt2(tok, n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_positions=64,
                          seed=seed, device=device)
    out["n_params"] = sum(p.numel() for p in model.parameters())
    facts = [f for g in by_group for f in g]
    if dry:
        facts = facts[:4]
    train = encode_qa(tok, [f.question for f in facts] + [f.paraphrased_question for f in facts],
                      [f.answer for f in facts] * 2, model=model, device=device)
    model = train_lm(model, train, epochs=1 if dry else epochs, lr=lr, batch_size=batch_size,
                     generator=gen(1))
    out["train_s"] = time.perf_counter() - t0
    dev = next(model.parameters()).device

    def acc(m, qs):
        return _accuracy(m, tok, [q for q, _ in qs], [v for _, v in qs])

    main = lambda fl: [(f.question, f.value) for f in fl]
    para = lambda fl: [(f.paraphrased_question, f.value) for f in fl]
    prime = lambda fl: list(zip(_priming_questions(fl), [f.value for f in fl], strict=True))
    if dry:
        unrelated, concept_facts = unrelated[:2], [c[:4] for c in concept_facts[:1]]
    out["train_acc"] = acc(model, main(facts) + para(facts))
    base_unrel = acc(model, main(unrelated))
    out["unrelated_acc"] = base_unrel

    # locate: the answer words of each concept, as token ids
    vocab = [sorted({t for f in fl for t in tok.encode(f" {f.value}", add_special_tokens=False)})
             for fl in concept_facts]
    found = cv.locate_concept_vectors(model, vocab, k=k)
    E = cv.unembedding(model)
    out["overlap"] = np.array([c.overlap for c in found], dtype=float)
    out["layer"] = np.array([c.layer for c in found], dtype=float)

    # the localisation gate
    rows = {key: [] for key in ("acc_base", "acc_zero", "acc_noise", "unrel_zero", "unrel_noise",
                                "pass", "pass_zero", "pass_noise")}
    for c, (cvec, fl) in enumerate(zip(found, concept_facts, strict=True)):
        b = acc(model, main(fl))
        rows["acc_base"].append(b)
        ok = False
        for mode in ("zero", "noise"):
            with cv.ablate_value_vector(model, cvec.layer, cvec.dim, mode=mode, noise_std=0.1,
                                        generator=gen(100 + c)):
                a, ua = acc(model, main(fl)), acc(model, main(unrelated))
            rows[f"acc_{mode}"].append(a)
            rows[f"unrel_{mode}"].append(ua)
            g = cv.localisation_gate(b, a, base_unrel, ua, **GATE)
            rows[f"pass_{mode}"].append(g)
            ok |= g
        rows["pass"].append(ok)
    out.update({f"gate_{key}": np.array(v, dtype=float) for key, v in rows.items()})
    # diagnostic (reported only): zero the N best-ranked value vectors of a concept at once
    ranked = [_ranked_vectors(model, vocab[c], k) for c in range(len(found))] if multi else []
    for n_ab in multi:
        ca, un = [], []
        for c, fl in enumerate(concept_facts):
            with contextlib.ExitStack() as stack:
                for layer, j in ranked[c][:n_ab]:
                    stack.enter_context(cv.ablate_value_vector(model, layer, j))
                ca.append(acc(model, main(fl)))
                un.append(acc(model, main(unrelated)))
        out[f"multi{n_ab}_acc"] = np.array(ca)
        out[f"multi{n_ab}_unrel"] = np.array(un)
    gated = [c for c in range(len(found)) if rows["pass"][c]]
    # methods on the gated concepts; with none gated, on the best-located ones (reported
    # as ungated, never counted for the acceptance)
    if gated:
        chosen = gated[:max_concepts]
    else:
        chosen = sorted(range(len(found)), key=lambda c: -found[c].overlap)[:min(max_concepts,
                                                                                  FALLBACK)]
    out["n_gated"] = len(gated)
    out["chosen"] = np.array(chosen, dtype=float)
    out["chosen_gated"] = bool(gated)
    u = unlearn
    res = {m: {key: [] for key in ("cos", "jaccard", "qa", "para", "prime", "unrel", "steps",
                                   "reached", "rows_changed")} for m in METHODS}
    base_para, base_prime = [], []
    for c in chosen:
        cvec, fl = found[c], concept_facts[c]
        base_para.append(acc(model, para(fl)))
        base_prime.append(acc(model, prime(fl)))
        forget = encode_qa(tok, [f.question for f in fl], [f.answer for f in fl], model=model,
                           device=dev)
        with torch.no_grad():
            ref_logp = sequence_logprob(model, forget, reduction="sum").detach()
        last = {}  # the concept QA of the model the stopping rule saw last

        def stop(m, fl=fl, last=last):
            last["qa"] = acc(m, main(fl))
            return last["qa"] <= u["stop_at"]

        ga_loss = lambda m, forget=forget: -qa_loss(m, forget)
        v0 = cv.value_site(model, cvec.layer).vector(cvec.dim)
        V0 = cv.value_vectors(model, cvec.layer)
        for m_name in METHODS:
            m = copy.deepcopy(model)
            if m_name == "ga":
                steps, reached = _adam_until(m, ga_loss, u["ga_lr"], 1 if dry else
                                             u["max_steps"], stop)
            elif m_name == "npo":
                steps, reached = _adam_until(m, _npo_loss(forget, ref_logp, u["beta"]),
                                             u["npo_lr"], 1 if dry else u["max_steps"], stop)
            else:
                r = cv.needle(m, ga_loss, cvec.layer, cvec.dim, lr=u["needle_lr"],
                              max_steps=1 if dry else u["max_steps"], stop=stop,
                              noise_std=u["needle_noise"], generator=gen(200 + c))
                steps, reached = r.steps, bool(stop(m))
            changed = (cv.value_vectors(m, cvec.layer) != V0).any(dim=1)
            v1 = cv.value_site(m, cvec.layer).vector(cvec.dim)
            s = cv.intrinsic_scores(v0, v1, E, k=k)
            rr = res[m_name]
            rr["cos"].append(s["cos"])
            rr["jaccard"].append(s["jaccard"])
            rr["qa"].append(last["qa"])  # the rule's last call saw this final model
            rr["para"].append(acc(m, para(fl)))
            rr["prime"].append(acc(m, prime(fl)))
            rr["unrel"].append(acc(m, main(unrelated)))
            rr["steps"].append(steps)
            rr["reached"].append(reached)
            rr["rows_changed"].append(int(changed.sum()))
    for m_name, rr in res.items():
        for key, v in rr.items():
            out[f"{m_name}_{key}"] = np.array(v, dtype=float)
    out["base_para"] = np.array(base_para, dtype=float)
    out["base_prime"] = np.array(base_prime, dtype=float)
    out["total_s"] = time.perf_counter() - t0
    return out


def _checkpoint_path() -> str:
    path = os.environ.get(ENV_PATH, "")
    if not path:
        raise ValueError(f"{ENV_PATH} must name a local causal-LM directory (config.json + "
                         "tokenizer, e.g. GPT-2 saved with save_pretrained) for the paper "
                         "scale, got nothing")
    return path


def _paper_dry_run(cfg, seed) -> ClaimResult:
    """``--scale paper --dry-run``: the checkpoint at ``$THEORYLAB_LLM_PATH`` (else a tiny
    GPT-2 saved to a temporary directory and loaded back the same way), the paper-scale
    fact set, one training step on 4 facts, the locate/gate pass on one concept and one
    step of GA, NPO and Needle."""
    import tempfile

    res = ClaimResult(claim="hong2024_concept_vectors_intrinsic", paper=PAPER, statement=CLAIM,
                      scale="paper", seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.environ.get(ENV_PATH, "")
        if not path:
            from theorylab.unlearning.llm.model import build_tokenizer, save_lm, tiny_gpt2

            fs = _facts(cfg["n_concepts"], cfg["n_unrelated"], cfg["attributes"], seed)
            tk = build_tokenizer(fs.texts())
            save_lm(tiny_gpt2(tk, n_layer=2, n_embd=32, n_head=2, seed=seed), tk, tmp)
            path = tmp
        o = _trial(**dict(cfg, model_path=path), device=claims.device(), seed=seed, dry=True)
    res.add(Check.true(f"paper config built: checkpoint loaded from "
                       f"{'$' + ENV_PATH if os.environ.get(ENV_PATH) else 'a saved tiny GPT-2'}"
                       f", {o['n_params']} parameters, k = {cfg['k']}",
                       o["n_params"] > 0, measured=int(o["n_params"])))
    res.add(Check.true("one step of training, GA, NPO and Needle: finite intrinsic scores",
                       all(np.isfinite(o[f"{m}_cos"]).all() and o[f"{m}_cos"].size
                           for m in METHODS),
                       detail=", ".join(f"{m} cos {o[f'{m}_cos'][0]:.3f}" for m in METHODS)))
    return res


def _jac(o, m, k):
    return f"median Jaccard@{k} {np.median(o[f'{m}_jaccard']):.2f}"


def run(scale="smoke", seed=0) -> ClaimResult:
    cfg = SIZES[scale]
    if scale == "paper" and claims.dry_run():
        return _paper_dry_run(cfg, seed)
    res = ClaimResult(claim="hong2024_concept_vectors_intrinsic", paper=PAPER, statement=CLAIM,
                      scale=scale, seed=seed)
    point = dict(cfg, device=claims.device())
    if scale == "paper":
        point["model_path"] = _checkpoint_path()
    sw = sweep(_trial, [point], seeds=[seed], backend="serial", desc="concept vectors")
    o = sw.values[0][0]
    n_c = cfg["n_concepts"]
    gated = bool(o["chosen_gated"])
    tag = "gated" if gated else "UNGATED (best-located)"
    med = {m: float(np.median(o[f"{m}_cos"])) for m in METHODS}
    n_zero, n_noise = int(o["gate_pass_zero"].sum()), int(o["gate_pass_noise"].sum())
    gate_detail = (f"{o['n_gated']} of {n_c} concepts pass (zeroing {n_zero}, noise {n_noise}); "
                   f"mean concept QA {np.mean(o['gate_acc_base']):.2f} -> zero "
                   f"{np.mean(o['gate_acc_zero']):.2f} / noise {np.mean(o['gate_acc_noise']):.2f}; "
                   f"unrelated {o['unrelated_acc']:.2f} -> {np.mean(o['gate_unrel_zero']):.2f}"
                   f" / {np.mean(o['gate_unrel_noise']):.2f}; overlaps "
                   f"{o['overlap'].astype(int).tolist()}")
    for n_ab in cfg.get("multi", ()):
        ca, un = o[f"multi{n_ab}_acc"], o[f"multi{n_ab}_unrel"]
        n_pass = int(np.sum((o["gate_acc_base"] - ca >= GATE["min_drop"] - 1e-12)
                            & (o["unrelated_acc"] - un <= GATE["max_unrelated_drop"] + 1e-12)))
        gate_detail += (f"; zeroing the {n_ab} best-ranked vectors together: concept QA "
                        f"{np.mean(ca):.2f}, unrelated {np.mean(un):.2f}, {n_pass} pass")
    res.add(Check.at_least("trained QA accuracy (main + paraphrased questions)",
                           o["train_acc"], 0.95))
    for m in ("ga", "npo"):
        res.add(Check.at_least(f"{m.upper()}: concepts reaching concept QA <= 20 % ({tag})",
                               float(np.mean(o[f"{m}_reached"])), 1.0,
                               detail=f"steps {o[f'{m}_steps'].astype(int).tolist()}"))
    for m in ("ga", "npo"):
        res.add(Check.at_least(f"{m.upper()}: median cos(v_before, v_after) over {tag} concepts",
                               med[m], 0.95,
                               detail=f"median Jaccard@{cfg['k']} "
                                      f"{np.median(o[f'{m}_jaccard']):.2f}"))
    needle_cos = (Check.at_most(f"Needle: median cos(v_before, v_after) over {tag} concepts",
                                med["needle"], 0.5, detail=_jac(o, "needle", cfg["k"]))
                  if scale != "smoke" else
                  Check.at_most(f"Needle: median cos(v_before, v_after) below GA's and NPO's "
                                f"({tag} concepts; smoke)", med["needle"],
                                min(med["ga"], med["npo"]), tolerance=-1e-9,
                                detail=_jac(o, "needle", cfg["k"])))
    res.add(needle_cos)
    res.add(Check.true("Needle reached concept QA <= 20 %", bool(o["needle_reached"].all()),
                       measured=f"{int(o['needle_reached'].sum())} of {o['needle_reached'].size}",
                       detail=f"steps {o['needle_steps'].astype(int).tolist()}"))
    res.add(Check.true("Needle changes exactly one value vector (row of c_proj)",
                       bool(np.all(o["needle_rows_changed"] == 1)),
                       measured=o["needle_rows_changed"].astype(int).tolist()))
    if scale != "smoke":
        res.add(Check.at_least(f"concepts passing the localisation gate (of {n_c})",
                               o["n_gated"], MIN_GATED, detail=gate_detail))
        pm = {m: float(np.mean(o[f"{m}_para"])) for m in METHODS}
        res.add(Check.true(f"paraphrase QA: Needle < GA and < NPO ({tag})",
                           gated and pm["needle"] < min(pm["ga"], pm["npo"]),
                           measured=f"needle {pm['needle']:.3f}, ga {pm['ga']:.3f}, "
                                    f"npo {pm['npo']:.3f}",
                           detail=f"before unlearning {np.mean(o['base_para']):.3f}"))
    res.data.update({k: v for k, v in o.items()})
    res.data["config"] = dict(cfg)
    res.data["gate_summary"] = gate_detail

    fig, axes = new_figure(2, title="Concept vectors: intrinsic vs behavioural unlearning")
    x = np.arange(len(METHODS), dtype=float)
    xl = " / ".join(f"{i} = {m}" for i, m in enumerate(METHODS))
    plot_seeds(axes[0], x, np.stack([o[f"{m}_cos"] for m in METHODS]), color=color(0),
               label="cos(v_before, v_after)")
    plot_seeds(axes[0], x + 0.05, np.stack([o[f"{m}_jaccard"] for m in METHODS]),
               color=color(1), label=f"Jaccard of top-{cfg['k']} tokens")
    plot_theory(axes[0], x, np.array([0.95, 0.95, 0.5]), label="acceptance bound",
                color=color(2))
    finish(axes[0], xlabel=xl, ylabel="score (mean ± s.e. over concepts)",
           title=f"intrinsic ({tag} concepts)")
    for j, (key, lab) in enumerate((("qa", "concept QA"), ("para", "paraphrased QA"),
                                    ("prime", "primed QA"), ("unrel", "unrelated QA"))):
        plot_seeds(axes[1], x + 0.05 * j, np.stack([o[f"{m}_{key}"] for m in METHODS]),
                   color=color(j), label=lab)
    plot_theory(axes[1], x, np.full(x.size, 0.2), label="stop rule (concept QA 0.2)",
                color=color(5))
    finish(axes[1], xlabel=xl, ylabel="QA accuracy", title="behaviour after unlearning")
    res.figure = fig
    res.caveats.append(
        "tiny GPT-2 trained from scratch on invented entities stands in for LLaMA-2-7B-chat / "
        "OLMo-7B; GA and NPO are stopped by concept QA, not run for fixed epochs; Needle's step "
        "count and noise rule are unconfirmed (we stop at concept QA <= 20 % and add noise of "
        "std 0.1 x norm).")
    if not gated:
        res.caveats.append(f"no concept passed the localisation gate: {gate_detail}; the "
                           "method comparison ran on the best-located, ungated vectors.")
    return res


if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
