"""Machine-unlearning evaluation harness: scenarios, oracles, metrics, baselines, runner.

Every unlearning method is scored the same way: each metric is reported together with its
gap to a retrained-from-scratch oracle (several seeds, with their spread). ``scenarios`` and
``data`` are NumPy only; the other submodules import torch, so names are resolved lazily:
``from theorylab.unlearning import class_forget`` does not import torch.

A benchmark in a few lines (digits, CPU; records carry every metric, its oracle mean and std,
the gap, Avg.Gap and collapse flags)::

    from theorylab.unlearning import run_benchmark, summarize
    res = run_benchmark(["none", "ft", "ssd", "scrub"], ["class", "random"], seeds=3,
                        n_oracles=5, cache_dir="cache/unlearning")
    for row in summarize(res.records):
        print(row["method"], row["scenario"], row["avg_gap_mean"], row["n_flagged"])

A new method is a function registered with its declarations; the harness withholds whatever
is not declared::

    from dataclasses import dataclass
    from theorylab.unlearning import register_method

    @dataclass(frozen=True)
    class MyConfig:
        steps: int = 10

    @register_method("mine", config=MyConfig, needs_retain=False)
    def mine(model, forget, retain=None, *, config, generator, train_set=None, oracles=None):
        ...  # may read forget.X and forget.y only
        return model
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_LAZY: dict[str, str] = {
    # data
    "Dataset": "data",
    "load_digits_split": "data",
    "load_diabetes_split": "data",
    "load_friedman1_split": "data",
    "load_fashion_mnist_split": "data",
    "read_idx": "data",
    # scenarios
    "ForgetSplit": "scenarios",
    "check_forget_retain": "scenarios",
    "random_forget": "scenarios",
    "class_forget": "scenarios",
    "subclass_forget": "scenarios",
    "superclass_labels": "scenarios",
    "noisy_label_forget": "scenarios",
    "coherent_forget": "scenarios",
    "target_range_forget": "scenarios",
    "identity_forget": "scenarios",
    # models and oracles (torch)
    "Recipe": "models",
    "Seeds": "models",
    "MLP": "models",
    "TinyCNN": "models",
    "build_model": "models",
    "train_model": "models",
    "predict_logits": "models",
    "as_tensors": "models",
    "Ensemble": "oracle",
    "train_ensemble": "oracle",
    "retrain_oracles": "oracle",
    "ensemble_seeds": "oracle",
    # metrics (NumPy; relearn time uses torch)
    "accuracy_family": "metrics",
    "mae_family": "metrics",
    "svc_mia": "metrics",
    "regression_svc_mia": "metrics",
    "entropy_lr_mia": "metrics",
    "loss_mia_accuracy": "metrics",
    "nomus": "metrics",
    "margins": "metrics",
    "klom": "metrics",
    "klom_p95": "metrics",
    "klom_floor": "metrics",
    "zrf": "metrics",
    "avg_gap": "metrics",
    "oracle_gaps": "metrics",
    "ain": "metrics",
    # methods
    "Subset": "methods",
    "Withheld": "methods",
    "UndeclaredInputError": "methods",
    "register_method": "methods",
    "get_method": "methods",
    "list_methods": "methods",
    "apply_method": "methods",
    "check_model": "methods",
    "SSDConfig": "ssd",
    "BlindspotConfig": "regression",
    "GaussianFTConfig": "regression",
    "ModHiFiConfig": "modhifi",
    # datamodel matching (georgiev2024_dmm)
    "Datamodels": "attribution",
    "fit_datamodels": "attribution",
    "datamodel_attribution": "attribution",
    "DMMConfig": "dmm",
    "OMConfig": "dmm",
    # influence approximation (liu2025_iau)
    "IAUConfig": "iau",
    "InfluenceConfig": "influence",
    # prune first, then unlearn (Jia et al. 2023)
    "omp_masks": "sparse",
    "prune_and_rewind": "sparse",
    "keep_mask": "sparse",
    "IUConfig": "sparse",
    # label-agnostic forgetting (Shen et al. 2024)
    "LAFConfig": "laf",
    "LAFRConfig": "laf",
    # runner
    "run_benchmark": "runner",
    "summarize": "runner",
    "evaluate_klom": "runner",
    "SCENARIOS": "runner",
    # tables and figures of a benchmark run
    "results_table": "reporting",
    "results_figure": "reporting",
    "write_results": "reporting",
    "metric_info": "reporting",
}

__all__ = sorted(_LAZY)


def _register(names: dict[str, str]) -> None:
    _LAZY.update(names)
    __all__[:] = sorted(_LAZY)


# identity unlearning (MUFAC-style pseudo-identity benchmark)
_register({"IdentityData": "mufac", "make_identity_data": "mufac", "score_identity": "mufac",
           "identity_benchmark": "mufac", "CFKConfig": "mufac", "AdvNegGradConfig": "mufac",
           "identity_ulira": "mufac", "class_forget_variant": "mufac",
           "lira_scores": "metrics", "lira_roc": "metrics"})

# worst-case forget sets (Fan et al. 2024): bi-level selection, capped-simplex projection
_register({"select_worst_case": "worstcase", "WorstCaseResult": "worstcase",
           "project_capped_simplex": "worstcase", "project_capped_simplex_sort": "worstcase",
           "per_sample_losses": "worstcase"})

# concept-guided class forgetting (Chang et al. 2024): concept bottleneck + poisoning method
_register({"CONCEPTS": "concept", "region_concepts": "concept", "concept_presence": "concept",
           "ConceptModel": "concept", "fit_concept_model": "concept",
           "integrated_gradients": "concept", "concept_neighbours": "concept",
           "class_group_accuracy": "concept", "poison_labels": "concept",
           "ConceptPoisonConfig": "concept"})


# representation-level evaluation (Kim, Cha & Kim 2025)
_register({"linear_cka": "representation", "linear_cka_gram": "representation",
           "batched_cka": "representation", "penultimate_features": "representation",
           "cka_noise_floor": "representation", "knn_accuracy": "representation",
           "probe_accuracy": "representation", "representation_report": "representation",
           "HeadOnlyConfig": "representation"})

# restoration of unlearned models through a sparse autoencoder (Jang et al. 2026)
_register({"TopKSAE": "restoration", "train_sae": "restoration",
           "expert_latents": "restoration", "restore_logits": "restoration",
           "restoration_rate": "restoration", "restoration_curve": "restoration",
           "rotation_pretrain": "restoration"})

# GAN unlearning (Tiwary et al. 2023, Adapt-then-Unlearn) and generator-quality metrics
_register({"GANConfig": "gan", "AdaptConfig": "gan", "UnlearnConfig": "gan",
           "build_gan": "gan", "train_gan": "gan", "adapt_negative": "gan",
           "adapt_then_unlearn": "gan", "positives_finetune": "gan", "extrapolate": "gan",
           "collect_feedback": "gan", "evaluate_generator": "gan",
           "frechet_distance": "gan_metrics", "frechet_distance_gaussian": "gan_metrics",
           "knn_precision_recall": "gan_metrics", "feature_rate": "gan_metrics"})


def __getattr__(name: str) -> Any:
    try:
        mod = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'theorylab.unlearning' has no attribute {name!r}") from None
    return getattr(importlib.import_module(f"theorylab.unlearning.{mod}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
