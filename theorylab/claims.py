"""Executable claims: the result type of verify scripts, their registry and harness.

A claim is one script ``verify/<paper_key>_<claim>.py`` defining

- a module docstring (the claim, where in the paper, expected value, why the tolerance),
- ``PAPER`` (the paper key), ``CLAIM`` (one sentence), ``SIZES = {"smoke": ..., "full": ...}``,
- ``run(scale="smoke", seed=0) -> ClaimResult`` — pure: numbers and a matplotlib Figure,
- the two-line footer ``if __name__ == "__main__": raise SystemExit(script_main(__file__))``.

The harness (:func:`verify_claims`, used by ``theorylab verify`` and by ``python
verify/<claim>.py``) runs claims, writes ``figures/<claim>_<scale>.png`` and ``.json``,
prints measured vs expected and returns a non-zero exit status when any check fails.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.util
import io
import json
import math
import os
import platform
import re
import sys
import time
import traceback
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

__all__ = [
    "Check",
    "ClaimResult",
    "ClaimInfo",
    "project_root",
    "verify_dir",
    "figures_dir",
    "discover_claims",
    "load_claim",
    "verify_claims",
    "run_claim",
    "script_main",
    "wilson_interval",
    "device",
    "dry_run",
    "check_device",
    "claim_context",
    "record_path",
    "parse_seeds",
    "render_record_figure",
    "environment",
]

Scale = Literal["smoke", "full", "paper"]
SCALES: tuple[str, ...] = ("smoke", "full", "paper")


def _jsonable(v: Any) -> Any:
    """Convert numpy scalars/arrays (and nested containers) to JSON-ready values."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        np = None
    if np is not None:
        if isinstance(v, np.ndarray):
            return [_jsonable(x) for x in v.tolist()] if v.ndim else _jsonable(v.item())
        if isinstance(v, np.generic):
            return _jsonable(v.item())
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, bool | int | str) or v is None:
        return v
    return repr(v)


@dataclass(frozen=True)
class Check:
    """One comparison of a measured number against an expectation.

    ``kind`` says how ``measured`` is judged:

    - ``"close"``: ``|measured - expected| <= tolerance``;
    - ``"rel"``: ``|measured - expected| <= tolerance * |expected|``;
    - ``"at_most"``: ``measured <= expected + tolerance``;
    - ``"at_least"``: ``measured >= expected - tolerance``;
    - ``"true"``: ``bool(measured)`` (expected and tolerance are descriptive).

    Build them with the class methods, which compute ``passed`` honestly from the
    numbers; nothing else sets it.
    """

    name: str
    measured: Any
    expected: Any
    tolerance: float
    kind: str
    passed: bool
    detail: str = ""

    @staticmethod
    def _finite(x: Any) -> bool:
        try:
            return math.isfinite(float(x))
        except (TypeError, ValueError):
            return False

    @classmethod
    def close(cls, name: str, measured: float, expected: float, tolerance: float,
              detail: str = "") -> Check:
        ok = cls._finite(measured) and abs(float(measured) - float(expected)) <= tolerance
        return cls(name, float(measured), float(expected), float(tolerance), "close", ok, detail)

    @classmethod
    def rel(cls, name: str, measured: float, expected: float, tolerance: float,
            detail: str = "") -> Check:
        ok = cls._finite(measured) and (
            abs(float(measured) - float(expected)) <= tolerance * abs(float(expected)))
        return cls(name, float(measured), float(expected), float(tolerance), "rel", ok, detail)

    @classmethod
    def at_most(cls, name: str, measured: float, bound: float, tolerance: float = 0.0,
                detail: str = "") -> Check:
        ok = cls._finite(measured) and float(measured) <= float(bound) + tolerance
        return cls(name, float(measured), float(bound), float(tolerance), "at_most", ok, detail)

    @classmethod
    def at_least(cls, name: str, measured: float, bound: float, tolerance: float = 0.0,
                 detail: str = "") -> Check:
        ok = cls._finite(measured) and float(measured) >= float(bound) - tolerance
        return cls(name, float(measured), float(bound), float(tolerance), "at_least", ok, detail)

    @classmethod
    def true(cls, name: str, condition: bool, detail: str = "", measured: Any = None,
             expected: Any = True) -> Check:
        ok = bool(condition)
        return cls(name, ok if measured is None else measured, expected, 0.0, "true", ok, detail)

    def describe(self) -> str:
        sym = {"close": "±", "rel": "±rel", "at_most": "<=", "at_least": ">=",
               "true": ""}[self.kind]
        if self.kind == "true":
            exp = f"{self.expected}"
        elif self.kind in ("at_most", "at_least"):
            exp = f"{sym} {_num(self.expected)}" + (
                f" (+tol {_num(self.tolerance)})" if self.tolerance else "")
        else:
            exp = f"{_num(self.expected)} {sym} {_num(self.tolerance)}"
        return f"{self.name}: measured {_num(self.measured)}, expected {exp}"

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({
            "name": self.name, "measured": self.measured, "expected": self.expected,
            "tolerance": self.tolerance, "kind": self.kind, "passed": self.passed,
            "detail": self.detail,
        })


