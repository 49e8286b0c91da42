"""The README's Python examples run, and print what the README shows.

Every fenced ```python block of README.md is a doctest; the blocks run in order in one
namespace (a later block may use a name from an earlier one), and each ``>>>`` line's output is
compared with the README's text (ELLIPSIS and NORMALIZE_WHITESPACE).
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, body) of every ```python block."""
    blocks = []
    for m in re.finditer(r"^```python[ \t]*\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
        blocks.append((text.count("\n", 0, m.start(1)), m.group(1)))
    return blocks


def run_blocks(text: str, name: str = "README.md") -> doctest.TestResults:
    """Run every python block of ``text`` as one doctest; failures are reported with line
    numbers of ``text``."""
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    globs: dict = {"__name__": "__readme__"}
    for lineno, body in python_blocks(text):
        test = parser.get_doctest(body, globs, name, name, lineno)
        runner.run(test, clear_globs=False)
        globs = test.globs
    return runner.summarize(verbose=False)


def test_readme_has_examples():
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 2
    assert all(">>>" in body for _, body in blocks), "every python block must be a doctest"


def test_runner_catches_a_wrong_output():
    text = "```python\n>>> x = 1 + 1\n>>> x\n3\n```\n"
    assert run_blocks(text).failed == 1


def test_runner_shares_names_between_blocks():
    text = "```python\n>>> y = 41\n```\ntext\n```python\n>>> y + 1\n42\n```\n"
    res = run_blocks(text)
    assert (res.failed, res.attempted) == (0, 2)


def test_readme_examples():
    # warnings are errors here too: an example that warns must catch and show the warning
    res = run_blocks(README.read_text(encoding="utf-8"))
    assert res.attempted > 0
    assert res.failed == 0, f"{res.failed} of {res.attempted} README examples failed (see above)"
