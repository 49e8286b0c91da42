"""ModHiFi-U: subset fidelity by hand, least-squares re-fit, no weight gradient, synthetic
data only, and class forgetting on digits."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from theorylab.unlearning.methods import Subset, apply_method, get_method  # noqa: E402
from theorylab.unlearning.models import (  # noqa: E402
    MLP,
    Recipe,
    TinyCNN,
    as_tensors,
    build_model,
    train_model,
)
from theorylab.unlearning.modhifi import (  # noqa: E402
    Consumer,
    ModHiFiConfig,
    consumer_inputs,
    consumers,
    forget_specificity,
    invert_classes,
    refit_consumers,
    remove_components,
    singleton_fidelity,
)

G = lambda s: torch.Generator().manual_seed(s)


@pytest.fixture(scope="module")
def digits():
    from theorylab.unlearning.data import load_digits_split

    d = load_digits_split(rng=0)
    X, y = as_tensors(d.X_train, d.y_train)
    Xt, yt = as_tensors(d.X_test, d.y_test)
    r = Recipe(hidden=(128, 64), epochs=25, lr=2e-3)
    m = train_model(build_model(r, 64, 10, generator=G(0)), X, y, recipe=r, generator=G(1))
    f = (y == 3).nonzero().ravel()
    return m.eval(), Subset(X[f], y[f]), Xt, yt


def _acc(m, X, y):
    with torch.no_grad():
        return float((m(X).argmax(1) == y).double().mean())


def test_consumers_of_the_harness_models():
    cnn = consumers(TinyCNN((1, 8, 8), 10))
    assert [(c.name, c.group, c.n_components) for c in cnn] == [("head.1", 4, 32),
                                                              ("head.3", 1, 128)]
    mlp = consumers(MLP(5, 3, (8, 6)))
    assert [(c.group, c.n_components) for c in mlp] == [(1, 8), (1, 6)]
    with pytest.raises(ValueError, match="must contain a Linear layer fed by a hidden layer"):
        consumers(torch.nn.Sequential(torch.nn.Linear(3, 2)))


def test_singleton_fidelity_by_hand():
    lin = torch.nn.Linear(4, 1, bias=True).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 2.0, -1.0, 0.5]]))
        lin.bias.fill_(7.0)  # the bias is not part of Y − b
    cons = Consumer("l", lin, 2)
    X = torch.tensor([[1.0, 0.0, 2.0, 2.0], [0.0, 1.0, 0.0, 4.0]], dtype=torch.float64)
    # component 0: x0 + 2 x1 = 1, 2; component 1: −x2 + 0.5 x3 = −1, 2; Y − b = 0, 4
    sf = singleton_fidelity(cons, X).numpy()
    np.testing.assert_allclose(sf, [(1 + 4) / 2 / ((0 + 16) / 2), (1 + 4) / 2 / 8], rtol=1e-12)


def test_uncorrelated_components_fidelities_add_up_to_one():
    # E[X_c X_c'] = 0 for c != c': orthogonal columns → Σ_c SF({c}) = 1 (the optimality case)
    n = 64
    H = torch.tensor(np.linalg.qr(np.random.default_rng(0).normal(size=(n, 6)))[0])
    lin = torch.nn.Linear(6, 3).double()
    cons = Consumer("l", lin, 1)
    sf = singleton_fidelity(cons, H * n ** 0.5)
    W = lin.weight.detach()
    # with orthonormal columns the cross terms vanish only after summing over samples
    assert float(sf.sum()) == pytest.approx(1.0, rel=1e-10)
    assert torch.all(sf >= 0)
    expect = (W ** 2).sum(0) / (W ** 2).sum()
    torch.testing.assert_close(sf, expect, rtol=1e-10, atol=1e-12)


def test_forget_specificity_picks_the_component_only_the_forget_class_uses():
    lin = torch.nn.Linear(3, 3).double()
    with torch.no_grad():
        lin.weight.copy_(torch.eye(3))
    cons = Consumer("l", lin, 1)
    X = torch.zeros(6, 3, dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    X[y == 0, 0] = 1.0  # class 0 uses unit 0 only
    X[y == 1, 1] = 1.0
    X[y == 2, 1] = 1.0
    X[:, 2] = 1.0  # unit 2 is shared by all classes
    spec = forget_specificity(cons, X, y, [0], [1, 2])
    # shares: class 0 → (1/2, 0, 1/2); classes 1, 2 → (0, 1/2, 1/2)
    np.testing.assert_allclose(spec.numpy(), [0.5, -0.5, 0.0], atol=1e-12)


def test_refit_solves_the_least_squares_problem():
    torch.manual_seed(0)
    m = MLP(4, 3, (6,)).double()
    orig = copy.deepcopy(m)
    X = torch.randn(50, 4, generator=G(2), dtype=torch.float64)
    cons = consumers(m)
    remove_components(cons[0], [1, 4])
    refit_consumers(m, orig, [[1, 4]], X, ridge=0.0)
    H = consumer_inputs(m, consumers(m), X)[0]
    Y = consumer_inputs(orig, consumers(orig), X)[0] @ orig.net[2].weight.T + orig.net[2].bias
    keep = [0, 2, 3, 5]
    A = torch.cat([H[:, keep], torch.ones(50, 1, dtype=torch.float64)], 1)
    sol = torch.linalg.lstsq(A, Y).solution
    W = m.net[2].weight.detach()
    torch.testing.assert_close(W[:, keep], sol[:-1].T, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(m.net[2].bias.detach(), sol[-1], rtol=1e-8, atol=1e-10)
    assert torch.all(W[:, [1, 4]] == 0)
    # rows outside last_rows keep their weights on the kept columns; removed columns are 0
    m2 = copy.deepcopy(orig)
    remove_components(consumers(m2)[0], [1])
    refit_consumers(m2, orig, [[1]], X, ridge=0.0, last_rows=[0, 2])
    w0, w2 = orig.net[2].weight.detach(), m2.net[2].weight.detach()
    torch.testing.assert_close(w2[1, [0, 2, 3, 4, 5]], w0[1, [0, 2, 3, 4, 5]])
    assert float(w2[1, 1]) == 0.0
    assert torch.equal(m2.net[2].bias.detach()[1], orig.net[2].bias.detach()[1])


def test_inversion_takes_no_weight_gradient():
    m = TinyCNN((1, 8, 8), 3)
    Xs, ys = invert_classes(m, [0, 2], n_per_class=4, in_dim=64, steps=5, lr=0.1, tv=1e-3,
                            l2=1e-3, generator=G(0))
    assert Xs.shape == (8, 64) and ys.tolist() == [0] * 4 + [2] * 4
    assert float(Xs.min()) >= 0.0 and float(Xs.max()) <= 1.0
    assert all(p.grad is None and p.requires_grad for p in m.parameters())


def test_modhifi_forgets_the_class_from_synthetic_data_only(digits):
    m, forget, Xt, yt = digits
    f_t, r_t = yt == 3, yt != 3
    out, _ = apply_method("modhifi", m, forget, config=ModHiFiConfig(k=12), generator=G(5))
    assert _acc(m, Xt[f_t], yt[f_t]) > 0.9
    assert _acc(out, Xt[f_t], yt[f_t]) <= 0.1
    assert _acc(out, Xt[r_t], yt[r_t]) >= _acc(m, Xt[r_t], yt[r_t]) - 0.05
    assert all(p.grad is None for p in out.parameters())
    # the same cut chosen at random keeps the class
    rnd, _ = apply_method("modhifi", m, forget, config=ModHiFiConfig(k=12, selection="random"),
                          generator=G(5))
    assert _acc(rnd, Xt[f_t], yt[f_t]) > 0.5
    # no real input is read: NaN forget inputs give the same model
    blind = Subset(torch.full_like(forget.X, float("nan")), forget.y)
    out2, _ = apply_method("modhifi", m, blind, config=ModHiFiConfig(k=12), generator=G(5))
    for p1, p2 in zip(out.parameters(), out2.parameters(), strict=True):
        assert torch.equal(p1, p2)


def test_declarations_and_bad_inputs(digits):
    m, forget, _, _ = digits
    spec = get_method("modhifi")
    assert not spec.needs_retain and not spec.needs_train_set and not spec.needs_oracles
    every = Subset(torch.zeros(10, 64), torch.arange(10))
    with pytest.raises(ValueError, match="forget must leave at least one class"):
        apply_method("modhifi", m, every, generator=G(0))
    for kw, err, match in [({"k": -1}, ValueError, "k must be >= 0, got -1"),
                           ({"selection": "norm"}, ValueError, "selection must be one of"),
                           ({"layers": "first"}, ValueError, "layers must be one of"),
                           ({"refit": 1}, TypeError, "refit must be a bool"),
                           ({"lr": 0.0}, ValueError, "lr must be > 0, got 0.0")]:
        with pytest.raises(err, match=match):
            ModHiFiConfig(**kw)


def test_pruning_keeps_the_best_subset_when_components_are_uncorrelated():
    # orthogonal hidden features (also orthogonal to the constant, so the re-fitted bias does
    # not interact): the top singletons by fidelity are the best subset of their size for the
    # re-fitted reconstruction error (checked against all C(6, 3) subsets)
    from itertools import combinations

    from theorylab.unlearning.modhifi import prune_consumer

    n = 60
    rng = np.random.default_rng(1)
    Q = np.linalg.qr(np.c_[np.ones(n), rng.normal(size=(n, 6))])[0][:, 1:]
    X = torch.tensor(Q * n ** 0.5 * np.array([3.0, 0.2, 1.0, 2.0, 0.5, 1.5]))
    m = torch.nn.Sequential(torch.nn.Linear(6, 6), torch.nn.Linear(6, 2)).double()
    with torch.no_grad():
        m[0].weight.copy_(torch.eye(6))
        m[0].bias.zero_()
        m[1].weight.copy_(torch.tensor(rng.normal(size=(2, 6))))
        Y = m(X)

    def err(S):
        A = torch.cat([X[:, list(S)], torch.ones(n, 1, dtype=torch.float64)], 1)
        sol = torch.linalg.lstsq(A, Y).solution
        return float((A @ sol - Y).pow(2).sum(1).mean())

    out, removed = prune_consumer(m, X, consumer=0, n_remove=3, ridge=0.0)
    kept = tuple(sorted(set(range(6)) - set(removed)))
    errs = {S: err(S) for S in combinations(range(6), 3)}
    assert kept == min(errs, key=errs.get)
    with torch.no_grad():
        assert errs[kept] == pytest.approx(float((out(X) - Y).pow(2).sum(1).mean()), rel=1e-8)
    # weight-norm pruning ignores the feature scales and picks a worse subset here
    _, rem_l2 = prune_consumer(m, X, consumer=0, n_remove=3, selection="l2", ridge=0.0)
    assert errs[tuple(sorted(set(range(6)) - set(rem_l2)))] > 1.2 * errs[kept]
    with pytest.raises(ValueError, match="n_remove must be <= 5, got 6"):
        prune_consumer(m, X, consumer=0, n_remove=6)


def test_gaussian_synthetic_data_matches_the_class_moments_and_is_declared(digits):
    from theorylab.unlearning.modhifi import gaussian_classes

    rng = np.random.default_rng(0)
    X = torch.tensor(np.r_[rng.uniform(0.2, 0.4, (50, 2)), rng.uniform(0.6, 0.8, (50, 2))])
    y = torch.tensor([0] * 50 + [1] * 50)
    Xs, ys = gaussian_classes(Subset(X, y), [1, 0], n_per_class=4000, generator=G(0))
    assert ys.tolist() == [1] * 4000 + [0] * 4000
    assert float(Xs.min()) >= 0.0 and float(Xs.max()) <= 1.0
    for k, sl in ((1, slice(0, 4000)), (0, slice(4000, 8000))):
        np.testing.assert_allclose(Xs[sl].mean(0).numpy(), X[y == k].mean(0).numpy(), atol=0.01)
        np.testing.assert_allclose(torch.cov(Xs[sl].T).numpy(), torch.cov(X[y == k].T).numpy(),
                                   atol=2e-3)
    with pytest.raises(ValueError, match="at least 2 rows of class 1, got 1"):
        gaussian_classes(Subset(X[:51], y[:51]), [1], n_per_class=2, generator=G(0))
    m, forget, Xt, yt = digits
    assert get_method("modhifi_gaussian").needs_train_set
    with pytest.raises(ValueError, match="training_set must be given"):
        apply_method("modhifi_gaussian", m, forget, generator=G(0))


def test_layers_all_cuts_in_every_consumer(digits):
    m, forget, _, _ = digits
    out, _ = apply_method("modhifi", m, forget, config=ModHiFiConfig(k=3, layers="all",
                                                                     refit=False),
                          generator=G(1))
    removed = out.modhifi_removed
    cons = consumers(out)
    assert [len(r) for r in removed] == [3] * len(cons) == [3, 3]
    for cn, r in zip(cons, removed, strict=True):
        assert torch.all(cn.linear.weight[:, r] == 0)
        kept = [c for c in range(cn.n_components) if c not in r]
        assert torch.all(cn.linear.weight[:, kept].abs().sum(0) > 0)
    last, _ = apply_method("modhifi", m, forget, config=ModHiFiConfig(k=3), generator=G(1))
    assert [len(r) for r in last.modhifi_removed] == [0, 3]
