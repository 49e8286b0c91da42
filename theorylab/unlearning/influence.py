"""Convex reference models for unlearning: L2-regularised softmax (multinomial logistic)
regression fitted to convergence, its exact leave-set-out retrain and the Newton influence step.

Objective on features Φ (n × d, a constant column for the bias if wanted) and labels y:

    L(W) = (1/n) Σ_i CE(softmax(φ_iᵀ W), y_i) + (l2/2) ‖W‖_F²,   W ∈ R^{d × K}.

With l2 > 0 it is strongly convex, so the retrained optimum W_r on D_r = D \\ F is unique and
is the exact unlearning target. Gradient: (1/n) Φᵀ(P − Y) + l2 W. Hessian-vector product for a
direction V: (1/n) Φᵀ(P ⊙ A − P ⊙ (P ⊙ A)𝟙𝟙ᵀ) + l2 V with A = ΦV (the softmax Jacobian
diag(p) − ppᵀ applied row by row). Its largest eigenvalue is at most
λ_max(ΦᵀΦ)/(2n) + l2, since ‖diag(p) − ppᵀ‖ ≤ 1/2.

The influence (Newton) step removes F from W* in one step:
W_IF = W* − H_r(W*)⁻¹ ∇L_r(W*), with L_r the objective on D_r (normalised by |D_r|); it is
exact for a quadratic objective and accurate to second order in the size of the change
otherwise (standard; Koh & Liang 2017, arXiv:1703.04730). H_r⁻¹ is applied by conjugate
gradients on Hessian-vector products, so no d·K × d·K matrix is formed.

For networks, the method ``"influence"`` (:func:`influence_unlearn`) takes the same Newton step
on the retain objective with a damping δ (H_r + δI), via exact Hessian-vector products (torch
double back-propagation) and conjugate gradients.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from theorylab._result import ConvergenceWarning
from theorylab._validation import check_int, check_positive, check_rng
from theorylab.unlearning.methods import register_method

__all__ = ["softmax_objective", "softmax_hvp", "fit_softmax_regression", "newton_removal_step",
           "hessian_max_eig", "random_relu_features", "InfluenceConfig", "influence_unlearn"]


def _check(Phi, y, n_classes):
    Phi = np.asarray(Phi, dtype=np.float64)
    y = np.asarray(y)
    if Phi.ndim != 2:
        raise ValueError(f"Phi must be a 2-D array (n, d), got shape {Phi.shape}")
    if y.shape != (Phi.shape[0],):
        raise ValueError(f"y must have shape ({Phi.shape[0]},), got {y.shape}")
    n_classes = check_int(n_classes, name="n_classes", minimum=2)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"y must hold labels in [0, {n_classes - 1}], got labels in "
                         f"[{y.min()}, {y.max()}]")
    return Phi, y.astype(np.int64), n_classes


def _probs(Z):
    Z = Z - Z.max(1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(1, keepdims=True)


def softmax_objective(W, Phi, y, *, l2: float) -> tuple[float, np.ndarray]:
    """``(L(W), ∇L(W))`` with ``W (d, K)``; mean cross-entropy plus (l2/2)‖W‖²."""
    check_positive(l2, name="l2", strict=False)
    n = Phi.shape[0]
    Z = Phi @ W
    Zs = Z - Z.max(1, keepdims=True)
    lse = np.log(np.exp(Zs).sum(1))
    ce = float(np.mean(lse - Zs[np.arange(n), y]))
    P = np.exp(Zs - lse[:, None])
    P[np.arange(n), y] -= 1.0
    return ce + 0.5 * l2 * float((W * W).sum()), Phi.T @ P / n + l2 * W


def softmax_hvp(W, Phi, V, *, l2: float) -> np.ndarray:
    """Hessian of :func:`softmax_objective` at ``W`` applied to ``V (d, K)``."""
    check_positive(l2, name="l2", strict=False)
    P = _probs(Phi @ W)
    A = Phi @ V
    PA = P * A
    return Phi.T @ (PA - P * PA.sum(1, keepdims=True)) / Phi.shape[0] + l2 * V


def hessian_max_eig(W, Phi, *, l2: float, n_iter: int = 200, rng=None) -> float:
    """Largest Hessian eigenvalue at ``W`` by power iteration (the smoothness constant that
    sets a safe gradient-descent step 1/L near ``W``)."""
    g = check_rng(rng)
    V = g.standard_normal(W.shape)
    lam = 0.0
    for _ in range(n_iter):
        HV = softmax_hvp(W, Phi, V, l2=l2)
        lam = float(np.vdot(V, HV) / np.vdot(V, V))
        V = HV / np.linalg.norm(HV)
    return lam


def fit_softmax_regression(Phi, y, *, n_classes: int, l2: float, W0=None, tol: float = 1e-10,
                           max_iter: int = 5000) -> np.ndarray:
    """The unique minimiser ``W (d, K)`` of :func:`softmax_objective` by L-BFGS, to gradient
    norm ``tol`` (warns with :class:`ConvergenceWarning` when it stops short)."""
    from scipy.optimize import minimize

    Phi, y, K = _check(Phi, y, n_classes)
    l2 = check_positive(l2, name="l2")
    check_positive(tol, name="tol")
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    d = Phi.shape[1]
    x0 = np.zeros(d * K) if W0 is None else np.asarray(W0, dtype=np.float64).ravel()
    if x0.size != d * K:
        raise ValueError(f"W0 must have shape ({d}, {K}), got {np.shape(W0)}")

    def fun(x):
        f, g = softmax_objective(x.reshape(d, K), Phi, y, l2=l2)
        return f, g.ravel()

    res = minimize(fun, x0, jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0, "maxcor": 30})
    W = res.x.reshape(d, K)
    gnorm = float(np.abs(fun(res.x)[1]).max())
    if gnorm > 10 * tol:
        warnings.warn(f"softmax regression stopped at gradient max-norm {gnorm:.3g} > tol "
                      f"{tol:g} after {res.nit} iterations", ConvergenceWarning, stacklevel=2)
    return W


def newton_removal_step(W, Phi, y, forget, *, n_classes: int, l2: float, tol: float = 1e-12,
                        maxiter: int = 2000) -> np.ndarray:
    """One Newton step on the retain objective from ``W``: W − H_r(W)⁻¹ ∇L_r(W), with
    H_r⁻¹ applied by conjugate gradients (relative residual ``tol``)."""
    from scipy.sparse.linalg import LinearOperator, cg

    Phi, y, K = _check(Phi, y, n_classes)
    check_positive(l2, name="l2", strict=False)
    check_positive(tol, name="tol")
    maxiter = check_int(maxiter, name="maxiter", minimum=1)
    W = np.asarray(W, dtype=np.float64)
    forget = np.asarray(forget, dtype=np.int64)
    if forget.size and (forget.min() < 0 or forget.max() >= Phi.shape[0]):
        raise ValueError(f"forget must index rows of Phi in [0, {Phi.shape[0]}), got values in "
                         f"[{int(forget.min())}, {int(forget.max())}]")
    keep = np.ones(Phi.shape[0], dtype=bool)
    keep[forget] = False
    Pr, yr = Phi[keep], y[keep]
    _, g = softmax_objective(W, Pr, yr, l2=l2)
    shape = W.shape
    op = LinearOperator((W.size, W.size), dtype=np.float64,
                        matvec=lambda v: softmax_hvp(W, Pr, v.reshape(shape), l2=l2).ravel())
    step, info = cg(op, g.ravel(), rtol=tol, atol=0.0, maxiter=maxiter)
    if info != 0:
        warnings.warn(f"conjugate gradients stopped after {maxiter} iterations (info {info})",
                      ConvergenceWarning, stacklevel=2)
    return W - step.reshape(shape)


def random_relu_features(X, *, n_features: int, rng=None, bias: bool = True) -> np.ndarray:
    """φ(x) = ReLU(x G + b) with G ~ N(0, 1/d) and b ~ N(0, 1) drawn from ``rng``, plus a
    constant column when ``bias`` (fixed random features: the model stays convex in W)."""
    X = np.asarray(X, dtype=np.float64)
    n_features = check_int(n_features, name="n_features", minimum=1)
    g = check_rng(rng)
    G = g.standard_normal((X.shape[1], n_features)) / np.sqrt(X.shape[1])
    b = g.standard_normal(n_features)
    F = np.maximum(X @ G + b, 0.0)
    return np.hstack([F, np.ones((X.shape[0], 1))]) if bias else F



# ---------------------------------------------------------------------------- networks


@dataclass(frozen=True, slots=True, kw_only=True)
class InfluenceConfig:
    """``damping`` δ added to the Hessian (networks are not convex); ``cg_iters`` and
    ``cg_tol``: conjugate-gradient budget and relative residual; ``scale`` multiplies the
    step (1 = the full Newton step)."""

    damping: float = 1e-3
    cg_iters: int = 100
    cg_tol: float = 1e-6
    scale: float = 1.0

    def __post_init__(self) -> None:
        check_positive(self.damping, name="damping")
        check_int(self.cg_iters, name="cg_iters", minimum=1)
        check_positive(self.cg_tol, name="cg_tol")
        check_positive(self.scale, name="scale")


@register_method("influence", config=InfluenceConfig, needs_retain=True)
def influence_unlearn(model, forget, retain=None, *, config, generator, train_set=None,
                      oracles=None):
    """One damped Newton step on the retain objective L_r = mean_{D_r} CE:
    θ ← θ − scale · (H_r + δI)⁻¹ ∇L_r(θ), with (H_r + δI)⁻¹ applied by conjugate gradients on
    exact Hessian-vector products (double back-propagation, full batch). At the optimum of the
    full objective this is influence-function removal of D_f (D_f enters through ∇L_r ≠ 0)."""
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    loss = nn.functional.cross_entropy(model(retain.X), retain.y)
    flat_g = torch.cat([g.reshape(-1) for g in
                        torch.autograd.grad(loss, params, create_graph=True)])
    b = flat_g.detach()

    def hvp(v):
        hv = torch.autograd.grad(flat_g @ v, params, retain_graph=True)
        return torch.cat([h.reshape(-1) for h in hv]) + config.damping * v

    x = torch.zeros_like(b)
    r, p = b.clone(), b.clone()
    rs = r @ r
    stop = (config.cg_tol * torch.linalg.vector_norm(b)) ** 2
    for _ in range(config.cg_iters):
        if rs <= stop:
            break
        Ap = hvp(p)
        a = rs / (p @ Ap)
        x = x + a * p
        r = r - a * Ap
        rs_new = r @ r
        p = r + (rs_new / rs) * p
        rs = rs_new
    with torch.no_grad():
        start = 0
        for q in params:
            q.sub_(config.scale * x[start:start + q.numel()].view_as(q))
            start += q.numel()
    return model
