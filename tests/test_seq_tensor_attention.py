"""Tensor attention (Alman & Song 2023): exact vs a brute-force triple loop, the reduction to
softmax attention, symmetries, the polynomial method against its closed form and its
a-priori error bound, gradcheck, and bad inputs."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from theorylab.seq.tensor_attention import (
    TensorAttention,
    poly_error_bound,
    poly_feature_dim,
    poly_features,
    softmax_attention,
    tensor_attention_bruteforce,
    tensor_attention_exact,
    tensor_attention_poly,
)

F64 = torch.float64


def _inputs(n, d, seed, B=1.0, n2=None, dv=None):
    g = torch.Generator().manual_seed(seed)
    n2 = n if n2 is None else n2
    dv = d if dv is None else dv

    def u(*shape):
        return B * (2 * torch.rand(*shape, generator=g, dtype=F64) - 1)

    return u(n, d), u(n, d), u(n2, d), u(n, dv), u(n2, dv)


@pytest.mark.parametrize("n2,dv,block", [(None, None, None), (4, 2, 1), (7, 3, 2)])
def test_exact_equals_triple_loop_at_n5(n2, dv, block):
    X = _inputs(5, 3, seed=0, B=1.5, n2=n2, dv=dv)
    torch.testing.assert_close(tensor_attention_exact(*X, block_queries=block),
                               tensor_attention_bruteforce(*X), rtol=1e-12, atol=1e-12)


def test_reduction_to_softmax_attention():
    Q, K1, _, V1, _ = _inputs(40, 4, seed=1, B=2.0)
    ones_k, ones_v = torch.ones(17, 4, dtype=F64), torch.ones(17, 4, dtype=F64)
    ref = softmax_attention(Q, K1, V1)
    torch.testing.assert_close(tensor_attention_exact(Q, K1, ones_k, V1, ones_v), ref,
                               rtol=1e-12, atol=1e-13)
    # and against torch's own attention kernel (scale 1)
    sdpa = torch.nn.functional.scaled_dot_product_attention(Q[None], K1[None], V1[None], scale=1.0)
    torch.testing.assert_close(ref, sdpa[0], rtol=1e-12, atol=1e-13)


def test_permutation_equivariance_and_invariance():
    Q, K1, K2, V1, V2 = _inputs(12, 3, seed=2, B=1.0, n2=9)
    out = tensor_attention_exact(Q, K1, K2, V1, V2)
    g = torch.Generator().manual_seed(3)
    pq, p1, p2 = (torch.randperm(m, generator=g) for m in (12, 12, 9))
    torch.testing.assert_close(tensor_attention_exact(Q[pq], K1, K2, V1, V2), out[pq])
    torch.testing.assert_close(tensor_attention_exact(Q, K1[p1], K2, V1[p1], V2), out)
    torch.testing.assert_close(tensor_attention_exact(Q, K1, K2[p2], V1, V2[p2]), out)


def test_exact_is_stable_for_large_logits():
    Q, K1, K2, V1, V2 = _inputs(8, 3, seed=4, B=6.0)  # logits up to 648: exp would overflow
    out = tensor_attention_exact(Q, K1, K2, V1, V2)
    assert torch.isfinite(out).all()
    # a convex combination of the V1 ⊙ V2 rows
    prod = (V1[:, None] * V2[None]).reshape(-1, 3)
    assert bool((out <= prod.max(0).values + 1e-12).all() and
                (out >= prod.min(0).values - 1e-12).all())


def test_poly_equals_dense_taylor_formula():
    # the feature-map computation equals D̃⁻¹ p_g(S) (V1 ⊘ V2) built from the n × n² logits
    Q, K1, K2, V1, V2 = _inputs(9, 3, seed=5, B=1.2, n2=6, dv=2)
    S = torch.einsum("ic,jc,kc->ijk", Q, K1, K2)
    for g in (0, 1, 2, 5):
        P = sum(S ** m / math.factorial(m) for m in range(g + 1))
        P = P if torch.is_tensor(P) else torch.full_like(S, float(P))
        num = torch.einsum("ijk,je,ke->ie", P, V1, V2)
        ref = num / P.sum(dim=(1, 2))[:, None]
        torch.testing.assert_close(tensor_attention_poly(Q, K1, K2, V1, V2, degree=g), ref,
                                   rtol=1e-11, atol=1e-12)


def test_poly_error_decreases_with_degree():
    X = _inputs(64, 3, seed=6, B=1.0)
    exact = tensor_attention_exact(*X)
    errs = [float((tensor_attention_poly(*X, degree=g) - exact).norm() / exact.norm())
            for g in (1, 2, 4, 8, 12)]
    assert all(b < a for a, b in zip(errs, errs[1:], strict=False)), errs
    assert errs[-1] < 1e-7


@settings(max_examples=30, deadline=None)
@given(B=st.floats(0.1, 1.6), g=st.integers(0, 8), seed=st.integers(0, 2**16),
       n=st.integers(2, 20))
def test_poly_error_within_a_priori_bound(B, g, seed, n):
    Q, K1, K2, V1, V2 = _inputs(n, 3, seed=seed, B=B)
    R = float(torch.einsum("ic,jc,kc->ijk", Q, K1, K2).abs().max())
    vmax = float((V1[:, None] * V2[None]).abs().max())
    bound = poly_error_bound(R, g, vmax)
    err = float((tensor_attention_poly(Q, K1, K2, V1, V2, degree=g)
                 - tensor_attention_exact(Q, K1, K2, V1, V2)).abs().max())
    assert err <= bound * (1 + 1e-9) + 1e-13


@settings(max_examples=25, deadline=None)
@given(d=st.integers(1, 5), g=st.integers(0, 5))
def test_poly_features_have_the_binomial_size_and_reproduce_the_kernel(d, g):
    X = torch.rand(3, d, generator=torch.Generator().manual_seed(d * 10 + g), dtype=F64)
    fq, fk = poly_features(X, g, query=True), poly_features(X, g)
    assert fq.shape == fk.shape == (3, poly_feature_dim(d, g))
    # Σ_α x^α y^α / α! = Σ_{m ≤ g} ⟨x, y⟩^m / m!
    ip = X @ X.T
    ref = sum(ip ** m / math.factorial(m) for m in range(g + 1))
    torch.testing.assert_close(fq @ fk.T, ref * torch.ones_like(ip), rtol=1e-12, atol=1e-12)


def test_gradcheck_exact_and_poly_float64():
    X = tuple(x.requires_grad_() for x in _inputs(4, 2, seed=7, B=1.0, n2=3))
    assert torch.autograd.gradcheck(lambda *a: tensor_attention_exact(*a, block_queries=3), X)
    assert torch.autograd.gradcheck(lambda *a: tensor_attention_poly(*a, degree=3), X)


def test_module_exact_and_high_degree_poly_agree():
    g = torch.Generator().manual_seed(8)
    exact = TensorAttention(8, heads=2, method="exact", generator=g).double()
    poly = TensorAttention(8, heads=2, method="poly", degree=10,
                           generator=torch.Generator().manual_seed(8)).double()
    x = 0.5 * torch.randn(2, 6, 8, generator=torch.Generator().manual_seed(9), dtype=F64)
    torch.testing.assert_close(poly(x), exact(x), rtol=1e-6, atol=1e-7)


def test_bad_inputs_raise_clear_errors():
    Q, K1, K2, V1, V2 = _inputs(5, 3, seed=0)
    with pytest.raises(ValueError, match=r"K1 must have shape \(\*, 3\), got \(5, 4\)"):
        tensor_attention_exact(Q, torch.zeros(5, 4, dtype=F64), K2, V1, V2)
    with pytest.raises(ValueError, match=r"V2 must have shape \(5, 3\), got \(4, 3\)"):
        tensor_attention_poly(Q, K1, K2, V1, V2[:4], degree=2)
    with pytest.raises(ValueError, match=r"V1 must have shape \(5, \*\), got \(6, 3\)"):
        tensor_attention_exact(Q, K1, K2, torch.zeros(6, 3, dtype=F64), V2)
    bad = Q.clone()
    bad[1, 1] = float("nan")
    with pytest.raises(ValueError, match="Q must be finite, got 1 NaN and 0 inf entries"):
        tensor_attention_exact(bad, K1, K2, V1, V2)
    with pytest.raises(ValueError, match=r"K2 must be non-empty, got shape \(0, 3\)"):
        tensor_attention_exact(Q, K1, K2[:0], V1, V2[:0])
    with pytest.raises(TypeError, match="K2 must have the dtype of Q"):
        tensor_attention_exact(Q, K1, K2.float(), V1, V2)
    with pytest.raises(ValueError, match="degree must be >= 0, got -1"):
        tensor_attention_poly(Q, K1, K2, V1, V2, degree=-1)
    with pytest.raises(ValueError, match="block_queries must be >= 1, got 0"):
        tensor_attention_exact(Q, K1, K2, V1, V2, block_queries=0)
    with pytest.raises(ValueError, match="Q must have 2 dimensions, got shape"):
        tensor_attention_exact(Q[None], K1, K2, V1, V2)
    with pytest.raises(ValueError, match="R must be >= 0, got -1.0"):
        poly_error_bound(-1.0, 2)
    with pytest.raises(ValueError, match="dim must be divisible by heads=3, got 8"):
        TensorAttention(8, heads=3)
    with pytest.raises(ValueError, match="method must be one of 'exact', 'poly', got 'fast'"):
        TensorAttention(8, method="fast")
    with pytest.raises(ValueError, match="x must have last dimension 8, got shape"):
        TensorAttention(8)(torch.zeros(1, 2, 4))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_exact_and_poly_on_cuda_match_the_cpu_results():
    X = _inputs(50, 4, seed=10, B=0.7)
    Xc = [x.cuda() for x in X]
    torch.testing.assert_close(tensor_attention_exact(*Xc).cpu(), tensor_attention_exact(*X),
                               rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(tensor_attention_poly(*Xc, degree=4).cpu(),
                               tensor_attention_poly(*X, degree=4), rtol=1e-10, atol=1e-12)
