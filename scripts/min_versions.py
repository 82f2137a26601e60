"""The minimum-versions job: a new virtual environment with every runtime dependency at the lower
bound pyproject.toml declares (`name>=X` installed as `name==X`), the test tools at their pinned
versions, then the unit and property tests. Run by .ci/run after the suite; by hand:

    python3 scripts/min_versions.py [--keep DIR]

Exit status: pytest's. `tests/unit/test_layering.py` is left out: import-linter needs a newer Rich
than autoliq's lower bound, and the layering does not depend on versions."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOLS = ("pytest", "pytest-xdist", "hypothesis", "jsonschema", "mypy", "pandas_market_calendars")


def minimums(project: dict[str, object]) -> list[str]:
    """`name[extras]==X` for each runtime requirement `name[extras]>=X` (the SDK's and the server's)."""
    reqs = list(project["dependencies"]) + list(project["optional-dependencies"]["server"])  # type: ignore[index, call-overload]
    out = []
    for req in reqs:
        found = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?>=([0-9][0-9.]*)", req)
        if found is None:
            raise SystemExit(f"min_versions: {req!r} has no lower bound (name>=X)")
        out.append(f"{found.group(1)}{found.group(2) or ''}=={found.group(3)}")
    return out


def pinned_tools(project: dict[str, object]) -> list[str]:
    """The dev extra's pins of the test tools the unit and property tests need."""
    dev = project["optional-dependencies"]["dev"]  # type: ignore[index]
    return [r for r in dev if r.split("==")[0].lower() in TOOLS]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", type=Path, help="make the environment here and keep it")
    args = parser.parse_args()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lows, tools = minimums(project), pinned_tools(project)
    print("min_versions:", " ".join(lows), flush=True)
    with tempfile.TemporaryDirectory(prefix="autoliq-min-") as scratch:
        venv = args.keep or Path(scratch) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        constraints = Path(scratch) / "constraints.txt"
        constraints.write_text("\n".join(re.sub(r"\[[^\]]*\]", "", r) for r in lows) + "\n")
        subprocess.run([*pip, *lows], check=True)
        # The tools may not move a runtime package off its minimum.
        subprocess.run([*pip, "-c", str(constraints), *tools], check=True)
        subprocess.run([*pip, "--no-deps", "-e", str(REPO)], check=True)
        done = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pytest", "tests/unit", "tests/property", "-n", "2", "-q",
             "-p", "no:cacheprovider", "--ignore", "tests/unit/test_layering.py"],
            cwd=REPO, check=False,
        )  # fmt: skip
        return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
