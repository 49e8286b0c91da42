"""Optimality certificate of the convex-ReLU program: a feasible point and a dual bound.

Primal (loss l, patterns D_i, signs E_i = 2 D_i - I):

    p* = min l(sum_i D_i X (v_i - w_i)) + beta sum_i (||v_i|| + ||w_i||)
         s.t. E_i X v_i >= 0, E_i X w_i >= 0.

Lagrange dual (multipliers lambda (n,) of yhat = sum_i D_i X (v_i - w_i), alpha_i, gamma_i
>= 0 of the cones):

    p* >= g(lambda) = -sum_k l_k^*(lambda_k)   whenever, for every i,
    ||X^T (D_i lambda - E_i alpha_i)|| <= beta  and  ||X^T (D_i lambda + E_i gamma_i)|| <= beta.

l^* is the convex conjugate: squared 0.5 lambda^2 + lambda y; logistic (lambda = -y s,
s in [0, 1]) s log s + (1 - s) log(1 - s); hinge (lambda = -y s, s in [0, 1]) -s. At the
optimum lambda = grad l(yhat). A candidate lambda from the current iterate is made dual
feasible by choosing the cone multipliers by non-negative least squares (supported on the
rows where the solver's cone duals are active) and scaling lambda by t <= beta / max_i
||X^T (D_i lambda -+ E_i alpha_i)||; t is then chosen to maximise g(t lambda). Every
feasible primal point bounds p* from above, so (P - g) / g bounds the relative
suboptimality of the feasible point.

A feasible primal point is obtained from an infeasible iterate by moving every violating
group into its polyhedral cone {v : E_i X v >= 0} with a least-norm correction of the
violated rows (``project_to_cones``).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize_scalar, nnls

from ._common import convex_objective

__all__ = ["project_to_cones", "dual_bound", "loss_gradient", "polish", "certify_point"]


def _restore_column(X, e, v, max_rounds=10):
    """A point of {v : e o (X v) >= 0} near v (the zero vector when none is found).

    Least-norm correction: with J the violated rows, v + A_J w with A_J^T A_J w = -a_J
    (A_J = X_J^T E_J) sets those rows to zero and moves the others by the size of the
    violation; repeated while new rows become violated. Rows within round-off
    (1e-13 of the largest |a_k|) count as satisfied.
    """
    a = e * (X @ v)
    scale = float(np.abs(a).max(initial=0.0))
    if scale == 0.0 or a.min() >= 0.0:
        return v
    J = np.flatnonzero(a < 0.0)
    for _ in range(max_rounds):
        A = X[J] * e[J][:, None]  # (|J|, d): rows e_k x_k^T
        w, *_ = np.linalg.lstsq(A @ A.T, -(A @ v), rcond=None)
        p = v + A.T @ w
        ap = e * (X @ p)
        if ap.min() >= -1e-13 * scale:
            return p
        J = np.union1d(J, np.flatnonzero(ap < -1e-13 * scale))
        if J.size >= X.shape[1]:
            break
    return np.zeros_like(v)


def project_to_cones(X, D, V):
    """Move every column v_i of V (d, P) into its cone {v : (2 D_i - I) X v >= 0}.

    A least-norm correction of the violated rows (``_restore_column``), not the exact
    Euclidean projection: for the near-feasible iterates it is given, it moves the point
    by O(violation), which is all the certificate needs (any feasible point bounds p*
    from above)."""
    E = 2.0 * D - 1.0
    out = V.copy()
    for i in range(V.shape[1]):
        if np.any(V[:, i]):
            out[:, i] = _restore_column(X, E[:, i], V[:, i])
    return out


def loss_gradient(yhat, y, loss):
    """grad l(yhat) (squared: yhat - y; logistic: -y sigmoid(-y yhat); hinge: a
    subgradient -y 1[y yhat < 1])."""
    if loss == "squared":
        return yhat - y
    if loss == "logistic":
        return -y * 0.5 * (1.0 - np.tanh(0.5 * y * yhat))
    return -y * (y * yhat < 1.0)


def _dual_value(lam, y, loss):
    if loss == "squared":
        return -0.5 * float(lam @ lam) - float(lam @ y)
    s = -y * lam
    if np.any(s < -1e-15) or np.any(s > 1.0 + 1e-15):
        return -np.inf
    s = np.clip(s, 0.0, 1.0)
    if loss == "hinge":
        return float(np.sum(s))
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = np.where(s > 0, s * np.log(s), 0.0) + np.where(s < 1, (1 - s) * np.log1p(-s), 0.0)
    return -float(np.sum(ent))


def _group_dual_norms(X, D, lam, support, beta):
    """Upper bounds on min_{alpha >= 0} ||X^T (D_i lam -+ E_i alpha)|| for the 2P groups.

    ``support`` (n, 2P) bool: rows allowed in alpha (the solver's active cone duals)."""
    n, P = D.shape
    E = 2.0 * D - 1.0
    B = X.T @ (D * lam[:, None])  # (d, P): X^T D_i lam
    out = np.empty(2 * P)
    for j in range(2 * P):
        i = j % P
        b = B[:, i] if j < P else -B[:, i]
        nb = float(np.linalg.norm(b))
        J = np.flatnonzero(support[:, j])
        if J.size == 0 or nb <= beta:  # alpha = 0 already meets the constraint
            out[j] = nb
            continue
        A = X[J].T * E[J, i]  # (d, |J|)
        _, res = nnls(A, b, maxiter=50 * max(J.size, 10))
        out[j] = min(nb, float(res))
    return out


def dual_bound(X, y, D, lam, beta, loss, support=None):
    """A lower bound on p* from a candidate dual point ``lam`` (n,) (see module docstring).

    Returns (bound, t): the dual value at t * lam with t the best feasible scaling."""
    n, P = D.shape
    if support is None:
        support = np.ones((n, 2 * P), bool)
    c = _group_dual_norms(X, D, lam, support, beta)
    cmax = float(c.max()) if c.size else 0.0
    t_max = np.inf if cmax == 0.0 else beta / cmax
    if loss == "squared":
        ll = float(lam @ lam)
        t = 0.0 if ll == 0.0 else min(max(-float(lam @ y) / ll, 0.0), t_max)
        return _dual_value(t * lam, y, loss), t
    s_max = float(np.max(-y * lam, initial=0.0))
    if s_max > 0:
        t_max = min(t_max, 1.0 / s_max)
    if not np.isfinite(t_max):
        t_max = 1.0
    opt = minimize_scalar(lambda t: -_dual_value(t * lam, y, loss), bounds=(0.0, t_max),
                          method="bounded", options={"xatol": 1e-10 * max(t_max, 1e-300)})
    cands = [(_dual_value(t * lam, y, loss), t) for t in (0.0, t_max, float(opt.x))]
    return max(cands)


def _binding_rows(X, D, VW, nu):
    """Cone rows taken as binding for each non-zero group: those with a non-zero cone dual
    ``nu`` (n, 2P) (<= 0) in the solver, largest |nu| first, then rows with
    |E_i X v_j| <= 1e-6 max |E_i X v_j| (binding with a zero multiplier), at most d - 1 per
    group (more would force the group to zero)."""
    d = X.shape[1]
    E2 = np.concatenate([2.0 * D - 1.0] * 2, axis=1)
    A = E2 * (X @ VW)
    out = np.zeros(nu.shape, bool)
    for j in np.flatnonzero(np.any(VW != 0.0, axis=0)):
        a = np.abs(A[:, j])
        J = np.flatnonzero(nu[:, j] < 0.0)
        J = J[np.argsort(nu[J, j])[:d - 1]]  # the most negative duals
        near = np.setdiff1d(np.flatnonzero(a <= 1e-6 * a.max()), J)
        J = np.r_[J, near[np.argsort(a[near])][:d - 1 - J.size]].astype(int)
        out[J, j] = True
    return out


def _certify_candidate(X, y, D, C, lam, support_active, beta, loss):
    """Project a candidate (d, 2P) onto the cones; its objective, dual bound and gap."""
    P_ = D.shape[1]
    Vf, Wf = project_to_cones(X, D, C[:, :P_]), project_to_cones(X, D, C[:, P_:])
    P_obj = convex_objective(X, y, D, Vf, Wf, beta, loss)
    VWf = np.concatenate([Vf, Wf], axis=1)
    if lam is None:
        yhat = np.einsum("np,np->n", D, X @ (Vf - Wf))
        lam = loss_gradient(yhat, y, loss)
    E2 = np.concatenate([2.0 * D - 1.0] * 2, axis=1)
    A = E2 * (X @ VWf)
    scale = max(float(np.abs(A).max(initial=0.0)), 1e-300)
    support = support_active | ((A <= 1e-9 * scale) & np.any(VWf != 0.0, axis=0))
    g, _ = dual_bound(X, y, D, lam, beta, loss, support)
    gap = P_obj - g
    rel = gap / abs(g) if g != 0 else (0.0 if gap <= 0 else np.inf)
    return Vf, Wf, P_obj, g, rel


def certify_point(X, y, D, VW, nu, beta, loss, lam=None, tol=None):
    """Certificate of an approximate solution ``VW`` (d, 2P) = [V | W].

    ``nu`` (n, 2P) <= 0: the solver's (scaled) cone duals (zeros when unknown). The point
    is polished on its active set and projected onto the cones; a dual point lambda
    (``lam``, or grad l at the returned point) gives a lower bound g <= p*. When the
    polished point is certified to ``tol`` it is returned; otherwise the projected ``VW``
    is certified too and the point with the lower objective is returned (with its own
    bound). Returns (V, W, P, g, (P - g) / |g|) with (V, W) feasible and P their objective.
    """
    active = nu < 0.0
    pol = polish(X, y, D, VW, _binding_rows(X, D, VW, nu), beta, loss)
    best = None
    if pol is not None:
        best = _certify_candidate(X, y, D, pol, lam, active, beta, loss)
        if tol is not None and best[4] <= tol:
            return best
    raw = _certify_candidate(X, y, D, VW, lam, active, beta, loss)
    if best is None or raw[2] < best[2]:
        best = raw
    return best


def _loss_hessian_diag(yhat, y, loss):
    if loss == "squared":
        return np.ones_like(yhat)
    sig = 0.5 * (1.0 - np.tanh(0.5 * y * yhat))  # sigmoid(-y yhat)
    return sig * (1.0 - sig)


def _restricted_groups(X, D, VW, active_rows, cache=None):
    """(group index j, null-space basis N_j, block s_j D_i X N_j) of the non-zero groups.

    ``cache`` (dict, optional): entries keyed by (j, binding rows), reused across the
    active-set steps of one polish (only the groups whose rows changed are recomputed)."""
    n, P = D.shape
    d = X.shape[1]
    E = 2.0 * D - 1.0
    out = []
    for j in np.flatnonzero(np.any(VW != 0.0, axis=0)):
        i, s = (j, 1.0) if j < P else (j - P, -1.0)
        J = np.flatnonzero(active_rows[:, j])
        key = (int(j), J.tobytes())
        if cache is not None and key in cache:
            if cache[key] is not None:
                out.append(cache[key])
            continue
        if J.size:
            A = X[J] * E[J, i][:, None]  # (|J|, d) binding rows
            _, sv, Vt = np.linalg.svd(A, full_matrices=True)
            r = int(np.sum(sv > 1e-10 * max(sv[0], 1e-300)))
            N = Vt[r:].T
        else:
            N = np.eye(d)
        entry = (j, N, s * (D[:, i][:, None] * (X @ N))) if N.shape[1] else None
        if entry is not None:
            out.append(entry)
        if cache is not None:
            cache[key] = entry
    return out


def _newton_group_lasso(B, offs, z, y, beta, loss, max_newton):
    """Damped Newton on l(B z) + beta sum_g ||z_g|| (groups by ``offs``), all z_g != 0.

    Returns (z, dropped): ``dropped`` is the index of a group whose norm collapsed (the
    smooth restricted problem does not exist with it; the caller removes it), else None.
    """
    from ._common import loss_value

    G = len(offs) - 1

    def norms_of(z):
        return np.array([np.linalg.norm(z[offs[g]:offs[g + 1]]) for g in range(G)])

    def fval(z):
        return loss_value(B @ z, y, loss) + beta * float(np.sum(norms_of(z)))

    f = fval(z)
    BtB = B.T @ B if loss == "squared" else None  # constant Hessian of the squared loss
    for _ in range(max_newton):
        yhat = B @ z
        norms = norms_of(z)
        tiny = norms <= 1e-9 * max(norms.max(), 1e-300)
        if np.any(tiny):
            return z, int(np.argmax(tiny))
        grad = B.T @ loss_gradient(yhat, y, loss)
        H = BtB.copy() if BtB is not None else (
            (B * _loss_hessian_diag(yhat, y, loss)[:, None]).T @ B)
        for g in range(G):
            sl = slice(offs[g], offs[g + 1])
            u = z[sl] / norms[g]
            grad[sl] += beta * u
            H[sl, sl] += (beta / norms[g]) * (np.eye(len(u)) - np.outer(u, u))
        try:  # H is SPD when every group is non-zero: Cholesky, ~3x cheaper than LU
            step = cho_solve(cho_factor(H, lower=True, overwrite_a=True, check_finite=False),
                             grad, check_finite=False)
        except np.linalg.LinAlgError:
            try:
                step = np.linalg.solve(H, grad)
            except np.linalg.LinAlgError:
                return z, int(np.argmin(norms))
        dec = float(grad @ step)  # Newton decrement^2: about 2 (f - f*) near the optimum
        if not np.isfinite(dec) or dec <= 1e-15 * max(abs(f), 1e-300):
            break
        a = 1.0
        while a > 1e-10:
            zn = z - a * step
            fn = fval(zn)
            if fn <= f - 0.25 * a * dec:
                break
            a *= 0.5
        else:
            break
        z, f = zn, fn
        if a == 1.0 and dec <= 1e-9 * max(abs(f), 1e-300):
            break  # quadratic convergence: the next decrement would be ~1e-18 |f|
    return z, None


def _newton_on_groups(X, y, D, VW, active_rows, beta, loss, max_newton, max_drops,
                      cache=None):
    """Newton on the restricted problem of one active set (see ``polish``); None when no
    group is left."""
    groups = _restricted_groups(X, D, VW, active_rows, cache)
    zs = [N.T @ VW[:, j] for j, N, _ in groups]
    for _ in range(max_drops + 1):
        if not groups:
            return None
        offs = np.r_[0, np.cumsum([N.shape[1] for _, N, _ in groups])]
        B = np.concatenate([blk for _, _, blk in groups], axis=1)  # (n, m)
        z, dropped = _newton_group_lasso(B, offs, np.concatenate(zs), y, beta, loss,
                                         max_newton)
        zs = [z[offs[g]:offs[g + 1]] for g in range(len(groups))]
        if dropped is None:
            break
        del groups[dropped], zs[dropped]
    else:
        return None
    out = np.zeros_like(VW)
    for (j, N, _), zg in zip(groups, zs, strict=True):
        out[:, j] = N @ zg
    return out


def _update_active_rows(X, y, D, VW, active_rows, beta, loss):
    """One active-set step at the restricted optimum ``VW``: release the binding rows
    whose multiplier is negative, bind the rows the point violates.

    At the optimum of the restricted problem the gradient of a non-zero group,
    g_j = s_j X^T D_i grad l(yhat) + beta v_j / ||v_j||, lies in the span of its binding
    rows a_k = (2 D_i - I)_k x_k: g_j = sum_k w_k a_k (least squares). The program's KKT
    conditions need w_k >= 0; a row with w_k < 0 is held at zero by the restriction
    only, so releasing it lowers the objective (an ADMM cone dual that has not yet
    decayed to zero marks such rows). Returns the new row set, or None if unchanged.
    """
    n, P = D.shape
    d = X.shape[1]
    E = 2.0 * D - 1.0
    yhat = np.einsum("np,np->n", D, X @ (VW[:, :P] - VW[:, P:]))
    lam = loss_gradient(yhat, y, loss)
    XtDl = X.T @ (D * lam[:, None])  # (d, P)
    A = np.concatenate([E, E], axis=1) * (X @ VW)
    new = active_rows.copy()
    for j in np.flatnonzero(np.any(VW != 0.0, axis=0)):
        i, s = (j, 1.0) if j < P else (j - P, -1.0)
        v = VW[:, j]
        a = A[:, j]
        scale = max(float(np.abs(a).max()), 1e-300)
        J = np.flatnonzero(active_rows[:, j])
        if J.size:
            g = s * XtDl[:, i] + beta * v / np.linalg.norm(v)
            R = X[J] * E[J, i][:, None]  # (|J|, d)
            w, *_ = np.linalg.lstsq(R.T, g, rcond=None)
            wscale = max(float(np.abs(w).max()), 1e-300)
            new[J[w < -1e-8 * wscale], j] = False
        viol = np.flatnonzero(a < -1e-9 * scale)
        room = d - 1 - int(np.count_nonzero(new[:, j]))
        if viol.size and room > 0:
            new[viol[np.argsort(a[viol])][:room], j] = True
    return None if np.array_equal(new, active_rows) else new


def polish(X, y, D, VW, active_rows, beta, loss, max_newton=40, max_drops=10,
           max_updates=3):
    """Solve the program restricted to an identified active set by Newton's method.

    ``VW`` (d, 2P): an approximate solution (columns v_1..v_P, w_1..w_P); its non-zero
    columns are the active groups; ``active_rows`` (n, 2P) bool marks the cone rows taken
    as binding (E_i X v_j = 0). With v_j = N_j z_j (N_j an orthonormal basis of the null
    space of the binding rows) the restricted program is the smooth problem
    min_z l(sum_j s_j D_j X N_j z_j) + beta sum_j ||z_j|| (every active group non-zero),
    solved by damped Newton; a group whose norm collapses is removed and Newton restarted
    (at most ``max_drops`` times). Then up to ``max_updates`` active-set steps
    (``_update_active_rows``: release rows with a negative multiplier, bind violated
    rows), each followed by a warm-started Newton solve. Returns the polished VW, or None
    (no group left); the caller restores feasibility and certifies the result, so a wrong
    active set costs accuracy, never correctness. Squared and logistic losses only (hinge
    is not smooth).
    """
    if loss == "hinge":
        return None
    cache: dict = {}
    out = _newton_on_groups(X, y, D, VW, active_rows, beta, loss, max_newton, max_drops,
                            cache)
    for _ in range(max_updates):
        if out is None:
            return None
        rows = _update_active_rows(X, y, D, out, active_rows, beta, loss)
        if rows is None:
            break
        nxt = _newton_on_groups(X, y, D, out, rows, beta, loss, max_newton, max_drops, cache)
        if nxt is None:
            break
        out, active_rows = nxt, rows
    return out
