"""Slow reference twins of the language-model fast paths (used by tests and benchmarks).

``greedy_answers_recompute`` is :func:`~theorylab.unlearning.llm.model.greedy_answers` with
the whole sequence recomputed at every decoding step instead of cached keys and values.
"""

from __future__ import annotations

from .model import _reference_greedy_answers as greedy_answers_recompute

__all__ = ["greedy_answers_recompute"]
