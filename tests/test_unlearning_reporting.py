"""Benchmark tables and figures: hand-made records with known means, the oracle band and the
left-out flagged runs; the metric glossary kept equal to the metrics module's table; one
end-to-end run of run_benchmark through write_results."""

import re

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from theorylab.unlearning import metrics as metrics_module  # noqa: E402
from theorylab.unlearning.reporting import (  # noqa: E402
    METRICS,
    metric_info,
    results_figure,
    results_table,
    write_results,
)


def _rec(method, seed, ua, ta, *, flags=(), o_ua=(1.0, 0.0), o_ta=(0.9, 0.02), orig=(0.0, 0.95),
         scenario="class"):
    return {"method": method, "scenario": scenario, "seed": seed, "dataset": "digits",
            "task": "classification", "n_oracles": 5, "flags": list(flags),
            "UA": ua, "UA_oracle_mean": o_ua[0], "UA_oracle_std": o_ua[1],
            "UA_gap": abs(ua - o_ua[0]),
            "TA": ta, "TA_oracle_mean": o_ta[0], "TA_oracle_std": o_ta[1],
            "TA_gap": abs(ta - o_ta[0]),
            "orig_UA": orig[0], "orig_TA": orig[1], "RTE": 0.5, "train_time_s": 2.0}


@pytest.fixture
def records():
    return [
        _rec("none", 0, 0.0, 0.95), _rec("none", 1, 0.0, 0.95, o_ua=(0.8, 0.1),
                                         o_ta=(0.8, 0.04), orig=(0.0, 0.93)),
        _rec("ft", 0, 0.2, 0.90), _rec("ft", 1, 0.4, 0.92, o_ua=(0.8, 0.1), o_ta=(0.8, 0.04),
                                       orig=(0.0, 0.93)),
        _rec("ga", 0, 1.0, 0.10, flags=["utility_at_chance"]),
        _rec("ga", 1, 0.9, 0.85, o_ua=(0.8, 0.1), o_ta=(0.8, 0.04), orig=(0.0, 0.93)),
        _rec("ft", 0, 0.5, 0.5, scenario="random"),
    ]


def test_table_rows_are_the_unflagged_means_beside_the_oracle_band(records):
    t = results_table(records, "class", keys=("UA", "TA"))
    lines = t.splitlines()
    assert lines[2] == "| method | UA = 1 − Acc(D_f) | TA = Acc(D_t) | n | flagged |"
    assert lines[4] == "| direction | match θ_r | higher is better | | |"
    assert lines[5] == "| ideal | θ_r's UA | θ_r's value (≈ original) | | |"
    # oracle band: mean over seeds of the oracle mean ± mean over seeds of the oracle spread
    assert lines[6] == "| retrained oracles θ_r (5 per seed) | 0.900 ± 0.050 | 0.850 ± 0.030 | | |"
    assert lines[7] == "| original θ_o | 0.000 ± 0.000 | 0.940 ± 0.014 | | |"
    ft = next(x for x in lines if x.startswith("| ft |"))
    # UA 0.2, 0.4 -> 0.300 ± 0.141; gaps 0.8, 0.4 -> 0.600
    assert ft == "| ft | 0.300 ± 0.141 (0.600) | 0.910 ± 0.014 (0.060) | 2 | 0 |"
    ga = next(x for x in lines if x.startswith("| ga |"))
    # the collapsed seed is left out and counted, not averaged in
    assert ga == ("| ga | 0.900 ± 0.000 (0.100) | 0.850 ± 0.000 (0.050) | 1 | "
                  "1 (utility_at_chance) |")
    assert "One training of θ_o took 2.00 s" in lines[0]
    assert "random" not in t.split("\n", 1)[1]


def test_run_time_stands_next_to_one_training(records):
    lines = results_table(records, "class", keys=("RTE",)).splitlines()
    assert lines[6] == "| retrained oracles θ_r (5 per seed) | one training of θ_o: 2.00 s | | |"
    ft = next(x for x in lines if x.startswith("| ft |"))
    assert ft == "| ft | 0.500 ± 0.000 (25.0 % of one training) | 2 | 0 |"


