"""CPU per transaction of writing a transaction's events to the outbox: the compiled INSERT on the raw
cursor (`adapters/sql/outbox.write_outbox`, what the unit of work runs) against the same rows through
SQLAlchemy's `execute` (what it ran before, kept here as the baseline), alternated in one run.

Each figure is `--transactions` transactions on one connection, each BEGIN, the outbox rows of
`--events` events (and on PostgreSQL `pg_notify`), COMMIT; CPU time of this process per transaction
(`time.process_time`), the medians of `--alternations` rounds. SQLite: a temporary file; PostgreSQL:
a throwaway database on the server of `--postgres` (loopback only), dropped afterwards.

    .venv/bin/python bench/outbox_write.py                 # SQLite and PostgreSQL, 1 and 6 events
    .venv/bin/python bench/outbox_write.py --no-postgres --events 1
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, create_engine, insert

from _common import DEFAULT_POSTGRES, postgres_reachable, throwaway_postgres
from autoliq.adapters.sql.batch import Batch
from autoliq.adapters.sql.db import migrate, normalize_url
from autoliq.adapters.sql.outbox import CHANNEL, encode_event, write_outbox
from autoliq.adapters.sql.schema import event_outbox
from autoliq.domain.events import Event, SessionsClosed


def through_sqlalchemy(batch: Batch, origin: str, events: Sequence[Event], now: datetime) -> None:
    """The baseline: the rows through SQLAlchemy's `execute`, as write_outbox did before."""
    conn = batch.connection
    rows = [{"origin": origin, "created": now, "payload": encode_event(e)} for e in events]
    conn.execute(insert(event_outbox), rows)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_notify('{CHANNEL}', '')")


Writer = Callable[[Batch, str, Sequence[Event], datetime], None]
WAYS: dict[str, Writer] = {"sqlalchemy": through_sqlalchemy, "raw cursor": write_outbox}


def measure(conn: Connection, write: Writer, events: list[Event], transactions: int) -> float:
    began = time.process_time()
    for _ in range(transactions):
        with conn.begin():
            batch = Batch(conn)
            write(batch, "bench", events, datetime.now(UTC))
            batch.close()
    return (time.process_time() - began) / transactions * 1e6


def run(label: str, url: str, args: argparse.Namespace) -> None:
    migrate(url)
    engine = create_engine(normalize_url(url))
    for count in args.events:
        events: list[Event] = [SessionsClosed((1, 2))] * count
        figures: dict[str, list[float]] = {way: [] for way in WAYS}
        with engine.connect() as conn:
            for _ in range(args.alternations):
                for way, write in WAYS.items():
                    figures[way].append(measure(conn, write, events, args.transactions))
        medians = {way: statistics.median(v) for way, v in figures.items()}
        runs = "  ".join(f"{way}: {', '.join(f'{x:.0f}' for x in v)}" for way, v in figures.items())
        print(
            f"{label:10} {count} event(s): CPU us/transaction, medians "
            + ", ".join(f"{way} {m:.0f}" for way, m in medians.items())
            + f" ({medians['raw cursor'] / medians['sqlalchemy']:.2f}x)   [{runs}]",
            flush=True,
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, nargs="+", default=[1, 6])
    parser.add_argument("--transactions", type=int, default=2000)
    parser.add_argument("--alternations", type=int, default=5)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outbox_write_") as tmp:
        run("SQLite", f"sqlite:///{tmp}/bench.db", args)
    if not args.no_postgres:
        reason = postgres_reachable(args.postgres)
        if reason is not None:
            print(f"PostgreSQL skipped: {reason}")
            return
        with contextlib.ExitStack() as stack:
            run(
                "PostgreSQL",
                stack.enter_context(throwaway_postgres(args.postgres, "autoliq_outbox_write")),
                args,
            )


if __name__ == "__main__":
    main()
