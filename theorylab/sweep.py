"""Parameter sweeps: a grid of parameters × seeds → results, cached and resumable.

The default engine is a local process pool (one BLAS/torch thread per worker); the
same call runs on a Dask cluster with ``backend="dask"`` (a ``LocalCluster`` when
``address`` is ``None`` or ``"local"``, else the scheduler at ``address``).

Each ``(function, parameters, seed)`` value is stored under ``cache_dir`` with an
atomic write (temporary file + ``os.replace``), so a sweep killed midway resumes
without recomputing finished points and without ever reading a half-written one.
The cache key is the function's fingerprint (:mod:`theorylab._fingerprint`): its code
object, its defaults and closure values, every global it reads (recursively through the
project's own functions and the calling module), the versions of numpy/scipy/numba/torch/
scikit-learn/cvxpy and a hash of theorylab's source — plus the point and the seed. Editing
a constant, a helper, the function itself (also one typed in the REPL), or upgrading a
library gives fresh values. A function reading a value that cannot be keyed reliably is
run without the cache, with a :class:`CacheKeyWarning` saying why.

Examples
--------
>>> from theorylab.sweep import sweep
>>> def square(x, seed):
...     return x * x + seed
>>> res = sweep(square, {"x": [1, 2, 3]}, seeds=[0, 10], backend="serial", progress=False)
>>> res.array().tolist()
[[1.0, 11.0], [4.0, 14.0], [9.0, 19.0]]
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import pickle
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

__all__ = ["sweep", "SweepResult", "defaults", "grid_points", "limit_threads", "dask_client",
           "CacheKeyWarning"]

Backend = Literal["local", "serial", "dask"]
_BACKENDS = ("local", "serial", "dask")

_DEFAULTS: dict[str, Any] = {"workers": None, "backend": None, "address": None,
                             "cache_dir": None, "progress": None}

#: Seconds to wait for a Dask scheduler before giving up with a clear error.
DASK_CONNECT_TIMEOUT = 5


class CacheKeyWarning(UserWarning):
    """A sweep ran without its cache because its function could not be keyed reliably."""


@contextlib.contextmanager
def defaults(*, workers: int | None = None, backend: str | None = None,
             address: str | None = None, cache_dir: str | os.PathLike | None = None,
             progress: bool | None = None) -> Iterator[None]:
    """Set the engine used by :func:`sweep` calls that do not name one.

    The verify harness uses this so that ``theorylab verify --workers 4`` or
    ``--dask ADDRESS`` reaches the sweeps inside every claim without the claim
    scripts knowing about engines; ``progress=False`` (``--no-progress``) silences every
    sweep's bar.
    """
    old = dict(_DEFAULTS)
    new = {"workers": workers, "backend": backend, "address": address, "cache_dir": cache_dir,
           "progress": progress}
    _DEFAULTS.update({k: v for k, v in new.items() if v is not None})
    try:
        yield
    finally:
        _DEFAULTS.clear()
        _DEFAULTS.update(old)


def limit_threads(n: int = 1) -> None:
    """Limit BLAS/OpenMP/torch threads in this process (called in every worker)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(n)


_ALLOCATOR_TUNED = False


