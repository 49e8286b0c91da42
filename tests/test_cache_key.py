"""The sweep cache serves a value only when nothing that can change it has changed."""

import importlib
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from theorylab import _fingerprint
from theorylab.sweep import CacheKeyWarning, sweep

_MOD = '''
import numpy as np
SCALE = {scale}
TABLE = np.array([1.0, {table}])
def helper(x):
    return x * {helper}
def fn(x, seed, offset={default}):
    return float(helper(x) * SCALE + TABLE.sum() + offset)
'''


def _module(tmp_path, monkeypatch, name, **kw):
    vals = {"scale": 1, "table": 2.0, "helper": 10, "default": 0}
    vals.update(kw)
    (tmp_path / f"{name}.py").write_text(_MOD.format(**vals))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(name, None)
    importlib.invalidate_caches()
    return importlib.import_module(name)


def _run(mod, cache):
    return sweep(mod.fn, {"x": [1.0, 2.0]}, seeds=[0], backend="serial", progress=False,
                 cache_dir=cache)


@pytest.mark.parametrize("change", [{"scale": 2}, {"table": 5.0}, {"helper": 11},
                                    {"default": 1}])
def test_edit_of_constant_helper_or_default_gives_fresh_values(tmp_path, monkeypatch, change):
    cache = tmp_path / "cache"
    first = _run(_module(tmp_path, monkeypatch, "cachemod_a"), cache)
    assert first.n_computed == 2
    again = _run(_module(tmp_path, monkeypatch, "cachemod_a"), cache)
    assert again.n_cached == 2 and again.values == first.values  # unchanged → served
    edited = _run(_module(tmp_path, monkeypatch, "cachemod_a", **change), cache)
    assert edited.n_cached == 0, f"stale values served after editing {change}"
    assert edited.values != first.values


def test_closure_values_are_part_of_the_key(tmp_path):
    def make(k):
        def fn(x, seed):
            return x * k
        return fn

    a = sweep(make(2), {"x": [1]}, backend="serial", progress=False, cache_dir=tmp_path)
    b = sweep(make(3), {"x": [1]}, backend="serial", progress=False, cache_dir=tmp_path)
    assert b.n_cached == 0 and a.values == [[2]] and b.values == [[3]]


def test_library_versions_are_part_of_the_key(tmp_path, monkeypatch):
    def fn(x, seed):
        return x

    sweep(fn, {"x": [1]}, backend="serial", progress=False, cache_dir=tmp_path)
    assert sweep(fn, {"x": [1]}, backend="serial", progress=False,
                 cache_dir=tmp_path).n_cached == 1
    fake = tuple((k, "0.0" if k == "numpy" else v) for k, v in _fingerprint.library_versions())
    monkeypatch.setattr(_fingerprint, "library_versions", lambda: fake)
    assert sweep(fn, {"x": [1]}, backend="serial", progress=False,
                 cache_dir=tmp_path).n_cached == 0


_STDIN = '''
from theorylab.sweep import sweep
CONST = {const}
def f(x, seed):
    return x + CONST
r = sweep(f, {{"x": [1, 2]}}, seeds=[0], backend="serial", progress=False,
          cache_dir={cache!r})
print(r.n_cached, r.values)
'''


def test_function_piped_on_stdin_is_keyed_by_what_it_computes(tmp_path):
    def run(const):
        r = subprocess.run([sys.executable, "-"], input=_STDIN.format(const=const,
                           cache=str(tmp_path)), capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    assert run(10) == "0 [[11], [12]]"
    assert run(10) == "2 [[11], [12]]"  # same code: served from the cache
    assert run(20) == "0 [[21], [22]]"  # redefined on stdin: fresh values


_RNG = np.random.default_rng(0)


def _reads_a_generator(x, seed):
    return float(_RNG.random()) + x


def test_unkeyable_function_runs_uncached_with_a_warning(tmp_path):
    with pytest.warns(CacheKeyWarning, match="not caching .*_reads_a_generator.*Generator"):
        sweep(_reads_a_generator, {"x": [1]}, backend="serial", progress=False,
              cache_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheKeyWarning)
        r = sweep(_reads_a_generator, {"x": [1]}, backend="serial", progress=False,
                  cache_dir=tmp_path)
    assert r.n_cached == 0 and not list(tmp_path.rglob("*.pkl"))


def test_fingerprint_is_stable_and_sensitive():
    src = textwrap.dedent('''
        K = 3
        def g(x):
            return [x * K for _ in range(2)]
    ''')
    ns1, ns2 = {"__name__": "__main__"}, {"__name__": "__main__"}
    exec(src, ns1)
    exec(src.replace("K = 3", "K = 4"), ns2)
    fp = _fingerprint.fingerprint
    assert fp(ns1["g"]) == fp(ns1["g"])
    assert fp(ns1["g"]) != fp(ns2["g"])  # a global read inside a comprehension
