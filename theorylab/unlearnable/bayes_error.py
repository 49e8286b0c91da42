"""Leave-one-out kernel estimate of the Bayes error of a labelled sample.

The Bayes error of a labelled distribution is ``BER = E_x[1 - max_k P(k | x)]``. Given a
sample ``(f_i, y_i)`` (pixels or learned features) the posteriors are estimated by a
leave-one-out Nadaraya–Watson average with an RBF kernel,

.. math::

    K_{ij} = \\exp\\bigl(-\\lVert f_i - f_j \\rVert^2 / (2 s^2)\\bigr),\\quad K_{ii} = 0,\\qquad
    \\hat\\eta_c(i) = \\frac{\\sum_j K_{ij}\\,1[y_j = c]}{\\sum_j K_{ij}},

and two numbers are read off them:

- the **value**: the leave-one-out 0-1 error of the kernel classifier,
  ``mean_i 1[argmax_c eta_c(i) != y_i]``;
- the **surrogate** for gradients: ``sum_i (1 - eta_{yhat_i}(i))`` with
  ``yhat_i = argmax_c eta_c(i)`` (the plug-in ``1 - max posterior``, unnormalised by ``n``),
  differentiable in every ``f_i``, including through the neighbours' kernel weights.

The bandwidth ``s`` defaults to the median heuristic (the median pairwise distance). Rows are
processed in chunks so that memory is ``O(chunk_size * n)`` instead of ``O(n^2)``; a chunk's
graph is recomputed in the backward pass (activation checkpointing), and chunked and dense
evaluations give the same numbers.

Paper symbol ↔ argument: ``f_i`` ↔ ``features[i]``, ``y_i`` ↔ ``labels[i]``, ``sigma`` ↔
``sigma``, ``eta_c(i)`` ↔ ``loo_posteriors(...)[i, c]``.

References
----------
R. Zhang, J. Sun, E.-P. Lim, P. Zhang, "Towards Provably Unlearnable Examples via Bayes Error
Optimisation", arXiv:2511.08191 (2025); the estimator follows the authors' companion package
(``BayesErrorRBF``, repository ``cat-claws/bayes-error-local-averaging``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from theorylab._validation import check_int, check_positive
from theorylab.results import ResultRepr, freeze_array

__all__ = [
    "BayesErrorEstimate",
    "median_heuristic_sigma",
    "loo_posteriors",
    "bayes_error_surrogate",
    "estimate_bayes_error",
    "gaussian_bayes_error",
]

# entries of one (chunk_size, n) kernel block when chunk_size is not given
_AUTO_BLOCK = 1 << 22


@dataclass(frozen=True, slots=True, kw_only=True)
class BayesErrorEstimate(ResultRepr):
    """What :func:`estimate_bayes_error` returns.

    ``error``: leave-one-out 0-1 error of the kernel classifier (the estimate);
    ``plugin``: ``mean_i (1 - max_c eta_c(i))`` (the surrogate divided by ``n``);
    ``sigma``: the bandwidth used; ``posteriors``: ``(n, n_classes)`` read-only array.
    """

    error: float
    plugin: float
    sigma: float
    n: int
    n_classes: int
    posteriors: np.ndarray


def _check_features(features, *, name: str = "features") -> torch.Tensor:
    if isinstance(features, np.ndarray):
        if np.iscomplexobj(features):
            raise TypeError(f"{name} must be real, got dtype {features.dtype}")
        if not np.issubdtype(features.dtype, np.number) or features.dtype == np.bool_:
            raise TypeError(f"{name} must be a real array, got dtype {features.dtype}")
        features = torch.as_tensor(features, dtype=torch.float64)
    if not isinstance(features, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, "
                        f"got {type(features).__name__}")
    if not features.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor, got {features.dtype}")
    if features.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, d), got shape {tuple(features.shape)}")
    if features.shape[0] < 2:
        raise ValueError(f"{name} must have at least 2 rows (leave-one-out), "
                         f"got {features.shape[0]}")
    if features.shape[1] < 1:
        raise ValueError(f"{name} must have at least 1 column, got {features.shape[1]}")
    if not bool(torch.isfinite(features).all()):
        raise ValueError(f"{name} must be finite, got NaN or inf entries")
    return features


def _check_labels(labels, n: int, n_classes: int | None, device) -> tuple[torch.Tensor, int]:
    if isinstance(labels, np.ndarray):
        if not np.issubdtype(labels.dtype, np.integer):
            raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
        labels = torch.as_tensor(labels)
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels must be a torch.Tensor or numpy array, "
                        f"got {type(labels).__name__}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor, got {labels.dtype}")
    if tuple(labels.shape) != (n,):
        raise ValueError(f"labels must have shape ({n},), got {tuple(labels.shape)}")
    if int(labels.min()) < 0:
        raise ValueError(f"labels must be >= 0, got {int(labels.min())}")
    top = int(labels.max()) + 1
    if n_classes is None:
        n_classes = top
    else:
        n_classes = check_int(n_classes, name="n_classes", minimum=1)
        if top > n_classes:
            raise ValueError(f"labels must be < n_classes={n_classes}, got {top - 1}")
    return labels.to(device=device, dtype=torch.long), n_classes


def _chunk_rows(n: int, chunk_size: int | None) -> int:
    if chunk_size is None:
        return max(1, min(n, _AUTO_BLOCK // n))
    return check_int(chunk_size, name="chunk_size", minimum=1)


def _sq_dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``|a_i - b_j|^2`` as an ``(len(a), len(b))`` matrix, clamped at 0 (round-off)."""
    d2 = (a * a).sum(1, keepdim=True) + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return d2.clamp_min(0.0)