def _num(x: Any) -> str:
    if isinstance(x, bool) or x is None:
        return str(x)
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    if f == 0 or (1e-3 <= abs(f) < 1e5):
        return f"{f:.4g}"
    return f"{f:.3e}"


@dataclass
class ClaimResult:
    """What a verify script's ``run`` returns.

    Attributes
    ----------
    claim : str
        Claim id (the script's file stem).
    paper : str
        Paper key, e.g. ``"advani2017_dynamics"``.
    statement : str
        The claim in one sentence.
    scale, seed :
        How it was run (recorded in the figure's JSON).
    checks : list of Check
        Every comparison; the claim passes when all pass (and there is at least one).
    figure : matplotlib.figure.Figure or None
        Theory dashed, measured as points with error bars.
    data : dict
        Extra numbers worth keeping in the JSON (curves, per-seed values).
    caveats : list of str
        What could not be confirmed from the paper (printed as NOTE lines and
        stored in the JSON and report).
    """

    claim: str
    paper: str
    statement: str
    scale: str
    seed: int
    checks: list[Check] = field(default_factory=list)
    figure: Any = None
    data: dict[str, Any] = field(default_factory=dict)
    caveats: list[str] = field(default_factory=list)

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    def check(self) -> bool:
        """True when there is at least one check and every check passed."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def verdict(self) -> str:
        return "pass" if self.check() else "fail"

    @property
    def measured(self) -> dict[str, Any]:
        return {c.name: c.measured for c in self.checks}

    @property
    def expected(self) -> dict[str, Any]:
        return {c.name: c.expected for c in self.checks}

    @property
    def tolerance(self) -> dict[str, float]:
        return {c.name: c.tolerance for c in self.checks}

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({
            "claim": self.claim, "paper": self.paper, "statement": self.statement,
            "scale": self.scale, "seed": self.seed, "verdict": self.verdict,
            "checks": [c.to_dict() for c in self.checks], "caveats": list(self.caveats),
            "data": self.data,
        })

    def summary(self) -> str:
        lines = [f"[{self.verdict.upper()}] {self.claim} ({self.paper}, scale={self.scale}, "
                 f"seed={self.seed})", f"  claim: {self.statement}"]
        for c in self.checks:
            lines.append(f"  {'ok  ' if c.passed else 'FAIL'} {c.describe()}"
                         + (f"  [{c.detail}]" if c.detail else ""))
        if not self.checks:
            lines.append("  FAIL no checks were recorded")
        for note in self.caveats:
            lines.append(f"  NOTE: {note}")
        return "\n".join(lines)


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a success probability from ``k`` successes in ``n`` trials
    (for claims whose outcome per restart is pass/fail).

    Examples
    --------
    >>> tuple(round(v, 3) for v in wilson_interval(3, 10))
    (0.108, 0.603)
    """
    import numpy as np

    if n == 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, float(mid - half)), min(1.0, float(mid + half))


# --------------------------------------------------------------------------- run context

_CONTEXT: dict[str, Any] = {"device": None, "dry_run": False}
_DEVICE_RE = re.compile(r"^(cpu|cuda(:\d+)?)$")


def check_device(name: str) -> str:
    """Validate a ``--device`` value: ``"cpu"``, ``"cuda"`` or ``"cuda:k"`` with CUDA present.

    Raises ``ValueError`` naming the option, the rule and the value.
    """
    if not isinstance(name, str) or not _DEVICE_RE.match(name):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:K', got {name!r}")
    if name.startswith("cuda"):
        try:
            import torch
        except ImportError as exc:  # pragma: no cover - torch is a dependency
            raise ValueError(f"device {name!r} needs torch, which is not installed") from exc
        if not torch.cuda.is_available():
            raise ValueError(f"device must be 'cpu' on this machine (CUDA is not available), "
                             f"got {name!r}")
        k = int(name.split(":")[1]) if ":" in name else 0
        if k >= torch.cuda.device_count():
            raise ValueError(f"device index must be < {torch.cuda.device_count()} "
                             f"(CUDA devices here), got {name!r}")
    return name


