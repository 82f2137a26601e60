"""CPU per request of the hot endpoints through the app's ASGI entry, in process, no HTTP server.

For each checkout given (a worktree with its own `.venv`), a child process with that checkout's
interpreter seeds a temporary SQLite database, or with `--postgres URL` a throwaway database on that
PostgreSQL server (`python -m autoliq seed`), builds the app as a server
does (`bootstrap` + `create_app`), runs its lifespan, logs in and sets the last price of `--symbol`
through the app, then drives `--requests` ASGI calls per case straight into the app's entry
(`app(scope, receive, send)`, one after another) and reports the CPU time of the whole process
(`time.process_time`, every thread: the write committer too) per request:

- `saa-refused`: setadminautoliqaction of account id 0, refused before any read (200 with errorText);
- `saa-accepted`: setadminautoliqaction alternating LockTradingImmediately / Normal over the accounts;
- `po-refused`: placeorder of an unknown symbol (200 with failureReason InvalidContract);
- `po-accepted`: placeorder of one lot at market, alternating Buy / Sell over the accounts.

The checkouts run alternately, `--alternations` times, so a machine's load falls on each alike; the
table gives every run's figure, the median per checkout and the ratio to the first checkout.

    .venv/bin/python bench/edge_cpu.py --checkout /work/wt/edge-base --checkout .
    .venv/bin/python bench/edge_cpu.py --checkout ../base --checkout . --alternations 5 --requests 3000

One checkout by hand, profiled (cProfile of one case, on stderr):

    PYTHONPATH=src .venv/bin/python bench/edge_cpu.py --child --cases po-refused --profile po-refused

Results: a table on stdout, JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CASES = ("saa-refused", "saa-accepted", "po-refused", "po-accepted")
SAA_PATH = "/v1/accountRiskStatus/setadminautoliqaction"
PO_PATH = "/v1/order/placeorder"
ADMIN, PASSWORD, ORGANIZATION = "cpuadmin", "cpu-bench-password", "Edge CPU Bench"


# -- the child: one checkout, in process --


class Client:
    """ASGI calls straight into an app's entry."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.token = b""

    async def call(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        headers = [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if self.token:
            headers.append((b"authorization", b"Bearer " + self.token))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 0
        chunks: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)

    async def json(self, method: str, path: str, document: Any = None) -> Any:
        status, raw = await self.call(
            method, path, b"" if document is None else json.dumps(document).encode()
        )
        if status != 200:
            raise RuntimeError(f"{method} {path}: {status} {raw[:200]!r}")
        return json.loads(raw)


async def _lifespan(app: Any) -> tuple[asyncio.Task[None], asyncio.Queue[Any]]:
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    outbox: asyncio.Queue[Any] = asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"lifespan: {started}")
    return task, inbox


