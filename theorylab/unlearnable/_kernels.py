"""numba kernels of the CUDA construction (no validation, no randomness: arrays in, arrays out).

:func:`convolve_normalise` is the fused form of ``cuda._convolve`` followed by
``cuda._normalise``: per image, the zero-padded cross-correlation with its own filter, the
division by the image's maximum and the 8-bit quantisation, in one pass and without the
padded copy and the per-tap temporaries of the NumPy version. It performs the same float64
operations in the same order (taps accumulated row by row of the filter, starting from 0;
a tap that falls on the zero padding would add exactly 0 and is skipped), so its output is
bitwise equal to the NumPy path (tested).
"""

import numpy as np
from numba import njit


@njit(cache=True)
def convolve_normalise(X4, F, quantize, out):
    """``out[i] = normalise(X4[i] ⋆ F[i])``; ``X4``, ``out``: ``(n, C, H, W)`` float64,
    ``F``: ``(n, k, k)`` float64, ``k`` odd."""
    n, C, H, W = X4.shape
    k = F.shape[1]
    p = k // 2
    for i in range(n):
        m = -np.inf
        for c in range(C):
            for h in range(H):
                for w in range(W):
                    acc = 0.0
                    for a in range(k):
                        hh = h + a - p
                        if hh < 0 or hh >= H:
                            continue
                        for b in range(k):
                            ww = w + b - p
                            if ww < 0 or ww >= W:
                                continue
                            acc += F[i, a, b] * X4[i, c, hh, ww]
                    out[i, c, h, w] = acc
                    if acc > m:
                        m = acc
        if not m > 0:  # an all-black image stays black
            m = 1.0
        for c in range(C):
            for h in range(H):
                for w in range(W):
                    v = out[i, c, h, w] / m
                    if quantize:
                        v = v * 255.0
                        if v < 0.0:
                            v = 0.0
                        elif v > 255.0:
                            v = 255.0
                        v = np.floor(v) / 255.0
                    out[i, c, h, w] = v
