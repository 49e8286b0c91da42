"""Batched TOFU evaluation versus a per-question loop (same numbers, one model call per
sequence and one greedy decoding per question).

``evaluate_tofu`` sends every likelihood of every set through padded batches and decodes all
questions with the same prompt length together; the peer computes the same nine utility
components, forget truth ratio and forget quality one question at a time with the same public
functions. Prints wall and CPU seconds of both, their ratio, and the largest difference
between the two sets of numbers (it should be at float32 round-off, ~1e-6).
Run: ``python benchmarks/bench_llm_eval.py [--authors 20] [--attributes 4] [--epochs 60]
[--device cpu] [--repeats 2]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from theorylab.unlearning.llm import (
    UTILITY_COMPONENTS,
    answer_nll,
    build_tokenizer,
    encode_qa,
    evaluate_tofu,
    forget_quality,
    forget_truth_ratio,
    greedy_answers,
    model_utility,
    rouge_l_recall,
    tiny_gpt2,
    tofu_splits,
    train_lm,
    truth_score,
)
from theorylab.unlearning.llm.facts import TEMPLATES


def _time(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0, time.process_time() - c0


def per_question(model, tok, splits, retain_stat) -> dict[str, float]:
    """The peer: every number of ``evaluate_tofu`` from one model call per sequence."""

    def nll(q, y):
        return float(answer_nll(model, tok, [q], [y])[0])

    out: dict[str, float] = {}
    stats = {}
    for name in ("forget", "retain", "real_authors", "world_facts"):
        facts = splits.subset(name)
        prob, rouge, s = [], [], []
        for f in facts:
            # the default template ("trained"): the true and the wrong values in the
            # trained answer template
            l_ans = l_true = nll(f.question, f.answer)
            form = TEMPLATES[f.attribute][1]
            l_wrong = np.array([nll(f.question, form.format(e=f.entity, v=v))
                                for v in f.perturbed_values])
            s.append(np.exp(np.mean(l_wrong) - l_true))
            if name in ("retain", "forget"):
                prob.append(np.exp(-l_ans))
            else:
                p_true = np.exp(-l_true)
                prob.append(p_true / (p_true + np.exp(-l_wrong).sum()))
            pred = greedy_answers(model, tok, [f.question])[0]
            rouge.append(rouge_l_recall(pred, f.answer))
        stats[name] = np.array(s)
        out[f"{name}_probability"] = float(np.mean(prob))
        out[f"{name}_rouge_l"] = float(np.mean(rouge))
        out[f"{name}_truth_score"] = truth_score(s)
    out["model_utility"] = model_utility([out[k] for k in UTILITY_COMPONENTS])
    out["forget_truth_ratio"] = forget_truth_ratio(stats["forget"])
    out["forget_quality"] = forget_quality(stats["forget"], retain_stat)
    return out


def batched(model, tok, splits, retain_stat) -> dict[str, float]:
    res = evaluate_tofu(model, tok, splits, retain_stat)
    out = dict(res.components)
    out.update(model_utility=res.model_utility, forget_truth_ratio=res.forget_truth_ratio,
               forget_quality=res.forget_quality, forget_probability=res.forget_probability,
               forget_rouge_l=res.forget_rouge_l)
    return out


def main(argv=None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--authors", type=int, default=20)
    ap.add_argument("--attributes", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    splits = tofu_splits(args.authors, args.attributes, forget_fraction=0.1, seed=0)
    tok = build_tokenizer(splits.facts.texts())

    def trained(idx, seed):
        facts = splits.facts.subset(idx)
        m = tiny_gpt2(tok, n_layer=2, n_embd=64, n_head=4, n_positions=32, seed=seed,
                      device=args.device)
        b = encode_qa(tok, [f.question for f in facts], [f.answer for f in facts], model=m,
                      device=args.device)
        return train_lm(m, b, epochs=args.epochs, batch_size=16,
                        generator=torch.Generator().manual_seed(seed))

    full = trained(splits.train, 0)
    retain = trained(splits.retain_train, 1)
    ref = evaluate_tofu(retain, tok, splits).forget_stat
    n_seq = sum(len(f.perturbed_answers) + 1 for f in splits.subset("train"))
    print(f"{len(splits.facts)} facts, {n_seq} scored sequences, "
          f"{len(splits.facts)} greedy answers")
    batched(full, tok, splits, ref)  # warm-up
    best = {}
    for _ in range(args.repeats):
        for name, fn in (("batched", batched), ("loop", per_question)):
            out, wall, cpu = _time(lambda fn=fn: fn(full, tok, splits, ref))
            prev = best.get(name)
            if prev is None or wall < prev[1]:
                best[name] = (out, wall, cpu)
    (b_out, b_wall, b_cpu), (l_out, l_wall, l_cpu) = best["batched"], best["loop"]
    diff = max(abs(b_out[k] - l_out[k]) for k in l_out if k in b_out)
    print(f"batched evaluate_tofu: {b_wall:.3f} s wall, {b_cpu:.3f} s CPU")
    print(f"per-question loop:     {l_wall:.3f} s wall, {l_cpu:.3f} s CPU")
    print(f"ratio loop / batched:  {l_wall / b_wall:.1f}x wall, {l_cpu / b_cpu:.1f}x CPU")
    print(f"largest difference between the two sets of numbers: {diff:.2e}")
    print(f"forget quality {b_out['forget_quality']:.4g}, model utility "
          f"{b_out['model_utility']:.4g}")
    return {"batched_s": b_wall, "loop_s": l_wall, "ratio": l_wall / b_wall, "max_diff": diff}


if __name__ == "__main__":
    main()
