"""TOFU-style evaluation of an unlearned causal language model.

The metrics of TOFU (Maini et al. 2024, "TOFU: A Task of Fictitious Unlearning for LLMs",
arXiv:2401.06121) as the NPO paper (Zhang et al. 2024, arXiv:2404.05868) computes them with
the TOFU evaluation code it ships, on any causal LM and its tokenizer.

Notation (paper symbol -> argument / field)
-------------------------------------------
For a fact with question q, trained answer a, paraphrased answer ã (same value, second
template) and perturbed answers â_1..â_J (wrong values, the paraphrase template):

- L(q, y) = -(1/|y|) Σ_t log π(y_t | q, y_<t): length-normalised negative log-likelihood over
  the answer tokens and ``<eos>`` (:func:`answer_nll`; ``sequence_logprob(..., "mean")``).
- s = exp(mean_j L(q, â_j) − L(q, ã)) per question (:func:`truth_ratio_statistic`): the
  length-normalised probability of the paraphrased answer over the geometric mean of the
  length-normalised probabilities of the perturbed ones. s > 1: the model prefers the truth.
  (With the default ``template="trained"``, ã is the trained answer a and â_j are the
  trained template with the wrong values; see "Answer template" below.)
- Forget quality = p-value of the two-sample Kolmogorov–Smirnov test (``scipy.stats.ks_2samp``,
  two-sided) between s of the unlearned model and s of the retain-only model on the forget
  questions (:func:`forget_quality`; 1.0 for identical samples, higher is better).
- Forget truth ratio = mean_i min(s_i, 1/s_i) (:func:`forget_truth_ratio`).
- Truth score = mean_i max(0, 1 − 1/s_i) (:func:`truth_score`; TOFU's "Truth Ratio" of the
  retain / real-authors / world-facts sets).
- Answer probability (:func:`answer_probability`): on the retain set mean_i exp(−L(q_i, a_i))
  (``kind="answer"``); on the held-out sets mean_i P_i / (P_i + Σ_j P_ij) with the
  length-normalised probabilities P_i = exp(−L(q_i, ã_i)), P_ij = exp(−L(q_i, â_ij))
  (``kind="normalised"``).
- ROUGE-L recall of the greedy answer g against the reference a: LCS(g, a) / |a| in words
  (:func:`rouge_l_recall`; lower case, punctuation-only tokens dropped, no stemming).
- Model utility = harmonic mean of nine numbers, {probability, ROUGE-L recall, truth score}
  × {retain, real authors, world facts} (:func:`model_utility`); 0 if any of them is 0.

TOFU's "real authors" and "world facts" sets are facts about real people and the world the
pretrained model knows; with a model trained from scratch they are stood in for by two
held-out fact sets the model also trains on and that unlearning never touches
(:func:`tofu_splits`).

Answer template of the truth ratio (``template=``). TOFU compares the paraphrased answer ã
with perturbed answers in the same paraphrase template (``"paraphrased"``): a 7 B model
pretrained on text carries what it learnt into the new wording. A model trained from scratch
on one template does not: measured on 8 authors x 3 facts (GPT-2, 2 blocks, d = 64, 100 %
greedy accuracy), s of the trained model on its own facts was 0.9–1.5 (no preference for the
truth) and the truth scores near 0. So the default here, ``"trained"``, puts the true and
the same wrong values into the trained answer template (s = 2.3–4.1 on trained facts, 0.3–0.7
on never-seen facts); ``"paraphrased"`` is TOFU's choice for pretrained checkpoints. In both
the normalised probability uses the same template for P_true and the P_j (TOFU's real-author
options share the answer's format).

Every model call is batched: one padded forward pass per ``batch_size`` sequences for all
likelihoods of all sets, and one greedy decoding per prompt length for all questions.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
import torch

from ..._validation import check_choice, check_int, check_scalar, check_vector
from ...results import ReadOnlyDict, ResultRepr, freeze_array
from .facts import ATTRIBUTES, TEMPLATES, Fact, FactSet, make_facts
from .model import encode_qa, greedy_answers, sequence_logprob

__all__ = [
    "QAAccuracy",
    "TofuSplits",
    "TofuEvaluation",
    "UTILITY_COMPONENTS",
    "answer_nll",
    "truth_ratio_statistic",
    "forget_quality",
    "forget_truth_ratio",
    "truth_score",
    "answer_probability",
    "lcs_length",
    "rouge_l_recall",
    "model_utility",
    "is_well_formed",
    "score_answers",
    "qa_accuracy",
    "tofu_splits",
    "evaluate_tofu",
]

Template = Literal["paraphrased", "trained"]
# the nine numbers of TOFU's model utility, in a fixed order
UTILITY_SETS = ("retain", "real_authors", "world_facts")
UTILITY_COMPONENTS: tuple[str, ...] = tuple(
    f"{s}_{m}" for s in UTILITY_SETS for m in ("probability", "rouge_l", "truth_score"))
_MAX_LOG = 700.0  # |log s| is clipped here so that s stays a finite float64


# ----------------------------------------------------------------------------- helpers

def _as_facts(facts: Any, name: str) -> list[Fact]:
    """A non-empty list of :class:`Fact` from a FactSet or a sequence of facts."""
    if isinstance(facts, FactSet):
        out = list(facts.facts)
    elif isinstance(facts, Fact):
        raise TypeError(f"{name} must be a FactSet or a sequence of Fact, got a single Fact")
    else:
        try:
            out = list(facts)
        except TypeError:
            raise TypeError(f"{name} must be a FactSet or a sequence of Fact, got "
                            f"{type(facts).__name__}") from None
    if not out:
        raise ValueError(f"{name} must hold at least one fact, got an empty set")
    bad = [type(f).__name__ for f in out if not isinstance(f, Fact)]
    if bad:
        raise TypeError(f"{name} must hold Fact objects, got {bad[0]}")
    return out


@contextlib.contextmanager
def _evaluating(model):
    """Eval mode (no dropout) and no autograd; the training flag is restored afterwards."""
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was)


def _device(model) -> torch.device:
    return next(model.parameters()).device


def _check_batch_size(batch_size: Any) -> int:
    return check_int(batch_size, name="batch_size", minimum=1)


# ------------------------------------------------------------------ likelihood statistics

def answer_nll(model, tokenizer, questions: Sequence[str], answers: Sequence[str], *,
               batch_size: int = 64) -> np.ndarray:
    """Length-normalised answer NLL L(q_i, y_i) = -(1/|y_i|) Σ_t log π(y_it | q_i, y_i,<t).

    Batched: ``batch_size`` right-padded sequences per forward pass, in eval mode without
    gradients. Returns float64 ``(n,)``.

    Raises
    ------
    ValueError
        Empty input, unequal lengths, a sequence longer than the model's context, or a
        tokenizer larger than the model's embedding table.
    """
    batch_size = _check_batch_size(batch_size)
    if len(questions) != len(answers):
        raise ValueError(f"questions and answers must have the same length, got "
                         f"{len(questions)} and {len(answers)}")
    if len(questions) == 0:
        raise ValueError("questions must hold at least one question, got an empty sequence")
    dev = _device(model)
    out = []
    with _evaluating(model):
        for s in range(0, len(questions), batch_size):
            batch = encode_qa(tokenizer, questions[s:s + batch_size], answers[s:s + batch_size],
                              model=model, device=dev)
            lp = sequence_logprob(model, batch, reduction="mean")
            out.append(-lp.double().cpu().numpy())
    return np.concatenate(out)


def _alternatives(f: Fact, template: Template) -> tuple[str, list[str]]:
    """(true answer, wrong answers) of the truth ratio in the chosen template."""
    if template == "paraphrased":
        return f.paraphrased_answer, list(f.perturbed_answers)
    if not f.perturbed_values:
        raise ValueError("template='trained' needs facts with perturbed_values (made by "
                         f"make_facts), got a fact of {f.entity!r} without them")
    ans = TEMPLATES[f.attribute][1]
    return f.answer, [ans.format(e=f.entity, v=v) for v in f.perturbed_values]


@dataclass(frozen=True)
class _FactNLL:
    answer: np.ndarray  # (n,) L(q, a)
    true: np.ndarray    # (n,) L(q, ã) (or L(q, a) with template="trained")
    wrong: np.ndarray   # (n, J_max) L(q, â_j), NaN where a fact has fewer wrong answers

    def statistic(self) -> np.ndarray:
        """s = exp(mean_j L_wrong,j − L_true), with log s clipped to ±700."""
        log_s = np.nanmean(self.wrong, axis=1) - self.true
        return np.exp(np.clip(log_s, -_MAX_LOG, _MAX_LOG))

    def normalised_probability(self) -> np.ndarray:
        """P_true / (P_true + Σ_j P_wrong,j) per fact, computed stably in log space."""
        logp = np.concatenate([-self.true[:, None], -self.wrong], axis=1)
        m = np.nanmax(logp, axis=1, keepdims=True)
        p = np.exp(logp - m)
        return p[:, 0] / np.nansum(p, axis=1)


def _nll_requests(facts: list[Fact], template: Template, *, with_answer: bool = True,
                  with_alternatives: bool = True):
    qs: list[str] = []
    ys: list[str] = []
    n_wrong = []
    if with_answer:
        qs += [f.question for f in facts]
        ys += [f.answer for f in facts]
    if with_alternatives:
        alts = [_alternatives(f, template) for f in facts]
        qs += [f.question for f in facts]
        ys += [t for t, _ in alts]
        for f, (_, wrong) in zip(facts, alts, strict=True):
            if not wrong:
                raise ValueError(f"facts must have at least one perturbed answer, got none "
                                 f"for {f.question!r}")
            qs += [f.question] * len(wrong)
            ys += wrong
            n_wrong.append(len(wrong))
    return qs, ys, n_wrong


def _unpack_nll(L: np.ndarray, n: int, n_wrong: list[int], *, with_answer: bool = True,
                with_alternatives: bool = True) -> _FactNLL:
    pos = 0
    answer = true = wrong = np.full(n, np.nan)
    if with_answer:
        answer, pos = L[:n], n
    if with_alternatives:
        true, pos = L[pos:pos + n], pos + n
        J = max(n_wrong)
        wrong = np.full((n, J), np.nan)
        owner = np.repeat(np.arange(n), n_wrong)
        col = np.concatenate([np.arange(k) for k in n_wrong])
        wrong[owner, col] = L[pos:pos + len(owner)]
    return _FactNLL(answer=answer, true=true, wrong=wrong)


def _unique_nll(model, tokenizer, qs: list[str], ys: list[str], batch_size: int) -> np.ndarray:
    """:func:`answer_nll` of each distinct (question, answer) pair once (with the trained
    template the true answer is the trained answer: scored once, used twice)."""
    index: dict[tuple[str, str], int] = {}
    pos = [index.setdefault(k, len(index)) for k in zip(qs, ys, strict=True)]
    uq, uy = zip(*index, strict=True)
    return answer_nll(model, tokenizer, list(uq), list(uy), batch_size=batch_size)[pos]


def _fact_nll(model, tokenizer, facts: list[Fact], template: Template, batch_size: int, *,
              with_answer: bool = True, with_alternatives: bool = True) -> _FactNLL:
    qs, ys, n_wrong = _nll_requests(facts, template, with_answer=with_answer,
                                    with_alternatives=with_alternatives)
    L = _unique_nll(model, tokenizer, qs, ys, batch_size)
    return _unpack_nll(L, len(facts), n_wrong, with_answer=with_answer,
                       with_alternatives=with_alternatives)


def truth_ratio_statistic(model, tokenizer, facts, *, template: Template = "trained",
                          batch_size: int = 64) -> np.ndarray:
    """Per-question statistic s_i = exp(mean_j L(q_i, â_ij) − L(q_i, ã_i)).

    The input of :func:`forget_quality`, :func:`forget_truth_ratio` and :func:`truth_score`
    (TOFU's ``exp(avg_perturbed_loss - avg_paraphrased_loss)``). ``log s`` is clipped to
    ±700 so that s stays finite (the KS test and both truth ratios depend on s only through
    its order and through min(s, 1/s), which the clip does not change in practice).

    Parameters
    ----------
    model, tokenizer
        A causal LM and its tokenizer.
    facts : FactSet or sequence of Fact
        At least one fact.
    template : {"paraphrased", "trained"}
        Paraphrased answer vs perturbed answers in the paraphrase template (TOFU), or the
        trained answer vs the same wrong values in the trained answer template.
    batch_size : int
        Sequences per forward pass.
    """
    template = check_choice(template, name="template", choices=("paraphrased", "trained"))
    fs = _as_facts(facts, "facts")
    nll = _fact_nll(model, tokenizer, fs, template, _check_batch_size(batch_size),
                    with_answer=False)
    return nll.statistic()


def _check_stat(s: Any, name: str) -> np.ndarray:
    s = check_vector(s, name=name)
    if np.any(s <= 0):
        raise ValueError(f"{name} must be > 0 (a ratio of probabilities), got min "
                         f"{float(s.min())!r}")
    return s


def forget_quality(stat_unlearned, stat_retain) -> float:
    """TOFU forget quality: the two-sided Kolmogorov–Smirnov p-value between two samples of
    the truth-ratio statistic s.

    ``scipy.stats.ks_2samp(stat_unlearned, stat_retain).pvalue`` (``method="auto"``: the
    exact distribution for small samples). The statistic is D = sup_x |F_u(x) − F_r(x)| over
    the two empirical CDFs; p = P(D' >= D) under the null that both samples come from one
    distribution. Identical samples give D = 0 and p = 1.

    Parameters
    ----------
    stat_unlearned, stat_retain : array_like (n,), (m,)
        s of the unlearned and of the retain-only model on the forget questions (positive).

    Examples
    --------
    >>> forget_quality([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    1.0
    >>> round(forget_quality([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]), 12)  # 2 / C(6, 3)
    0.1
    """
    from scipy.stats import ks_2samp

    a = _check_stat(stat_unlearned, "stat_unlearned")
    b = _check_stat(stat_retain, "stat_retain")
    return float(ks_2samp(a, b).pvalue)


def forget_truth_ratio(s) -> float:
    """mean_i min(s_i, 1/s_i): 1 when the model cannot tell true from perturbed answers.

    >>> forget_truth_ratio([2.0, 0.5, 1.0])
    0.6666666666666666
    """
    s = _check_stat(s, "s")
    return float(np.mean(np.minimum(s, 1.0 / s)))


def truth_score(s) -> float:
    """mean_i max(0, 1 − 1/s_i): 0 when the model prefers no true answer, → 1 when it
    prefers every true answer strongly.

    >>> truth_score([2.0, 0.5, 4.0])
    0.4166666666666667
    """
    s = _check_stat(s, "s")
    return float(np.mean(np.maximum(0.0, 1.0 - 1.0 / s)))


def answer_probability(model, tokenizer, facts, *,
                       kind: Literal["answer", "normalised"] = "answer",
                       template: Template = "trained", batch_size: int = 64) -> float:
    """Mean answer probability: ``"answer"``: mean_i exp(−L(q_i, a_i)) (TOFU's retain and
    forget probability); ``"normalised"``: mean_i P_i / (P_i + Σ_j P_ij) with length-
    normalised probabilities of the true and the perturbed answers (real authors, world
    facts)."""
    kind = check_choice(kind, name="kind", choices=("answer", "normalised"))
    template = check_choice(template, name="template", choices=("paraphrased", "trained"))
    fs = _as_facts(facts, "facts")
    bs = _check_batch_size(batch_size)
    if kind == "answer":
        nll = _fact_nll(model, tokenizer, fs, template, bs, with_alternatives=False)
        return float(np.mean(np.exp(-nll.answer)))
    nll = _fact_nll(model, tokenizer, fs, template, bs, with_answer=False)
    return float(np.mean(nll.normalised_probability()))


# --------------------------------------------------------------------------- ROUGE-L

_WORD = re.compile(r"[a-z0-9]")


def _rouge_tokens(text: str) -> list[str]:
    return [w for w in str(text).lower().split() if _WORD.search(w)]


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences (dynamic
    programming, O(|a|·|b|)).

    >>> lcs_length("the cat sat on the mat".split(), "the cat lay on a mat".split())
    4
    """
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l_recall(predictions: Sequence[str] | str, references: Sequence[str] | str
                   ) -> np.ndarray | float:
    """ROUGE-L recall LCS(g, r) / |r| in words, per (prediction, reference) pair.

    Tokens: lower-cased whitespace-separated words; tokens without a letter or digit
    (punctuation) are dropped, as ``rouge_score``'s tokenizer does; no stemming. Two
    strings give a float, two equal-length sequences a float64 array.

    >>> rouge_l_recall("the cat lay on a mat .", "the cat sat on the mat .")
    0.6666666666666666
    """
    single = isinstance(predictions, str)
    if single != isinstance(references, str):
        raise TypeError("predictions and references must both be strings or both be "
                        "sequences of strings")
    preds = [predictions] if single else list(predictions)
    refs = [references] if single else list(references)
    if len(preds) != len(refs):
        raise ValueError(f"predictions and references must have the same length, got "
                         f"{len(preds)} and {len(refs)}")
    if not refs:
        raise ValueError("references must hold at least one reference, got an empty sequence")
    out = np.empty(len(refs))
    for i, (g, r) in enumerate(zip(preds, refs, strict=True)):
        rt = _rouge_tokens(r)
        if not rt:
            raise ValueError(f"references must have at least one word, got {r!r}")
        out[i] = lcs_length(_rouge_tokens(g), rt) / len(rt)
    return float(out[0]) if single else out


# -------------------------------------------------------------------------- utility

def model_utility(components: Mapping[str, float] | Sequence[float]) -> float:
    """Harmonic mean H = n / Σ_i 1/x_i of the utility components (TOFU: the nine numbers
    of :data:`UTILITY_COMPONENTS`); H = 0 when any component is 0.

    Parameters
    ----------
    components : mapping name -> number, or a sequence of numbers
        Non-negative finite numbers (at least one).

    Examples
    --------
    >>> model_utility([0.5, 1.0, 1.0])
    0.75
    >>> model_utility({"a": 0.9, "b": 0.0})
    0.0
    """
    vals = list(components.values()) if isinstance(components, Mapping) else components
    x = check_vector(vals, name="components")
    if np.any(x < 0):
        raise ValueError(f"components must be >= 0, got {float(x.min())!r}")
    if np.any(x == 0):
        return 0.0
    return float(len(x) / np.sum(1.0 / x))


# --------------------------------------------------------------------- QA accuracy

def _norm(text: str) -> str:
    return " ".join(str(text).split())


_FORMS: dict[str, re.Pattern] = {}


def is_well_formed(prediction: str, fact: Fact) -> bool:
    """Whether ``prediction`` is an answer of the fact's template kind: the trained answer
    template of its attribute with one to four words as the entity and one word as the value
    (a wrong value or a wrong name is well-formed — a hallucination, not gibberish; a broken,
    truncated or repeated sentence is not)."""
    if fact.attribute not in TEMPLATES:
        raise ValueError(f"fact.attribute must be one of {list(ATTRIBUTES)}, got "
                         f"{fact.attribute!r}")
    pat = _FORMS.get(fact.attribute)
    if pat is None:
        head, tail = TEMPLATES[fact.attribute][1].split("{v}")
        e_head, e_tail = head.split("{e}")
        name = r"[^\s.?]+(?: [^\s.?]+){0,3}"
        pat = re.compile(re.escape(e_head) + name + re.escape(e_tail) + r"\S+"
                         + re.escape(tail))
        _FORMS[fact.attribute] = pat
    return pat.fullmatch(_norm(prediction)) is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class QAAccuracy(ResultRepr):
    """Greedy-answer scores on a fact set.

    Attributes
    ----------
    exact_match : float
        Fraction of answers equal to the trained answer (whitespace-normalised).
    value_match : float
        Fraction of answers that contain the fact's value word.
    gibberish_rate : float
        Fraction of answers that are not well-formed (:func:`is_well_formed`).
    n_facts : int
    """

    exact_match: float
    value_match: float
    gibberish_rate: float
    n_facts: int

    def to_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def score_answers(predictions: Sequence[str], facts) -> QAAccuracy:
    """Exact match, value match and gibberish rate of given answers (no model call)."""
    fs = _as_facts(facts, "facts")
    if isinstance(predictions, str) or len(predictions) != len(fs):
        got = "a single string" if isinstance(predictions, str) else len(predictions)
        raise ValueError(f"predictions must hold one answer per fact ({len(fs)}), got {got}")
    exact = [_norm(p) == _norm(f.answer) for p, f in zip(predictions, fs, strict=True)]
    value = [f.value in str(p).split() for p, f in zip(predictions, fs, strict=True)]
    gib = [not is_well_formed(p, f) for p, f in zip(predictions, fs, strict=True)]
    return QAAccuracy(exact_match=float(np.mean(exact)), value_match=float(np.mean(value)),
                      gibberish_rate=float(np.mean(gib)), n_facts=len(fs))


def qa_accuracy(model, tokenizer, facts, *, max_new_tokens: int = 16) -> QAAccuracy:
    """Greedy answers to the facts' questions (batched), scored by :func:`score_answers`."""
    fs = _as_facts(facts, "facts")
    max_new_tokens = check_int(max_new_tokens, name="max_new_tokens", minimum=1)
    preds = greedy_answers(model, tokenizer, [f.question for f in fs],
                           max_new_tokens=max_new_tokens)
    return score_answers(preds, fs)


# -------------------------------------------------------------------------- splits

@dataclass(frozen=True, slots=True, kw_only=True)
class TofuSplits(ResultRepr):
    """A TOFU-style split of one fact set (indices into ``facts.facts``).

    Attributes
    ----------
    facts : FactSet
        All facts: one entity (author) per group.
    forget, retain : int arrays
        Facts of the forget authors and of the other fictitious authors.
    real_authors, world_facts : int arrays
        Two further author sets the model trains on and unlearning never touches: the
        stand-ins for TOFU's real-author and world-fact sets.
    forget_fraction : float
        Fraction of the fictitious authors in the forget set.
    seed : int
    """

    facts: FactSet
    forget: np.ndarray
    retain: np.ndarray
    real_authors: np.ndarray
    world_facts: np.ndarray
    forget_fraction: float
    seed: int

    def __post_init__(self) -> None:
        for name in ("forget", "retain", "real_authors", "world_facts"):
            object.__setattr__(self, name, freeze_array(np.asarray(getattr(self, name))))

    @property
    def train(self) -> np.ndarray:
        """Indices of the full model's training set (every fact)."""
        return np.sort(np.concatenate([self.forget, self.retain, self.real_authors,
                                       self.world_facts]))

    @property
    def retain_train(self) -> np.ndarray:
        """Indices of the retain-only model's training set (every fact but the forget set)."""
        return np.sort(np.concatenate([self.retain, self.real_authors, self.world_facts]))

    def subset(self, name: str) -> list[Fact]:
        """The facts of one split: ``"forget"``, ``"retain"``, ``"real_authors"``,
        ``"world_facts"``, ``"train"`` or ``"retain_train"``."""
        check_choice(name, name="name", choices=("forget", "retain", "real_authors",
                                                 "world_facts", "train", "retain_train"))
        return self.facts.subset(getattr(self, name))


def tofu_splits(n_authors: int = 20, attributes=4, *, forget_fraction: float = 0.1,
                n_real_authors: int = 4, n_world_facts: int = 4, n_perturbed: int = 3,
                seed: int) -> TofuSplits:
    """One :func:`make_facts` set (one entity per group) split TOFU-style.

    Groups 0..n_authors−1 are the fictitious authors; round(forget_fraction · n_authors) of
    them, drawn with ``seed``, form the forget set, the rest the retain set; the next
    ``n_real_authors`` and ``n_world_facts`` groups stand in for TOFU's real-author and
    world-fact sets. Deterministic given ``seed``.

    Raises
    ------
    ValueError
        ``forget_fraction`` outside (0, 1) or leaving no forget or no retain author.
    """
    n_authors = check_int(n_authors, name="n_authors", minimum=2)
    n_real_authors = check_int(n_real_authors, name="n_real_authors", minimum=1)
    n_world_facts = check_int(n_world_facts, name="n_world_facts", minimum=1)
    seed = check_int(seed, name="seed", minimum=0)
    forget_fraction = check_scalar(forget_fraction, name="forget_fraction", lower=0.0,
                                   upper=1.0, lower_inclusive=False, upper_inclusive=False)
    k = int(np.floor(forget_fraction * n_authors + 0.5))
    if not 1 <= k <= n_authors - 1:
        raise ValueError(f"forget_fraction must leave at least one forget and one retain "
                         f"author, got {forget_fraction!r} (round({forget_fraction!r} * "
                         f"{n_authors}) = {k} forget authors)")
    fs = make_facts(n_authors + n_real_authors + n_world_facts, 1, attributes,
                    n_perturbed=n_perturbed, seed=seed)
    perm = np.random.default_rng([seed, 17]).permutation(n_authors)
    forget_g = np.sort(perm[:k])
    retain_g = np.sort(perm[k:])
    real_g = np.arange(n_authors, n_authors + n_real_authors)
    world_g = np.arange(n_authors + n_real_authors, fs.n_groups)
    return TofuSplits(facts=fs, forget=fs.indices(forget_g), retain=fs.indices(retain_g),
                      real_authors=fs.indices(real_g), world_facts=fs.indices(world_g),
                      forget_fraction=forget_fraction, seed=seed)


# ---------------------------------------------------------------------- evaluation

@dataclass(frozen=True, slots=True, kw_only=True)
class TofuEvaluation(ResultRepr):
    """TOFU evaluation of one model (:func:`evaluate_tofu`).

    Attributes
    ----------
    forget_quality : float
        KS p-value of s against the retain-only model on the forget set (NaN when no
        retain-model statistic was given).
    ks_statistic : float
        The KS distance D behind ``forget_quality`` (NaN without a retain statistic).
    model_utility : float
        Harmonic mean of ``components``.
    forget_truth_ratio, forget_probability, forget_rouge_l : float
        mean min(s, 1/s), mean exp(−L(q, a)) and mean ROUGE-L recall on the forget set.
    forget_accuracy, forget_value_accuracy, forget_gibberish : float
        Greedy exact match, value match and gibberish rate on the forget set.
    retain_accuracy : float
        Greedy exact match on the retain set.
    components : mapping
        The nine utility numbers, keyed as :data:`UTILITY_COMPONENTS`.
    forget_stat : array (n_forget,)
        s on the forget questions: pass it (or this object) as ``retain_model_stats`` when
        this is the retain-only model.
    template : str
        The answer template of the truth ratio (``"trained"`` or ``"paraphrased"``).
    forget_answers : tuple of str
        The greedy answers to the forget questions (in the order of ``splits.forget``).
    """

    forget_quality: float
    ks_statistic: float
    model_utility: float
    forget_truth_ratio: float
    forget_probability: float
    forget_rouge_l: float
    forget_accuracy: float
    forget_value_accuracy: float
    forget_gibberish: float
    retain_accuracy: float
    components: Mapping[str, float] = field(default_factory=dict)
    forget_stat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    template: str = "trained"
    forget_answers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "forget_answers", tuple(str(a) for a in self.forget_answers))
        object.__setattr__(self, "components", ReadOnlyDict(dict(self.components)))
        object.__setattr__(self, "forget_stat", freeze_array(np.asarray(self.forget_stat)))

    def __repr__(self) -> str:
        return (f"TofuEvaluation(forget_quality={self.forget_quality:.4g}, "
                f"model_utility={self.model_utility:.4g}, "
                f"forget_truth_ratio={self.forget_truth_ratio:.4g}, "
                f"forget_accuracy={self.forget_accuracy:.4g}, "
                f"retain_accuracy={self.retain_accuracy:.4g})")

    def to_dict(self) -> dict[str, Any]:
        """Plain floats (JSON-ready): the scalars and ``components`` (not ``forget_stat`` nor
        ``forget_answers``)."""
        out: dict[str, Any] = {f.name: float(getattr(self, f.name)) for f in fields(self)
                               if f.name not in ("components", "forget_stat", "template",
                                                 "forget_answers")}
        out["components"] = {k: float(v) for k, v in self.components.items()}
        out["template"] = str(self.template)
        return out


def _retain_stat(retain_model_stats: Any) -> np.ndarray | None:
    if retain_model_stats is None:
        return None
    if isinstance(retain_model_stats, TofuEvaluation):
        return retain_model_stats.forget_stat
    return _check_stat(retain_model_stats, "retain_model_stats")


def evaluate_tofu(model, tokenizer, splits: TofuSplits, retain_model_stats=None, *,
                  template: Template = "trained", batch_size: int = 64,
                  max_new_tokens: int = 16) -> TofuEvaluation:
    """Forget quality, model utility and its nine components, and forget-set scores.

    All likelihoods of all four sets go through :func:`answer_nll` in one batched pass, all
    questions through one batched greedy decoding (see the module docstring for the
    formulas).

    Parameters
    ----------
    model, tokenizer
        The (unlearned) causal LM and its tokenizer.
    splits : TofuSplits
        From :func:`tofu_splits`.
    retain_model_stats : TofuEvaluation or array_like, optional
        s of the retain-only model on the forget questions (its ``forget_stat``); without it
        ``forget_quality`` is NaN.
    template : {"paraphrased", "trained"}
        Answer template of the truth ratio and of the normalised probability.
    batch_size, max_new_tokens : int
        Sequences per forward pass; greedy decoding length.
    """
    if not isinstance(splits, TofuSplits):
        raise TypeError(f"splits must be a TofuSplits (from tofu_splits), got "
                        f"{type(splits).__name__}")
    template = check_choice(template, name="template", choices=("paraphrased", "trained"))
    bs = _check_batch_size(batch_size)
    max_new_tokens = check_int(max_new_tokens, name="max_new_tokens", minimum=1)
    ref = _retain_stat(retain_model_stats)
    names = ("forget", "retain", "real_authors", "world_facts")
    sets = {k: _as_facts(splits.subset(k), f"splits.{k}") for k in names}
    # one batched likelihood pass over every request of every set
    reqs = {k: _nll_requests(sets[k], template) for k in names}
    L = _unique_nll(model, tokenizer, [q for k in names for q in reqs[k][0]],
                    [y for k in names for y in reqs[k][1]], bs)
    nll: dict[str, _FactNLL] = {}
    pos = 0
    for k in names:
        m = len(reqs[k][0])
        nll[k] = _unpack_nll(L[pos:pos + m], len(sets[k]), reqs[k][2])
        pos += m
    # one batched greedy decoding of every question
    all_facts = [f for k in names for f in sets[k]]
    preds = greedy_answers(model, tokenizer, [f.question for f in all_facts],
                           max_new_tokens=max_new_tokens)
    rouge = rouge_l_recall(preds, [f.answer for f in all_facts])
    per: dict[str, tuple[list[str], np.ndarray]] = {}
    pos = 0
    for k in names:
        m = len(sets[k])
        per[k] = (preds[pos:pos + m], rouge[pos:pos + m])
        pos += m
    comps: dict[str, float] = {}
    for k in UTILITY_SETS:
        prob = (np.mean(np.exp(-nll[k].answer)) if k == "retain"
                else np.mean(nll[k].normalised_probability()))
        comps[f"{k}_probability"] = float(prob)
        comps[f"{k}_rouge_l"] = float(np.mean(per[k][1]))
        comps[f"{k}_truth_score"] = truth_score(nll[k].statistic())
    s_f = nll["forget"].statistic()
    if ref is None:
        fq = ks = float("nan")
    else:
        from scipy.stats import ks_2samp

        res = ks_2samp(s_f, ref)
        fq, ks = float(res.pvalue), float(res.statistic)
    f_scores = score_answers(per["forget"][0], sets["forget"])
    r_scores = score_answers(per["retain"][0], sets["retain"])
    return TofuEvaluation(
        forget_quality=fq, ks_statistic=ks, model_utility=model_utility(comps),
        forget_truth_ratio=forget_truth_ratio(s_f),
        forget_probability=float(np.mean(np.exp(-nll["forget"].answer))),
        forget_rouge_l=float(np.mean(per["forget"][1])),
        forget_accuracy=f_scores.exact_match, forget_value_accuracy=f_scores.value_match,
        forget_gibberish=f_scores.gibberish_rate, retain_accuracy=r_scores.exact_match,
        components=comps, forget_stat=s_f, template=template,
        forget_answers=tuple(per["forget"][0]))

