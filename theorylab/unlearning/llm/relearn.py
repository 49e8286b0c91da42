"""Relearning attack on an unlearned causal language model.

An unlearning method that only hides knowledge gives it back after a few fine-tuning steps on
a small part of what was forgotten (Lynch et al. 2024, arXiv:2402.16835; Deeb & Roger 2024,
arXiv:2410.08827). The attack fine-tunes a *copy* of θ_u (``copy.deepcopy``: modules that an
unlearning method wrapped around layers, buffers and forward hooks come along) on a subset
D_relearn of the forget set for k Adam steps, and measures on the held-out rest D_eval:

- greedy exact-match and value-match accuracy (:func:`~.metrics.qa_accuracy`);
- mean answer probability mean_i exp(−L(q_i, a_i)) with L the length-normalised answer NLL.

``steps_to_recover(curve, threshold)`` is the first recorded k at which the chosen measure
reaches the threshold (``math.inf`` if none does). The original model is never modified.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
import torch

from ..._validation import check_choice, check_int, check_rng, check_scalar
from ...results import ResultRepr, freeze_array
from .facts import Fact
from .metrics import _as_facts, _evaluating, _fact_nll, qa_accuracy
from .model import encode_qa, qa_loss

__all__ = ["RelearnCurve", "split_for_relearning", "relearn_attack", "steps_to_recover"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RelearnCurve(ResultRepr):
    """Held-out forget-set scores of the relearned copy after each recorded step count.

    Attributes
    ----------
    steps : int array (K,)
        Step counts k at which the copy was evaluated (increasing; 0 = before relearning).
    accuracy, value_accuracy : float arrays (K,)
        Greedy exact-match and value-match accuracy on the held-out facts.
    probability : float array (K,)
        Mean exp(−L(q, a)) on the held-out facts.
    relearn_loss : float array (K,)
        Mean answer NLL on the relearning facts (what the attack minimises).
    n_relearn, n_eval : int
        Sizes of the relearning and of the held-out fact sets.
    """

    steps: np.ndarray
    accuracy: np.ndarray
    value_accuracy: np.ndarray
    probability: np.ndarray
    relearn_loss: np.ndarray
    n_relearn: int
    n_eval: int

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                object.__setattr__(self, f.name, freeze_array(v))

    def to_dict(self) -> dict[str, Any]:
        """Lists and ints (JSON-ready)."""
        return {f.name: (getattr(self, f.name).tolist()
                         if isinstance(getattr(self, f.name), np.ndarray)
                         else getattr(self, f.name)) for f in fields(self)}


def split_for_relearning(facts, fraction: float = 0.2, *, stratify: bool = True,
                         rng=None) -> tuple[list[Fact], list[Fact]]:
    """Random split of a forget set into the relearning facts (about a ``fraction`` of
    them) and the held-out facts the attack is scored on.

    With ``stratify=True`` (default) the split is made within each entity: an entity with
    n_e >= 2 facts gives min(max(1, round(fraction · n_e)), n_e − 1) of them to relearning and
    keeps the rest held out, so every held-out fact has relearned facts of the same entity
    beside it (an entity with one fact is held out). With ``stratify=False`` the facts are
    drawn from the whole set (at least one on each side).

    Returns ``(relearn, held_out)``, each in the original order."""
    fs = _as_facts(facts, "facts")
    if len(fs) < 2:
        raise ValueError(f"facts must hold at least 2 facts to split, got {len(fs)}")
    fraction = check_scalar(fraction, name="fraction", lower=0.0, upper=1.0,
                            lower_inclusive=False, upper_inclusive=False)
    gen = check_rng(rng)
    pick = np.zeros(len(fs), dtype=bool)
    if stratify:
        groups: dict[str, list[int]] = {}
        for i, f in enumerate(fs):
            groups.setdefault(f.entity, []).append(i)
        for idx in groups.values():
            if len(idx) < 2:
                continue
            k = min(max(1, int(np.floor(fraction * len(idx) + 0.5))), len(idx) - 1)
            pick[np.asarray(idx)[gen.choice(len(idx), size=k, replace=False)]] = True
        if not pick.any():
            raise ValueError("facts must hold an entity with at least 2 facts when "
                             "stratify=True, got one fact per entity")
    else:
        k = min(max(1, int(np.floor(fraction * len(fs) + 0.5))), len(fs) - 1)
        pick[gen.choice(len(fs), size=k, replace=False)] = True
    return ([f for f, p in zip(fs, pick, strict=True) if p],
            [f for f, p in zip(fs, pick, strict=True) if not p])


def _check_steps(steps: Any) -> np.ndarray:
    if isinstance(steps, int | np.integer) and not isinstance(steps, bool):
        steps = [steps]
    try:
        vals = [check_int(s, name="steps", minimum=0) for s in steps]
    except TypeError as exc:
        if "steps" in str(exc):
            raise
        raise TypeError(f"steps must be a sequence of integers, got "
                        f"{type(steps).__name__}") from None
    if not vals:
        raise ValueError("steps must hold at least one step count, got an empty sequence")
    return np.unique(np.asarray(vals, dtype=np.int64))


def relearn_attack(model, tokenizer, relearn_facts, eval_facts, *, steps: Sequence[int],
                   lr: float = 1e-3, batch_size: int = 8, generator: torch.Generator,
                   trainable: Callable[[str], bool] | None = None,
                   max_new_tokens: int = 16,
                   callback: Callable[[int, Any], None] | None = None) -> RelearnCurve:
    """Fine-tune a copy of ``model`` on ``relearn_facts`` and score ``eval_facts`` at each k
    in ``steps``.

    Each step is one Adam step on the mean answer NLL of a minibatch of ``batch_size``
    relearning facts; minibatches walk through a fresh ``generator`` permutation each pass.
    Fine-tuning runs in eval mode (dropout off) so the curve depends on ``generator`` only.

    Parameters
    ----------
    model, tokenizer
        The unlearned causal LM (left untouched) and its tokenizer.
    relearn_facts, eval_facts : FactSet or sequence of Fact
        The attack's training facts and the held-out facts it is scored on.
    steps : sequence of int
        Step counts k >= 0 at which to evaluate (sorted, duplicates dropped).
    lr : float
        Adam learning rate.
    batch_size : int
        Relearning facts per step (capped at their number).
    generator : torch.Generator
        Draws the minibatch order.
    trainable : callable name -> bool, optional
        Which parameters (by ``named_parameters`` name) the attack updates; default all.
    max_new_tokens : int
        Greedy decoding length for the accuracy.
    callback : callable (k, model_copy) -> None, optional
        Called after each evaluation with the relearned copy (e.g. to record other metrics).
    """
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    train_f = _as_facts(relearn_facts, "relearn_facts")
    eval_f = _as_facts(eval_facts, "eval_facts")
    ks = _check_steps(steps)
    lr = check_scalar(lr, name="lr", lower=0.0, lower_inclusive=False)
    batch_size = min(check_int(batch_size, name="batch_size", minimum=1), len(train_f))
    max_new_tokens = check_int(max_new_tokens, name="max_new_tokens", minimum=1)
    if trainable is not None and not callable(trainable):
        raise TypeError(f"trainable must be a callable name -> bool or None, got "
                        f"{type(trainable).__name__}")

    m = copy.deepcopy(model)
    params = []
    for name, p in m.named_parameters():
        on = True if trainable is None else bool(trainable(name))
        p.requires_grad_(on)
        if on:
            params.append(p)
    if not params:
        raise ValueError("trainable must select at least one parameter, got none of "
                         f"{sum(1 for _ in m.parameters())}")
    dev = next(m.parameters()).device
    batch = encode_qa(tokenizer, [f.question for f in train_f], [f.answer for f in train_f],
                      model=m, device=dev)
    n = len(train_f)
    opt = torch.optim.Adam(params, lr=lr)
    m.eval()
    rec: dict[str, list[float]] = {k: [] for k in ("acc", "val", "prob", "loss")}
    order = torch.empty(0, dtype=torch.long)
    pos = 0

    def record(k: int) -> None:
        acc = qa_accuracy(m, tokenizer, eval_f, max_new_tokens=max_new_tokens)
        nll = _fact_nll(m, tokenizer, eval_f, "paraphrased", 64, with_alternatives=False)
        with _evaluating(m):
            loss = float(qa_loss(m, batch))
        rec["acc"].append(acc.exact_match)
        rec["val"].append(acc.value_match)
        rec["prob"].append(float(np.mean(np.exp(-nll.answer))))
        rec["loss"].append(loss)
        if callback is not None:
            callback(k, m)

    done = 0
    for k in ks.tolist():
        while done < k:
            if pos >= order.numel():
                order, pos = torch.randperm(n, generator=generator), 0
            idx = order[pos:pos + batch_size]
            pos += batch_size
            idx = idx.to(dev)
            loss = qa_loss(m, {key: v[idx] for key, v in batch.items()})
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            done += 1
        record(k)
    return RelearnCurve(steps=ks, accuracy=np.array(rec["acc"]),
                        value_accuracy=np.array(rec["val"]), probability=np.array(rec["prob"]),
                        relearn_loss=np.array(rec["loss"]), n_relearn=n, n_eval=len(eval_f))


def steps_to_recover(curve: RelearnCurve, threshold: float, *,
                     metric: Literal["accuracy", "value_accuracy", "probability"] = "accuracy"
                     ) -> float:
    """The first recorded step count k with ``curve.<metric>[k] >= threshold``, as a float
    (``math.inf`` when the curve never reaches it; 0.0 if the unlearned model already does).

    >>> import numpy as np
    >>> c = RelearnCurve(steps=np.array([0, 5, 10]), accuracy=np.array([0.0, 0.4, 0.9]),
    ...                  value_accuracy=np.zeros(3), probability=np.zeros(3),
    ...                  relearn_loss=np.zeros(3), n_relearn=2, n_eval=5)
    >>> steps_to_recover(c, 0.5)
    10.0
    >>> steps_to_recover(c, 0.95)
    inf
    """
    if not isinstance(curve, RelearnCurve):
        raise TypeError(f"curve must be a RelearnCurve, got {type(curve).__name__}")
    metric = check_choice(metric, name="metric",
                          choices=("accuracy", "value_accuracy", "probability"))
    threshold = check_scalar(threshold, name="threshold")
    hit = np.flatnonzero(np.asarray(getattr(curve, metric)) >= threshold)
    return float(curve.steps[hit[0]]) if hit.size else math.inf
