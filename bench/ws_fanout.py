"""Fan-out of one account's lock to many WebSocket clients: from the REST call to each client's props.

One run measures, with the same clients each time:

1. `bench/bare_ws_app.py` (uvicorn, no framework, no database): `POST /broadcast` sends every socket
   one frame the shape and size of autoliq's props frame for a lock. The floor;
2. autoliq on SQLite (a temporary file), `python -m autoliq serve`;
3. autoliq on PostgreSQL (a throwaway database `autoliq_bench_ws_<pid>` on `--postgres`'s server,
   dropped afterwards; skipped with a note when no server answers, or with `--no-postgres`).

For autoliq, `--accounts` (10) accounts are seeded with `autoliq seed`; the admin logs in. Then
`--clients` (1,000) WebSocket clients connect from this process (asyncio, uvloop when installed,
the `websockets` library), each authorizes with the admin's token and sends `user/syncrequest` with
`entityTypes` `accountRiskStatus` and `accountRiskStatusLog` (the whole organization: a snapshot of
`--accounts` accounts each), and every client sends `[]` every 2 s. Then `--rounds` (20) rounds:
just before `POST /v1/accountRiskStatus/setadminautoliqaction` on the first account
(LockTradingImmediately, then Normal, alternating) the clock is read; each client notes when it
receives the first frame holding a props message with that round's `adminAction`. A round ends when
every client has it, or after `--round-timeout` (10 s). The delays of all rounds together give
p50 / p99 / max and how many arrived; autoliq/bare ratios of those are in the table.

The delay includes the REST call itself (answered after the commit's fsync), the hub's fan-out, and
this process's own reading of up to `--clients` sockets on one event loop (the same for every
target: that is what the bare row measures too).

    .venv/bin/python bench/ws_fanout.py                          # 1,000 clients: bare, SQLite, PostgreSQL
    .venv/bin/python bench/ws_fanout.py --clients 200 --no-postgres

Results: a table on stdout, JSON under bench/results/ws_fanout-<time>.json. Exit code 1 when a
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
from dataclasses import dataclass, field
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

BENCH_DIR = Path(__file__).resolve().parent
ORGANIZATION = "Bench"
ADMIN_NAME = "benchadmin"
ADMIN_PASSWORD = "bench-admin-password"  # a throwaway database's only user
ACTIONS = ("LockTradingImmediately", "Normal")
SET_ACTION = "/v1/accountRiskStatus/setadminautoliqaction"
HEARTBEAT_S = 2.0
CONNECT_CONCURRENCY = 50


@dataclass
class Client:
    """One socket and when it received each round's frame (perf_counter seconds)."""

    ws: Any
    received: dict[int, float] = field(default_factory=dict)


@dataclass
class Rounds:
    """The rounds under way: the current one and the marker its frame carries."""

    current: int = -1
    marker: str = ""
    done: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def _reader(client: Client, rounds: Rounds) -> None:
    async for frame in client.ws:
        if not isinstance(frame, str) or '"props"' not in frame:
            continue
        r = rounds.current
        if r >= 0 and r not in client.received and rounds.marker in frame:
            client.received[r] = time.perf_counter()
            rounds.waiting -= 1
            if rounds.waiting == 0:
                rounds.done.set()


async def _heartbeats(clients: list[Client]) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        for client in list(clients):
            try:
                await client.ws.send("[]")
            except Exception:
                continue


async def _connect(url: str, token: str | None, rounds: Rounds) -> Client:
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
        body = json.dumps({"entityTypes": ["accountRiskStatus", "accountRiskStatusLog"]})
        await ws.send(f"user/syncrequest\n1\n\n{body}")
        synced = await _next_frame(ws)
        if not synced.startswith('a[{"s":200,"i":1,'):
            raise RuntimeError(f"syncrequest answered {synced[:200]!r}")
    return client


