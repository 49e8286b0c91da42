"""LM unlearning methods on a tiny GPT-2: every method moves the model, GA lowers the forget
likelihood, one NPO step is GA's step scaled by w, retain-free methods run without retain data,
bad inputs raise clear errors."""

import copy

import pytest
import torch

from theorylab.unlearning.llm.facts import make_facts
from theorylab.unlearning.llm.losses import REFUSAL, npo_weight
from theorylab.unlearning.llm.methods import (
    LM_METHODS,
    LMUnlearnConfig,
    refusal_batch,
    unlearn_lm,
)
from theorylab.unlearning.llm.model import (
    build_tokenizer,
    encode_qa,
    sequence_logprob,
    tiny_gpt2,
    train_lm,
)


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    fs = make_facts(4, attributes=2, seed=0)
    tok = build_tokenizer(fs.texts() + [REFUSAL])
    model = tiny_gpt2(tok, n_layer=1, n_embd=32, n_head=2, n_positions=32, seed=0)
    forget = fs.subset(fs.indices([0]))
    retain = fs.subset(fs.indices([1, 2, 3]))
    fb = encode_qa(tok, [f.question for f in forget], [f.answer for f in forget], model=model)
    rb = encode_qa(tok, [f.question for f in retain], [f.answer for f in retain], model=model)
    ib = refusal_batch(tok, [f.question for f in forget], model=model)
    allb = encode_qa(tok, [f.question for f in fs.facts], [f.answer for f in fs.facts])
    train_lm(model, allb, epochs=30, lr=1e-2, batch_size=8,
             generator=torch.Generator().manual_seed(0))
    return dict(tok=tok, model=model, fb=fb, rb=rb, ib=ib)


def _params(m):
    return torch.cat([p.detach().flatten() for p in m.parameters()])


@pytest.mark.parametrize("method", list(LM_METHODS))
def test_each_method_changes_the_model_and_leaves_the_original(setup, method):
    m0 = setup["model"]
    before = _params(m0).clone()
    cfg = LMUnlearnConfig(steps=2, lr=1e-3, batch_size=2)
    out = unlearn_lm(m0, setup["fb"], setup["rb"], method=method, config=cfg,
                     generator=torch.Generator().manual_seed(1), refusal=setup["ib"])
    assert out is not m0
    torch.testing.assert_close(_params(m0), before, rtol=0, atol=0)
    assert float((_params(out) - before).abs().max()) > 1e-6
    assert not out.training


