"""RandLoRALinear: zero update at init, merged == unmerged, custom backward == autograd,
full rank reachable, frozen set, determinism, bad inputs."""

import math

import pytest

torch = pytest.importorskip("torch")

from theorylab.nn.lora import LoRALinear  # noqa: E402
from theorylab.nn.randlora import (  # noqa: E402
    RandLoRABasisBank,
    RandLoRALinear,
    randlora_num_terms,
)


def _layer(in_f=12, out_f=7, rank=2, dtype=torch.float64, seed=0, **kw):
    g = torch.Generator().manual_seed(seed)
    base = torch.nn.Linear(in_f, out_f).to(dtype)
    return RandLoRALinear(base, rank=rank, generator=g, **kw)


def _randomise(layer, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        layer.lam.copy_(torch.randn(layer.lam.shape, generator=g, dtype=layer.lam.dtype))
        layer.gamma.copy_(torch.randn(layer.gamma.shape, generator=g, dtype=layer.gamma.dtype))


@pytest.mark.parametrize("shape", [(12, 7), (7, 12), (9, 9)])
def test_zero_update_at_init_bitwise_float32(shape):
    layer = _layer(*shape, dtype=torch.float32)
    x = torch.randn(5, shape[0])
    assert torch.equal(layer(x), layer.base(x))
    assert torch.count_nonzero(layer.delta_weight()) == 0


@pytest.mark.parametrize("shape", [(12, 7), (7, 12)])
@pytest.mark.parametrize("shared_a", [True, False])
def test_merged_equals_unmerged_after_steps(shape, shared_a):
    layer = _layer(*shape, shared_a=shared_a)
    opt = torch.optim.Adam([layer.lam, layer.gamma], lr=0.1)
    g = torch.Generator().manual_seed(3)
    for _ in range(5):
        x = torch.randn(8, shape[0], generator=g, dtype=torch.float64)
        opt.zero_grad()
        (layer(x) ** 2).sum().backward()
        opt.step()
    x = torch.randn(4, 3, shape[0], generator=g, dtype=torch.float64)  # extra batch dim
    merged = x @ layer.merged_weight().T + layer.base.bias
    torch.testing.assert_close(layer(x), merged, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(12, 7), (7, 12)])
