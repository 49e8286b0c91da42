"""Invariants of the singular-value layers: SVFit (SVDLinear), SST (SSTLinear), KIND
(GatedSVDLinear)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.nn.svd import (  # noqa: E402
    GatedSVDLinear,
    SSTLinear,
    SVDLinear,
    rank_for_energy,
    reset_optimizer_state,
)

F64 = torch.float64


def _linear(in_f=10, out_f=7, seed=0, dtype=F64, bias=True):
    torch.manual_seed(seed)
    return torch.nn.Linear(in_f, out_f, dtype=dtype, bias=bias)


def _x(n=5, d=10, seed=1, dtype=F64):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _train_a_bit(layer, params, steps=3, lr=0.1, seed=0, fwd=None):
    opt = torch.optim.SGD(params, lr=lr)
    fwd = fwd or (lambda x: layer(x))
    for k in range(steps):
        opt.zero_grad()
        fwd(_x(seed=seed + k)).square().sum().backward()
        opt.step()


# ---------------------------------------------------------------- SVFit

def test_svfit_init_is_the_base_layer_exactly():
    base = _linear()
    layer = SVDLinear(base, rank=4)
    x = _x()
    assert torch.equal(layer(x), base(x))
    assert torch.equal(layer.delta_weight(), torch.zeros(7, 10, dtype=F64))


def test_svfit_trains_only_sigma_and_keeps_vectors():
    base = _linear()
    layer = SVDLinear(base, rank=4)
    U, V, W = layer.U.clone(), layer.V.clone(), base.weight.detach().clone()
    trainable = [n for n, p in layer.named_parameters() if p.requires_grad]
    assert trainable == ["sigma"] and layer.sigma.numel() == 4
    _train_a_bit(layer, [p for p in layer.parameters() if p.requires_grad])
    assert torch.equal(layer.U, U) and torch.equal(layer.V, V)
    assert torch.equal(base.weight, W)
    assert not torch.equal(layer.sigma, layer.sigma0)


def test_svfit_merged_equals_unmerged_and_dense_reference():
    base = _linear()
    layer = SVDLinear(base, rank=5)
    _train_a_bit(layer, [layer.sigma])
    x = _x(seed=9)
    merged = x @ layer.merged_weight().T + base.bias
    assert torch.allclose(layer(x), merged, atol=1e-12)
    # the paper's form: W_e + U diag(s) Vᵀ with W_e = W − U diag(σ⁰) Vᵀ
    W_e = base.weight - (layer.U * layer.sigma0) @ layer.V.T
    ref = x @ (W_e + (layer.U * layer.sigma) @ layer.V.T).T + base.bias
    assert torch.allclose(layer(x), ref, atol=1e-12)


def test_svfit_gradient_matches_dense_reference():
    base = _linear()
    layer = SVDLinear(base, rank=5)
    x = _x()
    layer(x).square().sum().backward()
    g_fast = layer.sigma.grad.clone()
    s = layer.sigma.detach().clone().requires_grad_(True)
    W_e = base.weight.detach() - (layer.U * layer.sigma0) @ layer.V.T
    (x @ (W_e + (layer.U * s) @ layer.V.T).T + base.bias.detach()).square().sum().backward()
    assert torch.allclose(g_fast, s.grad, atol=1e-10)
    # hand formula: dL/dσ_i = u_iᵀ G v_i with G = dL/dW
    Wp = base.weight.detach().clone().requires_grad_(True)
    (x @ Wp.T + base.bias.detach()).square().sum().backward()
    assert torch.allclose(g_fast, torch.einsum("oi,oj,ji->i", layer.U, Wp.grad, layer.V),
                          atol=1e-10)


def test_svfit_full_rank_residual_vanishes_and_scaling_is_linear():
    base = _linear()
    layer = SVDLinear(base, rank=7)
    W_r = (layer.U * layer.sigma0) @ layer.V.T
    assert (base.weight - W_r).norm() / base.weight.norm() < 1e-12
    with torch.no_grad():
        layer.sigma.mul_(3.0)
    assert torch.allclose(layer.delta_weight(), 2.0 * W_r, atol=1e-12)


def test_svfit_energy_selects_smallest_rank():
    U, _ = torch.linalg.qr(torch.randn(6, 6, generator=torch.Generator().manual_seed(0),
                                       dtype=F64))
    s = torch.tensor([10.0, 3.0, 1.0, 0.5, 0.1, 0.01], dtype=F64)
    base = torch.nn.Linear(6, 6, dtype=F64)
    with torch.no_grad():
        base.weight.copy_((U * s) @ U.T)
    e = (s ** 2).cumsum(0) / (s ** 2).sum()  # 0.9069, 0.9886, 0.9977, ...
    assert rank_for_energy(s, 0.95) == 2 and float(e[1]) >= 0.95 > float(e[0])
    assert SVDLinear(base, energy=0.95).rank == 2
    assert SVDLinear(base, energy=0.99).rank == 3


def test_svfit_bad_inputs():
    base = _linear()
    with pytest.raises(ValueError, match="rank or energy"):
        SVDLinear(base)
    with pytest.raises(ValueError, match="rank or energy"):
        SVDLinear(base, rank=2, energy=0.9)
    with pytest.raises(ValueError, match="rank"):
        SVDLinear(base, rank=8)
    with pytest.raises(ValueError, match="energy"):
        SVDLinear(base, energy=1.5)
    with pytest.raises(TypeError, match="base"):
        SVDLinear(torch.nn.Conv1d(2, 2, 1), rank=1)


# ---------------------------------------------------------------- SST

def test_sst_init_equals_the_base_layer():
    base = _linear()
    layer = SSTLinear(base, rank=3, generator=torch.Generator().manual_seed(0))
    x = _x()
    assert torch.allclose(layer(x), base(x), atol=1e-12)
    assert torch.allclose(layer.merged_weight(), base.weight, atol=1e-12)


def test_sst_trainable_count_and_gradient_sparsity():
    base = _linear(10, 7)
    layer = SSTLinear(base, rank=3, generator=torch.Generator().manual_seed(0))
    from theorylab.nn.training import count_parameters
    assert count_parameters(layer) == 7 + 3 * (10 + 7) + 7  # k + r(m+n) + bias
    layer(_x()).square().sum().backward()
    assert layer.sigma.grad is not None and (layer.sigma.grad != 0).all()
    assert layer.U_frozen.grad is None and not layer.U_frozen.requires_grad
    assert layer.U_I.grad.shape == (7, 3) and layer.V_I.grad.shape == (10, 3)


def test_sst_gradients_match_dense_reference():
    base = _linear()
    layer = SSTLinear(base, rank=3, generator=torch.Generator().manual_seed(1))
    x = _x()
    layer(x).square().sum().backward()
    # dense reference: differentiate W = U diag(σ) Vᵀ with full U, V parameters
    U = layer.U_frozen.clone().requires_grad_(True)
    V = layer.V_frozen.clone().requires_grad_(True)
    s = layer.sigma.detach().clone().requires_grad_(True)
    (x @ ((U * s) @ V.T).T + layer.bias.detach()).square().sum().backward()
    idx = layer.index
    assert torch.allclose(layer.sigma.grad, s.grad, atol=1e-10)
    assert torch.allclose(layer.U_I.grad, U.grad[:, idx], atol=1e-10)
    assert torch.allclose(layer.V_I.grad, V.grad[:, idx], atol=1e-10)
    # hand formula for a vector gradient: dL/du_i = σ_i G v_i
    Wp = layer.merged_weight().detach().clone().requires_grad_(True)
    (x @ Wp.T + layer.bias.detach()).square().sum().backward()
    i = int(idx[0])
    assert torch.allclose(layer.U_I.grad[:, 0], s[i].detach() * Wp.grad @ V[:, i].detach(),
                          atol=1e-10)


def test_sst_resample_keeps_the_weight_and_restores_orthonormality():
    base = _linear()
    layer = SSTLinear(base, rank=3, generator=torch.Generator().manual_seed(0))
    _train_a_bit(layer, [p for p in layer.parameters() if p.requires_grad], steps=5)
    W = layer.merged_weight().detach().clone()
    U, V = layer.factors()
    assert (U.T @ U - torch.eye(7, dtype=F64)).abs().max() > 1e-6  # drifted by training
    layer.resample(generator=torch.Generator().manual_seed(1), resvd=False)
    assert torch.allclose(layer.merged_weight(), W, atol=1e-12)
    layer.resample(generator=torch.Generator().manual_seed(2), resvd=True)
    assert torch.allclose(layer.merged_weight(), W, atol=1e-10)
    U, V = layer.factors()
    assert (U.T @ U - torch.eye(7, dtype=F64)).abs().max() < 1e-10
    assert (V.T @ V - torch.eye(7, dtype=F64)).abs().max() < 1e-10


def test_sst_sampling_is_proportional_to_sigma():
    from scipy.stats import chisquare

    base = torch.nn.Linear(6, 6, dtype=F64)
    with torch.no_grad():
        base.weight.copy_(torch.diag(torch.tensor([6.0, 5, 4, 3, 2, 1], dtype=F64)))
    layer = SSTLinear(base, rank=1, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(3)
    counts = np.zeros(6)
    for _ in range(4000):
        counts[int(layer._draw(g)[0])] += 1
    p = np.array([6, 5, 4, 3, 2, 1]) / 21
    assert chisquare(counts, 4000 * p).pvalue > 0.01


def test_sst_sampling_without_replacement_and_reset_state():
    base = _linear()
    layer = SSTLinear(base, rank=7, generator=torch.Generator().manual_seed(0))
    assert sorted(layer.index.tolist()) == list(range(7))
    opt = torch.optim.Adam([p for p in layer.parameters() if p.requires_grad], lr=1e-2)
    layer(_x()).sum().backward()
    opt.step()
    reset_optimizer_state(opt, layer.vector_parameters())
    assert layer.U_I not in opt.state and layer.sigma in opt.state


def test_sst_full_rank_equals_free_svd_parameterisation():
    """r = k, no resampling: SST is plain training of (U, σ, V)."""
    base = _linear()
    layer = SSTLinear(base, rank=7, generator=torch.Generator().manual_seed(0))
    perm = layer.index
    U = torch.nn.Parameter(layer.U_frozen.clone())
    V = torch.nn.Parameter(layer.V_frozen.clone())
    s = torch.nn.Parameter(layer.sigma.detach().clone())
    b = torch.nn.Parameter(layer.bias.detach().clone())
    _train_a_bit(layer, [layer.sigma, layer.U_I, layer.V_I, layer.bias])
    _train_a_bit(None, [U, V, s, b], fwd=lambda x: x @ ((U * s) @ V.T).T + b)
    assert torch.allclose(layer.U_I, U[:, perm], atol=1e-12)
    assert torch.allclose(layer.merged_weight(), (U * s) @ V.T, atol=1e-12)


def test_sst_bad_inputs():
    with pytest.raises(ValueError, match="rank"):
        SSTLinear(_linear(), rank=0)
    with pytest.raises(ValueError, match="rank"):
        SSTLinear(_linear(10, 7), rank=8)


# ---------------------------------------------------------------- KIND

def _gated(**kw):
    args = dict(n_learngene=3, n_tailor=2, n_groups=3, generator=torch.Generator().manual_seed(0),
                dtype=F64)
    args.update(kw)
    return GatedSVDLinear(10, 12, **args)


def test_kind_matches_dense_per_group_and_mixed_batch():
    layer = _gated()
    x = _x(6)
    gid = torch.tensor([0, 1, 2, 2, 0, 1])
    y = layer(x, gid)
    for c in range(3):
        m = gid == c
        ref = x[m] @ layer.merged_weight(c).T + layer.bias
        assert torch.allclose(y[m], ref, atol=1e-12)
        assert torch.allclose(layer(x[m], gid[m]), y[m], atol=1e-12)


def test_kind_all_gates_equal_ungated_svd_layer():
    layer = _gated()
    W_all = layer.learngene_weight() + (layer.U_T * layer.sigma_T) @ layer.V_T.T
    one = GatedSVDLinear(10, 12, n_learngene=3, n_tailor=6, n_groups=1,
                         generator=torch.Generator().manual_seed(0), dtype=F64)
    assert torch.allclose(one.merged_weight(0), W_all, atol=1e-12)
    # the init is the top r_G + r_T triplets of one kaiming-uniform matrix
    assert (layer.sigma_G[:-1] >= layer.sigma_G[1:]).all()
    assert layer.sigma_G.min() >= layer.sigma_T.max()


def test_kind_gradient_isolation():
    layer = _gated()
    x = _x(4)
    layer(x, torch.tensor([1, 1, 1, 1])).square().sum().backward()
    g = layer.sigma_T.grad
    assert torch.equal(g[[0, 1, 4, 5]], torch.zeros(4, dtype=F64))
    assert (g[[2, 3]] != 0).all()
    assert torch.equal(layer.U_T.grad[:, [0, 1, 4, 5]], torch.zeros(12, 4, dtype=F64))
    assert torch.equal(layer.V_T.grad[:, [0, 1, 4, 5]], torch.zeros(10, 4, dtype=F64))
    assert (layer.sigma_G.grad != 0).all()


def test_kind_gradients_match_dense_reference():
    layer = _gated()
    x = _x(3)
    layer(x, torch.tensor([2, 2, 2])).square().sum().backward()
    Wp = layer.merged_weight(2).detach().clone().requires_grad_(True)
    (x @ Wp.T + layer.bias.detach()).square().sum().backward()
    G = Wp.grad
    assert torch.allclose(layer.sigma_G.grad,
                          torch.einsum("oi,oj,ji->i", layer.U_G, G, layer.V_G), atol=1e-10)


def test_kind_parameter_count_and_reset_tailors():
    from theorylab.nn.training import count_parameters

    layer = _gated()
    assert count_parameters(layer) == (10 + 12 + 1) * (3 + 6) + 12
    genes = {k: v.detach().clone() for k, v in zip("USV", layer.learngene_parameters(),
                                                   strict=True)}
    x = _x(4)
    base_only = x @ layer.learngene_weight().T + layer.bias
    layer.reset_tailors(n_tailor=3, n_groups=2, generator=torch.Generator().manual_seed(5))
    for k, p in zip("USV", layer.learngene_parameters(), strict=True):
        assert torch.equal(p, genes[k])
    assert layer.U_T.shape == (12, 6) and layer.n_groups == 2
    # fresh tailors start at σ = 0: the layer is its learngenes alone
    assert torch.allclose(layer(x, torch.tensor([0, 1, 1, 0])), base_only, atol=1e-12)


def test_kind_bad_inputs():
    with pytest.raises(ValueError, match="n_learngene"):
        _gated(n_learngene=11)
    with pytest.raises(ValueError, match="n_tailor"):
        _gated(n_tailor=4)
    with pytest.raises(ValueError, match="group_ids"):
        _gated()(_x(2), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="group_ids"):
        _gated()(_x(2), torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="group_ids"):
        _gated()(_x(2), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="x must have shape"):
        _gated()(_x(2, 9), torch.tensor([0, 1]))


@pytest.mark.gpu
def test_svd_layers_on_cuda():
    dev = "cuda"
    base = torch.nn.Linear(16, 8, device=dev)
    x = torch.randn(4, 16, device=dev)
    assert torch.equal(SVDLinear(base, rank=3)(x), base(x))
    sst = SSTLinear(base, rank=2, generator=torch.Generator(device=dev).manual_seed(0))
    sst(x).sum().backward()
    sst.resample(generator=torch.Generator(device=dev).manual_seed(1))
    assert sst.index.device.type == "cuda"
    kind = GatedSVDLinear(16, 8, n_learngene=2, n_tailor=1, n_groups=2, device=dev,
                          generator=torch.Generator(device=dev).manual_seed(0))
    assert kind(x, torch.tensor([0, 1, 0, 1], device=dev)).device.type == "cuda"
