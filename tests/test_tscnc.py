"""TSCNC tools (theorylab.robust): active-submatrix condition numbers against numpy.linalg,
penalties (closed forms, gradcheck), magnitude pruning masks, FGSM/PGD, bad inputs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from theorylab.robust import active_condition_number, active_submatrix

torch = pytest.importorskip("torch")

from theorylab.robust import (  # noqa: E402
    accuracy,
    apply_masks,
    fgsm,
    gaussian_noise,
    lipschitz_penalty,
    log_condition_penalty,
    magnitude_prune,
    pgd,
    transformed_l1,
)


def _pruned(m=30, n=12, seed=0, rate=0.6):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((m, n))
    W[np.abs(W) < np.quantile(np.abs(W), rate)] = 0.0
    W[3] = 0.0  # a dead unit
    W[:, 5] = 0.0  # an input nobody reads
    return W


# ------------------------------------------------------------ independent reference: numpy

@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("shape", [(30, 12), (12, 30), (20, 20)])
def test_kappa_equals_numpy_cond_on_active_submatrix(seed, shape):
    W = _pruned(*shape, seed=seed, rate=0.3)
    rows, cols = active_submatrix(W)
    A = W[np.ix_(rows, cols)]
    assert 3 not in rows and 5 not in cols
    assert np.all(np.abs(W[np.setdiff1d(np.arange(shape[0]), rows)]) == 0)
    r = active_condition_number(W)
    assert r.kappa == pytest.approx(np.linalg.cond(A), rel=1e-10)
    assert r.rank == np.linalg.matrix_rank(A)
    assert r.active_shape == A.shape
    assert np.isinf(np.linalg.cond(W)) or np.linalg.cond(W) > 1e12  # the full matrix: ∞


def test_hand_instance_and_rank_deficient_active_part():
    r = active_condition_number(np.diag([2.0, 1.0, 0.0]))
    assert (r.kappa, r.rank, r.active_shape) == (2.0, 2, (2, 2))
    # two active columns that are multiples of each other: rank 1, κ = ∞, effective κ finite
    W = np.array([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    r = active_condition_number(W)
    assert r.rank == 1 and (np.isinf(r.kappa) or r.kappa > 1e15)
    assert r.kappa_effective == pytest.approx(1.0)
    z = active_condition_number(np.zeros((3, 2)))
    assert z.rank == 0 and np.isnan(z.kappa)
    assert "ActiveCondition" in z.summary()


def test_kappa_invariants():
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    assert active_condition_number(Q).kappa == pytest.approx(1.0, abs=1e-12)
    W = _pruned(seed=2, rate=0.3)
    k = active_condition_number(W).kappa
    assert active_condition_number(-3.5 * W).kappa == pytest.approx(k, rel=1e-12)
    assert active_condition_number(W.T).kappa == pytest.approx(k, rel=1e-12)
    perm = rng.permutation(W.shape[0])
    assert active_condition_number(W[perm]).kappa == pytest.approx(k, rel=1e-12)


# ------------------------------------------------------------ penalties

def test_log_condition_penalty_is_log_kappa_and_zero_iff_flat():
    W = _pruned(seed=3, rate=0.3)
    pen = log_condition_penalty(torch.tensor(W)).item()
    assert pen == pytest.approx(np.log(active_condition_number(W).kappa), rel=1e-10)
    full = log_condition_penalty(torch.tensor(W[:, [0, 1, 2, 4]]), active_only=False).item()
    assert full == pytest.approx(np.log(np.linalg.cond(W[:, [0, 1, 2, 4]])), rel=1e-10)
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((6, 4)))
    assert log_condition_penalty(torch.tensor(3 * Q)).item() == pytest.approx(0.0, abs=1e-12)
    assert log_condition_penalty(torch.tensor(Q @ np.diag([1, 1, 1, 1.1]))).item() > 0.05
    # convolution kernels are reshaped to out × (in · k · k)
    K = torch.randn(4, 2, 3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert log_condition_penalty(K).item() == pytest.approx(
        np.log(np.linalg.cond(K.reshape(4, 18).numpy())), rel=1e-10)


def test_penalty_is_finite_on_a_rank_deficient_active_part():
    W = torch.tensor([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64,
                     requires_grad=True)
    pen = log_condition_penalty(W, floor=1e-6)
    pen.backward()
    assert pen.item() == pytest.approx(np.log(1e6), rel=1e-9)
    assert torch.isfinite(W.grad).all()


def test_penalty_gradients():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(7, 5, generator=g, dtype=torch.float64)
    W[2] = 0.0
    Wp = W.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda w: log_condition_penalty(w), (Wp,))
    assert torch.autograd.gradcheck(lambda w: lipschitz_penalty(w), (Wp,))
    V = (torch.rand(6, generator=g, dtype=torch.float64) + 0.1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda w: transformed_l1(w, a=0.5), (V,))
    # closed forms: σ_max, and ρ_a(w) = (a + 1)|w| / (a + |w|)
    assert lipschitz_penalty(W).item() == pytest.approx(np.linalg.norm(W.numpy(), 2), rel=1e-12)
    w = np.array([0.0, 0.5, -2.0])
    assert transformed_l1(torch.tensor(w), a=2.0).item() == pytest.approx(
        float(np.sum(3 * np.abs(w) / (2 + np.abs(w)))), rel=1e-12)
    # a → ∞ tends to ℓ1, a → 0 to ℓ0
    assert transformed_l1(torch.tensor(w), a=1e9).item() == pytest.approx(2.5, rel=1e-6)
    assert transformed_l1(torch.tensor(w), a=1e-9).item() == pytest.approx(2.0, rel=1e-6)


# ------------------------------------------------------------ pruning

def _mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 10), torch.nn.ReLU(), torch.nn.Linear(10, 3))


def test_magnitude_prune_counts_order_and_masks_survive_training():
    net = _mlp()
    before = {k: v.detach().clone() for k, v in net.named_parameters()}
    masks = magnitude_prune(net, rate=0.7)
    assert set(masks) == {"0.weight", "2.weight"}
    for name, keep in masks.items():
        w0, w = before[name], dict(net.named_parameters())[name].detach()
        assert int((~keep).sum()) == round(0.7 * w.numel())
        assert torch.all(w[~keep] == 0) and torch.equal(w[keep], w0[keep])
        assert w0[keep].abs().min() >= w0[~keep].abs().max()
    assert torch.equal(net[0].bias, before["0.bias"])  # biases untouched
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
        apply_masks(net, masks)
    for name, keep in masks.items():
        assert torch.all(dict(net.named_parameters())[name][~keep] == 0)
    assert magnitude_prune(_mlp(), rate=0.0)["0.weight"].all()


# ------------------------------------------------------------ attacks

def test_pgd_one_step_of_size_eps_is_fgsm():
    net = _mlp(1).double()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(20, 6, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (20,), generator=g)
    a = fgsm(net, x, y, eps=0.1)
    b = pgd(net, x, y, eps=0.1, steps=1, step_size=0.1)
    assert torch.equal(a, b)
    assert float((a - x).abs().max()) <= 0.1 + 1e-12 and a.min() >= 0 and a.max() <= 1
    c = pgd(net, x, y, eps=0.1, steps=10)
    assert float((c - x).abs().max()) <= 0.1 + 1e-12
    ce = lambda z: torch.nn.functional.cross_entropy(net(z), y).item()
    assert ce(c) >= ce(x) and ce(a) >= ce(x)


def test_fgsm_direction_on_a_linear_model_is_the_closed_form():
    """For logits W x + b, ∇ₓ CE = Wᵀ (softmax − onehot) / n (mean over the batch)."""
    lin = torch.nn.Linear(5, 3).double()
    g = torch.Generator().manual_seed(1)
    x = 0.3 + 0.4 * torch.rand(8, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (8,), generator=g)
    with torch.no_grad():
        P = torch.softmax(lin(x), dim=1)
        G = (P - torch.nn.functional.one_hot(y, 3)) @ lin.weight
    assert torch.equal(fgsm(lin, x, y, eps=0.05), (x + 0.05 * G.sign()).clamp(0, 1))


def test_noise_and_random_start_are_deterministic():
    x = torch.full((4, 6), 0.5)
    a = gaussian_noise(x, sigma=0.2, generator=torch.Generator().manual_seed(3))
    b = gaussian_noise(x, sigma=0.2, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, x)
    net = _mlp(2)
    y = torch.tensor([0, 1, 2, 0])
    p1 = pgd(net, x, y, eps=0.1, random_start=True, generator=torch.Generator().manual_seed(4))
    p2 = pgd(net, x, y, eps=0.1, random_start=True, generator=torch.Generator().manual_seed(4))
    assert torch.equal(p1, p2)
    assert 0.0 <= accuracy(net, x, y) <= 1.0


def test_import_does_not_load_torch():
    code = ("import sys, numpy as np, theorylab.robust as r; "
            "r.active_condition_number(np.eye(2)); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------ bad inputs

def test_bad_inputs():
    with pytest.raises(ValueError, match="W must be finite"):
        active_condition_number(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="W must be 2-dimensional"):
        active_condition_number(np.ones(3))
    with pytest.raises(ValueError, match="tol must be >= 0, got -1.0"):
        active_condition_number(np.eye(2), tol=-1.0)
    with pytest.raises(ValueError, match="rate must be < 1, got 1.0"):
        magnitude_prune(_mlp(), rate=1.0)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        magnitude_prune(np.eye(2), rate=0.5)
    with pytest.raises(ValueError, match="must contain at least one Linear"):
        magnitude_prune(torch.nn.ReLU(), rate=0.5)
    with pytest.raises(ValueError, match="masks must name parameters of model"):
        apply_masks(_mlp(), {"9.weight": torch.ones(2, 2, dtype=torch.bool)})
    with pytest.raises(TypeError, match="W must be a torch.Tensor, got ndarray"):
        log_condition_penalty(np.eye(2))
    with pytest.raises(ValueError, match="W must be a non-empty matrix"):
        lipschitz_penalty(torch.ones(3))
    with pytest.raises(ValueError, match="eps must be >= 0, got -0.1"):
        fgsm(_mlp(), torch.rand(2, 6), torch.tensor([0, 1]), eps=-0.1)
    with pytest.raises(ValueError, match=r"y must have shape \(2,\), got \(3,\)"):
        fgsm(_mlp(), torch.rand(2, 6), torch.tensor([0, 1, 2]), eps=0.1)
    with pytest.raises(ValueError, match="steps must be >= 1, got 0"):
        pgd(_mlp(), torch.rand(2, 6), torch.tensor([0, 1]), eps=0.1, steps=0)
    with pytest.raises(ValueError, match="a must be > 0, got 0.0"):
        transformed_l1(torch.ones(2), a=0.0)
