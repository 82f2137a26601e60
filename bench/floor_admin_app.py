"""A second floor for `set_admin_action.py --floor`: the least a CPython server does for the same
durable work as autoliq's `setadminautoliqaction`, with none of autoliq's layers.

`bare_app.py` answers without a database; this app does what the endpoint must do for the answer
to be true, written as directly as CPython allows, so that its CPU per request is the cost of the
work itself on this runtime:

- `floor.py`'s server, token, body and group commit (a writer thread, WAL, `synchronous=FULL`);
- the action checked, the account's organization checked against the caller's (a dict of
  account -> organization loaded at start);
- per batch: one `SELECT` of the batch's statuses, `executemany` of the status updates, of the
  audit-log rows and of the outbox rows (an event's JSON each);
- the answer encoded with msgspec from the committed status.

What it leaves out, which autoliq does: the audit row's actor and reason validation beyond a length
bound, Tradovate's full set of errorTexts, the liquidation an action can start, the event's
publication to WebSocket clients and other workers, metrics, connection limits, rate limits,
sandbox faults, storage-fault handling. So autoliq cannot be cheaper than this; the gap between this
floor and `bare_app.py` is what the durable work costs on CPython, and the gap between autoliq and
this floor is what its features and layers cost.

    .venv/bin/python bench/floor_admin_app.py --port 8098 --accounts 1000
"""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from floor import ORGANIZATION, Writer, in_marks, make_app, serve

PATH = "/v1/accountRiskStatus/setadminautoliqaction"
ACTIONS = frozenset(
    {
        "Normal",
        "LockTradingImmediately",
        "LiquidateImmediately",
        "LiquidateOnlyModeImmediately",
        "PlaceAutoLiqOnHold",
    }
)


class SetAdminAutoLiqAction(msgspec.Struct):
    accountId: int
    adminAction: str
    adminActionReasonCode: str
    adminActionReason: str


class Status(msgspec.Struct):
    id: int
    adminAction: str
    userTriggeredLiqOnly: bool
    adminTimestamp: str


class Answer(msgspec.Struct):
    accountRiskStatus: Status


class Event(msgspec.Struct):
    e: str
    d: Status


_encode = msgspec.json.Encoder().encode

SCHEMA = (
    "CREATE TABLE account_risk_status (id INTEGER PRIMARY KEY, organization_id INTEGER NOT NULL, "
    "admin_action TEXT NOT NULL, admin_timestamp TEXT, liquidate_only TEXT, "
    "user_triggered_liq_only INTEGER NOT NULL, max_net_liq REAL, min_net_liq REAL)",
    "CREATE TABLE account_risk_status_log (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "account_id INTEGER NOT NULL, timestamp TEXT NOT NULL, admin_action TEXT NOT NULL, "
    "admin_timestamp TEXT, liquidate_only TEXT, user_triggered_liq_only INTEGER NOT NULL, "
    "actor TEXT NOT NULL, actor_user_id INTEGER, reason_code TEXT, reason TEXT)",
    "CREATE INDEX ix_log_account_id_id ON account_risk_status_log (account_id, id)",
    "CREATE TABLE event_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL, "
    "created TEXT NOT NULL, payload TEXT NOT NULL)",
    "CREATE INDEX ix_event_outbox_created ON event_outbox (created)",
)


def commit(db: sqlite3.Connection, now: str, batch: list[SetAdminAutoLiqAction]) -> list[bytes]:
    marks, ids = in_marks(request.accountId for request in batch)
    current = {
        row[0]: row[1:]
        for row in db.execute(
            "SELECT id, liquidate_only, user_triggered_liq_only FROM account_risk_status "
            f"WHERE id IN ({marks})",
            ids,
        )
    }
    updates = []
    logs = []
    events = []
    answers = []
    for request in batch:
        liquidate_only, user_only = current[request.accountId]
        updates.append((request.adminAction, now, request.accountId))
        logs.append(
            (
                request.accountId,
                now,
                request.adminAction,
                now,
                liquidate_only,
                user_only,
                "admin",
                1,
                request.adminActionReasonCode,
                request.adminActionReason,
            )
        )
        status = Status(request.accountId, request.adminAction, bool(user_only), now)
        events.append(("floor", now, _encode(Event("accountRiskStatus", status)).decode()))
        answers.append(_encode(Answer(status)))
    db.executemany(
        "UPDATE account_risk_status SET admin_action = ?, admin_timestamp = ? WHERE id = ?", updates
    )
    db.executemany(
        "INSERT INTO account_risk_status_log (account_id, timestamp, admin_action, admin_timestamp, "
        "liquidate_only, user_triggered_liq_only, actor, actor_user_id, reason_code, reason) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        logs,
    )
    db.executemany("INSERT INTO event_outbox (origin, created, payload) VALUES (?, ?, ?)", events)
    return answers


def build(path: str, accounts: int) -> tuple[Writer, Any]:
    def seed(db: sqlite3.Connection) -> None:
        db.executemany(
            "INSERT INTO account_risk_status (id, organization_id, admin_action, user_triggered_liq_only) "
            "VALUES (?, ?, 'Normal', 0)",
            ((account_id, ORGANIZATION) for account_id in range(1, accounts + 1)),
        )

    organization_of = {account_id: ORGANIZATION for account_id in range(1, accounts + 1)}

    def check(request: SetAdminAutoLiqAction, organization: int) -> bytes | None:
        if request.adminAction not in ACTIONS or len(request.adminActionReason) > 500:
            return b'{"errorText":"Invalid adminAction"}'
        if organization_of.get(request.accountId) != organization:
            return b'{"errorText":"Access is denied"}'
        return None

    writer = Writer(path, SCHEMA, seed, commit)
    return writer, make_app(writer, PATH, msgspec.json.Decoder(SetAdminAutoLiqAction).decode, check)


if __name__ == "__main__":
    serve(__doc__, build)
