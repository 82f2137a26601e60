"""Fan-out of one price change to many market-data subscribers: from the REST call that sets the price
to each client's quote.

One run measures, with the same clients each time:

1. `bench/bare_ws_app.py` (uvicorn, no framework, no database): `POST /broadcast` with `{"price": P}`
   sends every socket one frame the shape and size of autoliq's md quote frame. The floor;
2. autoliq on SQLite (a temporary file), `python -m autoliq serve`;
3. autoliq on PostgreSQL (a throwaway database `autoliq_bench_md_<pid>` on `--postgres`'s server,
   dropped afterwards; skipped with a note when no server answers, or with `--no-postgres`).

For autoliq, one organization is seeded with `autoliq seed` (the first one: the sandbox operator); its
admin logs in. Then `--clients` (1,000) WebSocket clients connect from this process (asyncio, uvloop
when installed, the `websockets` library), each authorizes with the admin's token and sends
`md/subscribeQuote` for ES's front month, and every client sends `[]` every 2 s. Then `--rounds` (20)
rounds: just before `POST /_autoliq/prices` (a new price each round) the clock is read; each client
notes when it receives the first quote frame whose `Trade` price is that round's. A round ends when
every client has it, or after `--round-timeout` (10 s). The delays of all rounds together give p50 /
p99 / max and how many arrived; autoliq/bare ratios of those are in the table.

The delay includes the REST call (answered after the commit's fsync, which also records the price
history), the market-data feed's read of the contract's state and its one encoding of the frame, the
queueing on every socket, and this process's own reading of up to `--clients` sockets on one event
loop (the same for every target: that is what the bare row measures too).

    .venv/bin/python bench/md_fanout.py                          # 1,000 clients: bare, SQLite, PostgreSQL
    .venv/bin/python bench/md_fanout.py --clients 200 --no-postgres

Results: a table on stdout, JSON under bench/results/md_fanout-<time>.json. Exit code 1 when a
target lost a frame (a client missed a round) or failed to connect its clients.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    PYTHON,
    Server,
    code_version,
    environment_info,
    fmt,
    free_port,
    login,
    post_json,
    postgres_reachable,
    process_cpu_seconds,
    seed_organization,
    subprocess_env,
    throwaway_postgres,
    wait_until_quiet,
    write_results,
)
from autoliq.domain.instruments import PRODUCTS_BY_NAME, listed_contracts
from autoliq.domain.session import CHICAGO
from ws_fanout import Client, Rounds, _heartbeats, _ms, _next_frame, _run_loop, percentile

BENCH_DIR = Path(__file__).resolve().parent
ORGANIZATION = "Bench"
ADMIN_NAME = "benchadmin"
ADMIN_PASSWORD = "bench-admin-password"  # a throwaway database's only user
CONNECT_CONCURRENCY = 50
BASE_PRICE = 5000.0


def front_month() -> str:
    """ES's front month today (Chicago's calendar), as the server lists it."""
    today = datetime.now(UTC).astimezone(CHICAGO).date()
    return listed_contracts(PRODUCTS_BY_NAME["ES"], today, 1)[0].name


def round_price(r: int) -> float:
    """A price of its own for each round (ES ticks are 0.25)."""
    return BASE_PRICE + 0.25 * (r + 1)


def marker(price: float) -> str:
    return f'"Trade":{{"price":{json.dumps(price)},'


async def _reader(client: Client, rounds: Rounds) -> None:
    async for frame in client.ws:
        if not isinstance(frame, str) or '"quotes"' not in frame:
            continue
        r = rounds.current
        if r >= 0 and r not in client.received and rounds.marker in frame:
            client.received[r] = time.perf_counter()
            rounds.waiting -= 1
            if rounds.waiting == 0:
                rounds.done.set()


async def _connect(url: str, token: str | None, symbol: str) -> Client:
    import websockets.asyncio.client as ws_client

    ws = await ws_client.connect(url, max_size=None, ping_interval=None, open_timeout=60)
    client = Client(ws)
    first = await asyncio.wait_for(ws.recv(), timeout=60)
    if first != "o":
        raise RuntimeError(f"first frame {first!r}")
    if token is not None:
        await ws.send(f"authorize\n0\n\n{token}")
        answer = await _next_frame(ws)
        if answer != 'a[{"s":200,"i":0}]':
            raise RuntimeError(f"authorize answered {answer!r}")
    await ws.send(f"md/subscribeQuote\n1\n\n{json.dumps({'symbol': symbol})}")
    subscribed = await _next_frame(ws)
    if not subscribed.startswith('a[{"s":200,"i":1'):
        raise RuntimeError(f"subscribeQuote answered {subscribed[:200]!r}")
    return client


async def _measure(
    port: int, token: str | None, symbol: str, args: argparse.Namespace, pid: int
) -> dict[str, Any]:
    url = f"ws://127.0.0.1:{port}/v1/websocket"
    rounds = Rounds()
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
    clients: list[Client] = []
    readers: list[asyncio.Task[None]] = []

    async def one() -> None:
        async with limit:
            client = await _connect(url, token, symbol)
        clients.append(client)
        readers.append(asyncio.create_task(_reader(client, rounds)))

    beats = asyncio.create_task(_heartbeats(clients))
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(args.clients)))
    connect_s = time.perf_counter() - started
    delays: list[float] = []
    per_round: list[dict[str, Any]] = []
    cpu_before = process_cpu_seconds(pid)
    own_before = time.process_time()
    wall_before = time.perf_counter()
    try:
        await asyncio.sleep(1.0)  # let the subscriptions' traffic settle
        for r in range(args.rounds):
            price = round_price(r)
            rounds.current, rounds.marker = r, marker(price)
            rounds.waiting = len(clients)
            rounds.done.clear()
            if token is None:
                path, body = "/broadcast", {"price": price}
            else:
                path, body = "/_autoliq/prices", {"prices": [{"symbol": symbol, "price": price}]}
            t0 = time.perf_counter()
            answer = await asyncio.to_thread(post_json, f"http://127.0.0.1:{port}{path}", body, token)
            if token is not None and "prices" not in answer:
                raise RuntimeError(f"the price was refused: {answer}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(rounds.done.wait(), timeout=args.round_timeout)
            rounds.current = -1
            got = [c.received[r] - t0 for c in clients if r in c.received]
            delays.extend(got)
            per_round.append(
                {
                    "round": r,
                    "received": len(got),
                    "p50_ms": _ms(percentile(got, 0.5)),
                    "max_ms": _ms(max(got, default=None)),
                }
            )
    finally:
        wall = time.perf_counter() - wall_before
        server_cpu = process_cpu_seconds(pid) - cpu_before
        own_cpu = time.process_time() - own_before
        beats.cancel()
        for task in readers:
            task.cancel()
        await asyncio.gather(*(c.ws.close() for c in clients), return_exceptions=True)
    expected = args.clients * args.rounds
    return {
        "clients": len(clients),
        "connect_s": round(connect_s, 2),
        "rounds": args.rounds,
        "received": len(delays),
        "expected": expected,
        "p50_ms": _ms(percentile(delays, 0.5)),
        "p99_ms": _ms(percentile(delays, 0.99)),
        "max_ms": _ms(max(delays, default=None)),
        "server_cpu_s": round(server_cpu, 2),
        "client_cpu_s": round(own_cpu, 2),
        "wall_s": round(wall, 2),
        "per_round": per_round,
        "valid": len(delays) == expected,
    }


def run_bare(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    port = free_port()
    server = Server(
        "bare",
        [PYTHON, str(BENCH_DIR / "bare_ws_app.py"), "--port", str(port)],
        port,
        workdir / "bare.log",
        subprocess_env(),
    )
    server.start("/health")
    try:
        return {"target": "bare", **_run_loop(_measure(port, None, front_month(), args, server.pid))}
    finally:
        server.stop()


def run_autoliq(name: str, url: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    seed_s = seed_organization(url, ORGANIZATION, ADMIN_NAME, ADMIN_PASSWORD, 1)
    port = free_port()
    server = Server(
        name,
        [PYTHON, "-m", "autoliq", "serve", "--database-url", url, "--port", str(port), "--host", "127.0.0.1"],
        port,
        workdir / f"{name}.log",
        subprocess_env(AUTOLIQ_ADMIN_PASSWORD=ADMIN_PASSWORD, AUTOLIQ_ENVIRONMENT="demo"),
    )
    code = code_version()
    server.start("/_autoliq/health")
    try:
        token = login(port, ADMIN_NAME, ADMIN_PASSWORD)
        measured = _run_loop(_measure(port, token, front_month(), args, server.pid))
    finally:
        server.stop()
    return {
        "target": name,
        "database": url.split("://", 1)[0],
        "code": code,
        "seed_s": round(seed_s, 2),
        **measured,
    }


def print_table(targets: list[dict[str, Any]]) -> None:
    bare = next((t for t in targets if t["target"] == "bare"), None)
    header = (
        f"{'target':<18} {'clients':>7} {'recv':>11} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'p50 x':>6} {'p99 x':>6} {'max x':>6} {'srv cpu s':>9} {'cli cpu s':>9} {'connect s':>9}"
    )
    print()
    print(header)
    print("-" * len(header))
    for t in targets:
        if "skipped" in t:
            print(f"{t['target']:<18} skipped: {t['skipped']}")
            continue

        def ratio(key: str, t: dict[str, Any] = t) -> str:
            if bare is None or t is bare or not bare.get(key) or t.get(key) is None:
                return "-"
            return f"{t[key] / bare[key]:.1f}"

        print(
            f"{t['target']:<18} {t['clients']:>7} {str(t['received']) + '/' + str(t['expected']):>11} "
            f"{fmt(t['p50_ms'], '.1f'):>8} {fmt(t['p99_ms'], '.1f'):>8} {fmt(t['max_ms'], '.1f'):>8} "
            f"{ratio('p50_ms'):>6} {ratio('p99_ms'):>6} {ratio('max_ms'):>6} "
            f"{t['server_cpu_s']:>9.2f} {t['client_cpu_s']:>9.2f} {t['connect_s']:>9.2f}"
        )
    print()
    print(
        "recv: quote frames received / clients x rounds. p50/p99/max: from just before the REST call to a\n"
        "client's receipt of the round's quote, over every client and round. x: autoliq / bare.\n"
        "srv cpu s / cli cpu s: CPU seconds of the server process / of this client process over the rounds.\n"
        "connect s: time to open, authorize and subscribe every client."
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=1000, help="WebSocket clients (1000)")
    parser.add_argument("--rounds", type=int, default=20, help="price changes measured (20)")
    parser.add_argument(
        "--round-timeout", type=float, default=10.0, help="seconds a round waits at most (10)"
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-bare", action="store_true")
    parser.add_argument("--quiet-wait", type=float, default=120.0, help="seconds to wait for an idle machine")
    args = parser.parse_args()
    if not 1 <= args.clients <= 10_000:
        parser.error("--clients must be between 1 and 10000")
    if not 1 <= args.rounds <= 1000:
        parser.error("--rounds must be between 1 and 1000")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = args.clients + 256
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    targets: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="autoliq-md-bench-") as tmp:
        workdir = Path(tmp)
        if not args.no_bare:
            wait_until_quiet(args.quiet_wait)
            targets.append(run_bare(args, workdir))
        if not args.no_sqlite:
            wait_until_quiet(args.quiet_wait)
            targets.append(run_autoliq("autoliq-sqlite", f"sqlite:///{workdir / 'bench.db'}", args, workdir))
        if not args.no_postgres:
            problem = postgres_reachable(args.postgres)
            if problem is not None:
                targets.append({"target": "autoliq-postgresql", "skipped": problem})
            else:
                with throwaway_postgres(args.postgres, f"autoliq_bench_md_{os.getpid()}") as url:
                    wait_until_quiet(args.quiet_wait)
                    targets.append(run_autoliq("autoliq-postgresql", url, args, workdir))
    print_table(targets)
    path = write_results(
        "md_fanout", {"environment": environment_info(), "args": vars(args), "targets": targets}
    )
    print(f"\nresults: {path}")
    return 0 if all(t.get("valid", True) for t in targets) else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
