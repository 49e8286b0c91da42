"""Slow twins used by the tests: adaptive quadrature of the MP integrals and
time-stepped gradient descent (the paper's equations as plainly as possible)."""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad


def mp_density(lam: float, alpha: float) -> float:
    lo, hi = (1 - np.sqrt(alpha)) ** 2, (1 + np.sqrt(alpha)) ** 2
    if lam <= lo or lam >= hi:
        return 0.0
    return np.sqrt((hi - lam) * (lam - lo)) / (2 * np.pi * lam)


def gen_error_quad(alpha, t, *, teacher_var, noise_var, sigma0_sq):
    lo, hi = (1 - np.sqrt(alpha)) ** 2, (1 + np.sqrt(alpha)) ** 2
    v0 = teacher_var + sigma0_sq

    def f(lam):
        return mp_density(lam, alpha) * (v0 * np.exp(-2 * lam * t)
                                         + noise_var * (1 - np.exp(-lam * t)) ** 2 / lam)

    val = quad(f, lo, hi, epsabs=1e-12, epsrel=1e-11, limit=500)[0]
    return val + max(1 - alpha, 0) * v0 + noise_var


def train_error_quad(alpha, t, *, teacher_var, noise_var, sigma0_sq):
    lo, hi = (1 - np.sqrt(alpha)) ** 2, (1 + np.sqrt(alpha)) ** 2
    v0 = teacher_var + sigma0_sq

    def f(lam):
        return mp_density(lam, alpha) * (lam * v0 + noise_var) * np.exp(-2 * lam * t)

    val = quad(f, lo, hi, epsabs=1e-12, epsrel=1e-11, limit=500)[0]
    return val / alpha + noise_var * max(1 - 1 / alpha, 0)


def gradient_descent_errors(X, y, w_bar, w0, *, lr, steps, noise_var):
    """Time-stepped GD ``w ← w + η X (y − Xᵀw)``; errors after each step (t = η·step)."""
    N, P = X.shape
    w = w0.copy()
    test = np.empty(steps + 1)
    train = np.empty(steps + 1)
    for k in range(steps + 1):
        test[k] = np.sum((w - w_bar) ** 2) / N + noise_var
        train[k] = np.sum((y - X.T @ w) ** 2) / P
        if k < steps:
            w = w + lr * (X @ (y - X.T @ w))
    return test, train
