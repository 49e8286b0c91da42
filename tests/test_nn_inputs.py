"""Edge inputs of the nn modules: degenerate spectra, exact support sizes, devices, NaN
weights, rank rules that must hold after construction too, and shapes/dtypes beyond the
happy path (non-square, rank 1, batch dimensions, bias on/off, float32/float64)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.nn.galore import make_projector  # noqa: E402
from theorylab.nn.lora import LoRALinear  # noqa: E402
from theorylab.nn.monarch import MonarchLinear, project_to_monarch  # noqa: E402
from theorylab.nn.randlora import RandLoRABasisBank, RandLoRALinear  # noqa: E402
from theorylab.nn.sltrain import SparsePlusLowRankLinear, sltrain_num_parameters  # noqa: E402
from theorylab.nn.svd import (  # noqa: E402
    GatedSVDLinear,
    SSTLinear,
    SVDLinear,
    rank_for_energy,
)
from theorylab.nn.welore import (  # noqa: E402
    FactorizedLinear,
    allocate_ranks,
    compress_model,
    normalized_spectrum,
)

F64 = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------ WeLore: flat spectra
def test_zero_spectrum_normalises_to_zeros_and_flat_nonzero_to_ones():
    assert normalized_spectrum(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]
    assert normalized_spectrum([2.0, 2.0, 2.0]).tolist() == [1.0, 1.0, 1.0]
    # svdvals of an orthogonal matrix are 1 up to round-off: still flat, not stretched to [0, 1]
    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((6, 6)))[0]
    s = np.linalg.svd(Q, compute_uv=False)
    assert s.max() - s.min() > 0  # the round-off is really there
    assert normalized_spectrum(s).tolist() == [1.0] * 6


def test_zero_matrix_is_pruned_before_a_real_one():
    """A zero matrix carries no energy: it must lose its components first, not keep full rank
    while a real matrix is cut (the old all-ones normalisation did exactly that)."""
    real = np.diag([4.0, 3.0, 2.0, 1.0])
    a = allocate_ranks([np.zeros((4, 4)), real], reduction=3 / 8)
    assert a.ranks == (1, 4)
    # listed second it ties with the real matrix's σ̂ = 0 component, and still loses most
    assert allocate_ranks([real, np.zeros((4, 4))], reduction=3 / 8).ranks == (3, 2)
    # a flat nonzero matrix (identity) is the least low-rank: pruned last
    b = allocate_ranks([np.eye(4), real], reduction=3 / 8)
    assert b.ranks == (4, 1)


def test_normalized_spectrum_refuses_nan_and_negative():
    with pytest.raises(ValueError, match=r"sigma must be finite, got 1 NaN and 0 inf"):
        normalized_spectrum([1.0, np.nan])
    with pytest.raises(ValueError, match=r"sigma must be >= 0"):
        normalized_spectrum([1.0, -0.5])


# ------------------------------------------------------------------ rank_for_energy / SVDLinear
def test_rank_for_energy_of_a_zero_spectrum_is_an_error_not_k_plus_one():
    with pytest.raises(ValueError, match=r"sigma must have a nonzero entry.*all 3 entries zero"):
        rank_for_energy(torch.zeros(3), 0.9)


def test_rank_for_energy_never_exceeds_the_length():
    for e in (0.5, 0.999999, 1.0):
        assert 1 <= rank_for_energy(torch.tensor([1.0, 1e-9, 1e-9]), e) <= 3


def test_svdlinear_energy_on_a_zero_weight_names_the_weight_not_rank():
    base = torch.nn.Linear(4, 3, dtype=F64)
    with torch.no_grad():
        base.weight.zero_()
    with pytest.raises(ValueError, match=r"base\.weight must be nonzero.*pass rank="):
        SVDLinear(base, energy=0.9)
    assert SVDLinear(base, rank=2).rank == 2  # an explicit rank still works


# ------------------------------------------------------------------ SLTrain: exact ⌊δ m n⌋
@pytest.mark.parametrize("density, m, n, nnz", [(0.29, 10, 10, 29), (0.57, 10, 10, 57),
                                                (0.1, 10, 6, 6), (1.0, 3, 7, 21),
                                                (0.0, 5, 5, 0), (1 / 3, 3, 3, 3)])
def test_sltrain_support_size_is_the_exact_floor(density, m, n, nnz):
    layer = SparsePlusLowRankLinear(m, n, rank=1, density=density, generator=_gen())
    assert layer.nnz == nnz == layer.support.numel() == layer.values.numel()
    assert sltrain_num_parameters(m, n, rank=1, density=density) == layer.num_parameters
    assert layer.num_parameters == sum(p.numel() for p in layer.parameters())


# ------------------------------------------------------------------ devices
def _builders(device):
    return {
        "MonarchLinear": lambda: MonarchLinear(4, 4, nblocks=2, device=device),
        "SparsePlusLowRankLinear": lambda: SparsePlusLowRankLinear(4, 4, rank=1, density=0.5,
                                                                   device=device),
        "GatedSVDLinear": lambda: GatedSVDLinear(4, 4, n_learngene=1, n_tailor=1, n_groups=1,
                                                 device=device),
        "RandLoRABasisBank": lambda: RandLoRABasisBank(4, 4, rank=1, n_terms=2, device=device),
    }


@pytest.mark.parametrize("module", sorted(_builders(None)))
def test_cuda_without_cuda_is_a_clear_error(module):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match=r"device must be an available device.*CUDA is not"):
        _builders("cuda")[module]()


@pytest.mark.parametrize("module", sorted(_builders(None)))
@pytest.mark.parametrize("bad, exc", [("gpu0", ValueError), ("cuda:x", ValueError),
                                      (3.5, TypeError)])
def test_malformed_device_names_the_parameter(module, bad, exc):
    with pytest.raises(exc, match=r"^device must be"):
        _builders(bad)[module]()


@pytest.mark.parametrize("module", sorted(_builders(None)))
def test_cpu_device_string_and_object_work(module):
    for dev in ("cpu", torch.device("cpu"), None):
        _builders(dev)[module]()


# ------------------------------------------------------------------ KIND reset_tailors
def test_reset_tailors_refuses_what_the_constructor_refuses():
    layer = GatedSVDLinear(10, 12, n_learngene=3, n_tailor=2, n_groups=3, generator=_gen(),
                           dtype=F64)
    with pytest.raises(ValueError, match=r"n_learngene \+ n_tailor \* n_groups must be <= "
                                         r"min\(in, out\) = 10, got 3 \+ 4 \* 2 = 11"):
        layer.reset_tailors(n_tailor=4, n_groups=2)
    with pytest.raises(ValueError, match="n_learngene"):
        GatedSVDLinear(10, 12, n_learngene=3, n_tailor=4, n_groups=2)
    layer.reset_tailors(n_tailor=7, n_groups=1)  # the boundary, 3 + 7 = 10, is allowed
    assert layer.U_T.shape == (12, 7)


# ------------------------------------------------------------------ NaN / inf weights
def _nan_linear(in_f=5, out_f=4, n_nan=2, n_inf=1):
    lin = torch.nn.Linear(in_f, out_f, dtype=F64)
    with torch.no_grad():
        flat = lin.weight.view(-1)
        flat[:n_nan] = float("nan")
        flat[n_nan:n_nan + n_inf] = float("inf")
    return lin


def test_nan_weight_svd_layers_name_the_weight_and_count():
    msg = r"base\.weight must be finite, got 2 NaN and 1 inf entries out of 20"
    with pytest.raises(ValueError, match=msg):
        SVDLinear(_nan_linear(), rank=2)
    with pytest.raises(ValueError, match=msg):
        SSTLinear(_nan_linear(), rank=2)


def test_nan_weight_welore_names_the_weight():
    with pytest.raises(ValueError, match=r"linear\.weight must be finite, got 2 NaN"):
        FactorizedLinear.from_linear(_nan_linear(), rank=2)
    good = torch.nn.Linear(5, 4, dtype=F64)
    with pytest.raises(ValueError, match=r"weights\[1\] must be finite, got 2 NaN"):
        allocate_ranks([good, _nan_linear()], reduction=0.5)
    model = torch.nn.Sequential(good, torch.nn.ReLU(), _nan_linear(4, 3))
    with pytest.raises(ValueError, match=r"^2\.weight must be finite, got 2 NaN"):
        compress_model(model, reduction=0.5)


def test_nan_weight_monarch_projection_names_w():
    W = torch.randn(4, 4, dtype=F64)
    W[1, 2] = float("nan")
    with pytest.raises(ValueError, match=r"W must be finite, got 1 NaN and 0 inf"):
        project_to_monarch(W, nblocks=2)
    with pytest.raises(ValueError, match=r"^weight must be finite, got 1 NaN"):
        MonarchLinear.from_dense(W, nblocks=2)


# ------------------------------------------------------------------ shapes and dtypes
def _adapters(in_f, out_f, bias, dtype):
    """Every (..., in) -> (..., out) module at rank 1, with its dense weight and bias."""
    def base():
        torch.manual_seed(0)
        return torch.nn.Linear(in_f, out_f, bias=bias, dtype=dtype)

    out = {}
    b = base()
    out["lora"] = (LoRALinear(b, rank=1, generator=_gen()), lambda m: m.merged_weight(), b.bias)
    b = base()
    out["randlora"] = (RandLoRALinear(b, rank=1, generator=_gen()),
                       lambda m: m.merged_weight(), b.bias)
    b = base()
    out["randlora_plain"] = (RandLoRALinear(b, rank=1, generator=_gen(),
                                            memory_efficient=False),
                             lambda m: m.merged_weight(), b.bias)
    b = base()
    out["svfit"] = (SVDLinear(b, rank=1), lambda m: m.merged_weight(), b.bias)
    b = base()
    m = SSTLinear(b, rank=1, generator=_gen())
    out["sst"] = (m, lambda m: m.merged_weight(), m.bias)
    m = FactorizedLinear.from_linear(base(), rank=1)
    out["welore"] = (m, lambda m: m.merged_weight(), m.bias)
    m = SparsePlusLowRankLinear(in_f, out_f, rank=1, density=0.3, bias=bias, dtype=dtype,
                                generator=_gen())
    out["sltrain"] = (m, lambda m: m.dense_weight(), m.bias)
    m = MonarchLinear(in_f, out_f, nblocks=1, bias=bias, dtype=dtype, generator=_gen())
    out["monarch"] = (m, lambda m: m.dense_weight(), m.bias)
    return out


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (1, 4), (4, 1)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_every_module_matches_its_dense_weight_on_batches(shape, bias, dtype):
    in_f, out_f = shape
    tol = {torch.float32: 1e-5, F64: 1e-12}[dtype]
    for name, (mod, dense, b) in _adapters(in_f, out_f, bias, dtype).items():
        with torch.no_grad():  # move every trainable factor off its (often zero) init
            for p in mod.parameters():
                if p.requires_grad:
                    p.add_(0.3 * torch.randn(p.shape, generator=_gen(3), dtype=dtype))
        for lead in [(), (3,), (2, 3)]:
            x = torch.randn(*lead, in_f, generator=_gen(4), dtype=dtype)
            y = mod(x)
            assert y.shape == (*lead, out_f) and y.dtype == dtype, name
            ref = x @ dense(mod).T + (0 if b is None else b)
            torch.testing.assert_close(y, ref, rtol=tol, atol=tol, msg=name)


@pytest.mark.parametrize("shape", [(6, 1), (1, 6), (5, 3)])
def test_projectors_on_rank_one_and_thin_gradients(shape):
    G = torch.randn(*shape, generator=_gen(), dtype=F64)
    for kind in ("svd", "dct", "random"):
        p = make_projector(kind, 1)
        p.update(G, generator=_gen(1))
        a = p.project(G)
        assert a.shape == (max(shape), 1)
        assert p.project_back(a).shape == shape


def test_wrong_input_width_is_a_clear_error():
    base = torch.nn.Linear(5, 3, dtype=F64)
    mods = {"LoRALinear": LoRALinear(base, rank=1, generator=_gen()),
            "SVDLinear": SVDLinear(base, rank=1),
            "SSTLinear": SSTLinear(base, rank=1, generator=_gen()),
            "FactorizedLinear": FactorizedLinear.from_linear(base, rank=1),
            "RandLoRALinear": RandLoRALinear(base, rank=1, generator=_gen()),
            "MonarchLinear": MonarchLinear(5, 3, nblocks=1, dtype=F64),
            "SparsePlusLowRankLinear": SparsePlusLowRankLinear(5, 3, rank=1, density=0.5,
                                                               dtype=F64)}
    for name, m in mods.items():
        with pytest.raises(ValueError, match=r"x must have last dimension 5"):
            m(torch.zeros(2, 4, dtype=F64))
        assert m(torch.zeros(5, dtype=F64)).shape == (3,), name  # a single row works


@pytest.mark.gpu
def test_gated_svd_cpu_generator_seeds_a_cuda_layer_like_a_cpu_one():
    kw = dict(n_learngene=2, n_tailor=1, n_groups=2, dtype=F64)
    cpu = GatedSVDLinear(6, 5, generator=_gen(), **kw)
    gpu = GatedSVDLinear(6, 5, generator=_gen(), device="cuda", **kw)
    assert all(t.device.type == "cuda" for t in gpu.state_dict().values())
    # singular vectors are defined up to sign (CPU and CUDA SVDs may differ): compare weights
    for g in (0, 1):
        torch.testing.assert_close(gpu.merged_weight(g).cpu(), cpu.merged_weight(g),
                                   rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gpu.bias.cpu(), cpu.bias, rtol=0, atol=0)


@pytest.mark.parametrize("bad, exc", [("cuda:x", ValueError), ("cpux", ValueError),
                                      (3, TypeError)])
def test_resolve_device_refuses_malformed_names(bad, exc):
    from theorylab.nn.training import make_generator, resolve_device

    with pytest.raises(exc, match=r"^device must be"):
        resolve_device(bad)
    with pytest.raises(exc, match=r"^device must be"):
        make_generator(0, bad)


@pytest.mark.parametrize("kind", ["svd", "dct"])
def test_projector_update_on_a_nan_gradient_names_g(kind):
    G = torch.randn(5, 3, dtype=F64)
    G[0, 0], G[2, 1] = float("nan"), float("inf")
    with pytest.raises(ValueError, match=r"^G must be finite, got 1 NaN and 1 inf entries"):
        make_projector(kind, 2).update(G)


def test_sst_resample_after_a_nan_step_names_the_weight():
    layer = SSTLinear(torch.nn.Linear(5, 4, dtype=F64), rank=2, generator=_gen())
    with torch.no_grad():
        layer.sigma[0] = float("nan")
    with pytest.raises(ValueError, match=r"trained weight .* must be finite, got \d+ NaN"):
        layer.resample(generator=_gen(1))


def test_dct_matrix_and_char_batches_name_a_bad_device():
    from theorylab.nn.data import char_batches
    from theorylab.nn.galore import dct_matrix

    codes = np.arange(50) % 7
    for bad in ("gpu", "cuda:x"):
        with pytest.raises(ValueError, match=r"^device must be"):
            dct_matrix(4, device=bad)
        with pytest.raises(ValueError, match=r"^device must be"):
            char_batches(codes, batch_size=2, block=3, device=bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"CUDA is not available"):
            dct_matrix(4, device="cuda")
    assert char_batches(codes, batch_size=2, block=3)[0].device.type == "cpu"


def test_gated_svd_accepts_batch_dimensions():
    layer = GatedSVDLinear(6, 5, n_learngene=2, n_tailor=1, n_groups=3, generator=_gen(),
                           dtype=F64)
    x = torch.randn(2, 3, 6, generator=_gen(1), dtype=F64)
    groups = torch.tensor([[0, 1, 2], [2, 2, 0]])
    y = layer(x, groups)
    assert y.shape == (2, 3, 5)
    torch.testing.assert_close(y.reshape(6, 5), layer(x.reshape(6, 6), groups.reshape(6)),
                               rtol=0, atol=0)
    for g in range(3):  # every row equals its group's dense weight
        rows = groups == g
        ref = x[rows] @ layer.merged_weight(g).T + layer.bias
        torch.testing.assert_close(y[rows], ref, rtol=1e-12, atol=1e-12)
    assert layer(x[0, 0], groups[0, 0]).shape == (5,)  # a single row, a 0-d group id
    with pytest.raises(ValueError, match=r"group_ids must have shape \(2, 3\)"):
        layer(x, groups.reshape(6))
    with pytest.raises(TypeError, match="group_ids must be an integer torch.Tensor"):
        layer(x, [[0, 1, 2], [2, 2, 0]])


def test_rank_for_energy_does_not_depend_on_the_order_of_sigma():
    s = torch.tensor([3.0, 1.0, 0.1])
    for perm in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        assert rank_for_energy(s[perm], 0.8) == 1
        assert rank_for_energy(s[perm], 0.95) == 2
