"""Which source files a claim's verdict depends on, and one hash of them.

A claim record (``figures/<claim>_<scale>.json``) stores ``code_digest``: a SHA-256 over
the verify script and every theorylab source file it can reach by import, found
statically (no import is executed):

- the script's own ``import theorylab.x`` / ``from theorylab.x import ...`` statements;
- module-level, not package-level: ``from theorylab.unlearning.metrics import klom``
  reaches ``unlearning/metrics.py`` (and the package's ``__init__.py``); a name a package
  resolves lazily (``from theorylab.nn import LoRALinear``, through the package's
  ``"name": "module"`` map) reaches the module that defines it; a module of a package
  added for another claim therefore leaves this claim's digest alone;
- a package imported as such (``import theorylab.sub``, ``from theorylab import sub``)
  counts whole — every ``.py`` file in it — since which of its names are used is not known;
- a top-level module (``theorylab/_result.py``) counts as its file;
- the files found are scanned the same way (absolute and relative imports), so code one
  module borrows from another, in any package, is included;
- sibling modules of the script in ``verify/`` that it imports are included;
- a package ``__init__.py`` is digested without its comments, docstring and lazy-map
  entries (each entry is digested as the file it points to), so growing a package's
  name map does not mark other claims stale.

The harness modules (:data:`HARNESS`: claim runner, CLI, figure capture, sweep engine,
cache keys, plotting style, the package ``__init__``) are left out on purpose: they
decide how a claim is run, cached and drawn, not what it computes, and they are tested on
their own. Were they included, every harness edit would mark all records stale.

``theorylab list`` and the report recompute the digest and mark a record whose digest
differs as *stale* (the code it ran has changed since) and one without a digest as
*untracked*. The analysis is static, so a module loaded by name at run time
(``importlib.import_module(some_string)``) is not seen; theorylab code does that only in
the packages' ``__getattr__``, whose maps are read as described above.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import io
import re
import tokenize
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


def _imported(path: Path, text: str) -> list[tuple[str, bool]]:
    """Dotted names of every module an import statement in ``text`` may refer to.

    A regular expression over the lines (docstrings are blanked first, see
    :func:`_without_docstrings`); an import inside a function or under ``if`` counts too.
    """
    out: list[tuple[str, bool]] = []  # (dotted name, is the module of a from-import)
    own = _module_name(path)
    is_pkg = path.name == "__init__.py"
    for m in _IMPORT.finditer(text):
        dots, module, names, plain = m.groups()
        if plain is not None:
            out += [(n.split(" as ")[0].strip(), False) for n in plain.split(",")]
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
        out.append((mod, True))
        for n in names.strip("()").replace("\\", " ").split(","):
            n = n.split(" as ")[0].strip()
            if n and n != "*":
                out.append((f"{mod}.{n}" if mod else n, False))
    return out


def _imports_of(path: Path) -> tuple[tuple[str, bool], ...]:
    try:
        st = path.stat()
    except OSError:
        return ()
    return _imports_cached(path, st.st_mtime_ns, st.st_size)


def _without_docstrings(text: str) -> str:
    """``text`` with the lines of every module, class and function docstring blanked: an
    example import in a docstring (``from theorylab.x import y`` in a usage example) runs
    nothing and must not make the claim depend on ``x``. Unparseable text is kept whole."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return text
    lines = text.splitlines()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                for i in range(body[0].lineno - 1, body[0].end_lineno):
                    lines[i] = ""
    return "\n".join(lines)


@functools.lru_cache(maxsize=4096)
def _imports_cached(path: Path, mtime_ns: int, size: int) -> tuple[tuple[str, bool], ...]:
    try:
        text = path.read_text()
    except (OSError, ValueError):
        return ()
    return tuple(_imported(path, _without_docstrings(text)))


def _lazy_map(init: Path) -> dict[str, str]:
    """``{"name": "module"}`` entries of a lazily-loading package ``__init__``."""
    st = init.stat()
    return dict(_lazy_cached(init, st.st_mtime_ns, st.st_size))


_LAZY_ENTRY = re.compile(r"""["'](\w+)["']\s*:\s*["']([\w.]+)["']""")


@functools.lru_cache(maxsize=256)
def _lazy_cached(init: Path, mtime_ns: int, size: int) -> tuple[tuple[str, str], ...]:
    try:
        return tuple(_LAZY_ENTRY.findall(init.read_text()))
    except (OSError, ValueError):
        return ()


@functools.lru_cache(maxsize=256)
def _subpackage_files(sub: Path, mtime_ns: int) -> tuple[Path, ...]:
    return tuple(sorted(q for q in sub.rglob("*.py") if "__pycache__" not in q.parts))


