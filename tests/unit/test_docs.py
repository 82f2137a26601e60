"""Documentation drift: every route, setting and command is documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from typer.main import get_command
from typer.testing import CliRunner

from autoliq.api.app import CONTROLLERS
from autoliq.cli.main import app as cli_app
from autoliq.config import Settings
from tests.contract import SERVED_BEYOND_OPENAPI

ROOT = Path(__file__).resolve().parents[2]


def _routes() -> set[str]:
    paths = set()
    for controller in CONTROLLERS:
        for value in vars(controller).values():
            for handler_path in getattr(value, "paths", ()):
                paths.add(controller.path + handler_path)
    return paths


def test_api_doc_when_read_then_names_every_route() -> None:
    doc = (ROOT / "docs" / "api.md").read_text()
    routes = _routes()
    assert len(routes) >= 20
    missing = sorted(p for p in routes if p not in doc)
    assert missing == []


def test_readme_when_read_then_names_every_setting_and_serve_option() -> None:
    readme = (ROOT / "README.md").read_text()
    for field in dataclasses.fields(Settings):
        if field.name in ("admin_password", "trader_password", "websocket", "metrics_token_sha256"):
            continue  # secrets, and the sockets' settings: their variables are checked below
        assert f"AUTOLIQ_{field.name.upper()}" in readme, field.name
    # Every variable the settings read (the WebSocket's AUTOLIQ_WS_* included)
    read = set(re.findall(r'"(AUTOLIQ_[A-Z_]+)"', (ROOT / "src" / "autoliq" / "config.py").read_text()))
    assert {"AUTOLIQ_WS_HEARTBEAT_SECONDS", "AUTOLIQ_WS_SEND_QUEUE_BYTES", "AUTOLIQ_PORT"} <= read
    assert sorted(name for name in read if name not in readme) == []
    for secret in ("AUTOLIQ_ADMIN_PASSWORD", "AUTOLIQ_TRADER_PASSWORD", "AUTOLIQ_METRICS_TOKEN"):
        assert secret in read and secret in readme, secret
    serve = get_command(cli_app).commands["serve"]  # type: ignore[attr-defined]
    for param in serve.params:
        assert f"--{param.name.replace('_', '-')}" in readme, param.name


def test_readme_when_read_then_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv")]
    assert commands[0].endswith("autoliq serve")
    assert commands[1].endswith("python -m pytest -n 2")  # two processes: pytest-xdist, a dev dependency
    assert readme.index(commands[0]) < readme.index("---")
    assert "grep -m1 -E '^python3 -m venv .*pytest' README.md" in (ROOT / ".ci" / "run").read_text()


def test_readme_when_read_then_documents_every_cli_command() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in get_command(cli_app).commands:  # type: ignore[attr-defined]
        assert f"autoliq {name}" in readme, name


def _operator_commands() -> dict[str, Any]:
    """`autoliq accounts <name>`, `autoliq log`, `autoliq watch` with their click commands."""
    root = get_command(cli_app).commands  # type: ignore[attr-defined]
    commands = {f"autoliq accounts {name}": c for name, c in root["accounts"].commands.items()}
    commands.update({"autoliq log": root["log"], "autoliq watch": root["watch"]})
    commands.update({f"autoliq limits {name}": c for name, c in root["limits"].commands.items()})
    return commands


def test_cli_doc_when_read_then_names_every_operator_command_and_each_of_its_options() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text()
    commands = _operator_commands()
    assert {"autoliq accounts lock", "autoliq accounts unlock", "autoliq accounts status"} <= set(commands)
    missing = []
    for name, command in commands.items():
        if name not in doc:
            missing.append(name)
        for param in command.params:
            for opt in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]:
                if opt.startswith("--") and opt != "--help" and f"`{opt}" not in doc:
                    missing.append(f"{name} {opt}")
            envvar = getattr(param, "envvar", None)
            if isinstance(envvar, str) and envvar not in doc:
                missing.append(f"{name} {envvar}")
    assert missing == []


def test_readme_when_read_then_has_an_operator_cli_section_linking_docs_cli() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "## Operator CLI" in readme
    assert "(docs/cli.md)" in readme


def test_api_doc_when_read_then_fields_beyond_the_openapi_table_is_the_contract_allow_list() -> None:
    doc = (ROOT / "docs" / "api.md").read_text()
    section = doc.split("## Fields served beyond the OpenAPI", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| .+ \|$", section, flags=re.MULTILINE)
    allowed = [(entity, field) for entity, fields in SERVED_BEYOND_OPENAPI.items() for field in fields]
    assert sorted(rows) == sorted(allowed)
    assert len(rows) == len(set(rows))


def test_deploy_doc_when_read_then_its_readiness_examples_name_the_code_s_migration_head() -> None:
    """The revisions deploy.md shows in `/_autoliq/ready` answers are the ones the server says."""
    from tests.helpers import HEAD_REVISION

    deploy = (ROOT / "docs" / "deploy.md").read_text()
    shown = set(re.findall(r'"migrations": "([0-9a-z_]+)(?: != ([0-9a-z_]+))?"', deploy))
    assert shown, "deploy.md shows no readiness answer"
    revisions = {r for pair in shown for r in pair if r}
    assert HEAD_REVISION in revisions
    versions = ROOT / "src" / "autoliq" / "adapters" / "sql" / "migrations" / "versions"
    known = {path.stem for path in versions.glob("0*.py")}
    assert revisions <= known, revisions - known


def test_docs_when_read_then_no_table_is_split_by_a_blank_line() -> None:
    """A Markdown table ends at a blank line: rows after it render as a paragraph of pipes."""
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines = path.read_text().splitlines()
        for n in range(1, len(lines) - 1):
            before, blank, after = lines[n - 1], lines[n], lines[n + 1]
            if blank.strip() == "" and before.startswith("|") and after.startswith("|"):
                header_follows = n + 2 < len(lines) and lines[n + 2].startswith("|---")
                assert header_follows, f"{path.name}:{n + 1}: a table split by a blank line"


def _every_command_path(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [path]
    for name, sub in getattr(command, "commands", {}).items():
        paths += _every_command_path(sub, (*path, name))
    return paths


def test_cli_help_when_every_page_is_shown_then_types_read_as_click_words_and_flags_show_none() -> None:
    """Typer 0.29 labels types `<str>`, `<list[str]>`, `<bool>` (a flag's) unless the CLI's own
    classes (autoliq.cli.help) say otherwise: every help page, the root's included, is checked."""
    runner = CliRunner()
    paths = _every_command_path(get_command(cli_app))
    assert len(paths) > 20, paths
    python_labels = re.compile(r"<(str|int|float|bool|list\[|int range|float range|path)")
    for path in paths:
        result = runner.invoke(cli_app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        assert python_labels.search(result.output) is None, (path, result.output)
        assert "--help" in result.output, path
    lock = runner.invoke(cli_app, ["accounts", "lock", "--help"], env={"COLUMNS": "200"}).output
    assert re.search(r"--name-like\s+TEXT\s", lock), lock
    assert re.search(r"--file\s+FILE\s", lock), lock
    assert re.search(r"--rate\s+FLOAT( RANGE)? \[x>=0\]", lock), lock  # Typer 0.16: Click's "FLOAT RANGE"
    assert re.search(r"--all\s+Every account", lock), lock  # a flag: no type between
