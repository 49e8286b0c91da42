"""Task-agnostic identity unlearning (MUFAC-style) on pseudo-identity image data.

Choi & Na 2023, "Towards Machine Unlearning Benchmarks: Forgetting the Personal Identities in
Facial Recognition Systems" (arXiv:2311.02240). Paper object ↔ code:

- MUFAC/MUCAC face images with identities ↔ :func:`make_identity_data`: digits (or
  Fashion-MNIST) images grouped into pseudo-identities; identity k adds its private style
  s_k (a fixed random pattern of amplitude ``amplitude`` plus a fixed one-pixel shift) to every
  image it owns, and owns images of *every* class, so the task label does not depend on the
  person (task-agnostic);
- identity splits train-retain / train-forget / test / unseen ↔ ``retain_ids``,
  ``forget_ids``, ``test_ids``, ``unseen_ids`` (unseen identities are the attack's non-members);
- simple MIA, forgetting score |acc − 0.5| and NoMUS = λ·TA + (1 − λ)(1 − 2·|acc − 0.5|),
  λ = 0.5 ↔ :func:`theorylab.unlearning.metrics.loss_mia_accuracy` and
  :func:`theorylab.unlearning.metrics.nomus`, applied by :func:`score_identity`;
- the class-unlearning contrast ↔ :func:`class_forget_variant` (same images, D_f = one
  class); a per-image U-LiRA audit of a method ↔ :func:`identity_ulira`;
- baselines: FT (``ft``), CF-k (``cf_k``: fine-tune only the last k layers on D_r),
  NegGrad (``ga``), Advanced NegGrad (``adv_neggrad``: CE(D_r) − CE(D_f) on paired batches,
  equal weights), SCRUB (``scrub``).

The public reference notebooks use plain SGD with lr 1e-3 for two epochs (batches of 64) for
FT, CF-3, NegGrad and Advanced NegGrad on ResNet-18; those are the defaults here. CF-3 there
unfreezes ResNet-18's ``layer3``, ``layer4`` and ``fc``; ``k`` here counts parametrised
(Linear/Conv2d) layers from the output, a choice for small models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from theorylab._validation import check_choice, check_int, check_rng, check_scalar

from ..results import ResultRepr
from .baselines import GAGDConfig, SGDConfig, _fit, ga_gd
from .data import Dataset
from .methods import register_method
from .scenarios import ForgetSplit, identity_forget

__all__ = ["IdentityData", "make_identity_data", "class_forget_variant", "style_images",
           "CFKConfig", "AdvNegGradConfig", "last_layers", "catastrophic_forgetting_k",
           "advanced_neggrad", "score_identity", "identity_benchmark", "identity_ulira",
           "identity_ulira_methods"]


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityData(ResultRepr):
    """Pseudo-identity data split by identity.

    ``dataset``: training rows = retain and forget identities (``dataset.identities`` names
    the owner of each row), test rows = the test identities. ``X_unseen, y_unseen``: images of
    identities never used for training or testing (the MIA's non-members). ``split``: the
    identity forget split of the training rows.
    """

    dataset: Dataset
    X_unseen: np.ndarray
    y_unseen: np.ndarray
    split: ForgetSplit
    retain_ids: np.ndarray
    forget_ids: np.ndarray
    test_ids: np.ndarray
    unseen_ids: np.ndarray


def _shift(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Translate ``(..., H, W)`` by (dy, dx) pixels, filling with zeros (no wrap-around)."""
    out = np.zeros_like(img)
    H, W = img.shape[-2:]
    ys, yd = (slice(0, H - dy), slice(dy, H)) if dy >= 0 else (slice(-dy, H), slice(0, H + dy))
    xs, xd = (slice(0, W - dx), slice(dx, W)) if dx >= 0 else (slice(-dx, W), slice(0, W + dx))
    out[..., yd, xd] = img[..., ys, xs]
    return out


_DIRECTIONS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))


def style_images(images: np.ndarray, pattern: np.ndarray, direction: tuple[int, int]
                 ) -> np.ndarray:
    """One identity's style on images ``(n, H, W)`` in [0, 1]: shift by ``direction`` (one
    pixel, zero fill), add ``pattern (H, W)``, clip to [0, 1]."""
    return np.clip(_shift(images, *direction) + pattern, 0.0, 1.0)


