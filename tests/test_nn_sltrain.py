"""SparsePlusLowRankLinear (SLTrain): fixed support, W = S at init, forward == dense
reference (outputs and gradients), backends agree, parameter count, determinism, errors."""

import math

import pytest

torch = pytest.importorskip("torch")

from theorylab.nn.sltrain import (  # noqa: E402
    SparsePlusLowRankLinear,
    sltrain_num_parameters,
)


def _layer(in_f=20, out_f=12, rank=3, density=0.1, seed=0, dtype=torch.float64, **kw):
    return SparsePlusLowRankLinear(in_f, out_f, rank=rank, density=density, dtype=dtype,
                                   generator=torch.Generator().manual_seed(seed), **kw)


def _steps(layer, n=5, lr=0.05):
    opt = torch.optim.Adam(layer.parameters(), lr=lr)
    g = torch.Generator().manual_seed(7)
    for _ in range(n):
        x = torch.randn(8, layer.in_features, generator=g, dtype=layer.A.dtype)
        opt.zero_grad()
        (layer(x) ** 2).mean().backward()
        opt.step()


def test_support_size_fixed_and_off_support_exactly_zero():
    layer = _layer()
    assert layer.nnz == int(0.1 * 20 * 12) == 24
    support0 = layer.support.clone()
    assert torch.equal(support0, torch.sort(support0).values)
    assert len(torch.unique(support0)) == 24
    _steps(layer)
    assert torch.equal(layer.support, support0)
    S = layer.sparse_weight().detach().flatten()
    off = torch.ones_like(S, dtype=torch.bool)
    off[support0] = False
    assert torch.count_nonzero(S[off]) == 0
    assert torch.count_nonzero(S[support0]) == 24


def test_reference_init_w_equals_s():
    layer = _layer()
    assert torch.count_nonzero(layer.B) == 0
    torch.testing.assert_close(layer.dense_weight(), layer.sparse_weight(), rtol=0, atol=0)
    x = torch.randn(5, 20, dtype=torch.float64)
    torch.testing.assert_close(layer(x), x @ layer.sparse_weight().T + layer.bias)
    bound = 1 / math.sqrt(20)
    assert layer.values.abs().max() <= bound and layer.A.abs().max() <= bound
    assert layer.bias.abs().max() <= 1 / math.sqrt(12)


def test_zero_sparse_init_is_the_ablation():
    layer = _layer(init="zero_sparse")
    assert torch.count_nonzero(layer.values) == 0
    assert torch.count_nonzero(layer.B) > 0
    torch.testing.assert_close(layer.dense_weight(), layer.low_rank_weight())


@pytest.mark.parametrize("backend", ["dense", "sparse"])
@pytest.mark.parametrize("alpha", [None, 32.0])
def test_forward_equals_dense_reference_outputs_and_gradients(backend, alpha):
    layer = _layer(backend=backend, alpha=alpha)
    _steps(layer)  # B ≠ 0 now
    layer.zero_grad()
    x = torch.randn(4, 3, 20, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 12, dtype=torch.float64)
    (layer(x) * w).sum().backward()
    grads = {n: p.grad.clone() for n, p in layer.named_parameters()}
    gx = x.grad.clone()
    layer.zero_grad()
    x.grad = None
    ref = x @ layer.dense_weight().T + layer.bias
    (ref * w).sum().backward()
    torch.testing.assert_close(layer(x), ref, rtol=1e-12, atol=1e-12)
    for n, p in layer.named_parameters():
        torch.testing.assert_close(grads[n], p.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gx, x.grad, rtol=1e-12, atol=1e-12)


def test_backends_agree_after_training():
    a, b = _layer(backend="dense"), _layer(backend="sparse")
    _steps(a)
    _steps(b)
    for (na, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-10, atol=1e-12, msg=na)


def test_parameter_count_and_scaling():
    layer = _layer(64, 32, rank=4, density=0.03)
    expected = 4 * (64 + 32) + int(0.03 * 64 * 32) + 32
    assert layer.num_parameters == expected == sltrain_num_parameters(64, 32, rank=4,
                                                                      density=0.03)
    assert sum(p.numel() for p in layer.parameters()) == expected
    assert _layer(rank=4, alpha=32.0).scaling == 8.0
    nb = _layer(bias=False)
    assert nb.bias is None and nb.num_parameters == 3 * 32 + 24


