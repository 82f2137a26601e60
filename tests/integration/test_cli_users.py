"""`autoliq users set-password USER`: the operator's way to change a stored password (SQLite and
PostgreSQL), and the check `serve` makes of passwords supplied for a database seeded before."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from autoliq.bootstrap import stored_password_matches
from autoliq.cli.main import app
from tests.conftest import ADMIN_PW, OTHER_ADMIN_PW, TRADER_PW, World

runner = CliRunner()
NEW_PW = "a-new-admin-password"


def set_password(monkeypatch: pytest.MonkeyPatch, *args: str, env: str | None, stdin: str = "") -> Result:
    monkeypatch.delenv("AUTOLIQ_DATABASE_URL", raising=False)
    if env is None:
        monkeypatch.delenv("AUTOLIQ_NEW_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("AUTOLIQ_NEW_PASSWORD", env)
    return runner.invoke(app, ["users", "set-password", *args], input=stdin)


def test_set_password_when_from_the_variable_then_only_that_user_changes_and_nothing_printed_of_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = set_password(monkeypatch, "admin", "--database-url", world.database_url, env=NEW_PW)

    assert result.exit_code == 0, result.output
    assert result.output.startswith("password of 'admin' changed in ")
    assert NEW_PW not in result.output
    assert stored_password_matches(world.database_url, "admin", NEW_PW) is True
    assert stored_password_matches(world.database_url, "admin", ADMIN_PW) is False
    assert stored_password_matches(world.database_url, "trader", TRADER_PW) is True
    assert stored_password_matches(world.database_url, "other-admin", OTHER_ADMIN_PW) is True


def test_set_password_when_from_a_file_then_its_content(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "new-password"
    secret.write_text(NEW_PW + "\n")
    monkeypatch.setenv("AUTOLIQ_NEW_PASSWORD_FILE", str(secret))
    result = set_password(monkeypatch, "admin", "--database-url", world.database_url, env=None)

    assert result.exit_code == 0, result.output
    assert stored_password_matches(world.database_url, "admin", NEW_PW) is True
    monkeypatch.setenv("AUTOLIQ_NEW_PASSWORD", "another-password-2")
    both = set_password(monkeypatch, "admin", "--database-url", world.database_url, env="another-password-2")
    assert both.exit_code == 2
    assert both.stderr == "error: set AUTOLIQ_NEW_PASSWORD or AUTOLIQ_NEW_PASSWORD_FILE, not both\n"
    assert stored_password_matches(world.database_url, "admin", NEW_PW) is True


def test_set_password_when_piped_then_the_first_line_is_the_password(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = set_password(
        monkeypatch, "trader", "--database-url", world.database_url, env=None, stdin=f"{NEW_PW}\nignored\n"
    )

    assert result.exit_code == 0, result.output
    assert stored_password_matches(world.database_url, "trader", NEW_PW) is True


@pytest.mark.parametrize(
    ("user", "password", "message"),
    [
        pytest.param(
            "admin", "short-pw", "error: the password must be at least 12 characters (has 8)", id="short"
        ),
        pytest.param("nobody", NEW_PW, "error: no user 'nobody' in ", id="unknown-user"),
        pytest.param("admin", "", "error: no password given", id="empty"),
    ],
)
def test_set_password_when_refused_then_one_line_exit_2_and_the_stored_password_kept(
    world: World, monkeypatch: pytest.MonkeyPatch, user: str, password: str, message: str
) -> None:
    result = set_password(monkeypatch, user, "--database-url", world.database_url, env=None, stdin=password)

    assert result.exit_code == 2
    assert result.output.startswith(message) and result.output.count("\n") == 1
    assert stored_password_matches(world.database_url, "admin", ADMIN_PW) is True


def test_set_password_when_sqlite_file_missing_then_exit_2_and_no_file_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "missing.db"

    result = set_password(monkeypatch, "admin", "--database-url", f"sqlite:///{missing}", env=NEW_PW)

    assert result.exit_code == 2
    assert (
        result.output
        == f"error: no database at sqlite:///{missing} (autoliq serve or autoliq seed creates it)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_stored_password_matches_when_no_such_user_then_none(world: World) -> None:
    assert stored_password_matches(world.database_url, "nobody", ADMIN_PW) is None
