"""Linear RNNs with negative eigenvalues (Grazzi et al. 2024): chunked scans against the
sequential references (values and every gradient, float64), hand-set witnesses, the
eigenvalue-range invariants, gradcheck, the task generators, and bad inputs."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from theorylab.seq.linear_rnn import (
    DeltaNetLayer,
    DiagonalLinearRNN,
    LinearRNNConfig,
    LinearRNNModel,
    delta_rule_chunked,
    delta_rule_sequential,
    diagonal_scan_chunked,
    diagonal_scan_sequential,
    eigenvalue_transform,
)
from theorylab.seq.tasks import (
    cycle_navigation_task,
    make_task,
    mod_add_task,
    mod_arithmetic_task,
    parity_task,
    sequence_accuracy,
    train_state_tracking,
)

F64 = torch.float64


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _diag_inputs(B, T, D, seed, h0=False):
    g = _gen(seed)
    a = (2 * torch.rand(B, T, D, generator=g, dtype=F64) - 1).requires_grad_()
    b = torch.randn(B, T, D, generator=g, dtype=F64).requires_grad_()
    h = torch.randn(B, D, generator=g, dtype=F64).requires_grad_() if h0 else None
    return a, b, h


def _delta_inputs(B, H, T, dk, dv, seed, S0=False):
    g = _gen(seed)
    q = torch.randn(B, H, T, dk, generator=g, dtype=F64).requires_grad_()
    k = torch.randn(B, H, T, dk, generator=g, dtype=F64)
    k = (k / k.norm(dim=-1, keepdim=True)).requires_grad_()
    v = torch.randn(B, H, T, dv, generator=g, dtype=F64).requires_grad_()
    beta = (2 * torch.rand(B, H, T, generator=g, dtype=F64)).requires_grad_()
    S = torch.randn(B, H, dk, dv, generator=g, dtype=F64).requires_grad_() if S0 else None
    return q, k, v, beta, S


def _grads(out, inputs, seed):
    w = torch.randn(out.shape, generator=_gen(seed + 1), dtype=out.dtype)
    return torch.autograd.grad((out * w).sum(), [x for x in inputs if x is not None])


# --------------------------------------------------------------------------- scans agree


@pytest.mark.parametrize("T,chunk", [(1, 4), (37, 8), (64, 16), (100, 64), (129, 32)])
@pytest.mark.parametrize("h0", [False, True])
def test_diagonal_chunked_equals_sequential_values_and_gradients(T, chunk, h0):
    a, b, h = _diag_inputs(2, T, 3, seed=T, h0=h0)
    ref = diagonal_scan_sequential(a, b, h0=h)
    out = diagonal_scan_chunked(a, b, h0=h, chunk_size=chunk)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    for g_out, g_ref in zip(_grads(out, (a, b, h), T), _grads(ref, (a, b, h), T), strict=True):
        torch.testing.assert_close(g_out, g_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("T,chunk", [(1, 4), (23, 8), (64, 16), (70, 64)])
@pytest.mark.parametrize("S0", [False, True])
def test_delta_chunked_equals_sequential_values_and_gradients(T, chunk, S0):
    q, k, v, beta, S = _delta_inputs(2, 2, T, 4, 3, seed=T, S0=S0)
    o_ref, S_ref = delta_rule_sequential(q, k, v, beta, S0=S)
    o, S_end = delta_rule_chunked(q, k, v, beta, S0=S, chunk_size=chunk)
    torch.testing.assert_close(o, o_ref, rtol=1e-10, atol=1e-11)
    torch.testing.assert_close(S_end, S_ref, rtol=1e-10, atol=1e-11)
    # gradients of a functional of both outputs, w.r.t. every input
    inputs = (q, k, v, beta, S)
    w1 = torch.randn(o.shape, generator=_gen(7), dtype=F64)
    w2 = torch.randn(S_end.shape, generator=_gen(8), dtype=F64)
    live = [x for x in inputs if x is not None]
    g = torch.autograd.grad((o * w1).sum() + (S_end * w2).sum(), live)
    g_ref = torch.autograd.grad((o_ref * w1).sum() + (S_ref * w2).sum(), live)
    for x, y in zip(g, g_ref, strict=True):
        torch.testing.assert_close(x, y, rtol=1e-9, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(T=st.integers(1, 40), chunk=st.integers(1, 16), D=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_diagonal_chunked_any_length_and_chunk(T, chunk, D, seed):
    a, b, _ = _diag_inputs(1, T, D, seed)
    torch.testing.assert_close(diagonal_scan_chunked(a, b, chunk_size=chunk),
                               diagonal_scan_sequential(a, b), rtol=1e-12, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(T=st.integers(1, 30), chunk=st.integers(1, 12), seed=st.integers(0, 2**16))
def test_delta_chunked_any_length_and_chunk(T, chunk, seed):
    q, k, v, beta, _ = _delta_inputs(1, 1, T, 3, 2, seed)
    o, S = delta_rule_chunked(q, k, v, beta, chunk_size=chunk)
    o_ref, S_ref = delta_rule_sequential(q, k, v, beta)
    torch.testing.assert_close(o, o_ref, rtol=1e-10, atol=1e-11)
    torch.testing.assert_close(S, S_ref, rtol=1e-10, atol=1e-11)


def test_gradcheck_chunked_scans_float64():
    a, b, h = _diag_inputs(1, 9, 2, seed=3, h0=True)
    assert torch.autograd.gradcheck(
        lambda a, b, h: diagonal_scan_chunked(a, b, h0=h, chunk_size=4), (a, b, h))
    q, k, v, beta, S = _delta_inputs(1, 1, 7, 3, 2, seed=4, S0=True)
    assert torch.autograd.gradcheck(
        lambda *x: delta_rule_chunked(*x[:4], S0=x[4], chunk_size=3), (q, k, v, beta, S))


@pytest.mark.parametrize("kind", ["diag", "delta"])
def test_model_chunked_equals_sequential_with_the_same_weights(kind):
    cfg = LinearRNNConfig(vocab_size=3, n_classes=3, d_model=8, n_layers=2, n_heads=2,
                          kind=kind, chunk_size=8, scan="chunked")
    fast = LinearRNNModel(cfg, generator=_gen(0)).double()
    slow = LinearRNNModel(LinearRNNConfig(**{**cfg.__dict__, "scan": "sequential"}),
                          generator=_gen(0)).double()
    tok = torch.randint(0, 3, (2, 21), generator=_gen(1))
    out_f, out_s = fast(tok), slow(tok)
    torch.testing.assert_close(out_f, out_s, rtol=1e-10, atol=1e-12)
    out_f.square().sum().backward()
    out_s.square().sum().backward()
    for (n, p), (_, p2) in zip(fast.named_parameters(), slow.named_parameters(), strict=True):
        torch.testing.assert_close(p.grad, p2.grad, rtol=1e-9, atol=1e-11, msg=n)


# --------------------------------------------------------------------------- hand-set witnesses


def test_hand_set_diagonal_cell_computes_parity_to_length_10000():
    bits = torch.randint(0, 2, (4, 10_000), generator=_gen(5))
    a = (1.0 - 2.0 * bits.to(F64))[..., None]  # −1 on a 1, +1 on a 0: eigenvalues in [−1, 1]
    h = diagonal_scan_chunked(a, torch.zeros_like(a), h0=torch.ones(4, 1, dtype=F64))
    parity = (h[..., 0] < 0).long()
    assert torch.equal(parity, bits.cumsum(1) % 2)
    # the same cell clipped to the [0, 1] range (a = 0 on a 1) cannot flip the sign
    h01 = diagonal_scan_chunked(a.clamp(min=0.0), torch.zeros_like(a),
                                h0=torch.ones(4, 1, dtype=F64))
    assert bool((h01 >= 0).all())


def test_hand_set_deltanet_reflection_computes_parity():
    # β = 2 on a 1 (reflection along k: the k-component goes x → 2v − x), β = 0 on a 0
    bits = torch.randint(0, 2, (3, 1, 500), generator=_gen(6))
    k = torch.tensor([1.0, 0.0], dtype=F64).expand(3, 1, 500, 2)
    v = torch.ones(3, 1, 500, 1, dtype=F64)
    o, _ = delta_rule_chunked(k, k, v, 2.0 * bits.to(F64), chunk_size=64)
    assert torch.equal((o[..., 0] > 1.0).long(), bits.cumsum(-1) % 2)


# --------------------------------------------------------------------------- invariants


@pytest.mark.parametrize("eig_range,lo,hi", [("[0,1]", 0.0, 1.0), ("[-1,1]", -1.0, 1.0)])
def test_diagonal_transitions_stay_in_range_and_attain_it(eig_range, lo, hi):
    layer = DiagonalLinearRNN(6, eig_range=eig_range, generator=_gen(0))
    x = 50 * torch.randn(64, 10, 6, generator=_gen(1))
    a = layer.transitions(x).detach()
    assert float(a.min()) >= lo and float(a.max()) <= hi
    assert float(a.min()) < lo + 0.05 and float(a.max()) > hi - 0.05  # the range is attained


@pytest.mark.parametrize("eig_range,lo", [("[0,1]", 0.0), ("[-1,1]", -1.0)])
def test_deltanet_transition_spectrum(eig_range, lo):
    layer = DeltaNetLayer(4, n_heads=1, eig_range=eig_range, generator=_gen(0))
    x = 50 * torch.randn(16, 8, 4, generator=_gen(2))
    beta = layer.betas(x).detach().reshape(-1).double()
    k = torch.nn.functional.normalize(torch.randn(beta.numel(), 4, generator=_gen(3),
                                                  dtype=F64), dim=-1)
    Hmat = torch.eye(4, dtype=F64) - beta[:, None, None] * k[:, :, None] * k[:, None, :]
    ev = torch.linalg.eigvalsh(Hmat)  # ascending: 1 − β, then 1 (three times)
    torch.testing.assert_close(ev[:, 0], 1.0 - beta, rtol=0, atol=1e-12)
    torch.testing.assert_close(ev[:, 1:], torch.ones_like(ev[:, 1:]), rtol=0, atol=1e-12)
    assert float(ev.min()) >= lo - 1e-12 and float(ev.min()) < lo + 0.05
    # β = 2 is a reflection: H² = I
    H2 = torch.eye(4, dtype=F64) - 2 * k[0, :, None] * k[0, None, :]
    torch.testing.assert_close(H2 @ H2, torch.eye(4, dtype=F64), rtol=0, atol=1e-14)


def test_eigenvalue_transform_values():
    z = torch.tensor([0.0])
    assert eigenvalue_transform(z, eig_range="[0,1]", kind="diag").item() == 0.5
    assert eigenvalue_transform(z, eig_range="[-1,1]", kind="diag").item() == 0.0
    assert eigenvalue_transform(z, eig_range="[-1,1]", kind="delta").item() == 1.0


# --------------------------------------------------------------------------- tasks


def _eval_expression(tokens, m):
    sym = {m: "+", m + 1: "-", m + 2: "*", m + 3: "(", m + 4: ")"}
    return eval("".join(sym.get(t, str(t)) for t in tokens)) % m  # noqa: S307 (digits/ops only)


@pytest.mark.parametrize("length", [1, 2, 3, 7, 12, 25])
def test_bracket_expressions_evaluate_to_their_labels(length):
    b = mod_arithmetic_task(20, length, modulus=5, brackets=True, generator=_gen(length))
    assert b.tokens.shape == (20, length) and int(b.mask.sum()) == 20
    for row, lab in zip(b.tokens.tolist(), b.labels[:, -1].tolist(), strict=True):
        assert _eval_expression(row, 5) == lab


def test_left_to_right_arithmetic_labels():
    b = mod_arithmetic_task(10, 9, modulus=5, generator=_gen(0))
    for row, lab in zip(b.tokens.tolist(), b.labels.tolist(), strict=True):
        val = row[0]
        assert lab[0] == val
        for j in range(1, 9, 2):
            op, d = row[j] - 5, row[j + 1]
            val = (val + d, val - d, val * d)[op] % 5
            assert lab[j + 1] == val


def test_running_state_tasks():
    b = cycle_navigation_task(4, 30, n_states=5, generator=_gen(0))
    pos = 0
    for t, tok in enumerate(b.tokens[0].tolist()):
        pos = (pos + (0, 1, -1)[tok]) % 5
        assert b.labels[0, t] == pos
    b = mod_add_task(3, 11, modulus=3, generator=_gen(1))
    assert torch.equal(b.labels, b.tokens.cumsum(1) % 3) and b.n_classes == 3
    b = make_task("parity", 2, 5, generator=_gen(2))
    assert torch.equal(b.labels, parity_task(2, 5, generator=_gen(2)).labels)


def test_training_reduces_the_loss_and_accuracy_is_measured():
    cfg = LinearRNNConfig(vocab_size=2, n_classes=2, d_model=8, kind="diag", mlp=False)
    model = LinearRNNModel(cfg, generator=_gen(0))
    losses = train_state_tracking(model, "parity", steps=40, lr=2e-2, batch=16, min_length=2,
                                  max_length=10, generator=_gen(1))
    assert len(losses) == 40 and math.isfinite(losses[-1])
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5
    acc = sequence_accuracy(model, parity_task(64, 8, generator=_gen(2)))
    assert 0.0 <= acc <= 1.0


# --------------------------------------------------------------------------- bad inputs


def test_bad_inputs_raise_clear_errors():
    a = torch.rand(2, 5, 3, dtype=F64)
    with pytest.raises(ValueError, match=r"b must have shape \(2, 5, 3\), got \(2, 5, 4\)"):
        diagonal_scan_sequential(a, torch.rand(2, 5, 4, dtype=F64))
    bad = a.clone()
    bad[0, 1, 2] = float("nan")
    with pytest.raises(ValueError, match="a must be finite, got 1 NaN and 0 inf entries"):
        diagonal_scan_chunked(bad, a)
    with pytest.raises(ValueError, match="chunk_size must be >= 1, got 0"):
        diagonal_scan_chunked(a, a, chunk_size=0)
    with pytest.raises(TypeError, match="a must be a torch.Tensor, got list"):
        diagonal_scan_chunked([1.0], a)
    with pytest.raises(TypeError, match="b must have the dtype of a"):
        diagonal_scan_chunked(a, a.float())
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 3\), got \(3,\)"):
        diagonal_scan_chunked(a, a, h0=torch.zeros(3, dtype=F64))
    q = torch.randn(1, 2, 6, 4, dtype=F64)
    with pytest.raises(ValueError, match=r"k must have shape \(1, 2, 6, 4\), got \(1, 2, 6, 3\)"):
        delta_rule_chunked(q, q[..., :3], q, q[..., 0])
    with pytest.raises(ValueError, match=r"beta must have shape \(1, 2, 6\), got \(1, 2, 5\)"):
        delta_rule_sequential(q, q, q, q[..., :5, 0])
    with pytest.raises(ValueError, match="q must have 4 dimensions, got shape"):
        delta_rule_chunked(q[0], q, q, q[..., 0])
    with pytest.raises(ValueError, match="eig_range must be one of '\\[0,1\\]', '\\[-1,1\\]'"):
        DiagonalLinearRNN(4, eig_range="[-2,1]")
    with pytest.raises(ValueError, match="d_model must be divisible by n_heads=3, got 8"):
        DeltaNetLayer(8, n_heads=3)
    with pytest.raises(ValueError, match="x must have last dimension 8, got shape"):
        DeltaNetLayer(8)(torch.randn(1, 3, 5))
    model = LinearRNNModel(LinearRNNConfig(vocab_size=2, n_classes=2, d_model=4, kind="diag"))
    with pytest.raises(ValueError, match=r"tokens must lie in \[0, 2\), got values in \[0, 2\]"):
        model(torch.tensor([[0, 1, 2]]))
    with pytest.raises(ValueError, match="tokens must be a 2-d integer tensor"):
        model(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="length must be odd without brackets"):
        mod_arithmetic_task(1, 4)
    with pytest.raises(ValueError, match="name must be one of"):
        make_task("copy", 1, 3)
    with pytest.raises(ValueError, match="kind must be one of 'diag', 'delta', got 'lstm'"):
        LinearRNNConfig(vocab_size=2, n_classes=2, kind="lstm")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_chunked_scans_on_cuda_match_the_cpu_reference():
    a, b, _ = _diag_inputs(2, 300, 4, seed=11)
    ref = diagonal_scan_sequential(a, b)
    out = diagonal_scan_chunked(a.detach().cuda(), b.detach().cuda(), chunk_size=64)
    torch.testing.assert_close(out.cpu(), ref.detach(), rtol=1e-10, atol=1e-12)
    q, k, v, beta, _ = _delta_inputs(1, 2, 200, 8, 8, seed=12)
    o_ref, _ = delta_rule_sequential(q, k, v, beta)
    o, _ = delta_rule_chunked(*(x.detach().cuda() for x in (q, k, v, beta)), chunk_size=64)
    torch.testing.assert_close(o.cpu(), o_ref.detach(), rtol=1e-9, atol=1e-10)
