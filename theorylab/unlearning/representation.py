"""Representation-level unlearning evaluation: CKA, k-NN and linear probes on frozen features.

Kim, Cha & Kim 2025, "Are We Truly Forgetting? A Critical Re-examination of Machine
Unlearning Evaluation Protocols" (arXiv:2503.06991). Logit metrics (forget accuracy, MIA)
can pass while the features that feed the classifier are still those of the original model
θ_o; a method that only changes the last layer, or one that trains on random labels, looks
forgotten at the output and not in the representation. These functions score any model
(θ_u) against θ_o and the retrained oracle θ_r on the *penultimate* features (the input of
the model's last ``nn.Linear``):

- :func:`linear_cka` — linear centred kernel alignment (Kornblith et al. 2019,
  arXiv:1905.00414) between feature matrices ``X (n, d1)`` and ``Y (n, d2)`` of the same
  inputs, from the unbiased HSIC estimator (Song et al. 2012) by default;
- :func:`cka_noise_floor` — mean CKA between pairs of independently retrained models: two
  retrains disagree by ``1 − floor`` even though both forgot perfectly;
- :func:`knn_accuracy` — ``KNeighborsClassifier(5, metric="cosine")`` on frozen features
  (as the reference code ``main_knn.py``), :func:`probe_accuracy` — a multinomial logistic
  regression probe on standardised frozen features;
- :func:`representation_report` — all of the above for one model on the forget/retain test
  features (and a downstream task when given), usable on every method of the harness;
- the method ``head_only`` (:func:`head_only_retrain`): re-initialise the last layer and fit
  it on D_r with the features frozen — the pure "classifier-only" unlearning.

Paper symbol ↔ argument: θ_u ``model``, θ_o ``original``, θ_r ``retrained`` (a list),
D_f/D_r test splits ``X_forget``/``X_retain``; CKA × 100 in the paper's tables.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from theorylab._validation import check_int, check_positive
from theorylab.unlearning.laf import embed, last_linear
from theorylab.unlearning.methods import register_method
from theorylab.unlearning.models import epoch_batches

__all__ = ["linear_cka", "linear_cka_gram", "batched_cka", "penultimate_features",
           "cka_noise_floor", "knn_accuracy", "probe_accuracy", "representation_report",
           "HeadOnlyConfig", "head_only_retrain"]


def _features(X, *, name: str) -> np.ndarray:
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    a = np.asarray(X, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-dimensional feature matrix (n, d), got shape "
                         f"{a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {int(np.sum(~np.isfinite(a)))} "
                         "non-finite entries")
    return a


def _pair(X, Y, *, debiased: bool) -> tuple[np.ndarray, np.ndarray]:
    X, Y = _features(X, name="X"), _features(Y, name="Y")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"Y must have {X.shape[0]} rows (one per row of X), got {Y.shape[0]}")
    n_min = 4 if debiased else 2
    if X.shape[0] < n_min:
        raise ValueError(f"X must have at least {n_min} rows for "
                         f"{'debiased' if debiased else 'biased'} CKA, got {X.shape[0]}")
    return X, Y


def _frob2_cross(X: np.ndarray, Y: np.ndarray) -> float:
    """‖XᵀY‖²_F; for ``Y is X`` via the symmetric rank-k update (half the flops of XᵀX)."""
    if X is not Y:
        return float(np.sum((X.T @ Y) ** 2))
    from scipy.linalg.blas import dsyrk

    G = np.triu(dsyrk(1.0, X.T, trans=0))  # X.T is an F-ordered view: no copy
    return float(2.0 * np.sum(G * G) - np.sum(np.diag(G) ** 2))


def _hsic_terms(X: np.ndarray, Y: np.ndarray, debiased: bool) -> float:
    """⟨H̃K, H̃L⟩ for K = XXᵀ, L = YYᵀ computed in feature space (no n × n matrix)."""
    n = X.shape[0]
    cross = _frob2_cross(X, Y)
    if not debiased:
        return cross  # X, Y column-centred: tr(KHLH) = ‖XᵀY‖²_F
    # Unbiased estimator (Song et al. 2012, eq. 5) times n(n − 3), with K̃ = K − diag(K):
    # tr(K̃L̃) + 1ᵀK̃1·1ᵀL̃1/((n−1)(n−2)) − 2/(n−2)·1ᵀK̃L̃1
    k = np.einsum("ij,ij->i", X, X)
    ell = k if X is Y else np.einsum("ij,ij->i", Y, Y)
    sx, sy = X.sum(0), Y.sum(0)
    Kt1 = X @ sx - k  # K̃1
    Lt1 = Kt1 if X is Y else Y @ sy - ell
    tr = cross - float(k @ ell)
    s_k, s_l = float(Kt1.sum()), float(Lt1.sum())
    return tr + s_k * s_l / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * float(Kt1 @ Lt1)


def linear_cka(X, Y, *, debiased: bool = True) -> float:
    """Linear CKA between two feature matrices of the same ``n`` inputs.

    Parameters
    ----------
    X : array (n, d1)
    Y : array (n, d2)
        Features of the same inputs in the same order (torch tensors are accepted).
    debiased : bool
        ``True`` (default): the unbiased HSIC estimator (Song et al. 2012), which removes the
        positive bias of the plug-in estimate at small ``n``; ``False``: the plug-in form
        ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F) on column-centred features (Kornblith et al. 2019).

    Returns
    -------
    float
        CKA in [0, 1] for the biased form (the debiased one can dip slightly below 0 when the
        two are unrelated); 1 when ``Y = c·X·Q + 1bᵀ`` for an orthogonal ``Q``, a scale
        ``c ≠ 0`` and any shift ``b``.

    Raises
    ------
    ValueError
        Non-2-D or non-finite inputs, different row counts, fewer than 4 (debiased) or 2 rows,
        or a constant feature matrix (zero self-similarity).

    Notes
    -----
    With K = XXᵀ, L = YYᵀ and H = I − 11ᵀ/n, CKA = HSIC(K, L)/√(HSIC(K, K)·HSIC(L, L)),
    HSIC(K, L) = tr(KHLH)/(n − 1)². The estimators are computed in feature space in
    O(n·d1·d2) time and O(d1·d2) memory; :func:`linear_cka_gram` is the two-Gram-matrix
    reference (O(n²) memory). Columns are centred first; both estimators are invariant to
    that (it only improves the arithmetic).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 5))
    >>> Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    >>> round(linear_cka(X, 3.0 * X @ Q), 12)
    1.0
    """
    X, Y = _pair(X, Y, debiased=debiased)
    X = X - X.mean(0)
    Y = Y - Y.mean(0)
    xy = _hsic_terms(X, Y, debiased)
    xx = _hsic_terms(X, X, debiased)
    yy = _hsic_terms(Y, Y, debiased)
    for v, name in ((xx, "X"), (yy, "Y")):
        if not v > 0:
            raise ValueError(f"{name} must not be constant (zero self-similarity), got HSIC "
                             f"{v!r}")
    return float(xy / np.sqrt(xx * yy))


def _center_gram(G: np.ndarray, debiased: bool) -> np.ndarray:
    """Centre a Gram matrix in place: H G H, or the U-centring of Székely & Rizzo (2014)."""
    n = G.shape[0]
    if debiased:
        np.fill_diagonal(G, 0.0)
        means = G.sum(0) / (n - 2)
        means -= means.sum() / (2 * (n - 1))
        G -= means[:, None]
        G -= means[None, :]
        np.fill_diagonal(G, 0.0)
    else:
        means = G.mean(0)
        G -= means[:, None]
        G -= means[None, :]
        G += means.mean()
    return G


def linear_cka_gram(X, Y, *, debiased: bool = True) -> float:
    """Reference twin of :func:`linear_cka`: two explicit n × n Gram matrices, centred
    (U-centred when ``debiased``), CKA = ⟨K̃, L̃⟩/(‖K̃‖_F ‖L̃‖_F) — the published
    ``gram_linear``/``center_gram``/``cka`` recipe. O(n²) memory; for tests and benchmarks."""
    X, Y = _pair(X, Y, debiased=debiased)
    K = _center_gram(X @ X.T, debiased)
    L = _center_gram(Y @ Y.T, debiased)
    num = float(np.sum(K * L))
    den = float(np.linalg.norm(K) * np.linalg.norm(L))
    if not den > 0:
        raise ValueError(f"X and Y must not be constant (zero self-similarity), got {den!r}")
    return num / den


def batched_cka(X, Y, *, batch_size: int = 256, debiased: bool = False) -> float:
    """The reference code's protocol: CKA per consecutive batch of ``batch_size`` rows,
    averaged (a last batch smaller than 4 rows is dropped). Biased for small batches; given
    for comparison with the paper's tables, :func:`linear_cka` on the whole split is the
    project's number."""
    X, Y = _pair(X, Y, debiased=debiased)
    batch_size = check_int(batch_size, name="batch_size", minimum=4)
    vals = [linear_cka(X[i:i + batch_size], Y[i:i + batch_size], debiased=debiased)
            for i in range(0, X.shape[0], batch_size) if X[i:i + batch_size].shape[0] >= 4]
    return float(np.mean(vals))


