"""Concept vectors (ConceptVectors, arXiv:2406.11614): value vectors, logit lens, intrinsic
scores, ablation, Needle and the localisation gate on tiny untrained models."""

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from theorylab.unlearning.llm import concept_vectors as cv  # noqa: E402
from theorylab.unlearning.llm.model import build_tokenizer, tiny_gpt2  # noqa: E402

WORDS = [f"w{i}" for i in range(40)]


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer([" ".join(WORDS)])


@pytest.fixture
def gpt(tok):
    return tiny_gpt2(tok, n_layer=2, n_embd=32, n_head=2, n_positions=16, seed=0)


def _llama(vocab=45):
    from transformers import LlamaConfig, LlamaForCausalLM

    from theorylab.unlearning.llm.model import _quiet_transformers

    cfg = LlamaConfig(vocab_size=vocab, hidden_size=16, intermediate_size=24,
                      num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                      max_position_embeddings=16)
    with torch.random.fork_rng(), _quiet_transformers():
        torch.manual_seed(0)
        return LlamaForCausalLM(cfg).eval()


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _equal_except(before, after, key=None, index=None):
    """Every tensor bitwise equal, except ``after[key][index]`` which must differ."""
    for k, v in before.items():
        w = after[k]
        if k == key:
            diff = (v != w)
            assert bool(diff[index].any()), "the edited vector did not change"
            diff[index] = False
            assert not bool(diff.any()), f"{k}: entries outside the vector changed"
        else:
            assert torch.equal(v, w), f"{k} changed"


# ---- value vectors --------------------------------------------------------------------

def test_gpt2_value_vectors_are_c_proj_rows(gpt):
    for layer in range(2):
        W = gpt.transformer.h[layer].mlp.c_proj.weight  # Conv1D (4d, d)
        V = cv.value_vectors(gpt, layer)
        assert V.shape == (128, 32) == tuple(W.shape)
        assert torch.equal(V, W.detach())
        site = cv.value_site(gpt, layer)
        assert site.path == f"transformer.h.{layer}.mlp.c_proj" and not site.columns
        assert (site.n_vectors, site.d_model) == (128, 32)


def test_editing_one_row_changes_only_that_vector(gpt):
    before = cv.value_vectors(gpt, 1)
    with torch.no_grad():
        gpt.transformer.h[1].mlp.c_proj.weight[7] += 1.0
    after = cv.value_vectors(gpt, 1)
    changed = (before != after).any(1)
    assert changed.nonzero().flatten().tolist() == [7]
    assert torch.equal(cv.value_vectors(gpt, 0), gpt.transformer.h[0].mlp.c_proj.weight.detach())


def test_llama_value_vectors_are_down_proj_columns():
    m = _llama()
    V = cv.value_vectors(m, 1)
    W = m.model.layers[1].mlp.down_proj.weight  # nn.Linear (d, d_ff)
    assert V.shape == (24, 16)
    assert torch.equal(V, W.detach().T)
    site = cv.value_site(m, 1)
    assert site.columns and site.path == "model.layers.1.mlp.down_proj"
    assert torch.equal(site.vector(5), W.detach()[:, 5])
    # an explicit path gives the same site
    same = cv.value_site(m, 1, path="model.layers.{layer}.mlp.down_proj")
    assert same.path == site.path and same.weight is site.weight


# ---- logit lens ------------------------------------------------------------------------

def test_vector_equal_to_an_embedding_row_ranks_that_token_first(gpt):
    E = cv.unembedding(gpt)
    assert E.data_ptr() == gpt.get_input_embeddings().weight.data_ptr()  # tied
    for j in (3, 17, 40):
        top = cv.topk_tokens(E[j], E, 5)
        assert top.shape == (5,) and int(top[0]) == j
    V = E[[4, 9, 30]]
    assert cv.topk_tokens(V, E, 1).flatten().tolist() == [4, 9, 30]


def test_topk_matches_a_plain_sort():
    g = torch.Generator().manual_seed(1)
    E = torch.randn(50, 8, generator=g)
    V = torch.randn(6, 8, generator=g)
    ref = torch.argsort(V.double() @ E.double().T, dim=1, descending=True)[:, :7]
    assert torch.equal(cv.topk_tokens(V, E, 7, chunk=4), ref)


