"""docs/architecture.md cannot drift from the tree silently: every file or directory it names exists,
and its tree names every subpackage (and every top-level module) of src/autoliq.

How a name is resolved:
- in the tree (the first code block, `src/autoliq/` and below), a name is taken in the directory
  the tree places it in: the nearest line above it, less indented, that starts with `name/`;
  a file line (`bootstrap.py ...`) at an indent ends the directory above it at that indent;
- elsewhere, and for a name with a `/` the tree's directory does not hold, a name starting with
  `tests/`, `bench/`, `docs/`, `scripts/` or `src/` is taken from the repository's root, any other from
  src/autoliq; a bare `name.py` must be some module's file name under src/autoliq (the prose says
  `hub.py` after naming `api/websocket/`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "autoliq"
DOC = ROOT / "docs" / "architecture.md"
ROOTED = ("tests/", "bench/", "docs/", "src/", "scripts/")

# A file: `a/b/c.py` (or a docs page `docs/x.md`); a directory: `a/b/` followed by a space,
# a quote, a closing bracket or punctuation (so `md/*`, `I/O`, `a/b/<feature>.py` and URL paths
# such as `/_autoliq/ready` are not taken for paths).
_START = r"(?<![\w./<>*-])"
FILE = re.compile(_START + r"((?:[A-Za-z_][\w-]*/)*[A-Za-z_]\w*\.py|docs/[\w-]+\.md)(?![\w/])")
DIRECTORY = re.compile(_START + r"((?:[A-Za-z_]\w*/)+)(?=[\s`'\"),;:.]|$)")


@dataclass(frozen=True)
class Named:
    """A path the doc names: as written, the directory it is read in (None: outside the tree), line."""

    text: str
    context: Path | None
    line: int


def _tree(lines: list[str]) -> tuple[int, int]:
    """The first code block's line range (start, end), the tree."""
    start = lines.index("```") + 1
    end = lines.index("```", start)
    assert lines[start].strip() == "src/autoliq/", lines[start]
    return start, end


def names(doc: str) -> Iterator[Named]:
    """Every file and directory `doc` names, with the tree's directory for those in the tree."""
    lines = doc.splitlines()
    start, end = _tree(lines)
    stack: list[tuple[int, Path]] = [(-1, PACKAGE)]
    for number, line in enumerate(lines, 1):
        index = number - 1
        context: Path | None = None
        if start < index < end:
            indent = len(line) - len(line.lstrip())
            first = line.split()[0] if line.split() else ""
            if re.fullmatch(r"[A-Za-z_]\w*/", first) or re.fullmatch(r"[A-Za-z_]\w*\.py", first):
                while stack[-1][0] >= indent:
                    stack.pop()
                parent = stack[-1][1]
                # A directory line opens its directory; a file line keeps its parent's.
                stack.append((indent, parent / first if first.endswith("/") else parent))
                if first.endswith("/"):
                    yield Named(first, parent, number)
                    line = line[indent + len(first) :]
            else:
                while stack[-1][0] >= indent:
                    stack.pop()
            context = stack[-1][1]
        for match in FILE.finditer(line):
            yield Named(match.group(1), context, number)
        for match in DIRECTORY.finditer(line):
            yield Named(match.group(1), context, number)


def resolve(name: Named) -> Path | None:
    """Where `name` is on disk, or None when it is nowhere it may be read."""
    text = name.text
    candidates = []
    if name.context is not None:
        candidates.append(name.context / text)
    if text.startswith(ROOTED):
        candidates.append(ROOT / text)
    elif "/" in text.rstrip("/") or text.endswith("/"):
        candidates.append(PACKAGE / text)
    for candidate in candidates:
        if candidate.exists() and (candidate.is_dir() == text.endswith("/")):
            return candidate
    if name.context is None and "/" not in text and text.endswith(".py"):
        found = sorted(p for p in PACKAGE.rglob(text) if ".venv" not in p.parts)
        if found:
            return found[0]
    return None


def missing(doc: str) -> list[str]:
    """The names of `doc` found nowhere (as `line: name`)."""
    return [f"{n.line}: {n.text}" for n in names(doc) if resolve(n) is None]


def tree_paths(doc: str) -> set[Path]:
    """What the tree names, resolved."""
    lines = doc.splitlines()
    start, end = _tree(lines)
    found = set()
    for name in names(doc):
        if start < name.line - 1 < end:
            path = resolve(name)
            if path is not None:
                found.add(path)
    return found


def subpackages() -> list[Path]:
    """Every package under src/autoliq (a directory with an `__init__.py`), and every public top-level
    module (config.py, container.py, bootstrap.py)."""
    packages = [p.parent for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE]
    modules = [p for p in PACKAGE.glob("*.py") if not p.name.startswith("_")]
    return sorted(packages + modules)


def test_architecture_doc_when_read_then_every_path_it_names_exists() -> None:
    doc = DOC.read_text()
    assert len(list(names(doc))) >= 100  # the doc is read: it names paths everywhere
    assert missing(doc) == []


def test_architecture_doc_when_read_then_its_tree_names_every_subpackage() -> None:
    named = tree_paths(DOC.read_text())
    assert PACKAGE / "adapters" / "sql" in named  # nested directories are resolved
    unnamed = [str(p.relative_to(PACKAGE)) for p in subpackages() if p not in named]
    assert unnamed == []


def test_checker_when_a_path_is_wrong_then_reports_it() -> None:
    """The check can fail: a wrong path, a directory the tree misplaces, a subpackage left out."""
    doc = DOC.read_text()
    assert missing(doc.replace("adapters/sql/unit_of_work.py", "adapters/unit_of_work.py", 1)) != []
    assert doc.endswith("\n")
    assert missing(doc + "See `api/fast.py` and `tests/e2e/test_fast_path.py`.\n") == [
        f"{len(doc.splitlines()) + 1}: api/fast.py",
        f"{len(doc.splitlines()) + 1}: tests/e2e/test_fast_path.py",
    ]
    # `batch.py` placed under api/ in the tree: no api/batch.py.
    moved = doc.replace("    asgi_post.py ", "    batch.py asgi_post.py ", 1)
    assert moved != doc and "batch.py" in " ".join(missing(moved))
    # A subpackage dropped from the tree.
    dropped = doc.replace("    ports/ ", "    portz/ ", 1)
    assert dropped != doc and PACKAGE / "service" / "ports" not in tree_paths(dropped)
