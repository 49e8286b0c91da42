"""Dense Gaussian sketch-and-solve through rotation invariance (theorylab.sketch.rotated):
the algebra against the explicit product, the distribution against the explicit sketch."""

import numpy as np
import pytest
from scipy.stats import ks_2samp

from theorylab.sketch import gaussian_instance, linf_error_ratio, solve_sketched_lstsq
from theorylab.sketch.rotated import gaussian_sketch_solve, solve_from_rotated


def test_rotated_solution_equals_the_explicit_sketch_for_a_fixed_S():
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((200, 5)), rng.standard_normal(200)
    S = rng.standard_normal((40, 200)) / np.sqrt(40)
    Q, R = np.linalg.qr(np.column_stack([A, b]))
    x_rot = solve_from_rotated(S @ Q, R)
    x_exp = np.linalg.lstsq(S @ A, S @ b, rcond=None)[0]
    np.testing.assert_allclose(x_rot, x_exp, rtol=1e-10, atol=1e-12)


def test_m_equal_n_identity_sketch_limit_is_the_exact_solution():
    # G = Q^T-free check: with G orthonormal-columned (GᵀG = I), ‖G R z‖ = ‖R z‖ = ‖[A b] z‖,
    # so the sketched solution is the exact least-squares solution (hand-checkable case)
    rng = np.random.default_rng(1)
    A, b = rng.standard_normal((50, 3)), rng.standard_normal(50)
    _, R = np.linalg.qr(np.column_stack([A, b]))
    G = np.linalg.qr(rng.standard_normal((10, 4)))[0]
    np.testing.assert_allclose(solve_from_rotated(G, R), np.linalg.lstsq(A, b, rcond=None)[0],
                               rtol=1e-10)


def test_error_ratio_has_the_explicit_dense_sketch_distribution():
    # 300 paired draws at n = 512, d = 4, m = 32: two-sample KS on rho (a wrong scale, e.g.
    # N(0, 1) instead of N(0, 1/m) entries, would not matter for x' -- but a wrong rotation,
    # e.g. using A's QR without b, or R's transpose, shifts the law; both are caught here)
    rng = np.random.default_rng(2)
    inst = gaussian_instance(512, 4, rng=rng)
    fast, slow = [], []
    for _ in range(300):
        x_f = gaussian_sketch_solve(inst.A, inst.b, 32, rng=rng)
        x_s = solve_sketched_lstsq(inst.A, inst.b, sketch="gaussian", m=32, rng=rng).x
        fast.append(linf_error_ratio(inst.A, inst.b, x_f, x_star=inst.x_star))
        slow.append(linf_error_ratio(inst.A, inst.b, x_s, x_star=inst.x_star))
    assert ks_2samp(fast, slow).pvalue > 1e-3
    assert np.median(fast) == pytest.approx(np.median(slow), rel=0.15)


def test_a_wrong_rotation_is_detected_by_the_same_test():
    # the test above can fail: dropping b from the rotation (G drawn for A alone, b sketched
    # independently) changes the law of rho
    rng = np.random.default_rng(3)
    inst = gaussian_instance(512, 4, rng=rng)
    wrong, slow = [], []
    for _ in range(300):
        _, RA = np.linalg.qr(inst.A)
        SA = rng.standard_normal((32, 4)) @ RA / np.sqrt(32)
        Sb = rng.standard_normal(32) * np.linalg.norm(inst.b) / np.sqrt(32)
        x_w = np.linalg.lstsq(SA, Sb, rcond=None)[0]
        x_s = solve_sketched_lstsq(inst.A, inst.b, sketch="gaussian", m=32, rng=rng).x
        wrong.append(linf_error_ratio(inst.A, inst.b, x_w, x_star=inst.x_star))
        slow.append(linf_error_ratio(inst.A, inst.b, x_s, x_star=inst.x_star))
    assert ks_2samp(wrong, slow).pvalue < 1e-3


def test_deterministic_given_a_seed():
    inst = gaussian_instance(128, 3, rng=0)
    x1 = gaussian_sketch_solve(inst.A, inst.b, 16, rng=5)
    x2 = gaussian_sketch_solve(inst.A, inst.b, 16, rng=5)
    assert np.array_equal(x1, x2)


def test_bad_inputs():
    inst = gaussian_instance(64, 3, rng=0)
    with pytest.raises(ValueError, match="m must be >= 3"):
        gaussian_sketch_solve(inst.A, inst.b, 2, rng=0)
    with pytest.raises(ValueError, match="A must have at least d \\+ 1 = 4 rows"):
        gaussian_sketch_solve(inst.A[:3], inst.b[:3], 3, rng=0)
    with pytest.raises(ValueError, match="b must"):
        gaussian_sketch_solve(inst.A, inst.b[:10], 8, rng=0)
    bad = inst.A.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="A must be finite"):
        gaussian_sketch_solve(bad, inst.b, 8, rng=0)
    with pytest.raises(ValueError, match="G must have 4 columns"):
        solve_from_rotated(np.ones((5, 3)), np.eye(4))
