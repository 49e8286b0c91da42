"""Speed-ups of the language-model unlearning claims, each against its old form in the same run.

1. ``wu2025_mrp_relearning``: greedy exact match by teacher forcing with the output layer on
   the labelled positions only, in inference mode (``_exact``), against the full-logits
   form (``_reference_exact``) on the full-scale fact set (4 topics x 20 entities x 3
   attributes = 240 sequences) with a model trained for a few epochs.
2. ``zhang2024_npo_tiny_tofu``: one TOFU evaluation whose greedy forget answers are reused
   for the gibberish rate, against the old evaluation followed by a second greedy decoding
   of the forget questions (full scale: 20 authors x 5 attributes, 50 % forgotten).
3. All four claims: greedy decoding that feeds only the new token with cached keys and
   values (``greedy_answers``) against full recomputation at every step
   (``reference.greedy_answers_recompute``), on the tiny-TOFU questions (the same trained model)
   and on 6 questions (the size of one concept's stopping-rule check in hong2024).
CPU seconds (``time.process_time``, one thread), best of ``--repeats``; the results of both
forms are compared (they must be equal).
Run: ``python benchmarks/bench_llm_claims_speed.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from theorylab.claims import load_claim
from theorylab.unlearning.llm import build_tokenizer, encode_qa, make_facts, tiny_gpt2, train_lm
from theorylab.unlearning.llm.metrics import evaluate_tofu, tofu_splits
from theorylab.unlearning.llm.model import greedy_answers
from theorylab.unlearning.llm.reference import greedy_answers_recompute


def _best(fn, repeats):
    best, out = np.inf, None
    for _ in range(repeats):
        c0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - c0)
    return out, best


def bench_exact(repeats):
    wu = load_claim("wu2025_mrp_relearning")
    fs0 = make_facts(4, 20, 3, group_vocabulary=True, seed=0)
    fs = fs0.subset(list(range(len(fs0))))
    tok = build_tokenizer(fs0.texts())
    model = tiny_gpt2(tok, n_layer=2, n_embd=64, n_head=4, seed=0)
    b = encode_qa(tok, [x.question for x in fs], [x.answer for x in fs], model=model)
    train_lm(model, b, epochs=8, lr=3e-3, batch_size=16,
             generator=torch.Generator().manual_seed(0))
    old, t_old = _best(lambda: [wu._reference_exact(model, b) for _ in range(10)], repeats)
    new, t_new = _best(lambda: [wu._exact(model, b) for _ in range(10)], repeats)
    same = all(np.array_equal(a, c) for a, c in zip(old, new, strict=True))
    print(f"wu exact match, 10 x 240 sequences: old {t_old:.3f} s, new {t_new:.3f} s, "
          f"ratio {t_old / t_new:.2f}x, equal {same}, accuracy {old[0].mean():.2f}")


def bench_tofu(repeats):
    tofu = load_claim("zhang2024_npo_tiny_tofu")
    sp = tofu_splits(20, 5, forget_fraction=0.5, n_real_authors=4, n_world_facts=4, seed=0)
    tok = tofu._tokenizer(sp, tofu.MODEL)
    model = tiny_gpt2(tok, seed=0, **tofu.MODEL)
    f = sp.facts.subset(sp.train)
    b = encode_qa(tok, [x.question for x in f], [x.answer for x in f], model=model)
    train_lm(model, b, epochs=10, lr=3e-3, batch_size=16,
             generator=torch.Generator().manual_seed(0))
    forget = sp.subset("forget")

    def old():
        e = evaluate_tofu(model, tok, sp)
        preds = greedy_answers(model, tok, [x.question for x in forget])
        return e, tofu._gibberish(preds, forget)

    def new():
        e = evaluate_tofu(model, tok, sp)
        return e, tofu._gibberish(e.forget_answers, forget)

    (e0, g0), t_old = _best(old, repeats)
    (e1, g1), t_new = _best(new, repeats)
    d0, d1 = e0.to_dict(), e1.to_dict()
    same = g0 == g1 and all(np.array_equal(d0[k], d1[k], equal_nan=True) for k in d0
                            if k not in ("components", "template"))
    qs = [x.question for x in sp.facts.subset(sp.train)]
    for q in (qs, qs[:6]):
        a0, s0 = _best(lambda q=q: greedy_answers_recompute(model, tok, q), repeats)
        a1, s1 = _best(lambda q=q: greedy_answers(model, tok, q), repeats)
        print(f"greedy decoding of {len(q)} questions: old {s0:.3f} s, new {s1:.3f} s, "
              f"ratio {s0 / s1:.2f}x, equal {a0 == a1}")
    print(f"tiny TOFU evaluation + gibberish: old {t_old:.3f} s, new {t_new:.3f} s, "
          f"ratio {t_old / t_new:.2f}x, equal {same} (gibberish {g0:.2f})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    bench_exact(args.repeats)
    bench_tofu(args.repeats)


if __name__ == "__main__":
    main()
