"""Closed forms for the extensive-width quadratic network (Maillard et al. 2024).

Everything here is deterministic: the spectral density of a Wishart matrix plus GOE
noise (Marchenko–Pastur ⊞ semicircle), the denoising MMSE of the rotationally
invariant estimator (RIE), the Bayes-optimal MMSE, the perfect-recovery threshold,
the small-κ limit and the noise-convention converter.

Units (see ``paper_notes/maillard2024_gamp_rie.md``)
-----------------------------------------------------
- *figure units*: S* = W Wᵀ/√m, label-noise variance δ (``delta``),
  error ‖Ŝ − S*‖²_F / d².  Public functions that take ``alpha`` use these.
- *algorithm units*: S̃ = S*/√d, GOE noise variance Δ (``delta`` of the denoiser) seen by the
  RIE; (1/d)‖Ŝ − S̃‖²_F is the same number as the figure-unit error.
  :func:`denoising_mmse` uses these.
- *theory units*: S_th = W Wᵀ/m = S̃/√κ, noise Δ_th = δ/κ, semicircle variance σ²;
  mse_th = MSE/κ.  Private helpers (suffix ``_th``) use these.

Paper symbol ↔ argument: α ↔ ``alpha`` (n = α d²), κ ↔ ``kappa`` (m = κ d),
δ ↔ ``delta`` (label noise), Δ ↔ ``delta`` of the denoiser functions
(:func:`denoising_mmse`, ``rie_denoise``: the GOE noise variance),
σ ↔ ``preact_noise_std``, q̂ = 1/σ².

References
----------
A. Maillard, E. Troiani, S. Martin, F. Krzakala, L. Zdeborová, "Bayes-optimal learning
of an extensive-width neural network from quadratically many samples", NeurIPS 2024,
arXiv:2408.03733.
J. Bun, R. Allez, J.-P. Bouchaud, M. Potters, "Rotational invariant estimator for
general noisy matrices", IEEE Trans. Inf. Theory 62 (2016), arXiv:1502.06736.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.optimize import brentq

from .._validation import check_array, check_positive, check_scalar

__all__ = [
    "stieltjes_th",
    "spectral_edges_th",
    "spectral_density_th",
    "denoising_mmse",
    "denoising_mmse_table",
    "state_evolution",
    "bayes_optimal_mmse",
    "perfect_recovery_threshold",
    "small_kappa_mmse",
    "preact_to_label_noise",
    "label_to_preact_noise",
    "expected_test_error",
]

_N_QUAD = 512  # Gauss–Legendre nodes per bulk in the angle variable (edges ~ sqrt;
# 512 keeps the error near a closing gap, where the density dips sharply, below 1e-6)
_TABLE_LO, _TABLE_HI, _TABLE_N = 1e-5, 1e3, 201


# --------------------------------------------------------------------- cubic machinery

def _cubic_coeffs_th(x: np.ndarray, s2: float, kappa: float) -> tuple:
    """Coefficients of σ² g³ − (z + κσ²) g² + (1 − κ + κz) g − κ = 0 (theory units).

    From z = 1/g + κ/(κ − g) + σ² g: the R-transform of MP (ratio 1/κ, mean 1) plus
    that of the semicircle of variance σ².
    """
    a3 = np.full_like(x, s2, dtype=np.complex128)
    a2 = -(x + kappa * s2)
    a1 = 1.0 - kappa + kappa * x
    a0 = np.full_like(x, -kappa, dtype=np.complex128)
    return a3, a2, a1, a0


def _cubic_roots(a3, a2, a1, a0) -> np.ndarray:
    """All roots of a batch of cubics, shape (N, 3), via companion-matrix eigenvalues."""
    n = np.shape(a2)[0]
    comp = np.zeros((n, 3, 3), dtype=np.complex128)
    comp[:, 0, 0] = -a2 / a3
    comp[:, 0, 1] = -a1 / a3
    comp[:, 0, 2] = -a0 / a3
    comp[:, 1, 0] = 1.0
    comp[:, 2, 1] = 1.0
    return np.linalg.eigvals(comp)


def _zprime_th(g: np.ndarray, s2: float, kappa: float) -> np.ndarray:
    """dz/dg of z(g) = 1/g + κ/(κ − g) + σ² g; negative on the physical real branch."""
    return -1.0 / g**2 + kappa / (kappa - g) ** 2 + s2


def stieltjes_th(x, s2: float, kappa: float) -> np.ndarray:
    """Stieltjes transform g(x) = ∫ρ(t)/(x − t) dt at real x, boundary value from below.

    Theory units: ρ is MP(ratio 1/κ, mean 1) ⊞ semicircle(σ² = ``s2``).  Inside the
    support g has Im g = πρ(x) > 0 (the root with the largest imaginary part).
    Outside the support all three roots are real; the physical one is the analytic
    continuation of g, which is decreasing in x (dz/dg < 0).  Where several real
    roots are decreasing, the one of smallest modulus is taken (it is the branch
    connected to g ≈ 1/x at infinity); the tests check this against quadrature.
    """
    x = np.atleast_1d(check_array(x, name="x", ndim=None, min_shape=(1,)))
    s2 = check_positive(s2, name="s2", strict=False)
    kappa = check_positive(kappa, name="kappa")
    roots = _cubic_roots(*_cubic_coeffs_th(x.astype(np.complex128), s2, kappa))
    return _pick_branch(roots, s2, kappa).reshape(x.shape)


def _pick_branch(roots: np.ndarray, s2: float, kappa: float) -> np.ndarray:
    """The physical root per row of ``roots`` (N, 3), as :func:`stieltjes_th` describes;
    shared with the closed-form root solver of :mod:`theorylab.gamp.fast`."""
    im = roots.imag
    # a root is complex when its imaginary part is not round-off relative to itself
    inside = (np.abs(im) > 1e-8 * np.abs(roots)).any(axis=1)
    out = np.empty(roots.shape[0], dtype=np.complex128)
    if np.any(inside):
        r = roots[inside]
        k = np.argmax(r.imag, axis=1)
        out[inside] = r[np.arange(r.shape[0]), k]
    if np.any(~inside):
        r = roots[~inside].real
        zp = _zprime_th(r, s2, kappa)
        # physical branch: dz/dg < 0; among those, the smallest |g|
        cost = np.where(zp < 0, np.abs(r), np.inf)
        k = np.argmin(cost, axis=1)
        # fallback (numerically degenerate edge points): smallest dz/dg
        none = ~np.isfinite(cost[np.arange(r.shape[0]), k])
        if np.any(none):
            k[none] = np.argmin(zp[none], axis=1)
        out[~inside] = r[np.arange(r.shape[0]), k]
    return out


def spectral_edges_th(s2: float, kappa: float) -> np.ndarray:
    """Edges of the support of MP(1/κ) ⊞ semicircle(σ²), sorted (2 or 4 values).

    Edges are z(g) at the real critical points of z(g) = 1/g + κ/(κ − g) + σ² g,
    i.e. the real roots of σ²g⁴ − 2κσ²g³ + (κ²σ² + κ − 1)g² + 2κg − κ² = 0.
    """
    s2 = check_positive(s2, name="s2", strict=False)
    kappa = check_positive(kappa, name="kappa")
    if s2 <= 0:
        raise ValueError(f"s2 must be > 0, got {s2!r}")
    r = np.roots([s2, -2 * kappa * s2, kappa**2 * s2 + kappa - 1.0, 2 * kappa, -(kappa**2)])
    r = r[np.abs(r.imag) < 1e-7 * np.maximum(1.0, np.abs(r))].real
    r = r[(np.abs(r) > 1e-14) & (np.abs(r - kappa) > 1e-14)]
    x = np.sort(1.0 / r + kappa / (kappa - r) + s2 * r)
    if x.size % 2:  # a double root counted once: drop the odd one out (degenerate gap)
        x = np.array([x[0], x[-1]])
    if x.size == 0:
        raise FloatingPointError(f"no spectral edges found for s2={s2}, kappa={kappa}")
    return x


def _bulks_th(s2: float, kappa: float, stieltjes=stieltjes_th) -> list[tuple[float, float]]:
    e = spectral_edges_th(s2, kappa)
    bulks = [(float(e[i]), float(e[i + 1])) for i in range(0, e.size - 1, 2)]
    # guard: a pair of edges with no density between them means we mis-paired; merge
    mids = np.array([0.5 * (a + b) for a, b in bulks])
    if not np.all(stieltjes(mids, s2, kappa).imag > 0):
        bulks = [(float(e[0]), float(e[-1]))]
    return bulks


@functools.lru_cache(maxsize=8)
def _gauss(n: int) -> tuple[np.ndarray, np.ndarray]:
    t, w = np.polynomial.legendre.leggauss(n)
    return t, w


def _quad_nodes(bulks, n: int = _N_QUAD) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for ∫ f dx over the bulks; x = a + (b − a)(1 − cos θ)/2."""
    t, w = _gauss(n)
    theta = 0.5 * np.pi * (t + 1.0)
    xs, ws = [], []
    for a, b in bulks:
        xs.append(a + 0.5 * (b - a) * (1.0 - np.cos(theta)))
        ws.append(w * 0.5 * np.pi * 0.5 * (b - a) * np.sin(theta))
    return np.concatenate(xs), np.concatenate(ws)


