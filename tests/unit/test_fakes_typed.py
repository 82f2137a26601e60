"""The fakes of tests/fakes.py type-check strictly against the service ports they stand in for (a
method missing or with another signature fails here, not only when a service test calls it)."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]


def test_fakes_when_type_checked_strictly_then_they_implement_the_ports(tmp_path: Path) -> None:
    stdout, stderr, status = api.run(
        [
            "--strict",
            "--config-file", str(ROOT / "pyproject.toml"),
            "--cache-dir", str(tmp_path / "mypy-cache"),
            str(ROOT / "tests" / "fakes.py"),
        ]
    )  # fmt: skip
    assert status == 0, stdout + stderr
