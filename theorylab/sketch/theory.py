"""Closed forms the claims compare against (own derivations unless marked).

- CountSketch on the coherent spiky instance: a heavy row j hashing onto the bucket of
  identity row i gives x′_i = ±1, so ρ ∈ {0, √(d/t), ...}; P(ρ > 0) = 1 − (1 − d/m)^t
  (each of the t heavy rows misses all d identity buckets with prob. (1 − d/m)).
- OSNAP(s): a single collision contributes √(d/t)/s (the m-independent floor).
- Dense sketches: median ρ ≈ C √(d/m) (empirical, C ≈ 1.5–2.5).
- Norm preservation (derived; exhaustive and symbolic checks in the tests): every family is
  unbiased, E‖Sx‖² = ‖x‖²; Var‖Sx‖² = 2‖x‖⁴/m for i.i.d. N(0, 1/m) entries,
  (2/m)(‖x‖⁴ − Σx_i⁴) for CountSketch, and (2/m)·(N′ − m)/(N′ − 1)·(‖x‖⁴ − Σx_i⁴) for the
  SRHT (rows without replacement: CountSketch's variance times the finite-population
  factor).
- Gaussian-diagonal SRHT on the two-coordinate instance (follow-up, Section 3):
  P(|coef| >= 3/7) >= (2 − (4/π) arctan 2)(1 − 2 e^{−m/8}) ≈ 0.590 for every m.
- SRHT cost: O(N′ d log N′) with N′ = 2^⌈log₂ n⌉ for the full transform (the paper's
  bound); theorylab's sampled transform needs only N′ k (log₂B + m/B) operations with
  B ≈ min(m, 4096) rows per in-cache block, i.e. O(n d log m) (own derivation, see
  :func:`srht_sampled_ops`).
"""

from __future__ import annotations

import math

from theorylab._validation import check_int

__all__ = ["countsketch_failure_probability", "countsketch_failure_magnitude",
           "osnap_floor", "gaussian_diag_failure_bound", "srht_flops", "srht_sampled_ops"]


def countsketch_failure_probability(d: int, m: int, t: int) -> float:
    """1 − (1 − d/m)^t: some heavy row lands in one of the d identity buckets.

    Exact when the d identity rows occupy d distinct buckets; averaged over identity rows
    that share a bucket (fewer targets) the true probability is smaller, so this is an
    upper bound (exhaustive check for d = 2, m = 4, t = 2: 3/4 given distinct buckets,
    the formula, against 43/64 overall).

    >>> round(countsketch_failure_probability(16, 128, 4), 3)
    0.414
    """
    d = check_int(d, name="d", minimum=1)
    m = check_int(m, name="m", minimum=1)
    t = check_int(t, name="t", minimum=0)
    return 1.0 - (1.0 - min(d / m, 1.0)) ** t


def countsketch_failure_magnitude(d: int, t: int) -> float:
    """√(d/t): ρ of one collision (|x′_i| = 1, ‖r‖ = √t)."""
    d = check_int(d, name="d", minimum=1)
    t = check_int(t, name="t", minimum=1)
    return math.sqrt(d / t)


def osnap_floor(d: int, t: int, s: int) -> float:
    """√(d/t)/s: ρ contributed by one OSNAP(s) collision."""
    d = check_int(d, name="d", minimum=1)
    t = check_int(t, name="t", minimum=1)
    s = check_int(s, name="s", minimum=1)
    return math.sqrt(d / t) / s


def gaussian_diag_failure_bound(m: int | None = None) -> float:
    """(2 − (4/π) arctan 2)·(1 − 2e^{−m/8}); the m → ∞ value 0.5903 when ``m`` is None.

    >>> round(gaussian_diag_failure_bound(), 4)
    0.5903
    """
    base = 2.0 - 4.0 / math.pi * math.atan(2.0)
    if m is not None:
        m = check_int(m, name="m", minimum=1)
    return base if m is None else base * (1.0 - 2.0 * math.exp(-m / 8.0))


def srht_flops(n: int, k: int) -> float:
    """N′ k log₂ N′ additions for an FWHT of k columns padded to N′ = 2^⌈log₂ n⌉."""
    n = check_int(n, name="n", minimum=1)
    k = check_int(k, name="k", minimum=1)
    N = 1 << max(0, int(n - 1).bit_length())
    return float(N * k * max(1, int(math.log2(N))))


def srht_sampled_ops(n: int, k: int, m: int) -> float:
    """N′ k (log₂B + m/B): butterflies plus signed gathers of the fused sampled SRHT.

    Each block of B rows is transformed in cache (log₂B levels) and every one of the m
    sampled rows receives one signed copy of a block row (m·k per block, N′/B blocks).
    B follows :func:`theorylab.sketch.operators._fused_plan` (the power of two >= m, at most
    4096 and at most N′; the kernel skips padding blocks, ignored here).

    >>> srht_sampled_ops(2**18, 65, 4096) / srht_flops(2**18, 65)
    0.7222222222222222
    """
    from theorylab.sketch.operators import _fused_plan, next_pow2

    n = check_int(n, name="n", minimum=1)
    k = check_int(k, name="k", minimum=1)
    m = check_int(m, name="m", minimum=1, maximum=next_pow2(n))
    N = next_pow2(n)
    plan = _fused_plan(N, m, k)
    if plan is None:            # the two-pass path: the full transform
        return srht_flops(n, k)
    B = 1 << plan[0]
    return float(N * k * (plan[0] + m / B))
