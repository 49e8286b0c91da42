"""Robust self-supervised (RSS) training of a linear classifier, with ERM baselines.

Saberi et al. (2024), arXiv:2310.00027, Sec. 3 (the RSS estimator):

    theta_RSS = argmin_theta (1/m) sum_i phi_gamma(X_i, y_i; theta)
                             + (lambda/n) sum_j phi_gamma'(X'_j, h_theta(X'_j); theta),

with the pseudo-label h_theta(x') = sign(theta.x') (self-training) and phi_gamma the
Wasserstein-robust surrogate (closed form for linear models, see ``surrogate.py``). The model is
``h(x; theta) = theta.x`` with ``||theta|| = 1`` and the margin loss L(r * margin) of slope r
(the paper's gamma_r). The unlabeled margin is |theta.x'|, so the objective is non-convex even
for a linear model: it is minimised by Riemannian gradient descent on the unit sphere with an
Armijo line search, started from the ERM (mean-difference) direction and from the top principal
component of the unlabeled data (sign fixed by the labeled data), keeping the lower objective.

Baselines through the same function: ``method="robust_erm"`` (lambda = 0) and ``method="erm"``
(lambda = 0, gamma = inf: the plain loss). Hyperparameters given as sequences are chosen by
stratified K-fold cross-validation on the labeled data only (never on test data); the winner is
refitted on all labeled data.

Paper symbol <-> argument: X, y (S_0) <-> ``X``, ``y``; X' (S_1) <-> ``X_unlabeled``;
gamma, gamma' <-> ``gamma``, ``gamma_u``; lambda <-> ``lam``; gamma_r <-> ``ramp_slope``;
theta <-> ``w``.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._result import ConvergenceWarning, SolverResult
from .._validation import check_choice, check_int, check_matrix, check_rng, check_scalar
from ._kernels import ramp_trial_kernel, unlabeled_trial_kernel
from .surrogate import _CODES, LOSSES, _surrogate, check_gamma, check_labels

__all__ = ["RSSResult", "solve_rss", "solve_erm", "solve_robust_erm", "rss_objective"]

Method = Literal["rss", "robust_erm", "erm"]
Init = Literal["best", "erm", "pca"]
CVScore = Literal["accuracy", "margin"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RSSResult(SolverResult):
    """Result of :func:`solve_rss`.

    Attributes
    ----------
    x : ndarray, shape (d,)
        The unit-norm linear classifier; predict with ``sign(X @ x)``. ``w`` is a read-only
        alias.
    objective : float
        Final value of the training objective.
    method : str
        ``"rss"``, ``"robust_erm"`` or ``"erm"``.
    hyperparameters : dict
        The chosen ``gamma``, ``gamma_u``, ``lam`` and the fixed ``loss``, ``ramp_slope``.
    cv_grid : tuple of dict
        The candidate hyperparameters (empty when nothing was selected).
    cv_scores : ndarray
        Mean held-out score of each candidate (higher is better).
    init : str
        Which start won (``"erm"``, ``"pca"`` or ``"given"``).
    history : dict
        ``objective`` and ``step`` (norm of the update) per iteration of the final fit.
    """

    objective: float = float("nan")
    method: str = "rss"
    hyperparameters: dict = field(default_factory=dict)
    cv_grid: tuple = ()
    cv_scores: np.ndarray = field(default_factory=lambda: np.empty(0))
    init: str = ""

    @property
    def w(self) -> np.ndarray:
        """The linear classifier: the same array as ``x``."""
        return self.x

    def decision_function(self, X) -> np.ndarray:
        """Scores ``X @ w``."""
        X = check_matrix(X, name="X", shape=(None, self.w.shape[0]))
        return X @ self.w

    def predict(self, X) -> np.ndarray:
        """Labels in {-1, +1} (ties go to +1)."""
        return np.where(self.decision_function(X) >= 0, 1.0, -1.0)


class _Problem:
    """Objective and gradient on the sphere for fixed data and hyperparameters."""

    def __init__(self, X, y, Xu, *, gamma, gamma_u, lam, loss, r):
        self.X, self.y, self.Xu = X, y, Xu
        self.gamma, self.gamma_u, self.lam, self.loss, self.r = gamma, gamma_u, lam, loss, r
        self.use_u = Xu is not None and Xu.shape[0] > 0 and lam > 0

    def margins(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Labeled margins y X w and unlabeled scores X' w (one pass over each matrix)."""
        return self.y * (self.X @ w), (self.Xu @ w if self.use_u else None)

    def value(self, marg: tuple[np.ndarray, np.ndarray | None]) -> float:
        ul, uu = marg
        f = float(_surrogate(ul, self.gamma, self.loss, self.r).value.mean())
        if uu is not None:
            f += self.lam * float(
                _surrogate(np.abs(uu), self.gamma_u, self.loss, self.r).value.mean())
        return f

    def grad(self, marg: tuple[np.ndarray, np.ndarray | None]) -> np.ndarray:
        ul, uu = marg
        lab = _surrogate(ul, self.gamma, self.loss, self.r)
        g = self.X.T @ (lab.grad * self.y) / self.X.shape[0]
        if uu is not None:
            unl = _surrogate(np.abs(uu), self.gamma_u, self.loss, self.r)
            g += self.lam * (self.Xu.T @ (unl.grad * np.sign(uu)) / self.Xu.shape[0])
        return g