def tune_allocator() -> bool:
    """Let glibc's ``malloc`` keep freed memory for reuse (called in claim and sweep workers).

    By default glibc serves every allocation above a (dynamic) threshold of 128 KiB–32 MiB
    with its own ``mmap`` and returns freed memory at the top of the heap to the system, so a
    training loop that allocates and frees megabyte activations every step pays page faults
    for each of them (measured: 3.5 ms of system time per step of the 4-stream char-level
    transformer, 4 % of its step; the idle full suite spent 113 s of its CPU time in the
    system). Here allocations up
    to 32 MiB come from the heap, which is trimmed only above 1 GiB of free memory at its top
    and grows in 64 MiB steps. Results are bitwise unchanged (only where memory comes from);
    the cost is a process that keeps up to its peak heap until it exits. Set
    ``THEORYLAB_MALLOC_TUNING=0`` to keep the defaults. Returns whether the settings were
    applied (False off glibc, or when disabled).
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED:
        return True
    if os.environ.get("THEORYLAB_MALLOC_TUNING", "1").strip() in ("0", "false", "no", "off"):
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or no glibc: nothing to tune
        return False
    # M_TRIM_THRESHOLD = -1, M_TOP_PAD = -2, M_MMAP_THRESHOLD = -3 (glibc's malloc.h);
    # 32 MiB is the largest mmap threshold glibc accepts on 64-bit systems
    ok = all(mallopt(param, value) == 1
             for param, value in ((-1, 1 << 30), (-2, 1 << 26), (-3, 1 << 25)))
    _ALLOCATOR_TUNED = ok
    return ok


def grid_points(grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]
                ) -> list[dict[str, Any]]:
    """Expand ``{"a": [1, 2], "b": [3]}`` to ``[{"a": 1, "b": 3}, {"a": 2, "b": 3}]``.

    A sequence of dicts is taken as the explicit list of points.
    """
    if isinstance(grid, Mapping):
        for k, v in grid.items():
            if not isinstance(k, str):
                raise TypeError(f"grid keys must be parameter names (str), got {k!r}")
            if isinstance(v, str | bytes) or not isinstance(v, Sequence | np.ndarray):
                raise TypeError(f"grid[{k!r}] must be a sequence of values, got {v!r}")
            if len(v) == 0:
                raise ValueError(f"grid[{k!r}] must be non-empty, got an empty sequence")
        keys = list(grid)
        return [dict(zip(keys, vals, strict=True))
                for vals in itertools.product(*(list(grid[k]) for k in keys))]
    pts = [dict(p) for p in grid]
    if not pts:
        raise ValueError("grid must contain at least one point, got none")
    return pts


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in sorted(v.items())}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


def _fn_identity(fn: Callable[..., Any]) -> str:
    """The function's fingerprint: the cache's notion of 'same' (raises UnkeyableError)."""
    from theorylab._fingerprint import fingerprint

    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
    return name + "\n" + fingerprint(fn)


def _key(fn_id: str, params: Mapping[str, Any], seed: int) -> str:
    payload = json.dumps({"fn": fn_id, "params": _plain(params), "seed": int(seed)},
                         sort_keys=True, default=repr)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _cache_path(cache_dir: Path, fn: Callable[..., Any], key: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_"
                   for ch in f"{fn.__module__}.{fn.__qualname__}")
    return cache_dir / safe / f"{key}.pkl"


def _atomic_dump(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclass
class _Entry:
    """What a cache file holds: the value and the seconds it took to compute (so a run
    served from the cache still knows what the work costs from scratch)."""

    value: Any
    seconds: float


def _load(path: Path) -> tuple[bool, Any, float | None]:
    """(read ok, value, compute seconds or None for an entry written without them)."""
    try:
        with open(path, "rb") as fh:
            obj = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError):
        return False, None, None
    if isinstance(obj, _Entry):
        return True, obj.value, obj.seconds
    return True, obj, None


# Per-process tally of the points sweeps served and computed (the claim runner resets it
# before a claim and stores it in the claim's record).
_STATS: dict[str, float] = {}


def reset_point_stats() -> None:
    """Zero the tally read by :func:`point_stats`."""
    _STATS.update(computed=0, cached=0, cached_s=0.0, cached_untimed=0, computed_s=0.0)


def point_stats() -> dict[str, float]:
    """Points computed / served from the cache since :func:`reset_point_stats`, with the
    compute seconds of each kind (``cached_untimed``: cached points without a time)."""
    return dict(_STATS)


reset_point_stats()


def _call(fn: Callable[..., Any], params: dict[str, Any], seed: int) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = fn(**params, seed=seed)
    return value, time.perf_counter() - t0


def _call_blob(blob: bytes, params: dict[str, Any], seed: int) -> tuple[Any, float]:
    import cloudpickle

    return _call(cloudpickle.loads(blob), params, seed)


def _worker_init() -> None:
    limit_threads(1)
    tune_allocator()


@dataclass
class SweepResult:
    """Values of a sweep, aligned as ``values[i][j]`` = point ``i``, seed ``j``.

    Attributes
    ----------
    points : list of dict
        The parameter points, in grid order.
    seeds : list of int
    values : list of list
        What the function returned, per point and seed.
    n_cached : int
        How many values came from the cache instead of being computed.
    """

    points: list[dict[str, Any]]
    seeds: list[int]
    values: list[list[Any]]
    n_cached: int = 0
    n_computed: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def array(self, key: str | None = None) -> np.ndarray:
        """Stack values into an array of shape ``(n_points, n_seeds, ...)``.

        With ``key``, each value must be a mapping and ``value[key]`` is stacked.
        """
        vals = [[v if key is None else v[key] for v in row] for row in self.values]
        return np.asarray(vals, dtype=float)

    def mean(self, key: str | None = None) -> np.ndarray:
        return self.array(key).mean(axis=1)

    def sem(self, key: str | None = None) -> np.ndarray:
        """Standard error of the mean across seeds (0 with a single seed)."""
        a = self.array(key)
        if a.shape[1] < 2:
            return np.zeros_like(a.mean(axis=1))
        return a.std(axis=1, ddof=1) / np.sqrt(a.shape[1])

    def records(self) -> list[dict[str, Any]]:
        """One dict per (point, seed): the parameters, ``seed`` and ``value``."""
        return [{**p, "seed": s, "value": v}
                for p, row in zip(self.points, self.values, strict=True)
                for s, v in zip(self.seeds, row, strict=True)]


def sweep(
    fn: Callable[..., Any],
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    *,
    seeds: Sequence[int] | int = (0,),
    backend: Backend | None = None,
    workers: int | None = None,
    address: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    desc: str | None = None,
) -> SweepResult:
    """Evaluate ``fn(**point, seed=seed)`` on every grid point and seed.

    Parameters
    ----------
    fn : callable
        A module-level function (picklable) taking the grid's keywords and ``seed``.
    grid : mapping of name -> sequence, or sequence of dicts
        Cartesian product of the mapping's values, or the explicit list of points.
    seeds : sequence of int or int
        Seeds for independent trials; an int ``k`` means ``range(k)``.
    backend : {"local", "serial", "dask"}, optional
        ``"local"``: a process pool; ``"serial"``: in this process; ``"dask"``: a Dask
        cluster. Default: the harness default, else ``"local"`` when ``workers > 1``
        and there is more than one task, else ``"serial"``.
    workers : int, optional
        Local processes (default ``os.cpu_count()``) or LocalCluster workers.
    address : str, optional
        Dask scheduler address; ``None`` or ``"local"`` starts a LocalCluster.
    cache_dir : path, optional
        Where each value is stored as it completes; finished values are reused.
    progress : bool
        Show a progress bar (tqdm) when there is more than one task and standard error
        is a terminal (never in logs); ``defaults(progress=False)`` turns every bar off.

    Returns
    -------
    SweepResult
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    points = grid_points(grid)
    if isinstance(seeds, int | np.integer) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1 when an int, got {seeds}")
        seeds = list(range(int(seeds)))
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must contain at least one seed, got none")
    if backend is None:
        backend = _DEFAULTS["backend"]
    if workers is None:
        workers = _DEFAULTS["workers"]
    if address is None:
        address = _DEFAULTS["address"]
    if cache_dir is None:
        cache_dir = _DEFAULTS["cache_dir"]
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    n_tasks = len(points) * len(seeds)
    if backend is None:
        backend = "local" if (workers or 1) > 1 and n_tasks > 1 else "serial"
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}, got {backend!r}")

    if progress and _DEFAULTS["progress"] is False:
        progress = False
    cache = Path(cache_dir) if cache_dir is not None else None
    fn_id = ""
    if cache is not None:
        from theorylab._fingerprint import UnkeyableError

        try:
            fn_id = _fn_identity(fn)
        except UnkeyableError as exc:
            warnings.warn(CacheKeyWarning(
                f"not caching {getattr(fn, '__qualname__', fn)!r}: {exc}; its values are "
                "recomputed on every run"), stacklevel=2)
            cache = None
    results: dict[tuple[int, int], Any] = {}
    todo: list[tuple[int, int]] = []
    paths: dict[tuple[int, int], Path] = {}
    for i, p in enumerate(points):
        for j, s in enumerate(seeds):
            if cache is not None:
                path = _cache_path(cache, fn, _key(fn_id, p, s))
                paths[(i, j)] = path
                if path.is_file():
                    ok, val, secs = _load(path)
                    if ok:
                        results[(i, j)] = val
                        _STATS["cached"] += 1
                        if secs is None:
                            _STATS["cached_untimed"] += 1
                        else:
                            _STATS["cached_s"] += secs
                        continue
            todo.append((i, j))
    n_cached = len(results)

    bar = None
    if progress and n_tasks > 1 and sys.stderr.isatty():
        from tqdm.auto import tqdm

        bar = tqdm(total=n_tasks, initial=n_cached, desc=desc or getattr(fn, "__name__", "sweep"),
                   unit="run", file=sys.stderr, leave=False)

    def done(ij: tuple[int, int], timed: tuple[Any, float]) -> None:
        value, secs = timed
        results[ij] = value
        _STATS["computed"] += 1
        _STATS["computed_s"] += secs
        if cache is not None:
            _atomic_dump(_Entry(value, round(secs, 4)), paths[ij])
        if bar is not None:
            bar.update(1)

    if backend == "local" and todo and _cuda_in_use():
        # forked workers cannot use CUDA once this process has: the same points, in-process
        print(f"sweep: CUDA is in use in this process, so the {len(todo)} points run here "
              "one after another (forked workers could not use it)", file=sys.stderr)
        backend = "serial"
    try:
        if backend == "serial" or not todo:
            for ij in todo:
                done(ij, _call(fn, points[ij[0]], seeds[ij[1]]))
        elif backend == "local":
            _run_local(fn, points, seeds, todo, workers or os.cpu_count() or 1, done)
        else:
            _run_dask(fn, points, seeds, todo, workers, address, done)
    finally:
        if bar is not None:
            bar.close()

    values = [[results[(i, j)] for j in range(len(seeds))] for i in range(len(points))]
    return SweepResult(points=points, seeds=seeds, values=values, n_cached=n_cached,
                       n_computed=len(todo), meta={"backend": backend})