def device() -> str:
    """The torch device the harness runs claims on (``--device``; default ``"cpu"``).

    Torch claims call ``torch.device(claims.device())`` and pick no device of their own,
    so ``theorylab verify --device cuda`` reaches every one of them.
    """
    return _CONTEXT["device"] or os.environ.get("THEORYLAB_DEVICE") or "cpu"


def dry_run() -> bool:
    """True under ``theorylab verify --scale paper --dry-run``: build the paper-scale
    configuration, take one step on a tiny slice, and check only that it runs."""
    return bool(_CONTEXT["dry_run"])


@contextlib.contextmanager
def claim_context(*, device: str | None = None, dry_run: bool = False):
    """Run claims on ``device`` (validated) and/or as a paper-scale dry run."""
    old = dict(_CONTEXT)
    _CONTEXT.update({"device": check_device(device) if device else None,
                     "dry_run": bool(dry_run)})
    try:
        yield
    finally:
        _CONTEXT.clear()
        _CONTEXT.update(old)


# --------------------------------------------------------------------------- registry

def project_root() -> Path:
    """The folder holding ``verify/``: ``$THEORYLAB_ROOT``, else the source checkout."""
    env = os.environ.get("THEORYLAB_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parent.parent
    if (here / "verify").is_dir():
        return here
    cwd = Path.cwd().resolve()
    for p in (cwd, *cwd.parents):
        if (p / "verify").is_dir():
            return p
    return here


def verify_dir() -> Path:
    return project_root() / "verify"


def figures_dir() -> Path:
    return project_root() / "figures"


def record_path(claim: str, scale: str, seed: int = 0,
                out_dir: str | os.PathLike | None = None) -> Path:
    """Where the record of ``(claim, scale, seed)`` lives.

    Seed 0 is the canonical record, ``figures/<claim>_<scale>.json`` (kept in the
    repository); other seeds go to ``figures/seeds/<claim>_<scale>_seed<S>.json`` so that a
    run on another seed never overwrites it.
    """
    out = Path(out_dir) if out_dir is not None else figures_dir()
    if int(seed) == 0:
        return out / f"{claim}_{scale}.json"
    return out / "seeds" / f"{claim}_{scale}_seed{int(seed)}.json"


def seeds_summary_path(claim: str, scale: str, out_dir: str | os.PathLike | None = None
                       ) -> Path:
    """The record of a multi-seed run (``--seeds``): per-seed verdicts and measurements."""
    out = Path(out_dir) if out_dir is not None else figures_dir()
    return out / f"{claim}_{scale}_seeds.json"


def _read_json(p: Path) -> dict[str, Any] | None:
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None


LABELS = ("stand-in", "partial")


@dataclass(frozen=True)
class ClaimInfo:
    """Static facts about a claim script (read without running it).

    ``label`` is ``"stand-in"`` when the check runs a proxy of the paper's method and
    ``"partial"`` when the confirmation is partial (module constants ``LABEL`` and
    ``LABEL_REASON``); ``None`` for a plain reproduction. ``scales`` are the keys of
    ``SIZES``.
    """

    id: str
    path: Path
    paper: str
    statement: str
    label: str | None = None
    label_reason: str = ""
    scales: tuple[str, ...] = ("smoke", "full")

    def record(self, scale: str, seed: int = 0,
               out_dir: str | os.PathLike | None = None) -> dict[str, Any] | None:
        """The JSON record of this claim at ``scale`` and ``seed`` (None if never run)."""
        return _read_json(record_path(self.id, scale, seed, out_dir))

    def seeds_summary(self, scale: str, out_dir: str | os.PathLike | None = None
                      ) -> dict[str, Any] | None:
        return _read_json(seeds_summary_path(self.id, scale, out_dir))

    def code_digest(self) -> str:
        """Hash of the script and the theorylab code it imports (:mod:`theorylab._codedigest`)."""
        from theorylab._codedigest import code_digest

        return code_digest(self.path)

    def freshness(self, record: dict[str, Any] | None) -> str | None:
        """``"current"`` when ``record`` was made by the code as it is now, ``"stale"`` when
        that code has changed since, ``"untracked"`` for a record without a code digest
        (made before digests were recorded); None without a record."""
        if not record:
            return None
        d = record.get("code_digest")
        if not d:
            return "untracked"
        return "current" if d == self.code_digest() else "stale"

    def last_result(self, scale: str | None = None) -> dict[str, Any] | None:
        """The seed-0 record at ``scale``; without it, the full-scale one if it exists,
        else the smoke one (a smoke pass never hides a full-scale failure)."""
        for s in ([scale] if scale else ["full", "smoke"]):
            rec = self.record(s)
            if rec is not None:
                return rec
        return None


_PKG = "theorylab_verify"


def _module_name(stem: str) -> str:
    # Verify scripts live in a package-like namespace whose __path__ is verify/, so that
    # pickle (process-pool workers) can import `theorylab_verify.<stem>` by name.
    pkg = sys.modules.get(_PKG)
    path = str(verify_dir())
    if pkg is None:
        pkg = ModuleType(_PKG)
        pkg.__path__ = [path]  # type: ignore[attr-defined]
        sys.modules[_PKG] = pkg
    elif path not in pkg.__path__:  # type: ignore[attr-defined]
        pkg.__path__.insert(0, path)  # type: ignore[attr-defined]
    return f"{_PKG}.{stem}"


def _check_script(mod: ModuleType, name: str) -> ModuleType:
    for attr in ("PAPER", "CLAIM", "SIZES", "run"):
        if not hasattr(mod, attr):
            raise AttributeError(f"verify script {name} must define {attr}")
    return mod


def load_claim(name_or_path: str | os.PathLike) -> ModuleType:
    """Import a verify script by claim id or path; registered in ``sys.modules``."""
    p = Path(name_or_path)
    if p.suffix != ".py":
        p = verify_dir() / f"{name_or_path}.py"
    if not p.is_file():
        known = ", ".join(c.id for c in discover_claims()) or "none"
        raise ValueError(f"unknown claim {str(name_or_path)!r}; known claims: {known}")
    modname = _module_name(p.stem)
    if modname in sys.modules and getattr(sys.modules[modname], "__file__", None) == str(p):
        return sys.modules[modname]
    spec = importlib.util.spec_from_file_location(modname, p)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has one
        raise ImportError(f"cannot load {p}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    return _check_script(mod, p.name)


def _load_claim_source(name: str, source: str, filename: str) -> ModuleType:
    """Load a verify script from its text (Dask workers that do not share our files)."""
    modname = _module_name(name)
    mod = sys.modules.get(modname)
    if mod is not None and getattr(mod, "__theorylab_source__", None) == source:
        return mod
    mod = ModuleType(modname)
    mod.__file__ = filename
    mod.__theorylab_source__ = source  # type: ignore[attr-defined]
    sys.modules[modname] = mod
    exec(compile(source, filename, "exec"), mod.__dict__)
    return _check_script(mod, Path(filename).name)


def _static_info(path: Path) -> ClaimInfo:
    """Read PAPER, CLAIM, LABEL and the SIZES keys without importing the script."""
    import ast

    tree = ast.parse(path.read_text(), filename=str(path))
    values: dict[str, Any] = {}
    scales: tuple[str, ...] = ("smoke", "full")
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) != 1 or not isinstance(targets[0], ast.Name) or node.value is None:
                continue
            tid = targets[0].id
            if tid in ("PAPER", "CLAIM", "LABEL", "LABEL_REASON"):
                try:
                    values[tid] = ast.literal_eval(node.value)
                except ValueError:
                    pass
            elif tid == "SIZES" and isinstance(node.value, ast.Dict):
                keys = [k.value for k in node.value.keys
                        if isinstance(k, ast.Constant) and isinstance(k.value, str)]
                scales = tuple(k for k in SCALES if k in keys)
    label = values.get("LABEL")
    if label is not None and label not in LABELS:
        raise ValueError(f"{path.name}: LABEL must be one of {LABELS}, got {label!r}")
    return ClaimInfo(path.stem, path, values.get("PAPER", "?"), values.get("CLAIM", "?"),
                     label, str(values.get("LABEL_REASON", "")), scales)


def discover_claims() -> list[ClaimInfo]:
    """Every ``verify/*.py`` script (not starting with ``_``), sorted by id."""
    d = verify_dir()
    if not d.is_dir():
        return []
    return [_static_info(p) for p in sorted(d.glob("*.py")) if not p.name.startswith("_")]


# --------------------------------------------------------------------------- records

def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _png_bytes(fig: Any, dpi: int = 90) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, dpi=dpi, format="png")
    return buf.getvalue()


