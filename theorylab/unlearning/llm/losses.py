"""Unlearning losses of a causal LM as functions of per-sequence log-likelihoods and logits.

Every loss is a scalar to *minimise*. Inputs are ``log π_θ(y|x)`` per sequence (``logp``, shape
``(n,)``, e.g. from :func:`theorylab.unlearning.llm.model.sequence_logprob`), the same under the
frozen reference policy ``π_ref`` (the model before unlearning, ``logp_ref``), or token logits.

Paper symbols ↔ arguments (Zhang, Lin, Bai & Mei 2024, "Negative Preference Optimization: From
Catastrophic Collapse to Effective Unlearning", arXiv:2404.05868):

- ``π_θ(y|x)``, ``π_ref(y|x)`` ↔ ``exp(logp)``, ``exp(logp_ref)``; ``β`` ↔ ``beta``;
- GA: ``L_GA = E_{D_f}[log π_θ(y|x)]`` (minimising it is gradient *ascent* on the forget
  negative log-likelihood);
- NPO: ``L_NPO,β = (2/β) E_{D_f}[log(1 + (π_θ/π_ref)^β)]
  = −(2/β) E_{D_f}[log σ(−β log(π_θ/π_ref))]``, computed stably as
  ``(2/β) softplus(β (logp − logp_ref))``;
- its gradient ``E_{D_f}[w_θ ∇ log π_θ]`` with ``w_θ = 2 π_θ^β / (π_θ^β + π_ref^β)
  = 2 σ(β (logp − logp_ref)) ∈ (0, 2)`` (:func:`npo_weight`); as ``β → 0``, ``w_θ → 1`` and
  ``∇L_NPO → ∇L_GA``; as ``π_θ → 0``, ``w_θ → 0`` (already forgotten samples stop pushing);
- DPO to a refusal: the refusal ``"i do not know ."`` is the preferred answer ``y_w``, the forget
  answer the rejected one ``y_l``; ``L = −(2/β) E[log σ(β((log π_θ(y_w) − log π_ref(y_w))
  − (log π_θ(y_l) − log π_ref(y_l))))]`` (the reference code's 2/β scale, so that NPO is DPO
  with the preferred term dropped).

IDK replaces every forget answer by :data:`REFUSAL`. With a word-level tokenizer its words must be
in the vocabulary: build the tokenizer from the fact texts *plus* ``[REFUSAL]``
(``build_tokenizer(facts.texts() + [REFUSAL])``); :func:`~theorylab.unlearning.llm.methods.
refusal_batch` refuses a tokenizer that would map them to ``<unk>``.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

__all__ = ["REFUSAL", "ga_loss", "grad_diff_loss", "kl_retain_loss", "idk_loss", "npo_loss",
           "npo_weight", "dpo_loss"]

REFUSAL = "i do not know ."


def _check_beta(beta) -> float:
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
        raise TypeError(f"beta must be a real number, got {type(beta).__name__}")
    if not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a finite number > 0, got {beta!r}")
    return float(beta)


def _check_weight(w, name: str = "retain_weight") -> float:
    if isinstance(w, bool) or not isinstance(w, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(w).__name__}")
    if not (math.isfinite(w) and w >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {w!r}")
    return float(w)


def _check_logp(x, name: str, like: torch.Tensor | None = None) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of per-sequence log-likelihoods, got "
                        f"{type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim != 1 or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n,) with n >= 1, got {tuple(x.shape)}")
    if like is not None and x.shape != like.shape:
        raise ValueError(f"{name} must have shape {tuple(like.shape)} (one value per forget "
                         f"sequence), got {tuple(x.shape)}")
    return x


def ga_loss(logp: torch.Tensor) -> torch.Tensor:
    """Gradient ascent: ``mean(logp)`` over the forget sequences (minimise it to forget)."""
    return _check_logp(logp, "logp").mean()


def grad_diff_loss(logp_forget: torch.Tensor, logp_retain: torch.Tensor, *,
                   retain_weight: float = 1.0) -> torch.Tensor:
    """Gradient difference: ``mean(logp_forget) − retain_weight · mean(logp_retain)``
    (ascent on the forget NLL, descent on the retain NLL)."""
    w = _check_weight(retain_weight)
    return (_check_logp(logp_forget, "logp_forget").mean()
            - w * _check_logp(logp_retain, "logp_retain").mean())


def kl_retain_loss(logits: torch.Tensor, ref_logits: torch.Tensor,
                   mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over (unmasked) positions of ``KL(p_ref ‖ p_θ)`` between the next-token
    distributions of the frozen reference and the current model.

    Parameters
    ----------
    logits, ref_logits : tensor (n, T, V)
        Current and reference logits (the reference's are treated as constants).
    mask : bool tensor (n, T), optional
        Positions to average over (default: all).
    """
    for name, x in (("logits", logits), ("ref_logits", ref_logits)):
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"{name} must be a floating-point torch.Tensor, got "
                            f"{type(x).__name__}")
    if logits.shape != ref_logits.shape or logits.ndim < 2:
        raise ValueError(f"ref_logits must have the shape of logits {tuple(logits.shape)} "
                         f"(at least 2-D), got {tuple(ref_logits.shape)}")
    logq = torch.log_softmax(logits.double() if logits.dtype == torch.float64
                             else logits.float(), dim=-1)
    logp_ref = torch.log_softmax(ref_logits.detach().to(logq.dtype), dim=-1)
    kl = (logp_ref.exp() * (logp_ref - logq)).sum(-1)  # (n, T)
    if mask is None:
        return kl.mean()
    if mask.shape != kl.shape:
        raise ValueError(f"mask must have shape {tuple(kl.shape)}, got {tuple(mask.shape)}")
    m = mask.to(kl.dtype)
    if float(m.sum()) == 0:
        raise ValueError("mask must select at least one position, got an all-False mask")
    return (kl * m).sum() / m.sum()


