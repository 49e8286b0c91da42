"""Stacked NEE executors (theorylab.seq.nee_stack) against their members run one by one:
outputs, rollouts, per-member losses and gradients, optimiser steps, the NEE claims' stacked
training against their one-member twins, and bad inputs."""

import pytest

torch = pytest.importorskip("torch")

from torch.nn import functional as F  # noqa: E402

from theorylab.claims import load_claim  # noqa: E402
from theorylab.seq.nee import (  # noqa: E402
    MaskedPointerExecutor,
    NEEConfig,
    encode_bits,
    min_pointer_loss,
)
from theorylab.seq.nee_stack import (  # noqa: E402
    StackedExecutor,
    stacked_bit_loss,
    stacked_min_pointer_loss,
)

SMALL = dict(bits=6, out_bits=7, d_model=16, n_heads=2, d_ff=32)
KINDS = [("binary", "attention"), ("onehot", "feature"), ("binary", "feature"),
         ("onehot", "attention")]


def _members(seed=0):
    return [MaskedPointerExecutor(NEEConfig(encoding=e, masking=m, **SMALL),
                                  generator=torch.Generator().manual_seed(seed + k))
            for k, (e, m) in enumerate(KINDS)]


def _inputs(K=4, B=5, L=4, seed=0):  # K = len(KINDS)
    g = torch.Generator().manual_seed(seed)
    nums = torch.randint(0, 2 ** SMALL["bits"], (K, B, L), generator=g)
    mask = torch.rand(K, B, L, generator=g) < 0.4
    mask[..., 0] = False  # one free position per row
    return nums, mask


def _loss(v, p, nums, mask):
    """Per-member value + pointer losses of stacked outputs."""
    return stacked_bit_loss(v, encode_bits(nums.sum(2) % 2 ** SMALL["out_bits"],
                                           SMALL["out_bits"])) \
        + stacked_min_pointer_loss(p, nums, mask)


def _member_loss(v, p, nums, mask):
    return F.binary_cross_entropy_with_logits(
        v, encode_bits(nums.sum(1) % 2 ** SMALL["out_bits"], SMALL["out_bits"])) \
        + min_pointer_loss(p, nums, mask)


def test_step_and_value_equal_each_members_step():
    ms = _members()
    st = StackedExecutor(ms)
    nums, mask = _inputs()
    v, p = st.step(nums, mask)
    for k, m in enumerate(ms):
        v_k, p_k = m.step(nums[k], mask[k])
        torch.testing.assert_close(v[k], v_k, rtol=0, atol=1e-6)
        assert torch.equal(torch.isinf(p[k]), torch.isinf(p_k))  # the masked pointers
        torch.testing.assert_close(p[k], p_k, rtol=0, atol=1e-6)
    # the value-only path skips the last layer's other tokens, not anything of the value
    torch.testing.assert_close(st.value(nums, mask), v, rtol=0, atol=1e-6)
    torch.testing.assert_close(st.value(nums), st.step(nums)[0], rtol=0, atol=1e-6)


def test_run_equals_each_members_rollout():
    ms = _members(3)
    st = StackedExecutor(ms)
    nums, _ = _inputs(L=6, seed=2)
    out = st.run(nums)
    for k, m in enumerate(ms):
        for a, b in zip(out, m.run(nums[k]), strict=True):
            assert torch.equal(a[k], b)


def test_unstack_returns_the_members_weights():
    ms = _members(5)
    for a, b in zip(StackedExecutor(ms).unstack(), ms, strict=True):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[key], sb[key]) for key in sa)
        assert a.config == b.config


def test_stacked_losses_equal_the_member_losses():
    ms = _members()
    st = StackedExecutor(ms)
    nums, mask = _inputs(seed=4)
    v, p = st.step(nums, mask)
    per = _loss(v, p, nums, mask)
    assert per.shape == (len(ms),)
    for k in range(len(ms)):
        torch.testing.assert_close(per[k], _member_loss(v[k], p[k], nums[k], mask[k]),
                                   rtol=0, atol=1e-6)


