"""ADMM for the sampled convex program of a two-layer ReLU network.

Bai, Gautam & Sojoudi, "Efficient global optimization of two-layer ReLU networks:
quadratic-time algorithms and adversarial training", arXiv:2201.01965, Sec. 3.

Paper symbol <-> argument / internal name

=================  ==========================================================
X, y               ``X`` (n, d; include a ones column for a bias), ``y`` (n,)
beta               ``beta`` (weight decay)
D_i                column i of ``patterns`` (n, P)
v_i, w_i           columns of ``V``, ``W`` (d, P)
u_i, z_i           ADMM copies ``UZ`` of v_i, w_i
s_i, t_i           slacks of the cone constraints: ``max(Wc, 0)`` (n, 2P)
lambda, nu         scaled duals ``L`` (d, 2P) and ``min(Wc, 0)`` (n, 2P)
rho                ``rho`` (penalty; adapted by residual balancing)
F, G               F u = sum_i D_i X (u_i - z_i);  G u = ((2D_i - I) X u_i / c)_i
c                  ``cone_scale`` (theorylab deviation: G -> G/c, see Notes)
=================  ==========================================================

Problem: min_{u,v,s} l(F u, y) + beta ||v||_{2,1} + 1{s >= 0}  s.t. u = v, G u = s.
For a loss other than squared, an extra copy r = F u (dual ``mu``) lets the loss enter
only through its proximal operator (the "inner proximal step").

The solver is split into named steps: ``_admm_options`` (validation), ``_ADMMState``
(arrays, set-up, one iteration, the residual check, the rho update) and ``_certify_state``
(a feasible point and a duality-gap bound, ``_certificate.py``).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .._result import ConvergenceWarning
from .._validation import check_choice, check_int, check_matrix, check_positive, check_rng
from ._certificate import certify_point
from ._common import check_problem, convex_parts, group_norm_sum, loss_value
from ._kernels import (
    checked_step,
    consensus_update,
    fit_pass,
    fused_step,
    prox_loss,
    rhs_update_numpy,
    slack_dual_update,
)
from ._linsolve import ReducedSolver
from ._result import ConvexReLUResult
from .patterns import sample_activation_patterns

__all__ = ["solve_convex_relu_admm", "default_cone_scale"]

_HISTORY_KEYS = ("iteration", "objective", "cone_violation", "primal_residual",
                 "dual_residual", "rho", "time", "gap_bound")


def default_cone_scale(X: np.ndarray) -> float:
    """Default cone-block scale: the root-mean-square row norm c = ||X||_F / sqrt(n), >= 1.

    On z-scored breast-cancer data (d = 31) this gives c = 5.6, inside the range
    (c = 3-10 with rho = 0.03-0.3) that reached a 1e-3 gap fastest (measured).
    """
    X = check_matrix(X, name="X")
    return max(1.0, float(np.linalg.norm(X)) / np.sqrt(X.shape[0]))


@dataclass(frozen=True, slots=True)
class _Options:
    rho: float
    adaptive_rho: bool
    c: float
    relax: float
    tol: float
    max_iter: int
    solve_method: str
    check_every: int
    adapt_every: int


def _admm_options(X, loss, *, rho, adaptive_rho, cone_scale, relaxation, tol, max_iter,
                  solve_method, check_every, adapt_every) -> _Options:
    """Validate the ADMM options and fill in the defaults."""
    if rho is None:
        rho = 0.1 if loss == "squared" else 1.0
    rho = check_positive(rho, name="rho")
    c = default_cone_scale(X) if cone_scale is None else check_positive(cone_scale,
                                                                         name="cone_scale")
    tol = check_positive(tol, name="tol")
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    relax = float(relaxation)
    if not (1.0 <= relax < 2.0):
        raise ValueError(f"relaxation must be in [1, 2), got {relaxation!r}")
    solve_method = check_choice(solve_method, name="solve_method",
                                choices=("auto", "direct", "woodbury"))
    check_every = check_int(check_every, name="check_every", minimum=1)
    adapt_every = check_int(adapt_every, name="adapt_every", minimum=1)
    if not isinstance(adaptive_rho, bool | np.bool_):
        raise TypeError(f"adaptive_rho must be a bool, got {type(adaptive_rho).__name__}")
    return _Options(rho, bool(adaptive_rho), c, relax, tol, max_iter, solve_method,
                    check_every, adapt_every)


class _ADMMState:
    """Arrays of the ADMM and its steps: one iteration, the residual check, the rho update.

    Squared loss: kappa = 1/rho and F^T y enters the right-hand side; on iterations without
    a check the steps between two u-solves run as one compiled call (``fused_step``).
    Other losses: the copy r = F u with scaled dual mu, kappa = 1.
    """

    def __init__(self, X, y, D, beta, loss, opt: _Options):
        n, d = X.shape
        P = D.shape[1]
        self.X, self.y, self.D, self.beta, self.loss = X, y, D, beta, loss
        self.XT = np.ascontiguousarray(X.T)
        self.P, self.rho, self.inv_c, self.relax = P, opt.rho, 1.0 / opt.c, opt.relax
        self.E2 = np.concatenate([2.0 * D - 1.0] * 2, axis=1)  # cone signs for [u_i | z_i]
        self.E2s = self.E2.astype(np.int8)  # the same for the compiled passes, 1/8 traffic
        self.D2 = np.concatenate([D, -D], axis=1)  # F [u | z] = rowsum(D2 * X [u | z])
        self.split = loss != "squared"
        self.kappa = 1.0 if self.split else 1.0 / opt.rho
        self.solver = ReducedSolver(X, D, opt.c, self.kappa, method=opt.solve_method)
        self.Fty = X.T @ (self.D2 * y[:, None])  # F^T y, constant for the squared loss
        self.kFty = self.kappa * self.Fty
        self.UZ = np.zeros((d, 2 * P))
        self.VW = np.zeros((d, 2 * P))
        self.L = np.zeros((d, 2 * P))
        # slacks s >= 0 and scaled cone duals nu <= 0 are complementary: one array Wc with
        # s = max(Wc, 0), nu = min(Wc, 0) (see slack_dual_update)
        self.Wc = np.zeros((n, 2 * P))
        self.R = np.zeros((n, 2 * P))  # E2 o (S - N): the cone term of the next rhs
        self.r = np.zeros(n)
        self.mu = np.zeros(n)
        self.XUZ = np.empty((n, 2 * P))
        self.XVW = np.empty((n, 2 * P))
        self.A4 = np.empty((n, 4 * P))
        self.fitted = np.empty(n)
        self.XtR = np.zeros((d, 2 * P))
        self.Bs = np.empty((d, P))
        self.Bd = np.empty((P, d)).T  # Fortran order: column-major vector = q's rhs
        self.p = None
        if not self.split:
            self.prepare_rhs()

    def prepare_rhs(self) -> None:
        """Right-hand side of the next u-update and p = M^-1 (b_u + b_z) (squared loss)."""
        np.matmul(self.XT, self.R, out=self.XtR)
        # NumPy on the small (d, 2P) arrays: runs once per check (~10 us, against ~200 us
        # per iteration on breast cancer), and a new process loads one compiled kernel less
        rhs_update_numpy(self.XtR, self.VW, self.L, self.kFty, self.inv_c, self.Bs, self.Bd)
        self.p = self.solver.Minv @ self.Bs

    def fast_iteration(self) -> None:
        """One squared-loss iteration without a check: u-solve, then the compiled steps."""
        q = self.solver.solve_q(self.Bd)
        fused_step(self.p, q, self.X, self.XT, self.solver.Minv, self.UZ, self.VW, self.L,
                   self.E2s, self.Wc, self.R, self.XUZ, self.XtR, self.kFty, self.Bs,
                   self.Bd, self.beta / self.rho, self.inv_c, self.relax)

    def iteration(self, check: bool):
        """One iteration step by step; with ``check`` also the numbers the check needs."""
        X, P, relax = self.X, self.P, self.relax
        # (1) u-update: A [u | z] = b; u = (p + q) / 2, z = (p - q) / 2
        if self.split:
            B = (X.T @ (self.D2 * (self.r - self.mu)[:, None]) + (self.VW - self.L)
                 + (X.T @ self.R) * self.inv_c)
            p, q = self.solver.solve_pq(B[:, :P] + B[:, P:], B[:, :P] - B[:, P:])
        else:
            p, q = self.p, self.solver.solve_q(self.Bd)
        VW_old = self.VW.copy() if check else None
        r_old = self.r
        # (2) v-update: group soft-threshold of the over-relaxed u (Boyd et al. 2011,
        # Sec. 3.4.3) plus the scaled dual, and (5) the consensus dual ascent, in place
        # (3) slacks and (5) their duals, fused in one pass (in place: Wc, R); at a check
        # plus the cone parts of the residuals (A4, sums), all in one compiled call
        sums = None
        if check:
            sums = checked_step(p, q, X, self.UZ, self.VW, self.L, self.E2s, self.Wc, self.R,
                                self.A4, self.XUZ, self.beta / self.rho, self.inv_c, relax)
        else:
            consensus_update(p, q, self.UZ, self.VW, self.L, self.beta / self.rho, relax)
            np.matmul(X, self.UZ, out=self.XUZ)
            slack_dual_update(self.XUZ, self.E2s, self.Wc, self.R, self.inv_c, relax)
        # (4) loss copy r = F u through the prox of the loss
        Fu = None
        if self.split:
            Fu = np.einsum("np,np->n", self.D2, self.XUZ)
            Fuh = relax * Fu + (1.0 - relax) * self.r
            self.r = prox_loss(Fuh + self.mu, self.y, self.rho, self.loss)
            self.mu = self.mu + Fuh - self.r
        return (VW_old, r_old, Fu, sums) if check else None

    def advance(self, check: bool):
        """One iteration; at a check, returns (r_pri, r_dual, norm_pri, norm_dual, obj,
        viol) (see ``residual_check``), and the caller then calls ``end_check``."""
        if not check and not self.split:
            self.fast_iteration()
            return None
        out = self.iteration(check)
        return self.residual_check(*out) if check else None

    def end_check(self) -> None:
        """After a check (and a possible rho change): the next right-hand side."""
        if not self.split:
            self.prepare_rhs()

    def residual_check(self, VW_old, r_old, Fu, sums):
        """Residuals (Boyd et al. 2011, Sec. 3.3), their scales, objective and violation."""
        X, P, inv_c, rho = self.X, self.P, self.inv_c, self.rho
        gs2, gu2, st2 = sums
        XtA = X.T @ self.A4  # the two X^T products of the cone parts, as one
        dv = (self.VW - VW_old) + XtA[:, :2 * P] * inv_c
        rp2 = np.sum((self.UZ - self.VW) ** 2) + gs2
        # scale of the dual residual: the largest of the terms of rho A^T (dual); their sum
        # vanishes at the optimum when the loss sits in the r-block
        GtN = XtA[:, 2 * P:] * inv_c
        dparts = [np.sum(self.L * self.L), np.sum(GtN * GtN)]
        if self.split:
            dv += X.T @ (self.D2 * (self.r - r_old)[:, None])
            rp2 += np.sum((Fu - self.r) ** 2)
            Ftm = X.T @ (self.D2 * self.mu[:, None])
            dparts.append(np.sum(Ftm * Ftm))
        r_pri = float(np.sqrt(rp2))
        r_dual = float(rho * np.sqrt(np.sum(dv * dv)))
        np.matmul(X, self.VW, out=self.XVW)
        viol = fit_pass(self.XVW, self.D2, self.E2, self.fitted)
        obj = loss_value(self.fitted, self.y, self.loss) + self.beta * group_norm_sum(self.VW)
        norm_pri = max(float(np.sqrt(np.sum(self.UZ * self.UZ) + gu2)),
                       float(np.sqrt(np.sum(self.VW * self.VW) + st2)), 1e-12)
        norm_dual = max(float(rho * np.sqrt(max(dparts))), 1e-12)
        return r_pri, r_dual, norm_pri, norm_dual, obj, viol

    def set_rho(self, new_rho: float) -> None:
        """Change rho, rescale the scaled duals, refactorise (cached) for the squared loss."""
        scale = self.rho / new_rho
        self.L *= scale
        self.Wc += (scale - 1.0) * np.minimum(self.Wc, 0.0)  # nu *= scale, s unchanged
        self.mu *= scale
        self.R = self.E2 * np.abs(self.Wc)  # E2 o (s - nu)
        self.rho = new_rho
        if not self.split:
            self.kappa = 1.0 / new_rho
            self.kFty = self.kappa * self.Fty
            self.solver.set_kappa(self.kappa)

    def loss_dual(self):
        """Candidate multiplier of yhat for the dual bound (None: gradient at the point)."""
        if self.loss != "hinge":
            return None
        lam = self.rho * self.mu  # rho mu is in the subdifferential of the loss at r
        return -self.y * np.clip(-self.y * lam, 0.0, 1.0)


def _certify_state(st: _ADMMState, tol: float | None = None):
    """Feasible (V, W) near the iterate, its objective, a dual lower bound, their gap."""
    return certify_point(st.X, st.y, st.D, st.VW, np.minimum(st.Wc, 0.0), st.beta, st.loss,
                         lam=st.loss_dual(), tol=tol)


def _certificate_cost(st: _ADMMState) -> int:
    """A certificate's cost in ADMM iterations (flop model, deterministic).

    Polishing forms and factorises an m x m Newton matrix (m about d/2 x the non-zero
    groups once the binding rows are removed): n m^2 + m^3 / 3 flops, against about
    6 n d P + (min(n, dP))^2 per iteration; plus the per-group Python work of the
    certificate (restoration, NNLS), about 25 small-problem iterations per group.
    """
    n, d = st.X.shape
    m = (d // 2 + 1) * max(int(np.count_nonzero(np.any(st.VW != 0.0, axis=0))), 1)
    per_it = 6.0 * n * d * st.P + min(n, d * st.P) ** 2
    return int((n * m * m + m**3 / 3.0) / per_it) + 50 * st.P


class _SettleMonitor:
    """Has the active set of the ADMM settled? Counts the entries of the cone duals' sign
    pattern (nu < 0) that flip between consecutive checks; settled when, over the last
    ``window`` checks, at most ``fraction`` of the active entries (and at least 1) flipped.
    """

    def __init__(self, st: _ADMMState, window: int = 10, fraction: float = 0.01):
        self.prev = st.Wc < 0.0
        self.flips: list[int] = []
        self.window, self.fraction = window, fraction
        self.flux = np.inf  # flipped entries over the window / active entries

    def update(self, st: _ADMMState) -> bool:
        act = st.Wc < 0.0
        self.flips.append(int(np.count_nonzero(act != self.prev)))
        self.prev = act
        if len(self.flips) > self.window:
            del self.flips[0]
        n_act = max(int(np.count_nonzero(act)), 1)
        self.flux = sum(self.flips) / n_act if len(self.flips) == self.window else np.inf
        return sum(self.flips) <= max(1.0, self.fraction * n_act) and np.isfinite(self.flux)


def solve_convex_relu_admm(
    X,
    y,
    *,
    beta: float,
    patterns=None,
    n_patterns: int | None = None,
    loss: Literal["squared", "logistic", "hinge"] = "squared",
    rho: float | None = None,
    adaptive_rho: bool = True,
    cone_scale: float | None = None,
    relaxation: float = 1.8,
    tol: float = 1e-3,
    max_iter: int = 10_000,
    solve_method: Literal["auto", "direct", "woodbury"] = "auto",
    check_every: int = 10,
    adapt_every: int = 50,
    rng=None,
) -> ConvexReLUResult:
    r"""Globally optimal two-layer ReLU training by ADMM on the convex program.

    Solves

    .. math::
        \min_{v_i, w_i} \ell\Big(\sum_i D_i X (v_i - w_i), y\Big)
            + \beta \sum_i (\|v_i\|_2 + \|w_i\|_2)
        \quad \text{s.t. } (2D_i - I) X v_i \ge 0,\ (2D_i - I) X w_i \ge 0

    and stops only with a certificate: a feasible point whose objective is within a
    relative ``tol`` of a Lagrange-dual lower bound.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs (append a ones column for a bias).
    y : array_like, shape (n,)
        Targets; labels in {-1, +1} for ``loss="logistic"`` or ``"hinge"``.
    beta : float
        Weight decay, > 0.
    patterns : array_like of bool, shape (n, P), optional
        Activation patterns; when omitted, ``n_patterns`` are sampled with ``rng``.
    n_patterns : int, optional
        Number of Gaussian directions to sample when ``patterns`` is None.
    loss : {"squared", "logistic", "hinge"}
        ``0.5 ||yhat - y||^2`` (a sum), ``sum log(1 + exp(-y yhat))`` or
        ``sum (1 - y yhat)_+``.
    rho : float, optional
        Initial penalty (default 0.1 for squared loss, 1.0 otherwise).
    adaptive_rho : bool
        Residual balancing (Boyd et al. 2011, Sec. 3.4.1): double / halve rho when the
        primal residual is 10x larger / smaller than the dual one (at most every
        ``adapt_every`` iterations, never after 60% of ``max_iter``); one small Cholesky
        per change (none when returning to one of the last four values).
    cone_scale : float, optional
        c in G -> G / c (default :func:`default_cone_scale`); c = 1 is the paper's ADMM.
    relaxation : float
        Over-relaxation factor in [1, 2) (1 = plain ADMM); 1.6-1.9 cut the iterations to
        a given gap by about 1.5-1.8x on breast cancer (measured).
    tol : float
        Certified relative suboptimality: ``converged=True`` means the returned (feasible)
        point has (objective - p*) / p* <= (objective - dual bound) / dual bound <= tol.
    max_iter : int
        Iteration cap.
    solve_method : {"auto", "direct", "woodbury"}
        u-update: dP x dP Cholesky ("direct") or Woodbury through an n x n Cholesky;
        "auto" takes the cheaper per iteration ((dP)^2 vs n^2 + 4ndP, dP <= 2000).
    check_every : int
        Residuals, objective and histories are evaluated every ``check_every`` iterations.
    adapt_every : int
        Minimum number of iterations between two changes of rho.
    rng : numpy.random.Generator, int or None
        Used only to sample patterns.

    Returns
    -------
    ConvexReLUResult
        The feasible point (V, W) (projected onto the cones), its ``objective``,
        ``cone_violation`` (round-off only), ``dual_bound`` and ``gap_bound`` (the
        certified relative suboptimality), histories per check, ``relu_weights()`` and
        ``predict(X)``.

    Raises
    ------
    ValueError
        Bad shapes, NaN, beta <= 0, patterns not (n, P) 0/1, unknown loss.
    FloatingPointError
        If an iterate becomes NaN/inf (names the iteration).

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` is reached before the certified tolerance (``converged=False``).

    Notes
    -----
    Iteration k (scaled duals): (1) u = A^{-1} b with A = I + kappa F^T F + G^T G, kappa =
    1/rho (squared loss) or 1 (loss through its prox); (2) v = group soft-threshold of
    u + lambda at beta/rho; (3) s = (G u + nu)_+; (4) [r = prox_{l/rho}(F u + mu)];
    (5) dual ascent. Because (2D_i - I)^2 = I, G^T G = I_2P (x) X^T X / c^2 and A is
    constant for fixed rho: it is factorised once. With p = u + z, q = u - z the solve
    reduces to one d x d inverse and either a dP x dP system or (Woodbury) the n x n
    S = I/(2 kappa) + (X M^-1 X^T) o (D D^T), Cholesky-factorised once per rho and applied
    as an explicit inverse (one symv per iteration; the inverses of the last few rho values
    are cached), so one iteration costs O(n d P + d^2 P + min(n, dP)^2) (quadratic).
    On the iterations without a residual check (squared loss), everything between two
    u-solves runs as one compiled numba call with BLAS products.

    Stopping: when the active set has settled (the sign pattern of the cone duals changed
    in <= 1 % of its active entries over the last 10 checks), or the Boyd-style relative
    residuals fall below a threshold (first 10 tol, capped at 1e-2) while < 3 % changed,
    the iterate is certified (``_certificate.py``): the active set it identifies (non-zero
    groups, cone rows with a non-zero cone dual) defines a smooth restricted problem solved
    by Newton's method ("polishing", squared and logistic losses), refined by active-set
    steps (rows with a negative multiplier released, violated rows bound), the result is
    projected onto the cones, and lambda = grad l(yhat), made dual feasible by non-negative
    least squares and scaling, gives a lower bound g <= p*. The run stops when
    (objective - g) / g <= tol; after a failed attempt the residual threshold drops by 10x
    and the settled rule waits longer. The residuals alone do not bound the
    suboptimality: on a two-moons set (beta = 1) the residual rule at 1e-3 stopped
    1-1.5 % below p* at an infeasible point.
    Scaling the cone block by 1/c is a theorylab deviation: it equals a separate penalty
    rho/c^2 on G u = s and leaves the optimum unchanged.

    References
    ----------
    Y. Bai, T. Gautam, S. Sojoudi, arXiv:2201.01965 (SIMODS 2023).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.c_[rng.standard_normal((40, 2)), np.ones(40)]
    >>> y = np.sin(X[:, 0]) + 0.1 * rng.standard_normal(40)
    >>> res = solve_convex_relu_admm(X, y, beta=0.1, n_patterns=10, rng=0, tol=1e-6,
    ...                              max_iter=20000)
    >>> bool(res.converged) and res.gap_bound <= 1e-6 and res.cone_violation < 1e-9
    True
    >>> bool(np.allclose(res.predict(X), res.fitted, atol=1e-8))
    True
    """
    X, y, beta, loss, D = check_problem(X, y, beta, loss, patterns=patterns)
    if D is None:
        if n_patterns is None:
            raise ValueError("n_patterns must be given when patterns is None, got None")
        D = sample_activation_patterns(X, n_patterns, rng=check_rng(rng)).astype(np.float64)
    opt = _admm_options(X, loss, rho=rho, adaptive_rho=adaptive_rho, cone_scale=cone_scale,
                        relaxation=relaxation, tol=tol, max_iter=max_iter,
                        solve_method=solve_method, check_every=check_every,
                        adapt_every=adapt_every)
    t0 = time.perf_counter()
    st = _ADMMState(X, y, D, beta, loss, opt)
    rows: dict[str, list] = {key: [] for key in _HISTORY_KEYS}
    converged = False
    cert = None
    # a certificate is attempted when the residuals reach eps_res (10x lower after each
    # failure), and in any case once 2 certificate costs of iterations have passed since
    # the last attempt
    eps_res = min(10.0 * opt.tol, 1e-2)
    cert_cost = _certificate_cost(st)
    next_cert = 2 * cert_cost
    # ... and when the active set has settled: the sign pattern of the cone duals changed
    # in at most 1 % of its active entries over the last 10 checks (the polish's
    # active-set steps fix the rest); such attempts are a certificate cost of iterations
    # apart at least (doubling from the second failure on: a tol below the certificate's
    # floor costs little), and a quarter of one after an attempt by the other rules
    settle = _SettleMonitor(st)
    last_cert = last_settled = n_settled = 0
    settle_wait = cert_cost
    last_adapt, adapt_until = 0, int(0.6 * opt.max_iter)
    k = 0
    for k in range(1, opt.max_iter + 1):
        check = k % opt.check_every == 0 or k == opt.max_iter
        out = st.advance(check)
        if out is None:
            continue
        r_pri, r_dual, norm_pri, norm_dual, obj, viol = out
        if not (np.isfinite(obj) and np.isfinite(r_pri) and np.isfinite(r_dual)):
            raise FloatingPointError(f"ADMM iterate became NaN/inf at iteration {k}")
        elapsed = time.perf_counter() - t0  # before any certificate: histories time the ADMM
        gap_bound = np.nan
        settled = (settle.update(st) and k - last_settled >= settle_wait
                   and k - last_cert >= cert_cost // 4)
        # the residual rule waits while the active set is still in flux (> 3 % of its
        # entries flipped over the window): a certificate cannot succeed before (measured)
        residual_met = (r_pri <= eps_res * norm_pri and r_dual <= eps_res * norm_dual
                        and settle.flux <= 0.03)
        if residual_met or settled or k >= next_cert:
            cert = _certify_state(st, opt.tol)
            gap_bound = cert[4]
            converged = bool(gap_bound <= opt.tol)
            if residual_met:
                eps_res *= 0.1
            cert_cost = _certificate_cost(st)
            # attempts by the other rules do not delay the settled rule (the active set may
            # settle right after them)
            if settled:
                n_settled += 1
                last_settled = k
                settle_wait = cert_cost * (2 ** (n_settled - 1))
            next_cert = k + 2 * cert_cost
            last_cert = k
        for key, val in zip(rows, (k, obj, viol, r_pri, r_dual, st.rho, elapsed, gap_bound),
                            strict=True):
            rows[key].append(val)
        if converged:
            break
        if opt.adaptive_rho and k - last_adapt >= opt.adapt_every and k <= adapt_until:
            ratio = r_pri / max(r_dual, 1e-300)
            if ratio > 10.0 or ratio < 0.1:
                st.set_rho(float(np.clip(st.rho * (2.0 if ratio > 1 else 0.5), 1e-6, 1e6)))
                last_adapt = k
        st.end_check()
    if not converged:
        cert = _certify_state(st, opt.tol)  # the feasible point and its bound at max_iter
        converged = bool(cert[4] <= opt.tol)
    return _admm_result(st, cert, k, converged, rows, opt, t0)


def _admm_result(st: _ADMMState, cert, n_iter, converged, rows, opt, t0):
    """The result at the certified feasible point (warns when not converged)."""
    V, W, objective, dual, gap = cert
    fitted, viol = convex_parts(st.X, st.D, V, W)
    history = {key: np.asarray(val, dtype=float) for key, val in rows.items()}
    if converged:
        message = (f"converged in {n_iter} iterations: certified relative suboptimality "
                   f"{gap:.2e} <= tol={opt.tol:g}")
    else:
        message = (f"ADMM did not converge in max_iter={opt.max_iter} iterations: certified "
                   f"relative suboptimality {gap:.3e} > tol={opt.tol:g}; objective "
                   f"{objective:.6g}, dual bound {dual:.6g}")
        warnings.warn(message, ConvergenceWarning, stacklevel=3)
    return ConvexReLUResult(
        x=np.concatenate([V, W], axis=1), n_iter=n_iter, converged=converged,
        message=message, history=history, V=V, W=W, patterns=st.D.astype(bool),
        objective=objective, cone_violation=viol, fitted=fitted, beta=st.beta, loss=st.loss,
        rho=st.rho, solve_time=time.perf_counter() - t0, dual_bound=dual, gap_bound=gap,
        method="admm",
    )
