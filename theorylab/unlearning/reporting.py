"""Tables and figures of a benchmark run, every metric with its direction and ideal value.

:func:`results_table` (Markdown) and :func:`results_figure` (one panel per metric: each
method's mean ± std over seeds against the retrained oracles' band) show one scenario of a
:func:`~theorylab.unlearning.runner.run_benchmark` result; :func:`write_results` writes both
for every scenario. Numbers are those of :func:`~theorylab.unlearning.runner.summarize`:
flagged records (a diverged model, utility at chance, a degenerate MIA) are left out of every
mean and counted in their own column, never averaged in silently.

The oracle band of a metric M is the mean over seeds of ``M_oracle_mean`` ± the mean over
seeds of ``M_oracle_std``: the spread of retrained models of one scenario, which is what a
method's gap has to be read against. :data:`METRICS` holds each metric's direction and ideal
(the same as the table in :mod:`theorylab.unlearning.metrics`, a test keeps them equal)::

    res = run_benchmark(["none", "ft", "ssd"], ["class", "random"], seeds=3)
    print(results_table(res, "class"))
    fig = results_figure(res, "class")       # matplotlib Figure
    write_results(res, "results/")           # class.md, class.png, random.md, random.png
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from theorylab._validation import check_int

__all__ = ["MetricInfo", "METRICS", "metric_info", "results_table", "results_figure",
           "write_results"]


@dataclass(frozen=True)
class MetricInfo:
    """What a metric measures, which way is better, and its ideal value."""

    label: str
    direction: str
    ideal: str


_ORACLE = "θ_r's value"
_MIA_SVC = "higher = more forgotten"

#: record key -> its label, direction and ideal value
METRICS: dict[str, MetricInfo] = {
    "UA": MetricInfo("UA = 1 − Acc(D_f)", "match θ_r", "θ_r's UA"),
    "RA": MetricInfo("RA = Acc(D_r)", "higher is better", "θ_r's value (≈ original)"),
    "TA": MetricInfo("TA = Acc(D_t)", "higher is better", "θ_r's value (≈ original)"),
    "forget_test_acc": MetricInfo("forget-test accuracy (test points of the forgotten "
                                  "class/group)", "match θ_r", _ORACLE),
    "retain_test_acc": MetricInfo("retain-test accuracy", "higher is better", _ORACLE),
    "MIA": MetricInfo("SVC-MIA efficacy (confidence feature)", _MIA_SVC, _ORACLE),
    **{f"MIA_{f}": MetricInfo(f"SVC-MIA efficacy ({f.replace('_', '-')} feature)", _MIA_SVC,
                              _ORACLE)
       for f in ("correctness", "entropy", "m_entropy", "prob")},
    "MIA_entropy_lr": MetricInfo("entropy-LR MIA", "lower = more forgotten", _ORACLE),
    "loss_MIA_acc": MetricInfo("loss-MIA accuracy (D_f vs D_t)", "0.5 = indistinguishable",
                               "0.5"),
    "NoMUS": MetricInfo("NoMUS", "higher is better", "1 (TA = 1, MIA at chance)"),
    "klom_forget": MetricInfo("KLoM P95 on D_f", "lower is better", "the oracle-half floor"),
    "klom_retain": MetricInfo("KLoM P95 on D_r", "lower is better", "the oracle-half floor"),
    "klom_val": MetricInfo("KLoM P95 on validation points", "lower is better",
                           "the oracle-half floor"),
    "AIN": MetricInfo("AIN (relearn time)", "≈ 1 ideal", "1"),
    "avg_gap": MetricInfo("Avg.Gap", "lower is better", "0"),
    "RTE": MetricInfo("run time of the unlearning call (s)", "lower is better",
                      "far below one retraining"),
    "MAE_f": MetricInfo("MAE on D_f", "match θ_r", _ORACLE),
    "MAE_r": MetricInfo("MAE on D_r", "lower is better", _ORACLE),
    "MAE_t": MetricInfo("MAE on D_t", "lower is better", _ORACLE),
}


def metric_info(key: str) -> MetricInfo:
    """:data:`METRICS` entry of ``key``; a clear error for an unknown key."""
    if key not in METRICS:
        raise ValueError(f"key must be one of {sorted(METRICS)}, got {key!r}")
    return METRICS[key]


def _records(result: Any) -> list[Mapping[str, Any]]:
    recs = getattr(result, "records", result)
    if isinstance(recs, (str, bytes)) or not isinstance(recs, Sequence):
        raise TypeError(f"result must be a BenchmarkResult or a sequence of its records, got "
                        f"{type(result).__name__}")
    recs = list(recs)
    if not recs:
        raise ValueError("result must hold at least one record, got none")
    for r in recs:
        if not isinstance(r, Mapping) or not {"method", "scenario", "flags"} <= set(r):
            raise ValueError("result records must be run_benchmark records (with 'method', "
                             "'scenario' and 'flags'), got " + repr(type(r).__name__))
    return recs


def _scenario_records(result: Any, scenario: str) -> list[Mapping[str, Any]]:
    recs = _records(result)
    names = list(dict.fromkeys(r["scenario"] for r in recs))
    if scenario not in names:
        raise ValueError(f"scenario must be one of {names}, got {scenario!r}")
    return [r for r in recs if r["scenario"] == scenario]


def _keys(recs: Sequence[Mapping[str, Any]], keys: Sequence[str] | None) -> tuple[str, ...]:
    from theorylab.unlearning.runner import _SUMMARY_KEYS

    if keys is None:
        tasks = sorted({r.get("task", "classification") for r in recs})
        keys = tuple(dict.fromkeys(k for t in tasks for k in _SUMMARY_KEYS[t]))
    keys = tuple(keys)
    if not keys:
        raise ValueError("keys must name at least one metric, got none")
    for k in keys:
        metric_info(k)
        if not any(k in r for r in recs):
            raise ValueError(f"keys must be metrics of these records, got {k!r}")
    return keys


def _mean_std(vals: Sequence[float]) -> tuple[float, float]:
    v = np.asarray(vals, dtype=float)
    return float(v.mean()), (float(v.std(ddof=1)) if v.size > 1 else 0.0)


def _band(recs: Sequence[Mapping[str, Any]], key: str) -> tuple[float, float] | None:
    """Oracle mean and spread of ``key`` over the scenario's seeds (one per seed)."""
    per_seed = {}
    for r in recs:
        if f"{key}_oracle_mean" in r:
            per_seed[r["seed"]] = (r[f"{key}_oracle_mean"], r[f"{key}_oracle_std"])
    if not per_seed:
        return None
    m = np.array(list(per_seed.values()), dtype=float)
    return float(m[:, 0].mean()), float(m[:, 1].mean())


