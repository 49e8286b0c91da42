"""The public result API: one home (``theorylab.results``), short reprs and ``summary()``
for every result and data type, and verify/benchmark scripts that use public names only."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pickle
from pathlib import Path

import numpy as np
import pytest

import theorylab
from theorylab import results
from theorylab.results import ConvergenceWarning, ResultRepr, SolverResult

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = ["boolean", "convex_relu", "dro", "dynamics", "gamp", "sketch", "sparse"]
SUBPACKAGES.append("precond")
SUBPACKAGES += ["pretrain"]
SUBPACKAGES += ["ncd"]
SUBPACKAGES += ["metric_losses", "robust"]
REPR_LIMIT = 400


def _public_dataclasses():
    found = {}
    for sub in SUBPACKAGES:
        mod = importlib.import_module(f"theorylab.{sub}")
        for name in mod.__all__:
            if sub == "dro" and name in mod._TORCH_NAMES:  # torch-only, checked below
                continue
            obj = getattr(mod, name)
            if isinstance(obj, type) and dataclasses.is_dataclass(obj):
                found[f"{sub}.{name}"] = obj
    try:  # torch-backed result types, when torch is installed
        import torch  # noqa: F401
    except ImportError:
        return found
    import theorylab.dro
    import theorylab.nn

    found["dro.TorchRSSResult"] = theorylab.dro.TorchRSSResult
    for name in ("TrainHistory", "RankAllocation", "CompressionReport"):
        found[f"nn.{name}"] = getattr(theorylab.nn, name)
    import theorylab.seq

    for name in theorylab.seq.__all__:  # data types (configs are options, not results)
        obj = getattr(theorylab.seq, name)
        if (isinstance(obj, type) and dataclasses.is_dataclass(obj)
                and not name.endswith("Config")):
            found[f"seq.{name}"] = obj
    try:  # language-model unlearning, when transformers is installed
        import transformers  # noqa: F401
    except ImportError:
        return found
    import theorylab.unlearning.llm as llm

    for name in llm.__all__:  # results and splits (configs and the plain facts excepted)
        obj = getattr(llm, name)
        if (isinstance(obj, type) and dataclasses.is_dataclass(obj)
                and not name.endswith("Config") and name not in ("Fact", "FactSet")):
            found[f"unlearning.llm.{name}"] = obj
    return found


PUBLIC_DATACLASSES = _public_dataclasses()


def _fill(cls):
    """An instance whose array fields are large (a full repr would be ~100 KB of digits)."""
    big = np.arange(10_000, dtype=float).reshape(100, 100)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        ann = str(f.type)
        if f.name == "message":
            kwargs[f.name] = "stopped: " + "a very long explanation " * 40
        elif f.name == "history":
            kwargs[f.name] = {"objective": np.arange(5000.0), "step": np.arange(5000.0)}
        elif f.name in ("converged", "solved"):
            kwargs[f.name] = False
        elif "Tensor" in ann:  # torch data types (theorylab.seq)
            import torch

            kwargs[f.name] = torch.from_numpy(big.copy())
        elif "ndarray" in ann or ann in ("Any", "object") or f.name == "x":
            kwargs[f.name] = big.copy()
        elif ann.startswith("int"):
            kwargs[f.name] = 7
        elif ann.startswith("float"):
            kwargs[f.name] = 0.125
        elif ann.startswith("str"):
            kwargs[f.name] = "squared"
        elif ann.startswith("dict") or "Mapping" in ann:
            kwargs[f.name] = {f"k{i}": np.arange(1000.0) for i in range(20)}
        elif ann.startswith("tuple") or ann.startswith("list"):
            kwargs[f.name] = tuple(range(1000))
        elif ann.startswith("bool"):
            kwargs[f.name] = True
        else:  # nested objects (Network, SketchOperator, ...)
            kwargs[f.name] = None
    return cls(**kwargs)


def test_public_home_exports():
    assert results.SolverResult is SolverResult
    assert issubclass(ConvergenceWarning, UserWarning)
    # the old private path keeps working (same objects, so isinstance/except still match)
    from theorylab import _result

    assert _result.SolverResult is SolverResult and _result.ConvergenceWarning is ConvergenceWarning
    # and the top-level package offers them without importing numba or torch eagerly
    assert theorylab.SolverResult is SolverResult
    assert theorylab.ConvergenceWarning is ConvergenceWarning


def test_every_public_dataclass_has_the_short_repr():
    assert len(PUBLIC_DATACLASSES) >= 15
    missing = [k for k, cls in PUBLIC_DATACLASSES.items() if not issubclass(cls, ResultRepr)]
    assert not missing, f"public data/result types without the short repr: {missing}"


@pytest.mark.parametrize("key", sorted(PUBLIC_DATACLASSES))
def test_repr_is_short_and_summary_is_text(key):
    cls = PUBLIC_DATACLASSES[key]
    obj = _fill(cls)
    text = repr(obj)
    assert len(text) <= REPR_LIMIT, f"{key}: repr has {len(text)} characters"
    assert text.startswith(cls.__name__ + "(")
    assert "9999" not in text  # no array entries, only shape and dtype
    if any(f.name == "X" for f in dataclasses.fields(cls)):
        assert "100x100 float64" in text
    summary = obj.summary()
    assert isinstance(summary, str) and cls.__name__ in summary
    assert len(summary.splitlines()) >= 2
    if issubclass(cls, SolverResult):
        assert "did NOT converge" in summary


def test_repr_of_a_real_gamp_result():
    pytest.importorskip("numba")
    from theorylab.gamp import sample_quadratic_network, solve_gamp_rie

    inst = sample_quadratic_network(20, alpha=1.0, kappa=0.5, delta=0.1, rng=0)
    res = solve_gamp_rie(inst.X, inst.y, kappa=0.5, delta=0.1, rng=0, S_star=inst.S_star)
    text = repr(res)
    assert len(text) <= REPR_LIMIT
    assert text.startswith("GampRieResult(") and "<array 20x20 float64>" in text
    assert f"mse={res.mse:.6g}" in text and "message='converged" in text
    lines = res.summary().splitlines()
    assert lines[0] == f"GampRieResult: converged after {res.n_iter} iteration(s)"
    assert any(line.strip().startswith("mse:") for line in lines)
    # repr does not change pickling or the read-only history
    again = pickle.loads(pickle.dumps(res))
    assert type(again) is type(res) and again.mse == res.mse
    assert not again.history["step"].flags.writeable


def test_subclass_keeps_its_own_repr():
    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class Custom(SolverResult):
        a: np.ndarray

        def __repr__(self) -> str:
            return "custom"

    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class Plain(SolverResult):
        a: np.ndarray

    assert repr(Custom(a=np.zeros(3))) == "custom"
    assert repr(Plain(a=np.zeros(3))) == "Plain(x=None, n_iter=0, converged=True, " \
        "history={}, a=<array 3 float64>, message='')"


# --------------------------------------------------------------------- one vocabulary

ALIASES = [("gamp.GampRieResult", "S"), ("gamp.GDResult", "S"), ("dro.RSSResult", "w"),
           ("dynamics.StoppingResult", "t_opt")]


@pytest.mark.parametrize("key, alias", ALIASES)
def test_estimate_is_stored_once(key, alias):
    cls = PUBLIC_DATACLASSES[key]
    assert alias not in {f.name for f in dataclasses.fields(cls)}  # x is the only field
    obj = _fill(cls)
    assert getattr(obj, alias) is obj.x
    # frozen: AttributeError (FrozenInstanceError), or TypeError from CPython 3.11's
    # frozen+slots __setattr__; either way the alias cannot drift from x
    with pytest.raises((AttributeError, TypeError)):
        setattr(obj, alias, np.zeros(3))
    assert getattr(obj, alias) is obj.x
    # a pickle written when the alias was still a field loads
    old = {f.name: getattr(obj, f.name) for f in dataclasses.fields(cls)} | {alias: obj.x}
    assert np.array_equal(getattr(results._rebuild(cls, old), alias), obj.x)


def test_no_mutable_dicts_inside_results():
    from theorylab.dro import RSSResult

    res = RSSResult(x=np.ones(2), hyperparameters={"gamma": 1.0}, cv_grid=({"gamma": 1.0},))
    for mapping in (res.hyperparameters, res.cv_grid[0]):
        with pytest.raises(TypeError, match="read-only"):
            mapping["gamma"] = 2.0
        with pytest.raises(TypeError, match="read-only"):
            mapping.update(gamma=2.0)
    assert res.hyperparameters == {"gamma": 1.0}
    again = pickle.loads(pickle.dumps(res))
    assert again.hyperparameters == {"gamma": 1.0}
    with pytest.raises(TypeError):
        again.hyperparameters["gamma"] = 3.0


def test_no_mutable_dicts_inside_data_instances():
    pytest.importorskip("numba")
    from theorylab.dro import sample_gmm_shift
    from theorylab.sketch import draw_sketch

    s = sample_gmm_shift(3, 4, 4, rng=0)
    with pytest.raises(TypeError, match="read-only"):
        s.meta["d"] = 5
    op = draw_sketch("countsketch", 16, 4, rng=0)
    with pytest.raises(TypeError, match="read-only"):
        op.params["rows"] = None


def _library_functions(subpackages):
    import pkgutil

    for sub in subpackages:
        pkg = importlib.import_module(f"theorylab.{sub}")
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name.startswith("_"):
                continue
            try:
                mod = importlib.import_module(f"theorylab.{sub}.{info.name}")
            except ImportError:  # torch-only modules without torch
                continue
            for name, obj in vars(mod).items():
                if (not name.startswith("_") and inspect.isfunction(obj)
                        and obj.__module__ == mod.__name__):
                    yield f"{sub}.{info.name}.{name}", obj


def test_randomness_is_passed_as_rng():
    """No hidden seeds: functions take ``rng`` (default None); torch code a ``generator``."""
    bad = []
    # (theorylab.unlearning's runner stages take ``seed``: that is the sweep protocol's name)
    for key, fn in _library_functions(["dynamics", "gamp", "sketch", "dro", "sparse", "boolean",
                                         "convex_relu"]):
        for p in inspect.signature(fn).parameters.values():
            if p.name in ("seed", "random_state", "random_seed"):
                bad.append(f"{key}({p.name}=...)")
            if p.name in ("rng", "generator") and p.default not in (None, inspect.Parameter.empty):
                bad.append(f"{key}({p.name}={p.default!r})")
    assert not bad, bad


def test_iteration_vocabulary():
    """Tolerances are ``tol``, iteration caps ``max_iter``, fixed step counts ``n_steps``."""
    bad = []
    for key, fn in _library_functions(["dynamics", "gamp", "sketch", "dro"]):
        for p in inspect.signature(fn).parameters.values():
            if p.name in ("tolerance", "maxiter", "max_iters", "n_iters", "iters", "steps",
                          "num_steps", "atol_stop", "max_steps"):
                bad.append(f"{key}({p.name})")
    assert not bad, bad


# --------------------------------------------------------------------- public imports only

def _private_imports(path: Path, source: str | None = None) -> list[str]:
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    bad = []
    bound = set()  # local names bound to theorylab modules or objects
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names
                      if a.name.split(".")[0] == "theorylab"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("theorylab"):
            bound |= {a.asname or a.name for a in node.names}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in bound:
                bad.append(f"{path.name}:{node.lineno} uses {root.id}....{node.attr}")
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
            names: list[str] = []
        elif isinstance(node, ast.ImportFrom):
            mods = [node.module or ""]
            names = [a.name for a in node.names]
        else:
            continue
        for mod in mods:
            if mod.split(".")[0] != "theorylab":
                continue
            parts = mod.split(".") + names
            priv = [p for p in parts if p.startswith("_") and not p.startswith("__")]
            if priv:
                bad.append(f"{path.name}:{node.lineno} imports {mod} {names} ({priv[0]})")
    return bad


SCRIPTS = sorted((ROOT / "verify").glob("*.py")) + sorted((ROOT / "benchmarks").glob("*.py"))


def test_private_import_detector():
    src = "from theorylab._result import X\nimport theorylab.gamp._reference\n" \
          "from theorylab.gamp.theory import _hidden\nfrom theorylab.results import Y\n" \
          "from theorylab import gamp\nimport numpy as np\n" \
          "a = gamp._kernels.f\nb = theorylab.gamp._x\nc = np._core\nd = gamp.__name__\n"
    assert len(_private_imports(Path("probe.py"), src)) == 5


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_scripts_import_public_names_only(path):
    assert _private_imports(path) == []
