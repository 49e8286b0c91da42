"""Prune first, then unlearn: OMP masks, unlearners that keep the mask, influence unlearning."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning.methods import Subset, apply_method, get_method  # noqa: E402
from theorylab.unlearning.models import (  # noqa: E402
    MLP,
    Recipe,
    as_tensors,
    build_model,
    train_model,
)
from theorylab.unlearning.sparse import (  # noqa: E402
    IUConfig,
    apply_masks,
    influence_unlearn,
    keep_mask,
    masks_from_zeros,
    omp_masks,
    prune_and_rewind,
    sparsity_of,
)


@pytest.fixture(scope="module")
def digits():
    from theorylab.unlearning.data import load_digits_split

    d = load_digits_split(rng=0)
    X, y = as_tensors(d.X_train[:400], d.y_train[:400])
    f = torch.arange(40)
    r = torch.arange(40, 400)
    return X, y, Subset(X[f], y[f]), Subset(X[r], y[r])


def _tiny(**kw):
    r = Recipe(hidden=(16,), epochs=5, lr=1e-2, **kw)
    return r, build_model(r, 64, 10, generator=torch.Generator().manual_seed(0))


def test_omp_ranks_all_layers_together_by_hand():
    m = MLP(2, 2, hidden=(2,))
    with torch.no_grad():
        m.net[0].weight.copy_(torch.tensor([[0.1, -5.0], [0.3, 2.0]]))
        m.net[2].weight.copy_(torch.tensor([[-0.2, 4.0], [1.0, -0.05]]))
    masks = omp_masks(m, 0.5)  # 8 weights, prune the 4 smallest |w|: 0.05, 0.1, 0.2, 0.3
    assert masks["net.0.weight"].tolist() == [[False, True], [False, True]]
    assert masks["net.2.weight"].tolist() == [[False, True], [True, False]]
    apply_masks(m, masks)
    assert sparsity_of(m) == 0.5
    assert torch.equal(masks_from_zeros(m)["net.2.weight"], masks["net.2.weight"])
    assert all(v.all() for v in omp_masks(m, 0.0).values())
    assert not any(v.any() for v in omp_masks(m, 1.0).values())


def test_masked_ft_keeps_zeros_where_plain_ft_fills_them(digits):
    X, y, forget, retain = digits
    r, m = _tiny()
    train_model(m, X, y, recipe=r, generator=torch.Generator().manual_seed(1))
    apply_masks(m, omp_masks(m, 0.8))
    g = lambda: torch.Generator().manual_seed(2)
    masked, _ = apply_method("masked_ft", m, forget, retain, generator=g())
    plain, _ = apply_method("ft", m, forget, retain, generator=g())
    assert sparsity_of(masked) == pytest.approx(0.8, abs=1e-3)
    # without the mask fine-tuning refills the pruned weights (those fed by always-blank
    # pixels get no gradient and stay 0)
    assert sparsity_of(plain) < 0.5
    for (n, p0), p1 in zip(m.named_parameters(), masked.parameters(), strict=True):
        assert isinstance(p1, torch.nn.Parameter) and not n.endswith("_orig")
        if n.endswith("weight"):
            assert torch.all(p1[p0 == 0] == 0)
            assert not torch.equal(p1[p0 != 0], p0[p0 != 0])  # the kept weights did train
    ga, _ = apply_method("masked_ga", m, forget, generator=g(), config=get_method(
        "masked_ga").default_config(lr=1e-2))
    assert sparsity_of(ga) == pytest.approx(0.8, abs=1e-3)


def test_masked_ft_on_a_dense_model_is_ft_bit_for_bit(digits):
    X, y, forget, retain = digits
    r, m = _tiny()
    train_model(m, X, y, recipe=r, generator=torch.Generator().manual_seed(1))
    a, _ = apply_method("masked_ft", m, forget, retain, generator=torch.Generator().manual_seed(3))
    b, _ = apply_method("ft", m, forget, retain, generator=torch.Generator().manual_seed(3))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_keep_mask_restores_plain_parameters_even_on_error():
    m = MLP(3, 2, hidden=(4,))
    masks = omp_masks(m, 0.5)
    with pytest.raises(RuntimeError, match="boom"), keep_mask(m, masks):
        assert hasattr(m.net[0], "weight_orig")
        raise RuntimeError("boom")
    assert not hasattr(m.net[0], "weight_orig")
    assert isinstance(m.net[0].weight, torch.nn.Parameter)


def test_prune_and_rewind_sparsity_and_dense_case(digits):
    X, y, _, _ = digits
    r = Recipe(hidden=(16,), epochs=4, lr=1e-2)
    g = lambda k: torch.Generator().manual_seed(k)
    m, masks = prune_and_rewind(r, X, y, n_out=10, sparsity=0.7, rewind_epoch=1,
                                init_generator=g(0), order_generator=g(1))
    n = sum(v.numel() for v in masks.values())
    assert sparsity_of(m) == pytest.approx(round(0.7 * n) / n, abs=2e-3)  # kept weights ≠ 0
    assert all(torch.equal(masks_from_zeros(m)[k] | ~v, torch.ones_like(v))
               for k, v in masks.items())
    dense, _ = prune_and_rewind(r, X, y, n_out=10, sparsity=0.0, rewind_epoch=1,
                                init_generator=g(0), order_generator=g(1))
    ref = train_model(build_model(r, 64, 10, generator=g(0)), X, y, recipe=r, generator=g(1))
    for p, q in zip(dense.parameters(), ref.parameters(), strict=True):
        assert torch.equal(p, q)


def _softmax_regression(n=120, d=5, K=3, seed=0):
    rng = np.random.default_rng(seed)
    X = torch.as_tensor(rng.normal(size=(n, d)))
    W = rng.normal(size=(K, d))
    y = torch.as_tensor((X.numpy() @ W.T + rng.gumbel(size=(n, K))).argmax(1))
    return X, y


def _fit_sum_objective(X, y, c, K, init=None):
    """argmin Σ CE + (c/2)‖θ‖² (θ = weights and bias of one Linear), by L-BFGS to 1e-12."""
    lin = torch.nn.Linear(X.shape[1], K).double()
    if init is not None:
        lin.load_state_dict(init.state_dict())
    opt = torch.optim.LBFGS(lin.parameters(), lr=1, max_iter=500, tolerance_grad=1e-12,
                            tolerance_change=1e-15, history_size=50,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lin(X), y, reduction="sum")
        loss = loss + 0.5 * c * sum((p ** 2).sum() for p in lin.parameters())
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    return lin


def _theta(lin):
    return torch.cat([lin.weight.detach(), lin.bias.detach()[:, None]], 1)


def test_iu_is_the_explicit_newton_step_with_autograd_hessian():
    X, y = _softmax_regression(n=60, d=4, K=3, seed=1)
    lin = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        lin.weight[0, 1] = 0.0  # a pruned coordinate: must stay 0 and be left out of H
    Xf, yf, Xr, yr = X[:10], y[:10], X[10:], y[10:]
    theta0 = _theta(lin).clone()
    keep = torch.ones_like(theta0, dtype=torch.bool)
    keep[0, 1] = False

    def mean_ce(t):
        return torch.nn.functional.cross_entropy(Xr @ t[:, :-1].T + t[:, -1], yr)

    H = torch.autograd.functional.hessian(mean_ce, theta0).reshape(15, 15)
    H = H[keep.ravel()][:, keep.ravel()] + 0.05 * torch.eye(14, dtype=torch.float64)
    t = theta0.clone().requires_grad_(True)
    ce_f = torch.nn.functional.cross_entropy(Xf @ t[:, :-1].T + t[:, -1], yf, reduction="sum")
    g = torch.autograd.grad(ce_f, t)[0].ravel()[keep.ravel()] / 50
    expected = theta0.clone().ravel()
    expected[keep.ravel()] += 0.7 * torch.linalg.solve(H, g)
    info = influence_unlearn(lin, Xf, yf, Xr, yr, damping=0.05, scale=0.7)
    assert info["residual"] < 1e-10
    torch.testing.assert_close(_theta(lin).ravel(), expected, rtol=1e-9, atol=1e-12)
    assert lin.weight[0, 1] == 0


def test_iu_lands_near_exact_retraining_on_a_convex_model():
    # sum-form ridge objective: IU with damping c/n_r is one Newton step on F_r from θ_o
    X, y = _softmax_regression()
    c, K = 1.0, 3
    Xf, yf, Xr, yr = X[:12], y[:12], X[12:], y[12:]
    orig = _fit_sum_objective(X, y, c, K)
    retr = _fit_sum_objective(Xr, yr, c, K, init=orig)
    work = torch.nn.Sequential(torch.nn.Linear(X.shape[1], K).double())
    work[0].load_state_dict(orig.state_dict())
    forget, retain = Subset(Xf, yf), Subset(Xr, yr)
    out, _ = apply_method("iu", work, forget, retain, generator=torch.Generator(),
                          config=IUConfig(damping=c / len(yr)))
    before = float((_theta(orig) - _theta(retr)).norm())
    after = float((_theta(out[0]) - _theta(retr)).norm())
    assert before > 0.05
    # one Newton step: measured after/before = 0.094 here; a step of the wrong size (scale 0.5)
    # or on the wrong curvature (a huge damping, i.e. a plain gradient step) is far worse
    assert after < 0.15 * before
    for cfg in (IUConfig(damping=c / len(yr), scale=0.5), IUConfig(damping=1.0)):
        worse, _ = apply_method("iu", work, forget, retain, generator=torch.Generator(),
                                config=cfg)
        assert float((_theta(worse[0]) - _theta(retr)).norm()) > 0.3 * before


def test_iu_needs_the_retain_set_and_a_linear_head(digits):
    _, _, forget, retain = digits
    _, m = _tiny()
    with pytest.raises(ValueError, match="retain_set must be given"):
        apply_method("iu", m, forget, generator=torch.Generator())
    conv_only = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Identity())
    with pytest.raises(TypeError, match="nn.Linear output layer"):
        influence_unlearn(conv_only, forget.X, forget.y, retain.X, retain.y, damping=1.0)
    spec = get_method("masked_ga")
    assert not spec.needs_retain and spec.needs_labels
    assert get_method("masked_ft").needs_retain and get_method("iu").needs_retain


@pytest.mark.parametrize("kw, match", [
    (dict(damping=0.0), "damping must be > 0, got 0"),
    (dict(scale=-1.0), "scale must be >= 0, got -1"),
    (dict(max_iter=0), "max_iter must be >= 1, got 0"),
])
def test_iu_config_rejects_bad_values(kw, match):
    with pytest.raises(ValueError, match=match):
        IUConfig(**kw)


def test_bad_sparsity_and_unknown_mask_names():
    m = MLP(3, 2, hidden=(4,))
    with pytest.raises(ValueError, match="sparsity"):
        omp_masks(m, 1.5)
    with pytest.raises(ValueError, match="masks must name prunable weights"):
        apply_masks(m, {"net.9.weight": torch.ones(2, 2, dtype=torch.bool)})
    with pytest.raises(ValueError, match=r"masks\['net.0.weight'\] must have shape \(4, 3\)"):
        apply_masks(m, {"net.0.weight": torch.ones(3, 4, dtype=torch.bool)})
    with pytest.raises(ValueError, match="rewind_epoch"):
        prune_and_rewind(Recipe(epochs=2), torch.zeros(4, 3), torch.zeros(4, dtype=torch.long),
                         n_out=2, sparsity=0.5, rewind_epoch=3,
                         init_generator=torch.Generator(), order_generator=torch.Generator())


def test_pruning_and_iu_work_on_the_harness_cnn(digits):
    X, y, forget, retain = digits
    r = Recipe(arch="cnn", epochs=1, lr=1e-2)
    m = build_model(r, 64, 10, generator=torch.Generator().manual_seed(0), image_shape=(1, 8, 8))
    train_model(m, X, y, recipe=r, generator=torch.Generator().manual_seed(1))
    masks = omp_masks(m, 0.5)
    assert any("features" in n for n in masks)  # conv weights are ranked too
    apply_masks(m, masks)
    for name in ("masked_ft", "iu"):
        cfg = get_method(name).default_config(**({"epochs": 1} if name == "masked_ft" else {}))
        out, _ = apply_method(name, m, forget, retain, config=cfg, generator=torch.Generator())
        assert sparsity_of(out) == pytest.approx(sparsity_of(m))
