"""What the operator commands print: Rich tables for people, JSON for machines, one-line errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from autoliq.cli.bulk import BulkReport, Plan
from autoliq.cli.selection import Target
from autoliq.client import Account, AccountRiskStatus

__all__ = [
    "dry_run_json",
    "err",
    "error_line",
    "out",
    "print_accounts",
    "print_dry_run",
    "print_json",
    "print_log",
    "print_report",
    "print_statuses",
]

out = Console(soft_wrap=True)
"""Standard output: results (tables, reports)."""
err = Console(stderr=True, soft_wrap=True)
"""Standard error: messages and the progress bar."""

PLAN_TEXT = {
    Plan.SEND: "send",
    Plan.SKIP_IN_STATE: "skip: already in the state",
    Plan.SKIP_JOURNAL: "skip: verified in the journal",
}


def error_line(message: str) -> None:
    """`error: ...` on standard error, one line."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)


def warning_line(message: str) -> None:
    """`warning: ...` on standard error, one line: something went wrong and the command goes on."""
    err.print(f"[yellow]warning:[/yellow] {escape(message)}", highlight=False)


def print_json(value: Any) -> None:
    """One JSON document on standard output (plain: no colour, no wrapping)."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return escape(str(value))


def _table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    table = Table(*columns, show_lines=False, header_style="bold", pad_edge=False, box=None)
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
    return table


def _print_table(table: Table) -> None:
    """A table at its natural width when stdout is a file or a pipe (nothing cut off), else fitted."""
    if out.is_terminal:
        out.print(table)
        return
    natural = Measurement.get(out, out.options.update(width=10_000), table).maximum
    Console(file=out.file, width=max(natural, out.width), soft_wrap=True).print(table)


def print_accounts(accounts: Sequence[Account]) -> None:
    """`accounts list`: one row per account."""
    rows = [
        (a.get("id"), a.get("name"), a.get("userId"), a.get("riskCategoryId"), a.get("closed"))
        for a in accounts
    ]
    _print_table(_table(("id", "name", "userId", "riskCategoryId", "archived"), rows))
    out.print(plural(len(accounts), "account"), highlight=False)


def print_statuses(statuses: Sequence[AccountRiskStatus], names: Mapping[int, str | None]) -> None:
    """`accounts status`: one row per risk status."""
    rows = [
        (
            s.get("id"),
            names.get(s.get("id", 0)),
            s.get("adminAction"),
            s.get("adminTimestamp"),
            s.get("liquidateOnly"),
            s.get("maxNetLiq"),
            s.get("minNetLiq"),
        )
        for s in statuses
    ]
    columns = ("id", "name", "adminAction", "adminTimestamp", "liquidateOnly", "maxNetLiq", "minNetLiq")
    _print_table(_table(columns, rows))
    out.print(plural(len(statuses), "account"), highlight=False)


def print_log(source: str, entries: Sequence[Mapping[str, Any]]) -> None:
    """`log`: autoliq's audit (who and why) or Tradovate's accountRiskStatusLog rows."""
    if source == "audit":
        columns: tuple[str, ...] = (
            "timestamp",
            "adminAction",
            "actor",
            "actorUserId",
            "reasonCode",
            "reason",
        )
    else:
        columns = ("timestamp", "adminAction", "adminTimestamp", "liquidateOnly", "maxNetLiq", "minNetLiq")
    _print_table(_table(columns, ([e.get(c) for c in columns] for e in entries)))
    what = "autoliq's audit log" if source == "audit" else "accountRiskStatusLog"
    out.print(f"{plural(len(entries), 'entry', 'entries')} ({what})", highlight=False)


def print_dry_run(action: str, planned: Sequence[tuple[Target, Plan]]) -> None:
    """`--dry-run`: every selected account, its current adminAction and what a run would do."""
    rows = [(t.account_id, t.name, t.admin_action, PLAN_TEXT[p]) for t, p in planned]
    _print_table(_table(("id", "name", "adminAction now", "plan"), rows))
    send = sum(1 for _, p in planned if p is Plan.SEND)
    out.print(
        f"dry run: {action} would be sent to {send} of {len(planned)} selected accounts "
        f"({len(planned) - send} skipped); nothing was sent",
        highlight=False,
    )


def dry_run_json(action: str, planned: Sequence[tuple[Target, Plan]]) -> dict[str, Any]:
    """`--dry-run --json`: the same as a document."""
    return {
        "adminAction": action,
        "counts": {
            "selected": len(planned),
            "send": sum(1 for _, p in planned if p is Plan.SEND),
            "skip": sum(1 for _, p in planned if p is not Plan.SEND),
        },
        "accounts": [
            {"accountId": t.account_id, "name": t.name, "adminAction": t.admin_action, "plan": p.value}
            for t, p in planned
        ],
    }


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 account`, `2 accounts`, `1,000 accounts` (`nouns`: the plural when it is not noun + s)."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"


def print_report(report: BulkReport, *, url: str, user: str, journal: str, requests: int) -> None:
    """The end of an action run, for people: counts, journal, failures, what is left."""
    counts = report.counts()
    out.print(
        f"{report.admin_action} on {escape(url)} as {escape(user)}: "
        f"{plural(counts['selected'], 'account')} selected",
        highlight=False,
    )
    out.print(
        f"  done {counts['done']}, skipped {counts['skipped']} "
        f"(already {report.admin_action}: {len(report.skipped_in_state)}, "
        f"verified in the journal: {len(report.skipped_journal)}), failed {counts['failed']}",
        highlight=False,
    )
    # A rate only when some accounts were done and it took measurable time ("(0 accounts/s)" said nothing).
    rate = (
        f" ({len(report.done) / report.elapsed:,.0f} accounts/s)"
        if report.done and report.elapsed > 0
        else ""
    )
    out.print(
        f"  journal {escape(journal)}; {plural(requests, 'request')} in {report.elapsed:.1f} s{rate}",
        highlight=False,
    )
    if report.failed:
        out.print(f"[red]failed ({len(report.failed)}):[/red]")
        rows = [(s.target.account_id, s.target.name, s.detail) for s in report.failed]
        _print_table(_table(("id", "name", "error"), rows))
    if report.aborted:
        out.print(f"[red]stopped:[/red] {escape(report.aborted)}")
    if report.stopped:
        out.print("[yellow]interrupted[/yellow]")
    left = len(report.not_attempted) + len(report.interrupted)
    if left:
        out.print(
            f"  {len(report.not_attempted)} not attempted, {len(report.interrupted)} in flight "
            "(outcome unknown): run the same command with --resume to finish",
            highlight=False,
        )
    elif report.failed:
        out.print("  run the same command with --resume to try the failed accounts again", highlight=False)


def print_limits(rows: Sequence[Mapping[str, Any]]) -> None:
    """Position limit rows (with their `riskParameters`), one line each."""
    table = _table(
        ("account", "limit", "active", "totalBy", "scope", "long", "short", "exposed", "risk parameters"),
        (
            (
                row.get("accountId"),
                row.get("id"),
                row.get("active"),
                row.get("totalBy"),
                next(
                    (
                        f"{key}={row[key]}"
                        for key in ("contractId", "productId", "exchangeId", "contractGroupId", "productType")
                        if row.get(key) is not None
                    ),
                    "",
                ),
                row.get("longLimit"),
                row.get("shortLimit"),
                row.get("exposedLimit"),
                "; ".join(
                    ", ".join(
                        f"{k}={v}" for k, v in p.items() if k not in ("id", "userAccountPositionLimitId")
                    )
                    for p in row.get("riskParameters", [])
                ),
            )
            for row in rows
        ),
    )
    _print_table(table)


def _parameter_text(parameter: Mapping[str, Any]) -> str:
    skipped = ("id", "userAccountPositionLimitId")
    return ", ".join(f"{k}={v}" for k, v in parameter.items() if k not in skipped)
