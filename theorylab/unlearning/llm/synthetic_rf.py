"""The NPO paper's synthetic unlearning problem: a random-features softmax classifier whose
output layer is unlearned by full-batch gradient descent.

Setting (Zhang et al. 2024, arXiv:2404.05868, synthetic experiments; reference code
``synthetic/finetune.py``, ``mymodel.py``, ``unlearn.py``): ``K`` classes, inputs in ``R^d``, ``N``
fixed random ReLU features ``z(x) = relu(W x)`` with ``W_ij ~ N(0, 1/d)``; only the output layer
``a ∈ R^{N×(K−1)}`` is trained (the last class's logit is pinned to 0), so every loss is convex
in ``a``'s logits. Data (gap ``α``):

- retain: ``x ~ N(−α 1, I_d)``, label logits ``θ_r^T (x + α 1) + b_r`` with
  ``θ_r = e_1 ⊗ 1/√d`` (class 0 direction) and intercept ``b_r = e_0``;
- forget: ``x ~ N(+α 1, I_d)``, label logits ``θ_f^T (x − α 1) + b_f`` with class ``K−1`` in
  place of class 0 (``θ_f[:, K−1] = 1/√d``, ``b_f = e_{K−1}``);
- the IDK labels of the forget inputs are uniform over the classes.

Two models are pretrained from ``a = 0`` by full-batch GD (lr 0.05) on the cross-entropy: the
*retain model* on ``D_r`` only and the *original* on ``D_r ∪ D_f``. Unlearning starts from the
original and runs full-batch GD on one of the losses of :mod:`theorylab.unlearning.llm.losses`
(the same functions the language-model methods use; here ``log π(y|x)`` is one class
probability). Metrics on 1 000 fresh samples of each distribution:
forget quality ``= E_{x~forget} KL(p_retain(·|x) ‖ p_current(·|x))`` and retain quality, the same
on the retain distribution (lower is better; 0 = the retain model).

Paper symbols ↔ names: ``α`` ↔ ``alpha``, ``β`` ↔ ``beta``, ``n_r, n_f`` ↔ ``n_r, n_f``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import special

from theorylab.results import ResultRepr
from theorylab.unlearning.llm.losses import (
    dpo_loss,
    ga_loss,
    grad_diff_loss,
    idk_loss,
    kl_retain_loss,
    npo_loss,
)

__all__ = ["RFProblem", "RFCurve", "make_rf_problem", "rf_unlearn", "rf_loss", "RF_METHODS",
           "PAPER_RATES"]

RF_METHODS: tuple[str, ...] = ("ga", "grad_diff", "kl", "idk", "npo", "npo_kl", "npo_rt",
                               "dpo", "dpo_kl", "dpo_rt")

# (learning rate, beta) per method. "active": the reference code's run script
# (synthetic/unlearn.py); "alpha1" / "alpha0": its commented-out configuration file
# (parameter_values.yml) for gap 1 and gap 0.
PAPER_RATES: dict[str, dict[str, tuple[float, float | None]]] = {
    "active": {"ga": (5e-4, None), "grad_diff": (2e-4, None), "idk": (1e-4, None),
               "npo": (5e-4, 1.0), "npo_rt": (2e-4, 0.1), "dpo_rt": (1e-3, 0.1)},
    "alpha1": {"ga": (5e-4, None), "kl": (5e-4, None), "grad_diff": (5e-4, None),
               "idk": (5e-4, None), "npo": (5e-3, 1.0), "npo_kl": (5e-3, 1.0),
               "npo_rt": (5e-3, 1.0), "dpo": (5e-3, 0.1), "dpo_kl": (5e-3, 0.1),
               "dpo_rt": (5e-3, 0.1)},
    "alpha0": {"ga": (1e-4, None), "kl": (1e-4, None), "grad_diff": (1e-4, None),
               "idk": (1e-4, None), "npo": (5e-2, 10.0), "npo_kl": (5e-2, 10.0),
               "npo_rt": (5e-2, 10.0), "dpo": (5e-2, 5.0), "dpo_kl": (5e-2, 5.0),
               "dpo_rt": (2e-2, 5.0)},
}


@dataclass(frozen=True)
class RFProblem(ResultRepr):
    """One draw of the synthetic problem with its two pretrained output layers."""

    alpha: float
    K: int
    W: np.ndarray          # (N, d) random first layer
    X_r: np.ndarray        # (n_r, d)
    y_r: np.ndarray        # (n_r,)
    X_f: np.ndarray        # (n_f, d)
    y_f: np.ndarray        # (n_f,)
    y_idk: np.ndarray      # (n_f,) uniform labels for IDK / DPO
    X_eval_r: np.ndarray   # (n_eval, d) fresh retain-distribution inputs
    X_eval_f: np.ndarray   # (n_eval, d) fresh forget-distribution inputs
    a_retain: np.ndarray   # (N, K-1) trained on D_r only
    a_original: np.ndarray  # (N, K-1) trained on D_r ∪ D_f
    pretrain_grad_norm: dict = field(default_factory=dict)  # final ‖∇‖ of each pretraining

    def features(self, X: np.ndarray) -> np.ndarray:
        return np.maximum(X @ self.W.T, 0.0)


@dataclass(frozen=True)
class RFCurve(ResultRepr):
    """Forget and retain quality along one unlearning run (evaluated every ``eval_every``)."""

    method: str
    lr: float
    beta: float | None
    steps: np.ndarray           # (m,) 0, eval_every, ..., n_steps
    forget_quality: np.ndarray  # (m,) KL(p_retain ‖ p) on the forget distribution
    retain_quality: np.ndarray  # (m,) the same on the retain distribution
    a: np.ndarray               # (N, K-1) final output layer


def _labels(rng, X, theta, shift, intercept):
    logits = (X - shift) @ theta + intercept  # (n, K)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    u = rng.random(X.shape[0])[:, None]
    return np.minimum((u > np.cumsum(p, 1)).sum(1), p.shape[1] - 1)


def _logits_np(Z, a):
    return np.concatenate([Z @ a, np.zeros((Z.shape[0], 1))], axis=1)


def _softmax_pinned(Z, a):
    """Class probabilities (n, K) with the last logit pinned to 0."""
    L = _logits_np(Z, a)
    P = np.exp(L - L.max(1, keepdims=True))
    return P / P.sum(1, keepdims=True)


def _pretrain_gd(Z, y, K, lr, steps):
    """Full-batch GD from 0 on the mean cross-entropy (closed-form gradient), as the paper."""
    n = Z.shape[0]
    ZT = np.ascontiguousarray(Z.T) / n
    a = np.zeros((Z.shape[1], K - 1))
    g = np.zeros_like(a)
    if K == 2:  # logistic regression: class 0's logit z·a against the pinned 0
        y0 = (y == 0).astype(float)
        a0 = a[:, 0]
        for _ in range(steps):
            g0 = ZT @ (special.expit(Z @ a0) - y0)
            a0 -= lr * g0
        return a0[:, None].copy(), float(np.linalg.norm(g0))
    Y = np.eye(K)[y][:, :K - 1]
    for _ in range(steps):
        g = ZT @ (_softmax_pinned(Z, a)[:, :K - 1] - Y)
        a -= lr * g
    return a, float(np.linalg.norm(g))


def _pretrain_newton(Z, y, K, tol=1e-10, max_iter=100):
    """The minimiser GD converges to, by damped Newton steps (the loss is convex in a)."""
    n, N = Z.shape
    Y = np.eye(K)[y][:, :K - 1]
    a = np.zeros((N, K - 1))

    def loss(a):
        L = _logits_np(Z, a)
        m = L.max(1, keepdims=True)
        lse = (m[:, 0] + np.log(np.exp(L - m).sum(1)))
        return float(np.mean(lse - L[np.arange(n), y]))

    g = np.zeros_like(a)
    for _ in range(max_iter):
        P = _softmax_pinned(Z, a)[:, :K - 1]  # (n, K-1)
        g = Z.T @ (P - Y) / n
        if np.linalg.norm(g) < tol:
            break
        # H[(j,k),(l,m)] = mean_i z_ij z_il (δ_km p_ik − p_ik p_im)
        C = P[:, :, None] * (np.eye(K - 1)[None] - P[:, None, :])  # (n, K-1, K-1)
        H = np.einsum("ij,ikm,il->jklm", Z, C, Z).reshape(N * (K - 1), N * (K - 1)) / n
        step = np.linalg.solve(H + 1e-12 * np.eye(H.shape[0]), g.reshape(-1)).reshape(a.shape)
        t, f0 = 1.0, loss(a)
        while loss(a - t * step) > f0 - 0.25 * t * float(np.sum(g * step)) and t > 1e-8:
            t *= 0.5
        a = a - t * step
    return a, float(np.linalg.norm(g))


def _pos_int(name, v, lo=1):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def make_rf_problem(*, alpha: float = 1.0, K: int = 2, d: int = 16, N: int = 128,
                    n_r: int = 1000, n_f: int = 200, n_eval: int = 1000,
                    pretrain_lr: float = 0.05, pretrain_steps: int = 20_000,
                    pretrain: str = "gd", rng=None) -> RFProblem:
    """Draw the data and pretrain the retain model and the original (see module docstring).

    ``pretrain="gd"``: ``pretrain_steps`` full-batch GD steps at ``pretrain_lr`` from zero (the
    paper's recipe; its end point has ‖∇‖ ≈ 2e-3 at the paper's sizes); ``"newton"``: the
    minimiser of the same convex loss by damped Newton steps (‖∇‖ < 1e-10; seconds faster).
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or \
            not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    K = _pos_int("K", K, 2)
    for name, v in (("d", d), ("N", N), ("n_r", n_r), ("n_f", n_f), ("n_eval", n_eval),
                    ("pretrain_steps", pretrain_steps)):
        _pos_int(name, v)
    if pretrain not in ("gd", "newton"):
        raise ValueError(f"pretrain must be 'gd' or 'newton', got {pretrain!r}")
    if not (pretrain_lr > 0 and math.isfinite(pretrain_lr)):
        raise ValueError(f"pretrain_lr must be a finite number > 0, got {pretrain_lr!r}")
    rng = np.random.default_rng(rng)
    W = rng.standard_normal((N, d)) / math.sqrt(d)
    mu_r, mu_f = -alpha * np.ones(d), alpha * np.ones(d)
    th_r, th_f = np.zeros((d, K)), np.zeros((d, K))
    th_r[:, 0] = 1 / math.sqrt(d)
    th_f[:, K - 1] = 1 / math.sqrt(d)
    b_r, b_f = np.eye(K)[0], np.eye(K)[K - 1]

    def draw(n, mu, th, b):
        X = mu + rng.standard_normal((n, d))
        return X, _labels(rng, X, th, mu, b)

    X_r, y_r = draw(n_r, mu_r, th_r, b_r)
    X_f, y_f = draw(n_f, mu_f, th_f, b_f)
    y_idk = rng.integers(K, size=n_f)
    X_eval_r = draw(n_eval, mu_r, th_r, b_r)[0]
    X_eval_f = draw(n_eval, mu_f, th_f, b_f)[0]
    Z_r, Z_f = np.maximum(X_r @ W.T, 0), np.maximum(X_f @ W.T, 0)
    Z_all, y_all = np.vstack([Z_r, Z_f]), np.concatenate([y_r, y_f])
    if pretrain == "gd":
        a_ret, g_ret = _pretrain_gd(Z_r, y_r, K, pretrain_lr, pretrain_steps)
        a_all, g_all = _pretrain_gd(Z_all, y_all, K, pretrain_lr, pretrain_steps)
    else:
        a_ret, g_ret = _pretrain_newton(Z_r, y_r, K)
        a_all, g_all = _pretrain_newton(Z_all, y_all, K)
    return RFProblem(alpha=float(alpha), K=K, W=W, X_r=X_r, y_r=y_r, X_f=X_f, y_f=y_f,
                     y_idk=y_idk, X_eval_r=X_eval_r, X_eval_f=X_eval_f, a_retain=a_ret,
                     a_original=a_all, pretrain_grad_norm={"retain": g_ret, "original": g_all})


