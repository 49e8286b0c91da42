"""Compiled loops of :mod:`theorylab.sketch` (no validation, no randomness inside)."""

from __future__ import annotations

import numpy as np
from numba import njit

# Rows per cache block of the first FWHT stages (B·k·8 bytes at most; 2 MB stays in L2)
_BLOCK_BYTES = 1 << 21
# Largest gathered group (Q/B rows) for the remaining levels, done in one more pass
_GATHER_BYTES = 1 << 20


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
        block_levels(X, start, start + B, 1, B)
    _outer_levels(X, B, Q, _GATHER_BYTES)


@njit(cache=True)
def _outer_levels(X, B, Q, max_bytes):
    """Levels B <= h < Q of X (each aligned Q-row block; levels < B already done).

    The rows {s + j + t·B : t < Q/B} of one Q-block interact only among themselves in
    these levels: when they fit in cache they are gathered into a buffer, transformed
    there and written back — one pass over X for all the remaining levels. Otherwise
    (group above ``max_bytes``) radix-8 passes over X (three levels per pass).
    """
    N, k = X.shape
    G = Q // B
    if G <= 1:
        return
    if G * k * 8 > max_bytes:
        block_levels(X, 0, N, B, Q)
        return
    Y = np.empty((G, k))
    for s in range(0, N, Q):
        for j in range(B):
            for t in range(G):
                src = X[s + j + t * B]
                dst = Y[t]
                for c in range(k):
                    dst[c] = src[c]
            block_levels(Y, 0, G, 1, G)
            for t in range(G):
                src = Y[t]
                dst = X[s + j + t * B]
                for c in range(k):
                    dst[c] = src[c]


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
        block_levels(Y, start, start + B, 1, B)
    if Q > 1:
        _outer_levels(Y, B, Q, _GATHER_BYTES)


