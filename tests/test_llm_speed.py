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
