"""Hyper-connections (theorylab.seq.hyper): Sinkhorn and spectral projections (property tests),
the stream update against a per-stream loop, identities at init and with ``disable``,
gradients (gradcheck; non-zero gradient on the mixing logits from the first step), bad
inputs."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
hyp = pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

from theorylab.seq.hyper import (  # noqa: E402
    MODES,
    HyperConfig,
    HyperConnection,
    HyperTransformerLM,
    composite_gain,
    expand_streams,
    reduce_streams,
    sinkhorn,
    spectral_normalize,
    stream_similarity,
)

F64 = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _square(max_n=6, lo=-3.0, hi=3.0):
    return st.integers(1, max_n).flatmap(
        lambda n: arrays(np.float64, (n, n),
                         elements=st.floats(lo, hi, allow_subnormal=False)))  # 5e-324 underflows


class _Lin(torch.nn.Module):
    def __init__(self, C, seed=0, dtype=torch.float32):
        super().__init__()
        self.lin = torch.nn.Linear(C, C, dtype=dtype)
        with torch.no_grad():
            self.lin.weight.copy_(torch.randn(C, C, generator=_gen(seed), dtype=dtype) / C**0.5)

    def forward(self, x):
        return torch.tanh(self.lin(x))


def _perturb(hc, seed=1, scale=0.5):
    with torch.no_grad():
        for name in ("res_logits", "pre_logits", "post_logits"):
            p = getattr(hc, name)
            p.add_(scale * torch.randn(p.shape, generator=_gen(seed), dtype=p.dtype))


# ---- projections: property tests ------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(_square())
def test_sinkhorn_is_doubly_stochastic(L):
    P = sinkhorn(torch.as_tensor(L), n_iter=300)
    n = L.shape[0]
    assert bool((P >= 0).all())
    # the last step normalises columns: exact. Rows converge, slowly near a permutation
    # (logits ±3 in a checkerboard: row error 1e-4 after 300 iterations, 6.5e-8 after 1000)
    assert torch.allclose(P.sum(-2), torch.ones(n, dtype=F64), atol=1e-12)
    assert torch.allclose(P.sum(-1), torch.ones(n, dtype=F64), atol=1e-3)


@settings(max_examples=60, deadline=None)
@given(_square(lo=-1.0, hi=1.0))
def test_sinkhorn_converges_fast_on_a_moderate_range(L):
    """Logits within [-1, 1] (the positive matrix is within a factor e² of flat):
    20 iterations — the default — give row sums to 1e-4 (invariant 2)."""
    P = sinkhorn(torch.as_tensor(L), n_iter=20)
    assert torch.allclose(P.sum(-1), torch.ones(L.shape[0], dtype=F64), atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(_square(), st.floats(-5, 5), st.floats(-5, 5))
def test_sinkhorn_ignores_row_and_column_shifts(L, a, b):
    """diag(e^r) exp(L) diag(e^c) has the same Sinkhorn limit: adding constants to a row
    and to a column of the logits changes nothing."""
    Lt = torch.as_tensor(L)
    shifted = Lt.clone()
    shifted[0] += a
    shifted[:, -1] += b
    torch.testing.assert_close(sinkhorn(shifted, n_iter=300), sinkhorn(Lt, n_iter=300),
                               atol=1e-7, rtol=0)


@settings(max_examples=40, deadline=None)
@given(_square())
def test_sinkhorn_log_domain_equals_linear_domain(L):
    Lt = torch.as_tensor(L)
    torch.testing.assert_close(sinkhorn(Lt, n_iter=20, log_domain=True),
                               sinkhorn(Lt, n_iter=20), atol=1e-12, rtol=1e-10)


@st.composite
def _doubly_stochastic(draw):
    """(1 − ε) Σ_k w_k P_k + ε J/n: a Birkhoff–von Neumann mixture of permutations, kept
    strictly positive so that its logarithm is finite."""
    n = draw(st.integers(1, 6))
    k = draw(st.integers(1, 4))
    w = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=k, max_size=k)))
    perms = [draw(st.permutations(range(n))) for _ in range(k)]
    eps = draw(st.floats(0.01, 0.5))
    P = sum(wi * np.eye(n)[list(p)] for wi, p in zip(w / w.sum(), perms, strict=True))
    return (1 - eps) * P + eps / n


@settings(max_examples=40, deadline=None)
@given(_doubly_stochastic())
def test_sinkhorn_fixes_doubly_stochastic_matrices(P):
    """Idempotence: the logs of a doubly stochastic matrix map back to it."""
    Pt = torch.as_tensor(P)
    torch.testing.assert_close(sinkhorn(Pt.log(), n_iter=3), Pt, atol=1e-12, rtol=0)


@settings(max_examples=60, deadline=None)
@given(_square(lo=-10, hi=10), st.floats(0.01, 100.0))
def test_spectral_projection_has_unit_norm_is_idempotent_and_scale_free(H, c):
    Ht = torch.as_tensor(H)
    hyp.assume(float(torch.linalg.matrix_norm(Ht, ord=2)) > 1e-3)
    S = spectral_normalize(Ht)
    assert abs(np.linalg.norm(S.numpy(), 2) - 1.0) < 1e-12  # numpy's SVD as the reference
    torch.testing.assert_close(spectral_normalize(S), S, atol=1e-13, rtol=0)
    torch.testing.assert_close(spectral_normalize(c * Ht), S, atol=1e-12, rtol=0)
    # the sign pattern survives: negative entries stay negative
    assert torch.equal(torch.sign(S), torch.sign(Ht))


def test_spectral_normalize_by_hand():
    S = spectral_normalize(torch.tensor([[3.0, 0.0], [0.0, -1.0]], dtype=F64))
    torch.testing.assert_close(S, torch.tensor([[1.0, 0.0], [0.0, -1 / 3]], dtype=F64))


def test_sinkhorn_by_hand():
    # equal logits: every entry 1/n; n = 1: [[1]]
    torch.testing.assert_close(sinkhorn(torch.zeros(3, 3, dtype=F64), n_iter=1),
                               torch.full((3, 3), 1 / 3, dtype=F64))
    assert sinkhorn(torch.tensor([[5.0]]), n_iter=1).item() == 1.0
    # 2×2: exp(L) = [[1, e], [e, 1]] is symmetric with equal row sums -> one step is exact
    P = sinkhorn(torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=F64), n_iter=1)
    e = np.e
    torch.testing.assert_close(P, torch.tensor([[1, e], [e, 1]], dtype=F64) / (1 + e))


def test_power_iteration_agrees_with_svd_and_updates_its_vector():
    H = torch.randn(5, 5, generator=_gen(3), dtype=F64)
    u = torch.ones(5, dtype=F64)
    S = spectral_normalize(H, method="power", n_power_iter=200, u=u)
    torch.testing.assert_close(S, spectral_normalize(H), atol=1e-10, rtol=0)
    U = torch.linalg.svd(H).U[:, 0]
    assert abs(abs(float(u @ U)) - 1) < 1e-10  # the persistent vector is the top left one


def test_sinkhorn_runs_in_float32_for_half_precision():
    L = torch.randn(4, 4, generator=_gen(0)).to(torch.bfloat16)
    P = sinkhorn(L)
    assert P.dtype == torch.float32
    assert torch.allclose(P.sum(-2), torch.ones(4), atol=1e-6)


def test_log_domain_survives_a_range_that_underflows_the_linear_domain():
    L = torch.zeros(3, 3)
    L[0] = -200.0  # exp(-200) = 0 in float32: row 0 of exp(L − max) vanishes
    with pytest.raises(FloatingPointError, match="row or column of exp.*log_domain=True"):
        sinkhorn(L)
    P = sinkhorn(L, n_iter=50, log_domain=True)
    assert bool(torch.isfinite(P).all())
    assert torch.allclose(P.sum(-2), torch.ones(3), atol=1e-5)


# ---- the hyper-connection --------------------------------------------------------------------

def _loop_reference(hc, X):
    """The update written stream by stream from X_{l+1} = H^res X + (H^post)ᵀ F(H^pre X)."""
    pre, post, H = (t.detach() for t in hc.mixing())
    n = X.shape[-2]
    h = sum(pre[j] * X[..., j, :] for j in range(n))
    y = hc.block(h)
    out = []
    for i in range(n):
        out.append(sum(H[i, j] * X[..., j, :] for j in range(n)) + post[i] * y)
    return torch.stack(out, dim=-2)


@pytest.mark.parametrize("mode", ["hc", "mhc", "shc"])
def test_update_matches_a_per_stream_loop(mode):
    C, n = 6, 3
    hc = HyperConnection(_Lin(C, dtype=F64), C, HyperConfig(n_streams=n, mode=mode)).double()
    _perturb(hc)
    X = torch.randn(2, 5, n, C, generator=_gen(4), dtype=F64)
    with torch.no_grad():
        torch.testing.assert_close(hc(X), _loop_reference(hc, X), atol=1e-13, rtol=0)


@pytest.mark.parametrize("mode", MODES)
def test_init_on_identical_streams_is_the_plain_residual_network(mode):
    """Invariant 4: at init every mode equals the n-copy residual network."""
    C, n, L = 8, 4, 6
    blocks = [_Lin(C, seed=s, dtype=F64) for s in range(L)]
    x = torch.randn(3, 7, C, generator=_gen(5), dtype=F64)
    ref = x
    for b in blocks:
        ref = ref + b(ref)
    X = expand_streams(x, n)
    for b in blocks:
        X = HyperConnection(b, C, HyperConfig(n_streams=n, mode=mode)).double()(X)
    # mHC: doubly stochastic mixing of equal rows returns them, to Sinkhorn's row-sum error
    tol = 1e-10 if mode == "mhc" else 1e-14
    with torch.no_grad():
        torch.testing.assert_close(reduce_streams(X), ref, atol=tol, rtol=0)


@pytest.mark.parametrize("mode", MODES)
def test_disable_reproduces_the_plain_residual(mode):
    C = 5
    block = _Lin(C, dtype=F64)
    hc = HyperConnection(block, C, HyperConfig(n_streams=1, mode=mode), disable=True).double()
    if hc.res_logits is not None:
        _perturb(hc)  # disabled mixing must not matter, whatever its values
    x = torch.randn(4, C, generator=_gen(6), dtype=F64)
    with torch.no_grad():
        assert torch.equal(hc(x[:, None, :])[:, 0], x + block(x))


@pytest.mark.parametrize("mode", ["hc", "mhc", "shc"])
def test_mixing_logits_get_a_nonzero_gradient_at_the_first_step(mode):
    """Invariant 6 (catches a detached or underflowed Sinkhorn): the logits of H^res, H^pre
    and H^post all receive a finite, non-zero gradient from the first backward pass."""
    C, n = 8, 4
    hc = HyperConnection(_Lin(C), C, HyperConfig(n_streams=n, mode=mode))
    X = torch.randn(16, n, C, generator=_gen(7))
    target = torch.randn(16, n, C, generator=_gen(8))
    ((hc(X) - target) ** 2).mean().backward()
    for name in ("res_logits", "pre_logits", "post_logits"):
        g = getattr(hc, name).grad
        assert g is not None and bool(torch.isfinite(g).all()), name
        assert float(g.abs().max()) > 0, name


@pytest.mark.parametrize("mode", ["mhc", "shc"])
def test_constrained_mixing_in_general_position(mode):
    """Invariants 2, 3 and 5 for logits in general position (N(0, 1) entries): mHC's
    H^res is non-negative and doubly stochastic to 1e-3 after the default 20 iterations
    (measured 9e-5 here; N(0, 1.5²) logits leave 7e-3),
    sHC's has ‖H‖₂ = 1 (with negative entries), and the composite gain over 24 layers is
    <= 1 + 1e-5."""
    n = 4
    Hs = []
    for layer in range(24):
        hc = HyperConnection(_Lin(3), 3, HyperConfig(n_streams=n, mode=mode))
        with torch.no_grad():
            hc.res_logits.copy_(torch.randn(n, n, generator=_gen(100 + layer)))
        H = hc.mixing()[2].detach()
        if mode == "mhc":
            assert bool((H >= 0).all())
            assert torch.allclose(H.sum(-1), torch.ones(n), atol=1e-3)
            assert torch.allclose(H.sum(-2), torch.ones(n), atol=1e-6)
        else:
            assert abs(float(torch.linalg.matrix_norm(H, ord=2)) - 1) < 1e-5
        Hs.append(H)
    if mode == "shc":
        assert any(bool((H < 0).any()) for H in Hs)
    assert composite_gain(Hs) <= 1 + 1e-5  # measured 1 + 5e-7 for mHC


def test_near_identity_sinkhorn_gain_is_bounded_by_its_row_sums():
    """Near the identity (mHC's own init, off-diagonal logits −8) Sinkhorn converges slowly:
    after 20 iterations the row sums are off by up to ~2 % and ‖H‖₂ can exceed 1 (measured
    1.0028 here). What holds exactly is ‖H‖₂ <= √(‖H‖₁ ‖H‖∞) = √(max row sum), columns
    being exact; sHC's gain stays 1 to rounding."""
    n, eye = 4, torch.eye(4, dtype=F64)
    mhc, shc, bound = [], [], 1.0
    for layer in range(24):
        L = eye + (1 - eye) * -8.0 + 1.5 * torch.randn(n, n, generator=_gen(200 + layer),
                                                       dtype=F64)
        H = sinkhorn(L, n_iter=20)
        row_max = float(H.sum(-1).max())
        assert float(torch.linalg.matrix_norm(H, ord=2)) <= row_max ** 0.5 + 1e-12
        bound *= row_max ** 0.5
        mhc.append(H)
        shc.append(spectral_normalize(L))
    assert composite_gain(mhc) <= bound + 1e-12
    assert composite_gain(shc) <= 1 + 1e-12


def test_hc_gain_can_exceed_one():
    """The unconstrained mode has no such bound (the reason for mHC and sHC)."""
    Hs = [1.1 * torch.eye(3) for _ in range(10)]
    assert composite_gain(Hs) == pytest.approx(1.1 ** 10, rel=1e-6)


@pytest.mark.parametrize("mode", ["hc", "mhc", "shc"])
def test_gradcheck_float64(mode):
    from torch.func import functional_call

    C, n = 3, 3
    hc = HyperConnection(_Lin(C, dtype=F64), C, HyperConfig(n_streams=n, mode=mode)).double()
    _perturb(hc)
    names = [k for k, _ in hc.named_parameters()]
    params = [hc.get_parameter(k).detach().clone().requires_grad_(True) for k in names]
    X = torch.randn(2, n, C, generator=_gen(9), dtype=F64, requires_grad=True)

    def fn(X, *ps):
        return functional_call(hc, dict(zip(names, ps, strict=True)), (X,))

    assert torch.autograd.gradcheck(fn, (X, *params))


def test_gradcheck_projections():
    L = torch.randn(3, 3, generator=_gen(10), dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda L: sinkhorn(L, n_iter=5), (L,))
    assert torch.autograd.gradcheck(lambda L: sinkhorn(L, n_iter=5, log_domain=True), (L,))
    assert torch.autograd.gradcheck(spectral_normalize, (L,))


def test_transformer_lm_shapes_modes_and_diagnostics():
    for mode in MODES:
        m = HyperTransformerLM(11, 16, 2, 2, 8, HyperConfig(n_streams=3, mode=mode),
                               generator=_gen(0))
        idx = torch.randint(0, 11, (2, 8), generator=_gen(1))
        logits, X = m.forward_streams(idx)
        assert logits.shape == (2, 8, 11) and X.shape == (2, 8, 3, 16)
        assert len(m.res_matrices()) == 4
        assert 0.0 < stream_similarity(X) <= 1.0
    # equal seeds: the same weights in every mode, so the same logits at init on
    # identical streams (no stream embedding)
    outs = [HyperTransformerLM(11, 16, 2, 2, 8, HyperConfig(n_streams=3, mode=mode),
                               stream_embed_scale=0.0, generator=_gen(0))(idx)
            for mode in ("residual", "hc", "shc")]
    torch.testing.assert_close(outs[0], outs[1], atol=1e-6, rtol=0)
    torch.testing.assert_close(outs[0], outs[2], atol=1e-6, rtol=0)


def _perturbed_lm(config, seed=0):
    m = HyperTransformerLM(13, 16, 2, 2, 8, config, generator=_gen(seed))
    with torch.no_grad():  # general position: mixing away from its identity init
        for name, p in m.named_parameters():
            if "logits" in name:
                p.add_(0.3 * torch.randn(p.shape, generator=_gen(seed + 1)))
    return m


@pytest.mark.parametrize("config", [
    HyperConfig(n_streams=4, mode="residual"), HyperConfig(n_streams=4, mode="hc"),
    HyperConfig(n_streams=4, mode="mhc"), HyperConfig(n_streams=3, mode="shc"),
    HyperConfig(n_streams=4, mode="mhc", log_domain=True),
    HyperConfig(n_streams=2, mode="shc", spectral_method="power")])
def test_streams_first_forward_equals_the_per_layer_reference(config):
    # fast path (streams first, mixing as matrix products, stacked per-layer mixing) ==
    # the checked stream-last HyperConnection.forward of every layer: values and gradients
    m = _perturbed_lm(config).eval()  # eval: the power iteration keeps its vector
    idx = torch.randint(0, 13, (3, 8), generator=_gen(5))
    a, Xa = m.forward_streams(idx)
    b, Xb = m._reference_forward_streams(idx)
    torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(Xa, Xb, atol=1e-6, rtol=1e-6)
    ps = list(m.parameters())
    ga = torch.autograd.grad(a.square().sum(), ps)
    gb = torch.autograd.grad(b.square().sum(), ps)
    for p_name, x, y in zip([n for n, _ in m.named_parameters()], ga, gb, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5, msg=p_name)


def test_disabled_layer_takes_the_plain_residual_in_the_fast_path():
    m = _perturbed_lm(HyperConfig(n_streams=3, mode="shc"))
    m.layers[1].disable = True
    idx = torch.randint(0, 13, (2, 8), generator=_gen(6))
    torch.testing.assert_close(m.forward_streams(idx)[0], m._reference_forward_streams(idx)[0],
                               atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("mode", ["hc", "mhc", "shc"])
def test_training_on_the_fast_path_equals_training_on_the_reference(mode):
    # 5 Adam steps (foreach) on the fast forward == 5 steps (for-loop Adam) on the reference
    ms = [_perturbed_lm(HyperConfig(n_streams=4, mode=mode)) for _ in range(2)]
    opts = [torch.optim.Adam(ms[0].parameters(), lr=1e-2, foreach=True),
            torch.optim.Adam(ms[1].parameters(), lr=1e-2, foreach=False)]
    g = _gen(7)
    for _ in range(5):
        idx = torch.randint(0, 13, (4, 9), generator=g)
        for m, f, opt in zip(ms, ("forward_streams", "_reference_forward_streams"), opts,
                             strict=True):
            opt.zero_grad()
            logits = getattr(m, f)(idx[:, :-1])[0]
            torch.nn.functional.cross_entropy(logits.reshape(-1, 13),
                                              idx[:, 1:].reshape(-1)).backward()
            opt.step()
    for (name, p), q in zip(ms[0].named_parameters(), ms[1].parameters(), strict=True):
        if name.endswith("qkv.bias"):
            # the key bias has no gradient in exact arithmetic (softmax over keys ignores
            # q·b_k, the same for every key); its computed gradient is rounding noise, which
            # Adam divides by its own size — so it moves by noise that differs between CPUs
            # and paths. Compare the query and value biases only.
            d = p.shape[0] // 3
            p, q = torch.cat([p[:d], p[2 * d:]]), torch.cat([q[:d], q[2 * d:]])
        torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-5, msg=name)


def test_key_bias_gradient_is_rounding_noise():
    """Why the test above leaves the key bias out: its gradient vanishes up to rounding."""
    m = _perturbed_lm(HyperConfig(n_streams=4, mode="hc"))
    idx = torch.randint(0, 13, (4, 9), generator=_gen(3))
    logits = m._reference_forward_streams(idx[:, :-1])[0]
    torch.nn.functional.cross_entropy(logits.reshape(-1, 13), idx[:, 1:].reshape(-1)).backward()
    for name, prm in m.named_parameters():
        if name.endswith("qkv.bias"):
            d = prm.shape[0] // 3
            g = prm.grad
            assert g[d:2 * d].abs().max() <= 1e-6 * max(g[:d].abs().max(), g[2 * d:].abs().max())


def test_stream_similarity_by_hand():
    X = torch.zeros(1, 2, 3)
    X[0, 0, 0], X[0, 1, 1] = 1.0, 1.0  # orthogonal streams
    assert stream_similarity(X) == 0.0
    assert stream_similarity(expand_streams(torch.randn(4, 3, generator=_gen(0)), 5)) == \
        pytest.approx(1.0)


# ---- bad inputs ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(mode="birkhoff"), ValueError, "mode must be one of"),
    (dict(n_streams=0), ValueError, "n_streams must be >= 1, got 0"),
    (dict(sinkhorn_iters=0), ValueError, "sinkhorn_iters must be >= 1"),
    (dict(offdiag_init=1.0), ValueError, "offdiag_init must be <= 0"),
    (dict(spectral_method="qr"), ValueError, "spectral_method must be one of"),
    (dict(n_streams=2.5), TypeError, "n_streams must be an integer"),
])
def test_bad_config(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        HyperConfig(**kwargs)


def test_bad_inputs():
    hc = HyperConnection(_Lin(4), 4, HyperConfig(n_streams=2))
    with pytest.raises(ValueError, match=r"X must have shape \(\.\.\., 2, 4\).*got \(3, 4\)"):
        hc(torch.zeros(3, 4))
    with pytest.raises(ValueError, match=r"X must have shape .*got \(3, 3, 4\)"):
        hc(torch.zeros(3, 3, 4))
    with pytest.raises(TypeError, match="X must be a torch.Tensor"):
        hc(np.zeros((3, 2, 4)))
    with pytest.raises(TypeError, match="block must be an nn.Module"):
        HyperConnection(lambda x: x, 4)
    with pytest.raises(ValueError, match=r"logits must have shape \(\.\.\., n, n\)"):
        sinkhorn(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="logits must be finite, got 1 non-finite"):
        sinkhorn(torch.tensor([[0.0, float("nan")], [0.0, 0.0]]))
    with pytest.raises(TypeError, match="logits must be real-valued with a floating dtype"):
        sinkhorn(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="H must be non-zero"):
        spectral_normalize(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="H must be finite"):
        spectral_normalize(torch.full((2, 2), float("inf")))
    with pytest.raises(ValueError, match="dim must be divisible by n_heads = 3, got 16"):
        HyperTransformerLM(11, 16, 1, 3, 8)
    m = HyperTransformerLM(11, 16, 1, 2, 8)
    with pytest.raises(ValueError, match="idx length must be <= context = 8, got 9"):
        m(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="composite|H_list must contain"):
        composite_gain([])


def test_seq_package_imports_torch_lazily():
    import subprocess
    import sys

    code = ("import sys, theorylab.seq as s; assert 'torch' not in sys.modules; "
            "assert 'HyperConnection' in s.__all__ and 'MaskedPointerExecutor' in s.__all__; "
            "s.HyperConnection; assert 'torch' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
