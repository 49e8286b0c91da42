"""Sketch operators S ∈ R^{m×n} sharing one interface.

Every operator is drawn once (:func:`draw_sketch`) and then applied with
:meth:`SketchOperator.apply` to a vector or to the columns of a matrix; sketch-and-solve
applies it to the stacked matrix [A | b], so A and b always see the *same* S.

Paper symbols ↔ names: n ↔ ``n_rows``, m ↔ ``sketch_size``, s (OSNAP) ↔ ``nnz_per_col``,
N′ = 2^⌈log₂ n⌉ ↔ ``n_pad``, s (Gaussian pooling block) ↔ ``block_size``.

References: Song, Ye, Yin & Zhang, arXiv:2302.00248 (SRHT); Song & Zhang 2026 follow-up
note (Gaussian-pooled transform, Gaussian-diagonal counterexample; arXiv id not identified).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.fft import dct

from theorylab._validation import check_array, check_int, check_rng
from theorylab.results import ReadOnlyDict, ResultRepr
from theorylab.sketch import _kernels

__all__ = [
    "SKETCHES",
    "SketchKind",
    "SketchOperator",
    "draw_sketch",
    "fwht",
    "max_sketch_size",
    "next_pow2",
]

SketchKind = Literal["srht", "srdct", "gaussian", "countsketch", "osnap", "gaussian_pooled",
                     "srht_gaussian_diag"]
SKETCHES: tuple[str, ...] = ("srht", "srdct", "gaussian", "countsketch", "osnap",
                             "gaussian_pooled", "srht_gaussian_diag")
# Gaussian sketches are generated and applied in blocks of rows of at most this many entries
_GAUSS_BLOCK_ENTRIES = 1 << 22


def next_pow2(n: int) -> int:
    """Smallest power of two >= n (n >= 1)."""
    n = check_int(n, name="n", minimum=1)
    return 1 << max(0, int(n - 1).bit_length())


def fwht(X, *, normalize: bool = False, inplace: bool = False) -> np.ndarray:
    """Fast Walsh–Hadamard transform along axis 0 (over the columns of a matrix).

    Parameters
    ----------
    X : array_like, shape (N,) or (N, k)
        N must be a power of two.
    normalize : bool
        Divide by √N, making the transform orthonormal (and an involution).
    inplace : bool
        Transform ``X`` itself; it must then be a C-contiguous float64 ndarray.

    Returns
    -------
    ndarray
        ``H_N @ X`` (``/ √N`` when ``normalize``) with ``H_N`` the Sylvester–Hadamard
        matrix, as built by :func:`scipy.linalg.hadamard`.

    Raises
    ------
    ValueError
        If N is not a power of two, or ``X`` is not finite.
    TypeError
        If ``inplace`` and ``X`` is not a C-contiguous float64 ndarray.

    Notes
    -----
    O(N k log N) additions in a numba kernel: the first levels run block by block in
    cache, the rest two levels per pass.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.linalg import hadamard
    >>> X = np.arange(8.0).reshape(4, 2)
    >>> bool(np.allclose(fwht(X), hadamard(4) @ X))
    True
    """
    if inplace:
        if not (isinstance(X, np.ndarray) and X.dtype == np.float64
                and X.flags.c_contiguous and X.flags.writeable):
            raise TypeError("X must be a writeable C-contiguous float64 ndarray when inplace=True")
        arr = X
    else:
        arr = check_array(X, name="X", copy=True, min_shape=(1, 1))
    if arr.ndim not in (1, 2):
        raise ValueError(f"X must be 1- or 2-dimensional, got shape {arr.shape}")
    N = arr.shape[0]
    if N < 1 or N & (N - 1):
        raise ValueError(f"X must have a power-of-two number of rows, got {N}")
    if inplace and not np.all(np.isfinite(arr)):
        raise ValueError("X must be finite")
    _kernels.fwht_inplace(arr.reshape(N, -1))
    if normalize:
        arr *= 1.0 / np.sqrt(N)
    return arr


def max_sketch_size(kind: str, n: int, *, nnz_per_col: int = 4) -> int | None:
    """Largest allowed m for ``kind`` on n rows (``None``: no upper limit)."""
    n = check_int(n, name="n", minimum=1)
    if kind == "srht":
        return next_pow2(n)          # rows sampled without replacement from N′
    if kind == "srdct":
        return n
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class SketchOperator(ResultRepr):
    """A drawn sketch S ∈ R^{m×n}; see :func:`draw_sketch` for the families.

    Attributes
    ----------
    kind : str
        Sketch family.
    n_rows : int
        n, the number of rows of the matrices it sketches.
    sketch_size : int
        m, the number of rows it produces.
    params : dict
        The random draws and constants defining S (read them, do not change them).
    """

    kind: str
    n_rows: int
    sketch_size: int
    params: dict

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", ReadOnlyDict(self.params))

    def apply(self, M) -> np.ndarray:
        """S @ M for M of shape (n,) or (n, k); returns shape (m,) or (m, k)."""
        X = check_array(M, name="M")
        if X.ndim not in (1, 2) or X.shape[0] != self.n_rows:
            raise ValueError(f"M must have shape ({self.n_rows},) or ({self.n_rows}, k), "
                             f"got {X.shape}")
        vec = X.ndim == 1
        X2 = X.reshape(self.n_rows, -1)
        out = self._apply_blocks(X2)
        return out[:, 0] if vec else out

    def apply_pair(self, A, b) -> tuple[np.ndarray, np.ndarray]:
        """(S A, S b) with one and the same S, via one pass over [A | b]."""
        A = check_array(A, name="A", ndim=2)
        b = check_array(b, name="b", ndim=1)
        if A.shape[0] != self.n_rows or b.shape[0] != self.n_rows:
            raise ValueError(f"A and b must have {self.n_rows} rows, got {A.shape} and {b.shape}")
        SM = self._apply_blocks(A, b[:, None])
        return SM[:, :-1], SM[:, -1]

    def _apply_blocks(self, *blocks) -> np.ndarray:
        """S @ [blocks...] for validated (n, k_i) blocks, without forming the stack twice.

        The Hadamard-based sketches write the signed, zero-padded stack straight into the
        FWHT buffer; the others stack once.
        """
        if self.kind in ("srht", "srht_gaussian_diag"):
            p = self.params
            diag = p["gamma"] if self.kind == "srht_gaussian_diag" else p["signs"]
            scale = (1.0 / np.sqrt(self.sketch_size))   # SRHT: √(N′/m)·(1/√N′); diag: m^{-1/2}
            return _signed_sampled_fwht(blocks, diag, p["n_pad"], p["rows"]) * scale
        if self.kind == "gaussian_pooled":
            p = self.params
            diag = p["gamma"] if self.kind == "srht_gaussian_diag" else p["signs"]
            N = p["n_pad"] if "n_pad" in p else self.sketch_size * p["block_size"]
            return _HADAMARD_TAIL[self.kind](self, _pad_signed_blocks(blocks, N, diag))
        return _APPLY[self.kind](self, np.ascontiguousarray(np.hstack(blocks)))

    def to_dense(self) -> np.ndarray:
        """The explicit m × n matrix (for tests and small n)."""
        return self.apply(np.eye(self.n_rows))


def _pad_signed_blocks(blocks, n_pad, diag):
    """[diag · B_1 | diag · B_2 | ...] zero-padded to n_pad rows, in one new buffer."""
    n = blocks[0].shape[0]
    k = sum(B.shape[1] for B in blocks)
    Y = np.empty((n_pad, k))
    Y[n:] = 0.0
    c = 0
    for B in blocks:
        np.multiply(B, diag[:, None], out=Y[:n, c:c + B.shape[1]])
        c += B.shape[1]
    return Y


def _pad_signed(X, n_pad, diag):
    return _pad_signed_blocks((X,), n_pad, diag)


def _sampled_fwht(Y, rows):
    """Rows ``rows`` of H Y; skips the last L levels when few rows are wanted."""
    # each skipped level saves half a pass over Y but doubles the per-row gather work
    L = _skip_levels(Y.shape[0], rows.shape[0])
    if L == 0:
        _kernels.fwht_inplace(Y)
        return Y[rows]
    out = np.empty((rows.shape[0], Y.shape[1]))
    _kernels.fwht_rows(Y, L, rows, out)
    return out


def _skip_levels(N, m):
    """Last levels to skip (formed only for the m sampled rows): m·2^L <= N/8, L <= 6."""
    L = 0
    while L < 6 and (1 << (L + 1)) <= N and m * (1 << (L + 1)) * 8 <= N:
        L += 1
    return L


# fused sampled SRHT: in-cache block of at most this many bytes (B rows × panel columns)
_FUSED_BYTES = 5 << 19
_FUSED_MAX_BLOCK = 4096


def _fused_plan(N, m, k):
    """(log₂B, panel width) for the fused kernel, or None when the two-pass path is cheaper.

    The fused kernel costs about log₂B + m/B additions per entry of the stack; B ≈ m keeps
    both small, capped so that a B × panel block (and the m × panel output) stay in L2.
    """
    B = 8
    while B < m and B < _FUSED_MAX_BLOCK:
        B *= 2
    B = min(B, N)
    if m > 4 * B:              # the gather would dominate: full levels + gather are cheaper
        return None
    width = max(8, _FUSED_BYTES // (8 * B))
    return B.bit_length() - 1, min(k, width)


def _signed_sampled_fwht(blocks, diag, N, rows):
    """Rows ``rows`` of H_N · pad(diag · [X1 | X2]) for one or two (n, k_i) blocks."""
    X1 = np.ascontiguousarray(blocks[0])
    X2 = np.ascontiguousarray(blocks[1]) if len(blocks) > 1 else np.empty((X1.shape[0], 0))
    if len(blocks) > 2:
        X2 = np.ascontiguousarray(np.hstack(blocks[1:]))
    k = X1.shape[1] + X2.shape[1]
    m = rows.shape[0]
    plan = _fused_plan(N, m, k)
    if plan is not None:
        logB, width = plan
        rows64 = np.ascontiguousarray(rows, dtype=np.int64)
        if width >= k:
            out = np.empty((m, k))
            _kernels.srht_sample_fused(X1, X2, diag, rows64, N, logB, out)
            return out
        k1 = X1.shape[1]
        panels = []
        for c0 in range(0, k, width):     # column panels of the stack (views, no copies)
            c1 = min(k, c0 + width)
            P1 = X1[:, min(c0, k1):min(c1, k1)]
            P2 = X2[:, max(c0, k1) - k1:max(c1, k1) - k1]
            part = np.empty((m, c1 - c0))
            _kernels.srht_sample_fused(P1, P2, diag, rows64, N, logB, part)
            panels.append(part)
        return np.hstack(panels)
    L = _skip_levels(N, m)
    Y = np.empty((N, k))
    _kernels.signed_fwht_levels(X1, X2, diag, Y, N >> L)
    if L == 0:
        return Y[rows]
    out = np.empty((m, k))
    _kernels.gather_last_levels(Y, L, rows, out)
    return out


def _srht_tail(op, Y):
    # √(N′/m) · (1/√N′)
    return _sampled_fwht(Y, op.params["rows"]) * np.sqrt(1.0 / op.sketch_size)


def _apply_srht(op, X):
    return _srht_tail(op, _pad_signed(X, op.params["n_pad"], op.params["signs"]))


def _apply_srdct(op, X):
    p = op.params
    Y = dct(X * p["signs"][:, None], type=2, norm="ortho", axis=0, workers=1,
            overwrite_x=True)
    return Y[p["rows"]] * np.sqrt(op.n_rows / op.sketch_size)


def _apply_gaussian(op, X):
    m, n = op.sketch_size, op.n_rows
    g = np.random.default_rng(op.params["seed"])
    rows_per_block = max(1, _GAUSS_BLOCK_ENTRIES // n)
    out = np.empty((m, X.shape[1]))
    scale = 1.0 / np.sqrt(m)
    for start in range(0, m, rows_per_block):
        stop = min(m, start + rows_per_block)
        G = g.standard_normal((stop - start, n))
        out[start:stop] = (G @ X) * scale
    return out


def _apply_countsketch(op, X):
    p = op.params
    out = np.zeros((op.sketch_size, X.shape[1]))
    _kernels.countsketch_apply(X, p["rows"], p["signs"], out)
    return out


def _apply_osnap(op, X):
    p = op.params
    out = np.zeros((op.sketch_size, X.shape[1]))
    _kernels.osnap_apply(X, p["rows"], p["signs"], 1.0 / np.sqrt(p["rows"].shape[1]), out)
    return out


def _apply_gaussian_pooled(op, X):
    p = op.params
    return _pooled_tail(op, _pad_signed(X, op.sketch_size * p["block_size"], p["signs"]))


def _pooled_tail(op, Y):
    p = op.params
    m, s = op.sketch_size, p["block_size"]
    _kernels.fwht_inplace(Y)
    Y = Y[p["perm"]]
    Y *= (p["gamma"] / np.sqrt(m * s))[:, None]
    return Y.reshape(m, s, -1).sum(axis=1)


def _apply_srht_gaussian_diag(op, X):
    return _gdiag_tail(op, _pad_signed(X, op.params["n_pad"], op.params["gamma"]))


def _gdiag_tail(op, Y):
    return _sampled_fwht(Y, op.params["rows"]) * (1.0 / np.sqrt(op.sketch_size))


_HADAMARD_TAIL = {"srht": _srht_tail, "gaussian_pooled": _pooled_tail,
                  "srht_gaussian_diag": _gdiag_tail}

_APPLY = {"srht": _apply_srht, "srdct": _apply_srdct, "gaussian": _apply_gaussian,
          "countsketch": _apply_countsketch, "osnap": _apply_osnap,
          "gaussian_pooled": _apply_gaussian_pooled,
          "srht_gaussian_diag": _apply_srht_gaussian_diag}


def _distinct_rows(rng, n, m, s):
    """(n, s) row indices in [0, m), distinct within each column of S (rejection)."""
    rows = rng.integers(0, m, size=(n, s))
    if s == 1:
        return rows
    while True:
        srt = np.sort(rows, axis=1)
        bad = np.any(srt[:, 1:] == srt[:, :-1], axis=1)
        if not bad.any():
            return rows
        rows[bad] = rng.integers(0, m, size=(int(bad.sum()), s))


def draw_sketch(kind: SketchKind, n_rows: int, sketch_size: int, *, nnz_per_col: int = 4,
                block_size: int | None = None, rng=None) -> SketchOperator:
    """Draw a sketch S ∈ R^{m×n} of the given family.

    Parameters
    ----------
    kind : {"srht", "srdct", "gaussian", "countsketch", "osnap", "gaussian_pooled", \
"srht_gaussian_diag"}
        - ``"srht"``: S = √(N′/m)·P·(H/√N′)·D_σ·J — zero-pad to N′ = 2^⌈log₂ n⌉, Rademacher
          signs, orthonormal Hadamard, m rows sampled uniformly *without* replacement.
        - ``"srdct"``: the same with the orthonormal DCT-II (no padding).
        - ``"gaussian"``: i.i.d. N(0, 1/m) entries (generated in row blocks on every apply).
        - ``"countsketch"``: one ±1 per column of S in a uniform row.
        - ``"osnap"``: ``nnz_per_col`` entries ±1/√s per column, in distinct uniform rows.
        - ``"gaussian_pooled"``: S = B·D_γ·Π·F_N·D_σ·J (follow-up, Def. 4.1); m is rounded up
          to a power of two, N = m·s, Π a uniform permutation, D_γ i.i.d. N(0, 1), B sums
          consecutive blocks of s rows.
        - ``"srht_gaussian_diag"``: S = m^{-1/2}·P·H·D_γ·J with unnormalised H, Gaussian
          diagonal, rows sampled *with* replacement (the follow-up's failing variant).
    n_rows : int
        n.
    sketch_size : int
        m (>= 1; at most N′ for ``"srht"`` and n for ``"srdct"``).
    nnz_per_col : int
        s for ``"osnap"`` (1 <= s <= m).
    block_size : int, optional
        Pooling block s for ``"gaussian_pooled"`` (a power of two with m·s >= n). Default:
        the *practical* choice, the smallest power of two >= ⌈n/m⌉ — not the theory's
        s ∝ d²Λ², whose constants the note leaves open.
    rng : Generator, int or None

    Returns
    -------
    SketchOperator

    Raises
    ------
    ValueError
        Unknown kind, m < 1, m above the family's maximum, bad ``nnz_per_col`` or
        ``block_size``.

    Examples
    --------
    >>> import numpy as np
    >>> S = draw_sketch("srht", 100, 20, rng=0)
    >>> S.apply(np.ones((100, 3))).shape
    (20, 3)
    """
    if kind not in SKETCHES:
        raise ValueError(f"sketch must be one of {SKETCHES}, got {kind!r}")
    n = check_int(n_rows, name="n_rows", minimum=1)
    m = check_int(sketch_size, name="sketch_size", minimum=1)
    mmax = max_sketch_size(kind, n)
    if mmax is not None and m > mmax:
        raise ValueError(f"sketch_size must be <= {mmax} for sketch={kind!r} with n={n} "
                         f"(rows are sampled without replacement), got {m}")
    rng = check_rng(rng)
    params: dict = {}
    if kind in ("srht", "srht_gaussian_diag"):
        n_pad = next_pow2(n)
        params["n_pad"] = n_pad
        if kind == "srht":
            params["signs"] = rng.choice([-1.0, 1.0], size=n)
            params["rows"] = np.sort(rng.choice(n_pad, size=m, replace=False))
        else:
            params["gamma"] = rng.standard_normal(n)
            params["rows"] = rng.integers(0, n_pad, size=m)
    elif kind == "srdct":
        params["signs"] = rng.choice([-1.0, 1.0], size=n)
        params["rows"] = np.sort(rng.choice(n, size=m, replace=False))
    elif kind == "gaussian":
        params["seed"] = int(rng.integers(0, 2**63 - 1))
    elif kind == "countsketch":
        params["rows"] = rng.integers(0, m, size=n)
        params["signs"] = rng.choice([-1.0, 1.0], size=n)
    elif kind == "osnap":
        s = check_int(nnz_per_col, name="nnz_per_col", minimum=1, maximum=m)
        params["rows"] = _distinct_rows(rng, n, m, s)
        params["signs"] = rng.choice([-1.0, 1.0], size=(n, s))
    else:  # gaussian_pooled
        m = next_pow2(m)
        s_min = next_pow2(-(-n // m))
        if block_size is None:
            s = s_min
        else:
            s = check_int(block_size, name="block_size", minimum=1)
            if s & (s - 1) or s * m < n:
                raise ValueError(f"block_size must be a power of two with m*block_size >= n "
                                 f"(>= {s_min} here), got {s}")
        N = m * s
        params.update(block_size=s, signs=rng.choice([-1.0, 1.0], size=n),
                      perm=rng.permutation(N), gamma=rng.standard_normal(N))
    return SketchOperator(kind=kind, n_rows=n, sketch_size=m, params=params)