def test_custom_backward_matches_autograd_and_dense(shape):
    fast = _layer(*shape, memory_efficient=True)
    _randomise(fast)
    slow = _layer(*shape, memory_efficient=False)
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(6, shape[0], dtype=torch.float64, requires_grad=True)
    x2 = x.detach().clone().requires_grad_(True)
    x3 = x.detach().clone().requires_grad_(True)
    w = torch.randn(6, shape[1], dtype=torch.float64)
    (fast(x) * w).sum().backward()
    (slow(x2) * w).sum().backward()
    lam3 = slow.lam.detach().clone().requires_grad_(True)
    gam3 = slow.gamma.detach().clone().requires_grad_(True)
    dense = x3 @ slow.base.weight.T + slow.base.bias
    # dense reference: ΔW built as in delta_weight from fresh leaf λ, γ, then x ΔWᵀ
    n, r = slow.n_terms, slow.rank
    bl = (slow.basis_b * lam3[:, None, :]).permute(1, 0, 2).reshape(slow.long, n * r)
    ag = (slow._a() * gam3[:, None, :]).reshape(n * r, slow.short)
    m = bl @ ag
    dw = slow.scaling * (m if slow.tall else m.T)
    ((dense + x3 @ dw.T) * w).sum().backward()
    for a, b, c in ((fast.lam.grad, slow.lam.grad, lam3.grad),
                    (fast.gamma.grad, slow.gamma.grad, gam3.grad), (x.grad, x2.grad, x3.grad)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(a, c, rtol=1e-12, atol=1e-12)
    assert slow.basis_b_flat.grad is None and slow.base.weight.grad is None


@pytest.mark.parametrize("shape", [(12, 7), (7, 12)])
def test_custom_backward_partial_requires_grad(shape):
    """Only λ trainable, x without grad: the skipped branches leave the rest unchanged."""
    fast, slow = _layer(*shape), _layer(*shape, memory_efficient=False)
    _randomise(fast)
    slow.load_state_dict(fast.state_dict())
    for m in (fast, slow):
        m.gamma.requires_grad_(False)
    x = torch.randn(5, shape[0], dtype=torch.float64)
    fast(x).square().sum().backward()
    slow(x).square().sum().backward()
    torch.testing.assert_close(fast.lam.grad, slow.lam.grad, rtol=1e-12, atol=1e-12)
    assert fast.gamma.grad is None


@pytest.mark.parametrize("shape", [(12, 7), (7, 12)])
def test_gradcheck_custom_function(shape):
    from theorylab.nn.randlora import _RandLoRAUpdate

    layer = _layer(*shape)
    _randomise(layer)
    x = torch.randn(3, shape[0], dtype=torch.float64, requires_grad=True)
    lam = layer.lam.detach().clone().requires_grad_(True)
    gam = layer.gamma.detach().clone().requires_grad_(True)
    fn = lambda x, a, b: _RandLoRAUpdate.apply(x, a, b, layer.basis_b_flat, layer._a(),  # noqa: E731
                                               layer.scaling, layer.tall)[0]
    assert torch.autograd.gradcheck(fn, (x, lam, gam))


def test_frozen_set_and_parameter_count():
    layer = _layer(64, 32, rank=4)
    trainable = {n for n, p in layer.named_parameters() if p.requires_grad}
    assert trainable == {"lam", "gamma"}
    n = randlora_num_terms(64, 32, 4)
    assert n == 8 and layer.n_terms == 8
    assert layer.num_trainable == n * (4 + 32)
    assert sum(p.numel() for p in layer.parameters() if p.requires_grad) == n * (4 + 32)
    # bases are not saved: the state dict holds base weights and λ, γ only
    assert set(layer.state_dict()) == {"base.weight", "base.bias", "lam", "gamma"}


def test_init_values_follow_reference_code():
    layer = _layer(40, 30, rank=4)  # n = 8, λ = 1 / max(n, r)
    assert torch.all(layer.lam == 1.0 / 8) and torch.all(layer.gamma == 0)
    assert layer.basis_b.std().item() == pytest.approx(1.0, rel=0.05)
    assert layer.scaling == pytest.approx(1.0)  # default alpha = r / 10
    assert _layer(rank=2, alpha=2.0).scaling == pytest.approx(10.0)  # (α / r) · 10


@pytest.mark.parametrize("shape", [(24, 16), (16, 24)])
def test_update_reaches_full_rank_lora_does_not(shape):
    layer = _layer(*shape, rank=4)
    _randomise(layer)
    assert torch.linalg.matrix_rank(layer.delta_weight()).item() == min(shape)
    g = torch.Generator().manual_seed(0)
    lora = LoRALinear(torch.nn.Linear(*shape).double(), 4, generator=g)
    with torch.no_grad():
        lora.B.normal_(generator=g)
    assert torch.linalg.matrix_rank(lora.delta_weight()).item() == 4


def test_hand_example_one_term():
    """d = r = 1: ΔW = s · b λ a γ, a 2×1 outer product that can be written down."""
    base = torch.nn.Linear(1, 2, bias=False).double()
    layer = RandLoRALinear(base, rank=1, alpha=0.1, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        layer.lam.fill_(2.0)
        layer.gamma.fill_(3.0)
    b, a = layer.basis_b[0, :, 0], layer.basis_a[0, 0, 0]
    expected = (b * 2.0 * a * 3.0)[:, None]  # scaling (0.1 / 1) · 10 = 1
    torch.testing.assert_close(layer.delta_weight(), expected)


@pytest.mark.parametrize("basis", ["uniform", "normal", "ternary"])
def test_same_seed_same_bases_and_bank_slices(basis):
    a, b = _layer(basis=basis, seed=5), _layer(basis=basis, seed=5)
    assert torch.equal(a.basis_b, b.basis_b) and torch.equal(a.basis_a, b.basis_a)
    assert not torch.equal(a.basis_b, _layer(basis=basis, seed=6).basis_b)
    if basis == "ternary":
        vals = torch.unique(a.basis_b * a.basis_b.new_tensor(1.0))
        assert len(vals) <= 3
    bank = RandLoRABasisBank(20, 12, rank=2, n_terms=6, basis=basis,
                             generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    small = RandLoRALinear(torch.nn.Linear(12, 7).double(), rank=2, bank=bank)
    assert torch.equal(small.basis_b, bank.B[: small.n_terms, :12])
    assert torch.equal(small.basis_a, bank.A[:, :, :7])


def test_config_round_trip():
    from dataclasses import asdict

    layer = _layer(40, 30, rank=4, alpha=2.0, shared_a=False, basis="normal")
    again = RandLoRALinear(torch.nn.Linear(40, 30).double(),
                           generator=torch.Generator().manual_seed(0), **asdict(layer.config))
    assert again.config == layer.config
    assert torch.equal(again.basis_a, layer.basis_a)


def test_bad_inputs_name_the_parameter():
    base = torch.nn.Linear(8, 4)
    with pytest.raises(ValueError, match="rank"):
        RandLoRALinear(base, rank=0)
    with pytest.raises(ValueError, match="rank"):
        RandLoRALinear(base, rank=5)
    with pytest.raises(ValueError, match="alpha"):
        RandLoRALinear(base, rank=2, alpha=-1.0)
    with pytest.raises(ValueError, match="basis"):
        RandLoRALinear(base, rank=2, basis="cauchy")
    with pytest.raises(ValueError, match="n_terms"):
        RandLoRALinear(base, rank=2, n_terms=0)
    with pytest.raises(TypeError, match="base"):
        RandLoRALinear(torch.nn.Conv1d(2, 2, 1), rank=1)
    with pytest.raises(TypeError, match="bank"):
        RandLoRALinear(base, rank=2, bank="bank")
    bank = RandLoRABasisBank(6, 4, rank=2, n_terms=2)
    with pytest.raises(ValueError, match="bank"):
        RandLoRALinear(base, rank=2, bank=bank)  # D = 8 > 6
    with pytest.raises(ValueError, match="x must have last dimension 8"):
        RandLoRALinear(base, rank=2)(torch.randn(3, 5))


def test_training_lowers_loss_on_full_rank_target():
    d = 16
    base = torch.nn.Linear(d, d, bias=False)
    torch.nn.init.zeros_(base.weight)
    layer = RandLoRALinear(base, rank=4, generator=torch.Generator().manual_seed(0))
    Q, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(1)))
    opt = torch.optim.Adam([layer.lam, layer.gamma], lr=1e-2)
    for _ in range(200):
        opt.zero_grad()
        loss = ((layer.delta_weight() - Q) ** 2).sum() / d
        loss.backward()
        opt.step()
    # LoRA with as many parameters (2 d r ≥ n (r + d) = 80 → r = 3) cannot go below 1 − 3/16
    assert loss.item() < 1 - math.ceil(layer.num_trainable / (2 * d)) / d


@pytest.mark.gpu
def test_cuda_matches_cpu():
    cpu = _layer(24, 16, rank=4, dtype=torch.float32)
    _randomise(cpu)
    gpu = _layer(24, 16, rank=4, dtype=torch.float32).cuda()
    gpu.load_state_dict(cpu.state_dict())
    gpu.basis_b.copy_(cpu.basis_b)
    gpu.basis_a.copy_(cpu.basis_a)
    x = torch.randn(5, 24)
    torch.testing.assert_close(gpu(x.cuda()).cpu(), cpu(x), rtol=1e-4, atol=1e-5)
    gpu(x.cuda()).sum().backward()
    cpu(x).sum().backward()
    torch.testing.assert_close(gpu.gamma.grad.cpu(), cpu.gamma.grad, rtol=1e-4, atol=1e-5)
    # a CUDA generator gives bases on the device
    g = torch.Generator(device="cuda").manual_seed(0)
    layer = RandLoRALinear(torch.nn.Linear(24, 16).cuda(), rank=4, generator=g)
    assert layer.basis_b.is_cuda and torch.equal(layer(x.cuda()), layer.base(x.cuda()))