def render_record_figure(record: dict[str, Any], png: Path, *, dpi: int = 90) -> bool:
    """Draw a record's figure from its stored spec into ``png``; False if it has none."""
    spec = record.get("figure_spec")
    if not spec or not spec.get("complete"):
        return False
    from theorylab import figspec

    fig = figspec.render(spec)
    _atomic_write(png, _png_bytes(fig, dpi))
    return True


def _cpu_model() -> str:
    """The processor's model name (Linux ``/proc/cpuinfo``), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment(device_name: str = "cpu") -> dict[str, Any]:
    """Where a record was computed: library versions, CPU model and vector extensions that
    torch dispatches to, thread settings, and for a CUDA ``device_name`` the GPU's name and
    the CUDA version torch was built with. Rounding in BLAS and torch kernels depends on the
    CPU (or GPU) and the library build, and a chaotic training (a GAN, a sort executor) turns
    rounding into different numbers, so a record states the machine it ran on."""
    from theorylab._fingerprint import library_versions

    if not isinstance(device_name, str):
        raise TypeError(f"device_name must be a str such as 'cpu' or 'cuda:0', got "
                        f"{type(device_name).__name__}")
    env: dict[str, Any] = dict(library_versions())
    env["machine"] = platform.machine()
    env["cpu"] = _cpu_model()
    torch = sys.modules.get("torch")  # importing torch just to ask would cost a second
    if torch is not None:
        try:
            env["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        except Exception:  # pragma: no cover - older torch without the query
            pass
        if device_name.startswith("cuda"):
            try:
                env["gpu"] = torch.cuda.get_device_name(torch.device(device_name))
                env["cuda"] = torch.version.cuda
            except Exception:  # pragma: no cover - CUDA gone since the device was checked
                pass
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var):
            env[var] = os.environ[var]
    return env


def _record(res: ClaimResult, runtime_s: float, info: ClaimInfo | None,
            device_name: str) -> tuple[dict[str, Any], bytes | None]:
    """The JSON record of a result, and PNG bytes of its figure when it has no full spec."""
    record = res.to_dict()
    record["runtime_s"] = round(runtime_s, 3)
    record["timestamp"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    from theorylab import __version__

    record["theorylab_version"] = __version__
    record["device"] = device_name
    record["environment"] = environment(device_name)
    if info is not None and info.label:
        record["label"] = info.label
        record["label_reason"] = info.label_reason
    png = None
    if res.figure is not None:
        from theorylab import figspec

        spec = figspec.capture(res.figure)
        record["figure_spec"] = spec
        if not spec["complete"]:
            png = _png_bytes(res.figure)
    return record, png


def _write_record(record: dict[str, Any], png_bytes: bytes | None, out_dir: Path) -> Path:
    js = record_path(record["claim"], record["scale"], record["seed"], out_dir)
    if record.get("figure_spec") is not None:
        png = js.with_suffix(".png")
        record["figure"] = png.name
        if png_bytes is not None:
            _atomic_write(png, png_bytes)
        else:
            render_record_figure(record, png)
    else:
        record["figure"] = None
    _atomic_write(js, (json.dumps(record, indent=1) + "\n").encode())
    return js


def _write_outputs(res: ClaimResult, out_dir: Path, runtime_s: float) -> dict[str, Any]:
    """Write one result's JSON record and PNG (drawn from the record) under ``out_dir``."""
    info = next((c for c in discover_claims() if c.id == res.claim), None)
    record, png = _record(res, runtime_s, info, device())
    _write_record(record, png, out_dir)
    return record


