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
def _forward(XT, W, a, Z, pred, zero):  # pragma: no cover - compiled
    """Z[h] = relu(W[h] · XT) (rows of hidden activations), pred = Σ_h a_h Z[h].

    ``zero`` is 0 in the arrays' float type (a bare 0 would promote float32 to float64).
    """
    K, P = XT.shape
    H = a.shape[0]
    pred[:] = 0
    for h in range(H):
        zh = Z[h]
        w0 = W[h, 0]
        for n in range(P):
            zh[n] = w0 * XT[0, n]
        for k in range(1, K):
            wk = W[h, k]
            for n in range(P):
                zh[n] += wk * XT[k, n]
        ah = a[h]
        for n in range(P):
            v = zh[n]
            v = v if v > 0 else zero
            zh[n] = v
            pred[n] += ah * v


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
    ∂a_h = Σ_n r_n relu(z_nh), ∂W_hk = a_h Σ_n r_n x_nk 1[z_nh > 0];
    W −= η ∂W, a −= η ∂a (both gradients at the old weights).
    """
    S, K, P = XtrT.shape
    T = XteT.shape[2]
    H = a.shape[1]
    dt = W.dtype
    Z = np.empty((H, P), dtype=dt)
    pred = np.empty(P, dtype=dt)
    r = np.empty(P, dtype=dt)
    RX = np.empty((K, P), dtype=dt)
    m = np.empty(P, dtype=dt)
    Zte = np.empty((H, T), dtype=dt)
    pte = np.empty(T, dtype=dt)
    zero = np.zeros(1, dtype=dt)[0]
    for s in range(S):
        XT = XtrT[s]
        Ws = W[s]
        as_ = a[s]
        y = ytr[s]
        for step in range(1, n_steps + 1):
            _forward(XT, Ws, as_, Z, pred, zero)
            sse = 0.0
            for n in range(P):
                rn = pred[n] - y[n]
                r[n] = rn
                sse += rn * rn
            for k in range(K):
                for n in range(P):
                    RX[k, n] = r[n] * XT[k, n]
            for h in range(H):
                zh = Z[h]
                g = zero
                for n in range(P):
                    g += r[n] * zh[n]
                    m[n] = 1 if zh[n] > 0 else 0
                ah = as_[h]
                for k in range(K):
                    acc = zero
                    for n in range(P):
                        acc += RX[k, n] * m[n]
                    Ws[h, k] -= eta * (ah * acc)
                as_[h] = ah - eta * g
            j = record[step]
            if j >= 0:
                train_out[s, j] = sse / n_train
                _forward(XteT[s], Ws, as_, Zte, pte, zero)
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
