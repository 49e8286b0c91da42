"""The command line as a user meets it: validation up front, quiet pipes and interrupts,
records per (claim, scale, seed), multi-seed runs, claim scheduling, device and paper scale."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from theorylab import claims

_SCRIPT = '''
"""Demo claim."""
import time
from theorylab import claims
from theorylab.claims import Check, ClaimResult, script_main
from theorylab.plotting import new_figure, plot_theory, plot_seeds
from theorylab.sweep import sweep
PAPER = "demo2000_paper"
CLAIM = "x squared is x squared."
SIZES = {"smoke": {"n": 2, "sleep": 0.0}, "full": {"n": 2, "sleep": 0.0},
         "paper": {"n": 3, "sleep": 0.0}}
SLEEP = 0.0
def _sq(x, seed):
    time.sleep(SLEEP)
    return x * x
def run(scale="smoke", seed=0):
    r = ClaimResult(claim=NAME, paper=PAPER, statement=CLAIM, scale=scale, seed=seed)
    n = SIZES[scale]["n"]
    xs = [float(i + 1) for i in range(n if not claims.dry_run() else 1)]
    sw = sweep(_sq, {"x": xs}, seeds=2)
    fig, ax = new_figure(1)
    plot_theory(ax[0], xs, [x * x for x in xs]); plot_seeds(ax[0], xs, sw.array())
    r.figure = fig
    r.data["device"] = claims.device()
    r.data["dry_run"] = claims.dry_run()
    r.add(Check.close("x=1", float(sw.mean()[0]), EXPECTED, 1e-12))
    r.add(Check.true("seed-dependent", seed % 7 != 3 or PASS_ON_3))
    return r
EXPECTED = 1.0
PASS_ON_3 = True
NAME = "demo2000_paper_square"
if __name__ == "__main__":
    raise SystemExit(script_main(__file__))
'''


def _write(tmp_path, name, **subs):
    text = textwrap.dedent(_SCRIPT).replace("demo2000_paper_square", name)
    for k, v in subs.items():
        text = text.replace(k, v)
    (tmp_path / "verify" / f"{name}.py").write_text(text)


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "verify").mkdir()
    _write(tmp_path, "demo2000_paper_square")
    _write(tmp_path, "demo2000_paper_flaky", **{"PASS_ON_3 = True": "PASS_ON_3 = False"})
    _write(tmp_path, "demo2000_paper_nopaper",
           **{',\n         "paper": {"n": 3, "sleep": 0.0}': ""})
    monkeypatch.setenv("THEORYLAB_ROOT", str(tmp_path))
    return tmp_path


def _cli(*args, project=None, **kw):
    env = dict(os.environ)
    if project is not None:
        env["THEORYLAB_ROOT"] = str(project)
    return subprocess.run([sys.executable, "-m", "theorylab.cli", *args], capture_output=True,
                          text=True, timeout=300, env=env, **kw)


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "--seed must be an int >= 0, got -1"),
    (["--seeds", "3-1"], "seeds range must be increasing"),
    (["--seeds", "a-b"], "--seeds must look like '0-19'"),
    (["--seed", "1", "--seeds", "0-2"], "give --seed or --seeds, not both"),
    (["--jobs", "0"], "--jobs must be >= 1, got 0"),
    (["--workers", "0"], "--workers must be >= 1, got 0"),
    (["--device", "gpu"], "--device must be 'cpu', 'cuda' or 'cuda:K', got 'gpu'"),
    (["--dry-run"], "--dry-run needs --scale paper"),
    (["--dask", "not an address"], "--dask must be 'local' or a scheduler address"),
])
def test_bad_options_exit_2_naming_the_option(project, args, message, capsys):
    from theorylab.cli import main

    assert main(["verify", "demo2000_paper_square", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (project / "figures").exists(), "nothing may run before validation"


def test_cuda_without_cuda_is_refused_up_front(project, capsys):
    import torch

    from theorylab.cli import main

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["verify", "demo2000_paper_square", "--device", "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_unreachable_dask_scheduler_fails_fast(project):
    pytest.importorskip("distributed")
    t0 = time.perf_counter()
    r = _cli("verify", "demo2000_paper_square", "--dask", "tcp://127.0.0.1:9", project=project)
    assert r.returncode == 2 and "no scheduler answered within 5 s" in r.stderr
    assert "Traceback" not in r.stderr
    assert time.perf_counter() - t0 < 25


def test_paper_scale_only_for_claims_that_have_it(project, capsys):
    from theorylab.cli import main

    assert main(["verify", "demo2000_paper_nopaper", "--scale", "paper"]) == 2
    assert "without that scale: demo2000_paper_nopaper" in capsys.readouterr().err
    assert main(["verify", "demo2000_paper_square", "--scale", "paper", "--dry-run",
                 "--no-progress"]) == 0
    assert "[PASS] demo2000_paper_square" in capsys.readouterr().out
    assert not (project / "figures").exists(), "a dry run writes nothing"
    # --all at paper scale takes exactly the claims that have a paper scale
    main(["verify", "--all", "--scale", "paper", "--no-progress"])
    out = capsys.readouterr().out
    assert "demo2000_paper_nopaper" not in out and "[PASS] demo2000_paper_square" in out


def test_dry_run_and_device_reach_the_claim():
    with claims.claim_context(device="cpu", dry_run=True):
        assert claims.device() == "cpu" and claims.dry_run()
    assert not claims.dry_run()


def test_records_per_seed_never_overwrite_seed_zero(project):
    assert claims.verify_claims(["demo2000_paper_square"], progress=False) == 0
    canon = project / "figures" / "demo2000_paper_square_smoke.json"
    before = canon.read_text()
    assert claims.verify_claims(["demo2000_paper_square"], seed=5, progress=False) == 0
    assert canon.read_text() == before
    other = json.loads((project / "figures" / "seeds" /
                        "demo2000_paper_square_smoke_seed5.json").read_text())
    assert other["seed"] == 5 and other["device"] == "cpu"
    # the figure is drawn from the stored spec
    assert other["figure_spec"]["complete"]
    assert (project / "figures" / "seeds" / "demo2000_paper_square_smoke_seed5.png").is_file()


def test_seeds_range_reports_and_records_the_failing_seeds(project, capsys):
    rc = claims.verify_claims(["demo2000_paper_flaky", "demo2000_paper_square"],
                              seeds=claims.parse_seeds("0-9"), progress=False)
    out = capsys.readouterr().out
    assert rc == 1
    assert "demo2000_paper_flaky: 9/10 seeds pass; failing seeds: 3" in out
    assert "demo2000_paper_square: 10/10 seeds pass" in out
    s = json.loads((project / "figures" / "demo2000_paper_flaky_smoke_seeds.json").read_text())
    assert s["n_pass"] == 9 and s["passed"][3] is False and len(s["measured"]["x=1"]) == 10


def test_jobs_schedule_claims_in_parallel_and_record_the_suite(project):
    r = _cli("verify", "--all", "--jobs", "2", "--no-progress", project=project)
    assert r.returncode == 0, r.stdout + r.stderr
    suite = json.loads((project / "figures" / "suite_smoke.json").read_text())
    assert suite["jobs"] == 2 and suite["n_claims"] == 3 and suite["backend"] == "local"
    assert set(suite["claim_runtime_s"]) == {"demo2000_paper_square", "demo2000_paper_flaky",
                                             "demo2000_paper_nopaper"}


def test_cuda_claims_start_their_workers_fresh():
    # a process forked after `--device cuda` was validated cannot use CUDA
    assert claims._pool_start_method("cuda") == "spawn"
    assert claims._pool_start_method("cuda:1") == "spawn"
    expected = "fork" if sys.platform.startswith("linux") else "spawn"
    assert claims._pool_start_method("cpu") == expected


def test_jobs_run_claims_in_spawned_workers(project, monkeypatch, capsys):
    # the start method --device cuda uses, exercised on the CPU: each fresh worker loads its
    # claim from the script's path and returns the same record a forked one would
    monkeypatch.setattr(claims, "_pool_start_method", lambda device_name: "spawn")
    rc = claims.verify_claims(["demo2000_paper_square", "demo2000_paper_nopaper"], jobs=2,
                              progress=False)
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "[PASS] demo2000_paper_square" in out and "[PASS] demo2000_paper_nopaper" in out
    rec = json.loads((project / "figures" / "demo2000_paper_square_smoke.json").read_text())
    assert rec["checks"][0]["measured"] == 1.0


def test_claims_on_a_dask_cluster(project):
    # the one test that starts a Dask LocalCluster through the CLI (each start costs seconds):
    # two claims, each with an inner sweep, scheduled on the cluster
    pytest.importorskip("distributed")
    r = _cli("verify", "demo2000_paper_square", "demo2000_paper_flaky", "--dask", "local",
             "--no-progress", project=project)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("[PASS]") == 2
    assert "[PASS] demo2000_paper_square" in r.stdout


def test_no_progress_bar_control_codes_in_logs(project):
    # stderr is a pipe here: bars are off even without --no-progress
    r = _cli("verify", "--all", project=project)
    assert "\r" not in r.stderr and "run/s" not in r.stderr and "claim/s" not in r.stderr


def test_broken_pipe_is_quiet(project):
    for i in range(300):  # enough rows to overflow a pipe buffer
        _write(project, f"demo2000_paper_c{i:03d}")
    r = subprocess.run(f"{sys.executable} -m theorylab.cli list | head -c 100", shell=True,
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "THEORYLAB_ROOT": str(project)})
    assert "BrokenPipeError" not in r.stderr and "Traceback" not in r.stderr


def test_ctrl_c_prints_one_line_with_the_points_cached(project):
    # 400 points x 2 seeds x 0.25 s: the run cannot finish before the interrupt, however slow
    # the machine (a 40-point run once completed first on a loaded CI machine)
    _write(project, "demo2000_paper_slow", **{"SLEEP = 0.0": "SLEEP = 0.25",
                                              '"smoke": {"n": 2,': '"smoke": {"n": 400,'})
    p = subprocess.Popen([sys.executable, "-m", "theorylab.cli", "verify",
                          "demo2000_paper_slow", "--no-progress"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "THEORYLAB_ROOT": str(project)},
                         # a test run started in the background inherits SIGINT ignored, and
                         # Python then installs no Ctrl-C handler: give the child a terminal's
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    cache = project / ".theorylab_cache"
    deadline = time.time() + 150
    def points():  # finished points only: a point being written is a ".tmp-*.pkl" file
        return [f for f in cache.rglob("*.pkl") if not f.name.startswith(".tmp")]

    while time.time() < deadline and len(points()) < 3:
        time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted: 0 of 1 claim runs finished")
    assert "sweep points cached this run" in lines[0]
    n = int(lines[0].split("finished; ")[1].split()[0])
    assert n >= 3
    # rerun resumes: the cached points are not recomputed
    assert len(points()) >= n


def test_ctrl_c_with_parallel_claims_stops_at_once(project):
    # --jobs 2: the interrupt must not wait for the claims still running in the workers
    # (each would take 200 s here); the workers are terminated, the cached points stay
    for name in ("demo2000_paper_slow", "demo2000_paper_slow2"):
        _write(project, name, **{"SLEEP = 0.0": "SLEEP = 0.25",
                                 '"smoke": {"n": 2,': '"smoke": {"n": 400,'})
    p = subprocess.Popen([sys.executable, "-m", "theorylab.cli", "verify", "demo2000_paper_slow",
                          "demo2000_paper_slow2", "--jobs", "2", "--no-progress"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "THEORYLAB_ROOT": str(project)},
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    cache = project / ".theorylab_cache"
    deadline = time.time() + 150

    def points():
        return [f for f in cache.rglob("*.pkl") if not f.name.startswith(".tmp")]

    while time.time() < deadline and len(points()) < 4:
        time.sleep(0.1)
    t0 = time.time()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert time.time() - t0 < 30
    assert p.returncode == 130, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted: 0 of 2 claim runs finished")
    assert int(lines[0].split("finished; ")[1].split()[0]) >= 4


def test_record_runtime_counts_points_served_from_the_cache(project, capsys):
    # the second run reads every sweep point from the cache: its record says so, and the
    # runtime tables show the time from scratch (run + the cached points' compute time)
    _write(project, "demo2000_paper_slow", **{"SLEEP = 0.0": "SLEEP = 0.2"})
    name = "demo2000_paper_slow"
    claims.verify_claims([name], progress=False)
    r1 = json.loads((project / "figures" / f"{name}_smoke.json").read_text())
    assert r1["points_computed"] == 4 and r1["points_cached"] == 0
    claims.verify_claims([name], progress=False)
    r2 = json.loads((project / "figures" / f"{name}_smoke.json").read_text())
    assert r2["points_computed"] == 0 and r2["points_cached"] == 4
    assert r2["cached_compute_s"] >= 0.79 and r2["runtime_s"] < r1["runtime_s"]
    scratch, lower = claims.uncached_runtime(r2)
    assert not lower and scratch >= 0.79 + r2["runtime_s"] - 1e-9
    from theorylab.cli import _rt_detail

    assert "4 of 4 sweep points from the cache" in _rt_detail(r2)


def test_list_shows_full_failures_first_with_both_scales(project, capsys):
    fig = project / "figures"
    claims.verify_claims(["demo2000_paper_square", "demo2000_paper_flaky"], progress=False)
    # a full-scale failure recorded for the square claim, a smoke pass on top of it
    claims.verify_claims(["demo2000_paper_flaky"], scale="full", seed=3, progress=False)
    rec = json.loads((fig / "demo2000_paper_square_smoke.json").read_text())
    rec.update(scale="full", verdict="fail")
    (fig / "demo2000_paper_square_full.json").write_text(json.dumps(rec))
    from theorylab.cli import main

    capsys.readouterr()
    assert main(["list"]) == 0
    rows = [ln.split() for ln in capsys.readouterr().out.splitlines()[1:4]]
    assert rows[0][:3] == ["demo2000_paper_square", "fail", "pass"]


def test_labels_are_read_and_validated(project):
    _write(project, "demo2000_paper_proxy",
           **{'PAPER = "demo2000_paper"': 'PAPER = "demo2000_paper"\nLABEL = "stand-in"\n'
              'LABEL_REASON = "the paper\'s algorithm is not public"'})
    info = {c.id: c for c in claims.discover_claims()}["demo2000_paper_proxy"]
    assert info.label == "stand-in" and "not public" in info.label_reason
    assert info.scales == ("smoke", "full", "paper")
    _write(project, "demo2000_paper_badlabel",
           **{'PAPER = "demo2000_paper"': 'PAPER = "demo2000_paper"\nLABEL = "proxy"'})
    with pytest.raises(ValueError, match="LABEL must be one of"):
        claims.discover_claims()
