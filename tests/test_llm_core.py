"""theorylab.unlearning.llm facts and model: the fact generator, the word-level tokenizer, the
tiny GPT-2, QA encoding, training, greedy answers and the local save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from theorylab.unlearning.llm import (  # noqa: E402
    ATTRIBUTES,
    build_tokenizer,
    check_compatible,
    encode_qa,
    greedy_answers,
    load_lm,
    make_facts,
    qa_loss,
    save_lm,
    sequence_logprob,
    tiny_gpt2,
    token_logprobs,
    train_lm,
)
from theorylab.unlearning.llm.facts import TEMPLATES  # noqa: E402


def _set():
    fs = make_facts(6, 1, 3, seed=0)
    return fs, build_tokenizer(fs.texts())


@pytest.fixture(scope="module")
def trained():
    """A tiny GPT-2 trained from scratch to answer 18 facts (6 authors x 3 attributes)."""
    torch.set_num_threads(1)
    fs, tok = _set()
    model = tiny_gpt2(tok, n_layer=2, n_embd=32, n_head=4, n_positions=32, seed=0)
    batch = encode_qa(tok, [f.question for f in fs.facts], [f.answer for f in fs.facts],
                      model=model)
    train_lm(model, batch, epochs=100, lr=1e-2, batch_size=len(fs),
             generator=torch.Generator().manual_seed(0))
    return fs, tok, model, batch


# ------------------------------------------------------------------------------ facts

def test_make_facts_is_deterministic_and_seed_dependent():
    a, b = make_facts(5, 2, 4, seed=3), make_facts(5, 2, 4, seed=3)
    assert a.facts == b.facts and repr(a) == repr(b)
    assert make_facts(5, 2, 4, seed=4).facts != a.facts
    assert len(a) == 5 * 2 * 4 and a.n_groups == 5
    assert np.array_equal(a.groups, np.repeat(np.arange(5), 8))


def test_make_facts_structure():
    fs = make_facts(4, 2, ATTRIBUTES, n_perturbed=4, seed=1)
    assert len({f.entity for f in fs.facts}) == 8
    for f in fs.facts:
        q, ans, pq, pa = TEMPLATES[f.attribute]
        assert f.answer == ans.format(e=f.entity, v=f.value)
        assert f.paraphrased_answer == pa.format(e=f.entity, v=f.value)
        assert f.question == q.format(e=f.entity)
        assert f.paraphrased_question == pq.format(e=f.entity)
        # wrong answers: distinct wrong values of the same attribute, in the paraphrase template
        assert len(set(f.perturbed_values)) == 4 and f.value not in f.perturbed_values
        assert f.perturbed_answers == tuple(pa.format(e=f.entity, v=v) for v in f.perturbed_values)
    # TOFU-like: values are shared pools per attribute, so wrong values are other entities'
    vals = {f.value for f in fs.facts if f.attribute == "genre"}
    assert all(v in vals for f in fs.facts if f.attribute == "genre" for v in f.perturbed_values)
    sub = fs.subset(fs.indices([1, 3]))
    assert {f.group for f in sub} == {1, 3} and len(sub) == 2 * 2 * len(ATTRIBUTES)


def test_tokenizer_covers_every_text_without_unk():
    fs = make_facts(5, 4, ATTRIBUTES, n_perturbed=3, group_vocabulary=True, seed=2)
    tok = build_tokenizer(fs.texts())
    unk = tok.unk_token_id
    ids = tok(fs.texts(), add_special_tokens=False)["input_ids"]
    assert all(unk not in row for row in ids)
    # and the tokenizer round-trips every text word for word
    texts = fs.texts()
    assert all(tok.decode(row) == " ".join(t.split()) for row, t in zip(ids, texts, strict=True))
    # a word it has not seen becomes <unk> (so the check above can fail)
    assert unk in tok.encode("zzqqxx", add_special_tokens=False)


@pytest.mark.parametrize("kw, name, exc", [
    (dict(n_groups=0), "n_groups", ValueError),
    (dict(n_groups=2.5), "n_groups", TypeError),
    (dict(n_groups=2, entities_per_group=complex(1, 1)), "entities_per_group", TypeError),
    (dict(n_groups=2, n_perturbed=0), "n_perturbed", ValueError),
    (dict(n_groups=2, attributes=["height"]), "attributes", ValueError),
    (dict(n_groups=2, attributes=0), "attributes", ValueError),
    (dict(n_groups=2, values_per_attribute=2), "values_per_attribute", ValueError),
    (dict(n_groups=2, seed=-1), "seed", ValueError),
])
def test_make_facts_bad_inputs(kw, name, exc):
    with pytest.raises(exc, match=name):
        make_facts(**kw)


# ------------------------------------------------------------------------------ model

def test_encode_qa_labels_cover_answer_and_eos_only():
    fs, tok = _set()
    f = fs.facts[0]
    b = encode_qa(tok, [f.question, fs.facts[4].question], [f.answer, fs.facts[4].answer])
    n_q, n_a = len(f.question.split()), len(f.answer.split())
    row = b["labels"][0]
    lab = row[row != -100].tolist()
    assert lab == tok.encode(f"{f.answer} <eos>", add_special_tokens=False)
    assert int(b["attention_mask"][0].sum()) == 1 + n_q + 1 + n_a + 1
    assert int((row != -100).sum()) == n_a + 1


def test_encode_qa_without_a_pad_token():
    """Public checkpoints such as GPT-2 have no pad token: padding falls back to <eos>."""
    import copy

    fs, tok = _set()
    model = tiny_gpt2(tok, n_layer=1, n_embd=32, n_head=2, n_positions=32, seed=1)
    facts = [fs.facts[0], fs.facts[4]]
    qs, ans = [f.question for f in facts], [f.answer for f in facts]
    b = encode_qa(tok, qs, ans)
    nopad = copy.deepcopy(tok)
    nopad.pad_token = None
    assert nopad.pad_token_id is None
    b2 = encode_qa(nopad, qs, ans)
    assert torch.equal(b2["attention_mask"], b["attention_mask"])
    assert torch.equal(b2["labels"], b["labels"])
    m = b["attention_mask"].bool()
    assert torch.equal(b2["input_ids"][m], b["input_ids"][m])
    assert (b2["input_ids"][~m] == tok.eos_token_id).all() and (~m).any()
    with torch.no_grad():
        assert torch.allclose(sequence_logprob(model, b2), sequence_logprob(model, b))


def test_sequence_logprob_matches_a_direct_computation():
    fs, tok = _set()
    model = tiny_gpt2(tok, n_layer=1, n_embd=32, n_head=2, n_positions=32, seed=1)
    facts = fs.facts[:5]
    b = encode_qa(tok, [f.question for f in facts], [f.answer for f in facts], model=model)
    with torch.no_grad():
        got_sum = sequence_logprob(model, b, reduction="sum")
        got_mean = sequence_logprob(model, b, reduction="mean")
    for i, f in enumerate(facts):  # one unpadded sequence at a time
        p = tok.encode(f"<bos> {f.question} <a>", add_special_tokens=False)
        t = tok.encode(f"{f.answer} <eos>", add_special_tokens=False)
        x = torch.tensor([p + t])
        with torch.no_grad():
            lp = torch.log_softmax(model(input_ids=x).logits[0], -1)
        want = sum(float(lp[len(p) - 1 + j, t[j]]) for j in range(len(t)))
        assert float(got_sum[i]) == pytest.approx(want, rel=1e-5, abs=1e-5)
        assert float(got_mean[i]) == pytest.approx(want / len(t), rel=1e-5, abs=1e-5)
    with torch.no_grad():
        lp, mask = token_logprobs(model, b)
        assert float(qa_loss(model, b)) == pytest.approx(float(-lp.sum() / mask.sum()), rel=1e-6)


def test_tiny_model_learns_every_answer(trained):
    fs, tok, model, batch = trained
    preds = greedy_answers(model, tok, [f.question for f in fs.facts])
    assert preds == [f.answer for f in fs.facts]
    # and an untrained model of the same size does not
    fresh = tiny_gpt2(tok, n_layer=2, n_embd=32, n_head=4, n_positions=32, seed=0)
    assert greedy_answers(fresh, tok, [f.question for f in fs.facts[:3]]) != \
        [f.answer for f in fs.facts[:3]]


def test_save_load_round_trip(trained, tmp_path):
    fs, tok, model, batch = trained
    path = save_lm(model, tok, tmp_path / "tiny")
    model2, tok2 = load_lm(path)
    assert tok2.get_vocab() == tok.get_vocab()
    b2 = encode_qa(tok2, [f.question for f in fs.facts], [f.answer for f in fs.facts])
    assert torch.equal(b2["input_ids"], batch["input_ids"])
    with torch.no_grad():
        assert torch.equal(sequence_logprob(model2, b2), sequence_logprob(model, batch))
    qs = [f.question for f in fs.facts]
    assert greedy_answers(model2, tok2, qs) == greedy_answers(model, tok, qs)
    with pytest.raises(FileNotFoundError, match="path must be a local model directory"):
        load_lm(tmp_path / "missing")


def test_tiny_gpt2_is_seeded_and_leaves_the_global_rng_alone():
    _, tok = _set()
    state = torch.random.get_rng_state()
    a = tiny_gpt2(tok, n_layer=1, n_embd=32, n_head=2, seed=5)
    b = tiny_gpt2(tok, n_layer=1, n_embd=32, n_head=2, seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_vocabulary_mismatch_is_refused():
    fs, tok = _set()
    small = build_tokenizer(make_facts(4, 1, 1, seed=9).texts())
    model = tiny_gpt2(small, n_layer=1, n_embd=32, n_head=2)
    with pytest.raises(ValueError, match=r"tokenizer vocabulary \(\d+ tokens\) does not fit"):
        check_compatible(model, tok)
    f = fs.facts[0]
    with pytest.raises(ValueError, match="tokenizer vocabulary"):
        encode_qa(tok, [f.question], [f.answer], model=model)
    with pytest.raises(ValueError, match="tokenizer vocabulary"):
        greedy_answers(model, tok, [f.question])


def test_sequence_longer_than_context_is_refused():
    fs, tok = _set()
    model = tiny_gpt2(tok, n_layer=1, n_embd=32, n_head=2, n_positions=8)
    f = fs.facts[0]
    with pytest.raises(ValueError, match=r"sequence length must be <= the model's context "
                                         r"\(n_positions=8\), got \d+ tokens"):
        encode_qa(tok, [f.question], [f.answer], model=model)
    long_q = " ".join(["where"] * 9)
    with pytest.raises(ValueError, match=r"question length must be < the model's context"):
        greedy_answers(model, tok, [long_q])


@pytest.mark.parametrize("call, match", [
    (lambda tok, m: encode_qa(tok, [], []), "questions must hold at least one"),
    (lambda tok, m: encode_qa(tok, ["a"], ["b", "c"]), "questions and answers must have"),
    (lambda tok, m: greedy_answers(m, tok, []), "questions must hold at least one"),
    (lambda tok, m: greedy_answers(m, tok, ["where"], max_new_tokens=0),
     "max_new_tokens must be >= 1"),
    (lambda tok, m: build_tokenizer([]), "texts must be a non-empty"),
    (lambda tok, m: build_tokenizer("one string"), "texts must be a non-empty"),
    (lambda tok, m: tiny_gpt2(tok, n_embd=30, n_head=4), "n_embd must be divisible"),
    (lambda tok, m: tiny_gpt2(tok, n_layer=0), "n_layer must be a positive integer"),
    (lambda tok, m: sequence_logprob(m, {}, reduction="max"), "reduction must be"),
])
def test_model_bad_inputs(call, match):
    _, tok = _set()
    model = tiny_gpt2(tok, n_layer=1, n_embd=32, n_head=2)
    with pytest.raises(ValueError, match=match):
        call(tok, model)


def test_train_lm_bad_inputs():
    fs, tok = _set()
    model = tiny_gpt2(tok, n_layer=1, n_embd=32, n_head=2)
    f = fs.facts[0]
    b = encode_qa(tok, [f.question], [f.answer])
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        train_lm(model, b, epochs=1, generator=0)
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        train_lm(model, b, epochs=0, generator=g)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        train_lm(model, b, epochs=1, lr=float("nan"), generator=g)
