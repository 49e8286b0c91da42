"""Core: results, validation, claims harness, CLI and report."""

import json
import pickle
import subprocess
import sys
import textwrap
from dataclasses import FrozenInstanceError, dataclass

import numpy as np
import pytest

from theorylab import claims
from theorylab._result import ConvergenceWarning, SolverResult
from theorylab._validation import (
    check_choice,
    check_int,
    check_matrix,
    check_positive,
    check_rng,
    check_scalar,
    check_times,
    check_vector,
)
from theorylab.claims import Check, ClaimResult


@dataclass(frozen=True, slots=True, kw_only=True)
class _Res(SolverResult):
    objective: float = 0.0


def test_result_frozen_and_history_read_only():
    r = _Res(x=np.zeros(3), history={"gap": np.array([1.0, 0.5])}, objective=2.0)
    with pytest.raises(FrozenInstanceError):
        r.objective = 3.0
    with pytest.raises(ValueError):
        r.history["gap"][0] = 5.0
    with pytest.raises(ValueError):
        r.x[0] = 1.0
    with pytest.raises(TypeError):
        r.history["new"] = 1
    r2 = pickle.loads(pickle.dumps(r))
    assert r2.objective == 2.0 and np.array_equal(r2.history["gap"], [1.0, 0.5])
    assert not r2.history["gap"].flags.writeable


