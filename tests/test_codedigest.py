"""A record says whether the code it ran is still the code in the checkout: ``code_digest``
in every record, ``*`` (stale) and ``?`` (untracked) marks in ``list``, the report and the
README table."""

import io
import json
import textwrap
from pathlib import Path

import pytest

from theorylab import _codedigest as cd
from theorylab import claims

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- which files

def test_real_script_reaches_its_subpackage_and_not_the_harness():
    files = {str(p.relative_to(ROOT)) for p in
             cd.code_files(ROOT / "verify" / "bai2022_admm_convex_relu_sgd_bound.py")}
    assert "verify/bai2022_admm_convex_relu_sgd_bound.py" in files
    assert "theorylab/convex_relu/admm.py" in files  # lazily loaded: the whole subpackage
    assert "theorylab/convex_relu/_certificate.py" in files
    for h in ("claims.py", "cli.py", "sweep.py", "figspec.py", "plotting.py", "__init__.py"):
        assert f"theorylab/{h}" not in files
    assert not any(f.startswith("theorylab/gamp/") for f in files)  # another paper's code


@pytest.fixture
def fake_pkg(tmp_path, monkeypatch):
    """A stand-in theorylab package: a subpackage, a top-level module, harness files."""
    pkg = tmp_path / "theorylab"
    (pkg / "toy").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "claims.py").write_text("X = 1\n")
    (pkg / "other.py").write_text("Y = 1\n")
    (pkg / "unused.py").write_text("Z = 1\n")
    (pkg / "toy" / "__init__.py").write_text("from .core import f\n")
    (pkg / "toy" / "core.py").write_text("from ..other import Y\ndef f():\n    return Y\n")
    ver = tmp_path / "verify"
    ver.mkdir()
    (ver / "_helper.py").write_text("H = 1\n")
    (ver / "demo.py").write_text(textwrap.dedent("""
        from theorylab.claims import Check
        from theorylab.toy import (
            f,
        )
        from _helper import H
    """))
    monkeypatch.setattr(cd, "_PKG", pkg)
    return tmp_path


@pytest.mark.parametrize("edit, changes", [
    ("theorylab/toy/core.py", True),        # the subpackage it imports
    ("theorylab/other.py", True),           # reached through a relative import
    ("verify/_helper.py", True),            # a helper module next to the script
    ("verify/demo.py", True),               # the script itself
    ("theorylab/claims.py", False),         # harness: how claims run, not what they compute
    ("theorylab/unused.py", False),         # code the claim never imports
])
def test_digest_changes_exactly_when_reached_code_changes(fake_pkg, edit, changes):
    script = fake_pkg / "verify" / "demo.py"
    before = cd.code_digest(script)
    p = fake_pkg / edit
    p.write_text(p.read_text() + "\n# edited\n")
    assert (cd.code_digest(script) != before) is changes


def test_new_module_changes_digest_only_of_claims_that_reach_it(fake_pkg):
    script = fake_pkg / "verify" / "demo.py"
    before = cd.code_digest(script)
    toy = fake_pkg / "theorylab" / "toy"
    (toy / "extra.py").write_text("W = 2\n")  # another claim's new module, not imported here
    assert cd.code_digest(script) == before
    # ... but a claim that imports the package as such may use any of its names
    whole = fake_pkg / "verify" / "whole.py"
    whole.write_text("import theorylab.toy\n")
    d_whole = cd.code_digest(whole)
    (toy / "extra2.py").write_text("V = 3\n")
    assert cd.code_digest(whole) != d_whole
    assert cd.code_digest(script) == before


@pytest.fixture
def lazy_pkg(fake_pkg):
    """A package that resolves names lazily through a ``"name": "module"`` map."""
    lazy = fake_pkg / "theorylab" / "lazy"
    lazy.mkdir()
    (lazy / "__init__.py").write_text(textwrap.dedent('''
        """Lazy names."""
        import importlib
        _LAZY = {
            "alpha": "a",  # the first module
            "beta": "b",
        }
        def __getattr__(name):
            return getattr(importlib.import_module(f"theorylab.lazy.{_LAZY[name]}"), name)
    '''))
    (lazy / "a.py").write_text("from .helpers import h\ndef alpha():\n    return h()\n")
    (lazy / "helpers.py").write_text("def h():\n    return 1\n")
    (lazy / "b.py").write_text("def beta():\n    return 2\n")
    (fake_pkg / "verify" / "uses_alpha.py").write_text("from theorylab.lazy import alpha\n")
    return fake_pkg