def _sphere_descent(prob: _Problem, w0: np.ndarray, *, tol: float, max_iter: int):
    """Riemannian gradient descent on the unit sphere with Armijo backtracking.

    The plain one-problem version: :func:`solve_rss` runs :func:`_sphere_descent_many`, and the
    tests check that the two agree.
    """
    w = w0 / np.linalg.norm(w0)
    marg = prob.margins(w)
    f = prob.value(marg)
    g = prob.grad(marg)
    if not np.isfinite(f):
        raise FloatingPointError("objective is not finite at iteration 0")
    eta = 1.0
    objs, steps = [f], []
    converged, k = False, 0
    for k in range(1, max_iter + 1):
        G = g - (w @ g) * w
        gnorm = float(np.linalg.norm(G))
        if gnorm <= tol:  # iteration k ends at its stationarity test (counted, as below)
            converged = True
            break
        eta = min(eta * 2.0, 1e6)
        accepted = False
        for _ in range(60):
            w_new = w - eta * G
            w_new /= np.linalg.norm(w_new)
            marg_new = prob.margins(w_new)
            f_new = prob.value(marg_new)
            if f_new <= f - 1e-4 * eta * gnorm**2:
                accepted = True
                break
            eta *= 0.5
        if not np.isfinite(f_new):
            raise FloatingPointError(f"objective is not finite at iteration {k}")
        if not accepted:  # no descent along -G: a (nonsmooth) stationary point
            converged = True
            steps.append(0.0)
            objs.append(f)
            break
        step = float(np.linalg.norm(w_new - w))
        w, f = w_new, f_new
        g = prob.grad(marg_new)
        objs.append(f)
        steps.append(step)
        if step <= tol:
            converged = True
            break
    return w, f, k, converged, gnorm, np.asarray(objs), np.asarray(steps)