def test_convergence_warning_is_user_warning():
    assert issubclass(ConvergenceWarning, UserWarning)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: check_matrix([1.0, 2.0], name="X"), ValueError, "X must be 2-dimensional"),
        (lambda: check_matrix([[np.nan]], name="X"), ValueError, "X must be finite"),
        (lambda: check_vector(np.ones(3), name="y", n=4), ValueError,
         r"y must have shape \(4,\), got \(3,\)"),
        (lambda: check_vector("abc", name="y"), TypeError, "y must be a numeric array"),
        (lambda: check_positive(-1.0, name="beta"), ValueError, "beta must be > 0, got -1.0"),
        (lambda: check_positive(0.0, name="beta"), ValueError, "beta must be > 0"),
        (lambda: check_positive("1", name="beta"), TypeError, "beta must be a real number"),
        (lambda: check_scalar(float("nan"), name="snr"), ValueError, "snr must be finite"),
        (lambda: check_int(2.5, name="k"), TypeError, "k must be an integer"),
        (lambda: check_int(0, name="k", minimum=1), ValueError, "k must be >= 1, got 0"),
        (lambda: check_int(True, name="k"), TypeError, "k must be an integer"),
        (lambda: check_rng(np.random.RandomState(0)), TypeError, "legacy"),
        (lambda: check_rng("seed"), TypeError, "rng must be"),
        (lambda: check_rng(-1), ValueError, "rng seed must be >= 0"),
        (lambda: check_times([1.0, 0.5]), ValueError, "times must be non-decreasing"),
        (lambda: check_times([-1.0]), ValueError, "times must be >= 0"),
        (lambda: check_times([]), ValueError, "times must have at least 1 entry"),
        (lambda: check_choice("x", name="loss", choices=("a", "b")), ValueError,
         "loss must be one of 'a', 'b', got 'x'"),
    ],
)
def test_validation_messages(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_check_rng_reproducible():
    a = check_rng(3).standard_normal(3)
    b = check_rng(np.random.default_rng(3)).standard_normal(3)
    assert np.array_equal(a, b)


def test_check_semantics():
    assert Check.close("a", 1.0, 1.05, 0.1).passed
    assert not Check.close("a", 1.0, 1.2, 0.1).passed
    assert not Check.close("a", float("nan"), 1.0, 10.0).passed
    assert Check.rel("r", 1.04, 1.0, 0.05).passed and not Check.rel("r", 1.06, 1.0, 0.05).passed
    assert Check.at_most("m", 1.0, 1.0).passed and not Check.at_most("m", 1.01, 1.0).passed
    assert Check.at_least("m", 0.99, 1.0, 0.02).passed
    assert not Check.at_least("m", float("inf"), 1.0).passed
    assert Check.true("t", True).passed and not Check.true("t", False).passed


def test_claim_result_verdict_and_json():
    r = ClaimResult(claim="c", paper="p", statement="s", scale="smoke", seed=0)
    assert not r.check(), "a claim with no checks must not pass"
    r.add(Check.close("a", 1.0, 1.0, 0.1))
    assert r.check() and r.verdict == "pass"
    r.add(Check.at_most("b", 2.0, 1.0))
    assert r.verdict == "fail"
    d = r.to_dict()
    json.dumps(d)
    assert d["verdict"] == "fail" and len(d["checks"]) == 2
    assert "FAIL b" in r.summary()


_SCRIPT = '''
"""Demo claim."""
import numpy as np
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import new_figure, plot_theory, plot_seeds
from theorylab.sweep import sweep
PAPER = "demo2000_paper"
CLAIM = "x squared is x squared."
SIZES = {"smoke": {}, "full": {}}
def _sq(x, seed):
    return x * x
def run(scale="smoke", seed=0):
    r = ClaimResult(claim="demo2000_paper_square", paper=PAPER, statement=CLAIM,
                    scale=scale, seed=seed)
    sw = sweep(_sq, {"x": [1.0, 2.0]}, seeds=2)
    fig, ax = new_figure(1)
    plot_theory(ax[0], [1, 2], [1, 4]); plot_seeds(ax[0], [1, 2], sw.array())
    r.figure = fig
    r.add(Check.close("x=2", float(sw.mean()[1]), EXPECTED, 1e-12))
    return r
EXPECTED = 4.0
if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "verify").mkdir()
    (tmp_path / "verify" / "demo2000_paper_square.py").write_text(textwrap.dedent(_SCRIPT))
    (tmp_path / "verify" / "demo2000_paper_wrong.py").write_text(
        textwrap.dedent(_SCRIPT).replace("EXPECTED = 4.0", "EXPECTED = 5.0")
        .replace("demo2000_paper_square", "demo2000_paper_wrong"))
    monkeypatch.setenv("THEORYLAB_ROOT", str(tmp_path))
    return tmp_path


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "theorylab.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_discovery_and_harness(project, capsys):
    ids = [c.id for c in claims.discover_claims()]
    assert ids == ["demo2000_paper_square", "demo2000_paper_wrong"]
    assert claims.discover_claims()[0].paper == "demo2000_paper"
    rc = claims.verify_claims(["demo2000_paper_square"], progress=False)
    assert rc == 0
    out = json.loads((project / "figures" / "demo2000_paper_square_smoke.json").read_text())
    assert out["verdict"] == "pass" and out["seed"] == 0 and out["scale"] == "smoke"
    assert (project / "figures" / "demo2000_paper_square_smoke.png").stat().st_size > 1000
    assert claims.verify_claims(None, progress=False) == 1  # the wrong one fails
    assert "1 passed, 1 failed" in capsys.readouterr().out


def test_cli_list_verify_report(project):
    r = _cli("verify", "demo2000_paper_square", "--workers", "2", "--no-progress")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "measured 4, expected 4" in r.stdout
    r = _cli("verify", "--all", "--no-progress")
    assert r.returncode == 1 and "failed claims: demo2000_paper_wrong" in r.stdout
    r = _cli("list")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    # failures first; full and smoke verdicts side by side
    assert lines[1].split()[:3] == ["demo2000_paper_wrong", "not", "run"]
    assert lines[2].split()[:4] == ["demo2000_paper_square", "not", "run", "pass"]
    r = _cli("report")
    assert r.returncode == 0
    html = (project / "figures" / "report.html").read_text()
    assert "src='demo2000_paper_square_smoke.png'" in html and "demo2000_paper_wrong" in html
    md = (project / "figures" / "REPORT.md").read_text()
    assert "2 claims — full scale: 0 pass, 0 fail, 2 not run; smoke scale: 1 pass, 1 fail" in md
    assert _cli("verify", "nope").returncode == 2
    assert _cli("verify").returncode == 2


def test_script_main_runs_one_claim(project):
    r = subprocess.run([sys.executable, str(project / "verify" / "demo2000_paper_square.py")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "[PASS] demo2000_paper_square" in r.stdout


def test_unknown_claim_error(project):
    with pytest.raises(ValueError, match="unknown claim 'nope'"):
        claims.load_claim("nope")