# --------------------------------------------------------------------------- harness

def run_claim(name: str, *, scale: str = "smoke", seed: int = 0) -> ClaimResult:
    """Import and run one claim; the result is checked for its type and ids."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    mod = load_claim(name)
    return _run_module(mod, name, scale, seed)


def _run_module(mod: ModuleType, name: str, scale: str, seed: int) -> ClaimResult:
    if scale not in mod.SIZES:
        raise ValueError(f"claim {name} has no {scale!r} scale (it has "
                         f"{', '.join(map(repr, mod.SIZES))})")
    res = mod.run(scale=scale, seed=seed)
    if not isinstance(res, ClaimResult):
        raise TypeError(f"{name}.run must return a ClaimResult, got {type(res).__name__}")
    cpu_only = getattr(mod, "CPU_ONLY", None)
    if cpu_only and device() != "cpu":
        # a claim about CPU cost (or a float64 side check) declares it; the record says so
        res.caveats.append(f"Ran on CPU whatever --device asked ({device()}): {cpu_only}")
    return res


@dataclass
class _Outcome:
    name: str
    seed: int
    record: dict[str, Any] | None
    png: bytes | None
    summary: str
    runtime_s: float
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and self.record is not None and \
            self.record["verdict"] == "pass"


def _run_task(name: str, scale: str, seed: int, device_name: str, dry: bool,
              source: str | None = None, filename: str | None = None,
              info: ClaimInfo | None = None) -> _Outcome:
    """Run one (claim, seed) and return its record; used in-process, in pool workers and
    on Dask workers (then ``source`` carries the script's text)."""
    from theorylab import sweep as _sw

    t0 = time.perf_counter()
    c0 = time.process_time()
    _sw.reset_point_stats()
    try:
        with claim_context(device=device_name, dry_run=dry):
            if source is not None:
                mod = _load_claim_source(name, source, filename or f"{name}.py")
            else:
                mod = load_claim(name)
            res = _run_module(mod, name, scale, seed)
            dt = time.perf_counter() - t0
            record, png = _record(res, dt, info, device_name)
            # CPU time of this process (sweeps run in it unless --workers/--dask): unlike the
            # wall time it does not grow with other jobs on the machine
            record["cpu_s"] = round(time.process_time() - c0, 3)
            _add_point_stats(record, _sw.point_stats())
        if res.figure is not None:
            res.figure.clear()
        return _Outcome(name, seed, record, png, res.summary(), dt)
    except Exception:  # a crashing claim is a failed claim, with its traceback
        dt = time.perf_counter() - t0
        return _Outcome(name, seed, None, None, "", dt, traceback.format_exc())


def _task_in_worker(*args: Any) -> _Outcome:
    from theorylab.sweep import limit_threads, tune_allocator

    limit_threads(1)
    tune_allocator()
    return _run_task(*args)


def parse_seeds(text: str) -> list[int]:
    """``"0-19"`` → 0..19, ``"1,4,7"``, ``"3"``; seeds are ints >= 0.

    Examples
    --------
    >>> parse_seeds("0-3,7")
    [0, 1, 2, 3, 7]
    """
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise ValueError(f"seeds must look like '0-19' or '1,4,7' (ints >= 0), got {text!r}")
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) is not None else a
        if b < a:
            raise ValueError(f"seeds range must be increasing, got {part!r}")
        seeds.extend(range(a, b + 1))
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must not repeat, got {text!r}")
    return seeds


