"""The distribution as a user installs it: `pip wheel .` from the checkout builds without a
setuptools deprecation warning, under the SPDX license Apache-2.0 with its LICENSE and NOTICE, at
the one version autoliq declares, with the risk desk's files; `autoliq --version` says that version."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autoliq import __version__
from autoliq.cli.main import app

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_when_built_from_the_checkout_then_no_deprecation_and_license_version_and_files(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    warned = [line for line in output.splitlines() if "Deprecat" in line or "deprecated" in line]
    assert warned == [], warned
    (wheel,) = tmp_path.glob("autoliq-*.whl")
    with zipfile.ZipFile(wheel) as built:
        names = built.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(built.read(metadata).decode())
    assert meta["Version"] == __version__
    assert meta["License-Expression"] == "Apache-2.0"
    assert sorted(meta.get_all("License-File") or []) == ["LICENSE", "NOTICE"]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    requires = meta.get_all("Requires-Dist") or []
    assert "websockets>=15" in requires and "httpx>=0.27" in requires
    assert any(r.startswith("litestar") and 'extra == "server"' in r for r in requires), requires
    for packaged in ("autoliq/desk/index.html", "autoliq/desk/js/app.js", "autoliq/desk/desk.css"):
        assert packaged in names


def test_version_when_asked_then_the_one_declared() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"autoliq {__version__}\n"


def test_changelog_when_read_then_its_newest_release_is_the_declared_version() -> None:
    """CHANGELOG.md: "Unreleased" first, then the releases newest first, each `## X.Y.Z (YYYY-MM-DD)`
    (the first `## 0.1.0` has no date); the newest is `autoliq.__version__`."""
    headings = re.findall(r"^## (.+)$", (REPO / "CHANGELOG.md").read_text(), re.M)
    assert headings[0] == "Unreleased", headings
    releases = [re.fullmatch(r"(\d+\.\d+\.\d+)(?: \((\d{4}-\d\d-\d\d)\))?", h) for h in headings[1:]]
    assert all(releases), headings
    versions = [tuple(map(int, r.group(1).split("."))) for r in releases if r is not None]
    assert versions == sorted(versions, reverse=True), headings
    assert releases[0] is not None and releases[0].group(1) == __version__
