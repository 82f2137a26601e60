"""`autoliq accounts ...`: list, status, and the admin actions over one or thousands of accounts,
built on the SDK (`autoliq.client.AsyncClient`); the same against autoliq and Tradovate (docs/cli.md).
`autoliq log` and `autoliq watch` are in `observe.py`.

Exit codes: 0 every selected account verified in the requested state (or, for reads, everything
shown); 1 some account failed, was not attempted, or was not found; 2 a usage error, no connection,
a login refused, or a journal that cannot be used; 128 + the signal number when an action run was
interrupted (Ctrl-C: 130; the journal is kept: resume with `--resume`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from autoliq.cli import render
from autoliq.cli.bulk import BulkAction, BulkReport, Plan, Settled, plan
from autoliq.cli.connection import (
    BULK_CONCURRENCY,
    DEFAULT_URL,
    LOCAL_CONCURRENCY,
    REMOTE_CONCURRENCY,
    REMOTE_RATE,
    CliError,
    Connection,
    JsonOption,
    PasswordOption,
    UrlOption,
    UserOption,
    connection_or_exit,
    fail,
    login,
    make_client,
    pacing_defaults,
    run_command,
)
from autoliq.cli.help import App
from autoliq.cli.journal import JournalError, JournalWriter, default_path, utc_stamp, verified_before
from autoliq.cli.selection import Selection, SelectionError
from autoliq.client import AdminAction, AsyncClient, ReasonCode

__all__ = ["accounts_app"]

accounts_app = App(
    help="Accounts of the organization: list, status, and admin actions on one or thousands of them.",
    no_args_is_help=True,
)

MAX_REASON = 8192

# -- options shared by the commands --

IdsArgument = Annotated[
    list[str] | None, typer.Argument(help="Account ids.", show_default=False, metavar="IDS")
]
FileOption = Annotated[
    list[str] | None,
    typer.Option(
        "--file",
        metavar="FILE",  # not Typer's "<list[str]>"
        help="File of account ids, one per line, # comments (- reads stdin). Repeatable.",
    ),
]
AllOption = Annotated[bool, typer.Option("--all", help="Every account the user sees.")]
NameLikeOption = Annotated[
    str | None,
    typer.Option(
        "--name-like", help="Only accounts whose name matches this shell pattern (* ? [..]), any case."
    ),
]
StatusOption = Annotated[
    AdminAction | None,
    typer.Option(
        "--status",
        help="Only accounts whose current adminAction is this (Normal, LockTradingImmediately, ...).",
        case_sensitive=True,
        metavar="ADMIN_ACTION",
    ),
]


def _selection(
    ids: list[str] | None,
    files: list[str] | None,
    all_accounts: bool,
    name_like: str | None,
    status: AdminAction | None,
    *,
    action: bool,
) -> Selection:
    try:
        selection = Selection.from_options(
            ids,
            files,
            all_accounts=all_accounts,
            name_like=name_like,
            status=None if status is None else status.value,
        )
        selection.check(action=action)
    except SelectionError as exc:
        raise fail(CliError(str(exc))) from None
    return selection


select_accounts = _selection
"""The accounts a command's selection options name (`autoliq limits` uses them too)."""


# -- accounts list / status --


