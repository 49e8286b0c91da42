"""Which source files a claim's verdict depends on, and one hash of them.

A claim record (``figures/<claim>_<scale>.json``) stores ``code_digest``: a SHA-256 over
the verify script and every theorylab source file it can reach by import, found
statically (no import is executed):

- the script's own ``import theorylab.x`` / ``from theorylab.x import ...`` statements;
- a subpackage (``theorylab/convex_relu/``) counts whole — every ``.py`` file in it —
  because subpackages load their modules lazily and re-export them;
- a top-level module (``theorylab/plotting.py``) counts as its file;
- the files found are scanned the same way (absolute and relative imports), so code one
  subpackage borrows from another is included;
- sibling modules of the script in ``verify/`` that it imports are included.

The harness modules (:data:`HARNESS`: claim runner, CLI, figure capture, sweep engine,
cache keys, plotting style, the package ``__init__``) are left out on purpose: they
decide how a claim is run, cached and drawn, not what it computes, and they are tested on
their own. Were they included, every harness edit would mark all records stale.

``theorylab list`` and the report recompute the digest and mark a record whose digest
differs as *stale* (the code it ran has changed since) and one without a digest as
*untracked*. The analysis is static, so a module loaded by name at run time
(``importlib.import_module(some_string)``) is not seen; no theorylab code does that.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

__all__ = ["HARNESS", "code_files", "code_digest"]

HARNESS: frozenset[str] = frozenset({
    "__init__.py", "__main__.py", "claims.py", "cli.py", "figspec.py", "sweep.py",
    "_fingerprint.py", "_codedigest.py", "plotting.py",
})

_PKG = Path(__file__).resolve().parent


def _module_name(path: Path) -> list[str] | None:
    """``theorylab/a/b.py`` → ``['theorylab', 'a', 'b']`` (package ``__init__`` → package)."""
    try:
        rel = path.resolve().relative_to(_PKG.parent)
    except ValueError:
        return None
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return parts


_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)"
                     r"|import[ \t]+([^\n#]*))", re.M)


def _imported(path: Path, text: str) -> list[str]:
    """Dotted names of every module an import statement in ``text`` may refer to.

    A regular expression over the lines (not an AST: ten times faster, and an import
    written in a docstring only ever adds files, never drops one).
    """
    out: list[str] = []
    own = _module_name(path)
    is_pkg = path.name == "__init__.py"
    for m in _IMPORT.finditer(text):
        dots, module, names, plain = m.groups()
        if plain is not None:
            out += [n.split(" as ")[0].strip() for n in plain.split(",")]
            continue
        if dots:
            if own is None:  # a relative import outside the package: a sibling file
                base: list[str] = []
            else:
                keep = len(own) - len(dots) + (1 if is_pkg else 0)
                base = own[:max(keep, 0)]
            mod = ".".join(base + ([module] if module else []))
        else:
            mod = module
        out.append(mod)
        for n in names.strip("()").replace("\\", " ").split(","):
            n = n.split(" as ")[0].strip()
            if n and n != "*":
                out.append(f"{mod}.{n}" if mod else n)
    return out


def _imports_of(path: Path) -> tuple[str, ...]:
    try:
        st = path.stat()
    except OSError:
        return ()
    return _imports_cached(path, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=4096)
def _imports_cached(path: Path, mtime_ns: int, size: int) -> tuple[str, ...]:
    try:
        text = path.read_text()
    except (OSError, ValueError):
        return ()
    return tuple(_imported(path, text))


def _package_files(name: str) -> tuple[Path, ...]:
    """Files standing for ``theorylab.<name>``: a whole subpackage or one module."""
    sub = _PKG / name
    if sub.is_dir():
        return _subpackage_files(sub, sub.stat().st_mtime_ns)
    f = _PKG / f"{name}.py"
    if f.is_file() and f.name not in HARNESS:
        return (f,)
    return ()


@functools.lru_cache(maxsize=256)
def _subpackage_files(sub: Path, mtime_ns: int) -> tuple[Path, ...]:
    return tuple(sorted(q for q in sub.rglob("*.py") if "__pycache__" not in q.parts))


def code_files(script: str | Path) -> list[Path]:
    """The files whose content decides what ``script`` computes (see the module docstring)."""
    script = Path(script).resolve()
    found: dict[Path, None] = {script: None}
    queue = [script]
    while queue:
        p = queue.pop()
        new: list[Path] = []
        for name in _imports_of(p):
            parts = name.split(".")
            if parts[0] == "theorylab" and len(parts) >= 2:
                new += _package_files(parts[1])
            elif p == script and len(parts) == 1 and (script.parent / f"{parts[0]}.py").is_file():
                new.append((script.parent / f"{parts[0]}.py").resolve())  # a helper next to it
        for q in new:
            if q not in found:
                found[q] = None
                queue.append(q)
    return sorted(found, key=lambda q: (q != script, str(q)))


def _label(p: Path, script: Path) -> str:
    try:
        return str(p.relative_to(_PKG.parent))
    except ValueError:
        return p.name if p == script else str(p.relative_to(script.parent))


def code_digest(script: str | Path) -> str:
    """SHA-256 (hex) over the names and contents of :func:`code_files` of ``script``.

    File names are taken relative to the package (the script by its own name), so the
    digest does not depend on where the checkout lives.
    """
    script = Path(script).resolve()
    h = hashlib.sha256()
    for p in code_files(script):
        h.update(_label(p, script).encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()
