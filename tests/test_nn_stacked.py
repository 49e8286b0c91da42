"""Stacked training of independent members (theorylab.nn.stacked) against the members run one
by one: forward passes of every stacked layer, whole Adam trainings, and the two claims that
train their seeds as stacked models (xie2024_kind_diversion, sun2024_svfit_sigma_finetune)."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab import claims  # noqa: E402
from theorylab.nn import stacked as st  # noqa: E402
from theorylab.nn.lora import LoRALinear  # noqa: E402
from theorylab.nn.svd import GatedSVDLinear, SVDLinear  # noqa: E402

F64 = torch.float64
M = 3


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _linears(in_f=9, out_f=7, k=M):
    out = []
    for i in range(k):
        torch.manual_seed(100 + i)
        out.append(torch.nn.Linear(in_f, out_f, dtype=F64))
    return out


def _x(k=M, B=5, d=9, seed=0):
    return torch.randn(k, B, d, generator=_gen(seed), dtype=F64)


def _trained_a_bit(mod, fwd, seed):
    """Give zero-initialised adapter parts nonzero values, so the check is not trivial."""
    with torch.no_grad():
        for p in mod.parameters():
            if p.requires_grad:
                p.add_(0.3 * torch.randn(p.shape, generator=_gen(seed), dtype=p.dtype))
    return mod


def test_linear_and_embedding_equal_members():
    mods = _linears()
    state, trainable = st.stack_state(mods, transposed=["weight"])
    x = _x()
    y = st.linear(x, state["weight"], state["bias"])
    for i, m in enumerate(mods):
        torch.testing.assert_close(y[i], m(x[i]), rtol=1e-12, atol=1e-12)
    assert [t.shape for t in trainable] == [(M, 9, 7), (M, 7)]
    assert all(t.is_contiguous() and t.is_leaf and t.requires_grad for t in trainable)
    with torch.no_grad():
        state["weight"][1, 2, 3] = 5.0  # member 1, weight[3, 2]
    st.unstack_state_(state, mods, transposed=["weight"])
    assert float(mods[1].weight.detach()[3, 2]) == 5.0
    embs = [torch.nn.Embedding(6, 4, dtype=F64) for _ in range(M)]
    E = st.stack_state(embs)[0]["weight"]
    idx = torch.randint(0, 6, (M, 8), generator=_gen(1))
    out = st.embedding(idx, E)
    for i, e in enumerate(embs):
        assert torch.equal(out[i], e(idx[i]))


def test_lora_and_svd_linear_equal_members():
    x = _x()
    lo = [_trained_a_bit(LoRALinear(b, rank=2, alpha=3.0, generator=_gen(i)), None, i)
          for i, b in enumerate(_linears())]
    s = st.stack_state(lo, transposed=["base.weight", "A", "B"])[0]
    y = st.lora_linear(x, s["base.weight"], s["base.bias"], s["A"], s["B"], lo[0].scaling)
    for i, m in enumerate(lo):
        torch.testing.assert_close(y[i], m(x[i]), rtol=1e-12, atol=1e-12)
    sv = [_trained_a_bit(SVDLinear(b, rank=4), None, i) for i, b in enumerate(_linears())]
    s = st.stack_state(sv, transposed=["base.weight", "U"])[0]
    y = st.svd_linear(x, s["base.weight"], s["base.bias"], s["U"], s["V"], s["sigma"],
                      s["sigma0"])
    for i, m in enumerate(sv):
        torch.testing.assert_close(y[i], m(x[i]), rtol=1e-12, atol=1e-12)


def test_gated_svd_linear_equals_members_and_gates_per_member():
    layers = [_trained_a_bit(GatedSVDLinear(9, 8, n_learngene=2, n_tailor=2, n_groups=3,
                                            generator=_gen(i), dtype=F64), None, i)
              for i in range(M)]
    s = st.stack_state(layers, transposed=["U_G", "U_T"])[0]
    x = _x()
    c = torch.randint(0, 3, (M, 5), generator=_gen(2))
    keys = ("sigma_G", "V_G", "sigma_T", "V_T", "bias", "tailor_group")
    kw = dict(U_G_t=s["U_G"], U_T_t=s["U_T"], **{k: s[k] for k in keys})
    y = st.gated_svd_linear(x, c, **kw)
    for i, m in enumerate(layers):
        torch.testing.assert_close(y[i], m(x[i], c[i]), rtol=1e-12, atol=1e-12)
    # another member's group ids change only that member's output
    c2 = c.clone()
    c2[1] = (c2[1] + 1) % 3
    y2 = st.gated_svd_linear(x, c2, **kw)
    assert torch.equal(y2[0], y[0]) and torch.equal(y2[2], y[2])
    assert not torch.allclose(y2[1], y[1])


def _separate_adam(mods, xs, steps, lr):
    for m, x in zip(mods, xs, strict=True):
        opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=lr)
        for k in range(steps):
            opt.zero_grad()
            m(x[k]).square().mean().backward()
            opt.step()


def test_train_stacked_equals_separate_adam_trainings():
    steps, lr = 6, 0.05
    mods = [LoRALinear(b, rank=2, generator=_gen(i)) for i, b in enumerate(_linears())]
    ref = copy.deepcopy(mods)
    xs = [torch.randn(steps, 5, 9, generator=_gen(10 + i), dtype=F64) for i in range(M)]
    tr = ["base.weight", "A", "B"]
    state, trainable = st.stack_state(mods, transposed=tr)
    assert len(trainable) == 2  # A and B; the base layer stays frozen

    def loss(step):
        x = torch.stack([x[step] for x in xs])
        y = st.lora_linear(x, state["base.weight"], state["base.bias"], state["A"],
                           state["B"], mods[0].scaling)
        return y.square().mean((1, 2))

    L = st.train_stacked(loss, trainable, steps=steps, lr=lr)
    assert L.shape == (steps, M)
    st.unstack_state_(state, mods, transposed=tr)
    _separate_adam(ref, xs, steps, lr)
    for m, r in zip(mods, ref, strict=True):
        for (n, p), (_, q) in zip(m.named_parameters(), r.named_parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12, msg=n)
        assert not torch.equal(m.B, torch.zeros_like(m.B))  # it did train


def test_bad_inputs():
    with pytest.raises(ValueError, match="modules must contain at least one module"):
        st.stack_state([])
    with pytest.raises(ValueError, match="identical parameter names, shapes"):
        st.stack_state([torch.nn.Linear(3, 2), torch.nn.Linear(3, 4)])
    with pytest.raises(ValueError, match="transposed must name 2-D parameters or buffers, "
                                         "got 'bias'"):
        st.stack_state([torch.nn.Linear(3, 2)], transposed=["bias"])
    frozen = torch.nn.Linear(3, 2)
    frozen.bias.requires_grad_(False)
    with pytest.raises(ValueError, match="module 1 differing from module 0"):
        st.stack_state([torch.nn.Linear(3, 2), frozen])
    w = torch.zeros(2, 3, requires_grad=True)
    with pytest.raises(ValueError, match="steps must be >= 1, got 0"):
        st.train_stacked(lambda k: w.sum(1), [w], steps=0, lr=0.1)
    with pytest.raises(ValueError, match="params must contain at least one"):
        st.train_stacked(lambda k: w.sum(1), [], steps=1, lr=0.1)
    with pytest.raises(FloatingPointError, match=r"at step 0 \(member 1\)"):
        st.train_stacked(lambda k: w.sum(1) + torch.tensor([0.0, float("nan")]), [w],
                         steps=2, lr=0.1)


@pytest.mark.parametrize("claim, kw", [
    ("xie2024_kind_diversion", dict(hidden=48, n_learngene=12, n_tailor=2, pre_steps=12,
                                    steps=8, batch=16, device="cpu")),
    ("sun2024_svfit_sigma_finetune", dict(hidden=64, pre_steps=12, steps=8,
                                          tasks=("gain", "permute"),
                                          arms=("svfit", "lora_equal", "lora_r1", "lora_r4"),
                                          device="cpu")),
])
def test_claim_stacked_seeds_equal_reference_runs(claim, kw):
    """Seeds trained together (fast path) == each seed trained alone (the old path)."""
    mod = claims.load_claim(claim)
    seeds = (3, 4)
    fast = mod._batch(**kw, seeds=seeds)
    for i, seed in enumerate(seeds):
        ref = mod._reference_one(**kw, seed=seed)
        assert set(ref) == set(fast)
        for k, v in ref.items():
            np.testing.assert_allclose(fast[k][i], v, rtol=1e-5, atol=1e-6, err_msg=k)
