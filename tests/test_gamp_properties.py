"""Hypothesis properties of the RIE denoiser (theorylab.gamp)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from theorylab.gamp import rie_denoise


def _sym(seed, d):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((d, d))
    W = rng.standard_normal((d, max(1, d // 2)))
    return W @ W.T / np.sqrt(d * max(1, d // 2)) + (G + G.T) / np.sqrt(2 * d), rng


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), d=st.integers(3, 25),
       delta=st.floats(1e-3, 10.0), kappa=st.floats(0.05, 4.0))
def test_rie_is_orthogonally_equivariant(seed, d, delta, kappa):
    R, rng = _sym(seed, d)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lhs = rie_denoise(Q @ R @ Q.T, delta, kappa=kappa)
    rhs = Q @ rie_denoise(R, delta, kappa=kappa) @ Q.T
    np.testing.assert_allclose(lhs, rhs, atol=1e-8 * (1 + np.abs(rhs).max()))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), d=st.integers(2, 25), delta=st.floats(1e-3, 10.0),
       kappa=st.floats(0.05, 4.0))
def test_rie_output_is_finite_and_symmetric(seed, d, delta, kappa):
    R, _ = _sym(seed, d)
    S = rie_denoise(R, delta, kappa=kappa)
    assert np.all(np.isfinite(S))
    np.testing.assert_allclose(S, S.T, atol=1e-10 * (1 + np.abs(S).max()))