async def _child(args: argparse.Namespace, url: str) -> dict[str, Any]:
    from autoliq.api.app import create_app
    from autoliq.bootstrap import bootstrap
    from autoliq.config import Settings

    app = create_app(bootstrap(Settings.from_env(database_url=url), run_migrations=False))
    task, inbox = await _lifespan(app)
    client = Client(app)
    login = await client.json("POST", "/v1/auth/accesstokenrequest", {"name": ADMIN, "password": PASSWORD})
    client.token = login["accessToken"].encode()
    accounts = [a["id"] for a in await client.json("GET", "/v1/account/list")]
    await client.json("POST", "/_autoliq/prices", {"prices": [{"symbol": args.symbol, "price": 5000.0}]})

    def saa(account_id: int, action: str) -> bytes:
        return json.dumps(
            {
                "accountId": account_id,
                "adminAction": action,
                "adminActionReasonCode": "Other",
                "adminActionReason": "cpu bench",
            }
        ).encode()

    def order(account_id: int, action: str, symbol: str) -> bytes:
        return json.dumps(
            {
                "accountId": account_id,
                "action": action,
                "symbol": symbol,
                "orderQty": 1,
                "orderType": "Market",
            }
        ).encode()

    n = args.requests
    bodies = {
        "saa-refused": (SAA_PATH, [saa(0, "LockTradingImmediately") for i in range(n)]),
        "saa-accepted": (
            SAA_PATH,
            [
                saa(
                    accounts[i % len(accounts)],
                    ("LockTradingImmediately", "Normal")[(i // len(accounts)) % 2],
                )
                for i in range(n)
            ],
        ),
        "po-refused": (PO_PATH, [order(accounts[i % len(accounts)], "Buy", "ZZZ9") for i in range(n)]),
        "po-accepted": (
            PO_PATH,
            [
                order(accounts[i % len(accounts)], ("Buy", "Sell")[(i // len(accounts)) % 2], args.symbol)
                for i in range(n)
            ],
        ),
    }
    expect = {
        "saa-refused": (200, b"errorText"),
        "saa-accepted": (200, b"accountRiskStatus"),
        "po-refused": (200, b"InvalidContract"),
        "po-accepted": (200, b"orderId"),
    }
    out: dict[str, Any] = {}
    if (
        os.environ.get("EDGE_CPU_GC") == "freeze"
    ):  # diagnostic: the heap built so far out of the collector's way
        gc.freeze()
    elif os.environ.get("EDGE_CPU_GC") == "off":
        gc.disable()

    async def drive(path: str, some: list[bytes]) -> None:
        """One after another, or `--concurrency` at a time (writes then share a group commit, as
        under HTTP load)."""
        if args.concurrency <= 1:
            for body in some:
                await client.call("POST", path, body)
            return
        for start in range(0, len(some), args.concurrency):
            await asyncio.gather(
                *(client.call("POST", path, b) for b in some[start : start + args.concurrency])
            )

    for case in args.cases:
        path, case_bodies = bodies[case]
        await drive(path, case_bodies[: max(50, n // 10)])  # warm-up
        status, answer = await client.call("POST", path, case_bodies[0])
        if status != expect[case][0] or expect[case][1] not in answer:
            raise RuntimeError(f"{case}: unexpected answer {status} {answer[:300]!r}")
        profile = cProfile.Profile() if case == args.profile else None
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if profile is not None:
            profile.enable()
        await drive(path, case_bodies)
        if profile is not None:
            profile.disable()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        if profile is not None:
            pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(40)
        out[case] = {"cpu_us": cpu / n * 1e6, "wall_us": wall / n * 1e6}
    await inbox.put({"type": "lifespan.shutdown"})
    await asyncio.wait_for(task, 30)
    return out


def child_main(args: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="edge_cpu_"))
        url = f"sqlite:///{tmp}/bench.db"
        if args.postgres:
            from _common import throwaway_postgres

            url = stack.enter_context(throwaway_postgres(args.postgres, f"edge_cpu_{os.getpid()}"))
        seed = [
            sys.executable,
            "-m",
            "autoliq",
            "seed",
            "--organization",
            ORGANIZATION,
            "--admin-name",
            ADMIN,
        ]
        seed += ["--admin-password", PASSWORD, "--accounts", str(args.accounts), "--database-url", url]
        subprocess.run(seed, check=True, capture_output=True, timeout=600)
        print(json.dumps(asyncio.run(_child(args, url))))


# -- the parent: alternation over checkouts --


def run_checkout(checkout: Path, args: argparse.Namespace) -> dict[str, Any]:
    python = checkout / ".venv" / "bin" / "python"
    cmd = [str(python), str(Path(__file__).resolve()), "--child", "--requests", str(args.requests)]
    cmd += ["--accounts", str(args.accounts), "--symbol", args.symbol, "--cases", *args.cases]
    cmd += ["--concurrency", str(args.concurrency)]
    if args.postgres:
        cmd += ["--postgres", args.postgres]
    env = {**os.environ, "PYTHONPATH": str(checkout / "src")}
    env = {k: v for k, v in env.items() if not k.startswith("AUTOLIQ_")}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=checkout, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{checkout}: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def commit_of(checkout: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True, timeout=10
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--checkout", action="append", type=Path, help="a worktree with its own .venv (repeat)"
    )
    parser.add_argument("--alternations", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000, help="measured ASGI calls per case")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="calls in flight at once (1: one after another)"
    )
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run on a throwaway database of this PostgreSQL server (loopback only) instead of SQLite",
    )
    parser.add_argument("--symbol", default="ESZ6", help="contract ordered (must be listed today)")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--profile", choices=CASES, help="with --child: cProfile this case's loop (stderr)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return
    checkouts = [c.resolve() for c in (args.checkout or [Path(__file__).resolve().parent.parent])]
    labels = [f"{c.name}@{commit_of(c)}" for c in checkouts]
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
    for round_ in range(args.alternations):
        for checkout, label in zip(checkouts, labels, strict=True):
            result = run_checkout(checkout, args)
            runs[label].append(result)
            figures = "  ".join(f"{case} {result[case]['cpu_us']:6.1f}" for case in args.cases)
            print(f"round {round_ + 1} {label:32} CPU us/request: {figures}", flush=True)
    print()
    print(f"{'CPU us/request (median)':32}" + "".join(f"{case:>14}" for case in args.cases))
    medians = {
        label: {case: statistics.median(r[case]["cpu_us"] for r in runs[label]) for case in args.cases}
        for label in labels
    }
    for label in labels:
        row = "".join(f"{medians[label][case]:14.1f}" for case in args.cases)
        print(f"{label:32}{row}")
    for label in labels[1:]:
        row = "".join(f"{medians[label][case] / medians[labels[0]][case]:14.2f}" for case in args.cases)
        print(f"{'ratio ' + label:32}{row}")
    results = Path(__file__).resolve().parent / "results"
    results.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (results / f"edge_cpu-{stamp}.json").write_text(
        json.dumps(
            {"args": {k: str(v) for k, v in vars(args).items()}, "runs": runs, "medians": medians}, indent=1
        )
    )


if __name__ == "__main__":
    main()