def _original(recs: Sequence[Mapping[str, Any]], key: str) -> tuple[float, float] | None:
    per_seed = {r["seed"]: r[f"orig_{key}"] for r in recs if f"orig_{key}" in r}
    return _mean_std(list(per_seed.values())) if per_seed else None


def _fmt(x: float, digits: int) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.{digits}f}"


def results_table(result: Any, scenario: str, *, keys: Sequence[str] | None = None,
                  digits: int = 3) -> str:
    """Markdown table of one scenario: a row per method (mean ± std over its unflagged seeds,
    the gap to the oracle mean in brackets), the retrained oracles' band and the original
    model above them, and two header rows giving each metric's direction and ideal value.
    RTE, the run time of the unlearning call, stands next to the time of one training of θ_o
    (oracle row) and as a percentage of it (method rows).

    ``result``: a :class:`~theorylab.unlearning.runner.BenchmarkResult` or its records.
    ``keys`` default to the runner's summary metrics of the records' task.
    """
    from theorylab.unlearning.runner import summarize

    digits = check_int(digits, name="digits", minimum=0, maximum=12)
    recs = _scenario_records(result, scenario)
    keys = _keys(recs, keys)
    rows = summarize(recs, keys)
    seeds = sorted({r["seed"] for r in recs})
    info = [metric_info(k) for k in keys]
    head = ["method", *[i.label for i in info], "n", "flagged"]
    out = [f"Scenario `{scenario}` ({recs[0].get('dataset', '?')}): mean ± std over "
           f"{len(seeds)} seed(s), gap to the oracle mean in brackets; flagged runs are left "
           "out of every mean.", ""]
    train_times = [r["train_time_s"] for r in recs if "train_time_s" in r]
    train = float(np.mean(train_times)) if train_times else None
    if train is not None:
        out[0] += (f" One training of θ_o took {_fmt(train, 2)} s (mean over seeds), the "
                   "scale for RTE.")
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            "| direction | " + " | ".join(i.direction for i in info) + " | | |",
            "| ideal | " + " | ".join(i.ideal for i in info) + " | | |"]
    n_orc = recs[0].get("n_oracles", "?")
    cells = []
    for k in keys:
        b = _band(recs, k)
        if k == "RTE" and train is not None:
            cells.append(f"one training of θ_o: {_fmt(train, 2)} s")
            continue
        cells.append("—" if b is None else f"{_fmt(b[0], digits)} ± {_fmt(b[1], digits)}")
    out.append(f"| retrained oracles θ_r ({n_orc} per seed) | " + " | ".join(cells) + " | | |")
    cells = []
    for k in keys:
        o = _original(recs, k)
        cells.append("—" if o is None else f"{_fmt(o[0], digits)} ± {_fmt(o[1], digits)}")
    out.append("| original θ_o | " + " | ".join(cells) + " | | |")
    for row in rows:
        cells = []
        for k in keys:
            if f"{k}_mean" not in row:
                cells.append("—")
                continue
            c = f"{_fmt(row[f'{k}_mean'], digits)} ± {_fmt(row[f'{k}_std'], digits)}"
            if f"{k}_gap_mean" in row:
                c += f" ({_fmt(row[f'{k}_gap_mean'], digits)})"
            elif k == "RTE" and train:
                c += f" ({_fmt(100 * row['RTE_mean'] / train, 1)} % of one training)"
            cells.append(c)
        flags = sorted({f for r in recs if r["method"] == row["method"] for f in r["flags"]})
        flagged = str(row["n_flagged"]) + (f" ({', '.join(flags)})" if flags else "")
        out.append(f"| {row['method']} | " + " | ".join(cells) + f" | {row['n']} | {flagged} |")
    return "\n".join(out) + "\n"


