"""Invariants of the GaLore-style projectors (SVD, DCT, random) and LowRankAdam."""

import pytest

torch = pytest.importorskip("torch")

from theorylab.nn.galore import (  # noqa: E402
    DCTProjector,
    LowRankAdam,
    RandomProjector,
    SVDProjector,
    dct_ii,
    dct_matrix,
    make_projector,
    projection_energy,
)

F64 = torch.float64


def _grad(n=24, m=12, seed=0):
    return torch.randn(n, m, generator=torch.Generator().manual_seed(seed), dtype=F64)


# ---------------------------------------------------------------- DCT basis

@pytest.mark.parametrize("n", [1, 2, 7, 16, 33])
def test_dct_matrix_orthonormal(n):
    Q = dct_matrix(n, dtype=F64)
    assert torch.allclose(Q.T @ Q, torch.eye(n, dtype=F64), atol=1e-12)


def test_dct_matrix_float32_orthonormal_large():
    Q = dct_matrix(512)
    assert (Q.T @ Q - torch.eye(512)).abs().max() < 1e-5


def test_dct_first_column_is_constant_and_hand_value():
    Q = dct_matrix(4, dtype=F64)
    assert torch.allclose(Q[:, 0], torch.full((4,), 0.5, dtype=F64))
    # Q[j, 1] = sqrt(2/4) cos(pi (2j+1) / 8)
    import math
    want = torch.tensor([math.sqrt(0.5) * math.cos(math.pi * (2 * j + 1) / 8) for j in range(4)],
                        dtype=F64)
    assert torch.allclose(Q[:, 1], want)


@pytest.mark.parametrize("n", [5, 8, 31, 64])
def test_fft_dct_equals_matrix_dct(n):
    x = torch.randn(3, n, generator=torch.Generator().manual_seed(n), dtype=F64)
    assert torch.allclose(dct_ii(x), x @ dct_matrix(n, dtype=F64), atol=1e-12)


# ---------------------------------------------------------------- projectors

@pytest.mark.parametrize("kind", ["svd", "dct", "random"])
@pytest.mark.parametrize("shape", [(24, 12), (12, 24)])
def test_projector_orthonormal_and_idempotent(kind, shape):
    G = torch.randn(*shape, generator=torch.Generator().manual_seed(1), dtype=F64)
    p = make_projector(kind, 5)
    p.update(G, generator=torch.Generator().manual_seed(2))
    P = p.basis()
    assert P.shape == (12, 5)
    assert torch.allclose(P.T @ P, torch.eye(5, dtype=F64), atol=1e-10)
    once = p.project_back(p.project(G))
    assert once.shape == G.shape
    twice = p.project_back(p.project(once))
    assert torch.allclose(once, twice, atol=1e-12)  # idempotent: a projection


