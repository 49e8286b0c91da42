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

import datetime as _dt
import importlib.util
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Iterable, Sequence
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
    "script_main",
]

Scale = Literal["smoke", "full"]
SCALES: tuple[str, ...] = ("smoke", "full")


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


@dataclass(frozen=True)
class ClaimInfo:
    """Static facts about a claim script (read without running it)."""

    id: str
    path: Path
    paper: str
    statement: str

    def last_result(self, scale: str | None = None) -> dict[str, Any] | None:
        """The newest JSON written for this claim (any scale unless given)."""
        scales = [scale] if scale else list(SCALES)
        best = None
        for s in scales:
            p = figures_dir() / f"{self.id}_{s}.json"
            if p.is_file():
                try:
                    d = json.loads(p.read_text())
                except (OSError, json.JSONDecodeError):
                    continue
                if best is None or d.get("timestamp", "") > best.get("timestamp", ""):
                    best = d
        return best


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
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    for attr in ("PAPER", "CLAIM", "SIZES", "run"):
        if not hasattr(mod, attr):
            raise AttributeError(f"verify script {p.name} must define {attr}")
    return mod


def _static_info(path: Path) -> ClaimInfo:
    """Read PAPER and CLAIM without importing the script (cheap for `list`)."""
    import ast

    tree = ast.parse(path.read_text(), filename=str(path))
    values: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            t = node.targets[0]
            if isinstance(t, ast.Name) and t.id in ("PAPER", "CLAIM"):
                try:
                    values[t.id] = ast.literal_eval(node.value)
                except ValueError:
                    pass
    return ClaimInfo(path.stem, path, values.get("PAPER", "?"), values.get("CLAIM", "?"))


def discover_claims() -> list[ClaimInfo]:
    """Every ``verify/*.py`` script (not starting with ``_``), sorted by id."""
    d = verify_dir()
    if not d.is_dir():
        return []
    return [_static_info(p) for p in sorted(d.glob("*.py")) if not p.name.startswith("_")]


# --------------------------------------------------------------------------- harness

def _write_outputs(res: ClaimResult, out_dir: Path, runtime_s: float) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{res.claim}_{res.scale}"
    record = res.to_dict()
    record["runtime_s"] = round(runtime_s, 3)
    record["timestamp"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    from theorylab import __version__

    record["theorylab_version"] = __version__
    if res.figure is not None:
        png = out_dir / f"{stem}.png"
        tmp = png.with_suffix(".png.tmp")
        res.figure.savefig(tmp, dpi=110, format="png")
        os.replace(tmp, png)
        record["figure"] = png.name
    else:
        record["figure"] = None
    js = out_dir / f"{stem}.json"
    tmp = js.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, js)
    return record


def run_claim(name: str, *, scale: str = "smoke", seed: int = 0) -> ClaimResult:
    """Import and run one claim; the result is checked for its type and ids."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    mod = load_claim(name)
    res = mod.run(scale=scale, seed=seed)
    if not isinstance(res, ClaimResult):
        raise TypeError(f"{name}.run must return a ClaimResult, got {type(res).__name__}")
    return res


def verify_claims(
    names: Sequence[str] | None,
    *,
    scale: str = "smoke",
    seed: int = 0,
    workers: int | None = None,
    dask_address: str | None = None,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    stream: Any = None,
) -> int:
    """Run claims, write their figures and JSON, print a summary; return the exit status.

    ``names=None`` runs every discovered claim. Sweeps inside the claims run with the
    given ``workers`` (local processes) or on the Dask scheduler at ``dask_address``
    (``"local"`` starts a LocalCluster). Returns 0 when every check passed, 1 otherwise.
    """
    from theorylab import sweep as _sweep

    stream = stream or sys.stdout
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    infos = discover_claims()
    if names is None:
        names = [c.id for c in infos]
        if not names:
            print(f"no claims found under {verify_dir()}", file=stream)
            return 1
    out = Path(out_dir) if out_dir is not None else figures_dir()
    failed: list[str] = []
    backend = "dask" if dask_address else None
    with _sweep.defaults(workers=workers, backend=backend, address=dask_address,
                         cache_dir=project_root() / ".theorylab_cache"):
        it: Iterable[str] = names
        bar = None
        if progress and len(names) > 1:
            from tqdm.auto import tqdm

            bar = tqdm(names, desc=f"verify ({scale})", unit="claim", file=sys.stderr)
            it = bar
        for name in it:
            if bar is not None:
                bar.set_postfix_str(name)
            t0 = time.perf_counter()
            try:
                res = run_claim(name, scale=scale, seed=seed)
            except Exception:  # a crashing claim is a failed claim, with its traceback
                print(f"[ERROR] {name}: the claim raised\n{traceback.format_exc()}", file=stream)
                failed.append(name)
                continue
            dt = time.perf_counter() - t0
            _write_outputs(res, out, dt)
            if res.figure is not None:
                import matplotlib.pyplot as plt

                plt.close(res.figure)
            print(res.summary() + f"\n  ({dt:.1f} s; wrote {out / (res.claim + '_' + scale)}"
                  ".png/.json)", file=stream)
            if not res.check():
                failed.append(name)
        if bar is not None:
            bar.close()
    n = len(names)
    print(f"\n{n - len(failed)} passed, {len(failed)} failed", file=stream)
    if failed:
        print("failed claims: " + ", ".join(failed), file=stream)
    return 1 if failed else 0


def script_main(file: str, argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python verify/<claim>.py [--scale S] [--seed N] [--workers K]``."""
    import argparse

    os.environ.setdefault("MPLBACKEND", "Agg")
    stem = Path(file).stem
    p = argparse.ArgumentParser(prog=f"verify/{stem}.py", description=f"Verify claim {stem}.")
    p.add_argument("--scale", choices=SCALES, default="smoke")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--dask", default=None, metavar="ADDRESS")
    a = p.parse_args(argv)
    return verify_claims([stem], scale=a.scale, seed=a.seed, workers=a.workers,
                         dask_address=a.dask, progress=False)