@accounts_app.command("list")
def list_accounts(
    ids: IdsArgument = None,
    file: FileOption = None,
    all_accounts: AllOption = False,
    name_like: NameLikeOption = None,
    status: StatusOption = None,
    json_output: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """List accounts (GET /v1/account/list): id, name, owner, risk category, archived."""
    selection = _selection(ids, file, all_accounts, name_like, status, action=False)
    connection = connection_or_exit(url, user, password)

    async def main() -> int:
        accounts, statuses = await _read(connection, with_statuses=selection.status is not None)
        wanted = {t.account_id for t in selection.resolve(accounts, statuses)}
        shown = [a for a in accounts if a.get("id") in wanted]
        if json_output:
            render.print_json(shown)
        else:
            render.print_accounts(shown)
        return _missing(selection, wanted, {a.get("id") for a in accounts})

    raise typer.Exit(run_command(main))


@accounts_app.command("status")
def account_status(
    ids: IdsArgument = None,
    file: FileOption = None,
    all_accounts: AllOption = False,
    name_like: NameLikeOption = None,
    status: StatusOption = None,
    json_output: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Show accounts' risk status (GET /v1/accountRiskStatus/list): adminAction and its times."""
    selection = _selection(ids, file, all_accounts, name_like, status, action=False)
    connection = connection_or_exit(url, user, password)

    async def main() -> int:
        accounts, statuses = await _read(connection, with_statuses=True)
        targets = selection.resolve(accounts, statuses)
        shown = [statuses[t.account_id] for t in targets if t.account_id in statuses]
        if json_output:
            render.print_json(shown)
        else:
            render.print_statuses(shown, {t.account_id: t.name for t in targets})
        return _missing(selection, {t.account_id for t in targets}, set(statuses))

    raise typer.Exit(run_command(main))


async def _read(connection: Connection, *, with_statuses: bool) -> tuple[list[Any], dict[int, Any]]:
    """The accounts the user sees, and their risk statuses by id when asked for (else empty)."""
    client, _pace = make_client(connection)
    async with client:
        await login(client, connection)
        accounts = await client.accounts()
        statuses = await _statuses(client) if with_statuses else {}
    return accounts, statuses


async def _statuses(client: AsyncClient) -> dict[int, Any]:
    return {s["id"]: s for s in await client.risk_statuses() if isinstance(s.get("id"), int)}


def _missing(selection: Selection, wanted: set[int], known: set[Any]) -> int:
    """Exit code of a read: 1 (with a line on stderr) when ids given were not found."""
    if selection.filtered:
        return 0
    missing = [i for i in selection.ids if i in wanted and i not in known]
    if missing:
        render.error_line(f"not found: {', '.join(map(str, missing))}")
        return 1
    return 0


# -- the admin actions --


class ActionCommand(StrEnum):
    """The action commands and the adminAction each sends."""

    LOCK = "lock"
    UNLOCK = "unlock"
    LIQUIDATE = "liquidate"
    LIQUIDATE_ONLY = "liquidate-only"

    @property
    def admin_action(self) -> AdminAction:
        return _ADMIN_ACTIONS[self]


_ADMIN_ACTIONS = {
    ActionCommand.LOCK: AdminAction.LOCK_TRADING_IMMEDIATELY,
    ActionCommand.UNLOCK: AdminAction.NORMAL,
    ActionCommand.LIQUIDATE: AdminAction.LIQUIDATE_IMMEDIATELY,
    ActionCommand.LIQUIDATE_ONLY: AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY,
}

_ACTION_HELP = {
    ActionCommand.LOCK: "Lock accounts (LockTradingImmediately): new orders rejected, positions kept.",
    ActionCommand.UNLOCK: "Unlock accounts (Normal): the admin restriction cleared.",
    ActionCommand.LIQUIDATE: (
        "Liquidate accounts (LiquidateImmediately): positions closed at the market, new orders "
        "rejected. Tradovate's 'liquidate and lock' is this, then lock."
    ),
    ActionCommand.LIQUIDATE_ONLY: ("Restrict accounts to closing orders (LiquidateOnlyModeImmediately)."),
}


def _make_action_command(command: ActionCommand) -> Callable[..., None]:
    def action(
        ids: IdsArgument = None,
        file: FileOption = None,
        all_accounts: AllOption = False,
        name_like: NameLikeOption = None,
        status: StatusOption = None,
        reason_code: Annotated[
            ReasonCode,
            typer.Option(
                "--reason-code",
                help="Tradovate's adminActionReasonCode (Other, CloseCustomerRequest, ...).",
                case_sensitive=True,
                metavar="CODE",
            ),
        ] = ReasonCode.OTHER,
        reason: Annotated[
            str | None,
            typer.Option("--reason", help="adminActionReason (required with the code Other); at most 8192."),
        ] = None,
        rate: Annotated[
            float | None,
            typer.Option(
                "--rate",
                min=0,
                help=f"Requests per second, all included (0: no limit). Default {REMOTE_RATE} "
                "(Tradovate: 5,000/hour per user), no limit on a loopback host.",
                show_default=False,
            ),
        ] = None,
        concurrency: Annotated[
            int | None,
            typer.Option(
                "--concurrency",
                min=1,
                max=1000,
                help=f"Accounts in flight (against autoliq: at most this many in one bulk request). "
                f"Default {REMOTE_CONCURRENCY}, {LOCAL_CONCURRENCY} on a loopback host; "
                f"{BULK_CONCURRENCY} in an unpaced run while the server takes accounts in bulk.",
                show_default=False,
            ),
        ] = None,
        per_account: Annotated[
            bool,
            typer.Option(
                "--per-account",
                help="One request per account even against autoliq (as against Tradovate): no bulk route.",
            ),
        ] = False,
        retries: Annotated[
            int,
            typer.Option(
                "--retries",
                min=0,
                max=10,
                help="Tries again an account whose write's outcome stayed unknown (5xx, no answer).",
            ),
        ] = 2,
        force: Annotated[
            bool, typer.Option("--force", help="Send also to accounts already in the requested state.")
        ] = False,
        dry_run: Annotated[
            bool,
            typer.Option("--dry-run", help="Show the accounts, their status and the plan; send nothing."),
        ] = False,
        journal: Annotated[
            Path | None,
            typer.Option(
                "--journal",
                help="Journal file (JSON lines). Default ./autoliq-<command>-<digest of the command>.jsonl.",
                dir_okay=False,
                show_default=False,
            ),
        ] = None,
        resume: Annotated[
            bool,
            typer.Option("--resume", help="Continue the journal: accounts verified in it are not touched."),
        ] = False,
        progress: Annotated[
            bool,
            typer.Option(
                "--progress/--no-progress", help="Progress bar on stderr (only when it is a terminal)."
            ),
        ] = True,
        json_output: JsonOption = False,
        url: UrlOption = DEFAULT_URL,
        user: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        selection = _selection(ids, file, all_accounts, name_like, status, action=True)
        if reason is not None and len(reason) > MAX_REASON:
            raise fail(CliError(f"--reason is {len(reason)} characters long: at most {MAX_REASON}"))
        if reason_code is ReasonCode.OTHER and not (reason or "").strip():
            raise fail(CliError("--reason is required with --reason-code Other (the default)"))
        connection = connection_or_exit(url, user, password)
        default_rate, default_concurrency = pacing_defaults(connection.loopback)
        paced_rate = default_rate if rate is None else rate
        bulk_width: int | None = None
        if not per_account:
            # Accounts in flight go to the bulk route together; unpaced and unbounded, 1,000 at a time.
            bulk_width = concurrency or (BULK_CONCURRENCY if paced_rate == 0 else default_concurrency)
        options = ActionOptions(
            command=command,
            reason_code=reason_code.value,
            reason=reason,
            rate=paced_rate,
            concurrency=concurrency or default_concurrency,
            bulk_width=bulk_width,
            retries=retries,
            force=force,
            dry_run=dry_run,
            resume=resume,
            progress=progress and render.err.is_terminal,
            json_output=json_output,
        )
        raise typer.Exit(run_action(connection, selection, options, journal))

    action.__doc__ = _ACTION_HELP[command]
    action.__name__ = command.value.replace("-", "_")
    return action


for _command in ActionCommand:
    accounts_app.command(_command.value)(_make_action_command(_command))


@dataclass(frozen=True, slots=True)
class ActionOptions:
    """An action run's settings, decided from the options and the host."""

    command: ActionCommand
    reason_code: str
    reason: str | None
    rate: float
    concurrency: int
    bulk_width: int | None
    """Accounts in flight while the server takes them in bulk (at most this many a request); None:
    one request per account (`--per-account`)."""
    retries: int
    force: bool
    dry_run: bool
    resume: bool
    progress: bool
    json_output: bool


def default_journal(connection: Connection, command: ActionCommand, selection: Selection) -> Path:
    """`./autoliq-<command>-<digest>.jsonl`: the same command line finds the same journal."""
    key = {
        "url": connection.url,
        "user": connection.user,
        "adminAction": command.admin_action.value,
        "selection": selection.spec(),
    }
    return default_path(command.value, key)


def run_action(
    connection: Connection, selection: Selection, options: ActionOptions, journal: Path | None
) -> int:
    """Run an action command; its exit code."""
    action = options.command.admin_action.value
    path = journal or default_journal(connection, options.command, selection)
    run_line = {
        "command": options.command.value,
        "adminAction": action,
        "reasonCode": options.reason_code,
        "reason": options.reason,
        "url": connection.url,
        "user": connection.user,
        "selection": selection.spec(),
        "started": utc_stamp(),
    }
    # Refuse an unusable journal before logging in (Tradovate allows few logins an hour).
    try:
        verified = verified_before(path, run_line, resume=options.resume, dry_run=options.dry_run)
        if options.dry_run and not options.resume and path.exists():
            render.err.print(
                f"note: journal {path} exists: the run will need --resume (or another --journal)",
                highlight=False,
            )
    except JournalError as exc:
        raise fail(CliError(str(exc))) from None

    async def main() -> int:
        client, pace = make_client(connection, rate=options.rate, connections=options.concurrency)
        async with client:
            await login(client, connection)
            accounts = await client.accounts()
            statuses = await _statuses(client)
            targets = selection.resolve(accounts, statuses)
            planned = plan(targets, action, verified=verified, force=options.force)
            if options.dry_run:
                if options.json_output:
                    render.print_json({"dryRun": True, **render.dry_run_json(action, planned)})
                else:
                    render.print_dry_run(action, planned)
                return 0
            try:
                writer, _state = JournalWriter.open(path, run_line, resume=options.resume)
            except (JournalError, OSError) as exc:
                raise CliError(str(exc)) from None
            report, signum = await _execute(client, writer, planned, options)
        document = {
            "command": options.command.value,
            "url": connection.url,
            "user": connection.user,
            "reasonCode": options.reason_code,
            "reason": options.reason,
            "journal": str(path),
            "rate": options.rate,
            "concurrency": options.concurrency,
            "bulk": client.bulk_route is True,
            "requests": pace.sent,
            **report.to_json(),
        }
        if options.json_output:
            render.print_json(document)
        else:
            render.print_report(
                report, url=connection.url, user=connection.user, journal=str(path), requests=pace.sent
            )
        if signum is not None:
            return 128 + signum
        return 0 if report.complete else 1

    return run_command(main)


async def _execute(
    client: AsyncClient, writer: JournalWriter, planned: list[tuple[Any, Plan]], options: ActionOptions
) -> tuple[BulkReport, int | None]:
    """The run itself, under a progress bar, stopped cleanly by SIGINT or SIGTERM."""
    stop = asyncio.Event()
    received: list[int] = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("done {task.fields[done]}  skipped {task.fields[skipped]}  failed {task.fields[failed]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    counts = {"done": 0, "skipped": sum(1 for _, p in planned if p is Plan.SKIP_JOURNAL), "failed": 0}
    with Progress(*columns, console=render.err, disable=not options.progress, transient=False) as bar:
        task = bar.add_task(
            options.command.admin_action.value,
            total=len(planned),
            completed=counts["skipped"],
            done=0,
            skipped=counts["skipped"],
            failed=0,
        )

        def settled(outcome: Settled) -> None:
            counts[outcome.outcome] += 1
            bar.update(
                task, advance=1, done=counts["done"], skipped=counts["skipped"], failed=counts["failed"]
            )

        bulk = BulkAction(
            client,
            options.command.admin_action.value,
            reason_code=options.reason_code,
            reason=options.reason,
            concurrency=options.concurrency,
            retries=options.retries,
            journal=writer,
            on_settled=settled,
            chunk_size=options.bulk_width,
        )
        writer.start()
        try:
            with _stop_on_signals(stop, received):
                report = await bulk.run(planned, stop)
        finally:
            await writer.aclose()
    return report, (received[0] if received else None)


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event, received: list[int]) -> Iterator[None]:
    """SIGINT/SIGTERM set `stop` (the run ends cleanly, the journal kept); a second one kills."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    installed: list[signal.Signals] = []

    def handle(signum: signal.Signals) -> None:
        received.append(int(signum))
        stop.set()
        for sig in installed:
            loop.remove_signal_handler(sig)
        installed.clear()

    for sig in signals:
        try:
            loop.add_signal_handler(sig, handle, sig)
        except (NotImplementedError, RuntimeError, ValueError) as exc:
            # Not the main thread, or a platform without signals: Ctrl-C then stops the run the
            # default way (KeyboardInterrupt), without the clean report; say so when debugging.
            logging.getLogger(__name__).debug("no %s handler for the bulk run: %s", sig.name, exc)
            continue
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