def results_figure(result: Any, scenario: str, *, keys: Sequence[str] | None = None) -> Any:
    """One panel per metric of one scenario: each method's mean ± std over its unflagged
    seeds (points), the retrained oracles' mean ± spread (shaded band, line at the mean) and
    the original model (dotted line); the panel title gives the direction and ideal value.
    Returns a ``matplotlib.figure.Figure``."""
    from theorylab.plotting import color, finish, new_figure
    from theorylab.unlearning.runner import summarize

    recs = _scenario_records(result, scenario)
    keys = _keys(recs, keys)
    rows = summarize(recs, keys)
    ncols = min(len(keys), 4)
    nrows = -(-len(keys) // ncols)
    fig, axes = new_figure(ncols, nrows, title=f"scenario {scenario}: methods against the "
                           "retrained oracles (band: oracle mean ± spread)")
    names = [r["method"] + (f"\n({r['n_flagged']} flagged)" if r["n_flagged"] else "")
             for r in rows]
    for ax, k in zip(axes, keys, strict=False):
        i = metric_info(k)
        b = _band(recs, k)
        if b is not None:
            ax.axhspan(b[0] - b[1], b[0] + b[1], color="0.6", alpha=0.3, lw=0,
                       label="oracle mean ± spread")
            ax.axhline(b[0], color="0.3", lw=1.0)
        o = _original(recs, k)
        if o is not None:
            ax.axhline(o[0], color="0.1", lw=1.0, ls=":", label="original")
        for j, row in enumerate(rows):
            if f"{k}_mean" in row:
                ax.errorbar([j], [row[f"{k}_mean"]], yerr=[row[f"{k}_std"]], fmt="o",
                            color=color(j), ms=5, capsize=3)
        ax.set_xticks(range(len(rows)), names, fontsize=8)
        ax.set_xlim(-0.6, len(rows) - 0.4)
        finish(ax, ylabel=k, title=f"{i.label}\n{i.direction}; ideal: {i.ideal}",
               legend=ax is axes[0] and (b is not None or o is not None))
    for ax in axes[len(keys):]:
        ax.set_visible(False)
    return fig


def write_results(result: Any, out_dir: str | os.PathLike, *,
                  keys: Sequence[str] | None = None) -> list[Path]:
    """:func:`results_table` and :func:`results_figure` of every scenario of ``result`` as
    ``<out_dir>/<scenario>.md`` and ``.png``; returns the paths written."""
    recs = _records(result)
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a folder path (str or os.PathLike), got "
                        f"{type(out_dir).__name__} {out_dir!r}")
    if not os.fspath(out_dir):
        raise ValueError("out_dir must be a non-empty folder path, got ''")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for s in dict.fromkeys(r["scenario"] for r in recs):
        md = out / f"{s}.md"
        md.write_text(results_table(recs, s, keys=keys))
        png = out / f"{s}.png"
        results_figure(recs, s, keys=keys).savefig(png, dpi=110)
        paths += [md, png]
    return paths
