"""Worst-case forget sets: the capped-simplex projection (bisection vs the sort-based exact
projection, properties) and the bi-level selection (validity, determinism, direction, usable
by every method, bad inputs)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

torch = pytest.importorskip("torch")

from theorylab.unlearning.worstcase import (  # noqa: E402
    per_sample_losses,
    project_capped_simplex,
    project_capped_simplex_sort,
    select_worst_case,
)

finite = st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False)
vectors = arrays(np.float64, st.integers(1, 40), elements=finite)


@st.composite
def instances(draw):
    v = draw(vectors)
    frac = draw(st.floats(min_value=0.0, max_value=1.0))
    return v, frac * v.size


# -- projection ---------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(instances())
def test_projection_properties_and_sort_reference(inst):
    v, m = inst
    w = project_capped_simplex(v, m)
    assert np.all(w >= 0.0) and np.all(w <= 1.0)
    assert abs(w.sum() - m) <= 1e-9
    np.testing.assert_allclose(w, project_capped_simplex_sort(v, m), atol=1e-9, rtol=0)
    # idempotent: a feasible point projects onto itself
    np.testing.assert_allclose(project_capped_simplex(w, m), w, atol=1e-9, rtol=0)


@settings(max_examples=100, deadline=None)
@given(instances(), st.data())
def test_projection_is_nonexpansive_and_optimal(inst, data):
    v, m = inst
    u = v + data.draw(arrays(np.float64, v.size, elements=st.floats(-3, 3)))
    pv, pu = project_capped_simplex(v, m), project_capped_simplex(u, m)
    assert np.linalg.norm(pv - pu) <= np.linalg.norm(v - u) + 1e-9
    # variational inequality of a projection: <v − P(v), z − P(v)> <= 0 for feasible z
    z = project_capped_simplex(data.draw(arrays(np.float64, v.size, elements=finite)), m)
    assert float((v - pv) @ (z - pv)) <= 1e-7 * (1 + np.abs(v).max())


def test_projection_by_hand():
    # clip(v − τ, 0, 1) with τ = −0.25: the large entry is capped, the two zeros share 0.5
    np.testing.assert_allclose(project_capped_simplex([3.0, 0.0, 0.0], 1.5), [1.0, 0.25, 0.25])
    np.testing.assert_allclose(project_capped_simplex([0.2, 0.9, 1.5], 1.0), [0.0, 0.2, 0.8])
    np.testing.assert_array_equal(project_capped_simplex([5.0, -1.0], 2.0), [1.0, 1.0])
    np.testing.assert_array_equal(project_capped_simplex([5.0, -1.0], 0.0), [0.0, 0.0])


def test_projection_large_sum_exact():
    v = np.random.default_rng(0).normal(size=2_000) * 10
    w = project_capped_simplex(v, 200)
    assert abs(w.sum() - 200) <= 1e-9
    np.testing.assert_allclose(w, project_capped_simplex_sort(v, 200), atol=1e-12)


@pytest.mark.parametrize("fn", [project_capped_simplex, project_capped_simplex_sort])
def test_projection_bad_inputs(fn):
    with pytest.raises(ValueError, match=r"m must be in \[0, 3\].*got 4\.0"):
        fn([1.0, 2.0, 3.0], 4.0)
    with pytest.raises(ValueError, match=r"m must be in \[0, 3\].*got -0\.5"):
        fn([1.0, 2.0, 3.0], -0.5)
    with pytest.raises(ValueError, match="v must"):
        fn([1.0, np.nan], 1.0)
    with pytest.raises(ValueError, match="v must have at least 1 entry"):
        fn(np.zeros(0), 0.0)


# -- selection ----------------------------------------------------------------------------

def _planted(n=120, d=6, seed=0):
    """A linear model fitted to two Gaussian blobs; the last 20 rows carry flipped labels,
    so they keep a high loss however the rest is fine-tuned."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    X = torch.randn(n, d, generator=g) * 0.5 + (2 * y[:, None] - 1) * 1.5
    y = y.clone()
    y[-20:] = 1 - y[-20:]
    model = torch.nn.Linear(d, 2)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
    return model.eval(), X, y