def test_figure_draws_the_band_the_original_and_each_method_mean(records):
    fig = results_figure(records, "class", keys=("UA", "TA"))
    ax_ua, ax_ta = [a for a in fig.axes if a.get_visible()]
    assert "match θ_r" in ax_ua.get_title() and "ideal: θ_r's UA" in ax_ua.get_title()
    band = [p for p in ax_ua.patches]
    assert len(band) == 1
    y0, y1 = band[0].get_y(), band[0].get_y() + band[0].get_height()
    assert (y0, y1) == pytest.approx((0.85, 0.95))
    means = sorted(float(line.get_ydata()[0]) for line in ax_ua.lines
                   if line.get_marker() == "o")
    assert means == pytest.approx([0.0, 0.3, 0.9])  # none, ft, ga (flagged seed left out)
    ticks = [t.get_text() for t in ax_ua.get_xticklabels()]
    assert ticks == ["none", "ft", "ga\n(1 flagged)"]
    levels = {round(float(line.get_ydata()[0]), 6) for line in ax_ta.lines
              if line.get_linestyle() == ":"}
    assert levels == {0.94}  # the original's TA


def test_bad_arguments_are_named(records):
    with pytest.raises(ValueError, match=r"scenario must be one of \['class', 'random'\], "
                       r"got 'subclass'"):
        results_table(records, "subclass")
    with pytest.raises(ValueError, match="key must be one of"):
        results_table(records, "class", keys=("accuracy",))
    with pytest.raises(ValueError, match="keys must be metrics of these records, got 'MIA'"):
        results_figure(records, "class", keys=("MIA",))
    with pytest.raises(ValueError, match="result must hold at least one record"):
        results_table([], "class")
    with pytest.raises(TypeError, match="result must be a BenchmarkResult"):
        results_table("records", "class")
    with pytest.raises(ValueError, match="run_benchmark records"):
        results_table([{"UA": 1.0}], "class")
    with pytest.raises(ValueError, match="digits must be >= 0"):
        results_table(records, "class", digits=-1)
    with pytest.raises(TypeError, match="out_dir must be a folder path"):
        write_results(records, 3)
    with pytest.raises(ValueError, match="out_dir must be a non-empty folder path"):
        write_results(records, "")


def test_glossary_equals_the_metrics_module_table():
    doc = metrics_module.__doc__
    rows = {}
    for line in doc.splitlines():
        m = re.match(r"\|\s*(.+?)\s*\|\s*(.+?)\s*\|\s*(.+?)\s*\|$", line)
        if m and not set(m.group(1)) <= {"-"} and m.group(1) != "metric":
            rows[m.group(1)] = (m.group(2), m.group(3))
    covers = {"UA = 1 − Acc(D_f)": ["UA"], "RA, TA": ["RA", "TA"],
              "SVC-MIA efficacy": ["MIA", "MIA_correctness", "MIA_entropy", "MIA_m_entropy",
                                   "MIA_prob"],
              "entropy-LR MIA": ["MIA_entropy_lr"], "loss-MIA accuracy": ["loss_MIA_acc"],
              "NoMUS": ["NoMUS"], "KLoM (P95)": ["klom_forget", "klom_retain", "klom_val"],
              "AIN (relearn time)": ["AIN"], "Avg.Gap": ["avg_gap"]}
    assert set(rows) == set(covers)
    for row, keys in covers.items():
        for k in keys:
            assert (METRICS[k].direction, METRICS[k].ideal) == rows[row], (row, k)
    assert metric_info("UA") is METRICS["UA"]


def test_write_results_on_a_real_benchmark_run(tmp_path):
    pytest.importorskip("torch")
    from theorylab.unlearning.runner import run_benchmark, summarize

    res = run_benchmark(["none", "ft"], ["class", "random"], [0, 1],
                        recipe=dict(hidden=(16,), epochs=8, lr=3e-3), n_oracles=2,
                        method_configs={"ft": {"epochs": 1}}, backend="serial",
                        progress=False)
    paths = write_results(res, tmp_path)
    assert sorted(p.name for p in paths) == ["class.md", "class.png", "random.md", "random.png"]
    assert all(p.stat().st_size > 0 for p in paths)
    text = (tmp_path / "class.md").read_text()
    row = next(r for r in summarize(res.records) if r["method"] == "ft"
               and r["scenario"] == "class")
    assert f"| ft | {row['UA_mean']:.3f} ± {row['UA_std']:.3f} ({row['UA_gap_mean']:.3f})" in text
    for k in ("UA", "RA", "TA", "MIA", "MIA_entropy_lr", "avg_gap", "RTE"):
        assert METRICS[k].label in text and METRICS[k].direction in text
    o = np.mean([r["UA_oracle_mean"] for r in res.records if r["scenario"] == "class"
                 and r["method"] == "ft"])
    assert f"| retrained oracles θ_r (2 per seed) | {o:.3f} ± " in text
