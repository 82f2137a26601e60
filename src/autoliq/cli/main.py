"""`autoliq`: serve the API, seed organizations."""

from __future__ import annotations

import logging
import time
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from autoliq.cli.help import App
from autoliq.cli.limits import limits_app
from autoliq.cli.observe import log_command, watch_command
from autoliq.cli.operator import accounts_app
from autoliq.cli.render import plural
from autoliq.cli.sandbox import sandbox_app
from autoliq.cli.users import users_app
from autoliq.config import Settings, default_database_url, secret_given_or_from_file
from autoliq.domain.states import Environment

app = App(
    name="autoliq",
    help="autoliq: Tradovate's account-risk API (admin auto-liquidation actions), served locally.",
    no_args_is_help=True,
    # `autoliq --install-completion` / `--show-completion`: bash, zsh, fish or PowerShell.
    add_completion=True,
)


def _print_version(value: bool) -> None:
    if value:
        from autoliq import __version__

        typer.echo(f"autoliq {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print autoliq's version and exit."
        ),
    ] = False,
) -> None:
    """autoliq: Tradovate's account-risk API (admin auto-liquidation actions), served locally."""


class LogFormat(StrEnum):
    """`--log-format` (config.LOG_FORMATS)."""

    TEXT = "text"
    JSON = "json"


class RateLimits(StrEnum):
    """`--rate-limits` (config.RATE_LIMIT_PROFILES)."""

    OFF = "off"
    TRADOVATE = "tradovate"


# Soft wrap: a long database path stays on one line when stdout is a file or a pipe.
console = Console(soft_wrap=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="AUTOLIQ_HOST", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="AUTOLIQ_PORT", help="TCP port.")] = 8080,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="AUTOLIQ_DATABASE_URL",
            help="sqlite:///FILE or postgresql://USER@HOST/DB. Default: autoliq.db in the working directory.",
        ),
    ] = None,
    environment: Annotated[
        Environment, typer.Option(envvar="AUTOLIQ_ENVIRONMENT", help="Tradovate environment to play.")
    ] = Environment.DEMO,
    token_minutes: Annotated[
        float, typer.Option(envvar="AUTOLIQ_TOKEN_MINUTES", help="Access-token lifetime in minutes.")
    ] = 90.0,
    log_level: Annotated[
        str, typer.Option(envvar="AUTOLIQ_LOG_LEVEL", help="uvicorn log level.")
    ] = "warning",
    log_format: Annotated[
        LogFormat,
        typer.Option(
            envvar="AUTOLIQ_LOG_FORMAT",
            case_sensitive=False,
            help="text, or json: one JSON object per line (uvicorn's lines included).",
        ),
    ] = LogFormat.TEXT,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            envvar="AUTOLIQ_ACCESS_LOG",
            help="One uvicorn line per request, on stdout (whatever --log-level says).",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            envvar="AUTOLIQ_WORKERS",
            min=1,
            max=64,
            help="Worker processes behind the one port (several: PostgreSQL recommended).",
        ),
    ] = 1,
    rate_limits: Annotated[
        RateLimits,
        typer.Option(
            envvar="AUTOLIQ_RATE_LIMITS",
            case_sensitive=False,
            help="off, or tradovate: Tradovate's user-level (429) and endpoint-level (p-ticket) limits.",
        ),
    ] = RateLimits.OFF,
) -> None:
    """Run the API server; on an empty database, seed the demo organization first."""
    import os
    import shutil
    import tempfile

    from autoliq.bootstrap import (
        WORKER_APP_FACTORY,
        DatabaseSetupFailed,
        DatabaseVanished,
        UnknownOperator,
        connection_options,
        prepare_database,
        serving_app,
    )
    from autoliq.cli.startup import (
        StartupError,
        bind_listening_socket,
        check_database_or_fail,
        check_database_url,
        run_server,
    )
    from autoliq.telemetry.logs import configure_logging, logging_restorer, server_log_config

    # Everything that can stop the start is settled first, each failure one line and exit 2: the
    # settings, the URL, the port (bound now, served later), the database.
    try:
        settings = Settings.from_env(
            host=host,
            port=port,
            database_url=database_url or default_database_url(),
            environment=environment,
            token_minutes=token_minutes,
            log_format=log_format.value,
            rate_limits=rate_limits.value,
        )
    except ValueError as exc:  # an AUTOLIQ_* variable that has no option of its own, or a bad value
        raise _startup_failure(str(exc)) from None
    try:
        check_database_url(settings.database_url)
        listener = bind_listening_socket(settings.host, settings.port)
    except StartupError as exc:
        raise _startup_failure(str(exc)) from None
    restore_logging = logging_restorer()
    try:
        check_database_or_fail(settings.database_url)
        # autoliq's own lines at INFO (start-up, migrations); uvicorn's at --log-level.
        configure_logging("info", log_format.value)
        log_config = server_log_config(log_format.value, log_level)
        demo = prepare_database(settings)
    except (StartupError, UnknownOperator, DatabaseVanished) as exc:  # operator unknown, file gone
        listener.close()
        restore_logging()
        raise _startup_failure(str(exc)) from None
    except DatabaseSetupFailed as exc:  # found while migrating or seeding (one line, no traceback)
        listener.close()
        restore_logging()
        raise _startup_failure(str(exc)) from None
    except OSError as exc:
        listener.close()
        restore_logging()
        raise _startup_failure(_database_failure(exc)) from None
    base = f"http://{settings.host}:{settings.port}"
    if log_format is LogFormat.JSON:
        _announce_json(settings, base, demo, workers)
    else:
        _announce_text(settings, base, demo)
    # The same server options for one process and for N workers.
    server_options: dict[str, Any] = {
        "host": settings.host,  # (the socket is bound already: for uvicorn's messages)
        "port": settings.port,
        "log_level": None,  # the levels are in log_config
        "log_config": log_config,
        "access_log": access_log,
        # uvloop and httptools where they are installed (uvicorn[standard] brings them on Linux and
        # macOS: what the benchmarks measured), asyncio and h11 elsewhere.
        "loop": "auto",
        "http": "auto",
        "timeout_graceful_shutdown": 5,
        # uvicorn would believe X-Forwarded-For from loopback (its default FORWARDED_ALLOW_IPS):
        # the app decides instead, from AUTOLIQ_TRUSTED_PROXIES only (api/client_address.py).
        "proxy_headers": False,
    }
    server_options.update(connection_options(settings))  # open files, timeouts, concurrency limit
    if workers > 1:
        if log_format is LogFormat.TEXT:
            console.print(f"  workers:    {workers} processes")
        # Each worker publishes its metrics here every second; a scrape of any worker answers all
        # of them (telemetry/metrics_share.py). Private to this user (mkdtemp: mode 0700).
        metrics_dir = tempfile.mkdtemp(prefix="autoliq-metrics-")
        # The workers build their services from the environment (uvicorn imports the factory).
        os.environ.update(
            AUTOLIQ_DATABASE_URL=settings.database_url,
            AUTOLIQ_ENVIRONMENT=settings.environment.value,
            AUTOLIQ_TOKEN_MINUTES=str(settings.token_minutes),
            AUTOLIQ_LOG_FORMAT=settings.log_format,
            AUTOLIQ_RATE_LIMITS=settings.rate_limits,
            AUTOLIQ_TRUSTED_PROXIES=",".join(settings.trusted_proxies),
            AUTOLIQ_METRICS_DIR=metrics_dir,
        )
        try:
            code = run_server(WORKER_APP_FACTORY, listener, workers, server_options)
        finally:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    else:
        code = run_server(serving_app(settings), listener, 1, server_options)
    if code:
        raise typer.Exit(code)


