"""Language-model unlearning on real ``transformers`` code.

A tiny GPT-2-architecture model trained from scratch on fictitious facts stands in for the
1–7 B chat models of the papers; every function takes any Hugging Face causal LM and its
tokenizer, so the same code runs on a public checkpoint loaded from a local path on a GPU.
``facts`` is NumPy only; the other submodules import torch and transformers, so names are
resolved lazily.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_LAZY: dict[str, str] = {
    # data
    "Fact": "facts",
    "FactSet": "facts",
    "make_facts": "facts",
    "ATTRIBUTES": "facts",
    # model and tokenizer
    "build_tokenizer": "model",
    "tiny_gpt2": "model",
    "check_compatible": "model",
    "encode_qa": "model",
    "token_logprobs": "model",
    "sequence_logprob": "model",
    "qa_loss": "model",
    "train_lm": "model",
    "greedy_answers": "model",
    "save_lm": "model",
    "load_lm": "model",
    # MRP: representation projection (mrp.py)
    "MRPBlock": "mrp",
    "MRPRequest": "mrp",
    "apply_mrp": "mrp",
    "mrp_blocks": "mrp",
    "decoder_layers": "mrp",
    "collect_hidden_states": "mrp",
    "init_mrp_directions": "mrp",
    "mrp_unlearn": "mrp",
    "save_mrp": "mrp",
    "load_mrp": "mrp",
    # losses (npo): GA, GradDiff, KL, IDK, NPO and its weight, DPO to a refusal
    "REFUSAL": "losses",
    "ga_loss": "losses",
    "grad_diff_loss": "losses",
    "kl_retain_loss": "losses",
    "idk_loss": "losses",
    "npo_loss": "losses",
    "npo_weight": "losses",
    "dpo_loss": "losses",
    # methods (npo): unlearn_lm and its config
    "LMMethod": "methods",
    "LM_METHODS": "methods",
    "LMUnlearnConfig": "methods",
    "unlearn_lm": "methods",
    "refusal_batch": "methods",
    "list_lm_methods": "methods",
    # synthetic_rf (npo): the NPO paper's random-features synthetic
    "RFProblem": "synthetic_rf",
    "RFCurve": "synthetic_rf",
    "make_rf_problem": "synthetic_rf",
    "rf_unlearn": "synthetic_rf",
    "RF_METHODS": "synthetic_rf",
    "PAPER_RATES": "synthetic_rf",
    # metrics.py (llmcore): TOFU evaluation
    "QAAccuracy": "metrics",
    "TofuSplits": "metrics",
    "TofuEvaluation": "metrics",
    "UTILITY_COMPONENTS": "metrics",
    "answer_nll": "metrics",
    "truth_ratio_statistic": "metrics",
    "forget_quality": "metrics",
    "forget_truth_ratio": "metrics",
    "truth_score": "metrics",
    "answer_probability": "metrics",
    "lcs_length": "metrics",
    "rouge_l_recall": "metrics",
    "model_utility": "metrics",
    "is_well_formed": "metrics",
    "score_answers": "metrics",
    "qa_accuracy": "metrics",
    "tofu_splits": "metrics",
    "evaluate_tofu": "metrics",
    # relearn.py (llmcore): relearning attack
    "RelearnCurve": "relearn",
    "split_for_relearning": "relearn",
    "relearn_attack": "relearn",
    "steps_to_recover": "relearn",
    # concept vectors (ConceptVectors, arXiv:2406.11614): module concept_vectors
    "ValueSite": "concept_vectors",
    "ConceptVector": "concept_vectors",
    "NeedleResult": "concept_vectors",
    "value_site": "concept_vectors",
    "value_vectors": "concept_vectors",
    "unembedding": "concept_vectors",
    "topk_tokens": "concept_vectors",
    "intrinsic_scores": "concept_vectors",
    "locate_concept_vectors": "concept_vectors",
    "ablate_value_vector": "concept_vectors",
    "needle": "concept_vectors",
    "localisation_gate": "concept_vectors",
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
