"""MonarchLinear and the dense → Monarch projection: fast == dense reference (outputs and
gradients), exact recovery, idempotence, optimality, Kronecker membership, padding, errors."""

import math

import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from theorylab.nn.monarch import (  # noqa: E402
    MonarchLinear,
    monarch_dense,
    monarch_multiply,
    monarch_shapes,
    project_to_monarch,
)

SHAPES = [(16, 16, 4), (12, 20, 3), (20, 12, 3), (17, 23, 4), (30, 10, 2), (10, 40, 5),
          (64, 64, 8)]


def _layer(in_f, out_f, b, seed=0, dtype=torch.float64, bias=True):
    return MonarchLinear(in_f, out_f, nblocks=b, bias=bias, dtype=dtype,
                         generator=torch.Generator().manual_seed(seed))


def _rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("in_f,out_f,b", SHAPES)
def test_fast_equals_dense_reference_outputs_and_gradients(in_f, out_f, b):
    fast = _layer(in_f, out_f, b)
    x = torch.randn(7, in_f, dtype=torch.float64, requires_grad=True)
    w = torch.randn(7, out_f, dtype=torch.float64)
    (fast(x) * w).sum().backward()
    b1 = fast.blk1.detach().clone().requires_grad_(True)
    b2 = fast.blk2.detach().clone().requires_grad_(True)
    xr = x.detach().clone().requires_grad_(True)
    ref = xr @ monarch_dense(b1, b2, in_f, out_f).T + fast.bias.detach()
    (ref * w).sum().backward()
    torch.testing.assert_close(fast(x), ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fast.blk1.grad, b1.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fast.blk2.grad, b2.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(x.grad, xr.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fast.dense_weight(), monarch_dense(fast.blk1, fast.blk2, in_f,
                                                                  out_f), rtol=0, atol=1e-14)


def test_hand_example_square_n4():
    """n = 4, b = 2: M[j b + l, k p + c] = L_l[j, k] R_k[l, c] (module docstring)."""
    b1 = torch.arange(1.0, 9.0, dtype=torch.float64).reshape(2, 2, 2)  # R_k
    b2 = torch.arange(11.0, 19.0, dtype=torch.float64).reshape(2, 2, 2)  # L_l
    M = monarch_dense(b1, b2, 4, 4)
    expected = torch.empty(4, 4, dtype=torch.float64)
    for j in range(2):
        for l in range(2):
            for k in range(2):
                for c in range(2):
                    expected[j * 2 + l, k * 2 + c] = b2[l, j, k] * b1[k, l, c]
    torch.testing.assert_close(M, expected)


@pytest.mark.parametrize("in_f,out_f,b", SHAPES)
def test_projection_exact_on_monarch_and_idempotent(in_f, out_f, b):
    layer = _layer(in_f, out_f, b, seed=3)
    M = layer.dense_weight().detach()
    p1, p2 = project_to_monarch(M, nblocks=b)
    assert _rel(monarch_dense(p1, p2, in_f, out_f), M) < 1e-13
    G = torch.randn(out_f, in_f, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    P = monarch_dense(*project_to_monarch(G, nblocks=b), in_f, out_f)
    PP = monarch_dense(*project_to_monarch(P, nblocks=b), in_f, out_f)
    assert _rel(PP, P) < 1e-13


def test_kronecker_product_is_monarch():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(8, 8, generator=g, dtype=torch.float64)
    B = torch.randn(8, 8, generator=g, dtype=torch.float64)
    K = torch.kron(A, B)  # full rank, 64 × 64
    P = monarch_dense(*project_to_monarch(K, nblocks=8), 64, 64)
    assert _rel(P, K) < 1e-13
    assert torch.linalg.matrix_rank(K).item() == 64


def test_projection_is_optimal_against_perturbations():
    g = torch.Generator().manual_seed(2)
    G = torch.randn(24, 18, generator=g, dtype=torch.float64)
    b1, b2 = project_to_monarch(G, nblocks=3)
    best = (G - monarch_dense(b1, b2, 18, 24)).norm()
    for _ in range(20):
        d1 = 1e-3 * torch.randn(b1.shape, generator=g, dtype=torch.float64)
        d2 = 1e-3 * torch.randn(b2.shape, generator=g, dtype=torch.float64)
        assert (G - monarch_dense(b1 + d1, b2 + d2, 18, 24)).norm() >= best


def test_projection_beats_equal_parameter_svd_on_kronecker():
    g = torch.Generator().manual_seed(0)
    K = torch.kron(torch.randn(16, 16, generator=g, dtype=torch.float64),
                   torch.randn(16, 16, generator=g, dtype=torch.float64))
    cfg = monarch_shapes(256, 256, 16)
    k = cfg.num_parameters // (2 * 256)
    S = torch.linalg.svdvals(K)
    svd_err = float(S[k:].square().sum().sqrt() / S.square().sum().sqrt())
    mon_err = _rel(monarch_dense(*project_to_monarch(K, nblocks=16), 256, 256), K)
    assert mon_err < 1e-13 and svd_err > 0.5


@settings(max_examples=15, deadline=None)
@given(in_f=st.integers(2, 20), out_f=st.integers(2, 20), b=st.integers(1, 5),
       seed=st.integers(0, 2 ** 16))
def test_projection_properties_hypothesis(in_f, out_f, b, seed):
    b = min(b, in_f, out_f)
    G = torch.randn(out_f, in_f, dtype=torch.float64,
                    generator=torch.Generator().manual_seed(seed))
    p1, p2 = project_to_monarch(G, nblocks=b)
    P = monarch_dense(p1, p2, in_f, out_f)
    # idempotent, and a projection never increases the norm (P ⊥ G − P per slice)
    assert _rel(monarch_dense(*project_to_monarch(P, nblocks=b), in_f, out_f), P) < 1e-10 \
        or P.norm() < 1e-12
    assert P.norm() <= G.norm() * (1 + 1e-12)
    assert abs(float(((G - P) * P).sum())) <= 1e-9 * float(G.norm() ** 2)


def test_parameter_count_and_padding():
    cfg = monarch_shapes(256, 256, 4)
    assert cfg.num_parameters == 2 * 256 ** 2 // 4
    cfg = monarch_shapes(256, 256, 16)
    assert cfg.num_parameters == 2 * 256 ** 1.5
    layer = _layer(17, 23, 4)
    assert sum(p.numel() for p in layer.parameters()) == layer.config.num_parameters + 23
    # zero-padded input entries never influence real outputs
    x = torch.randn(3, 17, dtype=torch.float64)
    xp = torch.cat([x, torch.randn(3, 3, dtype=torch.float64)], dim=1)  # 20 = b p
    full = monarch_multiply(torch.nn.functional.pad(x, (0, 3)), layer.blk1, layer.blk2, 23)
    torch.testing.assert_close(full, monarch_multiply(x, layer.blk1, layer.blk2, 23))
    assert not torch.allclose(monarch_multiply(xp, layer.blk1, layer.blk2, 23), full)


def test_init_bounds_and_from_dense():
    layer = _layer(64, 64, 4, dtype=torch.float32)
    assert layer.blk1.abs().max() <= 1 / math.sqrt(16)
    assert layer.bias.abs().max() <= 1 / math.sqrt(64)
    dense = torch.nn.Linear(20, 12).double()
    mon = MonarchLinear.from_dense(dense.weight, dense.bias, nblocks=3)
    W = dense.weight.detach()
    P = monarch_dense(*project_to_monarch(W, nblocks=3), 20, 12)
    torch.testing.assert_close(mon.dense_weight(), P)
    torch.testing.assert_close(mon.bias, dense.bias)


def test_same_generator_same_layer_and_batch_shapes():
    a, b = _layer(16, 16, 4, seed=9), _layer(16, 16, 4, seed=9)
    assert torch.equal(a.blk1, b.blk1) and torch.equal(a.blk2, b.blk2)
    x = torch.randn(2, 3, 16, dtype=torch.float64)
    assert a(x).shape == (2, 3, 16)
    torch.testing.assert_close(a(x)[1, 2], a(x[1, 2]))


def test_bad_inputs_name_the_parameter():
    with pytest.raises(ValueError, match="nblocks"):
        MonarchLinear(16, 16, nblocks=0)
    with pytest.raises(ValueError, match="nblocks"):
        MonarchLinear(4, 16, nblocks=5)
    with pytest.raises(ValueError, match="in_features"):
        MonarchLinear(0, 16, nblocks=1)
    with pytest.raises(ValueError, match="W must be a 2-D"):
        project_to_monarch(torch.randn(4), nblocks=2)
    with pytest.raises(TypeError, match="W must be a floating"):
        project_to_monarch(torch.ones(4, 4, dtype=torch.long), nblocks=2)
    with pytest.raises(ValueError, match="x must have last dimension 16"):
        _layer(16, 16, 4)(torch.randn(2, 15, dtype=torch.float64))
    with pytest.raises(ValueError, match="blk2"):
        monarch_multiply(torch.randn(2, 16), torch.randn(4, 4, 4), torch.randn(3, 4, 4))


@pytest.mark.gpu
def test_cuda_matches_cpu():
    cpu = _layer(64, 48, 4, dtype=torch.float32)
    gpu = _layer(64, 48, 4, dtype=torch.float32).cuda()
    gpu.load_state_dict(cpu.state_dict())
    x = torch.randn(9, 64)
    torch.testing.assert_close(gpu(x.cuda()).cpu(), cpu(x), rtol=1e-4, atol=1e-5)
    gpu(x.cuda()).sum().backward()
    cpu(x).sum().backward()
    torch.testing.assert_close(gpu.blk1.grad.cpu(), cpu.blk1.grad, rtol=1e-4, atol=1e-4)
    W = torch.randn(48, 64, device="cuda", dtype=torch.float64)
    M = monarch_dense(*project_to_monarch(W, nblocks=4), 64, 48)
    assert _rel(monarch_dense(*project_to_monarch(M, nblocks=4), 64, 48), M) < 1e-12