def _all_files(sub: Path) -> tuple[Path, ...]:
    return _subpackage_files(sub, sub.stat().st_mtime_ns)


def _resolve(parts: list[str], as_base: bool) -> list[Path]:
    """Files standing for the dotted name ``theorylab.<parts[1:]>``.

    Walking down the name: each package passed contributes its ``__init__.py``; a module
    file ends the walk (what follows are names inside it); a name a package resolves
    lazily (its ``"name": "module"`` map) contributes that module's file. A name ending
    on a package that is imported as such (``import theorylab.sub``, ``from theorylab
    import sub``) counts the whole package: which of its names get used is not known.
    ``as_base`` marks the module of a ``from ... import names`` statement, whose names
    are resolved one by one instead.
    """
    files: list[Path] = []
    cur = _PKG
    for depth, name in enumerate(parts[1:]):
        d = cur / name
        if d.is_dir() and (d / "__init__.py").is_file():
            files.append(d / "__init__.py")
            cur = d
            continue
        f = cur / f"{name}.py"
        if f.is_file():
            if not (depth == 0 and f.name in HARNESS):
                files.append(f)
            return files
        if cur != _PKG:
            mod = _lazy_map(cur / "__init__.py").get(name)
            if mod:
                files += _resolve(_module_name(cur / "__init__.py") + mod.split("."), True)
        return files
    if cur != _PKG and not as_base:
        files += _all_files(cur)
    return files


def code_files(script: str | Path) -> list[Path]:
    """The files whose content decides what ``script`` computes (see the module docstring)."""
    script = Path(script).resolve()
    found: dict[Path, None] = {script: None}
    queue = [script]
    while queue:
        p = queue.pop()
        new: list[Path] = []
        for name, as_base in _imports_of(p):
            parts = name.split(".")
            if parts[0] == "theorylab" and len(parts) >= 2:
                new += _resolve(parts, as_base)
            elif p == script and len(parts) == 1 and (script.parent / f"{parts[0]}.py").is_file():
                new.append((script.parent / f"{parts[0]}.py").resolve())  # a helper next to it
        for q in new:
            q = q.resolve()
            if q not in found:
                found[q] = None
                queue.append(q)
    return sorted(found, key=lambda q: (q != script, str(q)))


def _normalised_init(path: Path) -> bytes:
    """A package ``__init__`` without comments, docstrings and ``"name": "module"`` entries.

    Such a file is mostly a lazy name map that grows with every new module; what an
    entry points to is digested through the module file it resolves to (see
    :func:`_resolve`), so adding another module's names does not touch this claim.
    """
    out: list[str] = []
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(path.read_text()).readline))
    except (tokenize.TokenError, SyntaxError, OSError, ValueError):
        return path.read_bytes()
    skip = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER)
    for tok in toks:
        if tok.type in skip:
            if tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                out.append(tokenize.tok_name[tok.type])
            continue
        if tok.type == tokenize.STRING and not out:
            continue  # the module docstring
        out.append(tok.string)
    text = " ".join(out)
    text = re.sub(r"""(["'])\w+\1 : (["'])[\w.]+\2 ,?""", "", text)
    # a call that only registered entries (``_register({...})``) is now empty: drop it too
    text = re.sub(r"(?:^|(?<=NEWLINE )|(?<=INDENT )|(?<=DEDENT ))\w+ \( \{ \} \) NEWLINE", "",
                  " ".join(text.split()))
    return " ".join(text.split()).encode()


def _label(p: Path, script: Path) -> str:
    """A file's name in the digest: relative to the package's parent, and for the script and
    its neighbours ``<script folder>/<name>`` — the same label whether the verify folder lies
    beside the imported package (a checkout) or elsewhere (``THEORYLAB_ROOT`` pointing at
    another checkout of the same scripts)."""
    try:
        return str(p.relative_to(_PKG.parent))
    except ValueError:
        return str(p.relative_to(script.parent.parent))


def code_digest(script: str | Path) -> str:
    """SHA-256 (hex) over the names and contents of :func:`code_files` of ``script``.

    File names are taken relative to the package (the script by its own name), so the
    digest does not depend on where the checkout lives.
    """
    script = Path(script).resolve()
    h = hashlib.sha256()
    # ordered by label, not by absolute path: where the checkout lies must not matter
    for label, p in sorted(((_label(p, script), p) for p in code_files(script)),
                           key=lambda lp: (lp[1] != script, lp[0])):
        h.update(label.encode() + b"\0")
        body = _normalised_init(p) if p.name == "__init__.py" and p != script else p.read_bytes()
        h.update(body + b"\0")
    return h.hexdigest()