def _sphere_descent_many(probs: list[_Problem], starts: list[np.ndarray], *, tol: float,
                         max_iter: int, products: str = "float64") -> list[tuple]:
    """:func:`_sphere_descent` for several problems at once, in lockstep.

    The problems may differ in labeled data and hyperparameters but share ``X_unlabeled``:
    each iteration costs two matrix products with ``X_unlabeled`` for all problems together
    (the scores ``X' G`` of the descent directions, and ``X'^T v`` for the gradients) instead
    of one matrix-vector product per line-search trial and problem. A trial point's scores
    are ``(X'w - eta X'G) / ||w - eta G||``, so a trial costs O(n) instead of O(n d). The
    iterates, stopping rules and outputs are those of :func:`_sphere_descent` per problem
    (equal up to rounding; the tests check it).

    ``products="float32"`` computes the two per-iteration products with ``X_unlabeled`` in
    single precision (about twice as fast; everything else stays float64, and the starting
    scores ``X'w_0`` are exact): the scores and gradients then carry relative errors of about
    1e-7, so the iterates agree with the float64 path to about 1e-6, not to rounding.
    """
    K = len(probs)
    Xu = next((p.Xu for p in probs if p.use_u), None)
    if any(p.use_u and p.Xu is not Xu for p in probs):
        raise ValueError("probs must share one X_unlabeled array")
    ju = [j for j in range(K) if probs[j].use_u]
    n = Xu.shape[0] if Xu is not None else 0
    scratch = np.empty(n)
    single = products == "float32" and Xu is not None
    Xp = Xu.astype(np.float32) if single else Xu  # the matrix of the per-iteration products
    pt = Xp.dtype if Xu is not None else np.float64

    def parts(p, ul, base, xg=None, eta=0.0, nrm=1.0):
        """Objective value, labeled surrogate and the unlabeled scores and gradient weights
        at the point with labeled margins ``ul`` and unlabeled scores (base - eta xg)/nrm."""
        lab = _surrogate(ul, p.gamma, p.loss, p.r)
        f = float(lab.value.mean())
        uu = v = None
        if base is not None:
            uu, v = np.empty(n), np.empty(n)
            g_eff = p.gamma_u / p.r**2
            if p.loss == "ramp" and np.isfinite(g_eff):  # branch-free twin, bitwise equal
                tot = ramp_trial_kernel(base, base if xg is None else xg, eta, nrm, p.r,
                                        g_eff, uu, v, scratch)
            else:
                tot = unlabeled_trial_kernel(base, base if xg is None else xg, eta, nrm, p.r,
                                             g_eff, _CODES[p.loss], uu, v)
            f += p.lam * (tot / n)
        return f, lab, uu, v

    def grads(idx, labs, vs):
        """Gradients of the problems ``idx`` (one matrix product with X' for all)."""
        cols = [j for j in idx if vs[j] is not None]
        XuV = None
        if cols:
            XuV = Xp.T @ np.stack([vs[j] for j in cols], axis=1).astype(pt, copy=False)
            XuV = XuV.astype(np.float64, copy=False)
        out = {}
        for j in idx:
            p = probs[j]
            g = p.X.T @ (labs[j].grad * p.y) / p.X.shape[0]
            if vs[j] is not None:
                g += p.lam * (XuV[:, cols.index(j)] / n)
            out[j] = g
        return out

    w = [s / np.linalg.norm(s) for s in starts]
    U = Xu @ np.stack([w[j] for j in ju], axis=1) if ju else None
    ul = [p.y * (p.X @ w[j]) for j, p in enumerate(probs)]
    uu = [np.ascontiguousarray(U[:, ju.index(j)]) if probs[j].use_u else None
          for j in range(K)]
    f, labs, vs = [0.0] * K, [None] * K, [None] * K
    for j in range(K):
        f[j], labs[j], uu[j], vs[j] = parts(probs[j], ul[j], uu[j])
    g = grads(range(K), labs, vs)
    if not all(np.isfinite(f)):
        raise FloatingPointError("objective is not finite at iteration 0")
    eta = [1.0] * K
    objs = [[f[j]] for j in range(K)]
    steps: list[list[float]] = [[] for _ in range(K)]
    gnorm = [float("nan")] * K
    done: dict[int, tuple] = {}

    def finish(j, k, converged):
        done[j] = (w[j], f[j], k, converged, gnorm[j], np.asarray(objs[j]),
                   np.asarray(steps[j]))

    active = list(range(K))
    for k in range(1, max_iter + 1):
        G = {}
        for j in active:
            G[j] = g[j] - (w[j] @ g[j]) * w[j]
            gnorm[j] = float(np.linalg.norm(G[j]))
            if gnorm[j] <= tol:
                finish(j, k, True)
        active = [j for j in active if j not in done]
        if not active:
            break
        cu = [j for j in active if probs[j].use_u]
        XuG = None
        if cu:
            XuG = Xp @ np.stack([G[j] for j in cu], axis=1).astype(pt, copy=False)
            XuG = XuG.T.astype(np.float64, order="C")
        moved = []
        for j in active:
            p = probs[j]
            xg = XuG[cu.index(j)] if p.use_u else None
            eta[j] = min(eta[j] * 2.0, 1e6)
            accepted = False
            for _ in range(60):
                w_new = w[j] - eta[j] * G[j]
                nrm = np.linalg.norm(w_new)
                w_new /= nrm
                ul_new = p.y * (p.X @ w_new)
                f_new, lab_new, uu_new, v_new = parts(p, ul_new, uu[j], xg, eta[j], nrm)
                if f_new <= f[j] - 1e-4 * eta[j] * gnorm[j] ** 2:
                    accepted = True
                    break
                eta[j] *= 0.5
            if not np.isfinite(f_new):
                raise FloatingPointError(f"objective is not finite at iteration {k}")
            if not accepted:  # no descent along -G: a (nonsmooth) stationary point
                steps[j].append(0.0)
                objs[j].append(f[j])
                finish(j, k, True)
                continue
            step = float(np.linalg.norm(w_new - w[j]))
            w[j], f[j], ul[j], uu[j] = w_new, f_new, ul_new, uu_new
            labs[j], vs[j] = lab_new, v_new
            objs[j].append(f[j])
            steps[j].append(step)
            if step <= tol:
                finish(j, k, True)
            else:
                moved.append(j)
        g.update(grads(moved, labs, vs))
        active = moved
    for j in active:  # reached max_iter
        finish(j, max_iter, False)
    return [done[j] for j in range(K)]


