"""The drawing of the imports runs one way: import-linter's contracts (pyproject's [tool.importlinter])
hold, the domain imports the standard library only, and no two autoliq modules import each other,
however long the way round.

The cycle check is grimp's graph (import-linter's own), every import of a module counted, those
inside functions too (a deferred import still makes each module need the other), except the ones
under `if TYPE_CHECKING:`: they never run, so they cannot leave a module half-initialised, and a
result that names its error type while the error names the result is one concept in two files.
(The layering contracts, on the contrary, count them: a type is knowledge of the module it is from.)
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def strongly_connected(
    modules: Iterable[str], imported_by: Callable[[str], Iterable[str]]
) -> list[list[str]]:
    """The import cycles among `modules`: each strongly connected component of more than one module
    (or of one importing itself), sorted (Tarjan's algorithm, iterative: no recursion limit)."""
    nodes = sorted(set(modules))
    inside = set(nodes)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    work: list[tuple[str, list[str]]] = []  # the depth-first path: each node with its targets to visit

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        work.append((node, sorted(m for m in imported_by(node) if m in inside)))

    for root in nodes:
        if root in index:
            continue
        visit(root)
        while work:
            node, targets = work[-1]
            if targets:
                target = targets.pop()
                if target not in index:
                    visit(target)
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in set(imported_by(node)):
                    cycles.append(sorted(component))
    return sorted(cycles)


def test_import_linter_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = result.stdout + result.stderr
    assert "Contracts:" in report, report  # the contracts were read and checked
    assert result.returncode == 0, "broken import contracts:\n" + report[report.find("Contracts:") :]


def test_no_import_cycle_between_autoliq_modules() -> None:
    graph = grimp.build_graph("autoliq", exclude_type_checking_imports=True, cache_dir=None)
    assert len(graph.modules) > 100  # the whole package was read
    cycles = strongly_connected(graph.modules, graph.find_modules_directly_imported_by)
    shown = "\n".join(
        " <-> ".join(cycle)
        + "".join(
            f"\n    {importer} -> {imported}"
            for importer in cycle
            for imported in sorted(graph.find_modules_directly_imported_by(importer))
            if imported in cycle
        )
        for cycle in cycles
    )
    assert cycles == [], f"import cycles between autoliq modules:\n{shown}"


def test_the_domain_imports_the_standard_library_only() -> None:
    # import-linter forbids the third-party packages autoliq depends on; this catches a new one too.
    graph = grimp.build_graph("autoliq", include_external_packages=True, cache_dir=None)
    domain = graph.find_descendants("autoliq.domain") | {"autoliq.domain"}
    foreign = sorted(
        f"{module} -> {imported}"
        for module in domain
        for imported in graph.find_modules_directly_imported_by(module)
        if not imported.startswith("autoliq.") and imported.split(".")[0] not in sys.stdlib_module_names
    )
    assert len(domain) > 10
    assert foreign == []


def test_the_cycle_finder_finds_cycles() -> None:
    # The check above would pass vacuously if this found nothing: a chain, a loop of three, a self-import.
    edges = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e"], "f": ["d"]}
    assert strongly_connected(edges, lambda module: edges[module]) == [["a", "b", "c"], ["e"]]
    assert strongly_connected({"x": ["y"], "y": []}, lambda module: {"x": ["y"], "y": []}[module]) == []
