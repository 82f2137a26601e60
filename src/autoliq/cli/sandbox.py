"""`autoliq sandbox ...`: drive a running autoliq's sandbox controls over HTTP (the CLI as a client)."""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

sandbox_app = typer.Typer(
    help="Sandbox controls of a running autoliq (prices, clock, reset, faults).", no_args_is_help=True
)
console = Console(soft_wrap=True)

UrlOption = Annotated[str, typer.Option("--url", envvar="AUTOLIQ_URL", help="autoliq's base URL.")]
UserOption = Annotated[
    str, typer.Option("--user", envvar="AUTOLIQ_USER", help="An organization admin's login.")
]
PasswordOption = Annotated[str, typer.Option("--password", envvar="AUTOLIQ_PASSWORD", help="Its password.")]


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
                raise ValueError(f"line {number}: expected time,symbol,price, got {len(row)} fields")
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


def login(client: httpx.Client, user: str, password: str) -> str:
    """An access token, or exit with Tradovate's error text."""
    answer = client.post("/v1/auth/accesstokenrequest", json={"name": user, "password": password}).json()
    if "accessToken" not in answer:
        console.print(f"[red]login failed:[/red] {escape(str(answer.get('errorText', answer)))}")
        raise typer.Exit(1)
    return str(answer["accessToken"])


@sandbox_app.command()
def replay(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV of time,symbol,price.")],
    speed: Annotated[float, typer.Option(min=0, help="Time multiplier; 0 sends every row at once.")] = 1.0,
    url: UrlOption = "http://127.0.0.1:8080",
    user: UserOption = "admin",
    password: PasswordOption = "",
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
    with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
        client.headers["Authorization"] = f"Bearer {login(client, user, password)}"
        started = time.monotonic()
        with Progress(
            TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("rows", total=len(ticks))
            for group in groups:
                if speed > 0:
                    wait = group[0].offset / speed - (time.monotonic() - started)
                    if wait > 0:
                        time.sleep(wait)
                body = {"prices": [{"symbol": t.symbol, "price": t.price} for t in group]}
                r = client.post("/_autoliq/prices", json=body)
                if r.status_code != 200:
                    text = r.json().get("errorText", r.text) if r.content else r.reason_phrase
                    console.print(f"[red]rejected at offset {group[0].offset:g} s:[/red] {escape(str(text))}")
                    raise typer.Exit(1)
                progress.advance(task, len(group))
    console.print(f"replayed {len(ticks)} prices in {len(groups)} steps")


@sandbox_app.command()
def clock(
    now: Annotated[
        str | None, typer.Option("--now", help="Set the clock to this ISO 8601 time (with an offset).")
    ] = None,
    advance: Annotated[
        float | None, typer.Option("--advance", min=0, help="Move the clock this many seconds ahead.")
    ] = None,
    url: UrlOption = "http://127.0.0.1:8080",
    user: UserOption = "admin",
    password: PasswordOption = "",
) -> None:
    """Show the sandbox clock, or move it forward with --now or --advance (the sandbox operator's admins)."""
    if now is not None and advance is not None:
        console.print("[red]error:[/red] give --now or --advance, not both")
        raise typer.Exit(2)
    with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
        client.headers["Authorization"] = f"Bearer {login(client, user, password)}"
        if now is None and advance is None:
            r = client.get("/_autoliq/clock")
        else:
            body: dict[str, object] = {"now": now} if now is not None else {"advanceSeconds": advance}
            r = client.post("/_autoliq/clock", json=body)
    answer = r.json() if r.content else {}
    if r.status_code != 200:
        console.print(f"[red]refused:[/red] {escape(str(answer.get('errorText', r.reason_phrase)))}")
        raise typer.Exit(1)
    state = "open" if answer["marketOpen"] else "closed"
    console.print(f"sandbox time  {answer['now']}  (trade date {answer['tradeDate']}, market {state})")
    console.print(f"next open     {answer['nextMarketOpen']}   weekly open {answer['nextWeeklyOpen']}")
    console.print(f"ahead of the machine's clock by {answer['offsetSeconds']:g} s")


# -- reset and fault injection --

fault_app = typer.Typer(
    help="Inject faults into the next calls of a /v1 route by your organization's users (its admins).",
    no_args_is_help=True,
)
sandbox_app.add_typer(fault_app, name="fault")


def _call(
    url: str, user: str, password: str, method: str, path: str, body: dict[str, object] | None = None
) -> dict[str, object]:
    """Log in as `user`, send one request, and its JSON answer; exit 1 with the errorText when refused."""
    with httpx.Client(base_url=url, timeout=60, trust_env=False) as client:
        client.headers["Authorization"] = f"Bearer {login(client, user, password)}"
        r = client.request(method, path, json=body)
    answer = r.json() if r.content else {}
    if r.status_code != 200:
        text = answer.get("errorText", r.reason_phrase) if isinstance(answer, dict) else r.reason_phrase
        console.print(f"[red]refused:[/red] {escape(str(text))}")
        raise typer.Exit(1)
    assert isinstance(answer, dict)
    return answer


@sandbox_app.command()
def reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    url: UrlOption = "http://127.0.0.1:8080",
    user: UserOption = "admin",
    password: PasswordOption = "",
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
    kind: Annotated[
        str,
        typer.Argument(help="penaltyTicket, tooManyRequests, serverError, serverErrorAfterCommit or delay."),
    ],
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
    url: UrlOption = "http://127.0.0.1:8080",
    user: UserOption = "admin",
    password: PasswordOption = "",
) -> None:
    """Make the next --count calls of PATH answer as KIND says."""
    body: dict[str, object] = {"path": path, "kind": kind, "count": count}
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
    url: UrlOption = "http://127.0.0.1:8080",
    user: UserOption = "admin",
    password: PasswordOption = "",
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
    url: UrlOption = "http://127.0.0.1:8080",
    user: UserOption = "admin",
    password: PasswordOption = "",
) -> None:
    """Drop your organization's pending faults (and the penalty tickets handed out to its calls)."""
    answer = _call(url, user, password, "DELETE", "/_autoliq/faults")
    console.print(f"cleared {answer['cleared']} faults")