def spectral_density_th(x, s2: float, kappa: float) -> np.ndarray:
    """Density ρ(x) = Im g(x)/π of MP(ratio 1/κ, mean 1) ⊞ semicircle(σ²) (theory units)."""
    return np.maximum(stieltjes_th(x, s2, kappa).imag, 0.0) / np.pi


def _denoising_mmse_th(s2: float, kappa: float, stieltjes=stieltjes_th) -> float:
    """F_th(σ²) = σ² − (4π²/3) σ⁴ ∫ρ³ (Bun et al. 2016 applied to a Wishart prior);
    ``stieltjes``: the root solver (:func:`stieltjes_th` or the fast twin's)."""
    x, w = _quad_nodes(_bulks_th(s2, kappa, stieltjes))
    rho = np.maximum(stieltjes(x, s2, kappa).imag, 0.0) / np.pi
    return float(s2 - (4.0 * np.pi**2 / 3.0) * s2**2 * np.dot(w, rho**3))


# ------------------------------------------------------------------------ denoiser MMSE

@functools.lru_cache(maxsize=32)
def _table(kappa: float, stieltjes=stieltjes_th) -> CubicSpline:
    ld = np.linspace(math.log(_TABLE_LO), math.log(_TABLE_HI), _TABLE_N)
    f = np.array([kappa * _denoising_mmse_th(math.exp(v) / kappa, kappa, stieltjes)
                  for v in ld])
    # interpolate log F (F spans decades) against log Δ
    return CubicSpline(ld, np.log(np.maximum(f, 1e-300)))