def make_identity_data(*, source: Literal["digits", "fashion_mnist"] = "digits",
                       n_identities: int = 120, per_identity: int = 10,
                       amplitude: float = 0.15, n_forget: int = 10, n_test: int = 20,
                       n_unseen: int = 20, rng=None) -> IdentityData:
    """Pseudo-identity data (task-agnostic: every identity owns images of every class).

    Identity k owns ``per_identity`` images whose labels cycle through the classes
    (0, 1, …, 9, 0, …), drawn without replacement from the source images; its style is a
    pattern ``~ U(−amplitude, amplitude)`` per pixel and one of the 8 one-pixel shifts, both
    fixed for the identity. Identities are split at random into ``n_forget`` train-forget,
    ``n_test`` test, ``n_unseen`` unseen and the rest train-retain.

    Raises
    ------
    ValueError
        When a count is out of range, the source lacks enough images of a class, or the
        retain split would be empty.
    """
    source = check_choice(source, name="source", choices=("digits", "fashion_mnist"))
    n_identities = check_int(n_identities, name="n_identities", minimum=4)
    per_identity = check_int(per_identity, name="per_identity", minimum=1)
    amplitude = check_scalar(amplitude, name="amplitude", lower=0.0, upper=1.0)
    n_forget = check_int(n_forget, name="n_forget", minimum=1)
    n_test = check_int(n_test, name="n_test", minimum=1)
    n_unseen = check_int(n_unseen, name="n_unseen", minimum=1)
    if n_forget + n_test + n_unseen >= n_identities:
        raise ValueError(f"n_forget + n_test + n_unseen must be < n_identities={n_identities} "
                         f"(at least one retain identity), got "
                         f"{n_forget + n_test + n_unseen}")
    rng = check_rng(rng)
    if source == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        images, labels, shape = d.images / 16.0, d.target.astype(np.int64), (1, 8, 8)
    else:
        from .data import load_fashion_mnist_split

        f = load_fashion_mnist_split(rng=0)
        images = np.concatenate([f.X_train, f.X_test]).reshape(-1, 28, 28)
        labels, shape = np.concatenate([f.y_train, f.y_test]), (1, 28, 28)
    n_classes = int(labels.max()) + 1
    need = n_identities * -(-per_identity // n_classes)
    counts = np.bincount(labels, minlength=n_classes)
    if counts.min() < need:
        raise ValueError(f"n_identities * ceil(per_identity / {n_classes}) must be <= the "
                         f"smallest class count {int(counts.min())} of {source}, got {need}")
    pools = [rng.permutation(np.flatnonzero(labels == c)) for c in range(n_classes)]
    used = np.zeros(n_classes, dtype=np.int64)
    H, W = images.shape[1:]
    patterns = rng.uniform(-amplitude, amplitude, size=(n_identities, H, W))
    dirs = rng.integers(len(_DIRECTIONS), size=n_identities)
    X = np.empty((n_identities * per_identity, H * W), dtype=np.float32)
    y = np.empty(n_identities * per_identity, dtype=np.int64)
    owner = np.repeat(np.arange(n_identities), per_identity)
    for k in range(n_identities):
        cls = np.arange(per_identity) % n_classes
        rows = []
        for c in cls:
            rows.append(pools[c][used[c]])
            used[c] += 1
        styled = style_images(images[np.array(rows)], patterns[k], _DIRECTIONS[dirs[k]])
        X[k * per_identity:(k + 1) * per_identity] = styled.reshape(per_identity, -1)
        y[k * per_identity:(k + 1) * per_identity] = cls
    perm = rng.permutation(n_identities)
    forget_ids = np.sort(perm[:n_forget])
    test_ids = np.sort(perm[n_forget:n_forget + n_test])
    unseen_ids = np.sort(perm[n_forget + n_test:n_forget + n_test + n_unseen])
    retain_ids = np.sort(perm[n_forget + n_test + n_unseen:])
    tr = np.isin(owner, np.r_[retain_ids, forget_ids])
    te, un = np.isin(owner, test_ids), np.isin(owner, unseen_ids)
    ds = Dataset(name=f"identity_{source}", task="classification", X_train=X[tr],
                 y_train=y[tr], X_test=X[te], y_test=y[te], n_classes=n_classes,
                 image_shape=shape, identities=owner[tr])
    return IdentityData(dataset=ds, X_unseen=X[un], y_unseen=y[un],
                        split=identity_forget(owner[tr], ids=forget_ids.tolist()),
                        retain_ids=retain_ids, forget_ids=forget_ids, test_ids=test_ids,
                        unseen_ids=unseen_ids)



def class_forget_variant(data: IdentityData, *, cls: int) -> IdentityData:
    """The same images with a *class* deletion request instead of an identity one: D_f = every
    training image of class ``cls`` (all identities), and the attack's non-members = the
    unseen identities' images of that class. Test images keep every class, so a model that
    forgot the class loses its test accuracy on it — the contrast the paper draws between
    class and identity unlearning."""
    from .scenarios import class_forget

    ds = data.dataset
    split = class_forget(ds.y_train, cls=cls)
    keep = data.y_unseen == int(cls)
    return IdentityData(dataset=ds, X_unseen=data.X_unseen[keep], y_unseen=data.y_unseen[keep],
                        split=split, retain_ids=data.retain_ids, forget_ids=data.forget_ids,
                        test_ids=data.test_ids, unseen_ids=data.unseen_ids)

# --------------------------------------------------------------------------- baselines


@dataclass(frozen=True, slots=True, kw_only=True)
class CFKConfig(SGDConfig):
    """CF-k: fine-tune only the last ``k`` Linear/Conv2d layers on D_r (reference notebooks:
    plain SGD lr 1e-3, 2 epochs, batches of 64)."""

    epochs: int = 2
    lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    k: int = 3

    def __post_init__(self) -> None:
        SGDConfig.__post_init__(self)
        check_int(self.k, name="k", minimum=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class AdvNegGradConfig(SGDConfig):
    """Advanced NegGrad: SGD on CE(D_r batch) − CE(D_f batch) (equal weights, reference
    notebooks: lr 1e-3, 2 epochs, batches of 64, no momentum)."""

    epochs: int = 2
    lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0


def last_layers(model: nn.Module, k: int) -> list[nn.Module]:
    """The last ``k`` parametrised layers (``nn.Linear``/``nn.Conv2d``) in module order."""
    layers = [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    k = check_int(k, name="k", minimum=1)
    if k > len(layers):
        raise ValueError(f"k must be <= the number of Linear/Conv2d layers ({len(layers)}), "
                         f"got {k}")
    return layers[-k:]


@register_method("cf_k", config=CFKConfig, needs_retain=True)
def catastrophic_forgetting_k(model, forget, retain=None, *, config, generator, train_set=None,
                              oracles=None):
    """CF-k: the first layers stay frozen bit for bit; the last ``k`` are fine-tuned on D_r
    with SGD. D_f is never read."""
    train = [p for m in last_layers(model, config.k) for p in m.parameters()]
    keep = {id(p) for p in train}
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(id(p) in keep)
    opt = torch.optim.SGD(train, lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    try:
        _fit(model, retain, config, generator, opt=opt)
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
    return model


@register_method("adv_neggrad", config=AdvNegGradConfig, needs_retain=True)
def advanced_neggrad(model, forget, retain=None, *, config, generator, train_set=None,
                     oracles=None):
    """Advanced NegGrad, SGD on CE(D_r) − CE(D_f) per paired batch (an epoch is one pass over
    D_r, forget batches cycling). This is 2·[½CE(D_r) − ½CE(D_f)], so it runs the harness's
    GA+GD with β = ½, twice the learning rate and half the weight decay: the same SGD steps
    (the factors are powers of two, exact in floating point)."""
    cfg = GAGDConfig(epochs=config.epochs, lr=2 * config.lr, momentum=config.momentum,
                     weight_decay=config.weight_decay / 2, batch_size=config.batch_size,
                     beta=0.5)
    return ga_gd(model, forget, retain, config=cfg, generator=generator)


# --------------------------------------------------------------------------- benchmark
def _losses(model: nn.Module, X: np.ndarray, y: np.ndarray, device
            ) -> tuple[np.ndarray, np.ndarray]:
    from .models import as_tensors, predict_logits

    Xt, yt = as_tensors(X, y, device=device)
    z = predict_logits(model, Xt).double()
    loss = nn.functional.cross_entropy(z, yt, reduction="none")
    return loss.cpu().numpy(), z.cpu().numpy()


def score_identity(model: nn.Module, data: IdentityData, *, mia_seed: int = 0,
                   lam: float = 0.5, device=None) -> dict[str, float]:
    """MUFAC metrics of one model: test accuracy ``TA``, accuracy on the forget, retain and
    unseen images, the simple loss-MIA accuracy (forget = members vs unseen identities),
    ``forgetting_score`` = |acc − 0.5|, ``NoMUS`` (λ = ``lam``) and, for comparison, the
    SVC-MIA efficacy on D_f (``MIA_svc``, confidence feature). ``mia_seed`` fixes the attack's
    subsample and splits, so models scored with one seed are compared on the same draw."""
    from . import metrics as mt

    ds, sp = data.dataset, data.split
    l_tr, z_tr = _losses(model, ds.X_train, ds.y_train, device)
    l_te, z_te = _losses(model, ds.X_test, ds.y_test, device)
    l_un, z_un = _losses(model, data.X_unseen, data.y_unseen, device)
    if not all(np.isfinite(a).all() for a in (z_tr, z_te, z_un)):
        return {k: float("nan") for k in ("TA", "forget_acc", "retain_acc", "unseen_acc",
                                          "loss_MIA_acc", "forgetting_score", "NoMUS",
                                          "MIA_svc")}
    acc = lambda z, y: mt.accuracy(z, y)
    ytr = ds.y_train
    out = {"TA": acc(z_te, ds.y_test), "forget_acc": acc(z_tr[sp.forget], ytr[sp.forget]),
           "retain_acc": acc(z_tr[sp.retain], ytr[sp.retain]),
           "unseen_acc": acc(z_un, data.y_unseen)}
    a = mt.loss_mia_accuracy(l_tr[sp.forget], l_un, rng=mia_seed)
    out["loss_MIA_acc"] = a
    out["forgetting_score"] = abs(a - 0.5)
    out["NoMUS"] = mt.nomus(out["TA"], min(abs(a - 0.5), 0.5), lam=lam)
    p_tr, p_te = mt.softmax(z_tr), mt.softmax(z_te)
    out["MIA_svc"] = mt.svc_mia(p_tr[sp.retain], ytr[sp.retain], p_te, ds.y_test,
                                p_tr[sp.forget], ytr[sp.forget],
                                features=("confidence",))["confidence"]
    return out


def identity_benchmark(data: IdentityData, methods: Sequence[str], *, recipe,
                       n_oracles: int = 5, seed: int = 0,
                       method_configs: Mapping[str, Mapping[str, Any]] | None = None,
                       device=None) -> dict[str, Any]:
    """Original θ_o, ``n_oracles`` retrained θ_r (one vmap ensemble) and every method of
    ``methods`` on one identity split, all scored by :func:`score_identity`; the methods run
    through the harness's shared :func:`~theorylab.unlearning.evaluation.evaluate_methods`.

    Seeds (from ``seed``): θ_o init ``1000·seed + 1`` and data order ``+ 2``, method generator
    ``+ 4``, oracles :func:`~theorylab.unlearning.oracle.ensemble_seeds` from
    ``10_000_000 + 1000·seed``; the attack's draw ``mia_seed = seed``.

    Returns ``{"original": metrics, "oracles": [metrics], "oracle_mean": ..., "oracle_std":
    ..., "methods": {name: metrics + RTE + <metric>_gap}, "train_time_s", "oracle_time_s"}``
    where ``train_time_s`` is the time to train θ_o (one from-scratch training) and
    ``oracle_time_s`` the ensemble's time per model.
    """
    from .evaluation import evaluate_methods
    from .methods import Subset, get_method
    from .metrics import timed
    from .models import Seeds, as_tensors, build_model, train_model
    from .oracle import ensemble_seeds, retrain_oracles

    n_oracles = check_int(n_oracles, name="n_oracles", minimum=2)
    seed = check_int(seed, name="seed", minimum=0)
    method_configs = dict(method_configs or {})
    unknown = sorted(set(method_configs) - set(methods))
    if unknown:
        raise ValueError(f"method_configs must only name methods being run, got {unknown}")
    specs = {m: get_method(m) for m in methods}
    cfgs = {m: specs[m].default_config(**dict(method_configs.get(m, {}))) for m in methods}
    ds, sp = data.dataset, data.split
    X, y = as_tensors(ds.X_train, ds.y_train, device=device)
    s = Seeds(init=1000 * seed + 1, order=1000 * seed + 2, forget=1000 * seed + 3)
    n_out = int(ds.n_classes)
    original = build_model(recipe, X.shape[1], n_out, generator=s.generator("init"),
                           image_shape=ds.image_shape, device=device)
    _, t_train = timed(train_model, original, X, y, recipe=recipe,
                       generator=s.generator("order"), device=device)
    original.eval()
    ens, t_orc = timed(retrain_oracles, recipe, X, y, sp.retain, n_out=n_out,
                       seeds=ensemble_seeds(n_oracles, base=10_000_000 + 1000 * seed),
                       image_shape=ds.image_shape, device=device)
    score = lambda m: score_identity(m, data, mia_seed=seed, device=device)
    orc = [score(ens.member(k).eval()) for k in range(n_oracles)]
    keys = list(orc[0])
    ix = lambda a: torch.as_tensor(a, device=X.device)
    forget = Subset(X[ix(sp.forget)], y[ix(sp.forget)])
    retain = Subset(X[ix(sp.retain)], y[ix(sp.retain)])
    orig = score(original)
    # the harness's shared evaluation: each method on a copy of θ_o with the same fresh
    # generator, scored, with its gap to the oracles' mean for every metric
    table = evaluate_methods(original, forget, retain,
                             [(m, m, cfgs[m]) for m in methods], score=score,
                             oracle_scores=orc, keys=keys,
                             generator=lambda: torch.Generator().manual_seed(1000 * seed + 4),
                             train_set=Subset(X, y), device=device)
    res: dict[str, Any] = {"original": orig, "oracles": orc,
                           "oracle_mean": table.oracle_mean, "oracle_std": table.oracle_std,
                           "methods": {}, "train_time_s": float(t_train),
                           "oracle_time_s": float(t_orc) / n_oracles}
    for m in methods:
        met = dict(table.metrics[m])
        met["RTE"] = float(table.rte[m])
        met.update({f"{k}_gap": table.gaps[m][k] for k in keys})
        res["methods"][m] = met
    return res



def identity_ulira(data: IdentityData, method: str, *, recipe, n_shadows: int = 62,
                   n_targets: int = 2, seed: int = 0,
                   method_config: Mapping[str, Any] | None = None,
                   device=None) -> dict[str, float]:
    """U-LiRA on the forgotten images (Hayes et al. 2024, arXiv:2403.01218).

    ``n_shadows + n_targets`` originals are trained on D (one ensemble, init and data order
    varying per member) and each is unlearned by ``method``; as many oracles are trained on
    D_r. Per forget image, Gaussians are fitted to the logit-scaled confidence
    φ = log(p_y / (1 − p_y)) of the first ``n_shadows`` unlearned models ("in": saw the image,
    then unlearned it) and of the first ``n_shadows`` oracles ("out": never saw it); each
    remaining unlearned model (label 1) and oracle (label 0) is scored with
    :func:`~theorylab.unlearning.metrics.lira_scores` on every forget image. Returns the
    ``AUC`` and ``TPR@1%`` / ``TPR@0.1%`` of those scores (:func:`lira_roc`).
    **AUC 0.5 = the unlearned model is indistinguishable from retraining (ideal).**

    The default, 62 shadows + 2 targets, makes ensembles of 64 models per side. Fewer shadows
    give noisier per-image Gaussians and a weaker attack. On digits pseudo-identities (MLP
    128-64, 20 epochs; 4 seeds) the AUC was 0.84 ± 0.04 (no unlearning) and 0.91 ± 0.02 (FT)
    with 8 shadows, 0.89 ± 0.02 and 0.95 ± 0.03 with 62. TPR@1% rests on 1 % of
    ``2 · n_targets · |D_f|`` negative scores (2 of 200 with 100 forget images), so it varies
    by about 0.1 between seeds. Several methods: :func:`identity_ulira_methods`.
    """
    return identity_ulira_methods(data, {method: method_config}, recipe=recipe,
                                  n_shadows=n_shadows, n_targets=n_targets, seed=seed,
                                  device=device)[method]


def identity_ulira_methods(data: IdentityData,
                           methods: Mapping[str, Mapping[str, Any] | None] | Sequence[str], *,
                           recipe, n_shadows: int = 62, n_targets: int = 2, seed: int = 0,
                           device=None) -> dict[str, dict[str, float]]:
    """:func:`identity_ulira` of several methods, ``{method: config overrides or None}`` (or
    a sequence of names for their defaults), on one pair of ensembles: the originals and
    the oracles do not depend on the method, so they are trained once. Each method's result
    equals its own :func:`identity_ulira` call (same models, same generators)."""
    from .methods import Subset, apply_method, get_method
    from .metrics import lira_roc, lira_scores, margins
    from .models import as_tensors
    from .oracle import ensemble_seeds, retrain_oracles

    n_shadows = check_int(n_shadows, name="n_shadows", minimum=2)
    n_targets = check_int(n_targets, name="n_targets", minimum=1)
    seed = check_int(seed, name="seed", minimum=0)
    if isinstance(methods, str) or not isinstance(methods, (Mapping, Sequence)):
        raise TypeError(f"methods must be a mapping {{method: config}} or a sequence of "
                        f"method names, got {type(methods).__name__}")
    if not isinstance(methods, Mapping):
        methods = dict.fromkeys(methods)
    if not methods:
        raise ValueError("methods must name at least one method, got none")
    specs = {m: get_method(m) for m in methods}
    cfgs = {m: specs[m].default_config(**dict(methods[m] or {})) for m in methods}
    ds, sp = data.dataset, data.split
    X, y = as_tensors(ds.X_train, ds.y_train, device=device)
    n = n_shadows + n_targets
    kw = dict(n_out=int(ds.n_classes), image_shape=ds.image_shape)
    originals = retrain_oracles(recipe, X, y, np.arange(ds.n_train), **kw,
                                seeds=ensemble_seeds(n, base=20_000_000 + 1000 * seed))
    oracles = retrain_oracles(recipe, X, y, sp.retain, **kw,
                              seeds=ensemble_seeds(n, base=30_000_000 + 1000 * seed))
    ix = lambda a: torch.as_tensor(a, device=X.device)
    forget = Subset(X[ix(sp.forget)], y[ix(sp.forget)])
    retain = Subset(X[ix(sp.retain)], y[ix(sp.retain)])
    yf = ds.y_train[sp.forget]
    phi_o = margins(oracles.logits(forget.X).double().cpu().numpy(), yf)  # (n, |D_f|)
    labels = np.r_[np.ones(n_targets * yf.size), np.zeros(n_targets * yf.size)]
    out: dict[str, dict[str, float]] = {}
    for m in methods:
        phi_u = []
        for k in range(n):
            u, _ = apply_method(specs[m], originals.member(k), forget, retain, config=cfgs[m],
                                generator=torch.Generator().manual_seed(1000 * seed + 4 + k),
                                train_set=Subset(X, y), device=device)
            with torch.no_grad():
                z = u(forget.X).double().cpu().numpy()
            phi_u.append(margins(z, yf))
        phi_u = np.stack(phi_u)  # (n, |D_f|)
        if not (np.isfinite(phi_u).all() and np.isfinite(phi_o).all()):
            out[m] = {"AUC": float("nan"), "TPR@1%": float("nan"), "TPR@0.1%": float("nan")}
            continue
        lam = lira_scores(np.concatenate([phi_u[n_shadows:], phi_o[n_shadows:]]),
                          phi_u[:n_shadows], phi_o[:n_shadows])
        out[m] = lira_roc(lam.ravel(), labels)
    return out