def _announce_text(settings: Settings, base: str, demo: Any) -> None:
    """The start-up banner for people (stdout)."""
    from autoliq.bootstrap import desk_path, docs_path

    console.print(
        f"[bold]autoliq[/bold] ({settings.environment.value}) on {escape(_safe_url(settings.database_url))}"
    )
    console.print(f"  base URL:   {base}/v1")
    console.print(f"  risk desk:  {base}{desk_path()}")
    console.print(f"  API docs:   {base}{docs_path()}")
    if demo is not None:
        # Generated passwords are shown this once; supplied ones never (the operator has them).
        console.print(
            f"  seeded organization {escape(repr(demo.organization))} with 10 accounts owned by 'trader':"
        )
        for user, password, generated in (
            ("admin", demo.admin_password, demo.admin_generated),
            ("trader", demo.trader_password, demo.trader_generated),
        ):
            shown = f"{escape(password)}  (generated, shown once)" if generated else "(as supplied)"
            console.print(f"    {user} / {shown}")
    else:
        console.print("  credentials: as printed when this database was first seeded")
        _warn_unmatched_passwords(settings)


def _announce_json(settings: Settings, base: str, demo: Any, workers: int) -> None:
    """The start-up banner as one JSON log line (`--log-format json`: every line is JSON). No
    password ever: JSON logs are collected and kept, so a generated password is not written to them;
    the line says how to set one instead."""
    from autoliq.bootstrap import desk_path, docs_path

    fields: dict[str, Any] = {
        "environment": settings.environment.value,
        "database": _safe_url(settings.database_url),
        "base_url": f"{base}/v1",
        "desk_url": f"{base}{desk_path()}",
        "docs_url": f"{base}{docs_path()}",
        "workers": workers,
    }
    if demo is not None:
        fields["seeded_organization"] = demo.organization
        generated = [u for u, g in (("admin", demo.admin_generated), ("trader", demo.trader_generated)) if g]
        if generated:
            fields["generated_passwords_not_logged"] = generated
            fields["set_them_with"] = "autoliq users set-password USER"
    log = logging.getLogger("autoliq.serve")
    log.info("autoliq started", extra=fields)
    if demo is None:
        _warn_unmatched_passwords(settings, log)


def _startup_failure(message: str) -> typer.Exit:
    """Print `error: message` (one line, on standard error); the exit (2) to raise."""
    from autoliq.cli.render import error_line

    error_line(message)
    return typer.Exit(2)


