"""Metamorphosis Representation Projection (MRP): unlearning by an irreversible projection
of the hidden states after chosen decoder blocks.

After block L the hidden state of every token is replaced by

.. math::  h \\mapsto h - h Q^\\top Q,

where the rows of ``Q`` are an orthonormal basis of the rows of :math:`[W_{old}; W]`.
``W`` (``r × d``) is the current request's trainable matrix; ``W_old`` stacks the matrices of
all earlier requests and is a buffer (never trained again), so directions removed by an
earlier request stay removed after later ones. Only ``W`` is trained, by plain gradient
steps on :math:`L = -\\mathrm{CE}(\\text{forget}) + 1.2\\,\\mathrm{CE}(\\text{retain})`; every
base weight of the model keeps its value bit for bit.

Notation map (paper / reference code ↔ here): ``W`` ↔ :attr:`MRPBlock.W`, ``W_old`` ↔
:attr:`MRPBlock.W_old`, ``Q`` ↔ :meth:`MRPBlock.basis`, layer ↔ ``layers`` (0-based index of
the decoder block whose *output* is projected), dimension r ↔ ``rank``, retain_rate ↔
``retain_weight``, learning_rate ↔ ``lr``.

Choices where the public reference code is ambiguous or cannot run as published
(all documented in ``paper_notes/wu2025_mrp.md``):

- **Layer index.** The reference code projects the output of block L but initialises W
  from ``hidden_states[L]``, which in the Transformers convention is the *input* of block L.
  Here the initialisation reads exactly the states the projection acts on: the output of
  block L, after the projection of earlier requests.
- **Forget span.** The reference initialisation removes from the retain states their
  component in the span of *all* forget-token states; with more tokens than dimensions that
  span is the whole space and what remains is rounding noise (an effectively random start).
  Here the forget span is truncated to its top uncentred principal directions holding a
  fraction ``forget_energy`` of the forget states' energy, so the residual is meaningful.
- **The zero row of W_old.** The reference code starts W_old as one zero row and runs a QR
  of ``[W_old; W]^T``; a zero column makes that QR return an arbitrary unit vector as the
  first basis vector (one spurious removed direction). Here W_old starts with no rows and
  the basis is built from the non-degenerate rows only.
- **Wrapper, not a hook.** The projection is a module wrapping the block
  (:class:`MRPBlock`), so ``copy.deepcopy``, ``state_dict`` / ``load_state_dict`` and
  :func:`save_mrp` / :func:`load_mrp` keep it; a forward hook would be lost on a save.

References
----------
Wu, Wei, Chen, Dong, Sun. Reliable Unlearning Harmful Information in LLMs with Metamorphosis
Representation Projection. arXiv:2508.15449 (2025).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ...results import ResultRepr

__all__ = ["MRPBlock", "MRPRequest", "apply_mrp", "mrp_blocks", "decoder_layers",
           "collect_hidden_states", "init_mrp_directions", "mrp_unlearn", "save_mrp",
           "load_mrp"]

PROJECTION_FILE = "mrp_projection.pt"


def _orthonormal_rows(A: torch.Tensor, *, rtol: float = 1e-6) -> torch.Tensor:
    """Orthonormal rows spanning the rows of ``A`` (rank-revealing SVD; no gradient)."""
    if A.shape[0] == 0:
        return A.new_zeros((0, A.shape[1]))
    _, S, Vh = torch.linalg.svd(A.double(), full_matrices=False)
    keep = S > rtol * S.max().clamp_min(torch.finfo(torch.float64).tiny)
    return Vh[keep].to(A.dtype)


class MRPBlock(nn.Module):
    """A decoder block followed by the projection ``h -> h - h Q^T Q`` of its output.

    Parameters
    ----------
    block : nn.Module
        The wrapped decoder block (kept as ``self.block``; its parameters are the base
        model's and are never changed by MRP).
    d_model : int
        Width of the hidden state.

    Attributes
    ----------
    W : nn.Parameter, shape (r, d_model)
        The current request's directions (0 rows when no request is being trained).
    W_old : buffer, shape (k, d_model)
        The directions of every earlier request (0 rows at first); saved in ``state_dict``.

    Notes
    -----
    ``Q`` spans the rows of :math:`[W_{old}; W]`: an orthonormal basis ``Q_old`` of
    ``W_old`` (SVD, rank-revealing), then the reduced QR of the part of ``W`` orthogonal to
    it (differentiable in ``W``). When :math:`[W_{old}; W]` has full row rank this is the
    same projection as the reduced QR of :math:`[W_{old}; W]^\\top` in the reference code.
    Attribute look-ups the wrapper does not know are forwarded to the block, so model code
    that reads e.g. ``layer.attention_type`` still works.
    """

    def __init__(self, block: nn.Module, d_model: int) -> None:
        super().__init__()
        if not isinstance(block, nn.Module):
            raise TypeError(f"block must be a torch.nn.Module, got {type(block).__name__}")
        if isinstance(d_model, bool) or not isinstance(d_model, int) or d_model < 1:
            raise ValueError(f"d_model must be a positive integer, got {d_model!r}")
        self.block = block
        ref = next(block.parameters(), None)
        kw: dict[str, Any] = {"device": ref.device} if ref is not None else {}
        self.register_buffer("W_old", torch.zeros(0, d_model, **kw))
        self.W = nn.Parameter(torch.zeros(0, d_model, **kw))

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            modules = self.__dict__.get("_modules")
            if name.startswith("_") or modules is None or "block" not in modules:
                raise
            return getattr(modules["block"], name)

    @property
    def d_model(self) -> int:
        return int(self.W_old.shape[1])

    def basis(self) -> torch.Tensor:
        """``Q`` (k, d_model), float32, orthonormal rows spanning ``[W_old; W]``."""
        Q_old = _orthonormal_rows(self.W_old.detach().float())
        if self.W.shape[0] == 0:
            return Q_old
        W = self.W.float()
        if Q_old.shape[0]:
            W = W - (W @ Q_old.T) @ Q_old
        Q_new = torch.linalg.qr(W.T, mode="reduced")[0].T
        return torch.cat([Q_old, Q_new], dim=0)

    def project(self, h: torch.Tensor) -> torch.Tensor:
        """``h - h Q^T Q`` on the last dimension (identity when there is nothing to remove)."""
        Q = self.basis()
        if Q.shape[0] == 0:
            return h
        Q = Q.to(h.dtype)
        return h - (h @ Q.T) @ Q

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        out = self.block(*args, **kwargs)
        if isinstance(out, torch.Tensor):
            return self.project(out)
        if isinstance(out, tuple | list):
            return type(out)((self.project(out[0]), *out[1:]))
        raise TypeError(f"block output must be a tensor or a tuple, got {type(out).__name__}")

    def set_directions(self, W: torch.Tensor) -> None:
        """Start a request: ``W`` (r, d_model) becomes the trainable directions."""
        W = torch.as_tensor(W)
        if W.ndim != 2 or W.shape[1] != self.d_model or W.shape[0] < 1:
            raise ValueError(f"W must have shape (r, {self.d_model}) with r >= 1, got "
                             f"{tuple(W.shape)}")
        if not torch.isfinite(W).all():
            raise ValueError("W must be finite, got NaN or inf entries")
        self.W = nn.Parameter(W.detach().to(self.W_old.device, torch.float32).clone())

    def commit(self) -> None:
        """End a request: append ``W`` to ``W_old`` (no longer trainable) and empty ``W``."""
        if self.W.shape[0]:
            self.W_old = torch.cat([self.W_old, self.W.detach().to(self.W_old.dtype)], dim=0)
        self.W = nn.Parameter(self.W_old.new_zeros((0, self.d_model)))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # the number of stored directions varies between requests: take the stored shape
        for name in ("W_old", "W"):
            t = state_dict.get(prefix + name)
            if t is not None and t.ndim == 2 and t.shape[1] == self.d_model:
                new = torch.zeros(tuple(t.shape), device=self.W_old.device)
                if name == "W":
                    self.W = nn.Parameter(new)
                else:
                    self.W_old = new
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


def _n_layers(model) -> int:
    n = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    if not isinstance(n, int):
        raise TypeError("model must be a transformers causal LM with config.num_hidden_layers, "
                        f"got {type(model).__name__}")
    return n


def decoder_layers(model) -> nn.ModuleList:
    """The ``nn.ModuleList`` of decoder blocks (the first one of ``num_hidden_layers``
    entries: ``transformer.h`` for GPT-2, ``model.layers`` for Llama, ...)."""
    n = _n_layers(model)
    for _, mod in model.named_modules():
        if isinstance(mod, nn.ModuleList) and len(mod) == n:
            return mod
    raise ValueError(f"model must hold a ModuleList of its {n} decoder blocks, found none")


def _check_layers(layers, n: int) -> tuple[int, ...]:
    if isinstance(layers, int | np.integer) and not isinstance(layers, bool):
        layers = (int(layers),)
    try:
        out = tuple(layers)
    except TypeError:
        raise TypeError(f"layers must be an int or a sequence of ints, got "
                        f"{type(layers).__name__}") from None
    if not out:
        raise ValueError("layers must name at least one decoder block, got an empty sequence")
    for v in out:
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise TypeError(f"layers must hold integers, got {v!r}")
        if not 0 <= v < n:
            raise ValueError(f"layers must lie in [0, {n}) (the model has {n} decoder "
                             f"blocks), got {int(v)}")
    if len(set(out)) != len(out):
        raise ValueError(f"layers must be distinct, got {list(out)}")
    return tuple(int(v) for v in out)


def apply_mrp(model, layers: int | Sequence[int]) -> list[MRPBlock]:
    """Wrap the decoder blocks ``layers`` (0-based) of ``model`` in :class:`MRPBlock` in
    place; blocks already wrapped are kept. Returns the wrappers in the order of ``layers``.
    """
    mods = decoder_layers(model)
    layers = _check_layers(layers, len(mods))
    d = int(model.config.hidden_size)
    out = []
    for i in layers:
        if not isinstance(mods[i], MRPBlock):
            mods[i] = MRPBlock(mods[i], d)
        out.append(mods[i])
    return out


def mrp_blocks(model) -> dict[int, MRPBlock]:
    """The wrapped blocks of ``model``: {layer index: MRPBlock}."""
    return {i: m for i, m in enumerate(decoder_layers(model)) if isinstance(m, MRPBlock)}


def _check_batch(batch, name: str) -> dict[str, torch.Tensor]:
    if not isinstance(batch, dict) or "input_ids" not in batch:
        raise TypeError(f"{name} must be a batch from encode_qa (a dict with input_ids, "
                        f"attention_mask, labels), got {type(batch).__name__}")
    if batch["input_ids"].shape[0] < 1:
        raise ValueError(f"{name} must hold at least one sequence, got 0")
    return batch


@torch.no_grad()
def collect_hidden_states(model, batch: dict[str, torch.Tensor], layer: int, *,
                          chunk: int = 64) -> torch.Tensor:
    """Per-token outputs of decoder block ``layer`` on ``batch`` (padding dropped), after any
    projection already installed there: ``(n_tokens, d_model)`` float32 on the CPU."""
    batch = _check_batch(batch, "batch")
    mods = decoder_layers(model)
    (layer,) = _check_layers(layer, len(mods))
    got: list[torch.Tensor] = []

    def grab(_m, _i, out):
        got.append((out if isinstance(out, torch.Tensor) else out[0]).detach())

    handle = mods[layer].register_forward_hook(grab)
    was_training = model.training
    model.eval()
    rows = []
    try:
        n = batch["input_ids"].shape[0]
        for s in range(0, n, chunk):
            got.clear()
            m = batch["attention_mask"][s:s + chunk]
            model(input_ids=batch["input_ids"][s:s + chunk], attention_mask=m)
            rows.append(got[0][m.bool()].float().cpu())
    finally:
        handle.remove()
        model.train(was_training)
    return torch.cat(rows, dim=0)


def init_mrp_directions(forget_states: torch.Tensor, retain_states: torch.Tensor, rank: int,
                        *, forget_energy: float = 0.9) -> torch.Tensor:
    """The reference initialisation of W, with a truncated forget span.

    ``B`` = the top uncentred principal directions of the forget states holding a fraction
    ``forget_energy`` of their energy (sum of squared singular values); the retain states
    with their component in span(B) removed; W = the top ``rank`` uncentred principal
    directions of that residual. Returns ``(rank, d)`` float32 with orthonormal rows.
    """
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"rank must be an integer >= 1, got {rank!r}")
    if not (isinstance(forget_energy, float | int) and 0 < forget_energy < 1):
        raise ValueError(f"forget_energy must lie in (0, 1), got {forget_energy!r}")
    F = torch.as_tensor(forget_states).double()
    R = torch.as_tensor(retain_states).double()
    for name, A in (("forget_states", F), ("retain_states", R)):
        if A.ndim != 2 or A.shape[0] < 1:
            raise ValueError(f"{name} must be a non-empty (n, d) matrix, got shape "
                             f"{tuple(A.shape)}")
    if F.shape[1] != R.shape[1]:
        raise ValueError(f"forget_states and retain_states must have the same width, got "
                         f"{F.shape[1]} and {R.shape[1]}")
    if rank > R.shape[1]:
        raise ValueError(f"rank must be <= d_model = {R.shape[1]}, got {rank}")
    _, S, Vh = torch.linalg.svd(F, full_matrices=False)
    e = torch.cumsum(S ** 2, 0) / (S ** 2).sum().clamp_min(1e-300)
    k = int(torch.searchsorted(e, torch.tensor([float(forget_energy)], dtype=e.dtype))) + 1
    B = Vh[:min(k, Vh.shape[0])]
    res = R - (R @ B.T) @ B
    _, _, Vr = torch.linalg.svd(res, full_matrices=False)
    if Vr.shape[0] < rank:
        raise ValueError(f"rank must be <= the number of retain states ({Vr.shape[0]}), "
                         f"got {rank}")
    return Vr[:rank].float()


@dataclass(frozen=True, slots=True, kw_only=True)
class MRPRequest(ResultRepr):
    """One MRP request: where, how many directions, how they started, the loss per step."""

    layers: tuple[int, ...]
    rank: int
    init: str
    lr: float
    steps: int
    losses: np.ndarray  # (steps,) -CE(forget) + retain_weight * CE(retain), read-only
    forget_ce: np.ndarray  # (steps,)
    retain_ce: np.ndarray  # (steps,)


def _rows(batch: dict[str, torch.Tensor], idx: torch.Tensor) -> dict[str, torch.Tensor]:
    return {k: v[idx] for k, v in batch.items()}


def mrp_unlearn(model, forget: dict[str, torch.Tensor], retain: dict[str, torch.Tensor], *,
                layers: int | Sequence[int] = (1,), rank: int = 2, lr: float = 2e-4,
                epochs: int = 2, batch_size: int = 5, retain_weight: float = 1.2,
                init: Literal["hidden", "random"] = "hidden", forget_energy: float = 0.9,
                init_forget: dict[str, torch.Tensor] | None = None,
                init_retain: dict[str, torch.Tensor] | None = None,
                generator: torch.Generator) -> MRPRequest:
    """Run one MRP request on ``model`` in place and commit its directions.

    Wraps ``layers`` (if not yet wrapped), initialises each block's ``W`` (``rank`` rows)
    from hidden states (``init="hidden"``, see :func:`init_mrp_directions`; the states of
    ``init_forget`` / ``init_retain``, default ``forget`` / ``retain``) or at random
    (``init="random"``, the control), trains only the W's by plain gradient descent
    ``W <- W - lr * grad`` on ``-CE(forget) + retain_weight * CE(retain)`` over paired
    minibatches of ``batch_size`` sequences (``epochs`` passes over ``forget``; retain
    minibatches drawn at random), then appends each W to its block's ``W_old``.
    Every base weight is left bit-for-bit unchanged.

    Parameters
    ----------
    model : transformers causal LM
    forget, retain : dict of tensors
        Batches from :func:`~theorylab.unlearning.llm.model.encode_qa`.
    layers : int or sequence of int
        0-based decoder blocks whose outputs are projected.
    rank : int
        Directions per block in this request (the paper's r = 2).
    lr : float
        Step size of the plain gradient steps on W (reference 2e-4 for Llama-2-7B).
    generator : torch.Generator
        Draws the minibatch order and, with ``init="random"``, W.

    Returns
    -------
    MRPRequest
    """
    from theorylab.unlearning.llm.model import qa_loss

    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    forget = _check_batch(forget, "forget")
    retain = _check_batch(retain, "retain")
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ValueError(f"rank must be an integer >= 1, got {rank!r}")
    for name, v in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not (isinstance(lr, float | int) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if not (isinstance(retain_weight, float | int) and retain_weight >= 0
            and math.isfinite(retain_weight)):
        raise ValueError(f"retain_weight must be a finite number >= 0, got {retain_weight!r}")
    if init not in ("hidden", "random"):
        raise ValueError(f"init must be 'hidden' or 'random', got {init!r}")
    mods = decoder_layers(model)
    layers = _check_layers(layers, len(mods))
    d = int(model.config.hidden_size)
    if rank > d:
        raise ValueError(f"rank must be <= d_model = {d}, got {rank}")
    blocks = apply_mrp(model, layers)
    for b in blocks:
        if b.W.shape[0]:
            b.commit()  # a request left uncommitted: keep its directions removed
    for b, L in zip(blocks, layers, strict=True):
        if init == "hidden":
            F = collect_hidden_states(
                model, forget if init_forget is None else init_forget, L)
            R = collect_hidden_states(
                model, retain if init_retain is None else init_retain, L)
            W0 = init_mrp_directions(F, R, rank, forget_energy=forget_energy)
        else:
            W0 = torch.randn(rank, d, generator=generator, dtype=torch.float64)
            W0 = (W0 / W0.norm(dim=1, keepdim=True)).float()
        b.set_directions(W0)
    base = [p for p in model.parameters() if not any(p is b.W for b in blocks)]
    flags = [p.requires_grad for p in base]
    was_training = model.training
    n_f, n_r = forget["input_ids"].shape[0], retain["input_ids"].shape[0]
    dev = forget["input_ids"].device
    losses, fce, rce = [], [], []
    try:
        for p in base:
            p.requires_grad_(False)
        model.train()
        for _ in range(epochs):
            perm = torch.randperm(n_f, generator=generator).to(dev)
            for s in range(0, n_f, batch_size):
                ridx = torch.randint(n_r, (min(batch_size, n_r),), generator=generator).to(dev)
                lf = qa_loss(model, _rows(forget, perm[s:s + batch_size]))
                lr_ = qa_loss(model, _rows(retain, ridx))
                loss = -lf + retain_weight * lr_
                grads = torch.autograd.grad(loss, [b.W for b in blocks])
                with torch.no_grad():
                    for b, g in zip(blocks, grads, strict=True):
                        b.W -= lr * g
                if not all(torch.isfinite(b.W).all() for b in blocks):
                    raise FloatingPointError(f"W became non-finite at step {len(losses)}")
                losses.append(float(loss.detach()))
                fce.append(float(lf.detach()))
                rce.append(float(lr_.detach()))
    finally:
        for p, f in zip(base, flags, strict=True):
            p.requires_grad_(f)
        model.train(was_training)
    for b in blocks:
        b.commit()

    def ro(x):
        a = np.asarray(x, dtype=float)
        a.flags.writeable = False
        return a

    return MRPRequest(layers=layers, rank=rank, init=init, lr=float(lr), steps=len(losses),
                      losses=ro(losses), forget_ce=ro(fce), retain_ce=ro(rce))


def save_mrp(model, tokenizer, path: str | os.PathLike) -> Path:
    """Save a model with its MRP projections: the base model and tokenizer with
    ``save_pretrained`` (blocks unwrapped, so any ``AutoModelForCausalLM`` loader reads
    it) and the projections in ``mrp_projection.pt`` ({layer: W_old, W})."""
    import copy

    from theorylab.unlearning.llm.model import save_lm

    blocks = mrp_blocks(model)
    plain = copy.deepcopy(model)
    mods = decoder_layers(plain)
    for i in blocks:
        mods[i] = mods[i].block
    p = save_lm(plain, tokenizer, path)
    torch.save({"d_model": int(model.config.hidden_size),
                "blocks": {int(i): {"W_old": b.W_old.detach().cpu(), "W": b.W.detach().cpu()}
                           for i, b in blocks.items()}}, p / PROJECTION_FILE)
    return p


def load_mrp(path: str | os.PathLike, *, device=None) -> tuple[Any, Any]:
    """Load what :func:`save_mrp` wrote: the model with its projections, and the tokenizer."""
    from theorylab.unlearning.llm.model import load_lm

    p = Path(path)
    f = p / PROJECTION_FILE
    if not f.is_file():
        raise FileNotFoundError(f"path must hold {PROJECTION_FILE} (written by save_mrp), "
                                f"got {str(p)!r}")
    model, tok = load_lm(p, device=device)
    state = torch.load(f, map_location="cpu", weights_only=True)
    if state["blocks"]:
        blocks = apply_mrp(model, sorted(state["blocks"]))
        for b, i in zip(blocks, sorted(state["blocks"]), strict=True):
            dev = b.W_old.device
            b.W_old = state["blocks"][i]["W_old"].to(dev)
            b.W = nn.Parameter(state["blocks"][i]["W"].to(dev))
    return model, tok
