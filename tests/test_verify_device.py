"""``theorylab verify --device`` reaches every torch claim.

A torch claim is a verify script that imports torch (or ``theorylab.nn``,
``theorylab.unlearning``, ``theorylab.seq``) or calls a public function of a theorylab module
that runs torch (found by reading the library, not listed by hand). Three checks:

* static: the script asks the harness for the device (``claims.device()``), and every sweep of
  a function that runs torch sweeps a function with a ``device`` parameter — so the device is
  part of the sweep's cache key and a cuda value is never served for a cpu request;
* dynamic: with ``claims.device`` returning a sentinel, the first torch sweep of the smoke run
  receives that very object as ``device`` at every point (the sweep is stopped there, so nothing
  is computed and no result is faked).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import theorylab
from theorylab import claims, sweep
from theorylab.claims import discover_claims, load_claim

LIB = Path(theorylab.__file__).parent
TORCH_PACKAGES = ("theorylab.nn", "theorylab.unlearning", "theorylab.seq")
# harness modules that import torch only to validate --device and to limit threads
HARNESS = {"claims.py", "sweep.py"}


def _module_torch_names(path: Path) -> set[str]:
    """Top-level functions/classes of a library module that run torch: their body names
    torch (or ``nn``), directly or through another such definition of the module."""
    tree = ast.parse(path.read_text())
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    names = {k for k, d in defs.items() if any(
        isinstance(n, ast.Name) and n.id in ("torch", "nn") for n in ast.walk(d))}
    while True:
        more = {k for k, d in defs.items() if k not in names and any(
            isinstance(n, ast.Name) and n.id in names for n in ast.walk(d))}
        if not more:
            return names
        names |= more


def _from_torch_package(node: ast.ImportFrom) -> bool:
    """``from theorylab.unlearning.influence import f``: torch only if ``f`` runs torch (a
    numpy helper of a torch package is not a torch entry point); package-level imports
    (lazily re-exported names) count as torch."""
    path = LIB.joinpath(*node.module.split(".")[1:]).with_suffix(".py")
    if not path.is_file():
        return True
    return any(a.name == "*" or a.name in _module_torch_names(path) for a in node.names)


def _imports_torch(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mods = [node.module or ""]
            if node.module == "theorylab":  # from theorylab import nn
                mods += [f"theorylab.{a.name}" for a in node.names]
            elif (node.module or "").startswith(TORCH_PACKAGES) and node.module.count(".") >= 2:
                if _from_torch_package(node):
                    return True
                continue
        else:
            continue
        for m in mods:
            if m == "torch" or m.startswith("torch.") or m.startswith(TORCH_PACKAGES):
                return True
    return False


def _torch_entry_points() -> set[str]:
    """Public top-level names of the library modules (outside the torch packages) that run
    torch: a script calling one of them is a torch claim."""
    names = set()
    for p in LIB.rglob("*.py"):
        rel = p.relative_to(LIB)
        if rel.parts[0] in ("nn", "unlearning", "seq") or str(rel) in HARNESS:
            continue
        tree = ast.parse(p.read_text())
        if not _imports_torch(tree):
            continue
        names |= {n.name for n in tree.body
                  if isinstance(n, ast.FunctionDef | ast.ClassDef) and not n.name.startswith("_")}
    return names


ENTRY_POINTS = _torch_entry_points()


def _uses_torch(node: ast.AST) -> bool:
    return _imports_torch(node) or any(
        isinstance(n, ast.Name | ast.alias) and (getattr(n, "id", None) or n.name) in ENTRY_POINTS
        for n in ast.walk(node) if isinstance(n, ast.Name | ast.alias))


def _torch_functions(tree: ast.Module) -> set[str]:
    """Module-level functions of a script that run torch, directly or through each other."""
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    torch_fns = {name for name, f in funcs.items() if _uses_torch(f)}
    while True:
        more = {name for name, f in funcs.items() if name not in torch_fns and any(
            isinstance(n, ast.Name) and n.id in torch_fns for n in ast.walk(f))}
        if not more:
            return torch_fns
        torch_fns |= more


def _sweeps(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, swept function name) of every ``sweep(<name>, ...)`` call."""
    return [(n.lineno, n.args[0].id) for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "sweep"
            and n.args and isinstance(n.args[0], ast.Name)]


