"""Unlearning methods for any Hugging Face causal LM: GA, GradDiff, KL, IDK, NPO, NPO+RT,
NPO+KL, DPO to a refusal (and DPO+RT), and task-vector negation.

One entry point, :func:`unlearn_lm`, runs ``config.steps`` optimiser steps on minibatches of the
forget set (and of the retain set, for the methods that read it) and returns the unlearned model.
Batches are the dictionaries of :func:`~theorylab.unlearning.llm.model.encode_qa`
(``input_ids``, ``attention_mask``, ``labels`` with -100 off the answer). The losses are those of
:mod:`theorylab.unlearning.llm.losses`, on per-sequence answer log-likelihoods
(``config.reduction="sum"``: ``log π(y|x)`` as NPO defines it; ``"mean"``: per answer token, as
TOFU's cross-entropy for GA/GradDiff).

===============  ======  =====  =======  ==============================================
method           retain  ref.   refusal  loss minimised per step
===============  ======  =====  =======  ==============================================
``ga``           no      no     no       mean log π(y_f)
``grad_diff``    yes     no     no       mean log π(y_f) − λ mean log π(y_r)
``kl``           yes     yes    no       mean log π(y_f) + λ KL(π_ref ‖ π) on D_r tokens
``idk``          yes     no     yes      −mean log π(refusal|x_f) − λ mean log π(y_r)
``npo``          no      yes    no       (2/β) mean softplus(β(log π − log π_ref)) on D_f
``npo_rt``       yes     yes    no       NPO − λ mean log π(y_r)  (NPO + GradDiff's term)
``npo_kl``       yes     yes    no       NPO + λ KL(π_ref ‖ π) on D_r tokens
``dpo``          no      yes    yes      DPO with the refusal preferred over y_f
``dpo_rt``       yes     yes    yes      DPO − λ mean log π(y_r)
``task_vector``  no      no     no       fine-tune a copy on D_f for ``steps``, then
                                         θ − α (θ_ft − θ)
===============  ======  =====  =======  ==============================================

(λ = ``config.retain_weight``, β = ``config.beta``, α = ``config.alpha``.) The reference π_ref is
the model before unlearning: a frozen deep copy is made when a method needs one and none is given.
The IDK/DPO refusal batch holds the forget questions with the answer :data:`~theorylab.unlearning.
llm.losses.REFUSAL` (build it with :func:`refusal_batch`; its words must be in the tokenizer).

References: Zhang et al. 2024 (NPO, arXiv:2404.05868); Maini et al. 2024 (TOFU: GA, GradDiff, KL,
IDK, arXiv:2401.06121); Rafailov et al. 2023 (DPO); Ilharco et al. 2023 (task arithmetic,
arXiv:2212.04089).
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from theorylab.unlearning.llm.losses import (
    REFUSAL,
    dpo_loss,
    ga_loss,
    grad_diff_loss,
    idk_loss,
    kl_retain_loss,
    npo_loss,
)
from theorylab.unlearning.llm.model import encode_qa, sequence_logprob

from ...results import ResultRepr

__all__ = ["LMMethod", "LM_METHODS", "LMUnlearnConfig", "unlearn_lm", "refusal_batch",
           "list_lm_methods"]


@dataclass(frozen=True)
class LMMethod(ResultRepr):
    """What a method reads: retain data, a frozen reference model, the refusal batch."""

    name: str
    reads_retain: bool
    needs_reference: bool
    needs_refusal: bool
    description: str


LM_METHODS: dict[str, LMMethod] = {m.name: m for m in (
    LMMethod("ga", False, False, False, "gradient ascent on the forget NLL"),
    LMMethod("grad_diff", True, False, False, "GA on D_f + descent on D_r"),
    LMMethod("kl", True, True, False, "GA on D_f + KL to the reference on D_r"),
    LMMethod("idk", True, False, True, "fine-tune D_f questions to a refusal + descent on D_r"),
    LMMethod("npo", False, True, False, "negative preference optimisation"),
    LMMethod("npo_rt", True, True, False, "NPO + retain NLL (NPO+GradDiff)"),
    LMMethod("npo_kl", True, True, False, "NPO + KL to the reference on D_r"),
    LMMethod("dpo", False, True, True, "DPO, refusal preferred over the forget answer"),
    LMMethod("dpo_rt", True, True, True, "DPO to a refusal + retain NLL"),
    LMMethod("task_vector", False, False, False,
             "negate the task vector of a copy fine-tuned on D_f"),
)}


def list_lm_methods() -> list[str]:
    """Names accepted by :func:`unlearn_lm`."""
    return list(LM_METHODS)


def _pos_int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    return int(v)


def _real(name: str, v, *, positive: bool) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    ok = math.isfinite(v) and (v > 0 if positive else v >= 0)
    if not ok:
        raise ValueError(f"{name} must be a finite number {'>' if positive else '>='} 0, "
                         f"got {v!r}")
    return float(v)


@dataclass(frozen=True)
class LMUnlearnConfig:
    """Options of :func:`unlearn_lm` (validated on construction).

    Attributes
    ----------
    steps : int
        Optimiser steps (for ``task_vector``: fine-tuning steps on the forget set).
    lr : float
        Learning rate.
    beta : float
        Inverse temperature β of NPO and DPO (0.1 in the paper's TOFU runs).
    retain_weight : float
        λ, the weight of the retain term (1 in TOFU's GradDiff/KL/NPO+RT).
    batch_size : int
        Forget (and retain) sequences per step; minibatches cycle through a permutation drawn
        from the generator each pass.
    reduction : {"sum", "mean"}
        Per-sequence answer log-likelihood: summed over answer tokens or averaged.
    optimizer : {"adamw", "sgd"}
        AdamW (TOFU's choice) or plain SGD (steps exactly ``−lr ∇L``).
    weight_decay : float
        AdamW's decoupled weight decay (ignored by SGD).
    alpha : float
        Task-vector scale α in ``θ − α (θ_ft − θ)``.
    max_grad_norm : float or None
        Clip the gradient norm per step (None: no clipping).
    """

    steps: int = 20
    lr: float = 1e-4
    beta: float = 0.1
    retain_weight: float = 1.0
    batch_size: int = 8
    reduction: Literal["sum", "mean"] = "sum"
    optimizer: Literal["adamw", "sgd"] = "adamw"
    weight_decay: float = 0.0
    alpha: float = 1.0
    max_grad_norm: float | None = None

    def __post_init__(self) -> None:
        _pos_int("steps", self.steps)
        _pos_int("batch_size", self.batch_size)
        _real("lr", self.lr, positive=True)
        _real("beta", self.beta, positive=True)
        _real("retain_weight", self.retain_weight, positive=False)
        _real("weight_decay", self.weight_decay, positive=False)
        _real("alpha", self.alpha, positive=True)
        if self.max_grad_norm is not None:
            _real("max_grad_norm", self.max_grad_norm, positive=True)
        if self.reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', got {self.reduction!r}")
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"optimizer must be 'adamw' or 'sgd', got {self.optimizer!r}")


_KEYS = ("input_ids", "attention_mask", "labels")


def _check_batch(b, name: str) -> int:
    if not isinstance(b, Mapping):
        raise TypeError(f"{name} must be a dict with keys {list(_KEYS)} (see encode_qa), got "
                        f"{type(b).__name__}")
    missing = [k for k in _KEYS if k not in b]
    if missing:
        raise ValueError(f"{name} must hold the keys {list(_KEYS)}, missing {missing}")
    shapes = {k: tuple(b[k].shape) for k in _KEYS}
    if len(set(shapes.values())) != 1 or len(shapes["input_ids"]) != 2:
        raise ValueError(f"{name} tensors must share one (n, L) shape, got {shapes}")
    n = shapes["input_ids"][0]
    if n == 0:
        raise ValueError(f"{name} must hold at least one sequence, got 0")
    return n


def refusal_batch(tokenizer, questions: Sequence[str], *, refusal: str = REFUSAL, model=None,
                  device=None) -> dict[str, torch.Tensor]:
    """The forget questions with the refusal as answer (for ``idk``, ``dpo``, ``dpo_rt``).

    Raises ``ValueError`` when a refusal word is unknown to the tokenizer (a word-level
    tokenizer must be built from the fact texts plus ``[REFUSAL]``).
    """
    unk = tokenizer.unk_token_id
    ids = tokenizer.encode(refusal, add_special_tokens=False)
    if unk is not None and unk in ids:
        missing = [w for w in refusal.split()
                   if unk in tokenizer.encode(w, add_special_tokens=False)]
        raise ValueError(f"refusal words must be in the tokenizer's vocabulary (build it from "
                         f"the texts plus [{refusal!r}]), got unknown words {missing}")
    return encode_qa(tokenizer, list(questions), [refusal] * len(questions), model=model,
                     device=device)


def _rows(batch: Mapping[str, torch.Tensor], idx: torch.Tensor, dev) -> dict[str, torch.Tensor]:
    return {k: batch[k][idx.to(batch[k].device)].to(dev) for k in _KEYS}


class _Cycler:
    """Minibatch indices: passes over a fresh permutation from ``generator`` each time."""

    def __init__(self, n: int, batch_size: int, generator: torch.Generator) -> None:
        self.n, self.bs, self.g = n, min(batch_size, n), generator
        self.perm = torch.randperm(n, generator=generator)
        self.pos = 0

    def next(self) -> torch.Tensor:
        if self.pos + self.bs > self.n:
            self.perm = torch.randperm(self.n, generator=self.g)
            self.pos = 0
        idx = self.perm[self.pos:self.pos + self.bs]
        self.pos += self.bs
        return idx


def _logits(model, b: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits[:, :-1]


def _kl_term(model, reference, r: Mapping[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        ref = _logits(reference, r)
    return kl_retain_loss(_logits(model, r), ref, r["attention_mask"][:, 1:].bool())


def _step_loss(spec: LMMethod, model, reference, f, r, i, cfg: LMUnlearnConfig) -> torch.Tensor:
    red = cfg.reduction
    lp = lambda m, b: sequence_logprob(m, b, reduction=red)  # noqa: E731
    lam, beta = cfg.retain_weight, cfg.beta

    def ref_lp(b):
        with torch.no_grad():
            return lp(reference, b)

    name = spec.name
    if name in ("ga", "task_vector"):
        return ga_loss(lp(model, f))
    if name == "grad_diff":
        return grad_diff_loss(lp(model, f), lp(model, r), retain_weight=lam)
    if name == "kl":
        return ga_loss(lp(model, f)) + lam * _kl_term(model, reference, r)
    if name == "idk":
        return idk_loss(lp(model, i), lp(model, r), retain_weight=lam)
    if name.startswith("npo"):
        loss = npo_loss(lp(model, f), ref_lp(f), beta)
    else:  # dpo, dpo_rt
        loss = dpo_loss(lp(model, i), lp(model, f), ref_lp(i), ref_lp(f), beta)
    if name.endswith("_rt"):
        loss = loss - lam * lp(model, r).mean()
    elif name.endswith("_kl"):
        loss = loss + lam * _kl_term(model, reference, r)
    return loss


def unlearn_lm(model, forget_batch: Mapping[str, torch.Tensor],
               retain_batch: Mapping[str, torch.Tensor] | None = None, *, method: str,
               config: LMUnlearnConfig, generator: torch.Generator, reference=None,
               refusal: Mapping[str, torch.Tensor] | None = None,
               callback: Callable[[int, Any], Any] | None = None, inplace: bool = False):
    """Unlearn the forget set from a causal LM.

    Parameters
    ----------
    model : transformers causal LM
        The model to unlearn (the original is left untouched unless ``inplace=True``).
    forget_batch, retain_batch : dict of tensors
        :func:`encode_qa` batches of D_f and D_r. ``retain_batch`` may be None for the methods
        that do not read retain data (``LM_METHODS[name].reads_retain``).
    method : str
        One of :data:`LM_METHODS`.
    config : LMUnlearnConfig
    generator : torch.Generator
        Draws the minibatch order (nothing else is random).
    reference : model, optional
        The frozen π_ref (default: a deep copy of ``model`` taken before the first step, made
        only for the methods that need one).
    refusal : dict of tensors, optional
        The forget questions answered with the refusal, row-aligned with ``forget_batch``
        (:func:`refusal_batch`); required by ``idk``, ``dpo`` and ``dpo_rt``.
    callback : callable, optional
        ``callback(step, model)`` at step 0 (before any update) and after every step, with the
        model in eval mode (for curves). ``task_vector`` calls it once, with the final model.
    inplace : bool
        Update ``model`` itself instead of a deep copy (saves memory on large models).

    Returns
    -------
    model
        The unlearned model, in eval mode.

    Raises
    ------
    ValueError
        Unknown method, empty forget batch, missing retain or refusal data, misaligned batches.
    TypeError
        ``config`` not an :class:`LMUnlearnConfig`, ``generator`` not a ``torch.Generator``.
    FloatingPointError
        A non-finite loss (the step is named).
    """
    if not isinstance(method, str) or method not in LM_METHODS:
        raise ValueError(f"method must be one of {list(LM_METHODS)}, got {method!r}")
    spec = LM_METHODS[method]
    if not isinstance(config, LMUnlearnConfig):
        raise TypeError(f"config must be an LMUnlearnConfig, got {type(config).__name__}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    n_f = _check_batch(forget_batch, "forget_batch")
    n_r = 0
    if spec.reads_retain:
        if retain_batch is None:
            raise ValueError(f"retain_batch is required by method {method!r} (it reads retain "
                             "data), got None")
        n_r = _check_batch(retain_batch, "retain_batch")
    if spec.needs_refusal:
        if refusal is None:
            raise ValueError(f"refusal is required by method {method!r} (the forget questions "
                             "answered with the refusal; see refusal_batch), got None")
        n_i = _check_batch(refusal, "refusal")
        if n_i != n_f:
            raise ValueError(f"refusal must have one row per forget sequence ({n_f}), got {n_i}")

    if not inplace:
        model = copy.deepcopy(model)
    dev = next(model.parameters()).device
    if spec.needs_reference and reference is None:
        reference = copy.deepcopy(model)
    if reference is not None and spec.needs_reference:
        reference.eval()
        for p in reference.parameters():
            p.requires_grad_(False)

    def report(step: int) -> None:
        if callback is not None:
            model.eval()
            callback(step, model)

    if method == "task_vector":
        return _task_vector(model, forget_batch, n_f, config, generator, dev, callback)

    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=config.lr)
    fc = _Cycler(n_f, config.batch_size, generator)
    rc = _Cycler(n_r, config.batch_size, generator) if spec.reads_retain else None
    report(0)
    for step in range(1, config.steps + 1):
        fi = fc.next()
        f = _rows(forget_batch, fi, dev)
        i = _rows(refusal, fi, dev) if spec.needs_refusal else None
        r = _rows(retain_batch, rc.next(), dev) if rc is not None else None
        model.train()
        try:
            loss = _step_loss(spec, model, reference, f, r, i, config)
        except ValueError as exc:  # the losses refuse NaN log-likelihoods: the model diverged
            if "NaN" not in str(exc):
                raise
            raise FloatingPointError(f"method {method!r}: {exc} at step {step}") from exc
        if not torch.isfinite(loss):
            raise FloatingPointError(f"method {method!r}: loss is {float(loss.detach())} at "
                                     f"step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if config.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
        opt.step()
        report(step)
    return model.eval()


def _task_vector(model, forget_batch, n_f, cfg: LMUnlearnConfig, generator, dev, callback):
    """Fine-tune a copy on D_f (descent on its NLL), then θ ← θ − α (θ_ft − θ)."""
    ft = copy.deepcopy(model)
    params = [p for p in ft.parameters() if p.requires_grad]
    if cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=cfg.lr)
    fc = _Cycler(n_f, cfg.batch_size, generator)
    ft.train()
    for step in range(1, cfg.steps + 1):
        f = _rows(forget_batch, fc.next(), dev)
        loss = -sequence_logprob(ft, f, reduction=cfg.reduction).mean()
        if not torch.isfinite(loss):
            raise FloatingPointError("method 'task_vector': fine-tuning loss is "
                                     f"{float(loss.detach())} at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
        opt.step()
    with torch.no_grad():
        ft_state = dict(ft.named_parameters())
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.sub_(cfg.alpha * (ft_state[name] - p))
    model.eval()
    if callback is not None:
        callback(cfg.steps, model)
    return model