@pytest.mark.parametrize("kind", ["svd", "dct", "random"])
def test_full_rank_projection_is_identity(kind):
    G = _grad()
    p = make_projector(kind, 12)
    p.update(G, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(p.project_back(p.project(G)), G, atol=1e-12)
    assert projection_energy(G, p) == pytest.approx(1.0, abs=1e-12)


def test_energy_order_svd_ge_dct_ge_random_l2():
    G = _grad(64, 32, seed=3)
    e = {}
    for kind in ("svd", "dct"):
        p = DCTProjector(4, score_norm=2) if kind == "dct" else SVDProjector(4)
        p.update(G)
        e[kind] = projection_energy(G, p)
    gen = torch.Generator().manual_seed(0)
    rnd = []
    for _ in range(20):
        p = RandomProjector(4)
        p.update(G, generator=gen)
        rnd.append(projection_energy(G, p))
    assert e["svd"] >= e["dct"] - 1e-12
    assert e["dct"] >= max(rnd) - 1e-12  # ℓ2 selection is the best subset of DCT columns


def test_svd_energy_equals_eckart_young():
    G = _grad(30, 10, seed=4)
    p = SVDProjector(3)
    p.update(G)
    s = torch.linalg.svdvals(G)
    assert projection_energy(G, p) == pytest.approx(float((s[:3] ** 2).sum() / (s ** 2).sum()),
                                                    rel=1e-10)


def test_dct_selects_planted_columns():
    Q = dct_matrix(16, dtype=F64)
    coef = torch.zeros(20, 16, dtype=F64)
    coef[:, [2, 9, 13]] = torch.randn(20, 3, generator=torch.Generator().manual_seed(0),
                                      dtype=F64)
    G = coef @ Q.T  # rows live in the span of DCT columns 2, 9, 13
    p = DCTProjector(3)
    p.update(G)
    assert p.indices.tolist() == [2, 9, 13]
    assert projection_energy(G, p) == pytest.approx(1.0, abs=1e-12)


def test_dct_stores_only_indices():
    p = DCTProjector(4)
    p.update(_grad())
    assert p.indices.dtype == torch.int64 and p.indices.shape == (4,)
    assert dct_matrix(12, dtype=F64) is dct_matrix(12, dtype=F64)  # one shared Q per size


def test_random_projector_reproducible():
    G = _grad()
    a, b = RandomProjector(4), RandomProjector(4)
    a.update(G, generator=torch.Generator().manual_seed(7))
    b.update(G, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a.indices, b.indices)


# ---------------------------------------------------------------- LowRankAdam

def _quad_loss(W, target):
    return 0.5 * (W - target).square().sum() + (W.sum(1) ** 2).sum() * 0.01


@pytest.mark.parametrize("kind", ["svd", "dct"])
def test_lowrank_adam_full_rank_fixed_basis_equals_adam_in_rotated_coordinates(kind):
    """Fast == dense reference: with r = k and one fixed basis P, LowRankAdam on W is torch
    Adam on Z = W P (W = Z Pᵀ)."""
    gen = torch.Generator().manual_seed(0)
    W0 = torch.randn(10, 6, generator=gen, dtype=F64)
    T = torch.randn(10, 6, generator=gen, dtype=F64)
    W = torch.nn.Parameter(W0.clone())
    opt = LowRankAdam([W], lr=0.05, rank=6, projector=kind, update_gap=10_000)
    W.grad = None
    _quad_loss(W, T).backward()
    opt.step()
    P = opt.state[W]["projector"].basis().detach()
    Z = torch.nn.Parameter(W0 @ P)
    ref = torch.optim.Adam([Z], lr=0.05)
    _quad_loss(Z @ P.T, T).backward()
    ref.step()
    for _ in range(15):
        W.grad = None
        _quad_loss(W, T).backward()
        opt.step()
        ref.zero_grad()
        _quad_loss(Z @ P.T, T).backward()
        ref.step()
    assert torch.allclose(W.detach(), Z.detach() @ P.T, atol=1e-10)


def test_lowrank_adam_1d_params_follow_adam():
    b = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0], dtype=F64))
    c = torch.nn.Parameter(b.detach().clone())
    o1 = LowRankAdam([b], lr=0.1, rank=2)
    o2 = torch.optim.Adam([c], lr=0.1)
    for _ in range(5):
        for p, o in ((b, o1), (c, o2)):
            o.zero_grad()
            (p ** 4).sum().backward()
            o.step()
    assert torch.allclose(b, c, atol=1e-12)


def test_lowrank_adam_update_lies_in_subspace():
    W = torch.nn.Parameter(_grad(20, 8, seed=5))
    W0 = W.detach().clone()
    opt = LowRankAdam([W], lr=0.1, rank=2, projector="dct")
    _quad_loss(W, torch.zeros(20, 8, dtype=F64)).backward()
    opt.step()
    P = opt.state[W]["projector"].basis()
    dW = W.detach() - W0
    assert torch.allclose(dW @ P @ P.T, dW, atol=1e-12)
    assert tuple(opt.state[W]["exp_avg"].shape) == (20, 2)
    assert opt.state_bytes() == 2 * 20 * 2 * 8 + 2 * 8  # moments (float64) + int64 indices


def test_rotate_states_with_same_indices_is_identity():
    gen = torch.Generator().manual_seed(0)
    W0 = torch.randn(12, 8, generator=gen, dtype=F64)
    Ws = []
    for rot in (False, True):
        W = torch.nn.Parameter(W0.clone())
        opt = LowRankAdam([W], lr=0.05, rank=8, projector="dct", update_gap=1,
                          rotate_states=rot)
        for _ in range(4):
            W.grad = None
            _quad_loss(W, torch.zeros(12, 8, dtype=F64)).backward()
            opt.step()
        Ws.append(W.detach())
    # r = k: the selected set is always all columns in ascending order, so R = I
    assert torch.allclose(Ws[0], Ws[1], atol=1e-12)


