"""Where a profiled server's samples go, by layer: a table from py-spy's collapsed stacks.

`--profile` in `set_admin_action.py` / `place_order.py` writes py-spy's raw stacks
(`bench/results/profile-<time>/profile-<target>-cpu.txt`: on-CPU samples, C time counted in the
Python frame that called it; `-gil.txt`: samples while the thread held the GIL). This script
drops the blocked waits py-spy still reports (`IDLE_LEAVES`), puts each stack in one layer and
prints each layer's share; with `--us-per-request US` (the target's server CPU per request from the
same run) it also prints the share as microseconds per request (an approximation: the samplers
slow the server, and a sample is a thread on the CPU, not a core's time).

A stack goes to the first of these that matches:
1. whole-stack markers: background work (the scheduler, the outbox relay, the log listener,
   metrics' and gc's own threads) whatever it calls;
2. else its innermost frame that belongs to a layer, tried in this order: events (outbox rows,
   publication, WebSocket), auth (token, caller), storage (SQLAlchemy, sqlite3, autoliq's SQL
   adapters, the floors' commits), route (handlers, schemas, parameters), domain and service
   (autoliq's service and domain packages), autoliq's ASGI layers (edge, client address, body
   reading, connection limits, Litestar, telemetry), the HTTP server (uvicorn, httptools,
   uvloop, asyncio), the floor's own request code;
3. else "other".

    .venv/bin/python bench/profile_layers.py bench/results/profile-*/profile-floor-cpu.txt \\
        bench/results/profile-*/profile-autoliq-sqlite-cpu.txt --us-per-request 198 378
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

BACKGROUND = (
    "autoliq/service/scheduler.py",
    "OutboxRelay",
    "QueueListener",
    "autoliq-outbox-relay",
)

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "events (outbox, publication)",
        (
            "autoliq/adapters/sql/outbox.py",
            "autoliq/adapters/publisher.py",
            "autoliq/api/websocket",
            "UnitOfWork._record_events",
            "UnitOfWork._deliver",
            "UnitOfWork._settle_and_publish",
            "ClockService.on_events",
        ),
    ),
    (
        "auth (token, caller)",
        ("autoliq/api/security.py", "autoliq/service/auth.py", "autoliq/service/credentials.py"),
    ),
    (
        "storage (SQL, transaction)",
        ("sqlalchemy/", "sqlite3", "psycopg", "autoliq/adapters/sql/", "Writer.", "commit (floor_"),
    ),
    ("route (handler, schemas)", ("autoliq/api/routes/", "autoliq/api/schemas/", "autoliq/api/params.py")),
    ("domain and service", ("autoliq/service/", "autoliq/domain/")),
    (
        "autoliq ASGI layers (edge, limits, Litestar)",
        ("autoliq/api/", "litestar/", "autoliq/telemetry/"),
    ),
    ("HTTP server (uvicorn, event loop)", ("uvicorn/", "httptools", "uvloop", "asyncio/")),
    ("the floor's request code", ("floor.py", "floor_admin_app.py", "floor_order_app.py")),
)

IDLE_LEAVES = (  # blocked waits that py-spy's on-CPU mode still reports (see _common._IDLE_LEAVES)
    "_worker (concurrent/futures/thread.py",
    "Condition.wait (threading.py",
    "Event.wait (threading.py",
    "Queue.get (queue.py",
)

LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")


def layer_of(frames: list[str]) -> str:
    joined = ";".join(frames)
    if any(marker in joined for marker in BACKGROUND):
        return "background (scheduler, relay, logging)"
    for frame in reversed(frames):
        for name, markers in LAYERS:
            if any(marker in frame for marker in markers):
                return name
    return "other"


def layers(path: Path) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        match = LINE.match(line)
        if match is None:
            continue
        count = int(match["count"])
        frames = match["stack"].split(";")
        if frames[-1].startswith(IDLE_LEAVES):
            continue
        total += count
        counts[layer_of(frames)] += count
    return counts, total


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "profiles", nargs="+", type=Path, help="py-spy collapsed stacks (*-cpu.txt or *-gil.txt)"
    )
    parser.add_argument(
        "--us-per-request",
        nargs="+",
        type=float,
        default=None,
        metavar="US",
        help="each profile's target's server CPU per request (same order), to scale shares to µs",
    )
    args = parser.parse_args()
    if args.us_per_request is not None and len(args.us_per_request) != len(args.profiles):
        parser.error("--us-per-request needs one figure per profile")
    results = [layers(path) for path in args.profiles]
    names = [name for name, _ in LAYERS] + ["background (scheduler, relay, logging)", "other"]
    width = max(len(n) for n in names)
    header = f"{'layer':<{width}}" + "".join(
        f"  {path.parent.name[-6:]}/{path.stem[8:][:18]:>18}" for path in args.profiles
    )
    print(header)
    for name in names:
        cells = []
        for index, (counts, total) in enumerate(results):
            share = counts[name] / total if total else 0.0
            cell = f"{100 * share:5.1f}%"
            if args.us_per_request is not None:
                cell += f" {share * args.us_per_request[index]:6.0f} µs"
            cells.append(f"  {cell:>26}")
        print(f"{name:<{width}}" + "".join(cells))
    print(f"{'samples':<{width}}" + "".join(f"  {total:>26}" for _, total in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
