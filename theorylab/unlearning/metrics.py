"""Unlearning metrics on model outputs (NumPy arrays), each with its direction and ideal.

Notation: D_f forget set, D_r retain set, D_t test set; θ_u unlearned, θ_r the oracle
retrained from scratch on D_r, θ_o the original model. ``probs`` are softmax outputs
``(n, K)``, ``logits`` raw outputs. Every headline metric is compared with θ_r's value (its
*gap*, :func:`oracle_gaps`), never read on its own.

| metric              | direction                  | ideal                      |
|---------------------|----------------------------|----------------------------|
| UA = 1 − Acc(D_f)   | match θ_r                  | θ_r's UA                   |
| RA, TA              | higher is better           | θ_r's value (≈ original)   |
| SVC-MIA efficacy    | higher = more forgotten    | θ_r's value                |
| entropy-LR MIA      | lower = more forgotten     | θ_r's value                |
| loss-MIA accuracy   | 0.5 = indistinguishable    | 0.5                        |
| NoMUS               | higher is better           | 1 (TA = 1, MIA at chance)  |
| KLoM (P95)          | lower is better            | the oracle-half floor      |
| AIN (relearn time)  | ≈ 1 ideal                  | 1                          |
| Avg.Gap             | lower is better            | 0                          |

References: Jia et al. 2023 (arXiv:2304.04934) and Fan et al. 2024 (arXiv:2310.12508) for UA/RA/
TA, SVC-MIA and Avg.Gap; Chundawat et al. 2023 (arXiv:2205.08096) for the entropy MIA and ZRF;
Choi & Na 2023 (arXiv:2311.02240) for NoMUS; Georgiev et al. 2024 (arXiv:2410.23232) for KLoM;
Tarun et al. 2023 (arXiv:2201.05629) for AIN.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.special import logsumexp

from theorylab._validation import check_array, check_int, check_probability, check_rng

__all__ = ["softmax", "accuracy", "accuracy_family", "mae_family", "entropy", "modified_entropy",
           "mia_features", "svc_mia", "svc_mia_privacy", "regression_svc_mia", "entropy_lr_mia",
           "loss_mia_accuracy", "nomus",
           "margins", "klom", "klom_p95", "klom_floor", "zrf", "avg_gap", "oracle_gaps",
           "timed", "relearn_steps", "relearn_curve", "ain", "MIA_FEATURES"]

MIA_FEATURES = ("correctness", "confidence", "entropy", "m_entropy", "prob")


def _probs(p, *, name: str) -> np.ndarray:
    a = np.asarray(p, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n, K) with n >= 1, got {a.shape}")
    _check_finite(a, name)
    if np.any(a < -1e-9) or np.any(np.abs(a.sum(1) - 1) > 1e-4):
        raise ValueError(f"{name} must hold probability rows (>= 0, summing to 1)")
    return np.clip(a, 0.0, 1.0)


def _check_finite(a: np.ndarray, name: str) -> None:
    """Refuse NaN/inf (the shared check's message): a metric of a diverged model is
    undefined, not a number to average."""
    check_array(a, name=name, ndim=None)


def _labels(y, n: int, *, name: str) -> np.ndarray:
    a = np.asarray(y)
    if a.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {a.shape}")
    return a.astype(np.int64)


def softmax(logits) -> np.ndarray:
    """Row-wise softmax, computed stably."""
    z = np.asarray(logits, dtype=np.float64)
    _check_finite(z, "logits")
    return np.exp(z - logsumexp(z, axis=-1, keepdims=True))


def accuracy(outputs, y) -> float:
    """Fraction of rows whose argmax equals ``y`` (``outputs`` logits or probabilities)."""
    out = np.asarray(outputs)
    if out.ndim != 2:
        raise ValueError(f"outputs must have shape (n, K), got {out.shape}")
    y = _labels(y, out.shape[0], name="y")
    if out.shape[0] == 0:
        raise ValueError("outputs must have at least one row, got 0")
    _check_finite(out, "outputs")
    return float(np.mean(out.argmax(1) == y))


def accuracy_family(out_train, y_train, out_test, y_test, *, forget, retain,
                    forget_test=None, retain_test=None) -> dict[str, float]:
    """UA = 1 − Acc(D_f), RA = Acc(D_r), TA = Acc(D_t); with class-like test splits also
    ``forget_test_acc`` and ``retain_test_acc``.

    UA: match the oracle (≈ test error for random forgetting, ≈ 1 for class forgetting).
    RA, TA, retain-test accuracy: higher is better, ideal = the oracle's.
    Forget-test accuracy: match the oracle (≈ 0 for a forgotten class).
    """
    out_train, out_test = np.asarray(out_train), np.asarray(out_test)
    res = {"UA": 1.0 - accuracy(out_train[forget], np.asarray(y_train)[forget]),
           "RA": accuracy(out_train[retain], np.asarray(y_train)[retain]),
           "TA": accuracy(out_test, y_test)}
    if forget_test is not None and len(forget_test):
        res["forget_test_acc"] = accuracy(out_test[forget_test], np.asarray(y_test)[forget_test])
    if retain_test is not None and len(retain_test):
        res["retain_test_acc"] = accuracy(out_test[retain_test], np.asarray(y_test)[retain_test])
    return res


def mae_family(pred_train, y_train, pred_test, y_test, *, forget, retain) -> dict[str, float]:
    """Regression: mean absolute error on D_r, D_f and D_t (``MAE_r``, ``MAE_f``, ``MAE_t``).

    MAE_r, MAE_t: lower is better; MAE_f: match the oracle (it rises when D_f is forgotten).
    """
    pt, pv = np.ravel(pred_train).astype(float), np.ravel(pred_test).astype(float)
    yt, yv = np.ravel(y_train).astype(float), np.ravel(y_test).astype(float)
    if pt.shape != yt.shape or pv.shape != yv.shape:
        raise ValueError(f"pred_train must have shape {yt.shape}, got {pt.shape}")
    _check_finite(pt, "pred_train")
    _check_finite(pv, "pred_test")
    return {"MAE_r": float(np.mean(np.abs(pt[retain] - yt[retain]))),
            "MAE_f": float(np.mean(np.abs(pt[forget] - yt[forget]))),
            "MAE_t": float(np.mean(np.abs(pv - yv)))}


def entropy(probs) -> np.ndarray:
    """Shannon entropy per row, ``−Σ p log p`` with ``0 log 0 = 0`` (nats)."""
    p = _probs(probs, name="probs")
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(p > 0, p * np.log(p), 0.0)
    return -t.sum(1)


def modified_entropy(probs, y) -> np.ndarray:
    """Song & Mittal's modified entropy (arXiv:2003.10595), the correct form
    ``−(1 − p_y) log p_y − Σ_{j≠y} p_j log(1 − p_j)`` (logs clipped at 1e-30)."""
    p = _probs(probs, name="probs")
    y = _labels(y, p.shape[0], name="y")
    rows = np.arange(p.shape[0])
    py = p[rows, y]
    log = lambda a: np.log(np.maximum(a, 1e-30))
    other = p * log(1 - p)
    other[rows, y] = 0.0
    return -(1 - py) * log(py) - other.sum(1)


def mia_features(probs, y) -> dict[str, np.ndarray]:
    """The five SVC-MIA features ``(n, d)``: correctness 1[argmax p = y], confidence p_y,
    entropy, modified entropy, and the full probability vector."""
    p = _probs(probs, name="probs")
    y = _labels(y, p.shape[0], name="y")
    rows = np.arange(p.shape[0])
    col = lambda a: np.asarray(a, dtype=np.float64).reshape(-1, 1)
    return {"correctness": col(p.argmax(1) == y), "confidence": col(p[rows, y]),
            "entropy": col(entropy(p)), "m_entropy": col(modified_entropy(p, y)), "prob": p}


def svc_mia(probs_retain, y_retain, probs_test, y_test, probs_forget, y_forget, *,
            features: Sequence[str] = MIA_FEATURES) -> dict[str, float]:
    """SVC membership-inference "MIA-Efficacy" on D_f, one classifier per feature.

    Shadow members: the first |D_t| rows of D_r (label 1); shadow non-members: D_t (label 0).
    Classifier ``SVC(C=3, kernel='rbf', gamma='auto')``. Efficacy = fraction of D_f predicted
    non-member. **Higher = more forgotten; ideal = the oracle's value.** The headline number is
    ``"confidence"`` (× 100 in tables); ``"m_entropy"`` is the textbook modified entropy and
    is not used for headline numbers.
    """
    from sklearn.svm import SVC

    bad = [f for f in features if f not in MIA_FEATURES]
    if bad or not features:
        raise ValueError(f"features must be a non-empty subset of {MIA_FEATURES}, got {bad}")
    n_t = np.asarray(probs_test).shape[0]
    if np.asarray(probs_retain).shape[0] < n_t:
        raise ValueError(f"probs_retain must have at least |D_t| = {n_t} rows, got "
                         f"{np.asarray(probs_retain).shape[0]}")
    f_in = mia_features(np.asarray(probs_retain)[:n_t], np.asarray(y_retain)[:n_t])
    f_out = mia_features(probs_test, y_test)
    f_tgt = mia_features(probs_forget, y_forget)
    labels = np.r_[np.ones(n_t), np.zeros(n_t)]
    out = {}
    for f in features:
        clf = SVC(C=3, kernel="rbf", gamma="auto").fit(np.vstack([f_in[f], f_out[f]]), labels)
        out[f] = float(np.mean(clf.predict(f_tgt[f]) == 0))
    return out


def svc_mia_privacy(probs_retain, y_retain, probs_test, y_test, probs_members, y_members,
                    probs_nonmembers, y_nonmembers, *, feature: str = "confidence") -> float:
    """"Training-privacy" SVC-MIA: the shadow classifier of :func:`svc_mia` (one ``feature``)
    scored on member and non-member targets, score = mean(member hit rate, non-member rejection
    rate). **0.5 = no membership leak (ideal for privacy); 1 = perfect inference.**"""
    from sklearn.svm import SVC

    if feature not in MIA_FEATURES:
        raise ValueError(f"feature must be one of {MIA_FEATURES}, got {feature!r}")
    n_t = np.asarray(probs_test).shape[0]
    f_in = mia_features(np.asarray(probs_retain)[:n_t], np.asarray(y_retain)[:n_t])[feature]
    f_out = mia_features(probs_test, y_test)[feature]
    clf = SVC(C=3, kernel="rbf", gamma="auto").fit(np.vstack([f_in, f_out]),
                                                   np.r_[np.ones(len(f_in)), np.zeros(n_t)])
    hit = np.mean(clf.predict(mia_features(probs_members, y_members)[feature]) == 1)
    rej = np.mean(clf.predict(mia_features(probs_nonmembers, y_nonmembers)[feature]) == 0)
    return float(0.5 * (hit + rej))


def regression_svc_mia(loss_retain, loss_test, loss_forget) -> float:
    """Regression MIA: ``SVC(C=3, kernel='rbf', gamma='auto')`` on the per-sample L1 loss,
    D_r (member, 1) vs D_t (0); returns the predicted-member rate on D_f.
    **Lower = more forgotten; ideal = the oracle's value.**"""
    from sklearn.svm import SVC

    col = lambda a: np.ravel(np.asarray(a, dtype=np.float64)).reshape(-1, 1)
    lr, lt, lf = col(loss_retain), col(loss_test), col(loss_forget)
    if min(lr.shape[0], lt.shape[0], lf.shape[0]) == 0:
        raise ValueError("loss_retain, loss_test and loss_forget must be non-empty")
    clf = SVC(C=3, kernel="rbf", gamma="auto").fit(
        np.vstack([lr, lt]), np.r_[np.ones(len(lr)), np.zeros(len(lt))])
    return float(clf.predict(lf).mean())


def entropy_lr_mia(probs_retain, probs_test, probs_forget) -> float:
    """Entropy logistic-regression MIA: train ``LogisticRegression(class_weight='balanced')``
    on the output entropy of D_r (member, 1) vs D_t (0); return the mean predicted-member rate
    on D_f. **Lower = more forgotten; ideal = the oracle's value.**"""
    from sklearn.linear_model import LogisticRegression

    e_r, e_t, e_f = (entropy(p).reshape(-1, 1) for p in (probs_retain, probs_test, probs_forget))
    clf = LogisticRegression(class_weight="balanced").fit(
        np.vstack([e_r, e_t]), np.r_[np.ones(len(e_r)), np.zeros(len(e_t))])
    return float(clf.predict(e_f).mean())


def loss_mia_accuracy(loss_forget, loss_unseen, *, n_splits: int = 10, rng=None) -> float:
    """Loss-threshold MIA accuracy: per-sample cross-entropy of D_f (member, 1) vs unseen data
    (0), subsampled to equal size; ``LogisticRegression`` scored by the mean accuracy over
    ``StratifiedShuffleSplit(n_splits)`` (test fraction 0.1). **Ideal 0.5** (chance);
    ``|acc − 0.5|`` is the forgetting score that :func:`nomus` uses."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedShuffleSplit, cross_val_score

    lf = np.ravel(np.asarray(loss_forget, dtype=float))
    lu = np.ravel(np.asarray(loss_unseen, dtype=float))
    n_splits = check_int(n_splits, name="n_splits", minimum=2)
    if lf.size < 10 or lu.size < 10:
        raise ValueError(f"loss_forget and loss_unseen must have >= 10 values each, got "
                         f"{lf.size} and {lu.size}")
    rng = check_rng(rng)
    k = min(lf.size, lu.size)
    lf, lu = rng.choice(lf, k, replace=False), rng.choice(lu, k, replace=False)
    X = np.r_[lf, lu].reshape(-1, 1)
    lab = np.r_[np.ones(k), np.zeros(k)]
    cv = StratifiedShuffleSplit(n_splits=n_splits, random_state=int(rng.integers(2**31 - 1)))
    return float(cross_val_score(LogisticRegression(), X, lab, cv=cv).mean())


def nomus(test_accuracy: float, forgetting_score: float, *, lam: float = 0.5) -> float:
    """NoMUS = λ·TA + (1 − λ)·(1 − 2·|acc_MIA − 0.5|), given ``forgetting_score`` =
    |acc_MIA − 0.5| ∈ [0, 0.5]. **Higher is better, ideal 1.**

    Examples
    --------
    >>> round(nomus(0.4880, 0.0445), 4)
    0.6995
    """
    ta = check_probability(test_accuracy, name="test_accuracy")
    fs = float(forgetting_score)
    if not 0.0 <= fs <= 0.5:
        raise ValueError(f"forgetting_score must be in [0, 0.5], got {forgetting_score!r}")
    lam = check_probability(lam, name="lam")
    return lam * ta + (1 - lam) * (1 - 2 * fs)


def margins(logits, y) -> np.ndarray:
    """Margin ``m = z_y − logsumexp_{j≠y} z_j`` on logits ``(..., n, K)`` → ``(..., n)``.

    It equals the LiRA statistic log(p_y / (1 − p_y)).
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if z.ndim < 2 or y.shape != z.shape[-2:-1]:
        raise ValueError(f"y must have shape ({z.shape[-2] if z.ndim >= 2 else '?'},), got "
                         f"{y.shape}")
    _check_finite(z, "logits")
    zy = np.take_along_axis(z, np.broadcast_to(y[:, None], z.shape[:-1] + (1,)), -1)[..., 0]
    rest = z.copy()
    np.put_along_axis(rest, np.broadcast_to(y[:, None], z.shape[:-1] + (1,)), -np.inf, -1)
    return zy - logsumexp(rest, axis=-1)


def klom(unlearned, oracle, *, bins: int = 20, match_reference_binning: bool = False
         ) -> np.ndarray:
    """KL divergence of margins per point, **KL(unlearned ‖ oracle)**; lower is better,
    compared with the oracle-half floor (:func:`klom_floor`) at the same ensemble size.

    Parameters
    ----------
    unlearned, oracle : arrays ``(N, P)``
        Margins of N models (unlearned copies of independent originals; independent oracles)
        on P points. Both must have the same shape.
    bins : int
        Equal-width bins from the pooled minimum to the pooled maximum of the two samples
        (clipped to [−100, 100]; when min = max the range is [min, min + 1]).
    match_reference_binning : bool
        ``True`` reproduces the published evaluation code, which assigns samples with
        ``np.digitize`` against the ``bins + 1`` edges and counts indices 1…bins, so a sample
        equal to the pooled maximum is dropped. ``False`` (default) closes the top bin.

    Notes
    -----
    With p, q the normalised histograms, q is floored to 1e-5 where p > 0, and
    KLoM = ``scipy.stats.entropy(p, q)``, which renormalises q after the floor.
    """
    from scipy.stats import entropy as kl

    u = np.asarray(unlearned, dtype=np.float64)
    o = np.asarray(oracle, dtype=np.float64)
    if u.ndim != 2 or u.shape != o.shape:
        raise ValueError(f"unlearned and oracle must have the same (N, P) shape, got {u.shape} "
                         f"and {o.shape}")
    bins = check_int(bins, name="bins", minimum=1)
    u, o = np.clip(u, -100, 100), np.clip(o, -100, 100)
    out = np.empty(u.shape[1])
    for i in range(u.shape[1]):
        lo = min(u[:, i].min(), o[:, i].min())
        hi = max(u[:, i].max(), o[:, i].max())
        if hi == lo:
            hi = lo + 1.0
        edges = np.linspace(lo, hi, bins + 1)
        if match_reference_binning:
            hp = np.bincount(np.digitize(u[:, i], edges), minlength=bins + 2)[1:bins + 1]
            hq = np.bincount(np.digitize(o[:, i], edges), minlength=bins + 2)[1:bins + 1]
        else:
            hp = np.histogram(u[:, i], edges)[0]
            hq = np.histogram(o[:, i], edges)[0]
        if hp.sum() == 0 or hq.sum() == 0:
            out[i] = np.nan
            continue
        p, q = hp / hp.sum(), hq / hq.sum()
        q = np.where(p > 0, np.maximum(q, 1e-5), q)
        out[i] = kl(p, q)
    return out


def klom_p95(unlearned, oracle, **kw) -> float:
    """95th percentile of :func:`klom` over the points (NaN points ignored)."""
    return float(np.nanpercentile(klom(unlearned, oracle, **kw), 95))


def klom_floor(oracle, *, rng=None, **kw) -> float:
    """P95 KLoM between two random halves A, B of the oracle ensemble, KLoM(A ‖ B) with N/2
    members each: the value an ideal method reaches at this ensemble size (binning bias
    depends on N, so compare methods only at equal N and print this floor beside them)."""
    o = np.asarray(oracle, dtype=np.float64)
    if o.ndim != 2 or o.shape[0] < 4:
        raise ValueError(f"oracle must have shape (N, P) with N >= 4, got {o.shape}")
    perm = check_rng(rng).permutation(o.shape[0])
    h = o.shape[0] // 2
    return klom_p95(o[perm[:h]], o[perm[h:2 * h]], **kw)


def zrf(probs_unlearned, probs_incompetent, *, match_reference: bool = False) -> float:
    """Zero-Retrain Forgetting score, ZRF = 1 − JS(p_u, p_T) over D_f, with T a randomly
    initialised model. **Higher = outputs closer to an incompetent model** (1 = identical).

    Default: the textbook Jensen–Shannon divergence per sample (nats), averaged over samples.
    ``match_reference=True`` reproduces the published code, which averages the elementwise
    KL terms over all n × K entries (so also divides by K).
    """
    p = _probs(probs_unlearned, name="probs_unlearned")
    q = _probs(probs_incompetent, name="probs_incompetent")
    if p.shape != q.shape:
        raise ValueError(f"probs_incompetent must have shape {p.shape}, got {q.shape}")
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_el = lambda a: np.where(m > 0, m * (np.log(np.maximum(m, 1e-300))
                                               - np.log(np.maximum(a, 1e-300))), 0.0)
        # reference: F.kl_div(log a, m) = m (log m - log a) elementwise, mean over all entries
        if match_reference:
            js = 0.5 * kl_el(p).mean() + 0.5 * kl_el(q).mean()
            return float(1 - js)
        kl_p = np.where(p > 0, p * (np.log(np.maximum(p, 1e-300)) - np.log(m)), 0.0).sum(1)
        kl_q = np.where(q > 0, q * (np.log(np.maximum(q, 1e-300)) - np.log(m)), 0.0).sum(1)
    return float(1 - np.mean(0.5 * kl_p + 0.5 * kl_q))


def avg_gap(metrics: Mapping[str, float], oracle: Mapping[str, float],
            keys: Sequence[str] = ("UA", "MIA", "RA", "TA")) -> float:
    """Avg.Gap = mean over ``keys`` of |M(θ_u) − M(θ_r)| (UA, MIA-Efficacy, RA, TA by default,
    in the same units as the inputs). **Lower is better, ideal 0.**"""
    missing = [k for k in keys if k not in metrics or k not in oracle]
    if missing:
        raise ValueError(f"metrics and oracle must both contain {list(keys)}, missing {missing}")
    return float(np.mean([abs(float(metrics[k]) - float(oracle[k])) for k in keys]))


def oracle_gaps(metrics: Mapping[str, float], oracle_runs: Sequence[Mapping[str, float]]
                ) -> dict[str, float]:
    """For every key of ``metrics`` found in all oracle runs: ``<k>_oracle_mean``,
    ``<k>_oracle_std`` (ddof 1; 0 with one run) and ``<k>_gap = |M − oracle mean|``."""
    if not oracle_runs:
        raise ValueError("oracle_runs must hold at least one run, got none")
    out: dict[str, float] = {}
    for k, val in metrics.items():
        if not all(k in r for r in oracle_runs):
            continue
        vals = np.array([float(r[k]) for r in oracle_runs])
        mu = float(vals.mean())
        out[f"{k}_oracle_mean"] = mu
        out[f"{k}_oracle_std"] = float(vals.std(ddof=1)) if vals.size > 1 else 0.0
        out[f"{k}_gap"] = abs(float(val) - mu)
    return out


def timed(fn: Callable[..., Any], *args, device=None, **kwargs) -> tuple[Any, float]:
    """``(fn(*args, **kwargs), seconds)`` — run time (RTE) of one call; on CUDA the device is
    synchronised before reading the clock. Lower is better."""
    sync = None
    if device is not None and str(device).startswith("cuda"):
        import torch

        sync = torch.cuda.synchronize
    if sync:
        sync()
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    if sync:
        sync()
    return out, time.perf_counter() - t0


def relearn_steps(model, X, y, X_val, y_val, *, target_loss: float, generator, lr: float = 1e-3,
                  batch_size: int = 256, max_epochs: int = 10,
                  task: str = "classification") -> tuple[int, bool]:
    """Optimiser steps of Adam(lr) on ``(X, y)`` (a copy of ``model``) until the loss on the
    validation split ``(X_val, y_val)`` is <= ``target_loss``, evaluated before training and
    after every step. Returns ``(steps, censored)``; ``censored`` is True when
    ``max_epochs`` ran out first (``steps`` is then the cap)."""
    import copy

    import torch

    from theorylab.unlearning.models import epoch_batches, loss_fn

    m = copy.deepcopy(model)
    m.eval()  # no dropout/batch-norm updates: relearning measures the weights alone
    opt = torch.optim.Adam(m.parameters(), lr=lr)

    def val_loss() -> float:
        with torch.no_grad():
            return float(loss_fn(m(X_val), y_val, task))

    if val_loss() <= target_loss:
        return 0, False
    steps = 0
    for _ in range(check_int(max_epochs, name="max_epochs", minimum=1)):
        for idx in epoch_batches(X.shape[0], batch_size, generator):
            idx = idx.to(X.device)
            opt.zero_grad(set_to_none=True)
            loss_fn(m(X[idx]), y[idx], task).backward()
            opt.step()
            steps += 1
            if val_loss() <= target_loss:
                return steps, False
    return steps, True


def ain(model_unlearned, model_oracle, model_original, X, y, X_val, y_val, *, generator_seed: int,
        alpha: float = 0.05, **kw) -> dict[str, float]:
    """Anamnesis index AIN = rt(θ_u) / rt(θ_r): steps to relearn the forget set until the
    forget-validation loss is <= (1 + α)·L_f(θ_o). **≈ 1 ideal**; ≪ 1 knowledge latent;
    ≫ 1 over-damaged. Both relearning runs use the same data order (``generator_seed``).
    Returns ``AIN``, ``rt_u``, ``rt_r`` and ``censored`` (either run hit the cap)."""
    import torch

    from theorylab.unlearning.models import loss_fn

    with torch.no_grad():
        model_original.eval()
        target = (1 + alpha) * float(loss_fn(model_original(X_val), y_val,
                                             kw.get("task", "classification")))
    rt = {}
    cens = False
    for name, mdl in (("u", model_unlearned), ("r", model_oracle)):
        g = torch.Generator().manual_seed(int(generator_seed))
        rt[name], c = relearn_steps(mdl, X, y, X_val, y_val, target_loss=target, generator=g,
                                    **kw)
        cens = cens or c
    ratio = rt["u"] / rt["r"] if rt["r"] > 0 else (1.0 if rt["u"] == 0 else float("inf"))
    return {"AIN": float(ratio), "rt_u": float(rt["u"]), "rt_r": float(rt["r"]),
            "censored": float(cens)}


def relearn_curve(model, X, y, X_held, y_held, *, target_accuracy: float, generator,
                  delta: float = 0.02, lr: float = 1e-3, batch_size: int = 32,
                  max_steps: int = 200) -> dict[str, Any]:
    """Relearning attack (classification): fine-tune a copy of ``model`` with Adam(lr) on
    ``(X, y)`` (D_f or a slice of it) and record the accuracy on the held-out forget part
    ``(X_held, y_held)`` before training and after every step. ``steps`` = first step at
    which it reaches ``target_accuracy − delta`` (the original's forget accuracy minus δ);
    ``censored`` when ``max_steps`` ran out first. Report the curve, not only the count.
    **More steps = knowledge less latent; compare with the oracle's count.**"""
    import copy

    import torch

    from theorylab.unlearning.models import epoch_batches

    max_steps = check_int(max_steps, name="max_steps", minimum=1)
    m = copy.deepcopy(model)
    m.eval()
    opt = torch.optim.Adam(m.parameters(), lr=lr)

    def acc() -> float:
        with torch.no_grad():
            return float((m(X_held).argmax(1) == y_held).double().mean())

    goal = float(target_accuracy) - float(delta)
    curve = [acc()]
    steps, done = 0, curve[0] >= goal
    while not done and steps < max_steps:
        for idx in epoch_batches(X.shape[0], batch_size, generator):
            idx = idx.to(X.device)
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(m(X[idx]), y[idx]).backward()
            opt.step()
            steps += 1
            curve.append(acc())
            if curve[-1] >= goal:
                done = True
                break
            if steps >= max_steps:
                break
    return {"steps": steps, "censored": not done, "curve": np.asarray(curve)}


# --------------------------------------------------------------------------- LiRA / U-LiRA
def lira_scores(target, shadow_in, shadow_out, *, location: str = "mean",
                fix_variance: bool = False, min_std: float = 1e-6) -> np.ndarray:
    """Per-example LiRA log-likelihood ratio (Carlini et al. 2022, arXiv:2112.03570).

    For each example x, Gaussians are fitted to the statistic φ(x) of the shadow models that
    saw x (``shadow_in``) and of those that did not (``shadow_out``), and the target model's
    φ is scored by Λ(x) = log N(φ; μ_in, σ_in²) − log N(φ; μ_out, σ_out²). Higher Λ = more
    likely a member. U-LiRA (Hayes et al. 2024, arXiv:2403.01218) uses the same score with
    "in" shadows that trained on x and then unlearned it, and "out" shadows retrained without
    it; the statistic is the logit-scaled confidence φ = log(p_y / (1 − p_y)) =
    :func:`margins`.

    Parameters
    ----------
    target : array ``(P,)`` or ``(T, P)``
        φ of the attacked model(s) on the P examples.
    shadow_in, shadow_out : arrays ``(N_in, P)``, ``(N_out, P)``
        φ of the shadow models per example (N >= 2 each).
    location : {"mean", "median"}
        Location estimate of each Gaussian; "mean" is the maximum-likelihood fit, "median"
        what the public LiRA code uses (robust for small N).
    fix_variance : bool
        Use one σ for every example and both sides — the std of all shadow statistics after
        removing each example's in/out locations (the "fixed variance" variant for few
        shadows).
    min_std : float
        Floor on σ (a constant statistic would otherwise divide by zero).

    Returns
    -------
    ndarray of the target's shape: Λ per example (and per target model).

    Examples
    --------
    >>> float(lira_scores([2.0], [[1.0], [3.0]], [[-2.0], [0.0]])[0])  # μ 2 vs −1, σ 1 both
    4.5
    """
    from scipy.stats import norm

    if location not in ("mean", "median"):
        raise ValueError(f"location must be 'mean' or 'median', got {location!r}")
    if not min_std > 0:
        raise ValueError(f"min_std must be > 0, got {min_std!r}")
    t = np.asarray(target, dtype=np.float64)
    s_in = np.asarray(shadow_in, dtype=np.float64)
    s_out = np.asarray(shadow_out, dtype=np.float64)
    for name, a in (("shadow_in", s_in), ("shadow_out", s_out)):
        if a.ndim != 2 or a.shape[0] < 2:
            raise ValueError(f"{name} must have shape (N, P) with N >= 2, got {a.shape}")
    P = s_in.shape[1]
    if s_out.shape[1] != P or t.shape[-1] != P or t.ndim > 2:
        raise ValueError(f"target, shadow_in and shadow_out must share P = {P} examples on "
                         f"their last axis, got {t.shape}, {s_in.shape}, {s_out.shape}")
    if not (np.isfinite(t).all() and np.isfinite(s_in).all() and np.isfinite(s_out).all()):
        raise ValueError("target, shadow_in and shadow_out must be finite")
    loc = np.mean if location == "mean" else np.median
    mu_in, mu_out = loc(s_in, axis=0), loc(s_out, axis=0)
    if fix_variance:
        pooled = np.concatenate([(s_in - mu_in).ravel(), (s_out - mu_out).ravel()])
        sd_in = sd_out = np.full(P, max(float(np.std(pooled)), min_std))
    else:
        sd_in = np.maximum(np.std(s_in, axis=0), min_std)
        sd_out = np.maximum(np.std(s_out, axis=0), min_std)
    return norm.logpdf(t, mu_in, sd_in) - norm.logpdf(t, mu_out, sd_out)


def lira_roc(scores, is_member, *, fprs: Sequence[float] = (0.01, 0.001)) -> dict[str, float]:
    """AUC and TPR at low FPR of membership scores (higher = member) against the truth.

    ``TPR@FPR<=α`` is the largest true-positive rate whose false-positive rate does not
    exceed α (0 when no threshold achieves it). Returns ``{"AUC": ..., "TPR@1%": ...,
    "TPR@0.1%": ...}`` for the default ``fprs``. **AUC 0.5 = indistinguishable (ideal after
    unlearning: forgotten points look never-seen); TPR@low FPR ≈ α at chance.**
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    s = np.ravel(np.asarray(scores, dtype=np.float64))
    m = np.ravel(np.asarray(is_member)).astype(bool)
    if s.shape != m.shape:
        raise ValueError(f"is_member must have shape {s.shape}, got {m.shape}")
    _check_finite(s, "scores")
    if m.all() or not m.any():
        raise ValueError("is_member must hold both members and non-members")
    fpr, tpr, _ = roc_curve(m, s)
    out = {"AUC": float(roc_auc_score(m, s))}
    for a in fprs:
        ok = fpr <= float(a)
        out[f"TPR@{100 * float(a):g}%"] = float(tpr[ok].max()) if ok.any() else 0.0
    return out


__all__ += ["lira_scores", "lira_roc"]