def _cached_points(cache: Path, since: float) -> tuple[int, int]:
    """(points written since ``since``, points in all) under the sweep cache."""
    if not cache.is_dir():
        return 0, 0
    new = total = 0
    for p in cache.rglob("*.pkl"):
        if p.name.startswith(".tmp"):
            continue
        total += 1
        try:
            if p.stat().st_mtime >= since:
                new += 1
        except OSError:
            pass
    return new, total


def _add_point_stats(record: dict[str, Any], st: dict[str, float]) -> None:
    """Store how many sweep points this run computed and took from the cache, and what the
    cached ones had cost to compute: ``runtime_s`` alone would make a run served from the
    cache look fast (see :func:`uncached_runtime`)."""
    record["points_computed"] = int(st["computed"])
    record["points_cached"] = int(st["cached"])
    if st["cached"]:
        record["cached_compute_s"] = round(float(st["cached_s"]), 3)
        if st["cached_untimed"]:
            record["cached_untimed"] = int(st["cached_untimed"])


def uncached_runtime(rec: dict[str, Any] | None) -> tuple[float | None, bool]:
    """The seconds a record's run would have taken without the sweep cache, and whether that
    is only a lower bound (some cached points were stored without their compute time).

    ``runtime_s`` plus the compute time of the points served from the cache; with
    ``--workers N`` the cached points' times are summed over workers, an upper estimate of
    their wall time. A record made before these fields existed gives its ``runtime_s``.
    """
    if not rec or rec.get("runtime_s") is None:
        return None, False
    return (float(rec["runtime_s"]) + float(rec.get("cached_compute_s", 0.0)),
            bool(rec.get("cached_untimed")))


def _expected_runtime(info: ClaimInfo, scale: str, out: Path) -> float:
    return uncached_runtime(info.record(scale, out_dir=out))[0] or 0.0