@torch.no_grad()
def penultimate_features(model: nn.Module, X: torch.Tensor, *, batch_size: int = 4096
                         ) -> np.ndarray:
    """The input of ``model``'s last ``nn.Linear`` on ``X`` in eval mode, ``(n, h)`` float64."""
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor, got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, d), got {tuple(X.shape)}")
    batch_size = check_int(batch_size, name="batch_size", minimum=1)
    was = model.training
    model.eval()
    try:
        out = [embed(model, X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)]
    finally:
        model.train(was)
    return torch.cat(out).double().cpu().numpy()


def cka_noise_floor(features: Sequence[np.ndarray], *, debiased: bool = True
                    ) -> tuple[float, float]:
    """Mean and standard deviation of CKA over all pairs of ``features`` (one matrix per
    independently retrained model, same inputs): the CKA two equally good unlearners reach."""
    feats = list(features)
    if len(feats) < 2:
        raise ValueError(f"features must hold at least 2 matrices (one per retrained model), "
                         f"got {len(feats)}")
    vals = [linear_cka(a, b, debiased=debiased) for a, b in itertools.combinations(feats, 2)]
    return float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0


def _fit_eval(F_fit, y_fit, F_eval, y_eval) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                     np.ndarray]:
    F_fit, F_eval = _features(F_fit, name="F_fit"), _features(F_eval, name="F_eval")
    if F_fit.shape[1] != F_eval.shape[1]:
        raise ValueError(f"F_eval must have {F_fit.shape[1]} columns like F_fit, got "
                         f"{F_eval.shape[1]}")
    y_fit, y_eval = np.asarray(y_fit), np.asarray(y_eval)
    if y_fit.shape != (F_fit.shape[0],):
        raise ValueError(f"y_fit must have shape ({F_fit.shape[0]},), got {y_fit.shape}")
    if y_eval.shape != (F_eval.shape[0],) or F_eval.shape[0] == 0:
        raise ValueError(f"y_eval must have shape ({F_eval.shape[0]},) with at least one row, "
                         f"got {y_eval.shape}")
    return F_fit, y_fit, F_eval, y_eval