def median_heuristic_sigma(features, *, max_points: int = 4096,
                           chunk_size: int | None = None) -> float:
    """The median of the pairwise distances ``|f_i - f_j|`` (``i < j``).

    With more than ``max_points`` rows, the median is taken over ``max_points`` rows picked
    at even strides (deterministic; no random draw).

    Raises
    ------
    ValueError
        When all points coincide (the median distance is 0).
    """
    f = _check_features(features).detach()
    max_points = check_int(max_points, name="max_points", minimum=2)
    n = f.shape[0]
    if n > max_points:
        f = f[torch.linspace(0, n - 1, max_points, device=f.device).round().long()]
        n = max_points
    rows = _chunk_rows(n, chunk_size)
    parts = []
    with torch.no_grad():
        for s in range(0, n, rows):
            d2 = _sq_dists(f[s:s + rows].double(), f.double())  # (rows, n)
            i = torch.arange(s, min(s + rows, n), device=f.device)[:, None]
            j = torch.arange(n, device=f.device)[None, :]
            parts.append(d2[j > i])
    med = float(np.median(torch.cat(parts).sqrt().cpu().numpy()))
    if not med > 0:
        raise ValueError("features must not all coincide: the median pairwise distance is 0")
    return med


def _posterior_block(f_rows: torch.Tensor, f_all: torch.Tensor, onehot: torch.Tensor,
                     start: int, inv_two_s2: float) -> torch.Tensor:
    # logits_ij = -|f_i - f_j|^2 / (2 s^2); the posterior is a softmax over j != i, which is
    # K_ij / sum_j K_ij with every row rescaled by its largest kernel entry (no underflow).
    logits = -_sq_dists(f_rows, f_all) * inv_two_s2  # (rows, n)
    idx = torch.arange(f_rows.shape[0], device=f_rows.device)
    diag = torch.zeros_like(logits, dtype=torch.bool)
    diag[idx, idx + start] = True
    w = torch.softmax(logits.masked_fill(diag, -math.inf), dim=1)  # (rows, n)
    return w @ onehot  # (rows, K)