def verify_claims(
    names: Sequence[str] | None,
    *,
    scale: str = "smoke",
    seed: int = 0,
    seeds: Sequence[int] | None = None,
    jobs: int = 1,
    workers: int | None = None,
    dask_address: str | None = None,
    device: str | None = None,
    dry_run: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    stream: Any = None,
) -> int:
    """Run claims, write their records and figures, print a summary; return the exit status.

    ``names=None`` runs every discovered claim (at ``scale="paper"``: every claim that has
    a paper scale). ``seeds`` runs each claim on several seeds (``seed`` is the single
    seed otherwise); seed 0 writes the canonical record, the others write under
    ``figures/seeds/``, and a multi-seed run also writes ``<claim>_<scale>_seeds.json``.

    Scheduling: ``jobs`` claims run at once in local processes (longest recorded runtime
    first); with ``dask_address`` the claims themselves are tasks on the Dask cluster.
    ``workers`` gives the sweeps inside a claim local processes (used with ``jobs=1``).
    ``dry_run`` (paper scale only) builds the paper configuration and takes one step;
    it writes nothing. Returns 0 when every check passed, 1 otherwise, 130 on Ctrl-C.
    """
    from theorylab import sweep as _sweep

    stream = stream or sys.stdout
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if dry_run and scale != "paper":
        raise ValueError(f"dry_run needs scale='paper', got scale={scale!r}")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
    seed_list = [int(seed)] if seeds is None else [int(s) for s in seeds]
    if not seed_list or any(s < 0 for s in seed_list):
        raise ValueError(f"seeds must be ints >= 0, got {seed_list!r}")
    device_name = check_device(device) if device else "cpu"
    infos = {c.id: c for c in discover_claims()}
    all_claims = names is None
    if names is None:
        names = [c for c, i in infos.items() if scale in i.scales]
        if not names:
            print(f"no claims with a {scale!r} scale found under {verify_dir()}", file=stream)
            return 1
    unknown = [n for n in names if n not in infos]
    if unknown:
        raise ValueError(f"unknown claim(s): {', '.join(unknown)}")
    lacking = [n for n in names if scale not in infos[n].scales]
    if lacking:
        raise ValueError(f"claim(s) without a {scale!r} scale: {', '.join(lacking)}")
    out = Path(out_dir) if out_dir is not None else figures_dir()
    cache = project_root() / ".theorylab_cache"
    order = sorted(names, key=lambda n: -_expected_runtime(infos[n], scale, out))
    tasks = [(n, s) for n in order for s in seed_list]
    use_dask = dask_address is not None and (jobs > 1 or len(tasks) > 1)
    t_start = time.time()
    wall0 = time.perf_counter()
    outcomes: dict[tuple[str, int], _Outcome] = {}
    bar = None
    if progress and len(tasks) > 1 and sys.stderr.isatty():
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), desc=f"verify ({scale})", unit="claim", file=sys.stderr)

    # the code each claim runs, hashed before and after it runs (an edit during the run
    # leaves its record without a digest: it cannot say which code it came from)
    from theorylab._codedigest import code_digest

    digests = {n: code_digest(infos[n].path) for n in names}

    def finish(o: _Outcome) -> None:
        outcomes[(o.name, o.seed)] = o
        if o.record is not None:
            same = code_digest(infos[o.name].path) == digests[o.name]
            o.record["code_digest"] = digests[o.name] if same else None
        if o.error is not None:
            print(f"[ERROR] {o.name} (seed {o.seed}): the claim raised\n{o.error}", file=stream)
        else:
            where = ""
            if not dry_run and o.record is not None:
                js = _write_record(o.record, o.png, out)
                where = f"; wrote {js.with_suffix('')}.png/.json"
            print(o.summary + f"\n  ({o.runtime_s:.1f} s{where})", file=stream, flush=True)
        if len(seed_list) > 1 and not dry_run and all(
                (o.name, s) in outcomes for s in seed_list):
            # every seed of this claim is in: its summary is written now, so an interrupted
            # multi-seed run keeps what it finished
            _write_seeds_summary(o.name, scale, [outcomes[(o.name, s)] for s in seed_list], out,
                                 digests[o.name])
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(o.name)

    sweep_backend = "dask" if (dask_address and not use_dask) else None
    _sweep.tune_allocator()  # this process and the forked claim workers
    try:
        with _sweep.defaults(workers=workers if jobs == 1 else None, backend=sweep_backend,
                             address=dask_address if sweep_backend else None,
                             cache_dir=cache, progress=progress):
            if use_dask:
                _run_claims_dask(tasks, scale, device_name, dry_run, dask_address, jobs,
                                 infos, finish)
            elif jobs > 1 and len(tasks) > 1:
                _run_claims_local(tasks, scale, device_name, dry_run, jobs, infos, finish)
            else:
                for n, s in tasks:
                    finish(_run_task(n, scale, s, device_name, dry_run, None, None, infos[n]))
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        new, total = _cached_points(cache, t_start)
        print(f"\ninterrupted: {len(outcomes)} of {len(tasks)} claim runs finished; "
              f"{new} sweep points cached this run ({total} in {cache}) — rerun the same "
              "command to resume", file=sys.stderr)
        return 130
    if bar is not None:
        bar.close()
    wall = time.perf_counter() - wall0

    failed = sorted({n for (n, _), o in outcomes.items() if not o.passed})
    if len(seed_list) > 1:
        for n in names:
            per = [outcomes[(n, s)] for s in seed_list]
            n_pass = sum(o.passed for o in per)
            bad = [o.seed for o in per if not o.passed]
            print(f"{n}: {n_pass}/{len(per)} seeds pass"
                  + (f"; failing seeds: {', '.join(map(str, bad))}" if bad else ""), file=stream)
    if all_claims and not dry_run and len(seed_list) == 1:
        suite = {"scale": scale, "seed": seed_list[0], "jobs": jobs,
                 "backend": "dask" if use_dask else ("local" if jobs > 1 else "serial"),
                 "wall_s": round(wall, 1), "n_claims": len(names),
                 "n_failed": len(failed), "failed": failed,
                 "claim_runtime_s": {n: round(outcomes[(n, seed_list[0])].runtime_s, 2)
                                     for n in names},
                 "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        _atomic_write(out / f"suite_{scale}.json", (json.dumps(suite, indent=1) + "\n").encode())
    n_runs = len(tasks)
    n_bad = sum(not o.passed for o in outcomes.values())
    print(f"\n{n_runs - n_bad} passed, {n_bad} failed", file=stream)
    print(f"wall time {wall:.1f} s ({len(names)} claims, {len(seed_list)} seed(s), "
          f"jobs={jobs})", file=stream)
    if failed:
        print("failed claims: " + ", ".join(failed), file=stream)
    return 1 if failed else 0


def _write_seeds_summary(name: str, scale: str, per: list[_Outcome], out: Path,
                         digest: str | None = None) -> None:
    checks: dict[str, list[Any]] = {}
    for o in per:
        for c in (o.record or {}).get("checks", []):
            checks.setdefault(c["name"], []).append(c["measured"])
    summary = {"claim": name, "scale": scale, "seeds": [o.seed for o in per],
               "passed": [o.passed for o in per], "n_pass": sum(o.passed for o in per),
               "n_seeds": len(per), "measured": checks,
               "code_digest": digest if all(o.record is None
                                            or o.record.get("code_digest") == digest
                                            for o in per) else None,
               "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    _atomic_write(seeds_summary_path(name, scale, out),
                  (json.dumps(_jsonable(summary), indent=1) + "\n").encode())


def _pool_start_method(device_name: str) -> str:
    """How ``verify --jobs`` starts its worker processes: ``"spawn"`` for a CUDA device,
    else ``"fork"`` on Linux (``"spawn"`` elsewhere).

    Validating ``--device cuda`` asks the CUDA driver how many devices there are, and a
    process forked after that cannot use CUDA ("Cannot re-initialize CUDA in forked
    subprocess"), so CUDA workers start fresh. Each worker loads its claim from the
    script's path by itself, so the claims pool needs nothing that only fork would carry.
    """
    if str(device_name).startswith("cuda"):
        return "spawn"
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _run_claims_local(tasks, scale, device_name, dry, jobs, infos, finish) -> None:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = mp.get_context(_pool_start_method(device_name))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
        ex = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=ctx)
    try:
        futs = {ex.submit(_task_in_worker, n, scale, s, device_name, dry, None, None,
                          infos[n]): (n, s) for n, s in tasks}
        pending = set(futs)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                finish(f.result())
    except BaseException:
        # Ctrl-C (or a failing finish): stop now. Leaving a `with ProcessPoolExecutor` block
        # would wait for the claims still running (minutes at full scale); cancel what has
        # not started and terminate the workers. Their finished sweep points are on disk.
        _abandon_pool(ex)
        raise
    ex.shutdown(wait=True)


