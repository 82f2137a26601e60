"""The risk engine owns the loop fill -> evaluate -> liquidate: execution never calls back into it.

This reads execution.py's own imports; an indirect one (through a module that imports the engine) is
caught by pyproject's import-linter contract "execution-below-risk-engine" (tests/unit/test_layering.py
runs lint-imports)."""

from __future__ import annotations

import ast
from pathlib import Path

import autoliq.service.execution as execution

FORBIDDEN = {"autoliq.service.risk_engine", "autoliq.service.market", "autoliq.service.orders"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_execution_when_imports_read_then_risk_engine_not_among_them() -> None:
    imported = _imports(Path(execution.__file__))
    assert "autoliq.service.ports" in imported  # the check reads real imports
    assert not imported & FORBIDDEN, imported & FORBIDDEN