@pytest.mark.parametrize("edit, changes", [
    ("a.py", True),                  # the module the lazy name resolves to
    ("helpers.py", True),            # what that module imports
    ("b.py", False),                 # another name's module
])
def test_lazy_names_reach_their_module_only(lazy_pkg, edit, changes):
    script = lazy_pkg / "verify" / "uses_alpha.py"
    files = {p.name for p in cd.code_files(script)}
    assert {"a.py", "helpers.py", "__init__.py"} <= files and "b.py" not in files
    before = cd.code_digest(script)
    p = lazy_pkg / "theorylab" / "lazy" / edit
    p.write_text(p.read_text() + "X = 0\n")
    assert (cd.code_digest(script) != before) is changes


def test_package_init_digested_without_comments_docstring_and_map_entries(lazy_pkg):
    script = lazy_pkg / "verify" / "uses_alpha.py"
    init = lazy_pkg / "theorylab" / "lazy" / "__init__.py"
    before = cd.code_digest(script)
    text = init.read_text()
    grown = text.replace('"beta": "b",', '"beta": "b",\n    # a new paper\n    "gamma": "c",')
    init.write_text(grown.replace('"""Lazy names."""', '"""Lazy names, now three."""')
                    + '\n# another paper\n_register({"delta": "d",\n           "eps": "d"})\n')
    assert cd.code_digest(script) == before
    # pointing the name at another module is a change: the other module's file is digested
    init.write_text(text.replace('"alpha": "a"', '"alpha": "b"'))
    assert cd.code_digest(script) != before
    # and so is real code in the __init__
    init.write_text(text + "\nSCALE = 2\n")
    assert cd.code_digest(script) != before


def test_imports_in_docstrings_are_not_dependencies(lazy_pkg):
    init = lazy_pkg / "theorylab" / "lazy" / "__init__.py"
    init.write_text(init.read_text().replace(
        '"""Lazy names."""',
        '"""Lazy names. Example::\n\n    from theorylab.lazy import beta\n"""'))
    script = lazy_pkg / "verify" / "uses_alpha.py"
    script.write_text('def f():\n    """Usage::\n\n        import theorylab.lazy\n    """\n'
                      "from theorylab.lazy import alpha\n")
    files = {p.name for p in cd.code_files(script)}
    assert "a.py" in files and "b.py" not in files  # neither docstring import counts
    # while a real import inside a function does
    script.write_text(script.read_text() + "def g():\n    from theorylab.lazy import beta\n")
    assert "b.py" in {p.name for p in cd.code_files(script)}


def test_real_lazy_packages_are_resolved_by_module():
    files = {str(p.relative_to(ROOT)) for p in
             cd.code_files(ROOT / "verify" / "grazzi2024_negative_eigenvalues_parity.py")}
    assert "theorylab/seq/linear_rnn.py" in files
    assert "theorylab/seq/hyper.py" not in files  # another paper's module in the same package
    files = {str(p.relative_to(ROOT)) for p in
             cd.code_files(ROOT / "verify" / "foster2023_ssd_full_class.py")}
    # the unlearning package's docstring shows run_benchmark in an example: not a dependency
    assert "theorylab/unlearning/ssd.py" in files
    assert "theorylab/unlearning/runner.py" not in files


def test_digest_does_not_depend_on_checkout_location(fake_pkg, tmp_path, monkeypatch):
    import shutil

    script = fake_pkg / "verify" / "demo.py"
    d1 = cd.code_digest(script)
    moved = tmp_path / "elsewhere"
    shutil.copytree(fake_pkg / "theorylab", moved / "theorylab")
    shutil.copytree(fake_pkg / "verify", moved / "verify")
    monkeypatch.setattr(cd, "_PKG", moved / "theorylab")
    assert cd.code_digest(moved / "verify" / "demo.py") == d1


def test_digest_does_not_depend_on_where_the_verify_folder_lies(fake_pkg, tmp_path_factory):
    """The scripts of another checkout (THEORYLAB_ROOT) run against the installed package:
    same scripts, same package, same digest — else every record reads as stale there."""
    import shutil

    d1 = cd.code_digest(fake_pkg / "verify" / "demo.py")
    other = tmp_path_factory.mktemp("other_checkout")  # outside the package's folder
    shutil.copytree(fake_pkg / "verify", other / "verify")
    assert cd.code_digest(other / "verify" / "demo.py") == d1


# --------------------------------------------------------------------------- records and marks

