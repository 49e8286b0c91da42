"""Robust self-supervised training with out-of-domain unlabeled data (Saberi et al. 2024).

arXiv:2310.00027 (ICLR 2024). Public names:

- data: :func:`sample_gmm_shift`, :class:`GMMShiftSample`, :func:`condition_covariance`;
- surrogate: :func:`robust_surrogate`, :func:`robust_surrogate_linear` (closed-form phi_gamma);
- solvers: :func:`solve_rss`, :func:`solve_erm`, :func:`solve_robust_erm`,
  :func:`rss_objective`, :class:`RSSResult`;
- theory: :func:`exact_accuracy`, :func:`exact_robust_risk`, :func:`bayes_accuracy`,
  :func:`erm_accuracy`, :func:`pca_oracle_accuracy`, :func:`bound_theorem41`,
  :func:`bound_theorem42`;
- estimator: :class:`RSSClassifier` (scikit-learn compatible);
- torch (imported lazily): :func:`wrm_perturb`, :func:`train_rss_torch`, :class:`TorchRSSResult`,
  :func:`train_rss_torch_many` (several networks trained at once, each as alone).
"""

from .data import GMMShiftSample, condition_covariance, sample_gmm_shift
from .estimator import RSSClassifier
from .rss import RSSResult, rss_objective, solve_erm, solve_robust_erm, solve_rss
from .surrogate import SurrogateValues, robust_surrogate, robust_surrogate_linear
from .theory import (
    bayes_accuracy,
    bound_theorem41,
    bound_theorem42,
    erm_accuracy,
    exact_accuracy,
    exact_robust_risk,
    pca_oracle_accuracy,
)

_TORCH_NAMES = ("wrm_perturb", "train_rss_torch", "TorchRSSResult", "train_rss_torch_many")

__all__ = [
    "GMMShiftSample", "sample_gmm_shift", "condition_covariance",
    "robust_surrogate", "robust_surrogate_linear", "SurrogateValues",
    "RSSResult", "solve_rss", "solve_erm", "solve_robust_erm", "rss_objective",
    "exact_accuracy", "exact_robust_risk", "bayes_accuracy", "erm_accuracy",
    "pca_oracle_accuracy", "bound_theorem41", "bound_theorem42",
    "RSSClassifier", *_TORCH_NAMES,
]


def __getattr__(name):  # torch is imported only when its names are used
    if name == "train_rss_torch_many":
        from . import wrm_batched

        return wrm_batched.train_rss_torch_many
    if name in _TORCH_NAMES:
        from . import wrm

        return getattr(wrm, name)
    raise AttributeError(f"module 'theorylab.dro' has no attribute {name!r}")