def _as_grid(v, name: str, loss: str, r: float, *, kind: str) -> list[float]:
    vals = list(v) if isinstance(v, Sequence | np.ndarray) and not isinstance(v, str) else [v]
    if not vals:
        raise ValueError(f"{name} must be a number or a non-empty sequence, got an empty one")
    if kind == "gamma":
        return [check_gamma(x, name=name, loss=loss, ramp_slope=r) for x in vals]
    return [check_scalar(x, name=name, lower=0.0) for x in vals]


def _top_pc(Xu: np.ndarray) -> np.ndarray:
    C = Xu.T @ Xu
    _, V = np.linalg.eigh(C)
    return V[:, -1].copy()


def _starts(X, y, pc, init, w0):
    md = X.T @ y
    if not np.any(md):
        md = np.ones(X.shape[1])
    out = {}
    if w0 is not None:
        return {"given": w0}
    if init in ("best", "erm"):
        out["erm"] = md / np.linalg.norm(md)
    if init in ("best", "pca") and pc is not None:
        out["pca"] = pc if pc @ md >= 0 else -pc
    if not out:
        out["erm"] = md / np.linalg.norm(md)
    return out


def _fit(X, y, Xu, pc, hp, *, loss, r, init, w0, tol, max_iter, products="float64"):
    return _fit_many([(X, y, hp)], Xu, pc, loss=loss, r=r, init=init, w0=w0, tol=tol,
                     max_iter=max_iter, products=products)[0]


def _fit_many(tasks, Xu, pc, *, loss, r, init, w0, tol, max_iter, products="float64"):
    """Best-start fits of several (X, y, hyperparameters) tasks sharing ``Xu``, in lockstep."""
    probs, starts, owner = [], [], []
    for t, (X, y, hp) in enumerate(tasks):
        prob = _Problem(X, y, Xu, gamma=hp["gamma"], gamma_u=hp["gamma_u"], lam=hp["lam"],
                        loss=loss, r=r)
        for name, start in _starts(X, y, pc if prob.use_u else None, init, w0).items():
            probs.append(prob)
            starts.append(start)
            owner.append((t, name))
    outs = _sphere_descent_many(probs, starts, tol=tol, max_iter=max_iter, products=products)
    best: list = [None] * len(tasks)
    for (t, name), out in zip(owner, outs, strict=True):  # first start wins ties, as before
        if best[t] is None or out[1] < best[t][1][1]:
            best[t] = (name, out)
    return best


