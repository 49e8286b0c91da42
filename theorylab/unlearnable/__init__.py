"""Unlearnable data: perturbations that keep a model from learning a protected data set.

A data owner perturbs the training images so that a network trained on them learns little
that transfers to clean test images; evaluation is the clean test accuracy of such a model
(ERM or PGD adversarial training) against the share of protected images.

- ``cuda``: CUDA, class-wise convolution filters from a private key (Sadasivan et al. 2023,
  arXiv:2303.04278), the ``same``-filter and per-image-filter controls. NumPy only.
- ``adversarial``: L∞ / L2 PGD attacks and PGD adversarial training (torch).
- ``bayes_error``: leave-one-out RBF estimate of the Bayes error of a labelled sample and its
  smooth surrogate (torch, differentiable, chunked).
- ``beo``: Bayes-error-optimised perturbations (Zhang et al. 2025, arXiv:2511.08191) by
  projected sign-gradient ascent, in pixel or feature space; error-minimising and uniform
  noise baselines (torch).
- ``training``: ERM / adversarial training of the harness models on image arrays and their
  clean test accuracy and confusion matrix (torch).

``cuda`` imports no torch; names are resolved lazily, so ``from theorylab.unlearnable import
cuda_filters`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_LAZY: dict[str, str] = {
    # CUDA (Sadasivan et al. 2023)
    "ProtectedImages": "cuda",
    "cuda_filters": "cuda",
    "random_filters": "cuda",
    "convolve_images": "cuda",
    "apply_cuda": "cuda",
    "apply_random_filters": "cuda",
    # PGD attacks and adversarial training (torch)
    "pgd_attack": "adversarial",
    "project_l2": "adversarial",
    "project_linf": "adversarial",
    "adversarial_train": "adversarial",
    # training and clean evaluation (torch)
    "AttackConfig": "training",
    "Evaluation": "training",
    "fit_classifier": "training",
    "predict_labels": "training",
    "clean_accuracy": "training",
    "confusion_matrix": "training",
    "train_and_evaluate": "training",
    # the reference code's GPU recipe: CIFAR ResNet-18, SGD, crop/flip augmentation
    "ResNet18": "training",
    "resnet18": "training",
    "augment_crop_flip": "training",
    "train_sgd": "training",
    # Bayes-error estimate and BEO perturbations (Zhang et al. 2025), torch
    "BayesErrorEstimate": "bayes_error",
    "median_heuristic_sigma": "bayes_error",
    "loo_posteriors": "bayes_error",
    "bayes_error_surrogate": "bayes_error",
    "estimate_bayes_error": "bayes_error",
    "gaussian_bayes_error": "bayes_error",
    "PerturbationResult": "beo",
    "project_linf_box": "beo",
    "beo_perturb": "beo",
    "error_minimizing_noise": "beo",
    "uniform_noise": "beo",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
