"""Documentation hygiene: what a user reads must stand on its own.

Every tracked Markdown or Python file a reader meets (README, CONTRIBUTING, the paper notes, the
verify scripts, the benchmarks and the package source) must not lean on material outside the
repository — project-internal planning words ("the brief", "issue 5", "lead's check") or paths to
folders a reader does not have. Every relative link in the Markdown files must resolve to a file
or folder in the repository.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Folders and top-level files a reader meets; figures/ is generated output, tests/ is internal.
READ_ROOTS = ("README.md", "CONTRIBUTING.md", "paper_notes", "verify", "benchmarks", "theorylab")

# Each pattern names material outside the repository. Case-insensitive.
INTERNAL = {
    "planning brief": r"\bbrief(?:'s|s)?\b(?! (?:description|summary|note|overview|look))",
    "issue number": (r"\bissues? #?\d|\(issue\)|\bthe issue's|\b(?:of|in) the issue\b"
                     r"|^\s*issue target"),
    "lead engineer": r"\blead(?:'s| engineer)",
    "outside conventions file": r"CONVENTIONS\.md",
    "outside shared folder": r"(?<![\w.])shared/",
    "outside papers folder": r"(?<![\w./])papers/",
    "machine-local path": r"(?<![\w.])/(?:work|home|tmp)/",
}
_INTERNAL_RE = {name: re.compile(p, re.IGNORECASE) for name, p in INTERNAL.items()}

_LINK_RE = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")


def _tracked(suffixes: tuple[str, ...]) -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode()
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: walk the tree
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
    files = []
    for name in names:
        top = name.split("/", 1)[0]
        if top in READ_ROOTS and name.endswith(suffixes) and (ROOT / name).is_file():
            files.append(ROOT / name)
    return sorted(files)


def internal_word_hits(text: str) -> list[tuple[int, str, str]]:
    """(line number, pattern name, line) for every internal word in ``text``."""
    hits = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for name, rx in _INTERNAL_RE.items():
            if rx.search(line):
                hits.append((lineno, name, line.strip()))
    return hits


def broken_links(md: Path) -> list[str]:
    """Relative link targets in ``md`` that do not exist in the repository."""
    bad = []
    text = md.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)  # links inside code blocks are code
    for m in _LINK_RE.finditer(text):
        target = m.group(1) or m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
            continue  # absolute URL (http:, mailto:) or an anchor in the same file
        path = target.split("#", 1)[0]
        if not path:
            continue
        if not (md.parent / path).exists():
            bad.append(target)
    return bad


def test_the_patterns_catch_internal_words():
    text = ("Target (brief): 20 ms.\nAs the brief's plan says.\nSee issue 9.\n"
            "The lead's check.\nAs in the issue's design (issue).\nSee CONVENTIONS.md.\n"
            "In /work/shared/papers/x.md.\n"
            "In papers/x.md.\n")
    names = [name for _, name, _ in internal_word_hits(text)]
    assert names.count("planning brief") == 2
    assert names.count("issue number") == 2
    for name in INTERNAL:
        assert name in names, name


def test_the_patterns_leave_ordinary_words():
    text = ("A brief description of the solver.\nLeading order, misleading, leads to.\n"
            "theorylab/sketch/_kernels.py\nThe lead term of the expansion.\n"
            "The eig/outlier-root issues of the reference code.\n")
    assert internal_word_hits(text) == []


def test_link_checker_finds_a_missing_target(tmp_path):
    md = tmp_path / "a.md"
    (tmp_path / "b.md").write_text("x", encoding="utf-8")
    md.write_text("[ok](b.md) [anchor](#x) [web](https://example.org) [gone](c.md#y)\n"
                  "```\n[in code](nowhere.md)\n```\n", encoding="utf-8")
    assert broken_links(md) == ["c.md#y"]


@pytest.mark.parametrize("path", _tracked((".md", ".py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_internal_words(path):
    hits = internal_word_hits(path.read_text(encoding="utf-8"))
    assert not hits, "\n".join(f"{path.relative_to(ROOT)}:{n}: [{k}] {line}"
                               for n, k, line in hits)


@pytest.mark.parametrize("path", _tracked((".md",)), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    bad = broken_links(path)
    assert not bad, f"{path.relative_to(ROOT)}: missing link targets {bad}"


def test_contributing_exists_and_readme_points_to_it():
    assert (ROOT / "CONTRIBUTING.md").is_file()
    assert "CONTRIBUTING.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def _constants(path: Path) -> dict[str, object]:
    import ast

    out: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


@pytest.mark.parametrize("path", sorted((ROOT / "verify").glob("[!_]*.py")), ids=lambda p: p.stem)
def test_verdict_labels_are_well_formed(path):
    """LABEL is "stand-in" or "partial", read without importing the script, and always comes with
    a short LABEL_REASON; the paper note lists it."""
    c = _constants(path)
    assert isinstance(c.get("CLAIM"), str) and c["CLAIM"], "CLAIM must be a string literal"
    if "STANDIN_NOTE" in path.read_text(encoding="utf-8"):  # runs theorylab's stand-in solver
        assert c.get("LABEL") == "stand-in", "a check on a stand-in solver must say so"
    if "empirical" in c["CLAIM"].lower():  # a theorem checked only numerically
        assert "LABEL" in c, "an empirical-only check of a theorem needs a label"
    if "LABEL" not in c:
        assert "LABEL_REASON" not in c, "LABEL_REASON without LABEL"
        return
    assert c["LABEL"] in ("stand-in", "partial"), c["LABEL"]
    reason = c.get("LABEL_REASON")
    assert isinstance(reason, str) and 0 < len(reason) <= 100 and "\n" not in reason, reason
    note = ROOT / "paper_notes" / f"{c['PAPER']}.md"
    assert f"`{path.stem}`: **{c['LABEL']}**" in note.read_text(encoding="utf-8"), (
        f"{note.name} does not list the {c['LABEL']} label of {path.stem}")
