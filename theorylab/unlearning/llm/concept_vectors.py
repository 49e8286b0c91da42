"""Concept vectors: single MLP value vectors that carry a concept, their intrinsic scores,
ablation, and Needle (unlearning by editing the located vector only).

Paper: Hong, Yu, Ravfogel, Yang, Geva 2024, "Intrinsic Evaluation of Unlearning Using
Parametric Knowledge Traces" (ConceptVectors, arXiv:2406.11614).

A transformer MLP computes ``m(x) = sum_i a_i(x) v_i``: the activation ``a_i`` of hidden unit
``i`` scales its *value vector* ``v_i`` (a row of the down-projection read as a
``(d_ff, d_model)`` matrix), which is added to the residual stream. Projecting a value vector
onto the vocabulary with the unembedding ``E`` (``(V, d_model)``), the scores ``v_i E^T``
("logit lens") show which tokens the unit promotes. A *concept vector* is a value vector whose
top-k promoted tokens are about one concept.

Notation map (paper -> argument):

- layer ``ℓ``, dimension ``j`` (the benchmark's ``Layer`` / ``Dim``) -> ``layer``, ``dim``;
- ``v = W_out^ℓ[j]`` -> :func:`value_vectors` row ``dim`` (see :class:`ValueSite`);
- ``v E^T`` top-k -> :func:`topk_tokens` (k = 200 on 7 B models; 20 on tiny ones);
- ``cos(v_before, v_after)``, Jaccard of the top-k sets -> :func:`intrinsic_scores`.

Where the value vectors live (any Hugging Face causal LM):

======================================  =============================================  ========
family                                  module (``{layer}`` = block index)             vectors
======================================  =============================================  ========
GPT-2                                   ``transformer.h.{layer}.mlp.c_proj``           rows of
                                        (``Conv1D``, weight ``(d_ff, d_model)``)       weight
LLaMA / Mistral / Qwen2 / Gemma / OLMo  ``model.layers.{layer}.mlp.down_proj``         columns
(HF port)                               (``nn.Linear``, weight ``(d_model, d_ff)``)    of weight
OLMo (original code)                    ``model.transformer.blocks.{layer}.ff_out``    columns
GPT-NeoX / Pythia                       ``gpt_neox.layers.{layer}.mlp.dense_4h_to_h``  columns
OPT                                     ``model.decoder.layers.{layer}.fc2``           columns
======================================  =============================================  ========

These are tried in order; for another architecture pass ``path="...{layer}..."`` naming the
down-projection module (an ``nn.Linear`` from ``d_ff`` to ``d_model``, or a GPT-2-style
``Conv1D``). The orientation follows from the module type: ``Conv1D`` stores ``(in, out)``,
so value vectors are rows; ``nn.Linear`` stores ``(out, in)``, so they are columns.

Needle (paper's ``ft_type=Needle``): gradient steps of an unlearning loss that update the
located vector only (the gradient of the down-projection weight is masked to that row/column,
every other parameter is frozen), then Gaussian noise on that vector. The number of steps and
the noise rule are not stated in the paper (unconfirmed); here noise has standard deviation
``noise_std * ||v_before||`` per coordinate (``noise_std=0.1`` as in the paper's validation
notebook, read relative to the vector's norm so that it means the same on a tiny model as on a
7 B one: noise norm ≈ 0.1·sqrt(d_model)·||v||, i.e. about ||v|| at d_model = 128).
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from ...results import ResultRepr

__all__ = [
    "DOWN_PROJ_PATHS",
    "ValueSite",
    "ConceptVector",
    "NeedleResult",
    "value_site",
    "value_vectors",
    "unembedding",
    "topk_tokens",
    "cosine",
    "jaccard",
    "intrinsic_scores",
    "locate_concept_vectors",
    "ablate_value_vector",
    "needle",
    "localisation_gate",
]

#: Down-projection module paths tried in order (``{layer}`` = block index).
DOWN_PROJ_PATHS: tuple[str, ...] = (
    "transformer.h.{layer}.mlp.c_proj",
    "model.layers.{layer}.mlp.down_proj",
    "model.transformer.blocks.{layer}.ff_out",
    "gpt_neox.layers.{layer}.mlp.dense_4h_to_h",
    "model.decoder.layers.{layer}.fc2",
)


def _check_int(name: str, v: Any, lo: int, hi: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    if v < lo or (hi is not None and v >= hi):
        rule = f"in [{lo}, {hi})" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be {rule}, got {v}")
    return int(v)


def _n_layers(model) -> int | None:
    cfg = getattr(model, "config", None)
    for key in ("num_hidden_layers", "n_layer", "n_layers"):
        n = getattr(cfg, key, None)
        if isinstance(n, int):
            return n
    return None


@dataclass(frozen=True)
class ValueSite(ResultRepr):
    """The down-projection of one MLP block, read as ``n_vectors`` value vectors.

    ``weight`` is the live parameter (not a copy); ``columns`` is True when the value
    vectors are its columns (``nn.Linear``), False when they are its rows (``Conv1D``).
    """

    layer: int
    path: str
    columns: bool
    weight: torch.nn.Parameter = field(repr=False, compare=False)

    @property
    def n_vectors(self) -> int:
        return int(self.weight.shape[1] if self.columns else self.weight.shape[0])

    @property
    def d_model(self) -> int:
        return int(self.weight.shape[0] if self.columns else self.weight.shape[1])

    def index(self, dim: int) -> tuple:
        """Index into ``weight`` selecting value vector ``dim``."""
        dim = _check_int("dim", dim, 0, self.n_vectors)
        return (slice(None), dim) if self.columns else (dim,)

    def vectors(self) -> torch.Tensor:
        """All value vectors, ``(n_vectors, d_model)``, a detached copy."""
        w = self.weight.detach()
        return (w.T if self.columns else w).clone()

    def vector(self, dim: int) -> torch.Tensor:
        """Value vector ``dim``, ``(d_model,)``, a detached copy."""
        return self.weight.detach()[self.index(dim)].clone()


def value_site(model, layer: int, *, path: str | None = None) -> ValueSite:
    """Locate the down-projection of block ``layer`` (see the module docstring's table).

    Raises
    ------
    ValueError
        ``layer`` outside ``[0, n_layers)``, or no known (or the given) path resolves.
    TypeError
        The module at ``path`` is neither an ``nn.Linear`` nor a ``Conv1D``.
    """
    n = _n_layers(model)
    layer = _check_int("layer", layer, 0, n)
    paths = (path,) if path is not None else DOWN_PROJ_PATHS
    if path is not None and "{layer}" not in path:
        raise ValueError(f"path must contain '{{layer}}', got {path!r}")
    for p in paths:
        name = p.format(layer=layer)
        try:
            mod = model.get_submodule(name)
        except AttributeError:
            continue
        if isinstance(mod, torch.nn.Linear):
            return ValueSite(layer=layer, path=name, columns=True, weight=mod.weight)
        if type(mod).__name__ == "Conv1D" and hasattr(mod, "weight"):
            return ValueSite(layer=layer, path=name, columns=False, weight=mod.weight)
        raise TypeError(f"module at {name!r} must be an nn.Linear or a Conv1D, got "
                        f"{type(mod).__name__}")
    raise ValueError(f"path must name the MLP down-projection of this model; none of "
                     f"{list(paths)} resolves in {type(model).__name__} at layer {layer}")


def value_vectors(model, layer: int, *, path: str | None = None) -> torch.Tensor:
    """The value vectors of block ``layer`` as a ``(d_ff, d_model)`` detached copy."""
    return value_site(model, layer, path=path).vectors()


def unembedding(model) -> torch.Tensor:
    """The output embedding ``E`` (``(V, d_model)``, detached) the logit lens projects on."""
    out = model.get_output_embeddings()
    if out is None:
        raise ValueError(f"model must have an output embedding (a causal LM head), got "
                         f"{type(model).__name__} without one")
    return out.weight.detach()


def topk_tokens(vectors: torch.Tensor, E: torch.Tensor, k: int, *,
                chunk: int = 4096) -> torch.Tensor:
    """Token ids of the ``k`` largest logit-lens scores ``v E^T`` of each vector.

    Parameters
    ----------
    vectors : tensor, ``(n, d)`` or ``(d,)``
    E : tensor, ``(V, d)``
        Unembedding (e.g. :func:`unembedding`).
    k : int
        ``1 <= k <= V``.
    chunk : int
        Vectors scored per matrix product (bounds memory on 7 B vocabularies).

    Returns
    -------
    LongTensor, ``(n, k)`` (or ``(k,)`` for one vector), highest score first.
    """
    if vectors.ndim not in (1, 2):
        raise ValueError(f"vectors must have shape (n, d) or (d,), got {tuple(vectors.shape)}")
    if E.ndim != 2 or E.shape[1] != vectors.shape[-1]:
        raise ValueError(f"E must have shape (V, {vectors.shape[-1]}), got {tuple(E.shape)}")
    k = _check_int("k", k, 1, E.shape[0] + 1)
    chunk = _check_int("chunk", chunk, 1)
    one = vectors.ndim == 1
    V = vectors.detach().reshape(-1, vectors.shape[-1])
    Ed = E.detach().to(V.device, torch.float32)
    out = [torch.topk(V[s:s + chunk].float() @ Ed.T, k, dim=-1).indices
           for s in range(0, V.shape[0], chunk)]
    idx = torch.cat(out).cpu()
    return idx[0] if one else idx


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """cos(a, b) in float64. A zero vector has no direction: the result is then 0.0."""
    a = a.detach().reshape(-1).double().cpu()
    b = b.detach().reshape(-1).double().cpu()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    na, nb = float(a.norm()), float(b.norm())
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(a @ b) / (na * nb)


def jaccard(a: Iterable[int], b: Iterable[int]) -> float:
    """|A ∩ B| / |A ∪ B| of two token-id sets (1.0 when both are empty)."""
    A = {int(x) for x in (a.tolist() if isinstance(a, torch.Tensor) else a)}
    B = {int(x) for x in (b.tolist() if isinstance(b, torch.Tensor) else b)}
    if not A and not B:
        return 1.0
    return len(A & B) / len(A | B)


def intrinsic_scores(v_before: torch.Tensor, v_after: torch.Tensor, E: torch.Tensor, *,
                     k: int = 20) -> dict[str, float]:
    """ConceptVectors' intrinsic scores of one concept vector before vs after unlearning:
    ``cos`` = cos(v_before, v_after) and ``jaccard`` = Jaccard of their top-``k`` logit-lens
    token sets (k = 200 in the paper on 7 B models)."""
    tb = topk_tokens(v_before, E, k)
    ta = topk_tokens(v_after, E, k)
    return {"cos": cosine(v_before, v_after), "jaccard": jaccard(tb, ta)}


@dataclass(frozen=True)
class ConceptVector(ResultRepr):
    """The value vector located for one concept: block ``layer``, unit ``dim``, the number
    of the concept's tokens among its top-k (``overlap``) and those top-k token ids."""

    concept: int
    layer: int
    dim: int
    overlap: int
    score: float
    top_tokens: tuple[int, ...]


def locate_concept_vectors(model, concept_tokens: Sequence[Collection[int]], *,
                           layers: Sequence[int] | None = None, k: int = 20,
                           path: str | None = None) -> list[ConceptVector]:
    """For each concept, the value vector whose top-``k`` logit-lens tokens overlap the
    concept's answer vocabulary most.

    Parameters
    ----------
    model : causal LM
    concept_tokens : sequence of collections of int
        Token ids of each concept's answer vocabulary (non-empty).
    layers : sequence of int, optional
        Blocks searched (default all).
    k : int
        Top-k size (20 on tiny models; the paper inspects 200 on 7 B models).

    Returns
    -------
    list of ConceptVector, one per concept. Ranking: overlap count first, ties broken by
    the rank-weighted overlap ``sum over shared tokens of (k - rank)``, then the lowest
    (layer, dim).
    """
    if len(concept_tokens) == 0:
        raise ValueError("concept_tokens must hold at least one concept, got none")
    E = unembedding(model)
    sets = []
    for c, toks in enumerate(concept_tokens):
        s = {int(t) for t in toks}
        if not s:
            raise ValueError(f"concept_tokens[{c}] must be non-empty, got an empty set")
        bad = [t for t in s if not 0 <= t < E.shape[0]]
        if bad:
            raise ValueError(f"concept_tokens[{c}] must hold token ids in [0, {E.shape[0]}), "
                             f"got {bad[0]}")
        sets.append(s)
    n = _n_layers(model)
    if layers is None:
        if n is None:
            raise ValueError("layers must be given for a model whose config has no layer "
                             "count, got None")
        layers = range(n)
    k = _check_int("k", k, 1, E.shape[0] + 1)
    best: list[tuple[tuple, ConceptVector] | None] = [None] * len(sets)
    weight = torch.arange(k, 0, -1, dtype=torch.float64)  # rank r -> k - r
    for layer in layers:
        site = value_site(model, layer, path=path)
        top = topk_tokens(site.vectors(), E, k)  # (d_ff, k)
        for c, s in enumerate(sets):
            member = torch.isin(top, torch.tensor(sorted(s)))  # (d_ff, k)
            overlap = member.sum(1)
            score = (member.double() * weight).sum(1)
            key_all = overlap.double() * (k * (k + 1)) + score  # overlap first, then score
            j = int(torch.argmax(key_all))  # first maximum = lowest dim
            key = (int(overlap[j]), float(score[j]), -int(layer), -j)
            if best[c] is None or key > best[c][0]:
                best[c] = (key, ConceptVector(concept=c, layer=int(layer), dim=j,
                                              overlap=int(overlap[j]), score=float(score[j]),
                                              top_tokens=tuple(int(t) for t in top[j])))
    return [b[1] for b in best]


def _noise_like(v: torch.Tensor, std: float, generator: torch.Generator | None) -> torch.Tensor:
    z = torch.randn(v.shape, generator=generator, dtype=torch.float32)
    return (z * std).to(v.device, v.dtype)


@contextlib.contextmanager
def ablate_value_vector(model, layer: int, dim: int, *,
                        mode: Literal["zero", "noise"] = "zero", noise_std: float = 0.1,
                        generator: torch.Generator | None = None,
                        path: str | None = None) -> Iterator[ValueSite]:
    """Temporarily zero value vector ``(layer, dim)`` or add Gaussian noise of standard
    deviation ``noise_std * ||v||`` per coordinate; the weight is restored bitwise on exit
    (also when the body raises).

    The paper's causal validation adds noise of std 0.1 to the vector (absolute, on
    LLaMA-2-7B whose down-projection entries are ~1e-2); reading it relative to the norm is
    our choice (see the module docstring).
    """
    if mode not in ("zero", "noise"):
        raise ValueError(f"mode must be 'zero' or 'noise', got {mode!r}")
    if not (isinstance(noise_std, int | float) and math.isfinite(noise_std) and noise_std >= 0):
        raise ValueError(f"noise_std must be a finite number >= 0, got {noise_std!r}")
    site = value_site(model, layer, path=path)
    ix = site.index(dim)
    saved = site.weight.detach()[ix].clone()
    with torch.no_grad():
        if mode == "zero":
            site.weight[ix] = 0
        else:
            site.weight[ix] += _noise_like(saved, noise_std * float(saved.float().norm()),
                                           generator)
    try:
        yield site
    finally:
        with torch.no_grad():
            site.weight[ix] = saved


@dataclass(frozen=True)
class NeedleResult(ResultRepr):
    """What :func:`needle` did: gradient steps taken, whether ``stop`` fired, the vector
    before and after (detached copies) and the noise standard deviation added."""

    steps: int
    stopped: bool
    v_before: torch.Tensor = field(repr=False)
    v_after: torch.Tensor = field(repr=False)
    noise_std: float


def needle(model, loss_fn: Callable[[Any], torch.Tensor], layer: int, dim: int, *,
           lr: float = 0.1, max_steps: int = 50,
           stop: Callable[[Any], bool] | None = None, noise_std: float = 0.1,
           generator: torch.Generator | None = None, path: str | None = None) -> NeedleResult:
    """Needle: unlearn by updating concept vector ``(layer, dim)`` only, then add noise.

    Adam (no weight decay) on the down-projection weight of block ``layer`` with its
    gradient masked to the vector; every other parameter is frozen for the call (its
    ``requires_grad`` is restored afterwards) and every other row/column of the weight is
    copied back from before the call, so exactly one value vector changes.

    Parameters
    ----------
    loss_fn : callable ``model -> scalar tensor``
        The unlearning loss to *minimise* (e.g. minus the forget-set NLL for gradient
        ascent, or the NPO loss).
    lr : float
        Adam step size (the paper's Needle grid: 0.1–0.5).
    max_steps : int
        At most this many gradient steps.
    stop : callable ``model -> bool``, optional
        Checked before every step; a True ends the loop (e.g. "concept QA <= 20 %").
    noise_std : float
        After the steps, Gaussian noise of std ``noise_std * ||v_before||`` per coordinate
        is added to the vector (rule unconfirmed, see the module docstring); 0 disables it.
    generator : torch.Generator, optional
        Draws the noise.
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    if not (isinstance(lr, int | float) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    max_steps = _check_int("max_steps", max_steps, 0)
    if not (isinstance(noise_std, int | float) and math.isfinite(noise_std) and noise_std >= 0):
        raise ValueError(f"noise_std must be a finite number >= 0, got {noise_std!r}")
    site = value_site(model, layer, path=path)
    ix = site.index(dim)
    W = site.weight
    W0 = W.detach().clone()
    mask = torch.zeros_like(W)
    mask[ix] = 1
    flags = [(p, p.requires_grad) for p in model.parameters()]
    was_training = model.training
    steps, stopped = 0, False
    try:
        for p, _ in flags:
            p.requires_grad_(False)
        W.requires_grad_(True)
        opt = torch.optim.Adam([W], lr=lr, weight_decay=0.0)
        model.train()
        while True:
            if stop is not None:
                model.eval()
                done = bool(stop(model))
                model.train()
                if done:
                    stopped = True
                    break
            if steps >= max_steps:
                break
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model)
            if not (isinstance(loss, torch.Tensor) and loss.requires_grad):
                raise ValueError("loss_fn must depend on the down-projection weight of block "
                                 f"{layer}, got a loss without a gradient there")
            loss.backward()
            if W.grad is None:
                raise ValueError("loss_fn must depend on the down-projection weight of block "
                                 f"{layer}, got a loss without a gradient there")
            W.grad.mul_(mask)
            opt.step()
            with torch.no_grad():  # other vectors bitwise as before (Adam never moves them
                W.copy_(torch.where(mask.bool(), W, W0))  # with a zero gradient; belt and braces)
            steps += 1
        std = noise_std * float(W0[ix].float().norm())
        if std > 0:
            with torch.no_grad():
                W[ix] += _noise_like(W0[ix], std, generator)
    finally:
        for p, f in flags:
            p.requires_grad_(f)
        model.train(was_training)
    return NeedleResult(steps=steps, stopped=stopped, v_before=W0[ix].clone(),
                        v_after=W.detach()[ix].clone(), noise_std=std)


def localisation_gate(concept_before: float, concept_after: float, unrelated_before: float,
                      unrelated_after: float, *, min_drop: float = 0.30,
                      max_unrelated_drop: float = 0.05) -> bool:
    """Does ablating a located vector behave like removing the concept?

    True when concept QA accuracy drops by at least ``min_drop`` (0.30 = 30 points) while
    unrelated QA accuracy drops by at most ``max_unrelated_drop`` (0.05). Accuracies are
    fractions in [0, 1].
    """
    for name, v in (("concept_before", concept_before), ("concept_after", concept_after),
                    ("unrelated_before", unrelated_before),
                    ("unrelated_after", unrelated_after), ("min_drop", min_drop),
                    ("max_unrelated_drop", max_unrelated_drop)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{name} must be a real number in [0, 1], got {v!r}")
        if not 0 <= v <= 1:
            raise ValueError(f"{name} must be a real number in [0, 1], got {v!r}")
    return (concept_before - concept_after >= min_drop - 1e-12
            and unrelated_before - unrelated_after <= max_unrelated_drop + 1e-12)
