"""requirements/dev.txt (the lock .ci/run installs, with hashes) satisfies pyproject.toml: every
requirement of the SDK, the server and the dev tools has a pinned version there that its specifier
admits, and every pin carries a hash."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def _locked() -> dict[str, tuple[str, bool]]:
    """name -> (version, whether hashes follow)."""
    text = (ROOT / "requirements" / "dev.txt").read_text()
    found: dict[str, tuple[str, bool]] = {}
    for match in re.finditer(
        r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)(\s*\\\n(?:\s+--hash=sha256:[0-9a-f]{64}\s*\\?\n?)+)?", text, re.M
    ):
        found[canonicalize_name(match.group(1))] = (match.group(2), bool(match.group(3)))
    return found


def test_lock_file_when_read_then_it_pins_every_requirement_within_its_specifier_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = [*project["dependencies"], *extras["server"], *extras["dev"]]
    locked = _locked()
    assert len(locked) > 50, "requirements/dev.txt pins too few packages"
    for raw in wanted:
        requirement = Requirement(raw)
        if requirement.name == "autoliq":  # the [server] extra of the dev extra: this project itself
            continue
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in requirements/dev.txt: refresh the lock"
        version, hashed = locked[name]
        assert requirement.specifier.contains(version, prereleases=True), (raw, version)
        assert hashed, f"{name}=={version} has no hash"
    assert all(hashed for _, hashed in locked.values())