# ---- intrinsic scores: closed forms ----------------------------------------------------

def test_cosine_closed_forms():
    v = torch.tensor([3.0, 4.0, 0.0])
    assert cv.cosine(v, v) == pytest.approx(1.0, abs=1e-15)
    assert cv.cosine(v, 2.5 * v) == pytest.approx(1.0, abs=1e-15)
    assert cv.cosine(v, -v) == pytest.approx(-1.0, abs=1e-15)
    assert cv.cosine(v, torch.tensor([-4.0, 3.0, 0.0])) == 0.0
    assert cv.cosine(v, torch.tensor([3.0, 0.0, 0.0])) == pytest.approx(3 / 5, abs=1e-15)
    assert cv.cosine(v, torch.zeros(3)) == 0.0


def test_jaccard_closed_forms():
    assert cv.jaccard([1, 2, 3], [3, 2, 1]) == 1.0
    assert cv.jaccard([1, 2], [3, 4]) == 0.0
    assert cv.jaccard([1, 2, 3], [2, 3, 4]) == 0.5
    assert cv.jaccard(torch.tensor([1, 2, 3, 4]), [4]) == 0.25
    assert cv.jaccard([], []) == 1.0


def test_intrinsic_scores_unchanged_and_disjoint():
    E = torch.eye(6)
    v = torch.tensor([5.0, 4.0, 3.0, 0.0, 0.0, 0.0])
    s = cv.intrinsic_scores(v, v.clone(), E, k=3)
    assert s == {"cos": pytest.approx(1.0, abs=1e-15), "jaccard": 1.0}
    w = torch.tensor([0.0, 0.0, 0.0, 3.0, 4.0, 5.0])  # orthogonal, disjoint top-3
    assert cv.intrinsic_scores(v, w, E, k=3) == {"cos": 0.0, "jaccard": 0.0}
    u = torch.tensor([5.0, 4.0, 0.0, 3.0, 0.0, 0.0])  # top-3 {0,1,3} vs {0,1,2}: 2/4
    s = cv.intrinsic_scores(v, u, E, k=3)
    assert s["jaccard"] == 0.5 and s["cos"] == pytest.approx(41 / 50, abs=1e-15)


# ---- locating --------------------------------------------------------------------------

def test_locate_finds_a_planted_concept_vector(gpt):
    E = cv.unembedding(gpt)
    concepts = [[10, 11, 12], [30, 31]]
    with torch.no_grad():
        gpt.transformer.h[1].mlp.c_proj.weight[77] = 3 * E[concepts[0]].sum(0)
        gpt.transformer.h[0].mlp.c_proj.weight[5] = 3 * E[concepts[1]].sum(0)
    found = cv.locate_concept_vectors(gpt, concepts, k=5)
    assert [(f.layer, f.dim) for f in found] == [(1, 77), (0, 5)]
    assert [f.overlap for f in found] == [3, 2]
    assert set(concepts[0]) <= set(found[0].top_tokens)
    only0 = cv.locate_concept_vectors(gpt, concepts, layers=[0], k=5)
    assert (only0[1].layer, only0[1].dim) == (0, 5) and only0[0].layer == 0


# ---- ablation --------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["zero", "noise"])
def test_ablation_restores_weights_bitwise(gpt, mode):
    before = _state(gpt)
    key = "transformer.h.1.mlp.c_proj.weight"
    with cv.ablate_value_vector(gpt, 1, 9, mode=mode, noise_std=0.1,
                                generator=torch.Generator().manual_seed(0)) as site:
        inside = _state(gpt)
        if mode == "zero":
            assert not bool(site.vector(9).any())
    _equal_except(before, inside, key, 9)
    after = _state(gpt)
    for k in before:
        assert torch.equal(before[k], after[k]), k
    with pytest.raises(RuntimeError, match="boom"):
        with cv.ablate_value_vector(gpt, 0, 3):
            raise RuntimeError("boom")
    for k, v in _state(gpt).items():
        assert torch.equal(before[k], v), k


def test_ablation_of_a_llama_column():
    m = _llama()
    before = _state(m)
    with cv.ablate_value_vector(m, 0, 4):
        assert not bool(m.model.layers[0].mlp.down_proj.weight[:, 4].any())
        _equal_except(before, _state(m), "model.layers.0.mlp.down_proj.weight",
                      (slice(None), 4))
    assert all(torch.equal(before[k], v) for k, v in _state(m).items())