def denoising_mmse_table(kappa: float):
    """The tabulated map Δ ↦ F_code(Δ; κ), computed once per κ and cached.

    Returns a callable accepting scalars or arrays of Δ in [1e-5, 1e3] (algorithm
    units); outside that range call :func:`denoising_mmse` with ``exact=True``.
    """
    kappa = check_positive(kappa, name="kappa")
    spline = _table(kappa)
    return lambda delta: np.exp(spline(np.log(delta)))


def denoising_mmse(delta, *, kappa: float, exact: bool = False):
    """MMSE of the RIE for a Wishart matrix in GOE noise, (1/d)‖Ŝ − S̃‖²_F.

    Parameters
    ----------
    delta : float or array_like
        Noise variance Δ > 0 of R = S̃ + √Δ Z (algorithm units; Z is GOE with spectrum
        filling [−2, 2]).
    kappa : float
        Width ratio κ = m/d > 0 of the prior S̃ = W Wᵀ/√(m d).
    exact : bool, default False
        Integrate the density for every value instead of interpolating the table
        (the table is built once per κ: 201 log-spaced Δ in [1e-5, 1e3]).

    Returns
    -------
    float or ndarray
        F_code(Δ; κ) = κ F_th(Δ/κ; κ) with F_th(σ²) = σ² − (4π²/3) σ⁴ ∫ρ_σ(x)³ dx.

    Raises
    ------
    ValueError
        If ``delta`` ≤ 0 or ``kappa`` ≤ 0.

    Notes
    -----
    ρ_σ is MP(ratio 1/κ, mean 1) ⊞ semicircle(σ²), from the cubic
    σ²g³ − (z + κσ²)g² + (1 − κ + κz)g − κ = 0.  Table interpolation error is below
    1e-6 relative (checked in the tests).

    References
    ----------
    arXiv:2408.03733 (GAMP-RIE), arXiv:1502.06736 (RIE).

    Examples
    --------
    >>> from theorylab.gamp import denoising_mmse
    >>> round(float(denoising_mmse(0.6, kappa=0.5)), 4)
    0.2839
    """
    kappa = check_positive(kappa, name="kappa")
    arr = check_array(delta, name="delta", ndim=None, finite=False, min_shape=(1,))
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"delta must be > 0 and finite, got {delta!r}")
    flat = arr.ravel()
    out = np.empty_like(flat)
    in_tab = (flat >= _TABLE_LO) & (flat <= _TABLE_HI) & (not exact)
    if np.any(in_tab):
        out[in_tab] = denoising_mmse_table(kappa)(flat[in_tab])
    for i in np.flatnonzero(~in_tab):
        out[i] = kappa * _denoising_mmse_th(flat[i] / kappa, kappa)
    out = out.reshape(arr.shape)
    return float(out) if out.ndim == 0 else out


