"""theorylab.precond: Poisson systems, IC(0)/SGS/AMG-preconditioned CG and DCDM."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from theorylab.precond import (
    PRECONDITIONERS,
    apply_poisson_stencil,
    bump_rhs,
    ic0,
    make_preconditioner,
    noise_rhs,
    obstacle_mask,
    poisson_system,
    ritz_rhs,
    solve_dcdm,
    solve_pcg,
)
from theorylab.precond import _reference as ref
from theorylab.results import ConvergenceWarning


def _pocket_mask():
    """A ring of solid cells enclosing a 2×2 fluid pocket in a 8×8 grid."""
    solid = np.zeros((8, 8), dtype=bool)
    solid[1:5, 1:5] = True
    solid[2:4, 2:4] = False
    return solid


# ------------------------------------------------------------------ systems

def test_hand_matrix_1d_like_strip():
    # 2×3 Dirichlet grid: every cell has 4 faces; interior couplings -1
    A = poisson_system((2, 3)).A.toarray()
    expected = np.array([[4, -1, 0, -1, 0, 0], [-1, 4, -1, 0, -1, 0], [0, -1, 4, 0, 0, -1],
                         [-1, 0, 0, 4, -1, 0], [0, -1, 0, -1, 4, -1], [0, 0, -1, 0, -1, 4]],
                        dtype=float)
    np.testing.assert_array_equal(A, expected)
    # Neumann: the diagonal counts fluid neighbours only
    An = poisson_system((2, 3), bc="neumann").A.toarray()
    np.testing.assert_array_equal(np.diag(An), [2, 3, 2, 2, 3, 2])


@pytest.mark.parametrize("shape", [(6, 5), (4, 3, 5)])
@pytest.mark.parametrize("bc", ["dirichlet", "neumann"])
@pytest.mark.parametrize("with_mask", [False, True])
def test_stencil_equals_sparse_product(shape, bc, with_mask):
    rng = np.random.default_rng(1)
    solid = rng.random(shape) < 0.2 if with_mask else None
    s = poisson_system(shape, bc=bc, solid=solid)
    x = rng.standard_normal(s.n)
    np.testing.assert_allclose(s.to_grid(s.A @ x),
                               apply_poisson_stencil(s.to_grid(x), s.fluid, bc=bc),
                               rtol=1e-12, atol=1e-12)


def test_dirichlet_is_spd_and_neumann_null_space_is_exact():
    s = poisson_system((7, 6), solid=obstacle_mask((7, 6), n_obstacles=2, radius=0.2, rng=3))
    A = s.A.toarray()
    assert np.array_equal(A, A.T) and s.null_basis.shape[1] == 0
    assert np.linalg.eigvalsh(A)[0] > 1e-3
    # Neumann walls + enclosed pocket: two closed regions, so two null vectors
    n = poisson_system((8, 8), bc="neumann", solid=_pocket_mask())
    lam = np.linalg.eigvalsh(n.A.toarray())
    assert n.null_basis.shape[1] == 2
    assert np.sum(np.abs(lam) < 1e-10) == 2 and lam[2] > 1e-3  # semidefinite, rank n - 2
    np.testing.assert_allclose(n.A @ n.null_basis, 0.0, atol=1e-13)
    np.testing.assert_allclose(n.null_basis.T @ n.null_basis, np.eye(2), atol=1e-13)
    # Dirichlet walls: the enclosed pocket is still closed (1 null vector), the outside is not
    d = poisson_system((8, 8), bc="dirichlet", solid=_pocket_mask())
    assert d.null_basis.shape[1] == 1 and np.count_nonzero(d.null_basis) == 4


def test_rhs_generators_are_unit_and_in_range():
    s = poisson_system((8, 8), bc="neumann")
    for b in (bump_rhs(s, rng=0), noise_rhs(s, rng=0), *ritz_rhs(s, 3, rng=0)):
        assert np.isclose(np.linalg.norm(b), 1.0)
        assert abs(s.null_basis[:, 0] @ b) < 1e-12
    # the Ritz rule: low half (+5 %) of the spectrum scaled by 9 => most energy there
    lam, psi = np.linalg.eigh(s.A.toarray())
    B = ritz_rhs(s, 200, rng=1)
    energy = ((B @ psi) ** 2).mean(0)
    assert energy[1:32].sum() > 20 * energy[40:].sum()
    np.testing.assert_array_equal(ritz_rhs(s, 4, rng=5), ritz_rhs(s, 4, rng=5))


# ------------------------------------------------------------------ preconditioners

def test_ic0_kernel_equals_dense_reference():
    s = poisson_system((5, 5), solid=obstacle_mask((5, 5), n_obstacles=1, radius=0.2, rng=2))
    L = ic0(s.A).toarray()
    np.testing.assert_allclose(L, ref.ic0_dense(s.A.toarray()), rtol=1e-12, atol=1e-14)
    # IC(0) matches A on its own pattern and is not the exact factor (fill was dropped)
    LLt = L @ L.T
    pattern = s.A.toarray() != 0
    np.testing.assert_allclose(LLt[pattern], s.A.toarray()[pattern], rtol=1e-12)
    assert np.abs(LLt - s.A.toarray()).max() > 1e-3


def test_ic0_on_tridiagonal_is_cholesky():
    n = 12
    A = sp.diags([-np.ones(n - 1), 2.5 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1])
    np.testing.assert_allclose(ic0(A).toarray(), np.linalg.cholesky(A.toarray()), rtol=1e-13)


def test_sgs_and_ic0_apply_match_dense_solves():
    s = poisson_system((6, 6), bc="neumann", solid=obstacle_mask((6, 6), rng=0))
    A = s.A.toarray()
    r = np.random.default_rng(0).standard_normal(s.n)
    np.testing.assert_allclose(make_preconditioner(s.A, "sgs")(r),
                               np.linalg.solve(ref.sgs_matrix(A), r), rtol=1e-10)
    L = ref.ic0_dense(A)
    np.testing.assert_allclose(make_preconditioner(s.A, "ic0")(r),
                               np.linalg.solve(L @ L.T, r), rtol=1e-10)


def test_ic0_breakdown_is_reported():
    A = np.array([[1.0, 2.0], [2.0, 1.0]])  # indefinite
    with pytest.raises(ValueError, match="pivot of row 1 is not positive"):
        ic0(A)


# ------------------------------------------------------------------ solvers

@pytest.mark.parametrize("kind", PRECONDITIONERS)
def test_every_preconditioner_solves_against_numpy(kind):
    if kind.startswith("amg"):
        pytest.importorskip("pyamg")
    s = poisson_system((12, 12), solid=obstacle_mask((12, 12), rng=4))
    b = bump_rhs(s, rng=0)
    res = solve_pcg(s.A, b, preconditioner=kind, tol=1e-10)
    assert res.converged and res.method == ("cg" if kind == "none" else f"pcg-{kind}")
    np.testing.assert_allclose(res.x, np.linalg.solve(s.A.toarray(), b), rtol=1e-8, atol=1e-10)
    assert res.history["residual"][-1] < 1e-10 and res.total_time >= res.solve_time > 0


def test_cg_iterates_and_scipy_cg():
    s = poisson_system((10, 10))
    b = noise_rhs(s, rng=1)
    from scipy.sparse.linalg import cg

    res = solve_pcg(s.A, b, tol=1e-8)
    x_scipy, info = cg(s.A, b, rtol=1e-8, atol=0.0)
    assert info == 0
    np.testing.assert_allclose(res.x, x_scipy, rtol=1e-6, atol=1e-8)


def test_amg_iterations_are_size_independent_and_pcg_beats_cg():
    pytest.importorskip("pyamg")
    counts = {}
    for N in (16, 32, 64):
        s = poisson_system((N, N))
        b = bump_rhs(s, rng=0)
        counts[N] = {k: solve_pcg(s.A, b, preconditioner=k).n_iter for k in PRECONDITIONERS}
    for N, c in counts.items():
        assert c["amg_sa"] <= 6 and c["amg_rs"] <= 6, (N, c)
        assert c["ic0"] < c["none"] / 2 and c["sgs"] < c["none"] / 2
    assert counts[64]["none"] > 1.7 * counts[32]["none"] > 2.5 * counts[16]["none"]


def test_dcdm_with_identity_direction_reproduces_cg_iterates():
    s = poisson_system((7, 9), solid=obstacle_mask((7, 9), rng=0))
    b = bump_rhs(s, rng=2)
    n_it = 12
    expected = ref.cg_iterates(s.A.toarray(), b, n_it)
    for n_orth in (1, 2):
        iterates = []

        def record(r, _it=iterates):
            return r

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for k in range(1, n_it + 1):
                res = solve_dcdm(s.A, b, record, n_orth=n_orth, max_iter=k, tol=1e-300)
                iterates.append(res.x)
        for k in range(n_it):
            np.testing.assert_allclose(iterates[k], expected[k + 1], rtol=1e-8, atol=1e-12)
    # and the iteration counts agree with the CG solver at the same tolerance
    assert solve_dcdm(s.A, b, lambda r: r, tol=1e-6).n_iter == solve_pcg(s.A, b, tol=1e-6).n_iter


def test_dcdm_exact_inverse_converges_in_one_iteration():
    s = poisson_system((6, 6), bc="neumann", solid=obstacle_mask((6, 6), rng=1))
    b = bump_rhs(s, rng=0)
    Ap = np.linalg.pinv(s.A.toarray())
    res = solve_dcdm(s.A, b, lambda r: Ap @ r + 3.0, null_basis=s.null_basis, tol=1e-10)
    assert res.n_iter == 1 and res.converged  # the constant 3 lies in the null space
    assert abs(s.null_basis[:, 0] @ res.x) < 1e-10


def test_dcdm_a_norm_error_never_increases_and_window_is_a_orthogonal():
    s = poisson_system((8, 8))
    A = s.A.toarray()
    b = bump_rhs(s, rng=0)
    x_star = np.linalg.solve(A, b)
    rng = np.random.default_rng(0)
    dirs = []

    def noisy(r):  # a poor "network": the residual plus large noise
        q = r + 0.5 * rng.standard_normal(r.size) / np.sqrt(r.size)
        return q

    errs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in range(1, 15):
            rng = np.random.default_rng(0)
            x = solve_dcdm(A, b, noisy, max_iter=k, tol=1e-300).x
            e = x - x_star
            errs.append(e @ A @ e)
    assert np.all(np.diff(errs) <= 1e-12 * errs[0])
    assert errs[-1] < 0.5 * errs[0]
    # consecutive increments x_k - x_{k-1} (∝ directions) are A-orthogonal within the window
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        xs = []
        for k in range(1, 6):
            rng = np.random.default_rng(0)
            xs.append(solve_dcdm(A, b, noisy, max_iter=k, tol=1e-300).x)
    dirs = np.diff(np.vstack([np.zeros(s.n), *xs]), axis=0)
    for i in range(1, len(dirs)):
        for j in (i - 1, i - 2):
            if j >= 0:
                norms = (dirs[i] @ A @ dirs[i]) * (dirs[j] @ A @ dirs[j])
                c = dirs[i] @ A @ dirs[j] / np.sqrt(norms)
                assert abs(c) < 1e-10


def test_neumann_null_space_handled_by_projection():
    pytest.importorskip("pyamg")
    s = poisson_system((16, 16), bc="neumann", solid=obstacle_mask((16, 16), rng=7))
    b = np.random.default_rng(0).standard_normal(s.n) + 1.0  # inconsistent: has a constant part
    Pb = s.project(b)
    for kind in PRECONDITIONERS:
        res = solve_pcg(s.A, b, preconditioner=kind, null_basis=s.null_basis, tol=1e-8)
        assert res.converged, kind
        np.testing.assert_allclose(s.A @ res.x, Pb, atol=1e-6 * np.linalg.norm(Pb))
        assert abs(s.null_basis[:, 0] @ res.x) < 1e-6
    res = solve_dcdm(s.A, b, lambda r: r, null_basis=s.null_basis, tol=1e-8, max_iter=500)
    assert res.converged
    # without the projection CG cannot reach the tolerance on the inconsistent b
    with pytest.warns(ConvergenceWarning, match="cg: "):
        bad = solve_pcg(s.A, b, tol=1e-8, max_iter=200)
    assert not bad.converged and bad.residual > 0.1


def test_nonconvergence_warns_and_reports():
    s = poisson_system((16, 16))
    b = bump_rhs(s, rng=0)
    with pytest.warns(ConvergenceWarning, match=r"max_iter=3 reached with relative residual"):
        res = solve_dcdm(s.A, b, lambda r: r, max_iter=3)
    assert not res.converged and res.n_iter == 3 and len(res.history["residual"]) == 4
    assert "did NOT converge" in res.summary()


def test_zero_rhs_and_breakdown():
    s = poisson_system((4, 4))
    res = solve_pcg(s.A, np.zeros(s.n))
    assert res.converged and res.n_iter == 0 and not res.x.any()
    with pytest.warns(ConvergenceWarning, match="breakdown at iteration 1"):
        res = solve_dcdm(s.A, bump_rhs(s, rng=0), lambda r: np.zeros_like(r))
    assert not res.converged and "breakdown" in res.message


def test_bad_inputs():
    s = poisson_system((4, 4))
    b = bump_rhs(s, rng=0)
    with pytest.raises(ValueError, match="A must be symmetric"):
        solve_pcg(np.triu(s.A.toarray()), b)
    with pytest.raises(ValueError, match=r"A must be square, got shape \(3, 4\)"):
        solve_pcg(np.ones((3, 4)), np.ones(3))
    with pytest.raises(ValueError, match=r"b must have shape \(16,\), got \(15,\)"):
        solve_dcdm(s.A, b[:-1], lambda r: r)
    with pytest.raises(TypeError, match="direction must be callable, got int"):
        solve_dcdm(s.A, b, 3)
    with pytest.raises(ValueError, match=r"direction must return shape \(16,\), got \(15,\)"):
        solve_dcdm(s.A, b, lambda r: r[:-1])
    with pytest.raises(FloatingPointError, match="non-finite entries at iteration 1"):
        solve_dcdm(s.A, b, lambda r: r * np.nan)
    with pytest.raises(ValueError, match="kind must be one of 'none', 'sgs'"):
        make_preconditioner(s.A, "ilu")
    with pytest.raises(ValueError, match="n_orth must be >= 0, got -1"):
        solve_dcdm(s.A, b, lambda r: r, n_orth=-1)
    with pytest.raises(ValueError, match="tol must be > 0, got -1.0"):
        solve_pcg(s.A, b, tol=-1.0)
    with pytest.raises(ValueError, match="bc must be one of 'dirichlet', 'neumann', got 'x'"):
        poisson_system((4, 4), bc="x")
    with pytest.raises(ValueError, match="shape must be a tuple of 2 or 3 grid sizes"):
        poisson_system((4,))
    with pytest.raises(ValueError, match="solid must leave at least one fluid cell"):
        poisson_system((3, 3), solid=np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="null_basis must have orthonormal columns"):
        solve_pcg(s.A, b, null_basis=np.ones((16, 1)))
    with pytest.raises(ValueError, match="A must have a positive diagonal"):
        make_preconditioner(np.array([[0.0, 1.0], [1.0, 0.0]]), "sgs")
    with pytest.raises(TypeError, match="system must be a PoissonSystem, got ndarray"):
        bump_rhs(np.eye(3))
    with pytest.raises(ValueError, match="system must have at most 4096 unknowns"):
        ritz_rhs(poisson_system((65, 65)), 2)


def test_results_are_deterministic_and_frozen():
    s = poisson_system((12, 12))
    b = bump_rhs(s, rng=3)
    r1 = solve_pcg(s.A, b, preconditioner="ic0")
    r2 = solve_pcg(s.A, b, preconditioner="ic0")
    np.testing.assert_array_equal(r1.x, r2.x)
    assert r1.n_iter == r2.n_iter
    with pytest.raises(ValueError):
        r1.x[0] = 1.0
    assert repr(r1).startswith("KrylovResult(") and len(repr(r1)) < 400
    np.testing.assert_array_equal(obstacle_mask((9, 9), rng=2), obstacle_mask((9, 9), rng=2))