async def _next_frame(ws: Any) -> str:
    """The next frame that is not a heartbeat."""
    while True:
        frame = await asyncio.wait_for(ws.recv(), timeout=60)
        if frame != "h":
            return str(frame)


async def _measure(
    port: int, token: str | None, account_id: int, args: argparse.Namespace, pid: int
) -> dict[str, Any]:
    url = f"ws://127.0.0.1:{port}/v1/websocket"
    rounds = Rounds()
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

    clients: list[Client] = []
    readers: list[asyncio.Task[None]] = []

    async def one() -> None:
        async with limit:
            client = await _connect(url, token, rounds)
        # Read and beat from now on: connecting every client may take longer than the server's
        # heartbeat timeout.
        clients.append(client)
        readers.append(asyncio.create_task(_reader(client, rounds)))

    beats = asyncio.create_task(_heartbeats(clients))
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(args.clients)))
    connect_s = time.perf_counter() - started
    delays: list[float] = []
    per_round: list[dict[str, Any]] = []
    path = SET_ACTION if token is not None else "/broadcast"
    cpu_before = process_cpu_seconds(pid)
    own_before = time.process_time()
    wall_before = time.perf_counter()
    try:
        await asyncio.sleep(1.0)  # let the snapshots' and handshakes' traffic settle
        for r in range(args.rounds):
            action = ACTIONS[r % 2]
            rounds.current, rounds.marker = r, f'"adminAction":"{action}"'
            rounds.waiting = len(clients)
            rounds.done.clear()
            body = {
                "accountId": account_id,
                "adminAction": action,
                "adminActionReasonCode": "Other",
                "adminActionReason": f"bench round {r}",
            }
            t0 = time.perf_counter()
            answer = await asyncio.to_thread(post_json, f"http://127.0.0.1:{port}{path}", body, token)
            if token is not None and "accountRiskStatus" not in answer:
                raise RuntimeError(f"the lock was refused: {answer}")
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


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def _run_loop(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


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
        return {"target": "bare", **_run_loop(_measure(port, None, 1, args, server.pid))}
    finally:
        server.stop()


def run_autoliq(name: str, url: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    seed_s = seed_organization(url, ORGANIZATION, ADMIN_NAME, ADMIN_PASSWORD, args.accounts)
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
        accounts = post_json_get(port, "/v1/account/list", token)
        measured = _run_loop(_measure(port, token, int(accounts[0]["id"]), args, server.pid))
    finally:
        server.stop()
    return {
        "target": name,
        "database": url.split("://", 1)[0],
        "code": code,
        "seed_s": round(seed_s, 2),
        **measured,
    }


def post_json_get(port: int, path: str, token: str) -> Any:
    """GET `path` with the token (setup only)."""
    import urllib.request

    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


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
        "recv: props frames received / clients x rounds. p50/p99/max: from just before the REST call to a\n"
        "client's receipt of the round's frame, over every client and round. x: autoliq / bare.\n"
        "srv cpu s / cli cpu s: CPU seconds of the server process / of this client process over the rounds.\n"
        "connect s: time to open, authorize and sync every client."
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=1000, help="WebSocket clients (1000)")
    parser.add_argument("--rounds", type=int, default=20, help="locks/unlocks measured (20)")
    parser.add_argument(
        "--accounts", type=int, default=10, help="accounts seeded, each client syncs all (10)"
    )
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
    # Each client is a file descriptor here and one in the server (which inherits the limit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = args.clients + 256
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    targets: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="autoliq-ws-bench-") as tmp:
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
                with throwaway_postgres(args.postgres, f"autoliq_bench_ws_{os.getpid()}") as url:
                    wait_until_quiet(args.quiet_wait)
                    targets.append(run_autoliq("autoliq-postgresql", url, args, workdir))
    print_table(targets)
    path = write_results(
        "ws_fanout", {"environment": environment_info(), "args": vars(args), "targets": targets}
    )
    print(f"\nresults: {path}")
    return 0 if all(t.get("valid", True) for t in targets) else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
