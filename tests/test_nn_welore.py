"""Invariants of the WeLore rank allocator and FactorizedLinear."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from theorylab.nn.welore import (  # noqa: E402
    FactorizedLinear,
    allocate_ranks,
    compress_model,
    normalized_spectrum,
)

F64 = torch.float64


def _spectra(seed=0):
    rng = np.random.default_rng(seed)
    return [np.sort(rng.gamma(0.5, size=k))[::-1] * s for k, s in ((8, 1.0), (16, 3.0), (12, 0.2))]


def test_normalized_spectrum_hand_values():
    assert normalized_spectrum([5.0, 3.0, 1.0]).tolist() == [1.0, 0.5, 0.0]
    assert normalized_spectrum([2.0, 2.0]).tolist() == [1.0, 1.0]


def test_hand_instance_global_threshold():
    # σ̂: A = [1, 0, 0, 0]; B = [1, .8, .6, 0]; removing 4 of 8 takes A's three zeros and B's 0
    a = allocate_ranks([np.array([10.0, 1, 1, 1]), np.array([5.0, 4, 3, 0])], reduction=0.5)
    assert a.ranks == (1, 3) and a.full_ranks == (4, 4)
    assert a.threshold == pytest.approx(0.0)
    u = allocate_ranks([np.array([10.0, 1, 1, 1]), np.array([5.0, 4, 3, 0])], reduction=0.5,
                       rule="uniform")
    assert u.ranks == (2, 2) and u.threshold is None


@pytest.mark.parametrize("red", [0.0, 0.1, 0.3, 0.5, 0.7, 0.9])
def test_total_rank_removed_equals_target(red):
    sp = _spectra()
    a = allocate_ranks(sp, reduction=red)
    K = sum(a.full_ranks)
    assert K - sum(a.ranks) == round(red * K)
    u = allocate_ranks(sp, reduction=red, rule="uniform")
    for k, r in zip(u.full_ranks, u.ranks, strict=True):
        assert abs((k - r) - red * k) <= 0.5 + 1e-12  # same fraction, up to rounding


def test_kept_components_are_exactly_those_above_threshold():
    sp = _spectra(1)
    a = allocate_ranks(sp, reduction=0.6)
    for s, r in zip(sp, a.ranks, strict=True):
        sh = normalized_spectrum(s)
        assert (sh[:r] >= a.threshold).all()
        assert (sh[r:] <= a.threshold).all()


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 0.9), st.floats(0.0, 0.9), st.integers(0, 5))
def test_monotone_in_target(r1, r2, seed):
    sp = _spectra(seed)
    lo, hi = sorted((r1, r2))
    a, b = allocate_ranks(sp, reduction=lo), allocate_ranks(sp, reduction=hi)
    assert all(x >= y for x, y in zip(a.ranks, b.ranks, strict=True))
    assert all(r >= 1 for r in b.ranks)


def test_accepts_matrices_and_linears():
    torch.manual_seed(0)
    lins = [torch.nn.Linear(6, 9), torch.nn.Linear(9, 4)]
    a1 = allocate_ranks(lins, reduction=0.4)
    a2 = allocate_ranks([lin.weight for lin in lins], reduction=0.4)
    a3 = allocate_ranks([lin.weight.detach().numpy() for lin in lins], reduction=0.4)
    assert a1 == a2 and a1.ranks == a3.ranks and a1.full_ranks == (6, 4)


def test_factorized_full_rank_reproduces_the_layer_and_eckart_young():
    torch.manual_seed(0)
    lin = torch.nn.Linear(10, 7, dtype=F64)
    x = torch.randn(5, 10, dtype=F64)
    f = FactorizedLinear.from_linear(lin, rank=7)
    assert torch.allclose(f(x), lin(x), atol=1e-12)
    s = torch.linalg.svdvals(lin.weight.detach())
    for k in (1, 3, 5):
        fk = FactorizedLinear.from_linear(lin, rank=k)
        err = (lin.weight - fk.merged_weight()).square().sum().detach()
        assert float(err) == pytest.approx(float((s[k:] ** 2).sum()), rel=1e-10)
        assert torch.allclose(fk(x), x @ fk.merged_weight().T + lin.bias, atol=1e-12)


def test_factorized_float32_full_rank():
    torch.manual_seed(0)
    lin = torch.nn.Linear(32, 16)
    x = torch.randn(4, 32)
    assert torch.allclose(FactorizedLinear.from_linear(lin, rank=16)(x), lin(x), rtol=1e-5,
                          atol=1e-5)


def test_compress_model_flags_and_copy():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16),
                                torch.nn.ReLU(), torch.nn.Linear(16, 3))
    W0 = model[2].weight.detach().clone()
    new, rep = compress_model(model, reduction=0.5, names=["0", "2"], min_ratio=0.0)
    assert torch.equal(model[2].weight, W0) and isinstance(model[2], torch.nn.Linear)
    assert rep.kinds == ("LRC", "LRC")
    assert isinstance(new[0], FactorizedLinear) and new[0].A.requires_grad
    assert new[0].rank == rep.allocation.ranks[0]
    # a high min_ratio keeps weakly pruned matrices dense and frozen
    new2, rep2 = compress_model(model, reduction=0.1, names=["0", "2"], min_ratio=0.95)
    assert rep2.kinds == ("N-LRC", "N-LRC")
    assert not new2[0].weight.requires_grad
    assert rep2.n_parameters == 8 * 16 + 16 * 16
    x = torch.randn(3, 8)
    assert torch.allclose(new2(x), model(x))


def test_bad_inputs_name_the_parameter():
    with pytest.raises(ValueError, match="reduction"):
        allocate_ranks(_spectra(), reduction=1.0)
    with pytest.raises(ValueError, match="reduction"):
        allocate_ranks(_spectra(), reduction=-0.1)
    with pytest.raises(ValueError, match="rule"):
        allocate_ranks(_spectra(), reduction=0.5, rule="random")
    with pytest.raises(TypeError, match="weights"):
        allocate_ranks([], reduction=0.5)
    with pytest.raises(ValueError, match="weights"):
        allocate_ranks([np.zeros((2, 2, 2))], reduction=0.5)
    with pytest.raises(ValueError, match="rank"):
        FactorizedLinear.from_linear(torch.nn.Linear(4, 3), rank=4)
    with pytest.raises(ValueError, match="names"):
        compress_model(torch.nn.Sequential(torch.nn.Linear(2, 2)), reduction=0.5, names=["9"])
    with pytest.raises(ValueError, match="min_ratio"):
        compress_model(torch.nn.Sequential(torch.nn.Linear(2, 2)), reduction=0.5,
                       min_ratio=2.0)


@pytest.mark.gpu
def test_welore_on_cuda():
    lin = torch.nn.Linear(16, 8, device="cuda")
    a = allocate_ranks([lin], reduction=0.5)
    f = FactorizedLinear.from_linear(lin, rank=a.ranks[0])
    assert f(torch.randn(2, 16, device="cuda")).device.type == "cuda"


def test_factorized_gradients_match_dense_reference():
    torch.manual_seed(0)
    lin = torch.nn.Linear(6, 5, dtype=F64)
    f = FactorizedLinear.from_linear(lin, rank=3)
    x = torch.randn(4, 6, dtype=F64)
    f(x).square().sum().backward()
    A = f.A.detach().clone().requires_grad_(True)
    B = f.B.detach().clone().requires_grad_(True)
    (x @ (A @ B).T + f.bias.detach()).square().sum().backward()
    assert torch.allclose(f.A.grad, A.grad, atol=1e-12)
    assert torch.allclose(f.B.grad, B.grad, atol=1e-12)