def idk_loss(logp_refusal: torch.Tensor, logp_retain: torch.Tensor | None = None, *,
             retain_weight: float = 1.0) -> torch.Tensor:
    """IDK: ``−mean(logp_refusal)`` (fine-tune the forget questions to answer
    :data:`REFUSAL`), plus ``−retain_weight · mean(logp_retain)`` when retain data is given."""
    loss = -_check_logp(logp_refusal, "logp_refusal").mean()
    if logp_retain is not None:
        loss = loss - _check_weight(retain_weight) * _check_logp(logp_retain,
                                                                 "logp_retain").mean()
    return loss


def npo_loss(logp: torch.Tensor, logp_ref: torch.Tensor, beta: float) -> torch.Tensor:
    """Negative preference optimisation ``(2/β) mean softplus(β (logp − logp_ref))``.

    Equal to ``(2/β) mean log(1 + (π_θ/π_ref)^β)`` and to ``−(2/β) mean log σ(−β log
    (π_θ/π_ref))``; ``logp_ref`` is detached (the reference is frozen).

    Raises
    ------
    ValueError
        ``beta`` not a finite number > 0, shapes that differ or are empty.
    """
    b = _check_beta(beta)
    logp = _check_logp(logp, "logp")
    logp_ref = _check_logp(logp_ref, "logp_ref", like=logp).detach()
    return (2.0 / b) * F.softplus(b * (logp - logp_ref)).mean()


def npo_weight(logp: torch.Tensor, logp_ref: torch.Tensor, beta: float) -> torch.Tensor:
    """NPO's adaptive weight ``w = 2 π_θ^β / (π_θ^β + π_ref^β) = 2 σ(β (logp − logp_ref))``,
    per sequence, in ``(0, 2)``: ``∇L_NPO = mean(w ∇ logp)`` (no gradient flows through w)."""
    b = _check_beta(beta)
    logp = _check_logp(logp, "logp")
    logp_ref = _check_logp(logp_ref, "logp_ref", like=logp)
    return 2.0 * torch.sigmoid(b * (logp.detach() - logp_ref.detach()))


def dpo_loss(logp_preferred: torch.Tensor, logp_rejected: torch.Tensor,
             logp_preferred_ref: torch.Tensor, logp_rejected_ref: torch.Tensor,
             beta: float) -> torch.Tensor:
    """DPO with the refusal preferred over the forget answer:
    ``−(2/β) mean log σ(β ((logp_w − logp_w_ref) − (logp_l − logp_l_ref)))``."""
    b = _check_beta(beta)
    lw = _check_logp(logp_preferred, "logp_preferred")
    ll = _check_logp(logp_rejected, "logp_rejected", like=lw)
    lwr = _check_logp(logp_preferred_ref, "logp_preferred_ref", like=lw).detach()
    llr = _check_logp(logp_rejected_ref, "logp_rejected_ref", like=lw).detach()
    return -(2.0 / b) * F.logsigmoid(b * ((lw - lwr) - (ll - llr))).mean()
