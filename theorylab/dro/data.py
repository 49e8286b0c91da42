"""Planted Gaussian-mixture instances with a domain shift (Saberi et al. 2024, Sec. 4).

Labeled in-domain data: y uniform on {-1, +1}, X | y ~ N(y mu_0, sigma_0^2 Sigma).
Unlabeled out-of-domain data: u uniform on {-1, +1} (hidden), X' | u ~ N(u mu_1, sigma_1^2 Sigma),
with mu_1 = mu_0 + alpha v, v a random unit vector orthogonal to mu_0 (so ||mu_0 - mu_1|| = alpha,
the paper's shift), and Sigma = I unless ``covariance`` is given.

Paper symbol <-> argument: d <-> ``d``; m <-> ``m``; n <-> ``n``; ||mu_0|| <-> ``mu_norm``;
sigma_0, sigma_1 <-> ``sigma0``, ``sigma1``; alpha <-> ``alpha``; Sigma_0/sigma_0^2 =
Sigma_1/sigma_1^2 <-> ``covariance``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_array, check_int, check_rng, check_scalar
from ..results import ReadOnlyDict, ResultRepr

__all__ = ["GMMShiftSample", "sample_gmm_shift", "condition_covariance", "DigitsShiftSplit",
           "load_digits_shift", "digits_covariate_shift"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GMMShiftSample(ResultRepr):
    """A draw of :func:`sample_gmm_shift` with its ground truth.

    Attributes
    ----------
    X, y : ndarray, shapes (m, d), (m,)
        Labeled in-domain samples, labels in {-1, +1}.
    X_unlabeled : ndarray, shape (n, d)
        Unlabeled shifted samples.
    y_unlabeled : ndarray, shape (n,)
        Their hidden component labels (for diagnostics only; never given to a learner).
    mu0, mu1 : ndarray, shape (d,)
        Means of the in-domain and shifted mixtures.
    cov0, cov1 : ndarray, shape (d, d)
        Covariances sigma_0^2 Sigma and sigma_1^2 Sigma.
    alpha : float
        ||mu_0 - mu_1||.
    """

    X: np.ndarray
    y: np.ndarray
    X_unlabeled: np.ndarray
    y_unlabeled: np.ndarray
    mu0: np.ndarray
    mu1: np.ndarray
    cov0: np.ndarray
    cov1: np.ndarray
    alpha: float
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("X", "y", "X_unlabeled", "y_unlabeled", "mu0", "mu1", "cov0", "cov1"):
            a = getattr(self, name).view()
            a.flags.writeable = False
            object.__setattr__(self, name, a)
        object.__setattr__(self, "meta", ReadOnlyDict(self.meta))

    def sample_test(self, n_test: int, *, rng=None) -> tuple[np.ndarray, np.ndarray]:
        """Fresh in-domain labeled samples (for Monte-Carlo checks of exact accuracy)."""
        n_test = check_int(n_test, name="n_test", minimum=1)
        rng = check_rng(rng)
        return _draw(rng, n_test, self.mu0, self.cov0)


def _draw(rng: np.random.Generator, k: int, mu: np.ndarray, cov: np.ndarray,
          balanced: bool = False):
    d = mu.shape[0]
    if balanced:
        y = rng.permutation(np.concatenate([-np.ones(k // 2), np.ones(k - k // 2)]))
    else:
        y = rng.choice(np.array([-1.0, 1.0]), size=k)
    if np.allclose(cov, np.diag(np.diag(cov))):
        noise = rng.standard_normal((k, d)) * np.sqrt(np.diag(cov))
    else:
        noise = rng.standard_normal((k, d)) @ np.linalg.cholesky(cov).T
    return y[:, None] * mu + noise, y


def condition_covariance(d: int, kappa: float) -> np.ndarray:
    """Diagonal covariance with condition number ``kappa`` and mean eigenvalue 1.

    Eigenvalues are log-spaced on ``[1, kappa]`` and rescaled to average 1, so
    ``trace = d`` as for the identity.

    Examples
    --------
    >>> import numpy as np
    >>> from theorylab.dro import condition_covariance
    >>> C = condition_covariance(4, 8.0)
    >>> float(np.trace(C)), float(np.linalg.cond(C))
    (4.0, 8.0)
    """
    d = check_int(d, name="d", minimum=1)
    kappa = check_scalar(kappa, name="kappa", lower=1.0)
    ev = np.geomspace(1.0, kappa, d) if d > 1 else np.ones(1)
    ev = ev / ev.mean()
    return np.diag(ev)


def sample_gmm_shift(d: int, m: int, n: int, *, mu_norm: float = 1.0, sigma0: float = 1.0,
                     sigma1: float = 1.0, alpha: float = 0.0, covariance=None,
                     balanced: bool = False, rng=None) -> GMMShiftSample:
    """Labeled in-domain and unlabeled shifted Gaussian-mixture samples with ground truth.

    Parameters
    ----------
    d : int
        Dimension (>= 2 when ``alpha > 0``, so that a shift direction orthogonal to mu_0 exists).
    m : int
        Number of labeled in-domain samples (>= 1).
    n : int
        Number of unlabeled out-of-domain samples (>= 0).
    mu_norm : float
        ||mu_0|| (> 0); mu_0 is a uniformly random direction.
    sigma0, sigma1 : float
        Noise scales of the in-domain and shifted mixtures (> 0).
    alpha : float
        Shift ||mu_1 - mu_0|| (>= 0), along a random unit vector orthogonal to mu_0.
    covariance : array_like, shape (d, d) or (d,), optional
        Shared shape Sigma of both covariances (a vector means a diagonal); must be symmetric
        positive definite. Default: the identity.
    balanced : bool
        Draw exactly ``m // 2`` labeled samples of class -1 and ``m - m // 2`` of class +1
        (in random order) instead of i.i.d. uniform labels; useful at tiny ``m`` so that
        both classes are present for cross-validation.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    GMMShiftSample

    Raises
    ------
    ValueError
        On non-positive sizes or scales, a negative shift, or an invalid covariance.

    References
    ----------
    Saberi et al., ICLR 2024, arXiv:2310.00027, Sec. 4 and Table 1.

    Examples
    --------
    >>> from theorylab.dro import sample_gmm_shift
    >>> s = sample_gmm_shift(20, 5, 100, alpha=0.5, rng=0)
    >>> s.X.shape, s.X_unlabeled.shape, round(float(np.linalg.norm(s.mu1 - s.mu0)), 6)
    ((5, 20), (100, 20), 0.5)
    """
    d = check_int(d, name="d", minimum=1)
    m = check_int(m, name="m", minimum=1)
    n = check_int(n, name="n", minimum=0)
    mu_norm = check_scalar(mu_norm, name="mu_norm", lower=0.0, lower_inclusive=False)
    sigma0 = check_scalar(sigma0, name="sigma0", lower=0.0, lower_inclusive=False)
    sigma1 = check_scalar(sigma1, name="sigma1", lower=0.0, lower_inclusive=False)
    alpha = check_scalar(alpha, name="alpha", lower=0.0)
    if alpha > 0 and d < 2:
        raise ValueError(f"d must be >= 2 when alpha > 0, got {d}")
    if covariance is None:
        Sigma = np.eye(d)
    else:
        C = check_array(covariance, name="covariance", ndim=None)
        if C.ndim == 1:
            if C.shape != (d,):
                raise ValueError(f"covariance must have shape ({d},) or ({d}, {d}), got {C.shape}")
            if np.any(C <= 0):
                raise ValueError("covariance must be positive definite, got a diagonal "
                                 f"entry {C.min()!r}")
            Sigma = np.diag(C)
        elif C.shape == (d, d):
            if not np.allclose(C, C.T):
                raise ValueError("covariance must be symmetric")
            if np.linalg.eigvalsh(C)[0] <= 0:
                raise ValueError("covariance must be positive definite, got smallest "
                                 f"eigenvalue {np.linalg.eigvalsh(C)[0]!r}")
            Sigma = C
        else:
            raise ValueError(f"covariance must have shape ({d},) or ({d}, {d}), got {C.shape}")
    rng = check_rng(rng)
    mu0 = rng.standard_normal(d)
    mu0 *= mu_norm / np.linalg.norm(mu0)
    v = rng.standard_normal(d)
    if d > 1:
        v -= (v @ mu0) / (mu0 @ mu0) * mu0
    v /= np.linalg.norm(v)
    mu1 = mu0 + alpha * v
    cov0, cov1 = sigma0**2 * Sigma, sigma1**2 * Sigma
    X, y = _draw(rng, m, mu0, cov0, balanced=balanced)
    if n > 0:
        Xu, yu = _draw(rng, n, mu1, cov1)
    else:
        Xu, yu = np.empty((0, d)), np.empty(0)
    return GMMShiftSample(X=X, y=y, X_unlabeled=Xu, y_unlabeled=yu, mu0=mu0, mu1=mu1,
                          cov0=cov0, cov1=cov1, alpha=alpha,
                          meta={"d": d, "m": m, "n": n, "mu_norm": mu_norm,
                                "sigma0": sigma0, "sigma1": sigma1, "balanced": balanced})


@dataclass(frozen=True, slots=True, kw_only=True)
class DigitsShiftSplit(ResultRepr):
    """Labeled, shifted-unlabeled and in-domain test splits of scikit-learn's digits.

    Attributes
    ----------
    X, y : labeled in-domain images (m, 64) in [0, 1] and classes (m,).
    X_unlabeled : shifted unlabeled images (n, 64).
    y_unlabeled : their hidden classes (diagnostics only).
    X_test, y_test : in-domain test images and classes.
    """

    X: np.ndarray
    y: np.ndarray
    X_unlabeled: np.ndarray
    y_unlabeled: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def digits_covariate_shift(images: np.ndarray, *, blur: float = 0.6,
                           gain: float = 0.8, offset: float = 0.1) -> np.ndarray:
    """Blur (Gaussian filter, ``blur`` pixels), rescale intensities by ``gain`` and add
    ``offset``: a covariate shift of 8x8 digit images in [0, 1], clipped to [0, 1]."""
    from scipy.ndimage import gaussian_filter

    images = check_array(images, name="images", ndim=None, min_shape=(1, 1))
    if images.ndim not in (2, 3) or images.size % 64 or images.shape[-1] not in (8, 64):
        raise ValueError(f"images must have shape (n, 64) or (n, 8, 8), got {images.shape}")
    blur = check_scalar(blur, name="blur", lower=0.0)
    gain = check_scalar(gain, name="gain")
    offset = check_scalar(offset, name="offset")
    imgs = images.reshape(-1, 8, 8)
    out = gaussian_filter(imgs, sigma=(0, blur, blur)) if blur > 0 else imgs
    return np.clip(gain * out + offset, 0.0, 1.0).reshape(-1, 64)


def load_digits_shift(m: int, n: int, *, n_test: int = 600, blur: float = 0.6,
                      gain: float = 0.8, offset: float = 0.1, rng=None) -> DigitsShiftSplit:
    """Split scikit-learn's bundled digits into m labeled, n shifted unlabeled and a test set.

    The labeled and test images are in-domain (pixel values / 16); the unlabeled images are
    disjoint from both and pass through :func:`digits_covariate_shift`. The labeled set is
    class-balanced (``m`` rounded down to a multiple of 10, at least one per class).

    Examples
    --------
    >>> from theorylab.dro.data import load_digits_shift
    >>> sp = load_digits_shift(50, 300, rng=0)
    >>> sp.X.shape, sp.X_unlabeled.shape, sp.X_test.shape
    ((50, 64), (300, 64), (600, 64))
    """
    from sklearn.datasets import load_digits

    m = check_int(m, name="m", minimum=10)
    n = check_int(n, name="n", minimum=0)
    n_test = check_int(n_test, name="n_test", minimum=1)
    rng = check_rng(rng)
    data = load_digits()
    Xall, yall = data.data / 16.0, data.target.astype(np.int64)
    if m + n + n_test > Xall.shape[0]:
        raise ValueError(f"m + n + n_test must be <= {Xall.shape[0]}, got {m + n + n_test}")
    perm = rng.permutation(Xall.shape[0])
    test, rest = perm[:n_test], perm[n_test:]
    per = m // 10
    lab = np.concatenate([rest[yall[rest] == c][:per] for c in range(10)])
    pool = np.setdiff1d(rest, lab)
    unl = pool[rng.permutation(pool.shape[0])[:n]]
    return DigitsShiftSplit(
        X=Xall[lab], y=yall[lab],
        X_unlabeled=digits_covariate_shift(Xall[unl], blur=blur, gain=gain, offset=offset),
        y_unlabeled=yall[unl], X_test=Xall[test], y_test=yall[test])
