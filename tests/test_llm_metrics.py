"""TOFU metrics (theorylab.unlearning.llm.metrics) and the relearning attack (relearn): closed
forms and hand-worked examples, batched == per-question twins, a trained tiny model, bad
inputs."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from theorylab.unlearning.llm import (  # noqa: E402
    UTILITY_COMPONENTS,
    RelearnCurve,
    TofuSplits,
    answer_nll,
    answer_probability,
    build_tokenizer,
    encode_qa,
    evaluate_tofu,
    forget_quality,
    forget_truth_ratio,
    greedy_answers,
    is_well_formed,
    lcs_length,
    model_utility,
    qa_accuracy,
    qa_loss,
    relearn_attack,
    rouge_l_recall,
    score_answers,
    split_for_relearning,
    steps_to_recover,
    tiny_gpt2,
    tofu_splits,
    train_lm,
    truth_ratio_statistic,
    truth_score,
)

SPLIT_KW = dict(n_authors=8, attributes=3, forget_fraction=0.25, n_real_authors=2,
                n_world_facts=2)
MODEL_KW = dict(n_layer=2, n_embd=32, n_head=4, n_positions=32)


def _train(splits, tok, idx, seed):
    facts = splits.facts.subset(idx)
    model = tiny_gpt2(tok, seed=seed, **MODEL_KW)
    batch = encode_qa(tok, [f.question for f in facts], [f.answer for f in facts], model=model)
    # full-batch Adam: the fewest optimiser steps to 100 % greedy accuracy (tests stay fast)
    return train_lm(model, batch, epochs=100, lr=1e-2, batch_size=len(facts),
                    generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def tofu():
    """TOFU stand-in: 8 fictitious authors (2 forgotten) + 2 + 2 held-out authors, 3 facts
    each; the full model trains on all 36 facts, the retain-only model on the other 30."""
    torch.set_num_threads(1)
    splits = tofu_splits(**SPLIT_KW, seed=0)
    tok = build_tokenizer(splits.facts.texts())
    full = _train(splits, tok, splits.train, seed=0)
    retain = _train(splits, tok, splits.retain_train, seed=1)
    return splits, tok, full, retain


# ---------------------------------------------------------------- forget quality (KS)

def _ks_exact_by_enumeration(x, y):
    """Two-sided exact KS p-value by brute force: every way of choosing which n of the
    n + m pooled (tie-free) values belong to the first sample is equally likely under H0;
    p = the fraction of them whose D is >= the observed D."""
    x, y = np.sort(x), np.sort(y)
    n, m = len(x), len(y)
    pooled = np.sort(np.concatenate([x, y]))

    def dist(first):
        fx = np.cumsum(first) / n
        fy = np.cumsum(~first) / m
        return np.max(np.abs(fx - fy))

    observed = dist(np.isin(pooled, x))
    hits = total = 0
    for pick in itertools.combinations(range(n + m), n):
        first = np.zeros(n + m, dtype=bool)
        first[list(pick)] = True
        hits += dist(first) >= observed - 1e-12
        total += 1
    return hits / total


@pytest.mark.parametrize("n", [2, 3, 4, 6])
def test_forget_quality_closed_form_for_separated_samples(n):
    # D = 1 and, of the C(2n, n) equally likely orderings, exactly two (all of one sample
    # below all of the other, either way round) reach it: p = 2 / C(2n, n)
    x = np.arange(1.0, n + 1)
    assert forget_quality(x, x + 100.0) == pytest.approx(2 / math.comb(2 * n, n), rel=1e-12)
    assert forget_quality(x + 100.0, x) == pytest.approx(2 / math.comb(2 * n, n), rel=1e-12)


def test_forget_quality_matches_exact_enumeration():
    rng = np.random.default_rng(3)
    for n, m in [(4, 5), (5, 5), (3, 7)]:
        x = rng.lognormal(0.0, 1.0, n)
        y = rng.lognormal(0.7, 1.0, m)
        assert forget_quality(x, y) == pytest.approx(_ks_exact_by_enumeration(x, y), rel=1e-9)


def test_forget_quality_of_a_sample_against_itself_is_one():
    s = np.random.default_rng(0).lognormal(size=25)
    assert forget_quality(s, s) == 1.0


@pytest.mark.parametrize("bad, name, exc", [
    ([], "stat_unlearned", ValueError),
    ([1.0, np.nan], "stat_unlearned", ValueError),
    ([1.0, -2.0], "stat_unlearned", ValueError),
    ([1 + 1j], "stat_unlearned", TypeError),
])
def test_forget_quality_bad_inputs(bad, name, exc):
    with pytest.raises(exc, match=name):
        forget_quality(bad, [1.0, 2.0])


def test_truth_ratios_by_hand():
    s = np.array([2.0, 0.5, 4.0, 1.0])
    assert forget_truth_ratio(s) == pytest.approx((0.5 + 0.5 + 0.25 + 1.0) / 4)
    assert truth_score(s) == pytest.approx((0.5 + 0.0 + 0.75 + 0.0) / 4)
    with pytest.raises(ValueError, match="s must be > 0"):
        truth_score([0.0, 1.0])


# ------------------------------------------------------------------------- utility

def test_model_utility_is_the_harmonic_mean():
    assert model_utility([1.0, 0.5, 0.25]) == pytest.approx(3 / 7)
    assert model_utility([0.4] * 9) == pytest.approx(0.4)
    from scipy.stats import hmean

    x = np.random.default_rng(1).uniform(0.05, 1.0, 9)
    assert model_utility(dict(zip(UTILITY_COMPONENTS, x, strict=True))) == pytest.approx(hmean(x),
                                                                                rel=1e-12)
    # never above the arithmetic mean, equal only for equal components
    assert model_utility(x) < np.mean(x)


def test_model_utility_is_zero_when_one_component_is_zero():
    x = [0.9] * 8 + [0.0]
    assert model_utility(x) == 0.0
    assert model_utility({"a": 1.0, "b": 0.0}) == 0.0


@pytest.mark.parametrize("bad, exc, match", [
    ([], ValueError, "components must have at least 1 entry"),
    ([0.5, -0.1], ValueError, "components must be >= 0"),
    ([0.5, np.inf], ValueError, "components must be finite"),
])
def test_model_utility_bad_inputs(bad, exc, match):
    with pytest.raises(exc, match=match):
        model_utility(bad)


# ------------------------------------------------------------------------- ROUGE-L

def test_rouge_l_recall_worked_example():
    ref = "the cat sat on the mat ."
    # LCS of (the cat lay on a mat) and (the cat sat on the mat) is "the cat on mat": 4 of
    # the reference's 6 words ("." is not a word)
    assert rouge_l_recall("the cat lay on a mat .", ref) == pytest.approx(4 / 6)
    assert rouge_l_recall(ref, ref) == 1.0
    assert rouge_l_recall("", ref) == 0.0
    assert rouge_l_recall("mat the on cat", ref) == pytest.approx(2 / 6)  # order matters
    assert rouge_l_recall("The CAT", ref) == pytest.approx(2 / 6)  # lower-cased
    got = rouge_l_recall(["the cat", "mat"], [ref, "on the mat"])
    assert np.allclose(got, [2 / 6, 1 / 3])
    assert lcs_length(list("ABCBDAB"), list("BDCABA")) == 4  # CLRS's example
    assert lcs_length([], ["a"]) == 0


def test_rouge_l_bad_inputs():
    with pytest.raises(ValueError, match="predictions and references must have the same"):
        rouge_l_recall(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="references must have at least one word"):
        rouge_l_recall("a", ". ,")
    with pytest.raises(TypeError, match="both be strings"):
        rouge_l_recall("a", ["a"])


# ----------------------------------------------------------------- QA accuracy (text)

def test_score_answers_by_hand():
    splits = tofu_splits(**SPLIT_KW, seed=0)
    f = splits.facts.facts[0]  # a birthplace fact: "<e> was born in <v> ."
    wrong = f.perturbed_values[0]
    preds = [f.answer, f"{f.entity} was born in {wrong} .", f"{f.answer} {f.value} .",
             "born born born"]
    res = score_answers(preds, [f] * 4)
    assert (res.exact_match, res.value_match, res.gibberish_rate) == (0.25, 0.5, 0.5)
    assert res.n_facts == 4
    assert is_well_formed("  " + f.answer.replace(" ", "  "), f)  # whitespace-normalised
    # a wrong name is a hallucination, not gibberish; a repeated or cut sentence is gibberish
    assert is_well_formed(f.answer.replace(f.entity, "someone else"), f)
    assert not is_well_formed(f"{f.answer} {f.answer}", f)
    assert not is_well_formed(f.answer[:-2], f)
    with pytest.raises(ValueError, match="predictions must hold one answer per fact"):
        score_answers(preds[:2], [f] * 4)


# -------------------------------------------------------------------------- splits

def test_tofu_splits_partition_and_determinism():
    s = tofu_splits(n_authors=20, attributes=2, forget_fraction=0.1, seed=4)
    again = tofu_splits(n_authors=20, attributes=2, forget_fraction=0.1, seed=4)
    assert all(np.array_equal(getattr(s, k), getattr(again, k))
               for k in ("forget", "retain", "real_authors", "world_facts"))
    assert s.facts.facts == again.facts.facts
    parts = [s.forget, s.retain, s.real_authors, s.world_facts]
    allidx = np.concatenate(parts)
    assert len(allidx) == len(set(allidx.tolist())) == len(s.facts)  # disjoint, complete
    g = s.facts.groups
    assert len(set(g[s.forget])) == 2 and len(set(g[s.retain])) == 18  # 10 % of 20 authors
    assert set(g[s.real_authors]) == {20, 21, 22, 23} and set(g[s.world_facts]) == {24, 25,
                                                                                    26, 27}
    assert np.array_equal(s.retain_train, np.sort(np.concatenate(parts[1:])))
    assert len(s.subset("train")) == len(s.facts)
    half = tofu_splits(n_authors=20, attributes=2, forget_fraction=0.5, seed=4)
    assert len(set(g[half.forget])) == 10
    other = tofu_splits(n_authors=20, attributes=2, forget_fraction=0.5, seed=5)
    assert not np.array_equal(other.forget, half.forget)
    assert not s.forget.flags.writeable


@pytest.mark.parametrize("frac", [0.0, 1.0, 1.5, -0.2, 0.01, 0.99, float("nan")])
def test_tofu_splits_bad_fraction_is_named(frac):
    with pytest.raises(ValueError, match="forget_fraction"):
        tofu_splits(n_authors=20, attributes=2, forget_fraction=frac, seed=0)


def test_tofu_splits_bad_sizes_are_named():
    with pytest.raises(ValueError, match="n_authors"):
        tofu_splits(n_authors=1, seed=0)
    with pytest.raises(ValueError, match="n_real_authors"):
        tofu_splits(n_real_authors=0, seed=0)
    with pytest.raises(TypeError, match="seed"):
        tofu_splits(seed=1.5)


# ------------------------------------------------------------ model-based metrics

def test_batched_likelihoods_equal_a_per_question_loop(tofu):
    splits, tok, full, _ = tofu
    facts = splits.subset("forget") + splits.subset("real_authors")
    qs = [f.question for f in facts]
    ys = [f.paraphrased_answer for f in facts]
    batched = answer_nll(full, tok, qs, ys, batch_size=7)  # several padded chunks
    loop = np.array([answer_nll(full, tok, [q], [y])[0] for q, y in zip(qs, ys, strict=True)])
    assert np.allclose(batched, loop, rtol=1e-5, atol=1e-6)
    # s by its definition, one question at a time
    s = truth_ratio_statistic(full, tok, facts, template="paraphrased")
    want = [np.exp(np.mean(answer_nll(full, tok, [f.question] * 3, list(f.perturbed_answers)))
                   - answer_nll(full, tok, [f.question], [f.paraphrased_answer])[0])
            for f in facts]
    assert np.allclose(s, want, rtol=1e-5)
    s_tr = truth_ratio_statistic(full, tok, facts, template="trained")
    assert s_tr.shape == s.shape and not np.allclose(s_tr, s)


def test_trained_tiny_model_answers_and_prefers_true_answers(tofu):
    splits, tok, full, retain = tofu
    acc = qa_accuracy(full, tok, splits.facts)
    assert (acc.exact_match, acc.value_match, acc.gibberish_rate) == (1.0, 1.0, 0.0)
    assert qa_accuracy(retain, tok, splits.subset("retain_train")).exact_match == 1.0
    # the retain-only model never saw the forget facts
    assert qa_accuracy(retain, tok, splits.subset("forget")).value_match < 0.5
    # in the trained template, the model prefers the true value on facts it trained on
    assert truth_score(truth_ratio_statistic(full, tok, splits.subset("retain"),
                                             template="trained")) > 0.5


def test_evaluate_tofu_matches_the_separate_metrics(tofu):
    splits, tok, full, retain = tofu
    ref = evaluate_tofu(retain, tok, splits)
    assert math.isnan(ref.forget_quality)
    res = evaluate_tofu(full, tok, splits, ref, batch_size=16)
    c = res.components
    assert tuple(c) == UTILITY_COMPONENTS
    assert c["retain_probability"] == pytest.approx(
        answer_probability(full, tok, splits.subset("retain")), rel=1e-5)
    for k in ("real_authors", "world_facts"):
        sub = splits.subset(k)
        assert c[f"{k}_probability"] == pytest.approx(
            answer_probability(full, tok, sub, kind="normalised"), rel=1e-5)
        assert c[f"{k}_truth_score"] == pytest.approx(
            truth_score(truth_ratio_statistic(full, tok, sub)), rel=1e-5, abs=1e-6)
        preds = greedy_answers(full, tok, [f.question for f in sub])
        assert c[f"{k}_rouge_l"] == pytest.approx(
            np.mean(rouge_l_recall(preds, [f.answer for f in sub])))
    from scipy.stats import hmean, ks_2samp

    assert res.model_utility == pytest.approx(hmean(list(c.values())), rel=1e-12)
    s_f = truth_ratio_statistic(full, tok, splits.subset("forget"))
    assert np.allclose(res.forget_stat, s_f, rtol=1e-6)
    assert res.forget_quality == pytest.approx(ks_2samp(s_f, ref.forget_stat).pvalue, rel=1e-9)
    assert res.forget_truth_ratio == pytest.approx(forget_truth_ratio(s_f), rel=1e-6)
    assert res.forget_accuracy == 1.0 and res.retain_accuracy == 1.0
    # the same numbers with a plain array of retain statistics
    assert evaluate_tofu(full, tok, splits, ref.forget_stat).forget_quality == res.forget_quality
    d = res.to_dict()
    assert json.loads(json.dumps(d)) == d and set(d["components"]) == set(UTILITY_COMPONENTS)
    assert repr(res).startswith("TofuEvaluation(forget_quality=") and len(repr(res)) < 200
    assert "model_utility" in res.summary()


def test_retain_model_against_itself_has_forget_quality_one(tofu):
    splits, tok, _, retain = tofu
    ref = evaluate_tofu(retain, tok, splits)
    again = evaluate_tofu(retain, tok, splits, ref)
    assert again.forget_quality == 1.0 and again.ks_statistic == 0.0


def test_empty_forget_set_is_refused(tofu):
    splits, tok, full, _ = tofu
    empty = TofuSplits(facts=splits.facts, forget=np.zeros(0, dtype=int), retain=splits.retain,
                       real_authors=splits.real_authors, world_facts=splits.world_facts,
                       forget_fraction=0.25, seed=0)
    with pytest.raises(ValueError, match="splits.forget must hold at least one fact"):
        evaluate_tofu(full, tok, empty)
    with pytest.raises(ValueError, match="facts must hold at least one fact"):
        truth_ratio_statistic(full, tok, [])
    with pytest.raises(ValueError, match="relearn_facts must hold at least one fact"):
        relearn_attack(full, tok, [], splits.subset("forget"), steps=[0],
                       generator=torch.Generator())


def test_evaluation_bad_inputs(tofu):
    splits, tok, full, _ = tofu
    with pytest.raises(TypeError, match="splits must be a TofuSplits"):
        evaluate_tofu(full, tok, splits.facts)
    with pytest.raises(ValueError, match="template must be one of"):
        evaluate_tofu(full, tok, splits, template="other")
    with pytest.raises(ValueError, match="retain_model_stats must be finite"):
        evaluate_tofu(full, tok, splits, [1.0, np.nan])
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        answer_nll(full, tok, ["a"], ["b"], batch_size=0)
    with pytest.raises(TypeError, match="facts must hold Fact objects"):
        answer_probability(full, tok, ["where was x born ?"])
    # a context too short for the facts: the error names the context
    short = tiny_gpt2(tok, n_layer=1, n_embd=32, n_head=2, n_positions=8)
    with pytest.raises(ValueError, match=r"model's context \(n_positions=8\)"):
        truth_ratio_statistic(short, tok, splits.subset("forget"))
    # a tokenizer larger than the model's vocabulary
    small_tok = build_tokenizer(splits.subset("forget")[0].answer.split())
    small = tiny_gpt2(small_tok, n_layer=1, n_embd=32, n_head=2)
    with pytest.raises(ValueError, match="tokenizer vocabulary"):
        answer_probability(small, tok, splits.subset("forget"))


# ------------------------------------------------------------------------- relearning

def _ga_unlearn(model, tok, facts, *, lr=3e-4, max_steps=200):
    """Gradient ascent on the forget answers until none is answered exactly."""
    import copy

    m = copy.deepcopy(model)
    batch = encode_qa(tok, [f.question for f in facts], [f.answer for f in facts], model=m)
    opt = torch.optim.Adam(m.parameters(), lr=lr)
    for step in range(max_steps):
        if step % 5 == 0 and qa_accuracy(m, tok, facts).value_match == 0.0:
            return m, step
        loss = -qa_loss(m, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    raise AssertionError("gradient ascent did not erase the forget answers")


def test_relearning_attack_recovers_a_ga_unlearned_set(tofu):
    splits, tok, full, _ = tofu
    forget = splits.subset("forget")
    unlearned, n_ga = _ga_unlearn(full, tok, forget)
    assert qa_accuracy(unlearned, tok, splits.subset("retain")).exact_match == 1.0
    before = [p.detach().clone() for p in unlearned.parameters()]
    # one fact of each forgotten author is relearned, the other two are held out
    relearn, held_out = split_for_relearning(forget, 0.34, rng=0)
    assert (len(relearn), len(held_out)) == (2, 4)
    kw = dict(steps=[0, 10, 20, 40], lr=3e-4, batch_size=4)
    curve = relearn_attack(unlearned, tok, relearn, held_out,
                           generator=torch.Generator().manual_seed(0), **kw)
    assert curve.accuracy[0] == 0.0 and curve.value_accuracy[0] == 0.0
    assert curve.value_accuracy[-1] >= 0.75  # measured: 1.0 for split seeds 0-3
    # monotone-ish: the held-out answer probability climbs, the relearning loss falls
    assert curve.probability[-1] > curve.probability[0] + 0.3
    assert np.all(np.diff(curve.probability) > -0.05)
    assert curve.relearn_loss[-1] < curve.relearn_loss[0]
    k = steps_to_recover(curve, 0.75, metric="value_accuracy")
    assert 0 < k <= 40 and k in curve.steps
    # the unlearned model itself is untouched
    assert all(torch.equal(p, q) for p, q in zip(before, unlearned.parameters(), strict=True))
    assert qa_accuracy(unlearned, tok, held_out).value_match == 0.0
    # the same generator seed gives the same curve
    again = relearn_attack(unlearned, tok, relearn, held_out,
                           generator=torch.Generator().manual_seed(0), **kw)
    assert np.array_equal(again.probability, curve.probability)


class _Projected(torch.nn.Module):
    """A wrapper as a representation-projection method installs it: the inner module's
    output with one direction u removed (u a buffer, not trained)."""

    def __init__(self, inner, u):
        super().__init__()
        self.inner = inner
        self.register_buffer("u", u / u.norm())

    def forward(self, *args, **kwargs):
        out = self.inner(*args, **kwargs)
        return out - (out @ self.u)[..., None] * self.u


def test_relearn_copy_keeps_wrappers_and_trains_only_what_is_asked(tofu):
    import copy

    splits, tok, full, _ = tofu
    model = copy.deepcopy(full)
    u = torch.randn(MODEL_KW["n_embd"], generator=torch.Generator().manual_seed(0))
    model.transformer.h[1].mlp = _Projected(model.transformer.h[1].mlp, u)
    orig = {n: p.detach().clone() for n, p in model.named_parameters()}
    seen = []

    def check(k, m):
        assert m is not model and isinstance(m.transformer.h[1].mlp, _Projected)
        assert torch.equal(m.transformer.h[1].mlp.u, model.transformer.h[1].mlp.u)
        x = torch.randn(2, 3, MODEL_KW["n_embd"], generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            assert float((m.transformer.h[1].mlp(x) @ m.transformer.h[1].mlp.u).abs().max()) \
                < 1e-5
        changed = {n for n, p in m.named_parameters() if not torch.equal(p, orig[n])}
        assert all(".mlp." in n for n in changed)
        assert bool(changed) == (k > 0)
        seen.append(k)

    forget = splits.subset("forget")
    curve = relearn_attack(model, tok, forget[:3], forget[3:], steps=[3, 0, 3], lr=1e-3,
                           generator=torch.Generator().manual_seed(0),
                           trainable=lambda name: ".mlp." in name, callback=check)
    assert seen == [0, 3] and curve.steps.tolist() == [0, 3]
    assert all(torch.equal(p, orig[n]) for n, p in model.named_parameters())
    assert isinstance(curve, RelearnCurve) and curve.n_relearn == 3 and curve.n_eval == 3
    assert json.loads(json.dumps(curve.to_dict()))["steps"] == [0, 3]


def test_split_for_relearning():
    splits = tofu_splits(**SPLIT_KW, seed=0)
    facts = splits.subset("retain")  # 6 authors x 3 facts
    a, b = split_for_relearning(facts, 0.2, rng=3)
    assert (a, b) == split_for_relearning(facts, 0.2, rng=3)
    assert sorted(a + b, key=facts.index) == facts and not set(a) & set(b)
    # stratified by author: round(0.2 * 3) = 0 -> at least one relearned fact per author
    assert sorted(f.entity for f in a) == sorted({f.entity for f in facts})
    a, b = split_for_relearning(facts, 0.9, rng=3)  # ... and at least one held out
    assert sorted(f.entity for f in b) == sorted({f.entity for f in facts})
    a, b = split_for_relearning(facts, 0.2, stratify=False, rng=3)
    assert len(a) == round(0.2 * len(facts)) and sorted(a + b, key=facts.index) == facts
    with pytest.raises(ValueError, match="fraction must be"):
        split_for_relearning(facts, 1.0, rng=0)
    with pytest.raises(ValueError, match="facts must hold at least 2 facts"):
        split_for_relearning(facts[:1], 0.5, rng=0)
    one_each = [facts[0], facts[3]]
    with pytest.raises(ValueError, match="facts must hold an entity with at least 2 facts"):
        split_for_relearning(one_each, 0.5, rng=0)


def test_steps_to_recover_and_relearn_bad_inputs(tofu):
    c = RelearnCurve(steps=np.array([0, 5, 10]), accuracy=np.array([0.0, 0.4, 0.9]),
                     value_accuracy=np.array([0.1, 0.6, 1.0]), probability=np.zeros(3),
                     relearn_loss=np.zeros(3), n_relearn=2, n_eval=5)
    assert steps_to_recover(c, 0.4) == 5.0 and steps_to_recover(c, 0.5) == 10.0
    assert steps_to_recover(c, 0.05, metric="value_accuracy") == 0.0
    assert steps_to_recover(c, 1.1) == math.inf
    with pytest.raises(ValueError, match="metric must be one of"):
        steps_to_recover(c, 0.5, metric="loss")
    with pytest.raises(TypeError, match="curve must be a RelearnCurve"):
        steps_to_recover({}, 0.5)
    splits, tok, full, _ = tofu
    f = splits.subset("forget")
    g = torch.Generator()
    for kw, exc, match in [
        (dict(steps=[], generator=g), ValueError, "steps must hold at least one"),
        (dict(steps=[-1], generator=g), ValueError, "steps must be >= 0"),
        (dict(steps=[1.5], generator=g), TypeError, "steps must be an integer"),
        (dict(steps=[1], generator=0), TypeError, "generator must be a torch.Generator"),
        (dict(steps=[1], generator=g, lr=0.0), ValueError, "lr must be > 0"),
        (dict(steps=[1], generator=g, batch_size=0), ValueError, "batch_size must be >= 1"),
        (dict(steps=[1], generator=g, trainable=lambda n: False), ValueError,
         "trainable must select at least one parameter"),
        (dict(steps=[1], generator=g, trainable="mlp"), TypeError, "trainable must be"),
    ]:
        with pytest.raises(exc, match=match):
            relearn_attack(full, tok, f[:2], f[2:], **kw)


@pytest.mark.gpu
def test_cuda_evaluation_matches_cpu(tofu):
    import copy

    splits, tok, full, retain = tofu
    ref = evaluate_tofu(retain, tok, splits)
    cpu = evaluate_tofu(full, tok, splits, ref)
    gpu_model = copy.deepcopy(full).to("cuda")
    gpu = evaluate_tofu(gpu_model, tok, splits, ref)
    assert (gpu.forget_accuracy, gpu.retain_accuracy) == (cpu.forget_accuracy,
                                                          cpu.retain_accuracy)
    assert np.allclose(gpu.forget_stat, cpu.forget_stat, rtol=1e-3)
    for k in UTILITY_COMPONENTS:
        assert gpu.components[k] == pytest.approx(cpu.components[k], rel=1e-3, abs=1e-6)
    forget = splits.subset("forget")
    kw = dict(steps=[0, 5], lr=1e-3, batch_size=3)
    c_gpu = relearn_attack(gpu_model, tok, forget[:3], forget[3:],
                           generator=torch.Generator().manual_seed(0), **kw)
    c_cpu = relearn_attack(full, tok, forget[:3], forget[3:],
                           generator=torch.Generator().manual_seed(0), **kw)
    assert np.allclose(c_gpu.probability, c_cpu.probability, rtol=1e-2)
