"""Fast linear algebra of the convex-ReLU ADMM: the reduced u-update and the proxes.

Most of the work per iteration is dense matrix products (BLAS) and one symmetric
matrix-vector product with the stored inverse of the reduced system (``ReducedSolver``).
The element-wise passes are ``@njit(cache=True)`` kernels, each with a NumPy twin used when
numba's JIT is disabled (and by the tests): ``rhs_update`` and ``consensus_update`` over the
(d, 2P) arrays, ``slack_dual_update`` / ``slack_dual_check`` over the n x 2P cone arrays,
``fit_pass`` for the objective and cone violation of a check, and ``fused_step``, which
chains them with the BLAS products between two u-solves. ``_reference.py`` holds the dense
transcription (the full 2dP x 2dP system A) that the tests compare against.

Layout: X (n, d); patterns D (n, P) as float 0/1; E = 2D - 1; convex variables
V, W (d, P) (column i is v_i / w_i); slacks S, T (n, P).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.blas import dsymv
from scipy.linalg.lapack import dpotrf, dpotri


def F_apply(X: np.ndarray, D: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """sum_i D_i X q_i for Q (d, P): shape (n,)."""
    return np.einsum("np,np->n", D, X @ Q)


def Ft_apply(X: np.ndarray, D: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Blocks (D_i X)^T t stacked as columns: shape (d, P)."""
    return X.T @ (D * t[:, None])


def group_soft_threshold(Z: np.ndarray, tau: float) -> np.ndarray:
    """Column-wise prox of tau * sum_i ||z_i||_2: (1 - tau/||z_i||)_+ z_i."""
    if tau <= 0.0:
        return Z.copy()
    norms = np.sqrt(np.einsum("dp,dp->p", Z, Z))
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(norms > tau, 1.0 - tau / np.where(norms > 0, norms, 1.0), 0.0)
    return Z * shrink


def prox_loss(a: np.ndarray, y: np.ndarray, rho: float, loss: str) -> np.ndarray:
    """argmin_r  l(r, y) + (rho/2) ||r - a||^2 for a separable loss (labels y in {-1, 1})."""
    if loss == "squared":
        return (y + rho * a) / (1.0 + rho)
    if loss == "hinge":  # l = sum (1 - y r)_+ ; work in t = y r
        m = y * a
        t = np.where(m >= 1.0, m, np.where(m <= 1.0 - 1.0 / rho, m + 1.0 / rho, 1.0))
        return y * t
    if loss == "logistic":  # l = sum log(1 + exp(-y r)); Newton in t = y r, 1-D convex
        m = y * a
        t = m.copy()
        for _ in range(50):
            sig = 0.5 * (1.0 - np.tanh(0.5 * t))  # sigmoid(-t)
            g = -sig + rho * (t - m)
            h = sig * (1.0 - sig) + rho
            step = g / h
            t -= step
            if np.max(np.abs(step)) < 1e-13 * (1.0 + np.max(np.abs(t))):
                break
        return y * t
    raise ValueError(f"loss must be one of 'squared', 'logistic', 'hinge', got {loss!r}")