def _log_probs(Z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    zero = torch.zeros(Z.shape[0], 1, dtype=Z.dtype, device=Z.device)
    logits = torch.cat([Z @ a, zero], dim=1)
    return torch.log_softmax(logits, dim=1)  # (n, K)


def _kl_rows(logp_target: torch.Tensor, logp: torch.Tensor) -> float:
    """mean_x KL(p_target ‖ p)."""
    return float((logp_target.exp() * (logp_target - logp)).sum(1).mean())


def rf_loss(method: str, a: torch.Tensor, data: dict, *, beta: float | None,
            retain_weight: float = 1.0) -> torch.Tensor:
    """The unlearning loss of ``method`` at output layer ``a`` (``data``: features and labels
    as float64 tensors, the original's log-probabilities; see :func:`rf_unlearn`)."""
    lp_f = _log_probs(data["Z_f"], a)
    pick = lambda lp, y: lp.gather(1, y[:, None]).squeeze(1)  # noqa: E731
    logp_f = pick(lp_f, data["y_f"])

    def retain_lp():
        return pick(_log_probs(data["Z_r"], a), data["y_r"])

    def kl_r():
        return kl_retain_loss(_log_probs(data["Z_r"], a), data["ref_lp_r"])

    if method == "ga":
        return ga_loss(logp_f)
    if method == "grad_diff":
        return grad_diff_loss(logp_f, retain_lp(), retain_weight=retain_weight)
    if method == "kl":
        return ga_loss(logp_f) + retain_weight * kl_r()
    if method == "idk":
        return idk_loss(pick(lp_f, data["y_idk"]), retain_lp(), retain_weight=retain_weight)
    if method.startswith("npo"):
        loss = npo_loss(logp_f, pick(data["ref_lp_f"], data["y_f"]), beta)
    else:
        loss = dpo_loss(pick(lp_f, data["y_idk"]), logp_f,
                        pick(data["ref_lp_f"], data["y_idk"]),
                        pick(data["ref_lp_f"], data["y_f"]), beta)
    if method.endswith("_rt"):
        loss = loss - retain_weight * retain_lp().mean()
    elif method.endswith("_kl"):
        loss = loss + retain_weight * kl_r()
    return loss


def rf_unlearn(problem: RFProblem, method: str, *, lr: float, beta: float | None = None,
               steps: int = 2000, eval_every: int = 25,
               retain_weight: float = 1.0, device=None) -> RFCurve:
    """Full-batch GD on ``method``'s loss from the original output layer; forget and retain
    quality every ``eval_every`` steps (including step 0 and the last step), in float64 on
    ``device`` (default CPU).

    Raises
    ------
    ValueError
        Unknown method, ``lr`` not > 0, a missing or non-positive ``beta`` for NPO/DPO.
    FloatingPointError
        A non-finite loss (the step is named).
    """
    if method not in RF_METHODS:
        raise ValueError(f"method must be one of {list(RF_METHODS)}, got {method!r}")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or \
            not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if method.startswith(("npo", "dpo")) and beta is None:
        raise ValueError(f"beta must be given for method {method!r}, got None")
    steps, eval_every = _pos_int("steps", steps), _pos_int("eval_every", eval_every)
    dev = torch.device(device if device is not None else "cpu")
    t = lambda x: torch.as_tensor(x, dtype=torch.float64, device=dev)  # noqa: E731
    ti = lambda y: torch.as_tensor(y, dtype=torch.long, device=dev)  # noqa: E731
    p = problem
    Z_f, Z_r = t(p.features(p.X_f)), t(p.features(p.X_r))
    a0 = t(p.a_original)
    data = {"Z_f": Z_f, "Z_r": Z_r, "y_f": ti(p.y_f), "y_r": ti(p.y_r), "y_idk": ti(p.y_idk),
            "ref_lp_f": _log_probs(Z_f, a0), "ref_lp_r": _log_probs(Z_r, a0)}
    Ze_f, Ze_r = t(p.features(p.X_eval_f)), t(p.features(p.X_eval_r))
    a_ret = t(p.a_retain)
    tgt_f, tgt_r = _log_probs(Ze_f, a_ret), _log_probs(Ze_r, a_ret)
    a = a0.clone().requires_grad_(True)
    rec_s, fq, rq = [], [], []

    def evaluate(s):
        with torch.no_grad():
            rec_s.append(s)
            fq.append(_kl_rows(tgt_f, _log_probs(Ze_f, a)))
            rq.append(_kl_rows(tgt_r, _log_probs(Ze_r, a)))

    evaluate(0)
    for s in range(1, steps + 1):
        loss = rf_loss(method, a, data, beta=beta, retain_weight=retain_weight)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"method {method!r}: loss is {float(loss.detach())} at "
                                     f"step {s}")
        (g,) = torch.autograd.grad(loss, a)
        with torch.no_grad():
            a -= lr * g
        if s % eval_every == 0 or s == steps:
            evaluate(s)
    return RFCurve(method=method, lr=float(lr), beta=None if beta is None else float(beta),
                   steps=np.asarray(rec_s), forget_quality=np.asarray(fq),
                   retain_quality=np.asarray(rq), a=a.detach().cpu().numpy().copy())