def _cuda_in_use() -> bool:
    """True when claims run on a CUDA device (``verify --device cuda``) or this process has
    initialised CUDA through torch: a forked worker could not use CUDA then (asking torch
    whether CUDA is available already rules it out in forked children). Never imports
    torch or the harness itself."""
    harness = sys.modules.get("theorylab.claims")
    if harness is not None and str(harness.device()).startswith("cuda"):
        return True
    torch = sys.modules.get("torch")
    try:
        return bool(torch is not None and torch.cuda.is_initialized())
    except Exception:  # pragma: no cover - a torch build without the cuda module
        return False


def _run_local(fn, points, seeds, todo, workers, done) -> None:
    import multiprocessing as mp

    # fork keeps verify scripts (imported from files) visible to the workers.
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    ctx = mp.get_context(method)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx,
                                 initializer=_worker_init) as ex:
            futs = {ex.submit(_call, fn, points[i], seeds[j]): (i, j) for i, j in todo}
            pending = set(futs)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    done(futs[f], f.result())


def _run_dask(fn, points, seeds, todo, workers, address, done) -> None:
    try:
        import cloudpickle
        from distributed import as_completed
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError(
            "backend='dask' needs the dask extra: pip install 'theorylab[dask]'") from exc
    import importlib.util

    mod = sys.modules.get(fn.__module__)
    if mod is not None and fn.__module__ != "__main__":
        try:
            importable = importlib.util.find_spec(fn.__module__) is not None
        except (ImportError, ValueError):
            importable = False
        if not importable or fn.__module__.startswith("theorylab_verify"):
            # verify scripts are loaded from files: workers cannot import them, ship by value
            cloudpickle.register_pickle_by_value(mod)
    with dask_client(address, workers=workers) as client:
        # Ship fn as a cloudpickle blob: distributed tries plain pickle first, which would
        # send a verify script's function by reference to workers that cannot import it.
        blob = cloudpickle.dumps(fn)
        futs = {client.submit(_call_blob, blob, points[i], seeds[j], pure=False): (i, j)
                for i, j in todo}
        for f in as_completed(list(futs)):
            done(futs[f], f.result())


@contextlib.contextmanager
def dask_client(address: str | None, *, workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: a LocalCluster for ``None``/``"local"``, else the scheduler
    at ``address``, reached within :data:`DASK_CONNECT_TIMEOUT` seconds or a
    ``ConnectionError`` naming it. Workers run with one BLAS/torch thread."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError(
            "backend='dask' needs the dask extra: pip install 'theorylab[dask]'") from exc
    cluster = None
    if address in (None, "local"):
        cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout=DASK_CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConnectionError(
                f"dask address {address!r}: no scheduler answered within "
                f"{DASK_CONNECT_TIMEOUT} s ({type(exc).__name__}: {exc})") from None
    try:
        client.run(limit_threads, 1)
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
