"""Concept-guided class forgetting: concept inference (a post-hoc concept bottleneck) and
targeted data poisoning as an unlearning method.

Chang, Zhu, Xu, Liu & Zhou 2024, "Class Machine Unlearning for Complex Data via Concepts
Inference and Data Poisoning" (arXiv:2405.15662). No public code is known; the components
follow their standard definitions and the choices below are this project's (unconfirmed
against the paper). Paper symbol ↔ argument:

- f(x): penultimate features — the input of the model's last ``nn.Linear``
  (:func:`theorylab.unlearning.laf.embed`);
- concept bank: 12 pixel-region concepts of a grey image (:data:`CONCEPTS`, defined on
  relative coordinates so any ``(1, H, W)`` image works); the *presence* label of concept j
  on x is its region ink score above the class-agnostic median (:func:`concept_presence`);
- concept activation vectors c_j: the normalised weight of a logistic regression of the
  presence of concept j on f(x); concept scores s(x) = C f(x), C = [c_1; …; c_m];
- PCBM: a sparse linear head g(s) = W s + b fitted to the classes by elastic-net logistic
  regression (saga, ``l1_ratio`` 0.5) on standardised s, the backbone frozen;
- Integrated Gradients with baseline s' = 0: IG_j(x; k) = (s_j − s'_j) ∫_0^1 ∂g_k(s' +
  t(s − s'))/∂s_j dt, exactly W_kj s_j(x) for the linear head (:func:`integrated_gradients`
  computes the integral by the midpoint rule for any head); the importance profile I_k is its
  mean over the inputs of class k; the *concept neighbours* of class k are the other classes
  with the highest cosine similarity of profiles;
- poisoning (method ``concept_poison``): fine-tune θ_o on D_r together with the forget
  samples relabelled ``"random"`` (uniform over the other classes), ``"targeted"`` (all to
  the most concept-similar class) or ``"concept"`` (each sample to the class its own concept
  scores point to, the PCBM's top class once the forgotten class is excluded).

Evaluations usable on any model: :func:`fit_concept_model` (the bottleneck of a model) and
:func:`class_group_accuracy` (accuracy on the forgotten class, its concept neighbours and the
rest), so over-unlearning — accuracy lost on concept neighbours — is measured the same way
for every method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from theorylab._validation import (
    check_choice,
    check_int,
    check_positive,
    check_probability,
)
from theorylab.unlearning.laf import embed
from theorylab.unlearning.methods import Subset, register_method
from theorylab.unlearning.models import epoch_batches, predict_logits

from ..results import ResultRepr

__all__ = ["CONCEPTS", "concept_masks", "region_concepts", "concept_presence", "ConceptModel",
           "fit_concept_model", "integrated_gradients", "concept_neighbours",
           "class_group_accuracy", "ConceptPoisonConfig", "concept_poison", "poison_labels",
           "embedding_features"]

#: Names of the pixel-region concepts, in the order of :func:`region_concepts`' columns.
CONCEPTS: tuple[str, ...] = (
    "top_bar", "bottom_bar", "middle_bar", "left_stroke", "right_stroke", "upper_loop",
    "lower_loop", "central_hole", "diagonal_down", "diagonal_up", "top_left_hook", "descender")


def concept_masks(height: int, width: int) -> np.ndarray:
    """Signed pixel weights ``(12, H, W)`` of the concepts; a concept's ink score is the
    weighted sum of the pixel intensities. Each region is an average (weights sum to 1);
    ``central_hole`` is the ring average minus the centre average (ink around, none inside).

    Regions, on pixel centres (r, c) ∈ (0, 1)² (r downwards): bars are horizontal bands
    (top r < 0.25, middle 0.375 ≤ r < 0.625, bottom r ≥ 0.75; 0.2 ≤ c < 0.8); strokes are
    vertical bands (c < 0.3 or c ≥ 0.7; 0.15 ≤ r < 0.85); loops are rings of radius 0.1–0.3
    around (0.27, 0.5) and (0.73, 0.5); the hole is the ring 0.2–0.4 around the centre minus
    the disc of radius 0.15; diagonals are |r − c| < 0.15 and |r + c − 1| < 0.15; the hook is
    r < 0.35, c < 0.4; the descender is r ≥ 0.6, 0.35 ≤ c < 0.65.
    """
    height = check_int(height, name="height", minimum=4)
    width = check_int(width, name="width", minimum=4)
    r = (np.arange(height)[:, None] + 0.5) / height * np.ones((1, width))
    c = (np.arange(width)[None, :] + 0.5) / width * np.ones((height, 1))
    mid_c = (c >= 0.2) & (c < 0.8)
    vert = (r >= 0.15) & (r < 0.85)
    dist = lambda r0, c0: np.hypot(r - r0, c - c0)
    regions = [
        (r < 0.25) & mid_c, (r >= 0.75) & mid_c, (r >= 0.375) & (r < 0.625) & mid_c,
        vert & (c < 0.3), vert & (c >= 0.7),
        (dist(0.27, 0.5) >= 0.1) & (dist(0.27, 0.5) < 0.3),
        (dist(0.73, 0.5) >= 0.1) & (dist(0.73, 0.5) < 0.3),
        None,
        np.abs(r - c) < 0.15, np.abs(r + c - 1.0) < 0.15,
        (r < 0.35) & (c < 0.4), (r >= 0.6) & (c >= 0.35) & (c < 0.65)]
    out = np.zeros((len(CONCEPTS), height, width))
    for j, reg in enumerate(regions):
        if reg is not None:
            out[j] = reg / max(int(reg.sum()), 1)
    ring = (dist(0.5, 0.5) >= 0.2) & (dist(0.5, 0.5) < 0.4)
    disc = dist(0.5, 0.5) < 0.15
    out[7] = ring / max(int(ring.sum()), 1) - disc / max(int(disc.sum()), 1)
    return out


def region_concepts(X, image_shape: tuple[int, int, int]) -> np.ndarray:
    """Ink scores ``(n, 12)`` of flat grey images ``X (n, H·W)`` (column order
    :data:`CONCEPTS`)."""
    X = np.asarray(X, dtype=np.float64)
    if len(image_shape) != 3 or int(image_shape[0]) != 1:
        raise ValueError(f"image_shape must be (1, H, W) for grey images, got {image_shape!r}")
    _, H, W = (int(v) for v in image_shape)
    if X.ndim != 2 or X.shape[1] != H * W:
        raise ValueError(f"X must have shape (n, {H * W}), got {X.shape}")
    return X @ concept_masks(H, W).reshape(len(CONCEPTS), -1).T


def concept_presence(scores) -> np.ndarray:
    """Boolean presence ``(n, m)``: a score above its column's median (class-agnostic)."""
    scores = np.asarray(scores, dtype=np.float64)
    return scores > np.median(scores, axis=0, keepdims=True)


