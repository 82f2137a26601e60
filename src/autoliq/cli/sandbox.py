"""`autoliq sandbox ...`: drive a running autoliq's sandbox controls over HTTP (the CLI as a client).

They connect as the operator commands do (autoliq/cli/connection.py): `--url` a preset (`local`,
`demo`, `live`) or a base URL (a `/v1` suffix accepted), the password asked for on a terminal, a
server that cannot be reached or a login refused one line `error: ...` and exit 2. A request the
server refuses prints `refused: <errorText>` and exits 1.
"""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from autoliq.cli.connection import (
    DEFAULT_URL,
    PasswordOption,
    UrlOption,
    connection_or_exit,
    login,
    make_client,
    pacing_defaults,
    run_command,
)
from autoliq.cli.help import App
from autoliq.cli.render import plural
from autoliq.client import ApiError, AsyncClient, ClientSettings, HTTPStatusError
from autoliq.domain.sandbox import FaultKind

sandbox_app = App(
    help="Sandbox controls of a running autoliq (prices, clock, reset, faults).", no_args_is_help=True
)
console = Console(soft_wrap=True)

UserOption = Annotated[
    str, typer.Option("--user", envvar="AUTOLIQ_USER", help="An organization admin's login.")
]
"""As the operator commands' `--user`, with the demo organization's admin by default."""

SANDBOX_SETTINGS = ClientSettings(timeout=60.0, read_retries=0)
"""A reset of a large sandbox takes longer than the SDK's default 10 s; a control typed by hand is
tried once (a server that is down is said at once, in one line)."""


class Refused(Exception):
    """The server refused a request: the command ends with this line and exit 1."""


def run_sandbox(
    url: str, user: str, password: str | None, work: Callable[[AsyncClient], Awaitable[None]]
) -> None:
    """Log in as the operator commands do, then run `work` with the client; its refusals exit 1."""
    connection = connection_or_exit(url, user, password)

    async def main() -> int:
        rate, _ = pacing_defaults(connection.loopback)
        client, _pace = make_client(connection, rate=rate, connections=2, settings=SANDBOX_SETTINGS)
        async with client:
            await login(client, connection)
            try:
                await work(client)
            except (ApiError, HTTPStatusError) as exc:
                console.print(f"[red]refused:[/red] {escape(exc.error_text or str(exc))}")
                return 1
            except Refused as exc:
                console.print(f"[red]rejected {escape(str(exc))}[/red]")
                return 1
        return 0

    code = run_command(main)
    if code:
        raise typer.Exit(code)


@dataclass(frozen=True, slots=True)
class Tick:
    """One CSV row: at `offset` seconds after the first row, `symbol` traded at `price`."""

    offset: float
    symbol: str
    price: float


