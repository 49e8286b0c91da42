"""One evaluation pipeline for the unlearning claims: score a classifier on a forget/retain
split, summarise the retrained oracles (mean and spread over their seeds), run every method
on the original model and report each metric with its gap to the oracle mean.

The pieces, in the order a claim uses them::

    score = classifier_scorer(X, d.y_train, Xt, d.y_test, split)   # UA, RA, TA, MIA
    table = evaluate_methods(original, forget, retain, ["ft", "ga"], score=score,
                             oracle_scores=[score(m) for m in oracles],
                             generator=lambda: torch.Generator().manual_seed(99))
    table.avg_gap["ft"], table.gaps["ft"]["UA"], table.oracle_std["MIA"]

Every method gets a *fresh* generator from the factory (the same stream for each method),
runs on a deep copy of the original (:func:`~theorylab.unlearning.methods.apply_method`), and
is scored right after it ran, in the order given, so a claim that moves its hand-written loop
onto :func:`evaluate_methods` draws the same random numbers in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from theorylab.unlearning import metrics as mt
from theorylab.unlearning.methods import Subset, apply_method, check_model, get_method
from theorylab.unlearning.models import predict_logits
from theorylab.unlearning.scenarios import ForgetSplit

from ..results import ResultRepr

__all__ = ["KEYS", "MethodTable", "classifier_scores", "classifier_scorer", "evaluate_methods",
           "oracle_summary"]

KEYS: tuple[str, ...] = ("UA", "MIA", "RA", "TA")


def classifier_scores(model: nn.Module, X: torch.Tensor, y_train: np.ndarray,
                      Xt: torch.Tensor, y_test: np.ndarray, split: ForgetSplit, *,
                      class_test: bool = False) -> dict[str, float]:
    """UA, RA, TA (:func:`~theorylab.unlearning.metrics.accuracy_family`, in float64 from the
    model's logits) and ``MIA``: MIA-efficacy of the SVC confidence attack (retain vs test as
    members vs non-members, scored on the forget set). ``class_test=True`` adds the
    forget-class and retain-class test accuracies of a class split.

    A diverged model (NaN/inf logits) gets NaN for every metric, as
    :func:`~theorylab.unlearning.runner.evaluate_method` gives it: its metrics are undefined,
    and a NaN fails every check it reaches instead of passing as a number.
    """
    check_model(model, X, data_name="X", trainable=False)
    z = predict_logits(model, X).double().cpu().numpy()
    zt = predict_logits(model, Xt).double().cpu().numpy()
    extra = dict(forget_test=split.forget_test, retain_test=split.retain_test) if class_test \
        else {}
    if not (np.isfinite(z).all() and np.isfinite(zt).all()):
        keys = ["UA", "RA", "TA"]
        keys += [k for k, idx in (("forget_test_acc", split.forget_test),
                                  ("retain_test_acc", split.retain_test))
                 if class_test and idx is not None and len(idx)]
        return {k: float("nan") for k in keys + ["MIA"]}
    r = mt.accuracy_family(z, y_train, zt, y_test, forget=split.forget, retain=split.retain,
                           **extra)
    p, pt = mt.softmax(z), mt.softmax(zt)
    r["MIA"] = mt.svc_mia(p[split.retain], y_train[split.retain], pt, y_test, p[split.forget],
                          y_train[split.forget], features=("confidence",))["confidence"]
    return r


def classifier_scorer(X: torch.Tensor, y_train: np.ndarray, Xt: torch.Tensor,
                      y_test: np.ndarray, split: ForgetSplit, *, class_test: bool = False
                      ) -> Callable[[nn.Module], dict[str, float]]:
    """:func:`classifier_scores` with the data bound: ``score(model) -> dict``."""
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    return lambda model: classifier_scores(model, X, y_train, Xt, y_test, split,
                                           class_test=class_test)


def oracle_summary(runs: Sequence[Mapping[str, float]], keys: Sequence[str] | None = None
                   ) -> tuple[dict[str, float], dict[str, float]]:
    """``(mean, std)`` over the oracle runs for every key (default: the first run's keys);
    std with ddof 1, 0.0 for a single run."""
    runs = list(runs)
    if not runs:
        raise ValueError("runs must hold at least one oracle run, got none")
    keys = list(runs[0]) if keys is None else list(keys)
    mean, std = {}, {}
    for k in keys:
        vals = np.array([float(r[k]) for r in runs])
        mean[k] = float(np.mean(vals))
        std[k] = float(np.std(vals, ddof=1)) if vals.size > 1 else 0.0
    return mean, std


@dataclass
class MethodTable(ResultRepr):
    """Method × metric table against a retrained oracle.

    ``metrics[m]``: every score of method ``m``; ``gaps[m][k] = |metrics[m][k] −
    oracle_mean[k]|`` for ``k`` in ``keys``; ``avg_gap[m]``: their mean (Avg.Gap); ``rte[m]``:
    run time of the unlearning call (s); ``oracle_mean``/``oracle_std``: over the oracle runs
    (every key the runs share); ``models[m]``: the unlearned model when kept."""

    keys: tuple[str, ...]
    oracle_mean: dict[str, float]
    oracle_std: dict[str, float]
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    gaps: dict[str, dict[str, float]] = field(default_factory=dict)
    avg_gap: dict[str, float] = field(default_factory=dict)
    rte: dict[str, float] = field(default_factory=dict)
    models: dict[str, nn.Module] = field(default_factory=dict, repr=False)

    @property
    def methods(self) -> list[str]:
        return list(self.metrics)

    def row(self, method: str) -> dict[str, float]:
        """One flat row: the metrics, ``<k>_gap`` per key, ``avg_gap`` and ``rte``."""
        if method not in self.metrics:
            raise ValueError(f"method must be one of {self.methods}, got {method!r}")
        out = dict(self.metrics[method])
        out.update({f"{k}_gap": v for k, v in self.gaps[method].items()})
        out["avg_gap"] = self.avg_gap[method]
        out["rte"] = self.rte[method]
        return out


MethodEntry = str | tuple[str, str, Any]


def evaluate_methods(original: nn.Module, forget: Subset, retain: Subset | None,
                     methods: Sequence[MethodEntry], *,
                     score: Callable[[nn.Module], Mapping[str, float]],
                     oracle_scores: Sequence[Mapping[str, float]],
                     generator: Callable[[], torch.Generator], keys: Sequence[str] = KEYS,
                     train_set: Subset | None = None, oracles: Any = None, device=None,
                     keep_models: bool = False) -> MethodTable:
    """Run each method on (a copy of) ``original`` and score it against the oracle mean.

    ``methods``: names of registered methods (run at their default config) or ``(label,
    name, config)`` triples (``config=None``: the defaults). ``score(model)`` returns the
    metrics of one model; ``oracle_scores``: the same for every retrained oracle (their mean
    and std go into the table). ``generator()`` is called once per method for a fresh
    generator. ``keys``: the metrics whose gaps make the Avg.Gap.
    """
    if not callable(generator):
        raise TypeError(f"generator must be a callable returning a torch.Generator, got "
                        f"{type(generator).__name__}")
    keys = tuple(keys)
    if not keys:
        raise ValueError("keys must name at least one metric, got none")
    o_mean, o_std = oracle_summary(oracle_scores)
    missing = [k for k in keys if k not in o_mean]
    if missing:
        raise ValueError(f"oracle_scores must contain every key {list(keys)}, missing "
                         f"{missing}")
    table = MethodTable(keys=keys, oracle_mean=o_mean, oracle_std=o_std)
    for entry in methods:
        if isinstance(entry, str):
            label, name, config = entry, entry, None
        elif isinstance(entry, tuple) and len(entry) == 3:
            label, name, config = entry
        else:
            raise TypeError(f"methods entries must be a name or a (label, name, config) "
                            f"triple, got {entry!r}")
        if label in table.metrics:
            raise ValueError(f"methods labels must be unique, got {label!r} twice")
        spec = get_method(name)
        u, rte = apply_method(spec, original, forget, retain,
                              config=spec.default_config() if config is None else config,
                              generator=generator(), train_set=train_set, oracles=oracles,
                              device=device)
        met = {k: float(v) for k, v in score(u).items()}
        table.metrics[label] = met
        table.gaps[label] = {k: abs(met[k] - o_mean[k]) for k in keys}
        table.avg_gap[label] = mt.avg_gap(met, o_mean, keys)
        table.rte[label] = rte
        if keep_models:
            table.models[label] = u
    return table
