"""Gradient descent on the quadratic network, and its average over initialisations (torch).

Student (figure units): f_W(x) = (1/√m) Σ_k [(w_k·x)²/d − ‖w_k‖²/d] = (1/d)⟨xxᵀ − I, S_W⟩
with S_W = W Wᵀ/√m, W ∈ R^{d×m}.  Full-batch gradient descent on
L(W) = (1/(4n)) Σ_μ (f_W(x_μ) − y_μ)², from W ~ N(0, 1) entries (a prior sample), run for
``n_init`` independent initialisations in one batched computation.  The paper reports that
without label noise GD from random initialisation behaves like a posterior sample (error
≈ 2·MMSE) and that averaging S_W over initialisations approaches the Bayes-optimal error.

Paper symbol ↔ argument: m ↔ ``width``, learning rate ↔ ``lr``, epochs ↔ ``n_steps``.
Reference: arXiv:2408.03733 (GD experiments; the reference code uses Adam/SGD with a
summed loss — here mean loss and plain GD, see the paper note).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._result import SolverResult
from .._validation import check_int, check_matrix, check_positive, check_vector

__all__ = ["GDResult", "train_quadratic_network_gd"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GDResult(SolverResult):
    """Result of :func:`train_quadratic_network_gd`.

    Attributes
    ----------
    x : ndarray, shape (d, d)
        Average of S_W over the initialisations (figure units); ``S`` is a read-only alias.
    S_runs : ndarray, shape (n_init, d, d)
        S_W of every initialisation.
    train_loss : ndarray, shape (n_init,)
        Final training loss of every run.
    """

    S_runs: np.ndarray
    train_loss: np.ndarray

    @property
    def S(self) -> np.ndarray:
        """Average of S_W over the initialisations: the same array as ``x``."""
        return self.x


def train_quadratic_network_gd(X, y, *, width: int, n_init: int = 1, lr: float = 0.2,
                               n_steps: int = 2000, weight_decay: float = 0.0,
                               generator=None, device: str = "cpu") -> GDResult:
    """Train ``n_init`` quadratic networks by full-batch GD and average their S_W.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs.
    y : array_like, shape (n,)
        Labels in figure units.
    width : int
        Student width m ≥ 1.
    n_init : int, default 1
        Independent initialisations, trained in one batch.
    lr : float, default 0.2
        Step size of gradient descent on the mean loss (1/(4n)) Σ (f − y)².
    n_steps : int, default 2000
        Full-batch steps.
    weight_decay : float, default 0.0
        L2 penalty (λ/2)‖W‖²_F/d added to the loss.
    generator : torch.Generator, optional
        Source of the initial weights.
    device : str, default "cpu"
        torch device.

    Returns
    -------
    GDResult
        ``S`` (average), ``S_runs``, ``train_loss``, ``n_iter`` = ``n_steps``.

    Raises
    ------
    ValueError
        Bad shapes, non-finite data, non-positive ``lr``/``width``/``n_init``.
    FloatingPointError
        If the loss becomes non-finite (the step is named).

    Notes
    -----
    With R_μ = f_W(x_μ) − y_μ, ∇_W L = (1/(n d √m)) (Xᵀ diag(R) X − (Σ R) I) W.

    References
    ----------
    arXiv:2408.03733.

    Examples
    --------
    >>> import torch
    >>> from theorylab.gamp import sample_quadratic_network
    >>> from theorylab.gamp.gd import train_quadratic_network_gd
    >>> inst = sample_quadratic_network(12, alpha=0.5, kappa=0.5, rng=0)
    >>> res = train_quadratic_network_gd(inst.X, inst.y, width=6, n_init=2, n_steps=50,
    ...                                  generator=torch.Generator().manual_seed(0))
    >>> res.S_runs.shape
    (2, 12, 12)
    """
    import torch

    X = check_matrix(X, name="X")
    n, d = X.shape
    y = check_vector(y, name="y", n=n)
    width = check_int(width, name="width", minimum=1)
    n_init = check_int(n_init, name="n_init", minimum=1)
    lr = check_positive(lr, name="lr")
    n_steps = check_int(n_steps, name="n_steps", minimum=1)
    weight_decay = check_positive(weight_decay, name="weight_decay", strict=False)

    dt = torch.float64
    Xt = torch.tensor(X, dtype=dt, device=device)  # (n, d), a copy: inputs may be read-only
    yt = torch.tensor(y, dtype=dt, device=device)  # (n,)
    W = torch.randn((n_init, d, width), generator=generator, dtype=dt).to(device)  # (B, d, m)
    c = 1.0 / (d * np.sqrt(width))
    loss = None
    for step in range(1, n_steps + 1):
        loss, grad = _loss_and_grad(Xt, yt, W, c, weight_decay)
        if not torch.isfinite(loss).all():
            raise FloatingPointError(f"GD diverged at step {step} (lower lr)")
        W = W - lr * grad
    loss, _ = _loss_and_grad(Xt, yt, W, c, weight_decay)
    S_runs = (torch.bmm(W, W.transpose(1, 2)) / np.sqrt(width)).cpu().numpy()
    return GDResult(x=S_runs.mean(0), S_runs=S_runs, n_iter=n_steps,
                    converged=True, message=f"ran {n_steps} full-batch GD steps",
                    train_loss=loss.cpu().numpy(), history={})


def _loss_and_grad(Xt, yt, W, c: float, weight_decay: float):
    """Per-run loss (1/(4n)) Σ R² + (λ/(2d))‖W‖² and its gradient in W, by hand (no autograd).

    R_μ = f_W(x_μ) − y_μ with f_W(x) = c (‖Wᵀx‖² − ‖W‖²_F), c = 1/(d√m); ∂f/∂W = 2c (xxᵀ − I)W.
    """
    import torch

    n, d = Xt.shape
    XW = torch.einsum("nd,bdm->bnm", Xt, W)  # (B, n, m)
    f = c * (XW.pow(2).sum(-1) - W.pow(2).sum((1, 2))[:, None])  # (B, n)
    R = f - yt  # (B, n)
    loss = 0.25 * R.pow(2).mean(1) + 0.5 * weight_decay / d * W.pow(2).sum((1, 2))  # (B,)
    # (Xᵀ diag(R) X − (Σ R) I) W without the d×d matrix: Xᵀ (R ⊙ XW) − (Σ R) W
    MW = torch.einsum("nd,bnm->bdm", Xt, R[:, :, None] * XW) - R.sum(1)[:, None, None] * W
    grad = (c / n) * MW + (weight_decay / d) * W
    return loss, grad
