"""`autoliq log ACCOUNT` (an account's history of admin actions) and `autoliq watch` (live events over
the WebSocket), built on the SDK; the same against autoliq and Tradovate (docs/cli.md)."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from autoliq.cli import render
from autoliq.cli.connection import (
    DEFAULT_URL,
    CliError,
    JsonOption,
    PasswordOption,
    UrlOption,
    UserOption,
    connection_or_exit,
    login,
    make_client,
    make_stream_client,
    run_command,
)
from autoliq.client import (
    AsyncClient,
    AuthError,
    NotFoundError,
    PropsEvent,
    StreamClosedError,
    StreamError,
    TransportError,
)

__all__ = ["log_command", "watch_command"]


# -- log --


class LogSource(StrEnum):
    """Where `autoliq log` reads an account's history."""

    AUTO = "auto"
    AUDIT = "audit"
    LOG = "log"


def log_command(
    account: Annotated[int, typer.Argument(help="Account id.", min=1)],
    source: Annotated[
        LogSource,
        typer.Option(
            "--source",
            help="audit: autoliq's GET /_autoliq/audit (actor, reason code, reason); log: Tradovate's "
            "accountRiskStatusLog/deps; auto: audit where the server has it, else log.",
        ),
    ] = LogSource.AUTO,
    last: Annotated[int | None, typer.Option("--last", min=1, help="Only the last N entries.")] = None,
    json_output: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Show an account's history of admin actions, oldest first."""
    connection = connection_or_exit(url, user, password)

    async def main() -> int:
        client, _pace = make_client(connection)
        async with client:
            await login(client, connection)
            try:
                used, entries = await _history(client, account, source)
            except NotFoundError:
                render.error_line(f"account {account} not found (or not visible to {connection.user})")
                return 1
        if last is not None:
            entries = entries[-last:]
        if json_output:
            render.print_json({"accountId": account, "source": used, "entries": entries})
        else:
            render.print_log(used, entries)
        return 0

    raise typer.Exit(run_command(main))


async def _history(client: AsyncClient, account: int, source: LogSource) -> tuple[str, list[dict[str, Any]]]:
    if source is not LogSource.LOG:
        try:
            return "audit", [dict(e) for e in (await client.audit(account))["entries"]]
        except NotFoundError:
            if source is LogSource.AUDIT:
                raise
            # Tradovate has no /_autoliq/audit (404), and autoliq answers 404 for an invisible
            # account: the account's own 404 tells them apart.
            await client.account(account)
    return "log", [dict(row) for row in await client.risk_status_log(account)]


# -- watch --

RECONNECT_FIRST = 0.5
"""Seconds before `watch`'s first reconnection attempt; doubled after each failed one."""
RECONNECT_MAX = 10.0
"""Seconds between `watch`'s reconnection attempts at most."""


def watch_command(
    entity: Annotated[
        list[str] | None,
        typer.Option(
            "--entity",
            metavar="TYPE",
            help="Entity type to follow (repeatable): accountRiskStatus (default), accountRiskStatusLog, "
            "order, fill, position, cashBalance, userAccountAutoLiq.",
        ),
    ] = None,
    account: Annotated[
        list[int] | None,
        typer.Option("--account", min=1, metavar="ID", help="Only this account (repeatable)."),
    ] = None,
    max_events: Annotated[
        int | None, typer.Option("--max-events", min=1, help="Stop after this many events.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON object per event: time, entityType, eventType, entity.")
    ] = False,
    reconnect: Annotated[
        bool,
        typer.Option(
            "--reconnect/--no-reconnect",
            help="When the stream ends (server stopped, connection lost), reconnect and sync again "
            f"(waiting {RECONNECT_FIRST:g} s, doubling up to {RECONNECT_MAX:g} s), or exit 1.",
        ),
    ] = True,
    url: UrlOption = DEFAULT_URL,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Print live events (WebSocket user/syncrequest), one line each, until Ctrl-C."""
    connection = connection_or_exit(url, user, password)
    entity_types = list(dict.fromkeys(entity or ["accountRiskStatus"]))
    accounts = sorted(set(account)) if account else None

    async def main() -> int:
        from websockets.exceptions import InvalidHandshake

        client = make_stream_client(connection)
        async with client:
            await login(client, connection)
            seen = 0
            synced_once = False
            delay = RECONNECT_FIRST
            relogged = False
            while True:
                try:
                    async with client.subscribe(entity_types, accounts=accounts) as stream:
                        async for item in stream:
                            if not isinstance(item, PropsEvent):
                                _snapshot_line(item.data, entity_types, again=synced_once)
                                synced_once, delay, relogged = True, RECONNECT_FIRST, False
                                continue
                            if not _wanted(item, entity_types, accounts):
                                continue
                            _event_line(item, json_output)
                            seen += 1
                            if max_events is not None and seen >= max_events:
                                return 0
                    if not reconnect:
                        render.error_line("the stream ended")
                        return 1
                    why = "the stream ended"
                except StreamClosedError as exc:
                    if not reconnect:
                        render.error_line(f"the stream ended: {exc}")
                        return 1
                    why = f"the stream ended: {exc}"
                except AuthError as exc:
                    # After a server restart the token may be gone: log in again, once per outage.
                    if not reconnect or relogged:
                        raise
                    why, relogged = f"the token was refused ({exc}); logging in again", True
                    await login(client, connection)
                except StreamError as exc:
                    raise CliError(f"{connection.url}: {exc}", 1) from None
                except (OSError, TimeoutError, InvalidHandshake, TransportError) as exc:
                    # TransportError: the token's renewal could not reach the server.
                    if not (reconnect and synced_once):
                        raise CliError(f"cannot open the WebSocket {client.websocket_url} ({exc})") from None
                    why = f"cannot reconnect to {client.websocket_url} ({exc})"
                render.warning_line(f"{why}; reconnecting in {delay:g} s (events meanwhile are not replayed)")
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX)

    raise typer.Exit(run_command(main, interrupted=0))


def _snapshot_line(data: dict[str, Any], entity_types: list[str], *, again: bool) -> None:
    sizes = ", ".join(f"{k} {len(v)}" for k, v in data.items() if isinstance(v, list) and v)  # by key
    render.err.print(
        f"{'reconnected: ' if again else ''}watching {', '.join(entity_types)} "
        f"(snapshot: {sizes or 'empty'}); Ctrl-C to stop",
        highlight=False,
    )


def _wanted(event: PropsEvent, entity_types: list[str], accounts: list[int] | None) -> bool:
    if event.entity_type not in entity_types:
        return False
    return accounts is None or _account_of(event) in accounts


def _account_of(event: PropsEvent) -> Any:
    """The account an entity belongs to: `accountId`, or the id itself for the risk status and the
    post-trade settings (their id is the account's)."""
    if "accountId" in event.entity:
        return event.entity["accountId"]
    if event.entity_type in ("accountRiskStatus", "userAccountAutoLiq", "cashBalance"):
        return event.entity.get("id")
    return None


def _event_line(event: PropsEvent, json_output: bool) -> None:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if json_output:
        line = json.dumps(
            {
                "time": now,
                "entityType": event.entity_type,
                "eventType": event.event_type,
                "entity": event.entity,
            },
            ensure_ascii=False,
        )
    else:
        entity = json.dumps(event.entity, separators=(",", ":"), ensure_ascii=False)
        line = f"{now} {event.entity_type} {event.event_type} account={_account_of(event)} {entity}"
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