def loo_posteriors(features: torch.Tensor, labels: torch.Tensor, *, sigma: float,
                   n_classes: int | None = None, chunk_size: int | None = None
                   ) -> torch.Tensor:
    """Leave-one-out Nadaraya–Watson posteriors ``eta_c(i)``, differentiable in ``features``.

    Parameters
    ----------
    features : Tensor, shape (n, d)
        Points ``f_i`` (floating; ``n >= 2``).
    labels : Tensor, shape (n,)
        Integer classes ``y_i`` in ``[0, n_classes)``.
    sigma : float
        RBF bandwidth ``s > 0``.
    n_classes : int, optional
        Number of classes (default ``max(labels) + 1``).
    chunk_size : int, optional
        Rows per block (default: blocks of about 4 M kernel entries). The result does not
        depend on it.

    Returns
    -------
    Tensor, shape (n, n_classes)
        Rows sum to one.
    """
    f = _check_features(features)
    n = f.shape[0]
    sigma = check_positive(sigma, name="sigma")
    y, k = _check_labels(labels, n, n_classes, f.device)
    rows = _chunk_rows(n, chunk_size)
    onehot = torch.nn.functional.one_hot(y, k).to(f.dtype)  # (n, K)
    inv = 1.0 / (2.0 * sigma * sigma)
    if rows >= n:
        return _posterior_block(f, f, onehot, 0, inv)
    checkpoint = torch.is_grad_enabled() and f.requires_grad
    out = []
    for s in range(0, n, rows):
        if checkpoint:
            from torch.utils.checkpoint import checkpoint as ckpt

            out.append(ckpt(_posterior_block, f[s:s + rows], f, onehot, s, inv,
                            use_reentrant=False))
        else:
            out.append(_posterior_block(f[s:s + rows], f, onehot, s, inv))
    return torch.cat(out)


def bayes_error_surrogate(features: torch.Tensor, labels: torch.Tensor, *, sigma: float,
                          n_classes: int | None = None, chunk_size: int | None = None
                          ) -> torch.Tensor:
    """The smooth surrogate ``sum_i (1 - eta_{yhat_i}(i))``, ``yhat_i = argmax_c eta_c(i)``.

    A scalar tensor differentiable in ``features`` (the argmax is held fixed). Same
    arguments as :func:`loo_posteriors`.
    """
    eta = loo_posteriors(features, labels, sigma=sigma, n_classes=n_classes,
                         chunk_size=chunk_size)
    yhat = eta.detach().argmax(1)
    return (1.0 - eta.gather(1, yhat[:, None])).sum()


def estimate_bayes_error(features, labels, *, sigma: float | None = None,
                         n_classes: int | None = None, chunk_size: int | None = None
                         ) -> BayesErrorEstimate:
    """Leave-one-out RBF estimate of the Bayes error of ``(features, labels)``.

    Parameters
    ----------
    features : array or Tensor, shape (n, d)
    labels : integer array or Tensor, shape (n,)
    sigma : float, optional
        Bandwidth; default :func:`median_heuristic_sigma` of ``features``.
    n_classes, chunk_size :
        As in :func:`loo_posteriors`.

    Returns
    -------
    BayesErrorEstimate
        ``error`` = ``mean_i 1[argmax_c eta_c(i) != y_i]``; ``plugin`` =
        ``mean_i (1 - max_c eta_c(i))``.

    Examples
    --------
    >>> import numpy as np
    >>> f = np.array([[0.0], [0.1], [1.0], [1.1]])
    >>> est = estimate_bayes_error(f, np.array([0, 0, 1, 1]), sigma=0.2)
    >>> est.error
    0.0
    >>> est = estimate_bayes_error(f, np.array([0, 1, 0, 1]), sigma=0.2)
    >>> est.error
    1.0
    """
    f = _check_features(features).detach()
    if sigma is None:
        sigma = median_heuristic_sigma(f, chunk_size=chunk_size)
    with torch.no_grad():
        eta = loo_posteriors(f, labels, sigma=sigma, n_classes=n_classes,
                             chunk_size=chunk_size)
        y, k = _check_labels(labels, f.shape[0], n_classes, f.device)
        err = float((eta.argmax(1) != y).double().mean())
        plugin = float((1.0 - eta.max(1).values).double().mean())
    return BayesErrorEstimate(error=err, plugin=plugin, sigma=float(sigma), n=int(f.shape[0]),
                              n_classes=int(k),
                              posteriors=freeze_array(eta.double().cpu().numpy()))


def gaussian_bayes_error(delta: float) -> float:
    """Bayes error ``Phi(-delta / 2)`` of two equally likely Gaussians ``N(mu_0, I)`` and
    ``N(mu_1, I)`` with ``|mu_0 - mu_1| = delta``.

    >>> round(gaussian_bayes_error(2.0), 6)
    0.158655
    """
    delta = check_positive(delta, name="delta", strict=False)
    return 0.5 * math.erfc(delta / (2.0 * math.sqrt(2.0)))
