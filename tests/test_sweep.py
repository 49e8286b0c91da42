"""Sweep runner: grid expansion, engines agree, cache, resume after a kill, Dask."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from theorylab.sweep import grid_points, sweep


def _f(a, b, seed):
    return {"v": a * 10 + b + seed / 100}


def test_grid_points():
    assert grid_points({"a": [1, 2], "b": [3]}) == [{"a": 1, "b": 3}, {"a": 2, "b": 3}]
    assert grid_points([{"a": 1}]) == [{"a": 1}]
    with pytest.raises(ValueError, match="grid\\['a'\\] must be non-empty"):
        grid_points({"a": []})
    with pytest.raises(TypeError, match="grid\\['a'\\] must be a sequence"):
        grid_points({"a": 3})


def test_serial_values_and_shape():
    r = sweep(_f, {"a": [1, 2], "b": [0, 5]}, seeds=[0, 1, 2], backend="serial", progress=False)
    arr = r.array("v")
    assert arr.shape == (4, 3)
    assert arr[3, 2] == pytest.approx(25.02)
    assert r.mean("v")[0] == pytest.approx(10.01)
    assert len(r.records()) == 12


def test_local_pool_matches_serial():
    a = sweep(_f, {"a": [1, 2, 3], "b": [1]}, seeds=3, backend="serial", progress=False)
    b = sweep(_f, {"a": [1, 2, 3], "b": [1]}, seeds=3, backend="local", workers=2, progress=False)
    np.testing.assert_array_equal(a.array("v"), b.array("v"))


def _pid(a, seed):
    return {"pid": os.getpid()}


def test_local_sweep_stays_in_process_when_claims_run_on_cuda(monkeypatch, capsys):
    # forked workers cannot use CUDA once the claim's process has asked for it: the points
    # run in this process instead, with the same results
    from theorylab import claims

    monkeypatch.setattr(claims, "device", lambda: "cuda")
    r = sweep(_pid, {"a": [1, 2, 3]}, seeds=2, backend="local", workers=2, progress=False)
    assert set(r.array("pid").ravel()) == {os.getpid()}
    assert "CUDA is in use in this process, so the 6 points run here" in capsys.readouterr().err
    assert r.meta["backend"] == "serial"
    monkeypatch.undo()
    r = sweep(_pid, {"a": [1, 2, 3]}, seeds=2, backend="local", workers=2, progress=False)
    assert os.getpid() not in set(r.array("pid").ravel())


def test_cache_reuses(tmp_path):
    r1 = sweep(_f, {"a": [1, 2], "b": [0]}, seeds=2, backend="serial", cache_dir=tmp_path,
               progress=False)
    r2 = sweep(_f, {"a": [1, 2, 3], "b": [0]}, seeds=2, backend="serial", cache_dir=tmp_path,
               progress=False)
    assert r1.n_computed == 4 and r2.n_cached == 4 and r2.n_computed == 2
    np.testing.assert_array_equal(r1.array("v"), r2.array("v")[:2])


def _slow(a, seed):
    time.sleep(0.05 * a)
    return a + seed


@pytest.mark.parametrize("backend", ["serial", "local"])
def test_cache_keeps_compute_time_for_runtime_from_scratch(tmp_path, backend):
    # a run served from the cache must still know what its points cost to compute, so a
    # record's "runtime from scratch" does not shrink to the cache-read time
    from theorylab import sweep as sw

    sw.reset_point_stats()
    sweep(_slow, {"a": [1, 2]}, seeds=[0, 1], backend=backend, workers=2,
          cache_dir=tmp_path, progress=False)
    st = sw.point_stats()
    assert st["computed"] == 4 and st["cached"] == 0 and st["computed_s"] >= 0.29
    sw.reset_point_stats()
    r = sweep(_slow, {"a": [1, 2]}, seeds=[0, 1], backend=backend, workers=2,
              cache_dir=tmp_path, progress=False)
    st = sw.point_stats()
    assert r.n_cached == 4 and st["computed"] == 0 and st["cached"] == 4
    assert 0.29 <= st["cached_s"] < 5 and st["cached_untimed"] == 0
    assert r.array().tolist() == [[1, 2], [2, 3]]


def test_cache_entry_without_a_time_still_loads(tmp_path):
    # a cache written before entries carried their compute time: values load, counted untimed
    import pickle

    from theorylab import sweep as sw

    sweep(_slow, {"a": [1]}, seeds=[0], backend="serial", cache_dir=tmp_path, progress=False)
    (path,) = [p for p in tmp_path.rglob("*.pkl")]
    path.write_bytes(pickle.dumps(41))
    sw.reset_point_stats()
    r = sweep(_slow, {"a": [1]}, seeds=[0], backend="serial", cache_dir=tmp_path,
              progress=False)
    assert r.values == [[41]] and sw.point_stats()["cached_untimed"] == 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="backend must be one of"):
        sweep(_f, {"a": [1], "b": [1]}, backend="gpu")
    with pytest.raises(ValueError, match="workers must be an int >= 1"):
        sweep(_f, {"a": [1], "b": [1]}, workers=0)
    with pytest.raises(TypeError, match="fn must be callable"):
        sweep(3, {"a": [1]})
    with pytest.raises(ValueError, match="seeds must be >= 1"):
        sweep(_f, {"a": [1], "b": [1]}, seeds=0)


_KILL_SCRIPT = """
import os, sys, time
from theorylab.sweep import sweep
LOG = sys.argv[1]
def slow(x, seed):
    with open(LOG, "a") as fh:
        fh.write(f"{x}\\n")
    time.sleep(0.25)
    return x * 2