def test_noise_ablation_scale_is_relative_to_the_norm(gpt):
    v = cv.value_site(gpt, 0).vector(2)
    with cv.ablate_value_vector(gpt, 0, 2, mode="noise", noise_std=0.5,
                                generator=torch.Generator().manual_seed(3)) as site:
        noise = site.vector(2) - v
    z = torch.randn(32, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(noise, z * 0.5 * float(v.norm()), atol=1e-6)


# ---- Needle ----------------------------------------------------------------------------

def _ga_loss(tok):
    from theorylab.unlearning.llm.model import encode_qa, qa_loss

    batch = encode_qa(tok, ["w1 w2", "w3 w4"], ["w5 w6", "w7 w8"])
    return lambda m: -qa_loss(m, batch)


@pytest.mark.parametrize("noise_std", [0.0, 0.1])
def test_needle_changes_exactly_one_row(gpt, tok, noise_std):
    before = _state(gpt)
    flags = [p.requires_grad for p in gpt.parameters()]
    res = cv.needle(gpt, _ga_loss(tok), 1, 33, lr=0.1, max_steps=3, noise_std=noise_std,
                    generator=torch.Generator().manual_seed(0))
    assert res.steps == 3 and not res.stopped
    _equal_except(before, _state(gpt), "transformer.h.1.mlp.c_proj.weight", 33)
    assert [p.requires_grad for p in gpt.parameters()] == flags
    assert torch.equal(res.v_before, before["transformer.h.1.mlp.c_proj.weight"][33])
    assert cv.cosine(res.v_before, res.v_after) < 0.9  # Adam at lr 0.1 moves every coordinate
    assert res.noise_std == pytest.approx(noise_std * float(res.v_before.norm()))


def test_needle_on_a_llama_column_and_stop(tok):
    m = _llama(vocab=len(tok))
    before = _state(m)
    calls = []

    def stop(model):
        calls.append(1)
        return len(calls) > 2

    res = cv.needle(m, _ga_loss(tok), 0, 6, lr=0.2, max_steps=10, stop=stop, noise_std=0.0)
    assert res.steps == 2 and res.stopped
    _equal_except(before, _state(m), "model.layers.0.mlp.down_proj.weight", (slice(None), 6))


def test_needle_is_deterministic(tok):
    outs = []
    for _ in range(2):
        m = tiny_gpt2(tok, n_layer=2, n_embd=32, n_head=2, n_positions=16, seed=0)
        outs.append(cv.needle(m, _ga_loss(tok), 0, 1, max_steps=2,
                              generator=torch.Generator().manual_seed(5)).v_after)
    assert torch.equal(outs[0], outs[1])


# ---- the localisation gate ---------------------------------------------------------------

def test_localisation_gate():
    assert cv.localisation_gate(1.0, 0.70, 1.0, 0.95)  # exactly at both limits
    assert not cv.localisation_gate(1.0, 0.75, 1.0, 1.0)  # concept drop 25 points
    assert not cv.localisation_gate(1.0, 0.0, 1.0, 0.90)  # unrelated drop 10 points
    assert cv.localisation_gate(0.9, 0.5, 0.8, 0.85)  # unrelated may rise
    assert cv.localisation_gate(1.0, 0.8, 1.0, 1.0, min_drop=0.2)


# ---- bad inputs ------------------------------------------------------------------------

def test_bad_inputs(gpt, tok):
    E = cv.unembedding(gpt)
    with pytest.raises(ValueError, match=r"layer must be in \[0, 2\), got 2"):
        cv.value_vectors(gpt, 2)
    with pytest.raises(ValueError, match=r"layer must be in \[0, 2\), got -1"):
        cv.value_site(gpt, -1)
    with pytest.raises(TypeError, match="layer must be an int, got float"):
        cv.value_site(gpt, 1.0)
    with pytest.raises(ValueError, match=r"dim must be in \[0, 128\), got 128"):
        cv.value_site(gpt, 0).vector(128)
    with pytest.raises(ValueError, match=r"dim must be in \[0, 128\), got 200"):
        with cv.ablate_value_vector(gpt, 0, 200):
            pass
    with pytest.raises(ValueError, match=r"k must be in \[1, 46\), got 0"):
        cv.topk_tokens(E[0], E, 0)
    with pytest.raises(ValueError, match=r"k must be in \[1, 46\), got 0"):
        cv.intrinsic_scores(E[0], E[1], E, k=0)
    with pytest.raises(ValueError, match=r"k must be in \[1, 46\), got 47"):
        cv.locate_concept_vectors(gpt, [[1]], k=47)
    with pytest.raises(ValueError, match="E must have shape"):
        cv.topk_tokens(torch.zeros(3), E, 1)
    with pytest.raises(ValueError, match="path must name the MLP down-projection"):
        cv.value_site(gpt, 0, path="transformer.h.{layer}.mlp.nothing")
    with pytest.raises(ValueError, match="path must contain"):
        cv.value_site(gpt, 0, path="transformer.h.0.mlp.c_proj")
    with pytest.raises(TypeError, match="must be an nn.Linear or a Conv1D, got GPT2MLP"):
        cv.value_site(gpt, 0, path="transformer.h.{layer}.mlp")
    with pytest.raises(ValueError, match="mode must be 'zero' or 'noise', got 'drop'"):
        with cv.ablate_value_vector(gpt, 0, 1, mode="drop"):
            pass
    with pytest.raises(ValueError, match="noise_std must be a finite number >= 0"):
        with cv.ablate_value_vector(gpt, 0, 1, mode="noise", noise_std=-1.0):
            pass
    with pytest.raises(ValueError, match=r"concept_tokens\[1\] must be non-empty"):
        cv.locate_concept_vectors(gpt, [[1], []])
    with pytest.raises(ValueError, match=r"concept_tokens\[0\] must hold token ids"):
        cv.locate_concept_vectors(gpt, [[99]])
    with pytest.raises(ValueError, match="concept_tokens must hold at least one concept"):
        cv.locate_concept_vectors(gpt, [])
    with pytest.raises(ValueError, match="a and b must have the same shape"):
        cv.cosine(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="lr must be a finite number > 0, got 0"):
        cv.needle(gpt, _ga_loss(tok), 0, 1, lr=0)
    with pytest.raises(ValueError, match=r"max_steps must be >= 0, got -1"):
        cv.needle(gpt, _ga_loss(tok), 0, 1, max_steps=-1)
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        cv.needle(gpt, None, 0, 1)
    with pytest.raises(ValueError, match="loss_fn must depend on the down-projection"):
        cv.needle(gpt, lambda m: m.transformer.wte.weight.sum(), 1, 1, max_steps=1)
    with pytest.raises(ValueError, match=r"concept_before must be a real number in \[0, 1\]"):
        cv.localisation_gate(1.5, 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="min_drop must be a real number in"):
        cv.localisation_gate(1.0, 0.0, 1.0, 1.0, min_drop=math.nan)


# ---- the claim's paper scale -------------------------------------------------------------

def test_paper_scale_needs_a_checkpoint_path(monkeypatch):
    from theorylab import claims

    mod = claims.load_claim("hong2024_concept_vectors_intrinsic")
    monkeypatch.delenv(mod.ENV_PATH, raising=False)
    with pytest.raises(ValueError, match="THEORYLAB_LLM_PATH must name a local causal-LM"):
        mod.run("paper", seed=0)


def test_paper_dry_run_loads_a_saved_checkpoint(monkeypatch, tmp_path):
    from theorylab import claims
    from theorylab.unlearning.llm.model import save_lm

    mod = claims.load_claim("hong2024_concept_vectors_intrinsic")
    cfg = mod.SIZES["paper"]
    fs = mod._facts(cfg["n_concepts"], cfg["n_unrelated"], cfg["attributes"], 0)
    tk = build_tokenizer(fs.texts())
    save_lm(tiny_gpt2(tk, n_layer=2, n_embd=32, n_head=2, seed=1), tk, tmp_path / "ckpt")
    monkeypatch.setenv(mod.ENV_PATH, str(tmp_path / "ckpt"))
    with claims.claim_context(device="cpu", dry_run=True):
        res = mod.run("paper", seed=0)
    assert res.check(), res.summary()
    assert "$THEORYLAB_LLM_PATH" in res.checks[0].name
