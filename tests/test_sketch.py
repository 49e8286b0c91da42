"""Tests of theorylab.sketch: the seven kinds of CONTRIBUTING.md plus hypothesis properties."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import hadamard

from theorylab._result import ConvergenceWarning
from theorylab.sketch import (
    SKETCHES,
    coherent_spiky_instance,
    draw_sketch,
    fwht,
    gaussian_instance,
    linf_error_ratio,
    paper_sketch_size,
    solve_lstsq_preconditioned,
    solve_sketched_lstsq,
    two_coordinate_instance,
)
from theorylab.sketch import _reference as ref
from theorylab.sketch.theory import countsketch_failure_probability


def _dense_reference(op):
    p, n, m = op.params, op.n_rows, op.sketch_size
    if op.kind == "srht":
        return ref.srht_matrix(n, p["n_pad"], p["signs"], p["rows"])
    if op.kind == "srdct":
        return ref.srdct_matrix(n, p["signs"], p["rows"])
    if op.kind == "countsketch":
        return ref.countsketch_matrix(n, m, p["rows"], p["signs"])
    if op.kind == "osnap":
        return ref.osnap_matrix(n, m, p["rows"], p["signs"])
    if op.kind == "gaussian_pooled":
        return ref.gaussian_pooled_matrix(n, m, p["block_size"], p["signs"], p["perm"],
                                          p["gamma"])
    if op.kind == "srht_gaussian_diag":
        return ref.srht_gaussian_diag_matrix(n, p["n_pad"], p["gamma"], p["rows"])
    g = np.random.default_rng(p["seed"])        # gaussian: one block at this size
    return g.standard_normal((m, n)) / np.sqrt(m)


# (1) kernel == reference ---------------------------------------------------------------

@pytest.mark.parametrize("N", [1, 2, 4, 8, 64, 1024, 4096])
@pytest.mark.parametrize("k", [1, 3, 65])
def test_fwht_matches_dense_hadamard(N, k):
    X = np.random.default_rng(N + k).standard_normal((N, k))
    np.testing.assert_allclose(fwht(X), hadamard(N) @ X, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(ref.fwht_dense(X), hadamard(N) @ X, rtol=1e-12, atol=1e-10)


def test_fwht_inplace_and_vector_and_normalized():
    X = np.random.default_rng(0).standard_normal((256, 4))
    Y = X.copy()
    out = fwht(Y, inplace=True)
    assert out is Y
    np.testing.assert_allclose(Y, hadamard(256) @ X, atol=1e-10)
    v = X[:, 0]
    np.testing.assert_allclose(fwht(v), hadamard(256) @ v, atol=1e-10)
    # the normalised transform is an involution
    np.testing.assert_allclose(fwht(fwht(X, normalize=True), normalize=True), X, atol=1e-12)


@pytest.mark.parametrize("kind", SKETCHES)
@pytest.mark.parametrize("n", [37, 64])
def test_operator_matches_dense_reference(kind, n):
    op = draw_sketch(kind, n, 16, rng=3)
    S_ref = _dense_reference(op)
    np.testing.assert_allclose(op.to_dense(), S_ref, rtol=1e-12, atol=1e-13)
    M = np.random.default_rng(1).standard_normal((n, 3))
    np.testing.assert_allclose(op.apply(M), S_ref @ M, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", SKETCHES)
def test_same_sketch_for_A_and_b(kind):
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((50, 3)), rng.standard_normal(50)
    op = draw_sketch(kind, 50, 16, rng=1)
    SA, Sb = op.apply_pair(A, b)
    S = op.to_dense()
    np.testing.assert_allclose(SA, S @ A, atol=1e-12)
    np.testing.assert_allclose(Sb, S @ b, atol=1e-12)
    res = solve_sketched_lstsq(A, b, sketch=kind, m=16, rng=1)
    np.testing.assert_allclose(res.x, ref.sketched_lstsq_dense(res.operator.to_dense(), A, b),
                               rtol=1e-9, atol=1e-11)


def test_error_identity_of_follow_up():
    rng = np.random.default_rng(2)
    A, b = rng.standard_normal((64, 3)), rng.standard_normal(64)
    op = draw_sketch("srht", 64, 24, rng=3)
    res = solve_sketched_lstsq(A, b, m=24, rng=3)
    x_star = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(res.x - x_star, ref.sketch_error_identity(A, b, op.to_dense()),
                               atol=1e-10)


# (2) hand-solvable instances ------------------------------------------------------------

def test_hadamard_2x2_by_hand():
    np.testing.assert_allclose(fwht(np.array([[1.0], [2.0]])), [[3.0], [-1.0]])


def test_two_coordinate_instance_rademacher_gives_zero():
    inst = two_coordinate_instance(16)
    for seed in range(5):
        SM = draw_sketch("srht", 16, 4, rng=seed).apply(np.column_stack([inst.A, inst.b]))
        assert abs(SM[:, 0] @ SM[:, 1]) < 1e-14


def test_countsketch_collision_by_hand():
    # A = [I_2; 0], b = e_3: CountSketch sending row 2 (the heavy row) into row 0's bucket
    # with the same sign gives x′ = (1, 0) exactly, so ρ = √d/‖r‖ = √2.
    A = np.vstack([np.eye(2), np.zeros((2, 2))])
    b = np.array([0.0, 0.0, 1.0, 0.0])
    op = draw_sketch("countsketch", 4, 3, rng=0)
    object.__setattr__(op, "params", {"rows": np.array([0, 1, 0, 2]),
                                      "signs": np.array([1.0, 1.0, 1.0, -1.0])})
    SA, Sb = op.apply_pair(A, b)
    x = np.linalg.lstsq(SA, Sb, rcond=None)[0]
    np.testing.assert_allclose(x, [1.0, 0.0])
    assert linf_error_ratio(A, b, x) == pytest.approx(np.sqrt(2))


def test_paper_sketch_size_formula():
    assert paper_sketch_size(0.5, 4, 1000, delta=0.1) == int(np.ceil(4 * np.log(1e4) ** 3 / 0.25))


# (3) invariants ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["srht", "srdct"])
def test_full_size_orthogonal_sketch_equals_lstsq(kind):
    rng = np.random.default_rng(4)
    n = 128
    A, b = rng.standard_normal((n, 5)), rng.standard_normal(n)
    res = solve_sketched_lstsq(A, b, sketch=kind, m=n, rng=5)
    S = res.operator.to_dense()
    np.testing.assert_allclose(S.T @ S, np.eye(n), atol=1e-12)
    np.testing.assert_allclose(res.x, np.linalg.lstsq(A, b, rcond=None)[0], atol=1e-10)
    assert res.sketch_size == n and res.rank == 5


@pytest.mark.parametrize("kind", SKETCHES)
def test_unbiased_monte_carlo(kind):
    # E[SᵀS] = I_n: average over draws; entrywise error ~ 1/√draws
    n, m, draws = 16, 8, 3000
    rng = np.random.default_rng(7)
    acc = np.zeros((n, n))
    for _ in range(draws):
        S = draw_sketch(kind, n, m, rng=rng).to_dense()
        acc += S.T @ S
    err = np.abs(acc / draws - np.eye(n)).max()
    assert err < 0.15, f"{kind}: max |E[SᵀS] − I| = {err:.3f}"


@pytest.mark.parametrize("kind", ["srht", "srdct", "gaussian", "gaussian_pooled"])
def test_subspace_embedding(kind):
    rng = np.random.default_rng(8)
    U = np.linalg.qr(rng.standard_normal((2048, 8)))[0]
    sv = np.linalg.svd(draw_sketch(kind, 2048, 160, rng=9).apply(U), compute_uv=False)
    assert 0.6 <= sv.min() and sv.max() <= 1.4


def test_linf_ratio_planted_and_residual_optimality():
    inst = gaussian_instance(500, 4, rng=0)
    assert linf_error_ratio(inst.A, inst.b, inst.x_star) == 0.0
    r = inst.b - inst.A @ inst.x_star
    np.testing.assert_allclose(inst.A.T @ r, 0, atol=1e-9)
    inst = coherent_spiky_instance(64, 4, 3, rng=0)
    np.testing.assert_allclose(inst.A.T @ inst.b, 0)
    assert np.count_nonzero(inst.b) == 3 and inst.residual_norm == pytest.approx(np.sqrt(3))


# (4) two algorithms agree / theory ------------------------------------------------------

def test_preconditioned_matches_lstsq():
    rng = np.random.default_rng(10)
    A = rng.standard_normal((4096, 10)) * np.logspace(0, 4, 10)   # ill-conditioned
    b = rng.standard_normal(4096)
    res = solve_lstsq_preconditioned(A, b, rng=11)
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    assert res.converged and res.n_iter < 60
    np.testing.assert_allclose(res.x, x, rtol=1e-8)


def test_countsketch_failure_rate_matches_formula():
    n, d, t, m, T = 512, 8, 2, 64, 400
    rng = np.random.default_rng(12)
    fails = 0
    for _ in range(T):
        inst = coherent_spiky_instance(n, d, t, rng=rng)
        x = solve_sketched_lstsq(inst.A, inst.b, sketch="countsketch", m=m, rng=rng).x
        fails += np.max(np.abs(x)) > 1e-12
    p = countsketch_failure_probability(d, m, t)
    assert abs(fails / T - p) < 4 * np.sqrt(p * (1 - p) / T) + 0.05


def test_sketched_solution_close_to_lstsq_dense_sketches():
    inst = gaussian_instance(2048, 4, rng=1)
    for kind in ("srht", "srdct", "gaussian", "gaussian_pooled"):
        x = solve_sketched_lstsq(inst.A, inst.b, sketch=kind, m=512, rng=2).x
        assert linf_error_ratio(inst.A, inst.b, x, x_star=inst.x_star) < 1.0


# (5) external references ----------------------------------------------------------------

def test_countsketch_distribution_like_scipy():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    try:
        S = scipy_linalg.clarkson_woodruff_transform(np.eye(200), 20, rng=0)
    except TypeError:   # SciPy < 1.15 names the argument ``seed``
        S = scipy_linalg.clarkson_woodruff_transform(np.eye(200), 20, seed=0)
    ours = draw_sketch("countsketch", 200, 20, rng=0).to_dense()
    for M in (S, ours):   # same law: one ±1 per column
        assert np.all(np.count_nonzero(M, axis=0) == 1)
        assert set(np.unique(M[M != 0])) <= {-1.0, 1.0}


def test_srdct_uses_scipy_dct_matrix():
    fft = pytest.importorskip("scipy.fft")
    op = draw_sketch("srdct", 32, 32, rng=0)
    C = fft.dct(np.eye(32), type=2, norm="ortho", axis=0)
    np.testing.assert_allclose(op.to_dense(), C * op.params["signs"][None, :], atol=1e-13)


# (6) bad input -------------------------------------------------------------------------

def test_bad_inputs():
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((64, 4)), rng.standard_normal(64)
    with pytest.raises(ValueError, match="m must be >= 4"):
        solve_sketched_lstsq(A, b, m=3)
    with pytest.raises(ValueError, match="sketch_size must be <= 64"):
        solve_sketched_lstsq(A, b, sketch="srdct", m=65)
    with pytest.raises(ValueError, match="sketch_size must be <= 64"):
        solve_sketched_lstsq(A, b, sketch="srht", m=65)
    solve_sketched_lstsq(A, b, sketch="gaussian", m=65, rng=0)   # allowed for Gaussian
    with pytest.raises(ValueError, match="exactly one of m"):
        solve_sketched_lstsq(A, b)
    with pytest.raises(ValueError, match="exactly one of m"):
        solve_sketched_lstsq(A, b, m=8, eps=0.5)
    with pytest.raises(ValueError, match="paper's m"):
        solve_sketched_lstsq(A, b, eps=0.5)
    with pytest.raises(ValueError, match=r"b must have shape \(64,\)"):
        solve_sketched_lstsq(A, b[:-1], m=8)
    with pytest.raises(ValueError, match="A must be 2-dimensional"):
        solve_sketched_lstsq(b, b, m=8)
    with pytest.raises(ValueError, match="A must be tall"):
        solve_sketched_lstsq(A.T, b[:4], m=8)
    bad = A.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="A must be finite"):
        solve_sketched_lstsq(bad, b, m=8)
    with pytest.raises(ValueError, match="sketch must be one of"):
        solve_sketched_lstsq(A, b, sketch="fjlt", m=8)
    with pytest.raises(ValueError, match="nnz_per_col must be <= 8"):
        solve_sketched_lstsq(A, b, sketch="osnap", m=8, nnz_per_col=9)
    with pytest.raises(ValueError, match="block_size"):
        draw_sketch("gaussian_pooled", 64, 8, block_size=3)
    with pytest.raises(ValueError, match="eps must be > 0"):
        paper_sketch_size(0.0, 4, 64)
    with pytest.raises(TypeError, match="rng"):
        solve_sketched_lstsq(A, b, m=8, rng=np.random.RandomState(0))
    with pytest.raises(ValueError, match="power-of-two"):
        fwht(np.ones((6, 2)))
    with pytest.raises(TypeError, match="C-contiguous float64"):
        fwht(np.ones((8, 2), dtype=np.float32), inplace=True)
    with pytest.raises(ValueError, match="M must have shape"):
        draw_sketch("srht", 64, 8, rng=0).apply(np.ones((63, 2)))
    with pytest.raises(ValueError, match="zero residual"):
        linf_error_ratio(A, A @ np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="x must have shape"):
        linf_error_ratio(A, b, np.ones(3))
    with pytest.raises(ValueError, match="full column rank"):
        linf_error_ratio(np.column_stack([A[:, :3], A[:, :1]]), b, np.ones(4))


# (7) non-convergence ---------------------------------------------------------------------

def test_preconditioned_nonconvergence_warns():
    rng = np.random.default_rng(13)
    A, b = rng.standard_normal((2048, 8)), rng.standard_normal(2048)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        res = solve_lstsq_preconditioned(A, b, m=16, tol=1e-15, max_iter=1, rng=0)
    assert res.converged is False and res.n_iter == 1


def test_result_is_frozen():
    rng = np.random.default_rng(0)
    res = solve_sketched_lstsq(rng.standard_normal((64, 2)), rng.standard_normal(64), m=8,
                               rng=0)
    with pytest.raises(AttributeError):
        res.x = None
    assert not res.x.flags.writeable


# properties ------------------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(log2n=st.integers(0, 9), k=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_fwht_is_orthogonal_up_to_scale(log2n, k, seed):
    X = np.random.default_rng(seed).standard_normal((2**log2n, k))
    Y = fwht(X, normalize=True)
    np.testing.assert_allclose(np.linalg.norm(Y, axis=0), np.linalg.norm(X, axis=0), rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(SKETCHES), n=st.integers(8, 80), m=st.integers(1, 8),
       seed=st.integers(0, 2**16))
def test_apply_is_linear(kind, n, m, seed):
    op = draw_sketch(kind, n, m, nnz_per_col=min(2, m), rng=seed)
    rng = np.random.default_rng(seed)
    u, v = rng.standard_normal(n), rng.standard_normal(n)
    np.testing.assert_allclose(op.apply(2 * u - v), 2 * op.apply(u) - op.apply(v), atol=1e-10)


@pytest.mark.parametrize("L", [1, 2, 3, 5])
def test_fwht_rows_kernel_matches_full_transform(L):
    from theorylab.sketch import _kernels
    X = np.random.default_rng(L).standard_normal((256, 3))
    rows = np.random.default_rng(0).choice(256, 20, replace=False)
    out = np.empty((20, 3))
    _kernels.fwht_rows(X.copy(), L, rows, out)
    np.testing.assert_allclose(out, (hadamard(256) @ X)[rows], rtol=1e-12, atol=1e-10)


def test_srht_large_n_uses_row_sampled_transform():
    # n = 4096, m = 8: the partial transform path; compare with the dense reference
    op = draw_sketch("srht", 4096, 8, rng=0)
    X = np.random.default_rng(1).standard_normal((4096, 2))
    p = op.params
    np.testing.assert_allclose(op.apply(X),
                               ref.srht_matrix(4096, p["n_pad"], p["signs"], p["rows"]) @ X,
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", ["srht", "srht_gaussian_diag"])
def test_fused_and_unfused_hadamard_paths_agree(kind):
    from theorylab.sketch.operators import _APPLY
    op = draw_sketch(kind, 3000, 8, rng=4)
    X = np.random.default_rng(5).standard_normal((3000, 3))
    np.testing.assert_allclose(op.apply(X), _APPLY[kind](op, X), rtol=1e-12, atol=1e-12)


def test_cgls_matches_lsqr_and_lstsq():
    rng = np.random.default_rng(14)
    A = rng.standard_normal((5000, 12)) * np.logspace(0, 3, 12)
    b = rng.standard_normal(5000)
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    r1 = solve_lstsq_preconditioned(A, b, method="cgls", rng=1)
    r2 = solve_lstsq_preconditioned(A, b, method="lsqr", rng=1)
    assert r1.converged and r2.converged
    np.testing.assert_allclose(r1.x, x, rtol=1e-8)
    np.testing.assert_allclose(r1.x, r2.x, rtol=1e-8)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        r3 = solve_lstsq_preconditioned(A, b, method="cgls", m=16, tol=1e-15, max_iter=1, rng=0)
    assert r3.converged is False
    with pytest.raises(ValueError, match="method must be one of"):
        solve_lstsq_preconditioned(A, b, method="cg")


@pytest.mark.parametrize("kappa", [1e8, 1e10])
def test_cgls_ill_conditioned_no_spurious_warning(kappa):
    # A = U diag(s) Vᵀ, κ(A) = kappa: the preconditioned residual test alone has a rounding
    # floor near eps·κ > tol, yet x is as accurate as LSQR's: no warning, converged.
    rng = np.random.default_rng(16)
    n, d = 4000, 30
    U = np.linalg.qr(rng.standard_normal((n, d)))[0]
    V = np.linalg.qr(rng.standard_normal((d, d)))[0]
    A = U * np.logspace(0, -np.log10(kappa), d) @ V.T
    b = rng.standard_normal(n)
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rc = solve_lstsq_preconditioned(A, b, method="cgls", rng=1)
        rl = solve_lstsq_preconditioned(A, b, method="lsqr", rng=1)
    assert rc.converged and rl.converged

    def err(z):
        return np.linalg.norm(z - x) / np.linalg.norm(x)

    assert err(rc.x) <= 3 * err(rl.x) + 1e-14
    assert err(rc.x) < 100 * np.finfo(float).eps * kappa


def test_cgls_unattainable_tol_stops_early_and_warns():
    rng = np.random.default_rng(15)
    A, b = rng.standard_normal((4000, 6)), rng.standard_normal(4000)
    with pytest.warns(ConvergenceWarning, match="stagnated"):
        res = solve_lstsq_preconditioned(A, b, method="cgls", tol=1e-30, max_iter=500, rng=0)
    assert res.converged is False and res.n_iter < 100
    np.testing.assert_allclose(res.x, np.linalg.lstsq(A, b, rcond=None)[0], rtol=1e-10)


# fused sampled SRHT, fused LSQR, Gram solve, deferred finiteness check --------------------

def _stack_reference(op, X):
    p = op.params
    if op.kind == "srht":
        return ref.srht_matrix(op.n_rows, p["n_pad"], p["signs"], p["rows"]) @ X
    return ref.srht_gaussian_diag_matrix(op.n_rows, p["n_pad"], p["gamma"], p["rows"]) @ X


@pytest.mark.parametrize("kind", ["srht", "srht_gaussian_diag"])
@pytest.mark.parametrize(("n", "m", "plan"), [
    (1000, 50, None), (1024, 1024, None), (7, 3, None), (300, 40, (3, 9)), (513, 64, (6, 4)),
    (2000, 100, (7, 2)), (2048, 256, (11, 3)), (1500, 300, (5, 9)), (4096, 16, (4, 5))])
def test_fused_sampled_srht_matches_dense(kind, n, m, plan, monkeypatch):
    # every branch: full blocks of >= 64 rows, blocks < 64 rows, a partial last block,
    # padding rows beyond n, column panels that split X1 and X2 (plan = (log2 B, width))
    from theorylab.sketch import operators as O
    if plan is not None:
        monkeypatch.setattr(O, "_fused_plan", lambda N, m, k: plan)
    op = draw_sketch(kind, n, m, rng=n + m)
    rng = np.random.default_rng(m)
    X, y = rng.standard_normal((n, 6)), rng.standard_normal((n, 2))
    got = op._apply_blocks(X, y)
    np.testing.assert_allclose(got, _stack_reference(op, np.hstack([X, y])),
                               rtol=1e-11, atol=1e-11)


def test_fused_plan_falls_back_to_two_pass_for_many_rows():
    from theorylab.sketch import operators as O
    assert O._fused_plan(2**18, 4096, 65) == (12, 65)
    assert O._fused_plan(64, 64, 3) == (6, 3)
    assert O._fused_plan(2**16, 2**15, 3) is None          # m > 4B: gather would dominate
    op = draw_sketch("srht", 20000, 2**14 + 3, rng=0)
    X = np.random.default_rng(1).standard_normal((20000, 2))
    Y = np.zeros((op.params["n_pad"], 2))
    Y[:20000] = X * op.params["signs"][:, None]
    full = fwht(Y)[op.params["rows"]] / np.sqrt(op.sketch_size)
    np.testing.assert_allclose(op.apply(X), full, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("n", "d", "tol", "max_iter"),
                         [(2000, 10, 1e-12, 100), (3000, 30, 1e-8, 100), (500, 5, 1e-14, 3),
                          (4000, 20, 1e-30, 40)])
def test_fused_lsqr_reproduces_scipy_lsqr(n, d, tol, max_iter):
    from theorylab.sketch.lstsq import _lsqr_preconditioned
    rng = np.random.default_rng(d)
    A = rng.standard_normal((n, d)) * np.logspace(0, 3, d)
    b = rng.standard_normal(n)
    R = np.linalg.qr(A[rng.choice(n, 4 * d)] + 0.1 * rng.standard_normal((4 * d, d)), mode="r")
    y0 = 0.01 * rng.standard_normal(d)
    y, istop, itn, r1, _ = _lsqr_preconditioned(A, b, R, y0, tol, max_iter)
    y_ref, istop_ref, itn_ref, r1_ref = ref.lsqr_preconditioned_scipy(A, b, R, y0, tol, max_iter)
    assert (istop, itn) == (istop_ref, itn_ref)
    np.testing.assert_allclose(y, y_ref, rtol=1e-9, atol=1e-12 * np.abs(y_ref).max())
    assert r1 == pytest.approx(r1_ref, rel=1e-10)


def test_lsqr_pass_kernel_by_hand():
    from theorylab.sketch import _kernels
    A = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, -1.0]])
    u = np.array([1.0, -1.0, 2.0])
    g = np.full(2, np.nan)
    ss = _kernels.lsqr_pass(A, np.array([1.0, 1.0]), u, 2.0, g)
    t = np.array([3.0 - 2.0, 7.0 + 2.0, -1.0 - 4.0])
    np.testing.assert_allclose(u, t)
    np.testing.assert_allclose(g, A.T @ t)
    assert ss == pytest.approx(t @ t)


def test_sketched_system_gram_path_and_gelsd_fallback():
    from theorylab.sketch import lstsq as L
    from theorylab.sketch.lstsq import _GRAM_MAX_COND, _solve_sketched_system
    rng = np.random.default_rng(3)
    SA, Sb = rng.standard_normal((200, 5)), rng.standard_normal(200)
    x, rank = _solve_sketched_system(np.column_stack([SA, Sb]))
    np.testing.assert_allclose(x, np.linalg.lstsq(SA, Sb, rcond=None)[0], rtol=1e-10)
    assert rank == 5
    # κ above the Gram threshold: the Gram factor refuses, gelsd answers (with its rank)
    bad = SA * np.array([1, 1, 1, 1, 0.1 / _GRAM_MAX_COND])     # κ(bad) > 10 · threshold
    assert np.linalg.cond(bad) > _GRAM_MAX_COND
    SMb = np.column_stack([bad, Sb])
    assert L._gram_factor(SMb, _GRAM_MAX_COND) is None
    assert L._gram_factor(SMb, 1e3 * _GRAM_MAX_COND) is not None    # the estimate is sane
    x2, rank2 = _solve_sketched_system(SMb)
    x2_ref, _, r2_ref, _ = np.linalg.lstsq(bad, Sb, rcond=None)
    np.testing.assert_allclose(x2, x2_ref, rtol=1e-9)
    assert rank2 == r2_ref == 5
    # exactly rank-deficient (a collision): minimum-norm solution, rank < d
    dup = np.column_stack([SA[:, :4], SA[:, :1]])
    x3, rank3 = _solve_sketched_system(np.column_stack([dup, Sb]))
    assert rank3 == 4
    np.testing.assert_allclose(x3, np.linalg.pinv(dup) @ Sb, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("kind", SKETCHES)
@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_A_is_caught_for_every_sketch(kind, bad_value):
    # the check runs on the sketch for all families but SRDCT: it must still name A
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((256, 4)), rng.standard_normal(256)
    A[200, 2] = bad_value
    with pytest.raises(ValueError, match="A must be finite, got 1 NaN/inf"):
        solve_sketched_lstsq(A, b, sketch=kind, m=32, rng=1)
    if kind != "srdct":
        with pytest.raises(ValueError, match="A must be finite, got 1 NaN/inf"):
            solve_lstsq_preconditioned(A, b, sketch=kind, m=32, rng=1)


def test_sketch_overflow_is_an_error_not_nan():
    A = np.full((64, 2), 1e308)
    A[:, 1] = np.arange(64.0)
    with pytest.raises(FloatingPointError, match="overflowed"):
        solve_sketched_lstsq(A, np.ones(64), sketch="srht", m=8, rng=0)


def test_preconditioner_gram_and_qr_paths(monkeypatch):
    from theorylab.sketch import lstsq as L
    rng = np.random.default_rng(7)
    SA, Sb = rng.standard_normal((300, 6)), rng.standard_normal(300)
    R, y0 = L._sketch_preconditioner(np.column_stack([SA, Sb]))
    np.testing.assert_allclose(R.T @ R, SA.T @ SA, rtol=1e-12, atol=1e-10)
    assert np.allclose(np.tril(R, -1), 0.0)
    Q = SA @ np.linalg.inv(R)
    np.testing.assert_allclose(y0, Q.T @ Sb, rtol=1e-10)
    # κ(SA) = 1e8 > 1e6: the Householder path (Cholesky not trusted), same R up to row signs
    bad = SA * np.array([1, 1, 1, 1, 1, 1e-8])
    calls = []
    real_qr = L.qr
    monkeypatch.setattr(L, "qr", lambda *a, **k: calls.append(1) or real_qr(*a, **k))
    R2, y2 = L._sketch_preconditioner(np.column_stack([bad, Sb]))
    assert calls, "ill-conditioned SA must use Householder QR"
    np.testing.assert_allclose(np.abs(np.diag(R2)),
                               np.abs(np.diag(np.linalg.qr(bad, mode="r"))), rtol=1e-8)
    np.testing.assert_allclose(R2.T @ R2, bad.T @ bad, rtol=1e-10, atol=1e-12)
    # a zero-residual problem (Sb in the range of SA) still takes the Cholesky path
    calls.clear()
    L._sketch_preconditioner(np.column_stack([SA, SA @ np.ones(6)]))
    assert not calls
    with pytest.raises(ValueError, match="rank-deficient"):
        L._sketch_preconditioner(np.column_stack([SA[:, :5], SA[:, :1], Sb]))


def test_preconditioned_solver_on_ill_conditioned_A_reaches_lstsq():
    # κ(A) ≈ 1e9: Householder preconditioner; LSQR still reaches lstsq's answer
    rng = np.random.default_rng(8)
    U, _ = np.linalg.qr(rng.standard_normal((4096, 12)))
    A = U * np.logspace(0, -9, 12)
    b = A @ rng.standard_normal(12) + 1e-3 * rng.standard_normal(4096)
    res = solve_lstsq_preconditioned(A, b, tol=1e-14, rng=0)
    x_ls = np.linalg.lstsq(A, b, rcond=None)[0]
    assert np.linalg.norm(A @ res.x - b) <= np.linalg.norm(A @ x_ls - b) * (1 + 1e-12)


@pytest.mark.parametrize(("B", "max_bytes"), [(4, 1 << 30), (4, 0), (32, 1 << 30), (32, 0),
                                              (1024, 1 << 30)])
def test_fwht_outer_levels_gathered_and_radix_paths(B, max_bytes):
    # levels < B blockwise, then the outer levels either on gathered stride-B groups or by
    # radix-8 passes over the whole array: both equal the dense transform
    from theorylab.sketch import _kernels
    X = np.random.default_rng(B).standard_normal((1024, 5))
    Y = X.copy()
    for start in range(0, 1024, B):
        _kernels.block_levels(Y, start, start + B, 1, B)
    _kernels._outer_levels(Y, B, 1024, max_bytes)
    np.testing.assert_allclose(Y, hadamard(1024) @ X, rtol=1e-12, atol=1e-10)


def test_fwht_beyond_one_cache_block_by_sylvester_recursion():
    # N = 8192 rows of 65 columns is beyond one 2 MB block (the gathered outer levels run);
    # H_2N [x1; x2] = [H_N x1 + H_N x2; H_N x1 − H_N x2] with N = 4096 (one block)
    X = np.random.default_rng(0).standard_normal((8192, 65))
    top, bot = fwht(X[:4096]), fwht(X[4096:])
    np.testing.assert_allclose(fwht(X), np.vstack([top + bot, top - bot]), rtol=1e-12,
                               atol=1e-9)


def test_cost_models_validate_and_match_plan():
    from theorylab.sketch.theory import srht_flops, srht_sampled_ops
    assert srht_sampled_ops(2**18, 65, 4096) == 2**18 * 65 * (12 + 1)
    assert srht_sampled_ops(2**16, 3, 2**15) == srht_flops(2**16, 3)   # two-pass path
    with pytest.raises(ValueError, match="n must be >= 1"):
        srht_sampled_ops(0, 3, 2)
    with pytest.raises(ValueError, match="m must be <= 16"):
        srht_sampled_ops(10, 3, 17)
    with pytest.raises(ValueError, match="k must be >= 1"):
        srht_flops(10, 0)
    with pytest.raises(TypeError, match="n must be an integer"):
        srht_sampled_ops(10.5, 3, 2)