def test_gradients_of_the_summed_loss_are_each_members_own():
    ms = _members(7)
    st = StackedExecutor(ms)
    nums, mask = _inputs(seed=5)
    v, p = st.step(nums, mask)
    _loss(v, p, nums, mask).sum().backward()
    for k, m in enumerate(ms):
        _member_loss(*m.step(nums[k], mask[k]), nums[k], mask[k]).backward()
        got = _stacked_grads(st, k)
        assert got.keys() == {n for n, _ in m.named_parameters()}
        for n, q in m.named_parameters():
            # a member's unused parameter ("selected" under masked attention) has no gradient
            ref = q.grad if q.grad is not None else torch.zeros_like(q)
            torch.testing.assert_close(got[n], ref, rtol=1e-5, atol=1e-6, msg=n)


def _stacked_grads(st, k):
    """Member k's gradients from the stacked model, by the member's parameter names."""
    grads = {"embed." + n: q.grad for n, q in st.embeds[k].named_parameters()}
    grads.update(query=st.query.grad[k], selected=st.selected.grad[k])
    for i, ls in enumerate(st.layers):
        for pre, mod in (("n1", "n1"), ("n2", "n2"), ("qkv", "qkv"), ("out", "out"),
                         ("ff1", "ff.0"), ("ff2", "ff.2")):
            grads[f"layers.{i}.{mod}.weight"] = getattr(ls, pre + "_w").grad[k]
            grads[f"layers.{i}.{mod}.bias"] = getattr(ls, pre + "_b").grad[k]
    grads.update({"norm.weight": st.norm_w.grad[k], "norm.bias": st.norm_b.grad[k]})
    for name in ("value_head", "ptr_q", "ptr_k"):
        grads[name + ".weight"] = getattr(st, name + "_w").grad[k]
        grads[name + ".bias"] = getattr(st, name + "_b").grad[k]
    return grads


def test_sgd_training_equals_separate_training():
    ms = _members(11)
    st = StackedExecutor(ms)
    o = torch.optim.SGD(st.parameters(), lr=0.05)
    os_ = [torch.optim.SGD(m.parameters(), lr=0.05) for m in ms]
    for s in range(5):
        nums, mask = _inputs(seed=20 + s)
        o.zero_grad()
        _loss(*st.step(nums, mask), nums, mask).sum().backward()
        o.step()
        for k, m in enumerate(ms):
            os_[k].zero_grad()
            _member_loss(*m.step(nums[k], mask[k]), nums[k], mask[k]).backward()
            os_[k].step()
    _assert_same_weights(st, ms, 1e-5)


def test_fused_adam_on_the_stack_steps_each_member_as_its_own_adam():
    """Given the members' gradients, one fused Adam over the stacked weights takes each
    member's own Adam steps. (Stacked and separate training are not compared over many Adam
    steps: Adam turns rounding-level gradients of directions the loss is invariant to — the
    key biases, whose exact gradient is 0 — into steps of up to lr, so any reordering of
    the floating-point sums makes the two runs drift apart.)"""
    ms = _members(13)
    st = StackedExecutor(ms)
    o = torch.optim.Adam(st.parameters(), lr=1e-2, fused=True)
    os_ = [torch.optim.Adam(m.parameters(), lr=1e-2) for m in ms]
    for s in range(4):
        nums, mask = _inputs(seed=40 + s)
        o.zero_grad()
        for k, m in enumerate(ms):
            os_[k].zero_grad()
            _member_loss(*m.step(nums[k], mask[k]), nums[k], mask[k]).backward()
        _set_stacked_grads(st, ms)
        o.step()
        for opt in os_:
            opt.step()
    _assert_same_weights(st, ms, 1e-6)