# -------------------------------------------------------------------- Bayes-optimal MMSE

def state_evolution(alpha: float, *, kappa: float, delta: float = 0.0, mse0: float = 1.0,
                    n_iter: int = 200, damping: float = 0.0) -> np.ndarray:
    """State evolution of GAMP-RIE: mse ← F_code((δ + 2 mse)/(4α); κ), figure units.

    Returns the trajectory (length ``n_iter + 1``, starting at ``mse0``).
    """
    alpha = check_positive(alpha, name="alpha")
    kappa = check_positive(kappa, name="kappa")
    delta = check_positive(delta, name="delta", strict=False)
    traj = [float(mse0)]
    m = float(mse0)
    for _ in range(n_iter):
        denoise_var = (delta + 2.0 * m) / (4.0 * alpha)
        if denoise_var <= 1e-12:  # perfect recovery reached
            traj.append(0.0)
            m = 0.0
            continue
        new = float(denoising_mmse(denoise_var, kappa=kappa, exact=True))
        m = (1 - damping) * new + damping * m
        traj.append(m)
    return np.asarray(traj)


def bayes_optimal_mmse(alpha, kappa: float, *, delta: float = 0.0) -> float | np.ndarray:
    """Bayes-optimal MMSE ‖Ŝ − S*‖²_F/d² (figure units) in the limit d → ∞.

    Parameters
    ----------
    alpha : float or array_like
        Sample ratio α = n/d² > 0.
    kappa : float
        Width ratio κ = m/d > 0.
    delta : float, default 0.0
        Label-noise variance δ ≥ 0 (figure units; Δ_th = δ/κ).

    Returns
    -------
    float or ndarray
        MMSE(α); 1 at α → 0, 0 for α ≥ α_PR when δ = 0.

    Raises
    ------
    ValueError
        If ``alpha`` ≤ 0, ``kappa`` ≤ 0 or ``delta`` < 0.

    Notes
    -----
    With σ² = 1/q̂ the fixed-point equation is
    F_th(σ²) = 2ασ² − Δ_th/2 (equivalently (4π²/3)σ²∫ρ³ − Δ_th q̂/2 = 1 − 2α), and
    MMSE = κ (2ασ² − Δ_th/2).  The root is bracketed in
    log σ² ∈ [1e-7, 2(1/κ + Δ_th/2)/α + 1].  Noiseless and
    α ≥ α_PR = κ − κ²/2 (κ ≤ 1; 1/2 for κ ≥ 1): no positive root, MMSE = 0.

    References
    ----------
    arXiv:2408.03733.

    Examples
    --------
    >>> from theorylab.gamp import bayes_optimal_mmse
    >>> round(bayes_optimal_mmse(0.3, 0.5), 4)
    0.1281
    """
    return _bayes_optimal_mmse(alpha, kappa, delta, stieltjes_th)


def _bayes_optimal_mmse(alpha, kappa: float, delta: float, stieltjes) -> float | np.ndarray:
    """:func:`bayes_optimal_mmse` with the root solver ``stieltjes`` as a parameter."""
    kappa = check_positive(kappa, name="kappa")
    delta = check_positive(delta, name="delta", strict=False)
    arr = check_array(alpha, name="alpha", ndim=None, finite=False, min_shape=(1,))
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    out = np.array([_mmse_one(float(a), kappa, delta, stieltjes) for a in arr.ravel()])
    out = out.reshape(arr.shape)
    return float(out) if out.ndim == 0 else out


def _mmse_one(alpha: float, kappa: float, delta: float, stieltjes=stieltjes_th) -> float:
    dth = delta / kappa

    def G(log_s2: float) -> float:
        s2 = math.exp(log_s2)
        return _denoising_mmse_th(s2, kappa, stieltjes) - 2.0 * alpha * s2 + 0.5 * dth

    # F_th <= 1/κ (prior variance), so G < 0 once 2ασ² > 1/κ + Δ_th/2
    lo, hi = math.log(1e-7), math.log(2.0 * (1.0 / kappa + 0.5 * dth) / alpha + 1.0)
    if dth == 0.0 and alpha >= perfect_recovery_threshold(kappa):
        return 0.0
    glo, ghi = G(lo), G(hi)
    if glo <= 0:  # noiseless, just below α_PR: root below 1e-7 (quadrature unreliable there)
        return 0.0
    if ghi > 0:
        raise FloatingPointError(f"no MMSE root bracketed for alpha={alpha}, kappa={kappa}")
    ls = brentq(G, lo, hi, xtol=1e-13, rtol=1e-13)
    s2 = math.exp(ls)
    return float(kappa * (2.0 * alpha * s2 - 0.5 * dth))


