"""First and second derivatives of every module in theorylab.nn, checked by finite differences.

``gradcheck`` compares the analytic Jacobian with central differences; ``gradgradcheck`` does
the same for the Jacobian of the backward (a custom autograd Function that saves an
intermediate without its graph passes the first and fails the second *silently* in
training code — e.g. a gradient penalty or a Hessian-vector product). Everything runs in
float64 on small, non-square shapes, with batch dimensions and bias on and off, through
``torch.func.functional_call`` so the check differentiates with respect to the module's
trainable parameters as well as its input.
"""

import pytest

torch = pytest.importorskip("torch")

from torch.func import functional_call  # noqa: E402

from theorylab.nn.galore import dct_ii, make_projector  # noqa: E402
from theorylab.nn.lora import LoRALinear  # noqa: E402
from theorylab.nn.monarch import MonarchLinear, monarch_multiply  # noqa: E402
from theorylab.nn.randlora import RandLoRALinear  # noqa: E402
from theorylab.nn.sltrain import SparsePlusLowRankLinear  # noqa: E402
from theorylab.nn.svd import GatedSVDLinear, SSTLinear, SVDLinear  # noqa: E402
from theorylab.nn.welore import FactorizedLinear  # noqa: E402

F64 = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _perturb(module, seed=1):
    """Move every trainable parameter off its init (zero factors make derivatives trivial)."""
    g = _gen(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.requires_grad:
                p.add_(0.5 * torch.randn(p.shape, generator=g, dtype=p.dtype))


def _check_module(module, x, *extra, second=True):
    """gradcheck (and gradgradcheck) of ``module(x, *extra)`` w.r.t. x and trainable params."""
    names = [n for n, p in module.named_parameters() if p.requires_grad]
    params = [module.get_parameter(n).detach().clone().requires_grad_(True) for n in names]
    x = x.detach().clone().requires_grad_(True)

    def fn(x, *ps):
        return functional_call(module, dict(zip(names, ps, strict=True)), (x, *extra))

    inputs = (x, *params)
    assert torch.autograd.gradcheck(fn, inputs)
    if second:
        assert torch.autograd.gradgradcheck(fn, inputs)


def _x(lead, n, seed=2):
    return torch.randn(*lead, n, generator=_gen(seed), dtype=F64)


# ------------------------------------------------------------------ RandLoRA (custom Function)
@pytest.mark.parametrize("memory_efficient", [True, False])
@pytest.mark.parametrize("shape", [(5, 7), (7, 5), (4, 4)])
@pytest.mark.parametrize("shared_a", [True, False])
def test_randlora_first_and_second_derivatives(memory_efficient, shape, shared_a):
    in_f, out_f = shape
    base = torch.nn.Linear(in_f, out_f, dtype=F64)
    layer = RandLoRALinear(base, rank=2, shared_a=shared_a, memory_efficient=memory_efficient,
                           generator=_gen())
    _perturb(layer)
    _check_module(layer, _x((2, 3), in_f))


def test_randlora_custom_function_second_derivative_matches_plain_autograd():
    """A Hessian-vector product through the custom backward equals plain autograd's."""
    base = torch.nn.Linear(4, 6, dtype=F64)  # tall: the saved v depends on x and γ
    fast = RandLoRALinear(base, rank=2, generator=_gen(), memory_efficient=True)
    _perturb(fast)
    slow = RandLoRALinear(base, rank=2, generator=_gen(), memory_efficient=False)
    slow.load_state_dict(fast.state_dict())
    x = _x((5,), 4)
    out = []
    for layer in (fast, slow):
        xr = x.clone().requires_grad_(True)
        loss = layer(xr).square().sum()
        gx, glam, ggam = torch.autograd.grad(loss, (xr, layer.lam, layer.gamma),
                                             create_graph=True)
        # a gradient penalty: its gradient needs the second derivative in every argument
        pen = gx.square().sum() + glam.square().sum() + ggam.square().sum()
        out.append(torch.autograd.grad(pen, (xr, layer.lam, layer.gamma)))
    for a, b in zip(*out, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ LoRA
@pytest.mark.parametrize("shape", [(5, 3), (3, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_lora_first_and_second_derivatives(shape, bias):
    base = torch.nn.Linear(*shape, bias=bias, dtype=F64)
    layer = LoRALinear(base, rank=1, generator=_gen())
    _perturb(layer)
    _check_module(layer, _x((2, 3), shape[0]))


# ------------------------------------------------------------------ Monarch
@pytest.mark.parametrize("in_f, out_f, b", [(6, 4, 2), (5, 7, 2), (4, 4, 1), (9, 9, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_monarch_first_and_second_derivatives(in_f, out_f, b, bias):
    layer = MonarchLinear(in_f, out_f, nblocks=b, bias=bias, generator=_gen(), dtype=F64)
    _check_module(layer, _x((2, 2), in_f))


def test_monarch_multiply_derivatives_in_all_three_arguments():
    b1 = torch.randn(2, 2, 3, generator=_gen(3), dtype=F64, requires_grad=True)
    b2 = torch.randn(2, 3, 2, generator=_gen(4), dtype=F64, requires_grad=True)
    x = _x((3,), 5).requires_grad_(True)
    fn = lambda x, b1, b2: monarch_multiply(x, b1, b2, 5)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, b1, b2))
    assert torch.autograd.gradgradcheck(fn, (x, b1, b2))


# ------------------------------------------------------------------ SLTrain
@pytest.mark.parametrize("backend", ["dense", "sparse"])
@pytest.mark.parametrize("shape", [(6, 4), (4, 6)])
@pytest.mark.parametrize("bias", [True, False])
def test_sltrain_first_and_second_derivatives(backend, shape, bias):
    layer = SparsePlusLowRankLinear(*shape, rank=1, density=0.3, bias=bias, backend=backend,
                                    generator=_gen(), dtype=F64)
    _perturb(layer)
    _check_module(layer, _x((2, 3), shape[0]))


# ------------------------------------------------------------------ SVFit / SST / KIND
@pytest.mark.parametrize("shape", [(6, 4), (4, 6)])
@pytest.mark.parametrize("bias", [True, False])
def test_svdlinear_first_and_second_derivatives(shape, bias):
    base = torch.nn.Linear(*shape, bias=bias, dtype=F64)
    layer = SVDLinear(base, rank=2)
    _perturb(layer)
    _check_module(layer, _x((2, 3), shape[0]))


@pytest.mark.parametrize("shape", [(6, 4), (4, 6)])
@pytest.mark.parametrize("bias", [True, False])
def test_sstlinear_first_and_second_derivatives(shape, bias):
    base = torch.nn.Linear(*shape, bias=bias, dtype=F64)
    layer = SSTLinear(base, rank=2, generator=_gen())
    _perturb(layer)
    _check_module(layer, _x((2, 3), shape[0]))


@pytest.mark.parametrize("shape", [(6, 5), (5, 6)])
@pytest.mark.parametrize("bias", [True, False])
def test_gated_svd_first_and_second_derivatives(shape, bias):
    layer = GatedSVDLinear(*shape, n_learngene=2, n_tailor=1, n_groups=2, bias=bias,
                           generator=_gen(), dtype=F64)
    _perturb(layer)
    groups = torch.tensor([0, 1, 1, 0])
    _check_module(layer, _x((4,), shape[0]), groups)


# ------------------------------------------------------------------ WeLore factors
@pytest.mark.parametrize("shape", [(6, 4), (4, 6)])
@pytest.mark.parametrize("bias", [True, False])
def test_factorized_linear_first_and_second_derivatives(shape, bias):
    lin = torch.nn.Linear(*shape, bias=bias, dtype=F64)
    layer = FactorizedLinear.from_linear(lin, rank=1)
    _check_module(layer, _x((2, 3), shape[0]))


# ------------------------------------------------------------------ DCT projector
@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_dct_ii_first_and_second_derivatives(n):
    x = _x((3,), n).requires_grad_(True)
    assert torch.autograd.gradcheck(dct_ii, (x,))
    assert torch.autograd.gradgradcheck(dct_ii, (x,))


@pytest.mark.parametrize("kind", ["svd", "dct", "random"])
@pytest.mark.parametrize("shape", [(6, 4), (4, 6)])
def test_projector_project_and_back_derivatives_for_a_fixed_basis(kind, shape):
    """Once the basis is chosen, ``project``/``project_back`` are linear maps of G and a."""
    G = _x((shape[0],), shape[1])
    proj = make_projector(kind, 2)
    proj.update(G, generator=_gen())
    Gr = G.clone().requires_grad_(True)
    a = proj.project(G).clone().requires_grad_(True)
    assert torch.autograd.gradcheck(proj.project, (Gr,))
    assert torch.autograd.gradgradcheck(proj.project, (Gr,))
    assert torch.autograd.gradcheck(proj.project_back, (a,))
    assert torch.autograd.gradgradcheck(proj.project_back, (a,))


@pytest.mark.parametrize("shape", [(5, 7), (7, 5)])
def test_randlora_custom_function_under_torch_func_transforms(shape):
    """``torch.func.grad``, a Hessian by ``jacrev(jacrev(.))`` and ``vmap`` run through the
    memory-efficient path and agree with plain autograd."""
    from torch.func import grad, jacrev, vmap

    base = torch.nn.Linear(*shape, dtype=F64)
    fast = RandLoRALinear(base, rank=2, generator=_gen(), memory_efficient=True)
    _perturb(fast)
    slow = RandLoRALinear(base, rank=2, generator=_gen(), memory_efficient=False)
    slow.load_state_dict(fast.state_dict())
    x = _x((4,), shape[0])
    params = {"lam": fast.lam.detach(), "gamma": fast.gamma.detach()}

    def loss(layer):
        return lambda p: functional_call(layer, p, (x,)).square().sum()

    def loss_gamma(layer):
        return lambda g: functional_call(layer, {"lam": params["lam"], "gamma": g},
                                         (x,)).square().sum()

    gf, gs = grad(loss(fast))(params), grad(loss(slow))(params)
    for k in params:
        torch.testing.assert_close(gf[k], gs[k], rtol=1e-12, atol=1e-12)
    hf = jacrev(jacrev(loss_gamma(fast)))(params["gamma"])
    hs = jacrev(jacrev(loss_gamma(slow)))(params["gamma"])
    torch.testing.assert_close(hf, hs, rtol=1e-10, atol=1e-12)
    xb = _x((3, 4), shape[0])
    yb = vmap(lambda xi: functional_call(fast, params, (xi,)))(xb)
    torch.testing.assert_close(yb, slow(xb).detach(), rtol=1e-12, atol=1e-12)