def _set_stacked_grads(st, ms):
    for k, m in enumerate(ms):
        g = {n: (q.grad if q.grad is not None else torch.zeros_like(q))
             for n, q in m.named_parameters()}
        for n, q in st.embeds[k].named_parameters():
            q.grad = g["embed." + n].clone()
    for name, stacked in (("query", st.query), ("selected", st.selected),
                          ("norm.weight", st.norm_w), ("norm.bias", st.norm_b)):
        stacked.grad = torch.stack([_grad(m, name) for m in ms])
    for i, ls in enumerate(st.layers):
        for pre, mod in (("n1", "n1"), ("n2", "n2"), ("qkv", "qkv"), ("out", "out"),
                         ("ff1", "ff.0"), ("ff2", "ff.2")):
            for suf, kind in (("_w", "weight"), ("_b", "bias")):
                getattr(ls, pre + suf).grad = torch.stack(
                    [_grad(m, f"layers.{i}.{mod}.{kind}") for m in ms])
    for name in ("value_head", "ptr_q", "ptr_k"):
        for suf, kind in (("_w", "weight"), ("_b", "bias")):
            getattr(st, name + suf).grad = torch.stack([_grad(m, f"{name}.{kind}") for m in ms])


def _grad(m, name):
    q = dict(m.named_parameters())[name]
    return q.grad.clone() if q.grad is not None else torch.zeros_like(q)


def _assert_same_weights(st, ms, tol):
    for a, b in zip(st.unstack(), ms, strict=True):
        for (n, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
            torch.testing.assert_close(pa, pb, rtol=tol, atol=tol, msg=n)



def test_addition_claim_group_gives_each_member_its_twins_weights_data_and_tests():
    v = load_claim("yan2020_nee_binary_addition")
    kw = dict(bits=5, d_model=16, n_layers=1, n_heads=2, steps=1, batch=16, lr=1e-3,
              n_test=300, device="cpu")
    g = v._train_group(**kw, seed=2, n_seeds=2)
    for i, e in enumerate(v.ARMS):
        for j in range(2):
            r = v._reference_train_and_test(e, **kw, seed=2000 + j)
            assert g["acc_in"][i][j] == r["acc_in"]
            assert g["acc_held_out"][i][j] == r["acc_held_out"]
            assert g["final_loss"][i][j] == pytest.approx(r["final_loss"], abs=1e-6)


def test_sort_claim_group_gives_each_arm_its_twins_weights_data_and_tests():
    v = load_claim("yan2020_nee_sort_length")
    kw = dict(d_model=16, n_layers=1, n_heads=2, d_ff=32, steps=2, batch=16, train_len=5,
              lengths=(5, 9), n_test=20, lr=1e-3, device="cpu")
    g = v._train_group(**kw, seed=4)
    for i, a in enumerate(v.ARMS):
        r = v._reference_train_and_test(a, **kw, seed=4)
        assert {key: g[key][i] for key in g} == r


def test_bad_inputs():
    ms = _members()
    with pytest.raises(TypeError, match="members must be a sequence"):
        StackedExecutor(ms[0])
    with pytest.raises(ValueError, match="members must contain at least one"):
        StackedExecutor([])
    with pytest.raises(TypeError, match=r"members\[1\] must be a MaskedPointerExecutor"):
        StackedExecutor([ms[0], "x"])
    other = MaskedPointerExecutor(NEEConfig(**dict(SMALL, d_model=32)))
    with pytest.raises(ValueError, match=r"members\[1\].config.d_model must equal .*16.*got 32"):
        StackedExecutor([ms[0], other])
    other = MaskedPointerExecutor(NEEConfig(**dict(SMALL, out_bits=9)))
    with pytest.raises(ValueError, match="value-head width must equal .*7.*got 9"):
        StackedExecutor([ms[0], other])
    st = StackedExecutor(ms)
    nums, mask = _inputs()
    with pytest.raises(ValueError, match=r"numbers must have shape \(4, B, L\)"):
        st.step(nums[:2])
    with pytest.raises(ValueError, match="numbers must lie in"):
        st.step(nums + 2 ** SMALL["bits"])
    with pytest.raises(TypeError, match="mask must be a bool tensor"):
        st.step(nums, mask.float())
    with pytest.raises(ValueError, match="mask must have the shape of numbers"):
        st.step(nums, mask[:, :, :2])
    with pytest.raises(ValueError, match="target_bits must have the shape"):
        stacked_bit_loss(torch.zeros(2, 3, 4), torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="numbers and mask must have the shape"):
        stacked_min_pointer_loss(torch.zeros(2, 3, 4), nums[:2, :3], mask[:2, :3, :3])
