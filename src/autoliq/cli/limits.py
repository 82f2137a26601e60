"""`autoliq limits ...`: show, set and clear accounts' pre-trade limits (Tradovate's
`userAccountPositionLimit` rows and their `userAccountRiskParameter`), over one or thousands of
accounts, built on the SDK; the same against autoliq and Tradovate (docs/cli.md).

`set` and `clear` go account by account (at most `--concurrency` in flight, `--rate` requests a
second all included, as `autoliq accounts lock`), read each account's rows back to verify, and write
a journal line per account as soon as it is verified or failed: `--resume` continues a run,
skipping the accounts its journal shows verified. Exit codes as `autoliq accounts`: 0 every account
verified, 1 some failed or not found, 2 a usage error, no connection or a login refused, 128 + the
signal when interrupted (the journal kept).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from autoliq.cli import render
from autoliq.cli.connection import (
    DEFAULT_URL,
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
from autoliq.cli.operator import AllOption, FileOption, IdsArgument, NameLikeOption, select_accounts
from autoliq.cli.selection import Selection
from autoliq.client import AsyncClient, AutoliqClientError, PositionLimit, RiskParameter

__all__ = ["limits_app"]

limits_app = App(
    help="Accounts' pre-trade limits (userAccountPositionLimit, userAccountRiskParameter): show, set, clear.",
    no_args_is_help=True,
)

SCOPES = ("Contract", "Product", "Exchange", "ContractGroup", "Overall")
_SCOPE_KEY = {
    "Contract": "contractId",
    "Product": "productId",
    "Exchange": "exchangeId",
    "ContractGroup": "contractGroupId",
    "Overall": None,
}
RateOption = Annotated[
    float | None,
    typer.Option(
        "--rate", min=0, help="Requests per second, all included (0: no limit).", show_default=False
    ),
]
ConcurrencyOption = Annotated[
    int | None, typer.Option("--concurrency", min=1, max=1000, help="Accounts in flight.", show_default=False)
]
JournalOption = Annotated[
    Path | None,
    typer.Option("--journal", help="Journal file (JSON lines).", dir_okay=False, show_default=False),
]
ResumeOption = Annotated[
    bool, typer.Option("--resume", help="Continue the journal: accounts verified in it are not touched.")
]


# -- show --


@limits_app.command("show")
def show(
    ids: IdsArgument = None,
    file: FileOption = None,
    all_accounts: AllOption = False,
    name_like: NameLikeOption = None,
    json_output: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Show accounts' position limit rows and their risk parameters."""
    selection = select_accounts(ids, file, all_accounts, name_like, None, action=False)
    connection = connection_or_exit(url, user, password)

    async def main() -> int:
        client, _pace = make_client(connection)
        async with client:
            await login(client, connection)
            targets = selection.resolve(await client.accounts(), {})
            account_ids = [t.account_id for t in targets]
            limits = await client.position_limits(account_ids) if account_ids else []
            parameters = await client.risk_parameters([int(r["id"]) for r in limits]) if limits else []
        by_limit: dict[int, list[RiskParameter]] = {}
        for parameter in parameters:
            by_limit.setdefault(int(parameter["userAccountPositionLimitId"]), []).append(parameter)
        rows = [{**limit, "riskParameters": by_limit.get(int(limit["id"]), [])} for limit in limits]
        if json_output:
            render.print_json(rows)
        else:
            render.print_limits(rows)
        return 0

    raise typer.Exit(run_command(main))


# -- set and clear --


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """What `set` writes on each account: a row of `total_by` over `scope_id` (None for Overall),
    and, when any is given, one risk parameter under it."""

    total_by: str
    scope_id: int | None
    fields: dict[str, Any]
    parameter: dict[str, Any]

    def row(self, account_id: int, limit_id: int | None) -> PositionLimit:
        key = _SCOPE_KEY[self.total_by]
        body: dict[str, Any] = {
            "accountId": account_id,
            "active": True,
            "totalBy": self.total_by,
            **self.fields,
        }
        if key is not None:
            body[key] = self.scope_id
        if limit_id is not None:
            body["id"] = limit_id
        return body  # type: ignore[return-value]

    def matches(self, row: PositionLimit) -> bool:
        """Whether `row` is this spec's row (same totalBy and scope)."""
        key = _SCOPE_KEY[self.total_by]
        stored: dict[str, Any] = dict(row)
        return stored.get("totalBy") == self.total_by and (key is None or stored.get(key) == self.scope_id)