if __name__ == "__main__":
    r = sweep(slow, {"x": list(range(12))}, seeds=[0], backend="serial",
              cache_dir=sys.argv[2], progress=False)
    print("SUM", sum(v[0] for v in r.values), r.n_cached, r.n_computed)
"""


def _finished(cache):
    """Cached values on disk (temporary files of an in-flight atomic write excluded)."""
    return [p for p in cache.rglob("*.pkl") if not p.name.startswith(".tmp-")]


def test_resume_after_kill(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(_KILL_SCRIPT))
    log, cache = tmp_path / "calls.log", tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    p = subprocess.Popen([sys.executable, str(script), str(log), str(cache)], env=env,
                         stdout=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:  # kill once a few values are on disk
        if cache.exists() and len(_finished(cache)) >= 4:
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    done_before = len(_finished(cache))  # a torn temp file may remain; it is never read
    assert 4 <= done_before < 12, "the job must be killed midway"
    calls_before = log.read_text().split()
    out = subprocess.run([sys.executable, str(script), str(log), str(cache)], env=env,
                         capture_output=True, text=True, timeout=120).stdout
    assert f"SUM {2 * sum(range(12))} {done_before} {12 - done_before}" in out
    calls_after = log.read_text().split()[len(calls_before):]
    assert len(calls_after) == 12 - done_before  # nothing finished is recomputed
    assert sorted(set(calls_before) | set(calls_after), key=int) == [str(i) for i in range(12)]


def test_dask_local_cluster_matches_serial():
    pytest.importorskip("distributed")
    a = sweep(_f, {"a": [1, 2], "b": [3]}, seeds=2, backend="serial", progress=False)
    b = sweep(_f, {"a": [1, 2], "b": [3]}, seeds=2, backend="dask", workers=2, progress=False)
    np.testing.assert_array_equal(a.array("v"), b.array("v"))


_ALLOC_SCRIPT = """
import resource, sys
import numpy as np
from theorylab.sweep import tune_allocator
applied = tune_allocator() if sys.argv[1] == "tune" else False
def step():  # a training step's pattern: many megabyte buffers written, then freed
    bufs = [np.ones(2**19, dtype=np.float32) for _ in range(16)]  # 16 x 2 MiB
    return sum(float(b[-1]) for b in bufs)
step()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(40):
    step()
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning")
def test_tune_allocator_stops_page_faults_of_repeated_large_buffers():
    """With the defaults glibc gives the 32 MiB freed each step back to the system and
    faults it in again (≈ 8000 minor faults per step); tuned, the heap keeps it."""
    def run(mode, **env):
        out = subprocess.run([sys.executable, "-c", _ALLOC_SCRIPT, mode], capture_output=True,
                             text=True, check=True, env={**os.environ, **env}).stdout.split()
        return out[0] == "True", int(out[1])

    applied, tuned = run("tune")
    _, default = run("default")
    assert applied
    assert default > 40 * 4000, default  # the defaults do fault (else the test shows nothing)
    assert tuned < default / 20, (tuned, default)
    assert run("tune", THEORYLAB_MALLOC_TUNING="0") == (False, pytest.approx(default, rel=0.5))