def knn_accuracy(F_fit, y_fit, F_eval, y_eval, *, k: int = 5) -> float:
    """Accuracy on ``F_eval`` of ``KNeighborsClassifier(k, metric="cosine")`` fitted on
    ``(F_fit, y_fit)`` (frozen features; the reference code's downstream evaluation)."""
    from sklearn.neighbors import KNeighborsClassifier

    F_fit, y_fit, F_eval, y_eval = _fit_eval(F_fit, y_fit, F_eval, y_eval)
    k = check_int(k, name="k", minimum=1, maximum=F_fit.shape[0])
    clf = KNeighborsClassifier(n_neighbors=k, metric="cosine").fit(F_fit, y_fit)
    return float(np.mean(clf.predict(F_eval) == y_eval))


def probe_accuracy(F_fit, y_fit, F_eval, y_eval, *, C: float = 1.0, max_iter: int = 500
                   ) -> float:
    """Accuracy on ``F_eval`` of a multinomial logistic-regression probe (L2 strength
    ``1/C``) fitted on standardised ``(F_fit, y_fit)``: how linearly decodable the labels
    still are from frozen features (the forget class included in ``y_fit``)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    F_fit, y_fit, F_eval, y_eval = _fit_eval(F_fit, y_fit, F_eval, y_eval)
    C = check_positive(C, name="C")
    max_iter = check_int(max_iter, name="max_iter", minimum=1)
    mu, sd = F_fit.mean(0), F_fit.std(0)
    sd[sd == 0] = 1.0
    with warnings.catch_warnings():
        # a probe is a measurement: an lbfgs stop at max_iter changes the last digits only
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(C=C, max_iter=max_iter).fit((F_fit - mu) / sd, y_fit)
    return float(np.mean(clf.predict((F_eval - mu) / sd) == y_eval))


def representation_report(model: nn.Module, *, original: nn.Module,
                          retrained: Sequence[nn.Module], X_fit: torch.Tensor, y_fit,
                          X_forget: torch.Tensor, y_forget, X_retain: torch.Tensor,
                          downstream: tuple | None = None, k: int = 5,
                          debiased: bool = True) -> dict[str, float]:
    """Representation-level scores of ``model`` (θ_u) on penultimate features.

    Parameters
    ----------
    original, retrained : θ_o and a list of θ_r (retrained from scratch on D_r, ≥ 1).
    X_fit, y_fit : inputs and true labels (every class, the forget class included) on which
        the k-NN and the probe are fitted — usually the training set.
    X_forget, y_forget : forget-class test inputs (and labels) scored by k-NN/probe/CKA.
    X_retain : retain-class test inputs (CKA only).
    downstream : ``(X_train, y_train, X_test, y_test)`` of a task the model never trained
        on; adds ``knn_downstream`` (k-NN fitted on its train features).

    Returns
    -------
    dict with ``cka_original_{forget,retain}`` = CKA(θ_u, θ_o), ``cka_retrained_{forget,
    retain}`` = mean over θ_r of CKA(θ_u, θ_r), ``knn_forget`` and ``probe_forget`` (accuracy
    on the forget-class test inputs), and ``knn_downstream`` when ``downstream`` is given.
    """
    retrained = list(retrained)
    if not retrained:
        raise ValueError("retrained must hold at least one retrained model, got none")
    feat = lambda m, X: penultimate_features(m, X)
    out: dict[str, float] = {}
    for split, X in (("forget", X_forget), ("retain", X_retain)):
        fu = feat(model, X)
        out[f"cka_original_{split}"] = linear_cka(fu, feat(original, X), debiased=debiased)
        out[f"cka_retrained_{split}"] = float(np.mean(
            [linear_cka(fu, feat(r, X), debiased=debiased) for r in retrained]))
    f_fit, f_forget = feat(model, X_fit), feat(model, X_forget)
    out["knn_forget"] = knn_accuracy(f_fit, y_fit, f_forget, y_forget, k=k)
    out["probe_forget"] = probe_accuracy(f_fit, y_fit, f_forget, y_forget)
    if downstream is not None:
        Xd, yd, Xdt, ydt = downstream
        out["knn_downstream"] = knn_accuracy(feat(model, Xd), yd, feat(model, Xdt), ydt, k=k)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class HeadOnlyConfig:
    """Head-only retraining: ``epochs`` of Adam (``lr``, minibatches of ``batch_size``) on the
    cross-entropy of D_r through a re-initialised (``reinit=True``) or the original last
    layer; every other parameter frozen."""

    epochs: int = 30
    lr: float = 1e-2
    batch_size: int = 128
    reinit: bool = True

    def __post_init__(self) -> None:
        check_int(self.epochs, name="epochs", minimum=0)
        check_positive(self.lr, name="lr")
        check_int(self.batch_size, name="batch_size", minimum=1)
        if not isinstance(self.reinit, bool):
            raise TypeError(f"reinit must be a bool, got {type(self.reinit).__name__}")


@register_method("head_only", config=HeadOnlyConfig, needs_retain=True)
def head_only_retrain(model, forget, retain=None, *, config, generator, train_set=None,
                      oracles=None):
    """Refit the last ``nn.Linear`` on D_r with frozen features (D_f is never read). The
    features are those of θ_o exactly, so every representation metric equals θ_o's."""
    head = last_linear(model)
    with torch.no_grad():
        F = torch.cat([embed(model.eval(), retain.X[i:i + 4096])
                       for i in range(0, len(retain), 4096)])  # (n_r, h)
        if config.reinit:
            bound = 1.0 / np.sqrt(head.in_features)
            for p in (head.weight, head.bias):
                u = torch.rand(p.shape, generator=generator, dtype=torch.float64)
                p.copy_((u * 2 * bound - bound).to(p))
    opt = torch.optim.Adam(head.parameters(), lr=config.lr)
    for _ in range(config.epochs):
        for idx in epoch_batches(F.shape[0], config.batch_size, generator):
            idx = idx.to(F.device)
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(head(F[idx]), retain.y[idx]).backward()
            opt.step()
    return model.eval()