def _elastic_net(C: float, l1_ratio: float, max_iter: int):
    """Elastic-net multinomial logistic regression (saga) across scikit-learn versions
    (``penalty`` is deprecated from 1.8 on, where ``l1_ratio`` alone selects the mix)."""
    import sklearn
    from sklearn.linear_model import LogisticRegression

    major, minor = (int(v) for v in sklearn.__version__.split(".")[:2])
    kw = {} if (major, minor) >= (1, 8) else {"penalty": "elasticnet"}
    return LogisticRegression(solver="saga", l1_ratio=l1_ratio, C=C, max_iter=max_iter,
                              tol=1e-4, random_state=0, **kw)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConceptModel(ResultRepr):
    """A post-hoc concept bottleneck of a model.

    Attributes
    ----------
    cavs : array (m, p)
        Unit concept activation vectors in the feature space (rows).
    mean, scale : arrays (m,)
        Standardisation of the concept scores s = C f(x) used by the head.
    W, b : arrays (K, m), (K,)
        The PCBM head on standardised scores.
    cav_accuracy : array (m,)
        Training accuracy of each concept probe.
    accuracy : float
        The PCBM's accuracy on the data it was fitted to.
    profiles : array (K, m)
        Importance profiles I_k (IG of the class-k logit, mean over class-k inputs).
    """

    cavs: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    W: np.ndarray
    b: np.ndarray
    cav_accuracy: np.ndarray
    accuracy: float
    profiles: np.ndarray

    def scores(self, features) -> np.ndarray:
        """Standardised concept scores ``(n, m)`` of features ``(n, p)``."""
        return (np.asarray(features, dtype=np.float64) @ self.cavs.T - self.mean) / self.scale

    def logits(self, features) -> np.ndarray:
        """PCBM logits ``(n, K)``."""
        return self.scores(features) @ self.W.T + self.b


def embedding_features(model: nn.Module, X: torch.Tensor) -> np.ndarray:
    """The model's penultimate embedding of ``X`` (eval mode, batches of 4096) as float64
    NumPy: the features the CAVs and the PCBM head read."""
    with torch.no_grad():
        was = model.training
        model.eval()
        F = torch.cat([embed(model, X[i:i + 4096]) for i in range(0, X.shape[0], 4096)])
        model.train(was)
    return F.double().cpu().numpy()