def _abandon_pool(ex) -> None:
    """Shut a process pool down without waiting: cancel queued work, terminate workers."""
    procs = list((getattr(ex, "_processes", None) or {}).values())
    ex.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
            p.join(timeout=5)
    # Let the pool's manager thread finish its clean-up (it closes its wake-up pipe) before
    # the interpreter exits: otherwise concurrent.futures' exit hook can write to that pipe
    # while the thread is closing it, and Python 3.11 prints an OSError (EBADF) traceback.
    manager = getattr(ex, "_executor_manager_thread", None)
    if manager is not None:
        manager.join(timeout=10)


def _run_claims_dask(tasks, scale, device_name, dry, address, jobs, infos, finish) -> None:
    from theorylab.sweep import dask_client

    with dask_client(address, workers=jobs) as client:
        futs = []
        for n, s in tasks:
            src = infos[n].path.read_text()
            futs.append(client.submit(_task_in_worker, n, scale, s, device_name, dry, src,
                                      str(infos[n].path), infos[n], pure=False))
        from distributed import as_completed

        for f in as_completed(futs):
            finish(f.result())


def script_main(file: str, argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python verify/<claim>.py [options]`` (the options of
    ``theorylab verify``, for this one claim)."""
    from theorylab.cli import main

    os.environ.setdefault("MPLBACKEND", "Agg")
    stem = Path(file).stem
    args = list(sys.argv[1:] if argv is None else argv)
    return main(["verify", stem, "--no-progress", *args], prog=f"verify/{stem}.py")
