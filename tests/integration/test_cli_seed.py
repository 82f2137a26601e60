"""`autoliq seed`: adds an organization or accounts straight into the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import account, account_risk_status, app_user, organization
from autoliq.bootstrap import stored_password_matches
from autoliq.cli.main import app
from autoliq.service.credentials import verify_password

runner = CliRunner()
ACME_PW = "acme-admin-pw1"


def _count(url: str, table: object) -> int:
    engine = create_admin_engine(url)
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(table)).scalar_one()  # type: ignore[arg-type]
    engine.dispose()
    return int(n)


def test_seed_command_when_new_organization_then_admin_and_accounts_created(database_url: str) -> None:
    args = ["seed", "--organization", "Acme", "--admin-name", "acme", "--admin-password", ACME_PW]
    result = runner.invoke(app, [*args, "--accounts", "2500", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert "2,500 accounts added" in result.output and "created" in result.output
    assert _count(database_url, account) == 2500
    assert _count(database_url, account_risk_status) == 2500
    engine = create_admin_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(select(app_user).where(app_user.c.name == "acme")).one()
    engine.dispose()
    assert row.role == "admin"
    assert verify_password(ACME_PW, row.password_hash)


def test_seed_command_when_passwords_come_from_files_then_stored_and_never_on_the_command_line(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "admin").write_text(ACME_PW + "\n")
    (tmp_path / "owner").write_text("acme-owner-pw-1\n")
    monkeypatch.setenv("AUTOLIQ_SEED_ADMIN_PASSWORD_FILE", str(tmp_path / "admin"))
    monkeypatch.setenv("AUTOLIQ_SEED_OWNER_PASSWORD_FILE", str(tmp_path / "owner"))
    args = ["seed", "--organization", "Acme", "--admin-name", "acme", "--owner", "acme-trader"]
    result = runner.invoke(app, [*args, "--accounts", "1", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert "generated" not in result.output
    assert stored_password_matches(database_url, "acme", ACME_PW) is True
    assert stored_password_matches(database_url, "acme-trader", "acme-owner-pw-1") is True


def test_seed_command_when_no_admin_password_anywhere_then_exit_2_before_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AUTOLIQ_SEED_ADMIN_PASSWORD", "AUTOLIQ_SEED_ADMIN_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'none.db'}"
    result = runner.invoke(
        app, ["seed", "--organization", "Acme", "--admin-name", "acme", "--database-url", url]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --admin-password is required (or AUTOLIQ_SEED_ADMIN_PASSWORD, or its _FILE)\n"
    )
    assert not (tmp_path / "none.db").exists()


def test_seed_command_when_organization_exists_then_accounts_added_to_it(database_url: str) -> None:
    base = ["seed", "--organization", "Acme", "--admin-name", "acme", "--admin-password", ACME_PW]
    assert runner.invoke(app, [*base, "--accounts", "10", "--database-url", database_url]).exit_code == 0
    result = runner.invoke(
        app,
        [
            *base,
            "--accounts",
            "5",
            "--owner",
            "acme-trader",
            "--owner-password",
            "acme-trader-pw",
            "--database-url",
            database_url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "extended" in result.output
    assert _count(database_url, organization) == 1
    assert _count(database_url, account) == 15


def test_seed_command_when_admin_belongs_to_other_org_then_clear_error_and_exit_2(database_url: str) -> None:
    base = ["--admin-name", "shared", "--admin-password", "shared-admin-pw", "--database-url", database_url]
    assert runner.invoke(app, ["seed", "--organization", "One", *base]).exit_code == 0
    result = runner.invoke(app, ["seed", "--organization", "Two", *base, "--accounts", "3"])
    assert result.exit_code == 2
    assert "another organization" in result.output
    assert _count(database_url, organization) == 1


@pytest.mark.parametrize("option", ["--admin-password", "--owner-password"])
def test_seed_command_when_a_password_is_shorter_than_12_then_one_line_exit_2_and_no_database(
    tmp_path: Path, option: str
) -> None:
    database = tmp_path / "never.db"
    args = ["seed", "--organization", "Acme", "--admin-name", "acme", "--admin-password", ACME_PW]
    args += ["--owner", "acme-trader", option, "eleven-char", "--database-url", f"sqlite:///{database}"]

    result = runner.invoke(app, args)

    assert result.exit_code == 2
    assert result.output == f"error: {option} must be at least 12 characters (has 11)\n"
    assert list(tmp_path.iterdir()) == []


def test_seed_command_when_owner_created_without_password_then_its_generated_one_printed_once(
    database_url: str,
) -> None:
    base = ["seed", "--organization", "Acme", "--admin-name", "acme", "--admin-password", ACME_PW]
    base += ["--owner", "acme-trader", "--accounts", "1", "--database-url", database_url]

    first = runner.invoke(app, base)
    again = runner.invoke(app, base)

    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    (line,) = [line for line in first.output.splitlines() if "generated, shown once" in line]
    password = line.split(" / ")[1].split()[0]
    assert len(password) >= 12
    assert stored_password_matches(database_url, "acme-trader", password) is True
    assert ACME_PW not in first.output
    assert "generated" not in again.output  # the owner exists: nothing generated, nothing shown


def test_seed_command_when_database_url_unreadable_then_one_line_exit_2() -> None:
    args = ["seed", "--organization", "Acme", "--admin-name", "acme", "--admin-password", ACME_PW]

    result = runner.invoke(app, [*args, "--database-url", "foo"])

    assert result.exit_code == 2
    assert result.output == (
        "error: database URL 'foo' cannot be read: give sqlite:///FILE or postgresql://USER@HOST:PORT/DB\n"
    )