def fit_concept_model(model: nn.Module, X: torch.Tensor, y, *, image_shape, n_classes: int,
                      C_pcbm: float = 1.0, l1_ratio: float = 0.5) -> ConceptModel:
    """Fit CAVs and the PCBM head of ``model`` on the labelled images ``X`` (flat, grey).

    Parameters
    ----------
    model : nn.Module
        Any model ending in an ``nn.Linear`` (its input is f(x)); not modified.
    X : tensor (n, H·W)
        Images the concepts are read from (pixel-region ink scores).
    y : array (n,)
        Class labels in ``[0, n_classes)``; every class must occur.
    image_shape : (1, H, W)
    n_classes : int
    C_pcbm, l1_ratio : float
        Inverse regularisation strength and ℓ1 share of the elastic-net head.
    """
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y.cpu().numpy() if isinstance(y, torch.Tensor) else y).astype(np.int64)
    n_classes = check_int(n_classes, name="n_classes", minimum=2)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
    missing = sorted(set(range(n_classes)) - set(np.unique(y).tolist()))
    if missing:
        raise ValueError(f"y must hold every class in [0, {n_classes - 1}], got none of "
                         f"{missing}")
    C_pcbm = check_positive(C_pcbm, name="C_pcbm")
    l1_ratio = check_probability(l1_ratio, name="l1_ratio")
    present = concept_presence(region_concepts(X.cpu().numpy(), image_shape))
    F = embedding_features(model, X)
    mu, sd = F.mean(0), F.std(0)
    sd[sd == 0] = 1.0
    Fs = (F - mu) / sd
    cavs, cav_acc = [], []
    for j in range(present.shape[1]):
        lab = present[:, j]
        probe = LogisticRegression(C=1.0, max_iter=2000).fit(Fs, lab)
        w = probe.coef_[0] / sd  # back to raw feature coordinates
        cavs.append(w / np.linalg.norm(w))
        cav_acc.append(float(probe.score(Fs, lab)))
    cavs = np.array(cavs)
    S = F @ cavs.T
    s_mean, s_scale = S.mean(0), S.std(0)
    s_scale[s_scale == 0] = 1.0
    Ss = (S - s_mean) / s_scale
    head = _elastic_net(C_pcbm, l1_ratio, max_iter=5000).fit(Ss, y)
    W, b = head.coef_.astype(np.float64), head.intercept_.astype(np.float64)
    ig = Ss[:, None, :] * W[None, :, :]  # (n, K, m): IG_j(x; k) = W_kj s_j(x), baseline 0
    profiles = np.stack([ig[y == k, k].mean(0) for k in range(n_classes)])
    return ConceptModel(cavs=cavs, mean=s_mean, scale=s_scale, W=W, b=b,
                        cav_accuracy=np.array(cav_acc), accuracy=float(head.score(Ss, y)),
                        profiles=profiles)


def integrated_gradients(head, s: torch.Tensor, target: int, *, baseline=None,
                         steps: int = 64) -> torch.Tensor:
    """IG_j(s; k) = (s_j − s'_j) ∫_0^1 ∂head_k(s' + t(s − s'))/∂s_j dt by the midpoint rule.

    ``head`` maps ``(B, m)`` to logits ``(B, K)``; ``s`` is ``(n, m)``; returns ``(n, m)``.
    Completeness: Σ_j IG_j = head_k(s) − head_k(s') up to the quadrature error.
    """
    steps = check_int(steps, name="steps", minimum=1)
    s = s.detach()
    base = torch.zeros_like(s) if baseline is None else torch.as_tensor(baseline).to(s)
    t = (torch.arange(steps, dtype=s.dtype, device=s.device) + 0.5) / steps  # (T,)
    path = (base[None] + t[:, None, None] * (s - base)[None]).reshape(-1, s.shape[1])
    path.requires_grad_(True)
    out = head(path)[:, target].sum()
    (grad,) = torch.autograd.grad(out, path)
    return (s - base) * grad.reshape(steps, *s.shape).mean(0)


def concept_neighbours(cm: ConceptModel, cls: int, *, k: int = 2) -> np.ndarray:
    """The ``k`` classes other than ``cls`` whose importance profiles have the highest
    cosine similarity with that of ``cls`` (most similar first)."""
    K = cm.profiles.shape[0]
    cls = check_int(cls, name="cls", minimum=0, maximum=K - 1)
    k = check_int(k, name="k", minimum=1, maximum=K - 1)
    P = cm.profiles / np.maximum(np.linalg.norm(cm.profiles, axis=1, keepdims=True), 1e-300)
    sim = P @ P[cls]
    sim[cls] = -np.inf
    return np.argsort(-sim, kind="stable")[:k].astype(np.int64)


