"""MRP (theorylab.unlearning.llm.mrp): the projection, the wrapper module, the requests."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from theorylab.unlearning.llm import (  # noqa: E402
    build_tokenizer,
    encode_qa,
    load_lm,
    make_facts,
    tiny_gpt2,
)
from theorylab.unlearning.llm.mrp import (  # noqa: E402
    MRPBlock,
    apply_mrp,
    collect_hidden_states,
    decoder_layers,
    init_mrp_directions,
    load_mrp,
    mrp_blocks,
    mrp_unlearn,
    save_mrp,
)


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    fs = make_facts(3, 4, 2, group_vocabulary=True, seed=0)
    tok = build_tokenizer(fs.texts())

    def batch(g):
        f = fs.subset(fs.indices(g))
        return encode_qa(tok, [x.question for x in f], [x.answer for x in f])

    return fs, tok, batch(0), batch(1), batch(2)


def _model(tok, n_layer=3):
    return tiny_gpt2(tok, n_layer=n_layer, n_embd=32, n_head=2, seed=0)


def _logits(model, b):
    with torch.no_grad():
        return model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits


def _base_state(model):
    """Base weights keyed as in the unwrapped model (MRP's own W / W_old left out)."""
    return {k.replace(".block.", "."): v.detach().clone() for k, v in model.state_dict().items()
            if not k.endswith((".W", ".W_old"))}


def _reference_projection(W_all, h):
    """The reference code's projection: reduced QR of [W_old; W]^T, h - h Q^T Q (float64)."""
    Q = torch.linalg.qr(W_all.double().T, mode="reduced")[0].T
    return h.double() - (h.double() @ Q.T) @ Q


# ----------------------------------------------------------------- the projection

@pytest.mark.parametrize("seed", range(4))
def test_projection_idempotent_orthogonal_and_equal_to_reference_qr(seed):
    g = torch.Generator().manual_seed(seed)
    d = 16
    blk = MRPBlock(torch.nn.Identity(), d)
    blk.set_directions(torch.randn(2, d, generator=g))
    blk.commit()  # request 1 -> W_old
    blk.set_directions(torch.randn(3, d, generator=g))  # request 2 trainable
    h = torch.randn(7, 5, d, generator=g)
    Ph = blk(h)
    assert Ph.shape == h.shape
    W_all = torch.cat([blk.W_old, blk.W.detach()])
    # orthogonal to every direction of every request
    assert (Ph.double() @ W_all.double().T).abs().max() < 1e-5
    # idempotent
    assert torch.allclose(blk(Ph), Ph, atol=1e-5)
    # the reference twin (reduced QR of [W_old; W]^T)
    assert torch.allclose(Ph.double(), _reference_projection(W_all, h), atol=1e-5)
    # Q has orthonormal rows, rank r_old + r
    Q = blk.basis().double()
    assert Q.shape == (5, d)
    assert torch.allclose(Q @ Q.T, torch.eye(5, dtype=torch.float64), atol=1e-5)
    # what is removed is exactly the component in the span: h = Ph + (h - Ph), (h - Ph) in span
    removed = (h - Ph).reshape(-1, d).double()
    assert torch.allclose(removed, removed @ Q.T @ Q, atol=1e-5)


def test_projection_identity_without_directions_and_no_spurious_direction():
    blk = MRPBlock(torch.nn.Identity(), 8)
    h = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(blk(h), h)  # no W_old row: nothing is removed (no zero-row QR)
    e = torch.zeros(1, 8)
    e[0, 3] = 2.0
    blk.set_directions(e)
    out = blk(h)
    assert torch.allclose(out[:, 3], torch.zeros(3), atol=1e-6)
    keep = [i for i in range(8) if i != 3]
    assert torch.allclose(out[:, keep], h[:, keep], atol=1e-6)  # only that direction goes


def test_gradient_reaches_W_only_through_its_span():
    g = torch.Generator().manual_seed(1)
    blk = MRPBlock(torch.nn.Identity(), 6)
    blk.set_directions(torch.randn(2, 6, generator=g))
    h = torch.randn(10, 6, generator=g)
    (blk(h) ** 2).sum().backward()
    assert blk.W.grad is not None and torch.isfinite(blk.W.grad).all()
    assert blk.W.grad.abs().sum() > 0
    # the loss depends on span(W) only, so the gradient is orthogonal to each row's own scaling
    # direction: d/dt loss(W + t W) = 0  ->  <grad, W> = 0
    assert abs(float((blk.W.grad * blk.W.detach()).sum())) < 1e-4


# ----------------------------------------------------------------- initialisation

def test_init_truncates_the_forget_span():
    g = torch.Generator().manual_seed(0)
    d, n = 6, 200
    e = torch.eye(d, dtype=torch.float64)
    # forget states: large along e0, a weak (1 % of energy) component along e3
    F = torch.randn(n, 1, generator=g, dtype=torch.float64) * 10 * e[0] \
        + torch.randn(n, 1, generator=g, dtype=torch.float64) * e[3]
    # retain states: e0 (shared with forget), e3 strongest, e1 weaker
    R = (torch.randn(n, 1, generator=g, dtype=torch.float64) * 10 * e[0]
         + torch.randn(n, 1, generator=g, dtype=torch.float64) * 5 * e[3]
         + torch.randn(n, 1, generator=g, dtype=torch.float64) * 2 * e[1])
    W = init_mrp_directions(F, R, 1, forget_energy=0.9).double()
    assert W.shape == (1, d)
    assert abs(float(W[0] @ e[3])) > 0.999  # e3 is outside the truncated forget span
    # the untruncated span (all of the forget energy) holds e3 too: then e1 is left
    W_all = init_mrp_directions(F, R, 1, forget_energy=0.999999).double()
    assert abs(float(W_all[0] @ e[1])) > 0.999
    W2 = init_mrp_directions(F, R, 2, forget_energy=0.9).double()
    assert torch.allclose(W2 @ W2.T, torch.eye(2, dtype=torch.float64), atol=1e-6)


def test_hidden_states_are_the_output_of_the_named_block(setup):
    _, tok, fb, _, _ = setup
    model = _model(tok)
    with torch.no_grad():
        hs = model(input_ids=fb["input_ids"], attention_mask=fb["attention_mask"],
                   output_hidden_states=True).hidden_states
    m = fb["attention_mask"].bool()
    for L in (0, 1):  # hidden_states[L + 1] is the output of block L (L < n_layer - 1)
        H = collect_hidden_states(model, fb, L)
        assert torch.allclose(H, hs[L + 1][m].float(), atol=1e-5)
        assert not torch.allclose(H, hs[L][m].float(), atol=1e-3)


# ----------------------------------------------------------------- requests on a model

def test_mrp_request_keeps_base_weights_and_removes_directions(setup):
    _, tok, fb, rb, _ = setup
    model = _model(tok)
    before = _base_state(model)
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    req = mrp_unlearn(model, fb, rb, layers=[1], rank=2, lr=0.05, epochs=2, batch_size=2,
                      generator=torch.Generator().manual_seed(0))
    after = _base_state(model)
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)  # bitwise unchanged
    assert {n.replace(".block.", "."): p.requires_grad for n, p in model.named_parameters()
            if not n.endswith(".W")} == flags
    assert req.steps == 2 * 4 and req.losses.shape == (8,) and not req.losses.flags.writeable
    blk = mrp_blocks(model)[1]
    assert blk.W_old.shape == (2, 32) and blk.W.shape == (0, 32)
    H = collect_hidden_states(model, rb, 1).double()
    Wo = blk.W_old.double()
    assert (H @ Wo.T).abs().max() < 1e-4 * H.abs().max()
    # W was trained: not the initial principal directions any more
    model2 = _model(tok)
    req0 = mrp_unlearn(model2, fb, rb, layers=[1], rank=2, lr=1e-12, epochs=1,
                       batch_size=2, generator=torch.Generator().manual_seed(0))
    assert req0.steps == 4
    assert not torch.allclose(mrp_blocks(model2)[1].W_old, blk.W_old, atol=1e-4)