def read_ticks(path: Path) -> list[Tick]:
    """Rows of `time,symbol,price` (a header row is optional); time is ISO 8601 or seconds."""
    ticks: list[Tick] = []
    start: float | None = None
    with path.open(newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or row[0].strip().lower() == "time":
                continue
            if len(row) != 3:
                raise ValueError(
                    f"line {number}: expected time,symbol,price, got {plural(len(row), 'field')}"
                )
            raw_time, symbol, raw_price = (cell.strip() for cell in row)
            try:
                moment = float(raw_time)
            except ValueError:
                try:
                    moment = datetime.fromisoformat(raw_time.replace("Z", "+00:00")).timestamp()
                except ValueError:
                    raise ValueError(
                        f"line {number}: time {raw_time!r} is neither ISO 8601 nor seconds"
                    ) from None
            try:
                price = float(raw_price)
            except ValueError:
                raise ValueError(f"line {number}: price {raw_price!r} is not a number") from None
            if start is None:
                start = moment
            if moment < start or (ticks and moment - start < ticks[-1].offset):
                raise ValueError(f"line {number}: times must not go backwards")
            ticks.append(Tick(moment - start, symbol, price))
    return ticks


@sandbox_app.command()
def replay(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV of time,symbol,price.")],
    speed: Annotated[float, typer.Option(min=0, help="Time multiplier; 0 sends every row at once.")] = 1.0,
    url: UrlOption = DEFAULT_URL,
    user: UserOption = "admin",
    password: PasswordOption = None,
) -> None:
    """Replay a CSV of prices into autoliq at `--speed` times real time (rows of one instant go together;
    the sandbox operator's admins)."""
    try:
        ticks = read_ticks(file)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    # Rows at the same instant are sent in one call: they are one market state.
    groups: list[list[Tick]] = []
    for tick in ticks:
        if groups and groups[-1][0].offset == tick.offset:
            groups[-1].append(tick)
        else:
            groups.append([tick])

    async def send(client: AsyncClient) -> None:
        started = time.monotonic()
        with Progress(
            TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("rows", total=len(ticks))
            for group in groups:
                if speed > 0:
                    wait = group[0].offset / speed - (time.monotonic() - started)
                    if wait > 0:
                        await asyncio.sleep(wait)
                body = {"prices": [{"symbol": t.symbol, "price": t.price} for t in group]}
                try:
                    await client.request("POST", "/_autoliq/prices", json=body)
                except (ApiError, HTTPStatusError) as exc:
                    raise Refused(f"at offset {group[0].offset:g} s: {exc.error_text or exc}") from None
                progress.advance(task, len(group))

    run_sandbox(url, user, password, send)
    console.print(f"replayed {len(ticks)} prices in {len(groups)} steps")


@sandbox_app.command()
def clock(
    now: Annotated[
        str | None, typer.Option("--now", help="Set the clock to this ISO 8601 time (with an offset).")
    ] = None,
    advance: Annotated[
        float | None, typer.Option("--advance", min=0, help="Move the clock this many seconds ahead.")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    user: UserOption = "admin",
    password: PasswordOption = None,
) -> None:
    """Show the sandbox clock, or move it forward with --now or --advance (the sandbox operator's admins)."""
    if now is not None and advance is not None:
        console.print("[red]error:[/red] give --now or --advance, not both")
        raise typer.Exit(2)

    async def show(client: AsyncClient) -> None:
        if now is None and advance is None:
            answer = await client.request("GET", "/_autoliq/clock")
        else:
            body: dict[str, object] = {"now": now} if now is not None else {"advanceSeconds": advance}
            answer = await client.request("POST", "/_autoliq/clock", json=body)
        state = "open" if answer["marketOpen"] else "closed"
        console.print(f"sandbox time  {answer['now']}  (trade date {answer['tradeDate']}, market {state})")
        console.print(f"next open     {answer['nextMarketOpen']}   weekly open {answer['nextWeeklyOpen']}")
        console.print(f"ahead of the machine's clock by {answer['offsetSeconds']:g} s")
        if answer.get("speed", 100) != 100:
            console.print(f"running at {answer['speed']}% of real time (a market replay's speed)")

    run_sandbox(url, user, password, show)


# -- reset and fault injection --

fault_app = App(
    help="Inject faults into the next calls of a /v1 route by your organization's users (its admins).",
    no_args_is_help=True,
)
sandbox_app.add_typer(fault_app, name="fault")


def _call(
    url: str, user: str, password: str | None, method: str, path: str, body: dict[str, object] | None = None
) -> dict[str, Any]:
    """Log in as `user`, send one request, and its JSON answer; exit 1 with the errorText when refused."""
    answers: list[dict[str, Any]] = []

    async def send(client: AsyncClient) -> None:
        answer = await client.request(method, path, json=body)
        answers.append(answer if isinstance(answer, dict) else {})

    run_sandbox(url, user, password, send)
    return answers[0]


@sandbox_app.command()
def reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    url: UrlOption = DEFAULT_URL,
    user: UserOption = "admin",
    password: PasswordOption = None,
) -> None:
    """Reset the sandbox to its seeded state (organization admins, demo servers): for the sandbox
    operator's admins every organization's orders, fills, positions, cash, settings, prices, faults
    and the clock; for another organization's admin that organization's only."""
    question = (
        f"Reset every organization's sandbox state at {url} (only your organization's unless"
        " you operate the sandbox)?"
    )
    if not yes and not typer.confirm(question):
        raise typer.Exit(1)
    answer = _call(url, user, password, "POST", "/_autoliq/reset")
    removed = answer.get("removed", {})
    assert isinstance(removed, dict)
    parts = ", ".join(f"{n} {kind}" for kind, n in removed.items() if n) or "nothing else"
    scope = "your organization" if answer.get("scope") == "organization" else "every organization"
    console.print(
        f"sandbox reset ({scope}) at {answer['resetAt']}: {answer['statusesReset']} statuses back to Normal"
    )
    console.print(f"removed: {escape(parts)}")


def _fault_line(fault: dict[str, object]) -> str:
    extra = ""
    if "delayMs" in fault:
        extra = f"  delay {fault['delayMs']} ms"
    if "pTime" in fault:
        extra = f"  p-time {fault['pTime']} s" + ("  p-captcha" if fault.get("pCaptcha") else "")
    return f"#{fault['id']}  {fault['path']}  {fault['kind']}  x{fault['remaining']}{extra}"


@fault_app.command("add")
def fault_add(
    path: Annotated[str, typer.Argument(help="A /v1 route, any case: /v1/order/placeorder.")],
    kind: Annotated[FaultKind, typer.Argument(help="How the calls are answered.", case_sensitive=True)],
    count: Annotated[int, typer.Option(min=1, help="How many of the next calls take it.")] = 1,
    delay_ms: Annotated[
        int | None, typer.Option("--delay-ms", help="kind delay: milliseconds before processing.")
    ] = None,
    p_time: Annotated[
        int | None, typer.Option("--p-time", help="kind penaltyTicket: the ticket's p-time (seconds).")
    ] = None,
    p_captcha: Annotated[
        bool, typer.Option("--p-captcha", help="kind penaltyTicket: the ticket asks for a captcha.")
    ] = False,
    url: UrlOption = DEFAULT_URL,
    user: UserOption = "admin",
    password: PasswordOption = None,
) -> None:
    """Make the next --count calls of PATH answer as KIND says."""
    body: dict[str, object] = {"path": path, "kind": kind.value, "count": count}
    if delay_ms is not None:
        body["delayMs"] = delay_ms
    if p_time is not None:
        body["pTime"] = p_time
    if p_captcha:
        body["pCaptcha"] = True
    console.print(
        "added " + escape(_fault_line(_call(url, user, password, "POST", "/_autoliq/faults", body)))
    )


@fault_app.command("list")
def fault_list(
    url: UrlOption = DEFAULT_URL,
    user: UserOption = "admin",
    password: PasswordOption = None,
) -> None:
    """Your organization's pending faults, in the order they are taken."""
    faults = _call(url, user, password, "GET", "/_autoliq/faults")["faults"]
    assert isinstance(faults, list)
    if not faults:
        console.print("no pending faults")
    for fault in faults:
        console.print(escape(_fault_line(fault)))


@fault_app.command("clear")
def fault_clear(
    url: UrlOption = DEFAULT_URL,
    user: UserOption = "admin",
    password: PasswordOption = None,
) -> None:
    """Drop your organization's pending faults (and the penalty tickets handed out to its calls)."""
    answer = _call(url, user, password, "DELETE", "/_autoliq/faults")
    console.print(f"cleared {plural(int(answer['cleared']), 'fault')}")
