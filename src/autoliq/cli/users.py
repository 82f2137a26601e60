"""`autoliq users ...`: the users of a database, changed on the server's machine (no server needed)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from autoliq.cli.help import App
from autoliq.cli.render import error_line, out
from autoliq.config import default_database_url, secret_from_env

users_app = App(help="Users of the database (run where the database is).", no_args_is_help=True)

NEW_PASSWORD_VARIABLE = "AUTOLIQ_NEW_PASSWORD"  # noqa: S105 (a variable's name, not a password)


def _fail(message: str) -> typer.Exit:
    error_line(message)
    return typer.Exit(2)


def _new_password(user: str) -> str:
    """The new password: AUTOLIQ_NEW_PASSWORD (or the file AUTOLIQ_NEW_PASSWORD_FILE names), else
    asked twice on a terminal (not echoed), else standard input's first line."""
    try:
        given = secret_from_env(NEW_PASSWORD_VARIABLE)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if given:
        return given
    if sys.stdin.isatty():
        password: str = typer.prompt(
            f"new password for {user}", hide_input=True, confirmation_prompt=True, err=True
        )
        return password
    return sys.stdin.readline().rstrip("\r\n")


@users_app.command("set-password")
def set_password(
    user: Annotated[str, typer.Argument(help="The user's login name.")],
    database_url: Annotated[
        str | None,
        typer.Option(envvar="AUTOLIQ_DATABASE_URL", help="Database URL (default autoliq.db here)."),
    ] = None,
) -> None:
    """Set USER's password: AUTOLIQ_NEW_PASSWORD (or _FILE), the terminal (asked twice) or standard input."""
    from autoliq.bootstrap import (
        DatabaseSetupFailed,
        DatabaseUnavailable,
        check_database,
        safe_url,
        set_user_password,
        sqlite_file_missing,
    )
    from autoliq.domain.passwords import password_problem

    url = database_url or default_database_url()
    try:
        check_database(url)
    except DatabaseUnavailable as exc:
        raise _fail(str(exc)) from None
    if sqlite_file_missing(url):
        raise _fail(f"no database at {safe_url(url)} (autoliq serve or autoliq seed creates it)")
    password = _new_password(user)
    if not password:
        raise _fail(f"no password given (set {NEW_PASSWORD_VARIABLE}, type it on a terminal or pipe it in)")
    problem = password_problem(password)
    if problem is not None:
        raise _fail(f"the password {problem}")
    try:
        found = set_user_password(url, user, password)
    except DatabaseSetupFailed as exc:
        raise _fail(str(exc)) from None
    if not found:
        raise _fail(f"no user {user!r} in {safe_url(url)}")
    out.print(f"password of {user!r} changed in {safe_url(url)}", highlight=False, markup=False)