def class_group_accuracy(model: nn.Module, X: torch.Tensor, y, *, forget_class: int,
                         neighbours) -> dict[str, float]:
    """Accuracy of ``model`` on the forgotten class, on its concept neighbours (together and
    each), and on the remaining classes."""
    y = np.asarray(y.cpu().numpy() if isinstance(y, torch.Tensor) else y)
    pred = predict_logits(model, X).argmax(1).cpu().numpy()
    nb = np.asarray(neighbours, dtype=np.int64)
    acc = lambda mask: float((pred[mask] == y[mask]).mean()) if mask.any() else float("nan")
    out = {"forget_acc": acc(y == forget_class), "neighbour_acc": acc(np.isin(y, nb)),
           "other_acc": acc(~np.isin(y, np.r_[nb, forget_class]))}
    for c in nb:
        out[f"class{int(c)}_acc"] = acc(y == c)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class ConceptPoisonConfig:
    """Poisoning labels (``labels``), concept bank input (``image_shape``), PCBM
    (``C_pcbm``, ``l1_ratio``) and the fine-tuning schedule (SGD, fixed poisoned labels,
    D_r ∪ D_f shuffled each epoch). Project defaults, unconfirmed in the paper."""

    labels: Literal["random", "targeted", "concept"] = "concept"
    image_shape: tuple[int, int, int] = (1, 8, 8)
    C_pcbm: float = 1.0
    l1_ratio: float = 0.5
    epochs: int = 10
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 64

    def __post_init__(self) -> None:
        check_choice(self.labels, name="labels", choices=("random", "targeted", "concept"))
        if len(self.image_shape) != 3 or int(self.image_shape[0]) != 1:
            raise ValueError(f"image_shape must be (1, H, W), got {self.image_shape!r}")
        check_positive(self.C_pcbm, name="C_pcbm")
        check_probability(self.l1_ratio, name="l1_ratio")
        check_int(self.epochs, name="epochs", minimum=1)
        check_positive(self.lr, name="lr")
        check_probability(self.momentum, name="momentum")
        check_positive(self.weight_decay, name="weight_decay", strict=False)
        check_int(self.batch_size, name="batch_size", minimum=1)


def poison_labels(cm: ConceptModel, features, forget_class: int, *,
                  labels: Literal["random", "targeted", "concept"],
                  generator: torch.Generator) -> np.ndarray:
    """Poisoned labels for forget samples with features ``(n, p)``: uniform over the other
    classes, the most concept-similar class, or each sample's PCBM top class once
    ``forget_class`` is excluded."""
    check_choice(labels, name="labels", choices=("random", "targeted", "concept"))
    features = np.asarray(features, dtype=np.float64)
    n, K = features.shape[0], cm.W.shape[0]
    if labels == "random":
        draw = torch.randint(K - 1, (n,), generator=generator).numpy()
        return (draw + (draw >= forget_class)).astype(np.int64)  # skip the forgotten class
    if labels == "targeted":
        return np.full(n, int(concept_neighbours(cm, forget_class, k=1)[0]), dtype=np.int64)
    z = cm.logits(features)
    z[:, forget_class] = -np.inf
    return z.argmax(1).astype(np.int64)


@register_method("concept_poison", config=ConceptPoisonConfig, needs_retain=True)
def concept_poison(model, forget, retain=None, *, config, generator, train_set=None,
                   oracles=None):
    """Class forgetting by poisoning: infer the concepts (PCBM on θ_o), relabel the forget
    samples away from their class as ``config.labels`` says, and fine-tune on D_r together
    with the relabelled D_f. The forgotten class is the most frequent label of D_f."""
    fy = forget.y.cpu().numpy()
    forget_class = int(np.bincount(fy).argmax())
    X_all = torch.cat([retain.X, forget.X])
    y_all = np.r_[retain.y.cpu().numpy(), fy]
    n_out = int(predict_logits(model, forget.X[:1]).shape[1])
    cm = fit_concept_model(model, X_all, y_all, image_shape=config.image_shape,
                           n_classes=n_out, C_pcbm=config.C_pcbm, l1_ratio=config.l1_ratio)
    new = poison_labels(cm, embedding_features(model, forget.X), forget_class, labels=config.labels,
                        generator=generator)
    data = Subset(X_all, torch.cat([retain.y, torch.as_tensor(new).to(retain.y)]))
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    model.train()
    for _ in range(config.epochs):
        for idx in epoch_batches(len(data), config.batch_size, generator):
            idx = idx.to(data.X.device)
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(data.X[idx]), data.y[idx]).backward()
            opt.step()
    model.eval()
    return model
