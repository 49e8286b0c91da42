"""GAMP-RIE and the Bayes-optimal error of extensive-width quadratic networks.

Maillard, Troiani, Martin, Krzakala, Zdeborová, "Bayes-optimal learning of an
extensive-width neural network from quadratically many samples", NeurIPS 2024,
arXiv:2408.03733.  Units and notation: see :mod:`theorylab.gamp.theory`.
"""

from .data import QuadraticNetworkInstance, quadratic_labels, sample_quadratic_network
from .gamp import GampRieResult, solve_gamp_rie
from .gd import GDResult, train_quadratic_network_gd
from .rie import rie_denoise
from .theory import (
    bayes_optimal_mmse,
    denoising_mmse,
    expected_test_error,
    label_to_preact_noise,
    perfect_recovery_threshold,
    preact_to_label_noise,
    small_kappa_mmse,
    state_evolution,
)

__all__ = [
    "QuadraticNetworkInstance",
    "sample_quadratic_network",
    "quadratic_labels",
    "GampRieResult",
    "solve_gamp_rie",
    "GDResult",
    "train_quadratic_network_gd",
    "rie_denoise",
    "denoising_mmse",
    "bayes_optimal_mmse",
    "perfect_recovery_threshold",
    "small_kappa_mmse",
    "preact_to_label_noise",
    "label_to_preact_noise",
    "state_evolution",
    "expected_test_error",
]