def test_rotate_states_moves_moments_with_their_columns():
    W = torch.nn.Parameter(torch.zeros(6, 4, dtype=F64))
    opt = LowRankAdam([W], lr=0.1, rank=2, projector="dct", update_gap=1, rotate_states=True)
    Q = dct_matrix(4, dtype=F64)
    W.grad = torch.outer(torch.ones(6, dtype=F64), 3 * Q[:, 1] + Q[:, 2])
    opt.step()
    m_old = opt.state[W]["exp_avg"].clone()  # columns (1, 2)
    W.grad = torch.outer(torch.ones(6, dtype=F64), 3 * Q[:, 1] + 2 * Q[:, 3])
    opt.step()
    assert opt.state[W]["projector"].indices.tolist() == [1, 3]
    m = opt.state[W]["exp_avg"]
    # column 1 kept its moment (decayed + new), column 3 started from zero
    assert torch.allclose(m[:, 0], 0.9 * m_old[:, 0] + 0.1 * 3.0)
    assert torch.allclose(m[:, 1], torch.full((6,), 0.1 * 2.0, dtype=F64))


# ---------------------------------------------------------------- bad inputs

def test_bad_inputs_name_the_parameter():
    with pytest.raises(ValueError, match="rank"):
        SVDProjector(0)
    with pytest.raises(ValueError, match="rank"):
        p = DCTProjector(20)
        p.update(_grad(24, 12))
    with pytest.raises(ValueError, match="G must be 2-dimensional"):
        DCTProjector(2).update(torch.zeros(3, 4, 5))
    with pytest.raises(ValueError, match="projector"):
        make_projector("qr", 2)
    with pytest.raises(ValueError, match="score_norm"):
        DCTProjector(2, score_norm=3)
    w = torch.nn.Parameter(torch.zeros(4, 4))
    with pytest.raises(ValueError, match="lr"):
        LowRankAdam([w], lr=-1.0, rank=2)
    with pytest.raises(ValueError, match="update_gap"):
        LowRankAdam([w], lr=1e-3, rank=2, update_gap=0)
    with pytest.raises(ValueError, match="betas"):
        LowRankAdam([w], lr=1e-3, rank=2, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="G must be nonzero"):
        projection_energy(torch.zeros(4, 3), SVDProjector(1))
    with pytest.raises(RuntimeError, match="update"):
        SVDProjector(1).basis()


def test_projector_refuses_a_new_shape():
    p = DCTProjector(2)
    p.update(_grad(24, 12))
    with pytest.raises(ValueError, match="G must keep the shape"):
        p.update(_grad(24, 10))


@pytest.mark.gpu
def test_projectors_and_optimizer_on_cuda():
    G = torch.randn(64, 32, device="cuda")
    for kind in ("svd", "dct", "random"):
        p = make_projector(kind, 4)
        p.update(G, generator=torch.Generator(device="cuda").manual_seed(0))
        assert p.project(G).device.type == "cuda"
    x = torch.randn(5, 33, device="cuda", dtype=F64)
    assert torch.allclose(dct_ii(x), x @ dct_matrix(33, dtype=F64, device="cuda"))
    W = torch.nn.Parameter(torch.randn(16, 8, device="cuda"))
    opt = LowRankAdam([W], lr=1e-2, rank=2, projector="dct")
    W.square().sum().backward()
    opt.step()
    assert opt.state[W]["exp_avg"].device.type == "cuda"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 20), st.integers(2, 20), st.integers(1, 20), st.integers(0, 10**6),
       st.sampled_from(["svd", "dct", "random"]))
def test_projection_is_idempotent_and_non_expansive(n, m, r, seed, kind):
    r = min(r, n, m)
    G = torch.randn(n, m, generator=torch.Generator().manual_seed(seed), dtype=F64)
    p = make_projector(kind, r)
    p.update(G, generator=torch.Generator().manual_seed(seed))
    PG = p.project_back(p.project(G))
    assert PG.norm() <= G.norm() * (1 + 1e-12)
    assert torch.allclose(p.project_back(p.project(PG)), PG, atol=1e-10)
    assert 0.0 <= projection_energy(G, p) <= 1.0 + 1e-12