def test_earlier_directions_stay_removed_after_a_later_request(setup):
    _, tok, fb, rb, tb = setup
    model = _model(tok)
    mrp_unlearn(model, fb, rb, layers=[0, 1], rank=2, lr=0.05, epochs=1, batch_size=2,
                generator=torch.Generator().manual_seed(0))
    first = {i: b.W_old.clone() for i, b in mrp_blocks(model).items()}
    mrp_unlearn(model, rb, tb, layers=[1, 2], rank=2, lr=0.05, epochs=1, batch_size=2,
                init="random", generator=torch.Generator().manual_seed(1))
    blocks = mrp_blocks(model)
    assert sorted(blocks) == [0, 1, 2]
    assert torch.equal(blocks[0].W_old, first[0])  # not part of request 2
    assert blocks[1].W_old.shape == (4, 32) and torch.equal(blocks[1].W_old[:2], first[1])
    assert blocks[2].W_old.shape == (2, 32)
    H = collect_hidden_states(model, tb, 1).double()
    assert (H @ first[1].double().T).abs().max() < 1e-4 * H.abs().max()
    # the second request's hidden-state initialisation reads states already projected
    W2 = init_mrp_directions(collect_hidden_states(model, fb, 1),
                             collect_hidden_states(model, rb, 1), 2).double()
    assert (W2 @ blocks[1].W_old.double().T).abs().max() < 1e-3


def test_random_init_control_is_deterministic(setup):
    _, tok, fb, rb, _ = setup
    out = []
    for _ in range(2):
        model = _model(tok)
        mrp_unlearn(model, fb, rb, layers=1, rank=2, lr=0.05, epochs=1, batch_size=3,
                    init="random", generator=torch.Generator().manual_seed(5))
        out.append(mrp_blocks(model)[1].W_old)
    assert torch.equal(out[0], out[1])


# ----------------------------------------------------------------- copies and files

