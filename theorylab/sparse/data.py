"""Design generators with planted k-sparse signals (theorylab's proposals, not the paper's).

Every generator returns a :class:`SparseInstance` with the design, responses, the true
signal, its support and the noise level. Signals are scaled so that ``‖Xw*‖²/N = 1``;
the noise standard deviation is ``noise`` (relative to that unit signal power).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from theorylab._validation import (
    check_array,
    check_choice,
    check_int,
    check_matrix,
    check_positive,
    check_rng,
    check_vector,
)
from theorylab.results import ResultRepr

__all__ = ["SparseInstance", "gaussian_design", "gadget_design", "random_walk_design",
           "conditioned_design", "equicorrelated_design", "planted_response"]


@dataclass(frozen=True)
class SparseInstance(ResultRepr):
    X: np.ndarray
    y: np.ndarray
    w_star: np.ndarray
    support: np.ndarray
    noise: float
    info: dict


def planted_response(X, support, *, noise: float = 0.1, values=None, rng=None):
    """Signal on ``support`` (random N(0,1) values unless given) scaled to unit power,
    responses with Gaussian noise of standard deviation ``noise``."""
    X = check_matrix(X, name="X")
    n, d = X.shape
    support = check_array(support, name="support", ndim=1, dtype=np.int64, min_shape=(1,))
    if support.min() < 0 or support.max() >= d or np.unique(support).size != support.size:
        raise ValueError(f"support must hold distinct column indices in [0, {d}), "
                         f"got {support.tolist()}")
    if values is not None:
        values = check_vector(values, name="values", n=support.size)
    rng = check_rng(rng)
    w = np.zeros(d)
    w[support] = rng.standard_normal(len(support)) if values is None else values
    f = X @ w
    s = np.sqrt(f @ f / n)
    w /= s
    y = X @ w + check_positive(noise, name="noise", strict=False) * rng.standard_normal(n)
    return w, y


def _support(d, k, rng):
    return np.sort(rng.choice(d, size=k, replace=False))


def gaussian_design(n_samples: int, dim: int, *, k: int, noise: float = 0.1, rng=None
                    ) -> SparseInstance:
    """i.i.d. N(0, 1) design, uniformly random support (the control)."""
    n = check_int(n_samples, name="n_samples", minimum=1)
    d = check_int(dim, name="dim", minimum=1)
    k = check_int(k, name="k", minimum=1, maximum=d)
    rng = check_rng(rng)
    X = rng.standard_normal((n, d))
    S = _support(d, k, rng)
    w, y = planted_response(X, S, noise=noise, rng=rng)
    return SparseInstance(X, y, w, S, noise, {"design": "gaussian"})


def gadget_design(n_samples: int, dim: int, *, k: int, support: Literal["random",
                  "adversarial"] = "random", n_gadgets: int | None = None, eta: float = 1e-3,
                  noise: float = 0.1, rng=None) -> SparseInstance:
    """Cancellation gadgets: columns ``x_g = (z_a + z_b)/√2 + η e_g`` nearly dependent on two
    base columns. The adversarial support puts ``w* ∝ √2 e_g − e_a − e_b`` (huge cancelling
    coefficients, ‖w*‖₁ ∝ 1/η) on ⌊k/3⌋ gadget triples plus ordinary columns; the random
    support is a uniformly random k-subset.
    """
    n = check_int(n_samples, name="n_samples", minimum=1)
    d = check_int(dim, name="dim", minimum=4)
    k = check_int(k, name="k", minimum=1, maximum=d)
    check_choice(support, name="support", choices=("random", "adversarial"))
    eta = check_positive(eta, name="eta")
    rng = check_rng(rng)
    G = d // 3 if n_gadgets is None else check_int(n_gadgets, name="n_gadgets", minimum=1,
                                                   maximum=d // 3)
    d0 = d - G
    Z = rng.standard_normal((n, d0))
    E = rng.standard_normal((n, G))
    E /= np.linalg.norm(E, axis=0) / np.sqrt(n)
    pairs = np.array([rng.choice(d0, size=2, replace=False) for _ in range(G)])
    gad = (Z[:, pairs[:, 0]] + Z[:, pairs[:, 1]]) / np.sqrt(2) + eta * E
    X = np.hstack([Z, gad])
    if support == "random":
        S = _support(d, k, rng)
        w, y = planted_response(X, S, noise=noise, rng=rng)
    else:
        n_tri = max(1, k // 3)
        gs = rng.choice(G, size=n_tri, replace=False)
        vals = np.zeros(d)
        for g in gs:
            a, b = pairs[g]
            sg = rng.choice([-1.0, 1.0])
            vals[d0 + g] += sg * np.sqrt(2)  # √2 x_g − z_a − z_b = √2 η e_g: tiny output
            vals[a] -= sg
            vals[b] -= sg
        rest = k - 3 * n_tri
        used = set(np.flatnonzero(vals))
        others = [j for j in rng.permutation(d0) if j not in used][:max(rest, 0)]
        vals[others] = 0.05 * rng.standard_normal(len(others))
        S = np.flatnonzero(vals)
        w, y = planted_response(X, S, noise=noise, values=vals[S], rng=rng)
    return SparseInstance(X, y, w, S, noise, {"design": "gadget", "support": support,
                                              "eta": eta, "pairs": pairs})


def random_walk_design(n_samples: int, dim: int, *, k: int, noise: float = 0.1, rng=None
                       ) -> SparseInstance:
    """Columns are a Gaussian random walk ``X_{:,j} = Σ_{i≤j} g_i`` (highly correlated)."""
    n = check_int(n_samples, name="n_samples", minimum=1)
    d = check_int(dim, name="dim", minimum=1)
    k = check_int(k, name="k", minimum=1, maximum=d)
    rng = check_rng(rng)
    X = np.cumsum(rng.standard_normal((n, d)), axis=1)
    S = _support(d, k, rng)
    w, y = planted_response(X, S, noise=noise, rng=rng)
    return SparseInstance(X, y, w, S, noise, {"design": "random_walk"})


def conditioned_design(n_samples: int, dim: int, *, k: int, kappa: float, noise: float = 0.1,
                       rng=None) -> SparseInstance:
    """``X = Z Q diag(s) Qᵀ`` with s log-spaced from 1 to 1/κ (prescribed condition number of
    the population covariance), random support."""
    n = check_int(n_samples, name="n_samples", minimum=1)
    d = check_int(dim, name="dim", minimum=1)
    k = check_int(k, name="k", minimum=1, maximum=d)
    kappa = check_positive(kappa, name="kappa")
    if kappa < 1:
        raise ValueError(f"kappa must be >= 1, got {kappa!r}")
    rng = check_rng(rng)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s = np.logspace(0, -np.log10(kappa), d)
    X = rng.standard_normal((n, d)) @ (Q * s) @ Q.T
    S = _support(d, k, rng)
    w, y = planted_response(X, S, noise=noise, rng=rng)
    return SparseInstance(X, y, w, S, noise, {"design": "conditioned", "kappa": kappa})


def equicorrelated_design(n_samples: int, dim: int, *, k: int, rho: float = 0.8,
                          noise: float = 0.1, rng=None) -> SparseInstance:
    """Rows i.i.d. N(0, Σ) with Σ = (1 − ρ) I + ρ 11ᵀ (every pair of columns correlated
    ρ), random support."""
    n = check_int(n_samples, name="n_samples", minimum=1)
    d = check_int(dim, name="dim", minimum=1)
    k = check_int(k, name="k", minimum=1, maximum=d)
    rho = check_positive(rho, name="rho", strict=False)
    if rho >= 1:
        raise ValueError(f"rho must be < 1, got {rho!r}")
    rng = check_rng(rng)
    X = np.sqrt(1 - rho) * rng.standard_normal((n, d)) + np.sqrt(rho) * rng.standard_normal(
        (n, 1))
    S = _support(d, k, rng)
    w, y = planted_response(X, S, noise=noise, rng=rng)
    return SparseInstance(X, y, w, S, noise, {"design": "equicorrelated", "rho": rho})