def perfect_recovery_threshold(kappa) -> float | np.ndarray:
    """α_PR(κ) = κ − κ²/2 for κ ≤ 1, 1/2 for κ ≥ 1 (noiseless perfect recovery).

    Equals lim (d m − m(m − 1)/2)/d² at m = κd, the dimension of rank-m PSD matrices over
    d² (d(d + 1)/2 / d² → 1/2 once m ≥ d). The two branches meet with zero slope at κ = 1,
    and α_PR/κ → 1 as κ → 0: the edge α̃ = α/κ = 1 of :func:`small_kappa_mmse`.

    Examples
    --------
    >>> from theorylab.gamp import perfect_recovery_threshold
    >>> perfect_recovery_threshold(0.5)
    0.375
    """
    arr = check_array(kappa, name="kappa", ndim=None, finite=False, min_shape=(1,))
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"kappa must be > 0, got {kappa!r}")
    k = np.minimum(arr, 1.0)
    out = k - 0.5 * k**2
    return float(out) if out.ndim == 0 else out


def small_kappa_mmse(alpha_tilde) -> float | np.ndarray:
    """κ → 0 limit of the noiseless MMSE at fixed α̃ = α/κ = n/(d m).

    MMSE = 1 for α̃ < 1/2, 4α̃(1 − α̃) for 1/2 ≤ α̃ ≤ 1, 0 beyond.

    Examples
    --------
    >>> from theorylab.gamp import small_kappa_mmse
    >>> small_kappa_mmse(0.75)
    0.75
    """
    a = check_array(alpha_tilde, name="alpha_tilde", ndim=None, finite=False, min_shape=(1,))
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ValueError(f"alpha_tilde must be > 0, got {alpha_tilde!r}")
    out = np.where(a < 0.5, 1.0, np.where(a <= 1.0, 4.0 * a * (1.0 - a), 0.0))
    return float(out) if out.ndim == 0 else out


def preact_to_label_noise(preact_noise_std: float) -> float:
    """Label-noise variance δ equivalent to pre-activation noise of std σ.

    The GD teacher of the reference code adds σ ξ_k to each pre-activation,
    (1/√m) Σ_k (w_k·x/√d + σξ_k)²; by the CLT over k its effect on the centred label
    is Gaussian noise of variance δ = 2σ²(2 + σ²) (= 0.2578 for σ = 0.25).

    Examples
    --------
    >>> from theorylab.gamp import preact_to_label_noise
    >>> round(preact_to_label_noise(0.25), 4)
    0.2578
    """
    s = check_scalar(preact_noise_std, name="preact_noise_std", lower=0.0)
    return 2.0 * s**2 * (2.0 + s**2)


def label_to_preact_noise(delta: float) -> float:
    """Inverse of :func:`preact_to_label_noise`: σ with 2σ²(2 + σ²) = δ.

    σ² = √(1 + δ/2) − 1.  For the theory units of the paper use Δ_th = δ/κ.

    Examples
    --------
    >>> from theorylab.gamp import label_to_preact_noise, preact_to_label_noise
    >>> round(label_to_preact_noise(preact_to_label_noise(0.25)), 12)
    0.25
    """
    delta = check_scalar(delta, name="delta", lower=0.0)
    return math.sqrt(math.sqrt(1.0 + 0.5 * delta) - 1.0)


def expected_test_error(mse, *, delta: float = 0.0):
    """Expected test error E(y − f̂(x))² = 2·MSE + δ for f̂(x) = (1/d)⟨xxᵀ − I, Ŝ⟩.

    Uses Var(xᵀAx − Tr A) = 2‖A‖²_F for symmetric A and x ~ N(0, I_d).
    """
    delta = check_positive(delta, name="delta", strict=False)
    arr = check_array(mse, name="mse", ndim=None, min_shape=(1,))
    if np.any(arr < 0):
        raise ValueError(f"mse must be >= 0, got min {float(arr.min())!r}")
    out = 2.0 * arr + delta
    return float(out) if out.ndim == 0 else out