def _cpu_only(tree: ast.Module) -> str | None:
    """The script's ``CPU_ONLY`` reason: a claim about CPU cost, or a small float64 side
    check, runs on the CPU whatever ``--device`` says and its record states that."""
    for n in tree.body:
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "CPU_ONLY"
                                             for t in n.targets):
            v = ast.literal_eval(n.value)
            assert isinstance(v, str) and len(v) > 20, "CPU_ONLY must give the reason"
            return v
    return None


SCRIPTS = {c.id: ast.parse(c.path.read_text()) for c in discover_claims()}
CPU_ONLY = sorted(k for k, t in SCRIPTS.items() if _cpu_only(t))
TORCH_CLAIMS = sorted(k for k, t in SCRIPTS.items() if _uses_torch(t) and not _cpu_only(t))


def test_cpu_only_claims_say_so_when_another_device_is_asked(monkeypatch):
    from types import SimpleNamespace

    res = claims.ClaimResult(claim="x_y", paper="x", statement="s", scale="smoke", seed=0)
    mod = SimpleNamespace(SIZES={"smoke": {}}, run=lambda scale, seed: res,
                          CPU_ONLY="measures the CPU time of one torch thread")
    monkeypatch.setattr(claims, "device", lambda: "cuda:0")
    out = claims._run_module(mod, "x_y", "smoke", 0)
    assert any("Ran on CPU whatever --device asked (cuda:0)" in c for c in out.caveats)
    monkeypatch.setattr(claims, "device", lambda: "cpu")
    res.caveats.clear()
    assert not claims._run_module(mod, "x_y", "smoke", 0).caveats


def test_torch_claims_are_found():
    assert {"train_two_layer_student", "train_rss_torch", "train_ste_network",
            "train_quadratic_network_gd"} <= ENTRY_POINTS
    assert {"advani2017_dynamics_nonlinear_width", "bai2022_admm_convex_relu_sgd_bound",
            "elser2026_boolean_rrr_generalization", "saberi2024_dro_ood_digits",
            "foster2023_ssd_full_class", "albert2025_randlora_full_rank",
            "maillard2024_gamp_rie_averaged_gd", "han2024_sltrain_char_lm"} <= set(TORCH_CLAIMS)
    # numpy/numba claims are not torch claims
    assert "advani2017_dynamics_curves" not in TORCH_CLAIMS
    assert "saberi2024_dro_ood_rate" not in TORCH_CLAIMS


@pytest.mark.parametrize("claim", TORCH_CLAIMS)
def test_torch_claim_asks_the_harness_for_its_device(claim):
    calls = [n for n in ast.walk(SCRIPTS[claim]) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute) and n.func.attr == "device"
             and isinstance(n.func.value, ast.Name) and n.func.value.id == "claims"]
    assert calls, f"{claim} never calls claims.device(): --device cannot reach it"


@pytest.mark.parametrize("claim", TORCH_CLAIMS)
def test_torch_sweeps_take_the_device(claim):
    tree = SCRIPTS[claim]
    torch_fns = _torch_functions(tree)
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    swept = [(line, fn) for line, fn in _sweeps(tree) if fn in torch_fns]
    assert swept, f"{claim}: no sweep of a torch function found"
    for line, fn in swept:
        args = funcs[fn].args
        params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        assert "device" in params, (f"{claim}:{line} sweeps {fn}, which runs torch but has no "
                                    "device parameter (the device must be a sweep point)")


class _Stop(Exception):
    """Raised by the recording sweep: the claim has shown its first torch sweep."""


class _Device(str):
    """The sentinel device: equal to "cpu" (so torch accepts it) but recognisable by identity."""


@pytest.mark.parametrize("claim", TORCH_CLAIMS)
def test_device_reaches_the_first_torch_sweep(claim, monkeypatch):
    mod = load_claim(claim)
    torch_fns = _torch_functions(SCRIPTS[claim])
    sentinel = _Device("cpu")
    seen = []

    def recording_sweep(fn, grid, **kw):
        if fn.__name__ not in torch_fns:  # a numpy sweep before the torch one: run it
            return sweep.sweep(fn, grid, **kw)
        seen.append(sweep.grid_points(grid))
        raise _Stop

    monkeypatch.setattr(claims, "device", lambda: sentinel)
    monkeypatch.setattr(mod, "sweep", recording_sweep)
    with pytest.raises(_Stop):
        mod.run(scale="smoke", seed=0)
    (points,) = seen
    assert points
    for p in points:
        assert p.get("device") is sentinel, f"{claim}: swept with device {p.get('device')!r}"
