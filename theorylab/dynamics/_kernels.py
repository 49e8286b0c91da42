"""Numba kernel for full-batch GD of two-layer ReLU students (no validation here).

One call trains every task for every step, so the per-step Python and torch-dispatch cost
of the batched-matmul path (a dozen torch calls per block of tasks and step, which dominates
for narrow students) is gone.  The loops run hidden unit by hidden unit with the samples
innermost: the transposed inputs (N_i × P) stay in the L1 cache and every inner loop is a
contiguous length-P axpy or dot product that LLVM vectorises (``fastmath`` reassoc +
contract; sums are reassociated, so results agree with the torch path to round-off:
~1e-12 relative in float64, float32 round-off propagated along training in float32).
The kernel is generic in the float type: all float arrays must share one dtype.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath={"reassoc", "contract"})
def _forward(XT, W, a, zh, M, pred, zero):  # pragma: no cover - compiled
    """M[h] = 1[W[h] · XT > 0] (uint8 rows), pred = Σ_h a_h relu(W[h] · XT).

    ``zh`` is a buffer of at least 2P numbers.

    ``zero`` is 0 in the arrays' float type (a bare 0 would promote float32 to float64).
    """
    K, P = XT.shape
    H = a.shape[0]
    pred[:] = 0
    zb = zh[P:2 * P]
    zh = zh[:P]
    h = 0
    while h < H:
        # two hidden units per pass share the loads of the inputs (the last one may be alone)
        two = h + 1 < H
        hb = h + 1 if two else h
        wa, wb = W[h, 0], W[hb, 0]
        for n in range(P):
            x = XT[0, n]
            zh[n] = wa * x
            zb[n] = wb * x
        k = 1
        while k + 4 <= K:  # four inputs per pass over the rows: fewer loads/stores per FMA
            a0, a1, a2, a3 = W[h, k], W[h, k + 1], W[h, k + 2], W[h, k + 3]
            b0, b1, b2, b3 = W[hb, k], W[hb, k + 1], W[hb, k + 2], W[hb, k + 3]
            for n in range(P):
                x0, x1, x2, x3 = XT[k, n], XT[k + 1, n], XT[k + 2, n], XT[k + 3, n]
                zh[n] += (a0 * x0 + a1 * x1) + (a2 * x2 + a3 * x3)
                zb[n] += (b0 * x0 + b1 * x1) + (b2 * x2 + b3 * x3)
            k += 4
        while k < K:
            wa, wb = W[h, k], W[hb, k]
            for n in range(P):
                x = XT[k, n]
                zh[n] += wa * x
                zb[n] += wb * x
            k += 1
        ma, ah = M[h], a[h]
        if two:
            mb, bh = M[hb], a[hb]
            for n in range(P):
                v, u = zh[n], zb[n]
                on, onb = v > 0, u > 0
                ma[n] = on
                mb[n] = onb
                pred[n] += ah * (v if on else zero) + bh * (u if onb else zero)
        else:
            for n in range(P):
                v = zh[n]
                on = v > 0
                ma[n] = on
                pred[n] += ah * (v if on else zero)
        h += 2


@njit(cache=True, fastmath={"reassoc", "contract"})
def train_two_layer(XtrT, ytr, XteT, yte, W, a, eta, n_steps, record, n_train, n_test,
                    train_out, test_out):  # pragma: no cover - compiled
    """Full-batch GD of ``S`` independent two-layer ReLU students, in place on ``W``, ``a``.

    XtrT (S, K, P) and XteT (S, K, T): transposed inputs already scaled by 1/√K; ytr (S, P),
    yte (S, T); W (S, H, K), a (S, H); ``eta`` = lr / P.  ``record`` (n_steps + 1,) holds the
    output column of a recorded step, else −1.  At a recorded step ``train_out`` gets 2 L_s
    before the update (mean squared residual) and ``test_out`` the test MSE after it.
    The sample axes may be zero-padded (x = 0, y = 0 gives z = 0, r = 0: no contribution)
    so that their length is a multiple of the SIMD unroll; the means divide by the true
    counts ``n_train`` and ``n_test``.
    Step: z_nh = W_h · x_n, ŷ_n = Σ_h a_h relu(z_nh), r_n = ŷ_n − y_n;
    G_hk = Σ_n r_n x_nk 1[z_nh > 0], ∂W_hk = a_h G_hk and ∂a_h = Σ_n r_n relu(z_nh) = Σ_k W_hk G_hk
    (relu(z) = 1[z > 0] z: only the uint8 masks are kept, 1 byte per activation);
    W −= η ∂W, a −= η ∂a (both gradients at the old weights).
    """
    S, K, P = XtrT.shape
    T = XteT.shape[2]
    H = a.shape[1]
    dt = W.dtype
    zbuf = np.empty(2 * max(P, T), dtype=dt)
    M = np.empty((H, P), dtype=np.uint8)  # ReLU masks 1[z_nh > 0], one row per hidden unit
    Mte = np.empty((H, T), dtype=np.uint8)
    pred = np.empty(P, dtype=dt)
    RX = np.empty((K, P), dtype=dt)
    m = np.empty(P, dtype=dt)
    mb = np.empty(P, dtype=dt)
    G = np.empty((2, K), dtype=dt)
    pte = np.empty(T, dtype=dt)
    zero = np.zeros(1, dtype=dt)[0]
    for s in range(S):
        XT = XtrT[s]
        Ws = W[s]
        as_ = a[s]
        y = ytr[s]
        for step in range(1, n_steps + 1):
            _forward(XT, Ws, as_, zbuf[:2 * P], M, pred, zero)
            sse = 0.0
            for n in range(P):
                rn = pred[n] - y[n]
                pred[n] = rn  # the residual r_n
                sse += rn * rn
            for k in range(K):
                for n in range(P):
                    RX[k, n] = pred[n] * XT[k, n]
            # G_hk = Σ_n r_n x_nk 1[z_nh > 0];  ∂a_h = Σ_n r_n relu(z_nh) = Σ_k W_hk G_hk
            h = 0
            while h < H:
                # two hidden units per pass share the loads of RX (the last one may be alone)
                hb = h + 1 if h + 1 < H else h
                mh, mbh = M[h], M[hb]
                for n in range(P):
                    m[n] = mh[n]
                    mb[n] = mbh[n]
                k = 0
                while k + 4 <= K:  # four dot products per unit and pass over the masks
                    c0 = c1 = c2 = c3 = d0 = d1 = d2 = d3 = zero
                    for n in range(P):
                        mn, mm = m[n], mb[n]
                        x0, x1, x2, x3 = RX[k, n], RX[k + 1, n], RX[k + 2, n], RX[k + 3, n]
                        c0 += x0 * mn
                        c1 += x1 * mn
                        c2 += x2 * mn
                        c3 += x3 * mn
                        d0 += x0 * mm
                        d1 += x1 * mm
                        d2 += x2 * mm
                        d3 += x3 * mm
                    G[0, k], G[0, k + 1], G[0, k + 2], G[0, k + 3] = c0, c1, c2, c3
                    G[1, k], G[1, k + 1], G[1, k + 2], G[1, k + 3] = d0, d1, d2, d3
                    k += 4
                while k < K:
                    c0 = d0 = zero
                    for n in range(P):
                        c0 += RX[k, n] * m[n]
                        d0 += RX[k, n] * mb[n]
                    G[0, k], G[1, k] = c0, d0
                    k += 1
                for i in range(2 if hb > h else 1):
                    hh = h + i
                    ah = as_[hh]
                    g = zero
                    for k in range(K):
                        g += Ws[hh, k] * G[i, k]
                        Ws[hh, k] -= eta * (ah * G[i, k])
                    as_[hh] = ah - eta * g
                h += 2
            j = record[step]
            if j >= 0:
                train_out[s, j] = sse / n_train
                _forward(XteT[s], Ws, as_, zbuf[:2 * T], Mte, pte, zero)
                tot = 0.0
                for n in range(T):
                    e = yte[s, n] - pte[n]
                    tot += e * e
                test_out[s, j] = tot / n_test


def warm_up() -> None:
    """Compile (or load from cache) the kernel for float32 and float64 on tiny inputs."""
    for dt in (np.float32, np.float64):
        X = np.ones((1, 2, 2), dtype=dt)
        y = np.ones((1, 2), dtype=dt)
        out = np.empty((1, 1))
        train_two_layer(X, y, X, y, np.ones((1, 3, 2), dtype=dt), np.ones((1, 3), dtype=dt),
                        dt(0.1), 1, np.array([-1, 0]), 2, 2, out, out.copy())