_CLAIM = '''
from theorylab.claims import Check, ClaimResult
PAPER = "demo2000_paper"
CLAIM = "two is two."
SIZES = {"smoke": {}, "full": {}}
VALUE = 2.0
def run(scale="smoke", seed=0):
    r = ClaimResult(claim="demo2000_paper_two", paper=PAPER, statement=CLAIM,
                    scale=scale, seed=seed)
    r.add(Check.close("two", VALUE, 2.0, 1e-12))
    return r
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "verify").mkdir()
    (tmp_path / "verify" / "demo2000_paper_two.py").write_text(_CLAIM)
    monkeypatch.setenv("THEORYLAB_ROOT", str(tmp_path))
    return tmp_path


def _list_line(capsys):
    from theorylab.cli import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    return next(ln for ln in out.splitlines() if ln.startswith("demo2000_paper_two")), out


def test_record_carries_digest_and_list_marks_stale_after_an_edit(project, capsys):
    rc = claims.verify_claims(["demo2000_paper_two"], scale="smoke", progress=False,
                              stream=io.StringIO())
    assert rc == 0
    rec = json.loads((project / "figures" / "demo2000_paper_two_smoke.json").read_text())
    script = project / "verify" / "demo2000_paper_two.py"
    assert rec["code_digest"] == cd.code_digest(script)
    line, _ = _list_line(capsys)
    assert " pass " in line and "pass*" not in line and "pass?" not in line

    script.write_text(script.read_text().replace("VALUE = 2.0", "VALUE = 2.0  # same value"))
    line, out = _list_line(capsys)
    assert "pass*" in line
    assert "1 stale record(s): demo2000_paper_two (smoke)" in out


def test_record_without_digest_is_untracked(project, capsys):
    claims.verify_claims(["demo2000_paper_two"], scale="smoke", progress=False,
                         stream=io.StringIO())
    p = project / "figures" / "demo2000_paper_two_smoke.json"
    rec = json.loads(p.read_text())
    del rec["code_digest"]
    p.write_text(json.dumps(rec))
    line, _ = _list_line(capsys)
    assert "pass?" in line


def test_report_and_readme_show_the_marks(project):
    from theorylab.cli import write_report

    (project / "README.md").write_text(
        "x\n<!-- claims-table:start -->\n<!-- claims-table:end -->\n")
    claims.verify_claims(["demo2000_paper_two"], scale="smoke", progress=False,
                         stream=io.StringIO())
    script = project / "verify" / "demo2000_paper_two.py"
    script.write_text(script.read_text() + "\n# edited\n")
    md, page = write_report(project / "figures")
    text = page.read_text()
    assert "pass*" in text and "stale" in text
    assert "**pass***" in (project / "README.md").read_text()
    assert "stale (code changed since they ran): demo2000_paper_two (smoke)" in md.read_text()


def test_seed_summary_carries_digest(project):
    claims.verify_claims(["demo2000_paper_two"], scale="smoke", seeds=[0, 1], progress=False,
                         stream=io.StringIO())
    s = json.loads((project / "figures" / "demo2000_paper_two_smoke_seeds.json").read_text())
    assert s["code_digest"] == cd.code_digest(project / "verify" / "demo2000_paper_two.py")


def test_record_and_report_state_the_machine_and_libraries(project):
    """Rounding in BLAS/torch kernels depends on the CPU and the library versions: a record
    says where it ran, and the report prints it beside each verdict."""
    import importlib.metadata

    from theorylab.cli import write_report

    claims.verify_claims(["demo2000_paper_two"], scale="smoke", progress=False,
                         stream=io.StringIO())
    rec = json.loads((project / "figures" / "demo2000_paper_two_smoke.json").read_text())
    env = rec["environment"]
    assert env["numpy"] == importlib.metadata.version("numpy")
    assert env["python"] and env["machine"] and env["cpu"]
    md, page = write_report(project / "figures", update_readme=False)
    assert f"Computed on: {env['cpu']}" in md.read_text()
    assert "Computed on: " in page.read_text()
    # a record from before environments were kept still renders, without the line
    del rec["environment"]
    (project / "figures" / "demo2000_paper_two_smoke.json").write_text(json.dumps(rec))
    md, _ = write_report(project / "figures", update_readme=False)
    assert "Computed on" not in md.read_text()


def test_a_cuda_record_names_its_gpu(monkeypatch):
    import torch

    from theorylab.cli import _env_text

    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Test H1")
    monkeypatch.setattr(torch.version, "cuda", "12.9")
    env = claims.environment("cuda:0")
    assert env["gpu"] == "Test H1" and env["cuda"] == "12.9"
    assert "gpu" not in claims.environment("cpu")
    with pytest.raises(TypeError, match="device_name must be a str"):
        claims.environment(0)
    assert _env_text({"environment": env}).startswith(f"Test H1 GPU, CUDA 12.9, with {env['cpu']}")
