"""Fast paths of the language-model claims equal their slow reference twins."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from theorylab.claims import load_claim  # noqa: E402
from theorylab.unlearning.llm import (  # noqa: E402
    build_tokenizer,
    encode_qa,
    make_facts,
    tiny_gpt2,
    train_lm,
)


@pytest.fixture(scope="module")
def wu():
    return load_claim("wu2025_mrp_relearning")


@pytest.fixture(scope="module")
def trained():
    fs = make_facts(2, 5, 3, group_vocabulary=True, seed=3)
    tok = build_tokenizer(fs.texts())
    model = tiny_gpt2(tok, n_layer=2, n_embd=32, n_head=2, seed=3)
    f = fs.subset(list(range(len(fs))))
    b = encode_qa(tok, [x.question for x in f], [x.answer for x in f], model=model)
    # a partly trained model: some answers right, some wrong
    train_lm(model, b, epochs=12, lr=3e-3, batch_size=8,
             generator=torch.Generator().manual_seed(0))
    return fs, tok, model, b


def test_exact_match_on_labelled_positions_equals_full_logits(wu, trained):
    _, _, model, b = trained
    fast, ref = wu._exact(model, b), wu._reference_exact(model, b)
    assert 0 < ref.mean() < 1, "the test needs a model with some answers right and some wrong"
    np.testing.assert_array_equal(fast, ref)
    # with a projection installed (MRP wraps a block), and chunked (more than 128 rows)
    from theorylab.unlearning.llm.mrp import apply_mrp

    m = copy.deepcopy(model)
    W = torch.randn(2, 32, generator=torch.Generator().manual_seed(1))
    apply_mrp(m, 1)[0].set_directions(W)
    big = {k: torch.cat([v] * 5) for k, v in b.items()}
    np.testing.assert_array_equal(wu._exact(m, big), wu._reference_exact(m, big))


@pytest.mark.parametrize("kind", ["ga", "npo"])
def test_ga_npo_request_is_reproducible(wu, trained, kind):
    """The continual run reuses the first request's model: the same inputs must give the
    same model, bit for bit."""
    fs, tok, model, _ = trained

    def enc(g):
        f = fs.subset(fs.indices([g]))
        return encode_qa(tok, [x.question for x in f], [x.answer for x in f], model=model)

    f, r = enc(0), enc(1)
    kw = dict(kind=kind, lr=3e-3, beta=0.1, steps=4, eval_every=1, retain_weight=1.2,
              floor=0.0, seed=5)
    (a, ta), (b2, tb) = wu._ga_npo(model, f, r, r, **kw), wu._ga_npo(model, f, r, r, **kw)
    assert ta == tb and ta > 0
    sa, sb = a.state_dict(), b2.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_tofu_evaluation_returns_the_forget_answers_of_a_separate_decoding():
    from theorylab.unlearning.llm.metrics import evaluate_tofu, tofu_splits
    from theorylab.unlearning.llm.model import greedy_answers

    sp = tofu_splits(4, 2, forget_fraction=0.5, n_real_authors=1, n_world_facts=1, seed=0)
    tok = build_tokenizer(sp.facts.texts())
    model = tiny_gpt2(tok, n_layer=2, n_embd=32, n_head=2, n_positions=32, seed=0)
    f = sp.facts.subset(sp.train)
    b = encode_qa(tok, [x.question for x in f], [x.answer for x in f], model=model)
    train_lm(model, b, epochs=15, lr=3e-3, batch_size=8,
             generator=torch.Generator().manual_seed(0))
    forget = sp.subset("forget")
    e = evaluate_tofu(model, tok, sp)
    sep = greedy_answers(model, tok, [x.question for x in forget])
    assert list(e.forget_answers) == sep
    assert len(set(sep)) > 1
    assert "forget_answers" not in e.to_dict()


def test_cached_greedy_decoding_equals_full_recompute(trained):
    from theorylab.unlearning.llm.model import _reference_greedy_answers, greedy_answers
    from theorylab.unlearning.llm.mrp import apply_mrp

    fs, tok, model, _ = trained
    qs = [f.question for f in fs.subset(list(range(len(fs))))]
    qs += [f.paraphrased_question for f in fs.subset(list(range(len(fs))))]
    fast = greedy_answers(model, tok, qs)
    assert fast == _reference_greedy_answers(model, tok, qs)
    assert len(set(fast)) > 3 and any(len(a.split()) > 2 for a in fast)
    for n in (1, 3):  # a short decoding budget, and with an MRP projection installed
        assert (greedy_answers(model, tok, qs, max_new_tokens=n)
                == _reference_greedy_answers(model, tok, qs, max_new_tokens=n))
    m = copy.deepcopy(model)
    apply_mrp(m, 0)[0].set_directions(torch.randn(3, 32, generator=torch.Generator()
                                                  .manual_seed(2)))
    assert greedy_answers(m, tok, qs) == _reference_greedy_answers(m, tok, qs)
    assert model.training is False


def test_cached_decoding_follows_the_models_cache_argument(trained):
    # transformers releases up to at least 5.17 name the cache `past_key_values` (argument
    # and output); later ones name it `cache`. A model with the older interface must decode
    # the same answers through the cache.
    import types

    from theorylab.unlearning.llm.model import (
        _cache_argument,
        _reference_greedy_answers,
        greedy_answers,
    )

    fs, tok, model, _ = trained

    class OlderInterface(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.config = inner, inner.config

        def get_input_embeddings(self):
            return self.inner.get_input_embeddings()

        def forward(self, input_ids, past_key_values=None, use_cache=False):
            kw = {_cache_argument(self.inner): past_key_values}
            o = self.inner(input_ids=input_ids, use_cache=use_cache, **kw)
            return types.SimpleNamespace(logits=o.logits,
                                         past_key_values=getattr(o, _cache_argument(self.inner)))

    old = OlderInterface(model)
    assert _cache_argument(old) == "past_key_values"
    qs = [f.question for f in fs.subset(list(range(len(fs))))]
    assert greedy_answers(old, tok, qs) == _reference_greedy_answers(model, tok, qs)