def _folds(y: np.ndarray, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    idx = np.empty(0, dtype=int)
    fold_of = np.empty(y.shape[0], dtype=int)
    for c in (-1.0, 1.0):
        ic = np.flatnonzero(y == c)
        ic = ic[rng.permutation(ic.shape[0])]
        fold_of[ic] = (np.arange(ic.shape[0]) + idx.shape[0]) % k
        idx = np.concatenate([idx, ic])
    return [np.flatnonzero(fold_of == j) for j in range(k)]


def solve_rss(X, y, X_unlabeled=None, *, method: Method = "rss",
              gamma: float | Sequence[float] = 1.0,
              gamma_u: float | Sequence[float] | None = None,
              lam: float | Sequence[float] = 1.0, loss: str = "ramp", ramp_slope: float = 1.0,
              init: Init = "best", w0=None, n_folds: int = 3, cv_score: CVScore = "accuracy",
              cv_tol: float = 1e-4, tol: float = 1e-6, max_iter: int = 500,
              products: str = "float64", rng=None) -> RSSResult:
    """Fit the RSS estimator (or the ERM / robust-ERM baseline) for a linear model.

    Parameters
    ----------
    X : array_like, shape (m, d)
        Labeled in-domain samples.
    y : array_like, shape (m,)
        Labels in {-1, +1}.
    X_unlabeled : array_like, shape (n, d), optional
        Unlabeled (possibly shifted) samples; required for ``method="rss"``, ignored otherwise.
    method : {"rss", "robust_erm", "erm"}
        RSS; robust ERM (labeled term only); plain ERM (labeled term, ``gamma = inf``).
    gamma : float or sequence of float
        Multiplier gamma of the labeled robust term (> 0, ``np.inf`` for the plain loss).
    gamma_u : float or sequence of float, optional
        Multiplier gamma' of the unlabeled term (default: equal to ``gamma``, tied in the grid).
    lam : float or sequence of float
        Weight lambda of the unlabeled term (>= 0).
    loss : {"ramp", "hinge", "logistic"}
        Margin loss (the paper's experiments use the ramp).
    ramp_slope : float
        Slope r of the loss in the margin of the unit-norm classifier (> 0).
    init : {"best", "erm", "pca"}
        Start(s) of the non-convex descent; ``"best"`` keeps the lower final objective.
    w0 : array_like, shape (d,), optional
        Explicit start (overrides ``init``).
    n_folds : int
        Folds of the stratified cross-validation on the labeled data used when any
        hyperparameter is a sequence with more than one value (>= 2; reduced to the smaller
        class count when that is lower).
    cv_score : {"accuracy", "margin"}
        Held-out score: accuracy (ties broken by the margin) or the mean margin ``y w.x``
        (for a Gaussian mixture an unbiased estimate of ``w.mu``, which fixes the accuracy).
    cv_tol : float
        Stopping tolerance of the cross-validation fits (selection needs less precision).
    tol : float
        Stop when the Riemannian gradient norm or the step length is <= tol.
    max_iter : int
        Iteration cap of each descent.
    products : {"float64", "float32"}
        Precision of the per-iteration matrix products with ``X_unlabeled`` (the dominant
        cost when n * d is large). ``"float32"`` is about twice as fast there; the rest of the
        descent stays float64 and the solution agrees with ``"float64"`` to about 1e-6.
    rng : numpy.random.Generator, int or None
        Randomness of the fold assignment.

    Returns
    -------
    RSSResult

    Raises
    ------
    ValueError
        On mismatched shapes, labels other than -1/+1, a single class, non-positive gamma,
        negative lambda, fewer than 2 labeled samples of a class when selecting,
        or ``method="rss"`` without unlabeled data.
    FloatingPointError
        If the objective becomes NaN/inf (naming the iteration).

    Warns
    -----
    ConvergenceWarning
        When the final fit stops at ``max_iter`` (the result then has ``converged=False``).

    Notes
    -----
    phi_gamma is the 1-D closed form of ``robust_surrogate``; the gradient uses
    d phi/du = -2 (gamma/r^2) s* r (envelope theorem), so each iteration costs two
    matrix-vector products with X and X_unlabeled.

    References
    ----------
    Saberi et al., "Out-of-domain unlabeled data improves generalization", ICLR 2024,
    arXiv:2310.00027.

    Examples
    --------
    >>> from theorylab.dro import sample_gmm_shift, solve_rss, exact_accuracy
    >>> s = sample_gmm_shift(50, 10, 2000, rng=0)
    >>> res = solve_rss(s.X, s.y, s.X_unlabeled, gamma=1.0, lam=1.0)
    >>> erm = solve_rss(s.X, s.y, method="erm")
    >>> bool(exact_accuracy(res.w, s.mu0) > exact_accuracy(erm.w, s.mu0))
    True
    """
    method = check_choice(method, name="method", choices=("rss", "robust_erm", "erm"))
    X = check_matrix(X, name="X")
    m, d = X.shape
    y = check_labels(y, n=m)
    if np.unique(y).shape[0] < 2:
        raise ValueError("y must contain both classes -1 and +1, got only one")
    loss = check_choice(loss, name="loss", choices=LOSSES)
    r = check_scalar(ramp_slope, name="ramp_slope", lower=0.0, lower_inclusive=False)
    init = check_choice(init, name="init", choices=("best", "erm", "pca"))
    cv_score = check_choice(cv_score, name="cv_score", choices=("accuracy", "margin"))
    tol = check_scalar(tol, name="tol", lower=0.0, lower_inclusive=False)
    cv_tol = check_scalar(cv_tol, name="cv_tol", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    products = check_choice(products, name="products", choices=("float64", "float32"))
    n_folds = check_int(n_folds, name="n_folds", minimum=2)
    if w0 is not None:
        w0 = check_matrix(np.atleast_2d(w0), name="w0", shape=(1, d))[0]
        if not np.any(w0):
            raise ValueError("w0 must be non-zero, got the zero vector")
    Xu = None
    if method == "rss":
        if X_unlabeled is None:
            raise ValueError("X_unlabeled must be given for method='rss', got None")
        Xu = check_matrix(X_unlabeled, name="X_unlabeled", shape=(None, d))
        if Xu.shape[0] == 0:
            raise ValueError("X_unlabeled must have at least one row for method='rss', got 0")
    if method == "erm":
        gammas, gammas_u, lams = [float("inf")], [float("inf")], [0.0]
    else:
        gammas = _as_grid(gamma, "gamma", loss, r, kind="gamma")
        if method == "robust_erm":
            gammas_u, lams = [float("nan")], [0.0]
        else:
            gammas_u = (None if gamma_u is None
                        else _as_grid(gamma_u, "gamma_u", loss, r, kind="gamma"))
            lams = _as_grid(lam, "lam", loss, r, kind="lam")
    if method == "rss" and gammas_u is None:
        grid = [{"gamma": g, "gamma_u": g, "lam": la} for g in gammas for la in lams]
    else:
        grid = [{"gamma": g, "gamma_u": gu, "lam": la}
                for g, gu, la in itertools.product(gammas, gammas_u, lams)]
    pc = _top_pc(Xu) if Xu is not None and init in ("best", "pca") and w0 is None else None
    kw: dict[str, Any] = dict(loss=loss, r=r, init=init, w0=w0, tol=tol, max_iter=max_iter,
                              products=products)

    scores = np.empty(0)
    if len(grid) > 1:
        rng = check_rng(rng)
        n_min = int(min(np.sum(y == 1), np.sum(y == -1)))
        if n_min < 2:
            raise ValueError("y must hold >= 2 samples of each class to select "
                             f"hyperparameters by cross-validation, got {n_min}")
        k_folds = min(n_folds, n_min)
        folds = _folds(y, k_folds, rng)
        scores = np.zeros(len(grid))
        with warnings.catch_warnings():  # fold fits are approximate by design
            warnings.simplefilter("ignore", ConvergenceWarning)
            trs = [np.setdiff1d(np.arange(m), te) for te in folds]
            fits = iter(_fit_many([(X[tr], y[tr], hp) for hp in grid for tr in trs], Xu, pc,
                                  **{**kw, "tol": cv_tol}))
            for j in range(len(grid)):
                for te in folds:
                    _, out = next(fits)
                    marg = y[te] * (X[te] @ out[0])
                    if cv_score == "margin":
                        scores[j] += marg.mean() / k_folds
                    else:
                        scores[j] += (np.mean(marg > 0) + 1e-6 * marg.mean()) / k_folds
        hp = grid[int(np.argmax(scores))]
    else:
        hp = grid[0]
    name, (w, f, k, converged, gnorm, objs, steps) = _fit(X, y, Xu, pc, hp, **kw)
    if converged:
        msg = f"converged after {k} iterations (tol={tol:g})"
    else:
        msg = (f"reached max_iter={max_iter} with Riemannian gradient norm {gnorm:.3e} and last "
               f"step {steps[-1] if steps.size else float('nan'):.3e} > tol={tol:g}")
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    hyper = {"gamma": hp["gamma"], "gamma_u": hp["gamma_u"], "lam": hp["lam"], "loss": loss,
             "ramp_slope": r}
    return RSSResult(x=w, n_iter=int(k), converged=bool(converged), message=msg,
                     history={"objective": objs, "step": steps}, objective=float(f),
                     method=method, hyperparameters=hyper,
                     cv_grid=tuple(grid) if len(grid) > 1 else (), cv_scores=scores, init=name)


def solve_erm(X, y, *, loss: str = "ramp", ramp_slope: float = 1.0, tol: float = 1e-6,
              max_iter: int = 500) -> RSSResult:
    """Plain ERM on the labeled data: :func:`solve_rss` with ``method="erm"``.

    Examples
    --------
    >>> from theorylab.dro import sample_gmm_shift, solve_erm
    >>> s = sample_gmm_shift(20, 30, 0, rng=1)
    >>> solve_erm(s.X, s.y).method
    'erm'
    """
    return solve_rss(X, y, None, method="erm", loss=loss, ramp_slope=ramp_slope, tol=tol,
                     max_iter=max_iter)


def solve_robust_erm(X, y, *, gamma: float | Sequence[float] = 1.0, loss: str = "ramp",
                     ramp_slope: float = 1.0, n_folds: int = 3,
                     cv_score: CVScore = "accuracy", tol: float = 1e-6, max_iter: int = 500,
                     rng=None) -> RSSResult:
    """Wasserstein-robust ERM (WRM) on labeled data only: ``method="robust_erm"``.

    Examples
    --------
    >>> from theorylab.dro import sample_gmm_shift, solve_robust_erm
    >>> s = sample_gmm_shift(20, 30, 0, rng=1)
    >>> solve_robust_erm(s.X, s.y, gamma=2.0).hyperparameters["gamma"]
    2.0
    """
    return solve_rss(X, y, None, method="robust_erm", gamma=gamma, loss=loss,
                     ramp_slope=ramp_slope, n_folds=n_folds, cv_score=cv_score, tol=tol,
                     max_iter=max_iter, rng=rng)


def rss_objective(w, X, y, X_unlabeled=None, *, gamma: float, gamma_u: float | None = None,
                  lam: float = 1.0, loss: str = "ramp", ramp_slope: float = 1.0) -> float:
    """The RSS objective at ``w`` (normalised to unit length); lam=0 gives robust ERM.

    Examples
    --------
    >>> import numpy as np
    >>> from theorylab.dro import rss_objective
    >>> rss_objective([1.0, 0.0], np.array([[2.0, 0.0]]), [1.0], gamma=np.inf)
    0.0
    """
    X = check_matrix(X, name="X")
    y = check_labels(y, n=X.shape[0])
    w = check_matrix(np.atleast_2d(w), name="w", shape=(1, X.shape[1]))[0]
    if not np.any(w):
        raise ValueError("w must be non-zero, got the zero vector")
    loss = check_choice(loss, name="loss", choices=LOSSES)
    r = check_scalar(ramp_slope, name="ramp_slope", lower=0.0, lower_inclusive=False)
    gamma = check_gamma(gamma, name="gamma", loss=loss, ramp_slope=r)
    gamma_u = gamma if gamma_u is None else check_gamma(gamma_u, name="gamma_u", loss=loss,
                                                         ramp_slope=r)
    lam = check_scalar(lam, name="lam", lower=0.0)
    Xu = None
    if X_unlabeled is not None:
        Xu = check_matrix(X_unlabeled, name="X_unlabeled", shape=(None, X.shape[1]))
    prob = _Problem(X, y, Xu, gamma=gamma, gamma_u=gamma_u, lam=lam, loss=loss, r=r)
    return prob.value(prob.margins(w / np.linalg.norm(w)))