def _database_failure(exc: BaseException) -> str:
    """One line for a failure while migrating or seeding (the driver's message, not a traceback)."""
    cause = getattr(exc, "orig", None) or exc
    return f"database: {' '.join(str(cause).split())}"


def _warn_unmatched_passwords(settings: Settings, log: logging.Logger | None = None) -> None:
    """On a database seeded before, a warning for each password supplied that is not the stored one
    (the stored one stays: the variables seed an empty database only); to `log` when given (JSON
    logs), else as a `warning:` line."""
    from autoliq.bootstrap import stored_password_matches
    from autoliq.cli.render import warning_line as print_warning

    def warning_line(text: str) -> None:
        if log is None:
            print_warning(text)
        else:
            log.warning(text)

    for user, variable, password in (
        ("admin", "AUTOLIQ_ADMIN_PASSWORD", settings.admin_password),
        ("trader", "AUTOLIQ_TRADER_PASSWORD", settings.trader_password),
    ):
        if password is None:
            continue
        matches = stored_password_matches(settings.database_url, user, password)
        if matches is None:
            warning_line(f"{variable} is set but this database has no user {user!r}")
        elif not matches:
            warning_line(
                f"{variable} is not the password of {user!r} in this database (seeded before, its own is "
                f"kept; change it with: autoliq users set-password {user})"
            )


@app.command()
def seed(
    organization: Annotated[str, typer.Option(help="Organization name (created if missing).")],
    admin_name: Annotated[str, typer.Option(help="Organization admin's login (created if missing).")],
    admin_password: Annotated[
        str | None,
        typer.Option(
            envvar="AUTOLIQ_SEED_ADMIN_PASSWORD",
            show_envvar=True,
            help="The admin's password (used when it is created); or AUTOLIQ_SEED_ADMIN_PASSWORD_FILE.",
        ),
    ] = None,
    accounts: Annotated[int, typer.Option(min=0, max=10_000_000, help="How many accounts to add.")] = 0,
    owner: Annotated[
        str | None,
        typer.Option(help="Trader login owning the new accounts (created if missing); default the admin."),
    ] = None,
    owner_password: Annotated[
        str | None,
        typer.Option(
            envvar="AUTOLIQ_SEED_OWNER_PASSWORD",
            show_envvar=True,
            help="Password for a new --owner; or AUTOLIQ_SEED_OWNER_PASSWORD_FILE.",
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(envvar="AUTOLIQ_DATABASE_URL", help="Database URL (default autoliq.db here)."),
    ] = None,
) -> None:
    """Add an organization, or accounts to an existing one, directly in the database."""
    from autoliq.bootstrap import DatabaseUnavailable, DatabaseVanished, migrate_for_seed, seed_organization
    from autoliq.domain.passwords import password_problem

    try:  # flags, their variables, or files: a password need not be on the command line
        admin_password = secret_given_or_from_file(admin_password, "AUTOLIQ_SEED_ADMIN_PASSWORD")
        owner_password = secret_given_or_from_file(owner_password, "AUTOLIQ_SEED_OWNER_PASSWORD")
    except ValueError as exc:
        raise _startup_failure(str(exc)) from None
    if admin_password is None:
        raise _startup_failure("--admin-password is required (or AUTOLIQ_SEED_ADMIN_PASSWORD, or its _FILE)")
    for option, password in (("--admin-password", admin_password), ("--owner-password", owner_password)):
        problem = None if password is None else password_problem(password)
        if problem is not None:  # refused before the database is touched
            raise _startup_failure(f"{option} {problem}")
    url = database_url or default_database_url()
    try:
        migrate_for_seed(url)
    except (DatabaseUnavailable, DatabaseVanished) as exc:  # vanished: never seed over a lost database
        raise _startup_failure(str(exc)) from None
    started = time.perf_counter()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=accounts == 0,
    ) as progress:
        task = progress.add_task("accounts", total=accounts)
        try:
            result = seed_organization(
                url,
                organization,
                admin_name,
                admin_password,
                accounts,
                owner_name=owner,
                owner_password=owner_password,
                progress=lambda n: progress.advance(task, n),
            )
        except ValueError as exc:
            console.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None
    elapsed = time.perf_counter() - started
    verb = "created" if result.organization_created else "extended"
    span = (
        f"ids {result.first_account_id}-{result.first_account_id + result.accounts_created - 1}"
        if result.first_account_id is not None
        else "no new accounts"
    )
    console.print(
        f"organization {escape(repr(organization))} (id {result.organization_id}) {verb}: "
        f"{plural(result.accounts_created, 'account')} added ({span}) in {elapsed:.1f} s"
    )
    if result.generated_owner_password is not None:
        console.print(
            f"  {escape(repr(owner))} / {escape(result.generated_owner_password)}  (generated, shown once)"
        )


app.add_typer(sandbox_app, name="sandbox")
app.add_typer(accounts_app, name="accounts")
app.add_typer(limits_app, name="limits")
app.add_typer(users_app, name="users")
app.command("log")(log_command)
app.command("watch")(watch_command)


def _safe_url(url: str) -> str:
    from autoliq.bootstrap import safe_url

    return safe_url(url)


def main() -> None:
    """Console-script entry point."""
    app()
