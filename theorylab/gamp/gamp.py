"""GAMP-RIE for the extensive-width quadratic network, tensor-free (Maillard et al. 2024).

Model (figure units): y_μ = (1/d)(x_μᵀ S* x_μ − Tr S*) + √δ ξ_μ, S* = W Wᵀ/√m.
The iteration runs in algorithm units, S̃ = S*/√d and sensing matrices
uX_μ = (x_μ x_μᵀ − I)/√d, so y_μ = ⟨uX_μ, S̃⟩ + √δ ξ_μ.  The n×d×d tensor {uX_μ} is never
built: ⟨uX_μ, Ŝ⟩ = (x_μᵀŜx_μ − Tr Ŝ)/√d and Σ_μ g_μ uX_μ = (Xᵀ diag(g) X − (Σ g) I)/√d,
so memory is O(n d + d²) and one iteration costs ≈ 2 n d² flops plus one d×d ``eigh``.

Paper symbol ↔ argument: α = n/d², κ ↔ ``kappa``, δ ↔ ``delta``, damping ↔ ``damping``,
ω ↔ ``omega``, V, Ĉ, A, R as in the paper's algorithm; Δ_A = 1/(2A) is the denoiser's
noise variance.  Reference: arXiv:2408.03733 (GAMP-RIE).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._result import ConvergenceWarning, SolverResult
from .._validation import (
    check_int,
    check_matrix,
    check_positive,
    check_rng,
    check_scalar,
    check_vector,
)
from . import _kernels
from .rie import _rie
from .theory import _TABLE_HI, _TABLE_LO, _table, denoising_mmse, stieltjes_th

__all__ = ["GampRieResult", "solve_gamp_rie", "init_gamp_rie"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GampRieResult(SolverResult):
    """Result of :func:`solve_gamp_rie`.

    Attributes
    ----------
    x : ndarray, shape (d, d)
        The estimate of S* in figure units; ``S`` is a read-only alias.
    mse : float or None
        Final ‖Ŝ − S*‖²_F/d² when ``S_star`` was given, else None.
    predicted_mse : float
        The algorithm's own estimate of its error, Ĉ/2 = F(Δ_A; κ) (figure units).
    denoise_var : float
        The last denoiser noise variance Δ_A = 1/(2A) (algorithm units).
    history : Mapping[str, ndarray]
        ``"step"``: ‖Ŝ_t − Ŝ_{t+1}‖²_F/d (algorithm units) per iteration;
        ``"predicted_mse"``: Ĉ_t/2; ``"mse"`` (when ``S_star`` is given): the error of
        the iterate *after* each update.
    """

    mse: float | None = None
    predicted_mse: float = float("nan")
    denoise_var: float = float("nan")

    @property
    def S(self) -> np.ndarray:
        """The estimate of S* (figure units): the same array as ``x``."""
        return self.x


def init_gamp_rie(d: int, n: int, *, kappa: float, rng) -> tuple[np.ndarray, float, float,
                                                                    np.ndarray]:
    """The initial state (Ŝ⁰, Ĉ, V, ω) of the reference code: a prior sample, 10, 10, 10·1."""
    d = check_int(d, name="d", minimum=1)
    n = check_int(n, name="n", minimum=1)
    kappa = check_positive(kappa, name="kappa")
    rng = check_rng(rng)
    m = max(1, round(kappa * d))
    W0 = rng.standard_normal((d, m))
    S0 = W0 @ W0.T / np.sqrt(m * d)
    return S0, 10.0, 10.0, np.full(n, 10.0)


def solve_gamp_rie(X, y, *, kappa: float, delta: float = 0.0, damping: float = 0.5,
                   tol: float = 1e-5, max_iter: int = 200, rng=None,
                   S_star=None) -> GampRieResult:
    """Estimate S* from quadratic measurements with GAMP-RIE (tensor-free).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Inputs x_μ as rows.
    y : array_like, shape (n,)
        Labels y_μ = (1/d)(x_μᵀS*x_μ − Tr S*) + √δ ξ_μ.
    kappa : float
        Width ratio κ = m/d > 0 of the prior S* = W Wᵀ/√m.
    delta : float, default 0.0
        Label-noise variance δ ≥ 0 assumed by the output channel.
    damping : float, default 0.5
        Damping ρ ∈ [0, 1) of ω and V (the published experiments use 0.5).
    tol : float, default 1e-5
        Stop when ‖Ŝ_t − Ŝ_{t+1}‖²_F/d < tol (algorithm units).
    max_iter : int, default 200
        Iteration cap; reaching it emits a ConvergenceWarning.
    rng : numpy.random.Generator, int or None
        Draws the initial prior sample Ŝ⁰.
    S_star : array_like, shape (d, d), optional
        Ground truth (figure units); when given, the error per iteration is recorded
        in ``history["mse"]`` and the final one in ``mse``.

    Returns
    -------
    GampRieResult
        ``S`` (figure units), ``n_iter``, ``converged``, ``message``, ``history``,
        ``mse``, ``predicted_mse``, ``denoise_var``.

    Raises
    ------
    ValueError
        Bad shapes, non-finite data, ``kappa`` ≤ 0, ``delta`` < 0, ``damping`` ∉ [0, 1),
        ``tol`` ≤ 0, ``max_iter`` < 1.
    FloatingPointError
        If an iterate becomes NaN/inf (the iteration is named).

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` is reached before ``tol``.

    Notes
    -----
    Each iteration (algorithm units, g_out(y, ω, V) = (y − ω)/(δ + V)):
    V' = Ĉ; ω' = ⟨uX, Ŝ⟩ − g_out(y, ω, V) V'; damp V, ω; g = g_out(y, ω, V);
    A = 2α mean(g²); R = Ŝ + (1/(A d)) Σ g_μ uX_μ; Δ_A = 1/(2A);
    Ŝ ← RIE(R; Δ_A, κ); Ĉ = 2 F(Δ_A; κ) with F tabulated once per κ.
    Memory O(n d + d²).  The state evolution is mse ← F((δ + 2 mse)/(4α); κ).

    References
    ----------
    arXiv:2408.03733.

    Examples
    --------
    >>> from theorylab.gamp import sample_quadratic_network, solve_gamp_rie
    >>> inst = sample_quadratic_network(40, alpha=0.3, kappa=0.5, rng=1)
    >>> res = solve_gamp_rie(inst.X, inst.y, kappa=0.5, rng=2, S_star=inst.S_star)
    >>> res.converged, abs(res.mse - 0.1281) < 0.05  # theory MMSE(0.3; 0.5) = 0.1281
    (True, True)
    """
    return _iterate(**_validated(X, y, kappa=kappa, delta=delta, damping=damping, tol=tol,
                                 max_iter=max_iter, rng=rng, S_star=S_star),
                    stieltjes=stieltjes_th)


def _validated(X, y, *, kappa, delta, damping, tol, max_iter, rng, S_star) -> dict:
    """The arguments of :func:`solve_gamp_rie`, validated, as :func:`_iterate` takes them
    (``S_star`` in algorithm units as ``S_tilde_star``)."""
    X = check_matrix(X, name="X")
    n, d = X.shape
    if d < 2:
        raise ValueError(f"X must have at least 2 columns, got shape {X.shape}")
    y = check_vector(y, name="y", n=n)
    kappa = check_positive(kappa, name="kappa")
    delta = check_positive(delta, name="delta", strict=False)
    damping = check_scalar(damping, name="damping", lower=0.0, upper=1.0,
                           upper_inclusive=False)
    tol = check_positive(tol, name="tol")
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    rng = check_rng(rng)
    S_tilde_star = None
    if S_star is not None:
        S_tilde_star = check_matrix(S_star, name="S_star", shape=(d, d)) / np.sqrt(d)
    return dict(X=X, y=y, kappa=kappa, delta=delta, damping=damping, tol=tol,
                max_iter=max_iter, rng=rng, S_tilde_star=S_tilde_star)


def _iterate(X: np.ndarray, y: np.ndarray, *, kappa: float, delta: float, damping: float,
             tol: float, max_iter: int, rng: np.random.Generator,
             S_tilde_star: np.ndarray | None, stieltjes) -> GampRieResult:
    """The GAMP-RIE iteration of :func:`solve_gamp_rie` on validated inputs, with the
    Stieltjes root solver ``stieltjes`` of the RIE and of the denoiser table as a parameter
    (:func:`~theorylab.gamp.theory.stieltjes_th`, or the fast twin's closed form)."""
    n, d = X.shape
    F = _denoiser_mse(kappa, stieltjes)
    alpha = n / d**2
    inv_sqrt_d = 1.0 / np.sqrt(d)
    S, C, V, omega = init_gamp_rie(d, n, kappa=kappa, rng=rng)
    buf = np.empty((n, d))  # holds X Ŝ, then diag(g) X: the only n×d work array
    g = np.empty(n)
    steps, preds, errs = [], [], []
    converged = False
    step = np.inf
    delta_A = np.nan
    it = 0
    for it in range(1, max_iter + 1):
        V_new = C
        V_damped = (1.0 - damping) * V_new + damping * V
        np.matmul(X, S, out=buf)
        sum_g2, sum_g = _kernels.channel_update(X, buf, y, omega, float(np.trace(S)),
                                                inv_sqrt_d, V, V_new, V_damped, delta,
                                                damping, g)
        V = V_damped
        A = 2.0 * alpha * sum_g2 / n
        if not np.isfinite(A) or A <= 0:
            raise FloatingPointError(f"GAMP-RIE diverged at iteration {it}: A = {A!r}")
        np.multiply(X, g[:, None], out=buf)
        M = X.T @ buf  # Xᵀ diag(g) X
        M[np.diag_indices(d)] -= sum_g
        R = S + M * (inv_sqrt_d / (A * d))
        delta_A = 1.0 / (2.0 * A)
        S_new = _rie(R, delta_A, kappa, stieltjes)
        C = 2.0 * F(delta_A)
        if not (np.all(np.isfinite(S_new)) and np.isfinite(C)):
            raise FloatingPointError(f"GAMP-RIE produced a non-finite iterate at iteration {it}")
        step = float(np.sum((S - S_new) ** 2) / d)
        S = S_new
        steps.append(step)
        preds.append(0.5 * C)
        if S_tilde_star is not None:
            errs.append(float(np.sum((S - S_tilde_star) ** 2) / d))
        if step < tol:
            converged = True
            break
    history = {"step": np.asarray(steps), "predicted_mse": np.asarray(preds)}
    if S_tilde_star is not None:
        history["mse"] = np.asarray(errs)
    if converged:
        message = f"converged: step {step:.3e} < tol {tol:.1e} after {it} iterations"
    else:
        message = (f"GAMP-RIE did not converge: step {step:.3e} >= tol {tol:.1e} after "
                   f"{max_iter} iterations")
        warnings.warn(message, ConvergenceWarning, stacklevel=3)
    S_fig = S * np.sqrt(d)
    return GampRieResult(x=S_fig, n_iter=it, converged=converged, message=message,
                         history=history, mse=errs[-1] if errs else None,
                         predicted_mse=0.5 * C, denoise_var=float(delta_A))


def _denoiser_mse(kappa: float, stieltjes=stieltjes_th):
    """F(Δ; κ) via the per-κ table (built, once per κ and root solver, on the first call
    inside its range), falling back to the integral outside its range."""

    def F(delta_A: float) -> float:
        if _TABLE_LO <= delta_A <= _TABLE_HI:
            return float(np.exp(_table(kappa, stieltjes)(np.log(delta_A))))
        return float(denoising_mmse(delta_A, kappa=kappa, exact=True))

    return F