@njit(cache=True)
def fwht_inplace(X):
    """Unnormalised Walsh–Hadamard transform of every column of ``X`` (in place).

    ``X`` is a C-contiguous float64 array of shape (N, k) with N a power of two; on
    return it holds ``H_N @ X`` with ``H_N`` the Sylvester–Hadamard matrix (entries ±1).
    The first levels run block by block in cache (≤ 2 MB blocks, radix 8); the remaining
    ones on gathered groups of rows with stride B, so X is read and written twice in all
    (2¹⁸ × 65: 0.067 s, was 0.44 s with radix-2/4 passes).
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


# ---------------------------------------------------------------------------------------
# Fused sampled SRHT: rows of H_N · pad(diag · [X1 | X2]) reading X once (no N × k buffer)
# ---------------------------------------------------------------------------------------

@njit(cache=True, inline="always")
def _radix2(Z, j0, j1, h):
    for j in range(j0, j1):
        p0 = Z[j]
        p1 = Z[j + h]
        for c in range(Z.shape[1]):
            a = p0[c]
            b = p1[c]
            p0[c] = a + b
            p1[c] = a - b


@njit(cache=True, inline="always")
def _radix4(Z, j0, j1, h):
    for j in range(j0, j1):
        p0 = Z[j]
        p1 = Z[j + h]
        p2 = Z[j + 2 * h]
        p3 = Z[j + 3 * h]
        for c in range(Z.shape[1]):
            a = p0[c]
            b = p1[c]
            e = p2[c]
            f = p3[c]
            s0 = a + b
            s1 = a - b
            s2 = e + f
            s3 = e - f
            p0[c] = s0 + s2
            p1[c] = s1 + s3
            p2[c] = s0 - s2
            p3[c] = s1 - s3


@njit(cache=True, inline="always")
def _bfly8(a0, a1, a2, a3, a4, a5, a6, a7):
    """Three radix-2 levels (h = 1, 2, 4) on eight values, in the radix-2 order."""
    b0 = a0 + a1
    b1 = a0 - a1
    b2 = a2 + a3
    b3 = a2 - a3
    b4 = a4 + a5
    b5 = a4 - a5
    b6 = a6 + a7
    b7 = a6 - a7
    c0 = b0 + b2
    c2 = b0 - b2
    c1 = b1 + b3
    c3 = b1 - b3
    c4 = b4 + b6
    c6 = b4 - b6
    c5 = b5 + b7
    c7 = b5 - b7
    return c0 + c4, c1 + c5, c2 + c6, c3 + c7, c0 - c4, c1 - c5, c2 - c6, c3 - c7


@njit(cache=True, inline="always")
def _radix8(Z, j0, j1, h):
    for j in range(j0, j1):
        p0 = Z[j]
        p1 = Z[j + h]
        p2 = Z[j + 2 * h]
        p3 = Z[j + 3 * h]
        p4 = Z[j + 4 * h]
        p5 = Z[j + 5 * h]
        p6 = Z[j + 6 * h]
        p7 = Z[j + 7 * h]
        for c in range(Z.shape[1]):
            (p0[c], p1[c], p2[c], p3[c],
             p4[c], p5[c], p6[c], p7[c]) = _bfly8(p0[c], p1[c], p2[c], p3[c],
                                                  p4[c], p5[c], p6[c], p7[c])


@njit(cache=True)
def block_levels(Z, start, stop, h0, h1):
    """Hadamard levels h0 <= h < h1 on rows start:stop of Z (in place).

    Blocks of h1 rows are independent; up to three levels run per pass over the rows
    (radix 8, then 4, then 2), which gives bitwise the same sums as level-by-level.
    """
    h = h0
    while h < h1:
        if 8 * h <= h1:
            for i in range(start, stop, 8 * h):
                _radix8(Z, i, i + h, h)
            h *= 8
        elif 4 * h <= h1:
            for i in range(start, stop, 4 * h):
                _radix4(Z, i, i + h, h)
            h *= 4
        else:
            for i in range(start, stop, 2 * h):
                _radix2(Z, i, i + h, h)
            h *= 2


@njit(cache=True, inline="always")
def _fill8(Z, r, X1, X2, diag, i0):
    """Z[r:r+8] = 8-point WHT of the signed rows i0:i0+8 of [X1 | X2] (three levels fused
    into the load)."""
    k1 = X1.shape[1]
    s0 = diag[i0]
    s1 = diag[i0 + 1]
    s2 = diag[i0 + 2]
    s3 = diag[i0 + 3]
    s4 = diag[i0 + 4]
    s5 = diag[i0 + 5]
    s6 = diag[i0 + 6]
    s7 = diag[i0 + 7]
    p0 = Z[r]
    p1 = Z[r + 1]
    p2 = Z[r + 2]
    p3 = Z[r + 3]
    p4 = Z[r + 4]
    p5 = Z[r + 5]
    p6 = Z[r + 6]
    p7 = Z[r + 7]
    for part in range(2):
        X = X1 if part == 0 else X2
        kk = X.shape[1]
        off = 0 if part == 0 else k1
        q0 = X[i0]
        q1 = X[i0 + 1]
        q2 = X[i0 + 2]
        q3 = X[i0 + 3]
        q4 = X[i0 + 4]
        q5 = X[i0 + 5]
        q6 = X[i0 + 6]
        q7 = X[i0 + 7]
        for c in range(kk):
            t = off + c
            (p0[t], p1[t], p2[t], p3[t],
             p4[t], p5[t], p6[t], p7[t]) = _bfly8(s0 * q0[c], s1 * q1[c], s2 * q2[c],
                                                  s3 * q3[c], s4 * q4[c], s5 * q5[c],
                                                  s6 * q6[c], s7 * q7[c])


@njit(cache=True, inline="always")
def _parity(v):
    """popcount(v) mod 2 for 0 <= v < 2^63, in constant time (xor folding)."""
    v ^= v >> 32
    v ^= v >> 16
    v ^= v >> 8
    v ^= v >> 4
    v ^= v >> 2
    v ^= v >> 1
    return v & 1


@njit(cache=True)
def srht_sample_fused(X1, X2, diag, rows, N, logB, out):
    """out ← rows ``rows`` of H_N · pad_N(diag · [X1 | X2]), reading X1 and X2 once.

    With N = (N/B)·B and row r = a·B + j (a high, j low bits), Sylvester's structure gives
    (H_N Y)[r] = Σ_blocks (−1)^{popcount(a & block)} (H_B Y_block)[j]. Each block of B rows is
    signed and transformed in cache (levels 0-2 fused into the load, 3-5 in 64-row
    sub-blocks while in L1, the rest radix 8) and, in the last pass, each finished row is
    added with its sign to the sampled rows with those low bits: work N·k·(log₂B + m/B),
    one read of X1 and X2, nothing of size N·k written. Padding rows (>= n) are zero and
    skipped. X1, X2 may be column slices (a panel of a wide stack); ``out`` has shape
    (len(rows), k1 + k2).
    """
    n, k1 = X1.shape
    k = k1 + X2.shape[1]
    B = 1 << logB
    m = rows.shape[0]
    # samples in order of their low bits: the gather below then reads Z and writes the
    # accumulator acc (sample order[i] in row i) sequentially
    order = np.argsort(rows & (B - 1), kind="mergesort")
    lo = np.empty(m, np.int64)
    hi = np.empty(m, np.int64)
    for i in range(m):
        r = rows[order[i]]
        lo[i] = r & (B - 1)
        hi[i] = r >> logB
    Z = np.empty((B, k))
    acc = np.zeros((m, k))
    start = np.zeros(B + 1, np.int64)     # samples with low bits j: acc rows start[j]:start[j+1]
    for i in range(m):
        start[lo[i] + 1] += 1
    for j in range(B):
        start[j + 1] += start[j]
    h_done = 1
    nblocks = min(N // B, (n + B - 1) // B)
    for blk in range(nblocks):
        base = blk * B
        if base + B <= n and B >= 64:
            # 64-row sub-blocks: levels 0-2 fused into the load, 3-5 while still in L1
            for r0 in range(0, B, 64):
                for r in range(r0, r0 + 64, 8):
                    _fill8(Z, r, X1, X2, diag, base + r)
                block_levels(Z, r0, r0 + 64, 8, 64)
            h_done = 64
        else:
            for r in range(B):
                i0 = base + r
                z = Z[r]
                if i0 < n:
                    s = diag[i0]
                    for c in range(k1):
                        z[c] = s * X1[i0, c]
                    for c in range(k - k1):
                        z[k1 + c] = s * X2[i0, c]
                else:
                    for c in range(k):
                        z[c] = 0.0
            h_done = 1
        _last_levels_gather(Z, h_done, acc, start, hi, blk)
    for i in range(m):
        o = out[order[i]]
        a = acc[i]
        for c in range(k):
            o[c] = a[c]


@njit(cache=True, fastmath={"reassoc", "contract"})
def lsqr_pass(A, p, u, c, g):
    """One pass over A for LSQR: t = A p − c·u (stored in u), g ← Aᵀ t; returns ‖t‖².

    LSQR's two products per iteration (A v, then Aᵀ u with the new u) share this single
    read of A: each row's t_i is known before the row leaves cache. ``g`` is overwritten.
    Reassociation only (no NaN/inf assumptions) lets the row dot products vectorise.
    """
    n, d = A.shape
    for j in range(d):
        g[j] = 0.0
    ss = 0.0
    for i in range(n):
        a = A[i]
        s = 0.0
        for j in range(d):
            s += a[j] * p[j]
        t = s - c * u[i]
        u[i] = t
        ss += t * t
        for j in range(d):
            g[j] += t * a[j]
    return ss


@njit(cache=True)
def _last_levels_gather(Z, h0, acc, start, hi, blk):
    """Levels h0 <= h < B of Z, the last pass fused with acc[i] ± = Z[lo_i] (block blk).

    The final radix-R pass runs eight rows at a time and each finished row is added to its
    samples (acc rows start[row]:start[row+1]) while it is still in L1.
    """
    B, k = Z.shape
    h = h0
    while h < B:
        R = 8 if 8 * h <= B else (4 if 4 * h <= B else 2)
        if R * h < B:
            for i in range(0, B, R * h):
                if R == 8:
                    _radix8(Z, i, i + h, h)
                elif R == 4:
                    _radix4(Z, i, i + h, h)
                else:
                    _radix2(Z, i, i + h, h)
            h *= R
            continue
        for j0 in range(0, h, 8):
            j1 = min(h, j0 + 8)
            if R == 8:
                _radix8(Z, j0, j1, h)
            elif R == 4:
                _radix4(Z, j0, j1, h)
            else:
                _radix2(Z, j0, j1, h)
            for t in range(R):
                _gather_rows(Z, j0 + t * h, j1 + t * h, acc, start, hi, blk)
        return
    _gather_rows(Z, 0, B, acc, start, hi, blk)     # no level left (B == h0)


@njit(cache=True, inline="always")
def _gather_rows(Z, r0, r1, acc, start, hi, blk):
    """acc[i] += (−1)^{popcount(hi[i] & blk)} Z[row] for the samples i of rows r0:r1."""
    k = Z.shape[1]
    for row in range(r0, r1):
        zr = Z[row]
        for i in range(start[row], start[row + 1]):
            s = 1.0 - 2.0 * _parity(hi[i] & blk)
            o = acc[i]
            for c in range(k):
                o[c] += s * zr[c]
