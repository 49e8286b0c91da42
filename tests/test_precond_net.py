"""theorylab.precond's torch part: the DCDM network, its loss, training and the adapter."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.precond import (  # noqa: E402
    DCDMNet,
    bump_rhs,
    dcdm_loss,
    net_direction,
    obstacle_mask,
    poisson_system,
    ritz_rhs,
    solve_dcdm,
    solve_pcg,
    train_dcdm_net,
)
from theorylab.precond import _reference as ref  # noqa: E402
from theorylab.results import ConvergenceWarning  # noqa: E402


class _Residual(torch.nn.Module):
    """A 'network' that returns its input: DCDM must then be CG."""

    def forward(self, r, fluid):
        return r * fluid


def _A(s, dtype=torch.float64):
    return torch.as_tensor(s.A.toarray(), dtype=dtype)


def test_loss_is_scale_invariant_and_zero_at_the_solution():
    s = poisson_system((6, 6))
    g = torch.Generator().manual_seed(0)
    b = torch.as_tensor(ritz_rhs(s, 4, rng=0))
    q = torch.randn(4, s.n, generator=g, dtype=torch.float64)
    A = _A(s)
    base = dcdm_loss(q, b, A)
    for c in (-3.0, 0.01, 250.0):
        torch.testing.assert_close(dcdm_loss(c * q, b, A), base, rtol=1e-12, atol=0)
    exact = torch.linalg.solve(A, b.T).T
    assert float(dcdm_loss(exact, b, A)) < 1e-24
    assert float(base) > 0.01
    # sparse and dense A give the same loss
    from theorylab.precond.net import _torch_operator

    torch.testing.assert_close(dcdm_loss(q, b, _torch_operator(s, torch.float64, "cpu")), base)


def test_network_shapes_mask_and_divisibility():
    g = torch.Generator().manual_seed(0)
    net = DCDMNet(2, channels=4, levels=2, generator=g)
    solid = obstacle_mask((8, 12), rng=0)
    fluid = torch.as_tensor(~solid, dtype=torch.float32)[None]
    q = net(torch.randn(3, 8, 12, generator=g), fluid)
    assert q.shape == (3, 8, 12)
    assert torch.all(q[:, torch.as_tensor(solid)] == 0)
    net3 = DCDMNet(3, channels=2, levels=1, generator=g)
    assert net3(torch.randn(1, 4, 4, 6, generator=g), torch.ones(1, 4, 4, 6)).shape == (1, 4, 4, 6)
    with pytest.raises(ValueError, match=r"divisible by 2\*\*levels = 4, got \(8, 10\)"):
        net(torch.randn(1, 8, 10), torch.ones(1, 8, 10))
    with pytest.raises(ValueError, match="dim must be <= 3, got 4"):
        DCDMNet(4)
    # same generator seed, same weights
    a = DCDMNet(2, channels=4, levels=1, generator=torch.Generator().manual_seed(5))
    b = DCDMNet(2, channels=4, levels=1, generator=torch.Generator().manual_seed(5))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_dcdm_equals_cg_when_the_network_returns_the_residual():
    s = poisson_system((8, 8), solid=obstacle_mask((8, 8), rng=3))
    b = bump_rhs(s, rng=1)
    direction = net_direction(_Residual(), s)
    expected = ref.cg_iterates(s.A.toarray(), b, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in range(1, 11):
            x = solve_dcdm(s.A, b, direction, max_iter=k, tol=1e-300).x
            np.testing.assert_allclose(x, expected[k], rtol=1e-8, atol=1e-12)
    assert solve_dcdm(s.A, b, direction, tol=1e-6).n_iter == solve_pcg(s.A, b, tol=1e-6).n_iter


def test_training_is_deterministic_and_learns():
    s = poisson_system((8, 8))
    B = ritz_rhs(s, 64, rng=0)

    def fit():
        g = torch.Generator().manual_seed(1)
        net = DCDMNet(2, channels=8, levels=1, generator=g)
        return train_dcdm_net(net, s, B, steps=60, batch_size=8, lr=3e-3, generator=g)

    t1, t2 = fit(), fit()
    np.testing.assert_array_equal(t1.losses, t2.losses)
    assert t1.final_loss < 0.5 * t1.losses[0]
    # the learned directions beat the residual (CG) on a held-out source
    b = bump_rhs(s, rng=9)
    it_net = solve_dcdm(s.A, b, net_direction(t1.net, s)).n_iter
    assert it_net < solve_pcg(s.A, b).n_iter
    assert "DCDMTraining(" in repr(t1) and t1.train_time > 0


def test_bad_training_inputs():
    s = poisson_system((4, 4))
    net = DCDMNet(2, channels=2, levels=1, generator=torch.Generator().manual_seed(0))
    B = ritz_rhs(s, 4, rng=0)
    with pytest.raises(ValueError, match=r"rhs must have shape \('n', 16\), got \(4, 15\)"):
        train_dcdm_net(net, s, B[:, :-1], steps=1)
    with pytest.raises(ValueError, match="steps must be >= 1, got 0"):
        train_dcdm_net(net, s, B, steps=0)
    with pytest.raises(ValueError, match="lr must be > 0, got -0.1"):
        train_dcdm_net(net, s, B, steps=1, lr=-0.1)
    with pytest.raises(TypeError, match="system must be a PoissonSystem, got ndarray"):
        net_direction(net, np.eye(2))