@dataclass
class RunReport:
    """Per account: `done`, `skipped` (verified in the journal) or `failed` (with the error)."""

    outcomes: dict[int, dict[str, Any]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts = {"done": 0, "skipped": 0, "failed": 0}
        for line in self.outcomes.values():
            counts[line["outcome"]] += 1
        return counts


def _differs(sent: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    return [name for name, value in sent.items() if name != "id" and stored.get(name) != value]


async def _set_one(client: AsyncClient, spec: LimitSpec, account_id: int) -> dict[str, Any]:
    """Create or update the account's row (and its parameter), then read both back."""
    existing = [row for row in await client.position_limits([account_id]) if spec.matches(row)]
    limit_id = int(existing[0]["id"]) if existing else None
    body = spec.row(account_id, limit_id)
    saved = await (client.update_position_limit(body) if limit_id else client.create_position_limit(body))
    limit_id = int(saved["id"])
    if spec.parameter:
        current = await client.risk_parameters([limit_id])
        parameter: dict[str, Any] = {"userAccountPositionLimitId": limit_id, **spec.parameter}
        if current:
            await client.update_risk_parameter({**parameter, "id": current[0]["id"]})  # type: ignore[typeddict-item]
        else:
            await client.create_risk_parameter(parameter)  # type: ignore[arg-type]
    stored = [row for row in await client.position_limits([account_id]) if int(row["id"]) == limit_id]
    if not stored or _differs(dict(body), dict(stored[0])):
        raise CliError(f"read back {stored} does not show {dict(body)}", 1)
    if spec.parameter:
        read = await client.risk_parameters([limit_id])
        if not read or _differs({"userAccountPositionLimitId": limit_id, **spec.parameter}, dict(read[0])):
            raise CliError(f"read back {read} does not show the risk parameter {spec.parameter}", 1)
    return {"limitId": limit_id}


async def _clear_one(client: AsyncClient, account_id: int) -> dict[str, Any]:
    """Delete every row of the account (their parameters go with them), then read back none."""
    rows = await client.position_limits([account_id])
    for row in rows:
        await client.delete_position_limit(int(row["id"]))
    left = await client.position_limits([account_id])
    if left:
        raise CliError(f"read back {render.plural(len(left), 'row')} left", 1)
    return {"deleted": len(rows)}


def _run(
    connection: Connection,
    selection: Selection,
    command: str,
    spec: dict[str, Any],
    prepare: Callable[[AsyncClient], Awaitable[Callable[[AsyncClient, int], Awaitable[dict[str, Any]]]]],
    *,
    rate: float | None,
    concurrency: int | None,
    journal: Path | None,
    resume: bool,
    json_output: bool,
) -> int:
    """Run the per-account step `prepare` makes (after the login: it may read what the step needs)
    over the selected accounts with pacing, a journal and read-back; the exit code. `spec` is what
    the command asks, as its journal records it."""
    default_rate, default_concurrency = pacing_defaults(connection.loopback)
    rate = default_rate if rate is None else rate
    width = concurrency or default_concurrency
    key = {"url": connection.url, "user": connection.user, "limits": spec, "selection": selection.spec()}
    path = journal or default_path(f"limits-{command}", key)
    # The journal's compatibility check compares `adminAction`, `limits` and the URL: a resumed run
    # must ask the same thing.
    run_line = {
        "command": f"limits {command}",
        "adminAction": f"limits {command}",
        **key,
        "started": utc_stamp(),
    }
    try:
        verified = verified_before(path, run_line, resume=resume)
    except JournalError as exc:
        raise fail(CliError(str(exc))) from None

    async def main() -> int:
        client, pace = make_client(connection, rate=rate, connections=width)
        report = RunReport()
        async with client:
            await login(client, connection)
            one = await prepare(client)
            targets = selection.resolve(await client.accounts(), {})
            try:
                writer, _ = JournalWriter.open(path, run_line, resume=resume)
            except (JournalError, OSError) as exc:
                raise CliError(str(exc)) from None
            writer.start()
            gate = asyncio.Semaphore(width)

            async def settle(account_id: int) -> None:
                if account_id in verified:
                    line: dict[str, Any] = {
                        "accountId": account_id,
                        "outcome": "skipped",
                        "detail": "fromJournal",
                    }
                else:
                    async with gate:
                        try:
                            done = await one(client, account_id)
                            line = {"accountId": account_id, "outcome": "done", **done}
                        except (AutoliqClientError, CliError) as exc:
                            line = {"accountId": account_id, "outcome": "failed", "error": str(exc)}
                    line["time"] = utc_stamp()
                    writer.record(line)
                report.outcomes[account_id] = line

            try:
                await asyncio.gather(*(settle(t.account_id) for t in targets))
            finally:
                await writer.aclose()
        counts = report.counts()
        document = {
            "command": f"limits {command}",
            "journal": str(path),
            "requests": pace.sent,
            **counts,
            "accounts": list(report.outcomes.values()),
        }
        if json_output:
            render.print_json(document)
        else:
            for line in report.outcomes.values():
                if line["outcome"] == "failed":
                    render.error_line(f"account {line['accountId']}: {line['error']}")
            render.out.print(
                f"limits {command}: done {counts['done']}, skipped {counts['skipped']}, "
                f"failed {counts['failed']} ({render.plural(pace.sent, 'request')}; journal {path})",
                highlight=False,
            )
        return 0 if counts["failed"] == 0 else 1

    return run_command(main)


async def _scope_id(
    client: AsyncClient, total_by: str, symbol: str | None, product: str | None, scope_id: int | None
) -> int | None:
    """The id of the limit's scope: a contract's by `--symbol`, a product's by `--product`, else
    `--scope-id` (none for Overall)."""
    if total_by == "Overall":
        return None
    if total_by == "Contract" and symbol is not None:
        return int((await client.request("GET", "contract/find", params={"name": symbol}))["id"])
    if total_by == "Product" and product is not None:
        return int((await client.request("GET", "product/find", params={"name": product}))["id"])
    if scope_id is None:
        needed = {"Contract": "--symbol", "Product": "--product"}.get(total_by, "--scope-id")
        raise CliError(f"--total-by {total_by} needs {needed}")
    return scope_id


def _option(name: str, help_text: str) -> Any:
    return typer.Option(name, min=0, help=help_text, show_default=False)


@limits_app.command("set")
def set_limits(
    ids: IdsArgument = None,
    file: FileOption = None,
    all_accounts: AllOption = False,
    name_like: NameLikeOption = None,
    total_by: Annotated[
        str, typer.Option("--total-by", help=f"What the limit totals over: {', '.join(SCOPES)}.")
    ] = "Contract",
    symbol: Annotated[str | None, typer.Option("--symbol", help="--total-by Contract: the contract.")] = None,
    product: Annotated[str | None, typer.Option("--product", help="--total-by Product: the product.")] = None,
    scope_id: Annotated[int | None, typer.Option("--scope-id", min=1, help="Else the scope's id.")] = None,
    long_limit: Annotated[int | None, _option("--long", "longLimit: contracts long at most.")] = None,
    short_limit: Annotated[int | None, _option("--short", "shortLimit: contracts short at most.")] = None,
    exposed_limit: Annotated[int | None, _option("--exposed", "exposedLimit (working orders too).")] = None,
    description: Annotated[str | None, typer.Option("--description", help="At most 64 characters.")] = None,
    max_opening_qty: Annotated[int | None, _option("--max-opening-qty", "maxOpeningOrderQty.")] = None,
    max_closing_qty: Annotated[int | None, _option("--max-closing-qty", "maxClosingOrderQty.")] = None,
    max_back_month: Annotated[int | None, _option("--max-back-month", "maxBackMonth.")] = None,
    pre_expiration_days: Annotated[int | None, _option("--pre-expiration-days", "preExpirationDays.")] = None,
    rate: RateOption = None,
    concurrency: ConcurrencyOption = None,
    journal: JournalOption = None,
    resume: ResumeOption = False,
    json_output: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Set a position limit (and, with any of the --max-... options, one risk parameter) on accounts:
    the account's row of the same --total-by and scope is updated, else created; each read back."""
    if total_by not in SCOPES:
        raise fail(CliError(f"--total-by must be one of {', '.join(SCOPES)}"))
    if description is not None and len(description) > 64:
        raise fail(CliError("--description is at most 64 characters"))
    selection = select_accounts(ids, file, all_accounts, name_like, None, action=True)
    connection = connection_or_exit(url, user, password)
    values = (
        ("longLimit", long_limit),
        ("shortLimit", short_limit),
        ("exposedLimit", exposed_limit),
        ("description", description),
    )
    fields = {name: value for name, value in values if value is not None}
    asked = (
        ("maxOpeningOrderQty", max_opening_qty),
        ("maxClosingOrderQty", max_closing_qty),
        ("maxBackMonth", max_back_month),
        ("preExpirationDays", pre_expiration_days),
    )
    parameter = {name: value for name, value in asked if value is not None}
    key = {"totalBy": total_by, "symbol": symbol, "product": product, "scopeId": scope_id, **fields}

    async def prepare(client: AsyncClient) -> Callable[[AsyncClient, int], Awaitable[dict[str, Any]]]:
        spec = LimitSpec(
            total_by, await _scope_id(client, total_by, symbol, product, scope_id), fields, parameter
        )

        async def one(client: AsyncClient, account_id: int) -> dict[str, Any]:
            return await _set_one(client, spec, account_id)

        return one

    spec_key = {**key, "parameter": parameter}
    code = _run(
        connection,
        selection,
        "set",
        spec_key,
        prepare,
        rate=rate,
        concurrency=concurrency,
        journal=journal,
        resume=resume,
        json_output=json_output,
    )
    raise typer.Exit(code)


@limits_app.command("clear")
def clear_limits(
    ids: IdsArgument = None,
    file: FileOption = None,
    all_accounts: AllOption = False,
    name_like: NameLikeOption = None,
    rate: RateOption = None,
    concurrency: ConcurrencyOption = None,
    journal: JournalOption = None,
    resume: ResumeOption = False,
    json_output: JsonOption = False,
    url: UrlOption = DEFAULT_URL,
    user: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Delete every position limit row (and its risk parameters) of accounts; each read back."""
    selection = select_accounts(ids, file, all_accounts, name_like, None, action=True)
    connection = connection_or_exit(url, user, password)

    async def prepare(client: AsyncClient) -> Callable[[AsyncClient, int], Awaitable[dict[str, Any]]]:
        return _clear_one

    code = _run(
        connection,
        selection,
        "clear",
        {"clear": True},
        prepare,
        rate=rate,
        concurrency=concurrency,
        journal=journal,
        resume=resume,
        json_output=json_output,
    )
    raise typer.Exit(code)