def test_selection_is_valid_and_deterministic():
    model, X, y = _planted()
    kw = dict(m=20, epochs=3, inner_epochs=2, lr_w=0.05, init="uniform", batch_size=32)
    a = select_worst_case(model, X, y, generator=torch.Generator().manual_seed(1), **kw)
    b = select_worst_case(model, X, y, generator=torch.Generator().manual_seed(1), **kw)
    np.testing.assert_array_equal(a.split.forget, b.split.forget)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.split.forget.size == 20 and a.split.retain.size == 100
    assert np.union1d(a.split.forget, a.split.retain).size == 120
    assert a.split.scenario == "worst_case"
    assert abs(a.weights.sum() - 20) <= 1e-9
    assert a.objective.shape == (3,) and not a.objective.flags.writeable
    # the original model is untouched
    ref = _planted()[0]
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p, q)


def test_hardest_avoids_mislabelled_points_and_easiest_takes_them():
    model, X, y = _planted()
    kw = dict(m=20, epochs=3, inner_epochs=2, lr_w=0.05, init="uniform", batch_size=32)
    hard = select_worst_case(model, X, y, mode="hardest",
                             generator=torch.Generator().manual_seed(2), **kw)
    easy = select_worst_case(model, X, y, mode="easiest",
                             generator=torch.Generator().manual_seed(2), **kw)
    flipped = np.arange(100, 120)
    assert np.intersect1d(hard.split.forget, flipped).size == 0
    assert np.intersect1d(easy.split.forget, flipped).size >= 15
    assert easy.split.scenario == "easiest"
    loss = per_sample_losses(model, X, y)
    assert loss[hard.split.forget].mean() < loss.mean() < loss[easy.split.forget].mean()


def test_binary_start_with_reference_step_keeps_the_initial_set():
    # η_w = 0.01 from a binary start cannot overturn a 0/1 gap in one epoch (module note)
    model, X, y = _planted()
    res = select_worst_case(model, X, y, m=20, epochs=1, inner_epochs=1, init="random",
                            lr_w=0.01, generator=torch.Generator().manual_seed(3))
    np.testing.assert_array_equal(res.split.forget, res.initial)


def test_split_runs_through_every_kind_of_method():
    from theorylab.unlearning.methods import Subset, apply_method

    model, X, y = _planted()
    sp = select_worst_case(model, X, y, m=20, epochs=1, inner_epochs=1, init="uniform",
                           generator=torch.Generator().manual_seed(4)).split
    f = torch.as_tensor(sp.forget)
    r = torch.as_tensor(sp.retain)
    for meth in ("ft", "ga", "rl", "scrub"):
        out, _ = apply_method(meth, model, Subset(X[f], y[f]), Subset(X[r], y[r]),
                              generator=torch.Generator().manual_seed(0))
        assert isinstance(out, torch.nn.Module)


def test_selection_bad_inputs():
    model, X, y = _planted()
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match=r"m must be <= 119, got 120"):
        select_worst_case(model, X, y, m=120, generator=g)
    with pytest.raises(ValueError, match="m must be >= 1, got 0"):
        select_worst_case(model, X, y, m=0, generator=g)
    with pytest.raises(ValueError, match="lower must be one of"):
        select_worst_case(model, X, y, m=5, lower="rl", generator=g)
    with pytest.raises(ValueError, match="mode must be one of"):
        select_worst_case(model, X, y, m=5, mode="worst", generator=g)
    with pytest.raises(ValueError, match="lr_w must be > 0"):
        select_worst_case(model, X, y, m=5, lr_w=0.0, generator=g)
    with pytest.raises(TypeError, match="generator must be a torch.Generator, got int"):
        select_worst_case(model, X, y, m=5, generator=0)
    with pytest.raises(ValueError, match=r"y must have shape \(120,\), got \(119,\)"):
        select_worst_case(model, X, y[:-1], m=5, generator=g)