def test_wrapper_survives_deepcopy_state_dict_and_save_load(setup, tmp_path):
    _, tok, fb, rb, _ = setup
    model = _model(tok)
    plain_logits = _logits(model, rb)
    mrp_unlearn(model, fb, rb, layers=[1], rank=2, lr=0.05, epochs=1, batch_size=2,
                generator=torch.Generator().manual_seed(0))
    ref = _logits(model, rb)
    assert not torch.allclose(ref, plain_logits, atol=1e-4)
    # deepcopy
    cp = copy.deepcopy(model)
    assert isinstance(decoder_layers(cp)[1], MRPBlock)
    assert torch.equal(_logits(cp, rb), ref)
    # state_dict into a fresh model wrapped at the same block (W_old of another size)
    fresh = _model(tok)
    apply_mrp(fresh, [1])
    fresh.load_state_dict(model.state_dict())
    assert mrp_blocks(fresh)[1].W_old.shape == (2, 32)
    assert torch.allclose(_logits(fresh, rb), ref, atol=1e-6)
    # save / load
    p = save_mrp(model, tok, tmp_path / "m")
    loaded, tok2 = load_mrp(p)
    assert len(tok2) == len(tok)
    assert torch.allclose(_logits(loaded, rb), ref, atol=1e-6)
    assert torch.equal(mrp_blocks(loaded)[1].W_old, mrp_blocks(model)[1].W_old)
    # the saved base model is the unprojected one, readable by any causal-LM loader
    base, _ = load_lm(p)
    assert torch.allclose(_logits(base, rb), plain_logits, atol=1e-6)
    assert isinstance(decoder_layers(model)[1], MRPBlock)  # saving left the model wrapped


def test_wrapper_forwards_block_attributes(setup):
    _, tok, _, _, _ = setup
    model = _model(tok)
    inner = decoder_layers(model)[1]
    (blk,) = apply_mrp(model, 1)
    assert blk.block is inner and blk.ln_1 is inner.ln_1
    assert apply_mrp(model, [1])[0] is blk  # wrapping twice keeps one wrapper
    with pytest.raises(AttributeError):
        _ = blk.no_such_attribute


# ----------------------------------------------------------------- bad input

def test_bad_inputs(setup, tmp_path):
    _, tok, fb, rb, _ = setup
    model = _model(tok)
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match=r"layers must lie in \[0, 3\).*got 3"):
        mrp_unlearn(model, fb, rb, layers=[3], generator=gen)
    with pytest.raises(ValueError, match=r"layers must lie in \[0, 3\).*got -1"):
        apply_mrp(model, -1)
    with pytest.raises(ValueError, match="layers must name at least one"):
        mrp_unlearn(model, fb, rb, layers=[], generator=gen)
    with pytest.raises(ValueError, match="layers must be distinct"):
        mrp_unlearn(model, fb, rb, layers=[1, 1], generator=gen)
    with pytest.raises(TypeError, match="layers must hold integers"):
        mrp_unlearn(model, fb, rb, layers=[1.0], generator=gen)
    with pytest.raises(ValueError, match="rank must be an integer >= 1, got 0"):
        mrp_unlearn(model, fb, rb, rank=0, generator=gen)
    with pytest.raises(ValueError, match="rank must be an integer >= 1, got 0"):
        init_mrp_directions(torch.ones(3, 4), torch.ones(3, 4), 0)
    empty = {k: v[:0] for k, v in fb.items()}
    with pytest.raises(ValueError, match="forget must hold at least one sequence, got 0"):
        mrp_unlearn(model, empty, rb, generator=gen)
    with pytest.raises(ValueError, match="retain must hold at least one sequence, got 0"):
        mrp_unlearn(model, fb, empty, generator=gen)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        mrp_unlearn(model, fb, rb, generator=0)
    with pytest.raises(ValueError, match="init must be 'hidden' or 'random'"):
        mrp_unlearn(model, fb, rb, init="zeros", generator=gen)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        mrp_unlearn(model, fb, rb, lr=-1.0, generator=gen)
    with pytest.raises(ValueError, match="rank must be <= d_model = 32, got 33"):
        mrp_unlearn(model, fb, rb, rank=33, generator=gen)
    with pytest.raises(ValueError, match="forget_energy must lie in"):
        init_mrp_directions(torch.ones(3, 4), torch.ones(3, 4), 1, forget_energy=1.0)
    with pytest.raises(ValueError, match="same width"):
        init_mrp_directions(torch.ones(3, 4), torch.ones(3, 5), 1)
    with pytest.raises(ValueError, match=r"W must have shape \(r, 8\)"):
        MRPBlock(torch.nn.Identity(), 8).set_directions(torch.ones(2, 7))
    with pytest.raises(FileNotFoundError, match="mrp_projection.pt"):
        load_mrp(tmp_path)
    # nothing was wrapped or changed by the refused calls
    assert mrp_blocks(model) == {}
    assert np.isfinite(_logits(model, rb).numpy()).all()
