"""IAU: the one-step update by hand, GR loss, declared inputs, bad inputs."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning.iau import (  # noqa: E402
    IAUConfig,
    activation_distance,
    gr_loss,
    train_model_gr,
)
from theorylab.unlearning.influence import (  # noqa: E402
    InfluenceConfig,
    softmax_hvp,
    softmax_objective,
)
from theorylab.unlearning.methods import Subset, apply_method  # noqa: E402
from theorylab.unlearning.models import Recipe, build_model, train_model  # noqa: E402


@pytest.fixture(scope="module")
def data():
    g = np.random.default_rng(0)
    X = torch.as_tensor(g.standard_normal((30, 4)))
    y = torch.as_tensor(g.integers(0, 3, 30))
    lin = torch.nn.Linear(4, 3, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.as_tensor(g.standard_normal((3, 4))))
    return X, y, lin


def _grad_by_hand(W, X, y, F, R):
    """∇_W (mean_R CE − mean_F CE) for logits X W (W: (d, K)), from the closed form."""
    gr = softmax_objective(W, X[R], y[R], l2=0.0)[1]
    gf = softmax_objective(W, X[F], y[F], l2=0.0)[1]
    return gr - gf


def test_sgd_step_equals_the_hand_computed_gradient_step(data):
    X, y, lin = data
    F, R = np.arange(5), np.arange(5, 30)
    cfg = IAUConfig(optimizer="sgd", lr=0.3)
    out, _ = apply_method("iau", lin, Subset(X[F], y[F]), Subset(X[R], y[R]), config=cfg,
                          generator=torch.Generator())
    W = lin.weight.detach().numpy().T
    want = W - 0.3 * _grad_by_hand(W, X.numpy(), y.numpy(), F, R)
    np.testing.assert_allclose(out.weight.detach().numpy().T, want, rtol=1e-12, atol=1e-14)
    # without the retain term only the forget ascent remains
    out2, _ = apply_method("iau", lin, Subset(X[F], y[F]), Subset(X[R], y[R]),
                           config=IAUConfig(optimizer="sgd", lr=0.3, retain_term=False),
                           generator=torch.Generator())
    gf = softmax_objective(W, X.numpy()[F], y.numpy()[F], l2=0.0)[1]
    np.testing.assert_allclose(out2.weight.detach().numpy().T, W + 0.3 * gf, rtol=1e-12)


def test_one_fresh_adam_step_is_a_sign_step(data):
    X, y, lin = data
    F, R = np.arange(5), np.arange(5, 30)
    out, _ = apply_method("iau", lin, Subset(X[F], y[F]), Subset(X[R], y[R]),
                          config=IAUConfig(lr=1e-3), generator=torch.Generator())
    W = lin.weight.detach().numpy().T
    g = _grad_by_hand(W, X.numpy(), y.numpy(), F, R)
    delta = out.weight.detach().numpy().T - W
    # Adam's first step: −lr · g / (|g| + ε), ε = 1e-8
    np.testing.assert_allclose(delta, -1e-3 * g / (np.abs(g) + 1e-8), rtol=1e-9, atol=1e-15)
    assert np.all(np.abs(np.abs(delta[np.abs(g) > 1e-4]) - 1e-3) < 1e-6)
    for p0, p1 in zip(lin.parameters(), data[2].parameters(), strict=True):
        assert torch.equal(p0, p1)  # the harness worked on a copy


def test_iau_needs_the_retain_set(data):
    X, y, lin = data
    with pytest.raises(ValueError, match="retain_set must be given"):
        apply_method("iau", lin, Subset(X[:5], y[:5]), None, config=IAUConfig(),
                     generator=torch.Generator())


def test_gr_loss_by_hand_and_alpha_zero_training_equals_train_model(data):
    X, y, lin = data
    W = lin.weight.detach().numpy().T
    ce, g = softmax_objective(W, X.numpy(), y.numpy(), l2=0.0)
    val = gr_loss(lin, X, y, alpha=0.25).item()
    assert abs(val - (ce + 0.25 * np.linalg.norm(g))) < 1e-12
    rec = Recipe(hidden=(6,), epochs=2, lr=1e-2, batch_size=8)
    a = build_model(rec, 4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    b = copy.deepcopy(a)
    train_model(a, X, y, recipe=rec, generator=torch.Generator().manual_seed(1))
    train_model_gr(b, X, y, recipe=rec, alpha=0.0, generator=torch.Generator().manual_seed(1))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    # with α > 0 the second-order term changes the trajectory
    c = build_model(rec, 4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    train_model_gr(c, X, y, recipe=rec, alpha=0.5, generator=torch.Generator().manual_seed(1))
    assert any(not torch.allclose(p, q) for p, q in zip(a.parameters(), c.parameters(),
                                                        strict=True))


def test_activation_distance_by_hand():
    p = np.array([[1.0, 0.0], [0.5, 0.5]])
    q = np.array([[0.0, 1.0], [0.5, 0.5]])
    assert activation_distance(p, q) == pytest.approx(np.sqrt(2) / 2)
    with pytest.raises(ValueError, match="same \\(n, K\\) shape"):
        activation_distance(p, q[:1])


def test_bad_config_values():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        IAUConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="lr must be > 0"):
        IAUConfig(lr=0.0)
    with pytest.raises(TypeError, match="retain_term must be a bool"):
        IAUConfig(retain_term=1)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        train_model_gr(torch.nn.Linear(2, 2), torch.zeros(2, 2), torch.zeros(2, dtype=torch.long),
                       recipe=Recipe(), alpha=-1.0, generator=torch.Generator())


def test_influence_method_equals_a_damped_newton_step_by_hand(data):
    X, y, lin = data
    F, R = np.arange(5), np.arange(5, 30)
    out, _ = apply_method("influence", lin, Subset(X[F], y[F]), Subset(X[R], y[R]),
                          config=InfluenceConfig(damping=0.05, cg_iters=200, cg_tol=1e-12),
                          generator=torch.Generator())
    W = lin.weight.detach().numpy().T  # (d, K)
    Xn, yn = X.numpy()[R], y.numpy()[R]
    g = softmax_objective(W, Xn, yn, l2=0.0)[1]
    # dense (H_r + δI) from Hessian-vector products on the unit vectors
    H = np.stack([softmax_hvp(W, Xn, e.reshape(W.shape), l2=0.05).ravel()
                  for e in np.eye(W.size)], axis=1)
    want = W - np.linalg.solve(H, g.ravel()).reshape(W.shape)
    np.testing.assert_allclose(out.weight.detach().numpy().T, want, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="damping must be > 0"):
        InfluenceConfig(damping=0.0)