def test_hand_example():
    """1×2 layer, rank 1, density 1/2: y = (α/r) B A x + s x_j + b, written out."""
    layer = SparsePlusLowRankLinear(2, 1, rank=1, density=0.5, dtype=torch.float64,
                                    generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        layer.A.copy_(torch.tensor([[1.0, 2.0]]))
        layer.B.fill_(3.0)
        layer.values.fill_(5.0)
        layer.bias.fill_(0.5)
    j = int(layer.support[0])
    x = torch.tensor([[1.0, 10.0]], dtype=torch.float64)
    expected = 3.0 * (1.0 + 20.0) + 5.0 * x[0, j] + 0.5
    assert layer(x).item() == pytest.approx(float(expected))


def test_config_round_trip():
    from dataclasses import asdict

    layer = _layer(alpha=8.0, init="zero_sparse", backend="sparse")
    again = SparsePlusLowRankLinear(20, 12, dtype=torch.float64,
                                    generator=torch.Generator().manual_seed(0),
                                    **asdict(layer.config))
    assert again.config == layer.config
    assert torch.equal(again.support, layer.support) and torch.equal(again.B, layer.B)


def test_same_seed_same_support():
    assert torch.equal(_layer(seed=4).support, _layer(seed=4).support)
    assert not torch.equal(_layer(seed=4).support, _layer(seed=5).support)
    assert _layer(density=0.0).nnz == 0
    x = torch.randn(2, 20, dtype=torch.float64)
    z = _layer(density=0.0)
    torch.testing.assert_close(z(x), x @ z.low_rank_weight().T + z.bias)


def test_bad_inputs_name_the_parameter():
    with pytest.raises(ValueError, match="density"):
        _layer(density=1.5)
    with pytest.raises(ValueError, match="density"):
        _layer(density=-0.1)
    with pytest.raises(ValueError, match="rank"):
        _layer(rank=0)
    with pytest.raises(ValueError, match="rank"):
        _layer(rank=13)
    with pytest.raises(ValueError, match="alpha"):
        _layer(alpha=0.0)
    with pytest.raises(ValueError, match="init"):
        _layer(init="zeros")
    with pytest.raises(ValueError, match="backend"):
        _layer(backend="csr")
    with pytest.raises(ValueError, match="in_features"):
        SparsePlusLowRankLinear(0, 4, rank=1, density=0.1)
    with pytest.raises(ValueError, match="x must have last dimension 20"):
        _layer()(torch.randn(2, 19, dtype=torch.float64))


@pytest.mark.gpu
def test_cuda_backends_match_cpu():
    cpu = _layer(dtype=torch.float32)
    _steps(cpu)
    for backend in ("dense", "sparse"):
        gpu = _layer(dtype=torch.float32, backend=backend).cuda()
        gpu.load_state_dict(cpu.state_dict())
        x = torch.randn(6, 20)
        torch.testing.assert_close(gpu(x.cuda()).cpu(), cpu(x), rtol=1e-4, atol=1e-5)
        gpu(x.cuda()).sum().backward()
        cpu.zero_grad()
        cpu(x).sum().backward()
        torch.testing.assert_close(gpu.values.grad.cpu(), cpu.values.grad, rtol=1e-4,
                                   atol=1e-5)
    g = torch.Generator(device="cuda").manual_seed(0)
    layer = SparsePlusLowRankLinear(20, 12, rank=3, density=0.1, generator=g, device="cuda")
    assert layer.support.is_cuda and layer.nnz == 24


@pytest.mark.parametrize("arm", ["sltrain", "sltrain_zero_s", "lowrank_eq", "dense"])
def test_char_lm_claim_batched_seeds_equal_separate_runs(arm):
    # the claim trains its seeds as one stacked network: each member == its own run
    from theorylab import claims

    mod = claims.load_claim("han2024_sltrain_char_lm")
    cfg = dict(context=4, embed=6, rank=2, density=0.1, steps=15, batch=16, n_chars=20_000,
               lr=5e-3, device="cpu", n_val=64)
    sep = [mod._train_lm(arm, **cfg, seed=s) for s in (3, 4)]
    bat = mod._train_lm_seeds(arm, **cfg, seed=3, n_seeds=2)
    assert bat["hidden_params"] == sep[0]["hidden_params"]
    assert bat["val_loss"] == pytest.approx([r["val_loss"] for r in sep], rel=1e-5, abs=0)