def test_ga_lowers_forget_likelihood_and_npo_too(setup):
    m0, fb = setup["model"], setup["fb"]
    with torch.no_grad():
        lp0 = float(sequence_logprob(m0, fb).mean())
    for method in ("ga", "npo"):
        cfg = LMUnlearnConfig(steps=5, lr=1e-3, batch_size=4, beta=0.1)
        out = unlearn_lm(m0, fb, method=method, config=cfg,
                         generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            lp = float(sequence_logprob(out, fb).mean())
        assert lp < lp0 - 0.5, (method, lp0, lp)


def test_npo_step_is_ga_step_scaled_by_w(setup):
    # float64 weights: a parameter change is then exact to ~1e-16 |θ| (float32 rounding of
    # θ − lr g would swamp the small steps compared here)
    m0 = copy.deepcopy(setup["model"]).double()
    fb1 = {k: v[:1] for k, v in setup["fb"].items()}  # one sample
    # a reference that differs from the model, so w != 1
    ref = unlearn_lm(m0, fb1, method="ga", config=LMUnlearnConfig(steps=3, lr=3e-3),
                     generator=torch.Generator().manual_seed(3))
    beta = 0.5
    with torch.no_grad():
        w = float(npo_weight(sequence_logprob(m0, fb1), sequence_logprob(ref, fb1), beta)[0])
    assert abs(w - 1.0) > 0.05
    cfg = LMUnlearnConfig(steps=1, lr=1e-3, beta=beta, optimizer="sgd", batch_size=1)
    p0 = _params(m0)
    d_ga = _params(unlearn_lm(m0, fb1, method="ga", config=cfg,
                              generator=torch.Generator().manual_seed(4))) - p0
    d_npo = _params(unlearn_lm(m0, fb1, method="npo", config=cfg, reference=ref,
                               generator=torch.Generator().manual_seed(4))) - p0
    # float32 log-likelihoods: elementwise agreement to ~1e-6 of the largest step
    torch.testing.assert_close(d_npo, w * d_ga, rtol=1e-4,
                               atol=1e-6 * float(d_ga.abs().max()))


def test_reference_defaults_to_the_model_before_unlearning(setup):
    m0, fb = setup["model"], setup["fb"]
    cfg = LMUnlearnConfig(steps=2, lr=1e-3, batch_size=4)
    a = unlearn_lm(m0, fb, method="npo", config=cfg, generator=torch.Generator().manual_seed(5))
    b = unlearn_lm(m0, fb, method="npo", config=cfg, reference=copy.deepcopy(m0),
                   generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(_params(a), _params(b), rtol=0, atol=0)  # and deterministic


def test_callback_sees_every_step(setup):
    seen = []
    cfg = LMUnlearnConfig(steps=3, lr=1e-3, batch_size=2)
    unlearn_lm(setup["model"], setup["fb"], setup["rb"], method="npo_rt", config=cfg,
               generator=torch.Generator().manual_seed(6),
               callback=lambda s, m: seen.append((s, m.training)))
    assert seen == [(0, False), (1, False), (2, False), (3, False)]


def test_retain_free_methods_run_without_retain(setup):
    cfg = LMUnlearnConfig(steps=1, lr=1e-3, batch_size=2)
    free = [n for n, s in LM_METHODS.items() if not s.reads_retain]
    assert set(free) == {"ga", "npo", "dpo", "task_vector"}
    for n in free:
        unlearn_lm(setup["model"], setup["fb"], None, method=n, config=cfg,
                   refusal=setup["ib"], generator=torch.Generator().manual_seed(7))
    with pytest.raises(ValueError, match="retain_batch is required by method 'grad_diff'"):
        unlearn_lm(setup["model"], setup["fb"], None, method="grad_diff", config=cfg,
                   generator=torch.Generator())


def test_task_vector_is_negated_finetune(setup):
    m0, fb = setup["model"], setup["fb"]
    cfg = LMUnlearnConfig(steps=2, lr=1e-3, batch_size=4, optimizer="sgd", alpha=2.0)
    out = unlearn_lm(m0, fb, method="task_vector", config=cfg,
                     generator=torch.Generator().manual_seed(8))
    # the fine-tuned copy, rebuilt by hand: two full-batch SGD steps on the forget NLL
    assert fb["input_ids"].shape[0] <= 4
    ft = copy.deepcopy(m0).train()
    opt = torch.optim.SGD(ft.parameters(), lr=1e-3)
    for _ in range(2):
        loss = -sequence_logprob(ft, fb).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    p0, pft = _params(m0), _params(ft)
    torch.testing.assert_close(_params(out), p0 - 2.0 * (pft - p0), rtol=1e-5, atol=1e-7)
    with torch.no_grad():
        assert float(sequence_logprob(out, fb).mean()) < float(sequence_logprob(m0, fb).mean())


def test_bad_inputs(setup):
    m0, fb, rb = setup["model"], setup["fb"], setup["rb"]
    cfg = LMUnlearnConfig(steps=1)
    g = torch.Generator()
    with pytest.raises(ValueError, match=r"method must be one of \[.*\], got 'sga'"):
        unlearn_lm(m0, fb, rb, method="sga", config=cfg, generator=g)
    empty = {k: v[:0] for k, v in fb.items()}
    with pytest.raises(ValueError, match="forget_batch must hold at least one sequence, got 0"):
        unlearn_lm(m0, empty, rb, method="ga", config=cfg, generator=g)
    with pytest.raises(ValueError, match="refusal is required by method 'idk'"):
        unlearn_lm(m0, fb, rb, method="idk", config=cfg, generator=g)
    with pytest.raises(ValueError, match="refusal must have one row per forget sequence"):
        unlearn_lm(m0, fb, rb, method="dpo", config=cfg, generator=g,
                   refusal={k: v[:1] for k, v in setup["ib"].items()})
    with pytest.raises(TypeError, match="config must be an LMUnlearnConfig"):
        unlearn_lm(m0, fb, rb, method="ga", config={"steps": 1}, generator=g)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        unlearn_lm(m0, fb, rb, method="ga", config=cfg, generator=0)
    with pytest.raises(ValueError, match="forget_batch must hold the keys"):
        unlearn_lm(m0, {"input_ids": fb["input_ids"]}, rb, method="ga", config=cfg,
                   generator=g)
    with pytest.raises(FloatingPointError, match="at step 2"):
        unlearn_lm(m0, fb, method="ga", config=LMUnlearnConfig(steps=2, lr=1e30,
                                                               optimizer="sgd"), generator=g)


@pytest.mark.parametrize("kw, msg", [
    (dict(steps=0), "steps must be an integer >= 1, got 0"),
    (dict(lr=-1.0), "lr must be a finite number > 0, got -1.0"),
    (dict(beta=0.0), "beta must be a finite number > 0, got 0.0"),
    (dict(retain_weight=-0.5), "retain_weight must be a finite number >= 0, got -0.5"),
    (dict(batch_size=0), "batch_size must be an integer >= 1, got 0"),
    (dict(reduction="max"), "reduction must be 'sum' or 'mean', got 'max'"),
    (dict(optimizer="adam"), "optimizer must be 'adamw' or 'sgd', got 'adam'"),
])
def test_config_validation(kw, msg):
    with pytest.raises(ValueError, match=msg):
        LMUnlearnConfig(**kw)


def test_refusal_words_must_be_in_tokenizer():
    fs = make_facts(4, attributes=1, seed=1)
    tok = build_tokenizer(fs.texts())  # refusal words not added
    with pytest.raises(ValueError, match="refusal words must be in the tokenizer's vocabulary"):
        refusal_batch(tok, [fs.facts[0].question])


def test_tiny_tofu_paper_dry_run_loads_a_saved_checkpoint(setup, tmp_path, monkeypatch):
    from theorylab import claims
    from theorylab.unlearning.llm.model import save_lm

    save_lm(setup["model"], setup["tok"], tmp_path / "ckpt")
    monkeypatch.setenv("THEORYLAB_LLM_PATH", str(tmp_path / "ckpt"))
    with claims.claim_context(device="cpu", dry_run=True):
        res = claims.run_claim("zhang2024_npo_tiny_tofu", scale="paper", seed=0)
    assert res.check(), res.summary()
    assert "checkpoint" in res.checks[0].detail
    monkeypatch.setenv("THEORYLAB_LLM_PATH", str(tmp_path / "missing"))
    with claims.claim_context(device="cpu", dry_run=True), \
            pytest.raises(FileNotFoundError, match="path must be a local model directory"):
        claims.run_claim("zhang2024_npo_tiny_tofu", scale="paper", seed=0)
