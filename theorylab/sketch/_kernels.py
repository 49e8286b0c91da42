"""Compiled loops of :mod:`theorylab.sketch` (no validation, no randomness inside)."""

from __future__ import annotations

from numba import njit

# Rows per cache block of the first FWHT stages: 512 rows of 65 float64 columns are
# 266 kB, which stays in L2 while the first log2(512) butterfly levels run on it.
_BLOCK_BYTES = 1 << 18


@njit(cache=True)
def _butterflies(X, start, stop, h):
    """One Hadamard level of size ``2h`` on rows ``start:stop`` of ``X`` (in place)."""
    k = X.shape[1]
    for i in range(start, stop, 2 * h):
        for j in range(i, i + h):
            for c in range(k):
                a = X[j, c]
                b = X[j + h, c]
                X[j, c] = a + b
                X[j + h, c] = a - b


@njit(cache=True)
def _butterflies4(X, h):
    """Two Hadamard levels (``h`` and ``2h``) in one pass over ``X`` (radix 4)."""
    N, k = X.shape
    for i in range(0, N, 4 * h):
        for j in range(i, i + h):
            for c in range(k):
                a = X[j, c]
                b = X[j + h, c]
                e = X[j + 2 * h, c]
                f = X[j + 3 * h, c]
                s0 = a + b
                s1 = a - b
                s2 = e + f
                s3 = e - f
                X[j, c] = s0 + s2
                X[j + h, c] = s1 + s3
                X[j + 2 * h, c] = s0 - s2
                X[j + 3 * h, c] = s1 - s3


@njit(cache=True)
def _cache_block(Q, k):
    """Rows per in-cache block: a power of two <= Q with B·k·8 bytes <= _BLOCK_BYTES."""
    B = 1
    while B * 2 <= Q and B * 2 * k * 8 <= _BLOCK_BYTES:
        B *= 2
    if B < 2:
        B = 2
    return B


@njit(cache=True)
def fwht_levels(X, Q):
    """The Hadamard levels of half-size h < Q (Q a power of two dividing N), in place.

    With Q = N this is the full unnormalised transform; with Q < N every aligned block
    of Q rows has been transformed (``H_Q`` applied blockwise).
    """
    N, k = X.shape
    if Q <= 1:
        return
    B = _cache_block(Q, k)
    for start in range(0, N, B):
        h = 1
        while h < B:
            _butterflies(X, start, start + B, h)
            h *= 2
    _outer_levels(X, B, Q)


@njit(cache=True)
def signed_fwht_levels(X1, X2, diag, Y, Q):
    """Y ← levels h < Q of the FWHT of diag·[X1 | X2] zero-padded to Y's N rows.

    Fills each in-cache block of Y just before transforming it, so the signed, padded
    copy costs no separate pass over memory.
    """
    N, k = Y.shape
    n, k1 = X1.shape
    k2 = X2.shape[1]
    B = _cache_block(Q, k) if Q > 1 else 1
    for start in range(0, N, B):
        for i in range(start, start + B):
            if i < n:
                s = diag[i]
                for c in range(k1):
                    Y[i, c] = s * X1[i, c]
                for c in range(k2):
                    Y[i, k1 + c] = s * X2[i, c]
            else:
                for c in range(k):
                    Y[i, c] = 0.0
        h = 1
        while h < B:
            _butterflies(Y, start, start + B, h)
            h *= 2
    if Q > 1:
        _outer_levels(Y, B, Q)


@njit(cache=True)
def _outer_levels(X, B, Q):
    """Levels h = B, 2B, ... < Q over the whole array, two per pass where possible."""
    N = X.shape[0]
    h = B
    while h < Q:
        if 4 * h <= Q:
            _butterflies4(X, h)
            h *= 4
        else:
            _butterflies(X, 0, N, h)
            h *= 2


@njit(cache=True)
def fwht_inplace(X):
    """Unnormalised Walsh–Hadamard transform of every column of ``X`` (in place).

    ``X`` is a C-contiguous float64 array of shape (N, k) with N a power of two; on
    return it holds ``H_N @ X`` with ``H_N`` the Sylvester–Hadamard matrix (entries ±1).
    The first levels run block by block in cache; the remaining levels run two at a
    time over the whole array, halving the memory traffic.
    """
    fwht_levels(X, X.shape[0])


@njit(cache=True)
def fwht_rows(X, L, rows, out):
    """Rows ``rows`` of ``H_N @ X`` (written to ``out``); X is overwritten.

    Runs the first log₂N − L levels on all of X, then forms only the wanted rows from the
    last L levels directly: with Q = N / 2^L, row r = a·Q + j of H_N X equals
    Σ_b (−1)^{popcount(a & b)} (H_Q-blocks X)[b·Q + j] (Sylvester structure). Worth it
    when len(rows)·2^L is much smaller than N·L.
    """
    fwht_levels(X, X.shape[0] >> L)
    gather_last_levels(X, L, rows, out)


@njit(cache=True)
def gather_last_levels(X, L, rows, out):
    """Rows ``rows`` of the last L Hadamard levels applied to X (X holds H_Q blocks)."""
    N, k = X.shape
    Q = N >> L
    P = 1 << L
    for i in range(rows.shape[0]):
        r = rows[i]
        a = r // Q
        j = r - a * Q
        for c in range(k):
            out[i, c] = 0.0
        for bb in range(P):
            v = a & bb
            par = 0
            while v:
                par ^= 1
                v &= v - 1
            row = bb * Q + j
            if par:
                for c in range(k):
                    out[i, c] -= X[row, c]
            else:
                for c in range(k):
                    out[i, c] += X[row, c]


@njit(cache=True)
def countsketch_apply(X, rows, signs, out):
    """``out[rows[i]] += signs[i] * X[i]`` for every row i (out zeroed by the caller)."""
    n, k = X.shape
    for i in range(n):
        r = rows[i]
        s = signs[i]
        for c in range(k):
            out[r, c] += s * X[i, c]


@njit(cache=True)
def osnap_apply(X, rows, signs, scale, out):
    """``out[rows[i, l]] += scale * signs[i, l] * X[i]`` for every row i and slot l."""
    n, k = X.shape
    s = rows.shape[1]
    for i in range(n):
        for l in range(s):
            r = rows[i, l]
            w = scale * signs[i, l]
            for c in range(k):
                out[r, c] += w * X[i, c]