class ReducedSolver:
    """Solve A u = b for A = I_2P (x) M + kappa F^T F, M = I + X^T X / c^2.

    With p = u + z, q = u - z the system splits into M p_i = (b_u + b_z)_i and
    (I_P (x) M + 2 kappa F~^T F~) q = b_u - b_z with F~ = [D_1 X ... D_P X]. The q-system
    is solved by a dP x dP Cholesky when that is cheaper per iteration (see ``method``),
    else by Woodbury through the n x n
    matrix S = I/(2 kappa) + K o (D D^T), K = X M^-1 X^T. Changing kappa only needs a new
    Cholesky of the small system, and none for a kappa among the last ``cache_size``.
    """

    def __init__(self, X: np.ndarray, D: np.ndarray, cone_scale: float, kappa: float,
                 method: str = "auto", cache_size: int = 4) -> None:
        n, d = X.shape
        P = D.shape[1]
        self.X, self.D = X, D
        self.n, self.d, self.P = n, d, P
        M = np.eye(d) + (X.T @ X) / cone_scale**2
        self.Minv = np.linalg.inv(M)
        self.Minv = 0.5 * (self.Minv + self.Minv.T)
        if method == "auto":
            # per iteration the direct route costs one (dP)^2 symv, Woodbury an n^2 symv
            # plus four n x d x P products; the dP x dP matrices are capped at 2000^2
            dP = d * P
            method = ("direct" if dP <= n or (dP <= 2000 and dP * dP <= n * n + 4 * n * dP)
                      else "woodbury")
        self.method = method
        if method == "woodbury":
            self.K = X @ self.Minv @ X.T
            self.KDD = self.K * (D @ D.T)
        else:
            Ft = (D[:, None, :] * X[:, :, None]).reshape(n, d * P, order="F")
            self.FtF = Ft.T @ Ft  # block (i, j) = X^T D_i D_j X, variable order (i, k)
            self.BM = np.kron(np.eye(P), M)
        self._cache: dict[float, np.ndarray] = {}
        self.cache_size = cache_size
        self.set_kappa(kappa)

    def set_kappa(self, kappa: float) -> None:
        # The SPD matrix is factorised once per kappa and its inverse formed from the
        # Cholesky factor (LAPACK potrf + potri, lower triangle only): one symmetric
        # matrix-vector product per iteration (BLAS-2 symv, which reads only that triangle:
        # at n ~ 600 it runs ~2.5x faster than gemv, ~6x faster than two triangular solves),
        # and S is well conditioned (eigenvalues >= 1/(2 kappa)). Residual balancing only
        # doubles / halves rho, so kappa values recur: the last ``cache_size`` inverses are
        # kept and reused (bit-identical to a fresh factorisation).
        self.kappa = kappa
        key = float(kappa)
        if key in self._cache:
            self.Sinv = self._cache.pop(key)
            self._cache[key] = self.Sinv  # most recently used last
            return
        if self.method == "woodbury":
            S = self.KDD.copy()
            S[np.diag_indices_from(S)] += 1.0 / (2.0 * kappa)
        else:
            S = self.BM + 2.0 * kappa * self.FtF
        # S is symmetric, so its C-ordered buffer read as Fortran (S.T) is S: no copy
        chol, info = dpotrf(S.T, lower=1, clean=0, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"u-update matrix not positive definite (potrf {info})")
        Sinv, info = dpotri(chol, lower=1, overwrite_c=1)
        if info != 0:  # pragma: no cover (S is SPD)
            raise np.linalg.LinAlgError(f"u-update matrix is singular (potri {info})")
        self.Sinv = Sinv  # Fortran order; only its lower triangle is valid (and read)
        self._cache[key] = Sinv
        while len(self._cache) > self.cache_size:
            self._cache.pop(next(iter(self._cache)))

    def apply_Sinv(self, r: np.ndarray) -> np.ndarray:
        """S^-1 r for a vector r (symv on the lower triangle of the stored inverse)."""
        return dsymv(1.0, self.Sinv, r, lower=1)

    def solve_q(self, R: np.ndarray) -> np.ndarray:
        """(I_P (x) M + 2 kappa F~^T F~)^-1 applied to R (d, P)."""
        if self.method == "woodbury":
            BR = self.Minv @ R
            t = self.apply_Sinv(F_apply(self.X, self.D, BR))
            return BR - self.Minv @ Ft_apply(self.X, self.D, t)
        r = R.reshape(-1, order="F")
        return self.apply_Sinv(r).reshape(self.d, self.P, order="F")

    def solve(self, Bu: np.ndarray, Bz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p, q = self.solve_pq(Bu + Bz, Bu - Bz)
        return 0.5 * (p + q), 0.5 * (p - q)

    def solve_pq(self, Bs: np.ndarray, Bd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """p = (I_P (x) M)^-1 Bs and q = the q-system's solution for Bd (both (d, P));
        u = (p + q) / 2, z = (p - q) / 2."""
        return self.Minv @ Bs, self.solve_q(Bd)


def _slack_dual_update_numpy(XUZ, E2, W, R, inv_c, relax):
    G = E2 * XUZ * inv_c
    W[...] = (relax * G + (1.0 - relax) * np.maximum(W, 0.0)) + np.minimum(W, 0.0)
    R[...] = E2 * np.abs(W)


def _slack_dual_check_numpy(XUZ, E2, W, R, A, inv_c, relax):
    G = E2 * XUZ * inv_c
    S_old = np.maximum(W, 0.0)
    _slack_dual_update_numpy(XUZ, E2, W, R, inv_c, relax)
    S, N = np.maximum(W, 0.0), np.minimum(W, 0.0)
    m = E2.shape[1]
    A[:, :m] = E2 * (S - S_old)
    A[:, m:] = E2 * N
    return float(np.sum((G - S) ** 2)), float(np.sum(G * G)), float(np.sum(S * S))


def _make_slack_dual_update():
    """One fused pass over the n x 2P cone arrays (numba), NumPy when JIT is disabled.

    State: the slacks s >= 0 and their scaled duals nu <= 0 are complementary (s = (w)_+,
    nu = w - (w)_+ = min(w, 0) for the pre-projection value w), so one array W = w holds
    both: s = max(W, 0), nu = min(W, 0) (bit-identical to storing them; 2/3 of the memory
    traffic). E2 may be int8 (the signs +-1; 1/8 of the traffic of float64).
    ``update(XUZ, E2, W, R, inv_c, relax)``, in place: g = E2 o XUZ / c (= G u);
    W = (relax g + (1 - relax) s) + nu, i.e. s = (g_hat + nu)_+ and nu += g_hat - s with
    the over-relaxed g_hat; R = E2 o (s - nu) = E2 o |W| (the next right-hand side's cone
    term before X^T).
    ``check(XUZ, E2, W, R, A, inv_c, relax)``: the same update, and for the residual check
    also A = [E2 o (s_new - s_old) | E2 o nu_new] (n, 4P, in place: one X^T A product gives
    the cone parts of the dual residual and of its scale); returns (||G u - s||^2,
    ||G u||^2, ||s||^2) at the new s.
    """
    try:
        import numba
    except ImportError:  # pragma: no cover
        return _slack_dual_update_numpy, _slack_dual_check_numpy
    if numba.config.DISABLE_JIT:
        return _slack_dual_update_numpy, _slack_dual_check_numpy

    @numba.njit(cache=True)
    def update(XUZ, E2, W, R, inv_c, relax):  # pragma: no cover (compiled)
        n, m = XUZ.shape
        for i in range(n):
            for j in range(m):
                e = E2[i, j]
                w = W[i, j]
                # max/min are branch-free: the sign pattern is data dependent
                w = (relax * (e * XUZ[i, j] * inv_c) + (1.0 - relax) * max(w, 0.0)) + min(w, 0.0)
                W[i, j] = w
                R[i, j] = e * abs(w)

    @numba.njit(cache=True)
    def check(XUZ, E2, W, R, A, inv_c, relax):  # pragma: no cover (compiled)
        n, m = XUZ.shape
        r2 = 0.0
        g2 = 0.0
        s2 = 0.0
        for i in range(n):
            for j in range(m):
                e = E2[i, j]
                g = e * XUZ[i, j] * inv_c
                w = W[i, j]
                s_old = max(w, 0.0)
                w = (relax * g + (1.0 - relax) * s_old) + min(w, 0.0)
                s = max(w, 0.0)
                nu = min(w, 0.0)
                W[i, j] = w
                R[i, j] = e * abs(w)
                A[i, j] = e * (s - s_old)
                A[i, j + m] = e * nu
                r2 += (g - s) * (g - s)
                g2 += g * g
                s2 += s * s
        return r2, g2, s2

    return update, check


slack_dual_update, slack_dual_check = _make_slack_dual_update()


def _rhs_numpy(XtR, VW, L, kFty, inv_c, Bs, Bd):
    B = kFty + (VW - L) + XtR * inv_c
    P = Bs.shape[1]
    Bs[...] = B[:, :P] + B[:, P:]
    Bd[...] = B[:, :P] - B[:, P:]


def _consensus_numpy(p, q, UZ, VW, L, tau, relax):
    P = p.shape[1]
    UZ[:, :P] = 0.5 * (p + q)
    UZ[:, P:] = 0.5 * (p - q)
    Zc = (relax * UZ + (1.0 - relax) * VW if relax != 1.0 else UZ) + L
    VW[...] = group_soft_threshold(Zc, tau)
    L[...] = Zc - VW


def _make_iteration_kernels():
    """Fused passes over the small (d, 2P) arrays of one ADMM iteration.

    ``rhs(XtR, VW, L, kFty, inv_c, Bs, Bd)``: B = kFty + VW - L + XtR / c (the u-update's
    right-hand side, XtR = X^T R) and its halves' sum Bs = B_u + B_z, difference Bd =
    B_u - B_z (written in place). ``consensus(p, q, UZ, VW, L, tau, relax)``: UZ = [(p + q)
    / 2 | (p - q) / 2]; with the over-relaxed UZh = relax UZ + (1 - relax) VW and Zc = UZh
    + L: VW = group soft-threshold of Zc at tau, L = Zc - VW (= L + UZh - VW), in place.
    NumPy twins when numba's JIT is disabled.
    """
    try:
        import numba
    except ImportError:  # pragma: no cover
        return _rhs_numpy, _consensus_numpy
    if numba.config.DISABLE_JIT:
        return _rhs_numpy, _consensus_numpy

    @numba.njit(cache=True)
    def rhs(XtR, VW, L, kFty, inv_c, Bs, Bd):  # pragma: no cover (compiled)
        d, P = Bs.shape
        for k in range(d):
            for i in range(P):
                bu = kFty[k, i] + (VW[k, i] - L[k, i]) + XtR[k, i] * inv_c
                j = i + P
                bz = kFty[k, j] + (VW[k, j] - L[k, j]) + XtR[k, j] * inv_c
                Bs[k, i] = bu + bz
                Bd[k, i] = bu - bz

    @numba.njit(cache=True)
    def consensus(p, q, UZ, VW, L, tau, relax):  # pragma: no cover (compiled)
        d, P = p.shape
        Zc = np.empty((d, 2 * P))
        for k in range(d):
            for i in range(P):
                UZ[k, i] = 0.5 * (p[k, i] + q[k, i])
                UZ[k, i + P] = 0.5 * (p[k, i] - q[k, i])
        for k in range(d):
            for j in range(2 * P):
                if relax != 1.0:
                    uh = relax * UZ[k, j] + (1.0 - relax) * VW[k, j]
                else:
                    uh = UZ[k, j]
                Zc[k, j] = uh + L[k, j]
        for j in range(2 * P):
            nrm = 0.0
            for k in range(d):
                nrm += Zc[k, j] * Zc[k, j]
            nrm = np.sqrt(nrm)
            shrink = 1.0 - tau / nrm if nrm > tau else 0.0
            if tau <= 0.0:
                shrink = 1.0
            for k in range(d):
                v = Zc[k, j] * shrink
                VW[k, j] = v
                L[k, j] = Zc[k, j] - v

    return rhs, consensus


rhs_update, consensus_update = _make_iteration_kernels()



def _fused_step_numpy(p, q, X, XT, Minv, UZ, VW, L, E2, W, R, XUZ, XtR, kFty, Bs, Bd, tau,
                      inv_c, relax):
    _consensus_numpy(p, q, UZ, VW, L, tau, relax)
    np.matmul(X, UZ, out=XUZ)
    _slack_dual_update_numpy(XUZ, E2, W, R, inv_c, relax)
    np.matmul(XT, R, out=XtR)
    _rhs_numpy(XtR, VW, L, kFty, inv_c, Bs, Bd)
    p[...] = Minv @ Bs


def _make_fused_step():
    """The squared-loss ADMM between two u-solves, in one compiled call.

    ``fused_step(p, q, X, XT, Minv, UZ, VW, L, E2, W, R, XUZ, XtR, kFty, Bs, Bd, tau, inv_c,
    relax)``: consensus / v-update (``consensus_update``), XUZ = X UZ, slack and
    cone-dual pass (``slack_dual_update``), XtR = X^T R, the next right-hand side
    (``rhs_update``) and the next p = M^-1 Bs (written into ``p``); the products are BLAS
    gemm calls from numba. Used on the iterations without a residual check, it removes the
    Python overhead between the steps (NumPy twin when numba's JIT is disabled).
    """
    try:
        import numba
    except ImportError:  # pragma: no cover
        return _fused_step_numpy
    if numba.config.DISABLE_JIT:
        return _fused_step_numpy
    rhs = rhs_update
    consensus = consensus_update
    update = slack_dual_update

    @numba.njit(cache=True)
    def fused_step(p, q, X, XT, Minv, UZ, VW, L, E2, W, R, XUZ, XtR, kFty, Bs, Bd, tau,
                   inv_c, relax):  # pragma: no cover (compiled)
        consensus(p, q, UZ, VW, L, tau, relax)
        np.dot(X, UZ, XUZ)
        update(XUZ, E2, W, R, inv_c, relax)
        np.dot(XT, R, XtR)
        rhs(XtR, VW, L, kFty, inv_c, Bs, Bd)
        np.dot(Minv, Bs, p)

    return fused_step


def _fit_pass_numpy(XVW, D2, E2, fitted):
    fitted[...] = np.einsum("np,np->n", D2, XVW)
    return max(0.0, -float(np.min(E2 * XVW, initial=0.0)))


def _make_check_kernels():
    """Fused pass of a residual check: ``fit_pass(XVW, D2, E2, fitted)``:
    fitted = rowsum(D2 o XVW) (in place), returns the cone violation max(0, -min E2 o XVW).
    NumPy twins when numba's JIT is disabled.
    """
    try:
        import numba
    except ImportError:  # pragma: no cover
        return _fit_pass_numpy
    if numba.config.DISABLE_JIT:
        return _fit_pass_numpy

    @numba.njit(cache=True)
    def fit_pass(XVW, D2, E2, fitted):  # pragma: no cover (compiled)
        n, m = XVW.shape
        low = 0.0
        for i in range(n):
            f = 0.0
            for j in range(m):
                x = XVW[i, j]
                f += D2[i, j] * x
                low = min(low, E2[i, j] * x)
            fitted[i] = f
        return -low

    return fit_pass


fit_pass = _make_check_kernels()


fused_step = _make_fused_step()
