"""Neural execution engine (theorylab.seq.nee): bit encodings, masked attention, permutation
equivariance, the selection-sort traces and rollout, the pointer loss, gradients, bad inputs."""

import math

import pytest

torch = pytest.importorskip("torch")

from theorylab.seq.nee import (  # noqa: E402
    BinaryNumberEmbedding,
    MaskedPointerExecutor,
    NEEConfig,
    decode_bits,
    encode_bits,
    min_pointer_loss,
    selection_sort_traces,
)

SMALL = dict(d_model=16, n_heads=2, d_ff=32)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _model(masking="attention", encoding="binary", seed=0, **kw):
    return MaskedPointerExecutor(NEEConfig(masking=masking, encoding=encoding, **SMALL, **kw),
                                 generator=_gen(seed))


def test_bits_round_trip_for_every_8_bit_number():
    k = torch.arange(256)
    B = encode_bits(k, 8)
    assert B.shape == (256, 8) and set(B.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(decode_bits(2 * B - 1), k)  # invariant 5
    assert encode_bits(torch.tensor([6]), 3).tolist() == [[0.0, 1.0, 1.0]]  # LSB first


def test_binary_embedding_is_affine_in_the_bits():
    """Every number's embedding is bias + Σ ±w_b: a held-out number's embedding is fixed by
    the weights trained on the others (what lets binary encodings interpolate)."""
    emb = BinaryNumberEmbedding(4, 5)
    k = torch.arange(16)
    E = emb(k)
    S = 2 * encode_bits(k, 4) - 1
    torch.testing.assert_close(E, S @ emb.proj.weight.T + emb.proj.bias)


@pytest.mark.parametrize("masking", ["attention", "feature"])
def test_masked_positions_get_exactly_zero_attention(masking):
    """Invariant 1 for NEE; the vanilla executor attends to every position."""
    m = _model(masking)
    x = torch.randint(0, 256, (3, 7), generator=_gen(1))
    mask = torch.rand(3, 7, generator=_gen(2)) < 0.5
    for att in m.attention(x, mask):
        keys = att[..., 1:]  # (B, h, 1 + L, L): attention on the numbers
        hidden = mask[:, None, None, :].expand_as(keys)
        if masking == "attention":
            assert bool((keys[hidden] == 0).all())
            assert bool((keys[~hidden] > 0).all())
        else:
            assert bool((keys > 0).all())
        torch.testing.assert_close(att.sum(-1), torch.ones(att.shape[:-1]))
    _, ptr = m.step(x, mask)
    if masking == "attention":
        assert bool(torch.isneginf(ptr[mask]).all()) and bool(torch.isfinite(ptr[~mask]).all())


@pytest.mark.parametrize("masking", ["attention", "feature"])
def test_pointer_is_permutation_equivariant_and_value_invariant(masking):
    """Invariant 2: no positional encoding, so the list is a set."""
    m = _model(masking).double()
    x = torch.randint(0, 256, (2, 9), generator=_gen(3))
    mask = torch.rand(2, 9, generator=_gen(4)) < 0.3
    perm = torch.randperm(9, generator=_gen(5))
    v, p = m.step(x, mask)
    vp, pp = m.step(x[:, perm], mask[:, perm])
    torch.testing.assert_close(vp, v, atol=1e-12, rtol=0)
    torch.testing.assert_close(pp, p[:, perm], atol=1e-12, rtol=0)


def test_masking_makes_hidden_values_irrelevant():
    """With attention masking, changing a selected (hidden) number changes nothing."""
    m = _model("attention").double()
    x = torch.randint(0, 256, (2, 6), generator=_gen(6))
    mask = torch.zeros(2, 6, dtype=torch.bool)
    mask[:, 2] = True
    y = x.clone()
    y[:, 2] = (x[:, 2] + 77) % 256
    v1, p1 = m.step(x, mask)
    v2, p2 = m.step(y, mask)
    torch.testing.assert_close(v1, v2, atol=1e-12, rtol=0)
    torch.testing.assert_close(p1, p2, atol=1e-12, rtol=0)


def test_traces_by_hand_and_oracle_rollout_sorts():
    """Invariant 3: following the ground-truth pointers reproduces sorted(list); masks are
    cumulative."""
    tr = selection_sort_traces(40, 12, hard_fraction=0.5, generator=_gen(7))
    N, L = tr.numbers.shape
    sorted_vals = torch.gather(tr.numbers, 1, tr.order)
    assert torch.equal(sorted_vals, torch.sort(tr.numbers, 1).values)
    assert not bool(tr.masks[:, 0].any()) and tr.masks.shape == (N, L, L)
    for t in range(L - 1):
        step = tr.masks[:, t + 1] & ~tr.masks[:, t]
        assert bool((step.sum(1) == 1).all())  # exactly one element selected per call
        assert torch.equal(step.float().argmax(1), tr.order[:, t])
    # the hard lists are progressions with step 1..4
    diffs = torch.diff(sorted_vals[:20], dim=1)
    assert bool(((diffs >= 0) & (diffs <= 4)).all())
    # tiny case by hand
    tr = selection_sort_traces(1, 3, bits=2, hard_fraction=0.0, generator=_gen(8))
    x = tr.numbers[0].tolist()
    assert sorted(x) == [x[i] for i in tr.order[0].tolist()]


@pytest.mark.parametrize("masking", ["attention", "feature"])
def test_rollout_masks_are_monotone_and_end_full(masking):
    """Invariant 4 for NEE (attention masking): each call selects a new element, and after
    L calls every element is selected. The vanilla executor may point twice at the same
    element (nothing forbids it), so only monotonicity holds there."""
    m = _model(masking)
    x = torch.randint(0, 256, (4, 10), generator=_gen(9))
    vals, ptr, masks = m.run(x)
    assert vals.shape == (4, 10) and ptr.shape == (4, 10) and masks.shape == (4, 11, 10)
    assert bool((masks[:, 1:] >= masks[:, :-1]).all())
    if masking == "attention":
        assert bool(masks[:, -1].all())
        assert bool((torch.sort(ptr, 1).values == torch.arange(10)).all())


def test_min_pointer_loss_by_hand():
    nums = torch.tensor([[5, 2, 2, 9]])
    mask = torch.tensor([[False, False, True, False]])
    logits = torch.zeros(1, 4)
    # free minimum 2 at position 1 only (position 2 is selected): −log(1/4)
    assert min_pointer_loss(logits, nums, mask).item() == pytest.approx(math.log(4))
    # ties share the mass: both 2s free -> −log(2/4)
    assert min_pointer_loss(logits, nums, torch.zeros_like(mask)).item() == \
        pytest.approx(math.log(2))


def test_a_short_training_run_learns_the_minimum_at_the_training_length():
    """Sanity of the whole loop (not a claim): 100 teacher-forced steps at length 5 bring
    NEE's pointer accuracy far above chance (H_5/5 = 0.46 per call)."""
    from torch import nn

    g = _gen(10)
    m = MaskedPointerExecutor(NEEConfig(d_model=32, n_heads=4, d_ff=64), generator=g)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    rows = torch.arange(64)
    for _ in range(100):
        tr = selection_sort_traces(64, 5, generator=g)
        t = torch.randint(0, 5, (64,), generator=g)
        mask = tr.masks[rows, t]
        target = tr.numbers[rows, tr.order[rows, t]]
        v, p = m.step(tr.numbers, mask)
        loss = (nn.functional.binary_cross_entropy_with_logits(v, encode_bits(target, 8))
                + min_pointer_loss(p, tr.numbers, mask))
        opt.zero_grad()
        loss.backward()
        opt.step()
    tr = selection_sort_traces(200, 5, hard_fraction=0.0, generator=_gen(11))
    _, ptr, _ = m.run(tr.numbers)
    picked = torch.gather(tr.numbers, 1, ptr)
    acc = float((picked == torch.sort(tr.numbers, 1).values).float().mean())
    assert acc > 0.6


def test_gradcheck_float64():
    """Derivatives w.r.t. one weight of every kind of part (embedding, query token,
    attention, MLP, value and pointer heads) on a tiny executor."""
    from torch.func import functional_call

    m = MaskedPointerExecutor(NEEConfig(d_model=4, n_heads=2, d_ff=4, n_layers=1),
                              generator=_gen(12)).double()
    names = ["embed.proj.weight", "query", "layers.0.qkv.weight", "layers.0.ff.0.weight",
             "value_head.weight", "ptr_k.weight"]
    params = [m.get_parameter(k).detach().clone().requires_grad_(True) for k in names]
    x = torch.tensor([[3, 200, 17]])
    mask = torch.tensor([[False, True, False]])

    def fn(*ps):
        v, p = functional_call(m, dict(zip(names, ps, strict=True)), (x, mask))
        return v, p.masked_fill(mask, 0.0)  # −∞ at the masked position has no derivative

    assert torch.autograd.gradcheck(fn, tuple(params))


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(masking="none"), ValueError, "masking must be one of"),
    (dict(encoding="gray"), ValueError, "encoding must be one of"),
    (dict(d_model=10, n_heads=4), ValueError, "d_model must be divisible by n_heads = 4"),
    (dict(bits=0), ValueError, "bits must be >= 1, got 0"),
    (dict(n_layers=1.5), TypeError, "n_layers must be an integer"),
])
def test_bad_config(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        NEEConfig(**kwargs)


def test_bad_inputs():
    m = _model()
    with pytest.raises(ValueError, match=r"numbers must lie in \[0, 256\) \(8 bits\), got "
                                         r"values in \[0, 256\]"):
        m.step(torch.tensor([[0, 256]]))
    with pytest.raises(TypeError, match="numbers must be an integer tensor, got torch.float32"):
        m.step(torch.tensor([[1.0, float("nan")]]))
    with pytest.raises(ValueError, match=r"numbers must have shape \(B, L\) with L >= 1"):
        m.step(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"mask must have the shape of numbers \(1, 3\), "
                                         r"got \(1, 2\)"):
        m.step(torch.tensor([[1, 2, 3]]), torch.zeros(1, 2, dtype=torch.bool))
    with pytest.raises(TypeError, match="mask must be a bool tensor"):
        m.step(torch.tensor([[1, 2, 3]]), torch.zeros(1, 3))
    with pytest.raises(ValueError, match="hard_fraction must be <= 1"):
        selection_sort_traces(2, 3, hard_fraction=1.5)
    with pytest.raises(TypeError, match="config must be a NEEConfig"):
        MaskedPointerExecutor({"bits": 8})
