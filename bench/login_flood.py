"""An admin's lock (`setadminautoliqaction`) while others flood `accesstokenrequest` with wrong
passwords: does password hashing slow down the lock path?

One autoliq server (SQLite, a temporary file, the demo organization seeded, started with
`AUTOLIQ_TRUSTED_PROXIES=127.0.0.1`) on a loopback port. The admin logs in first; then, for each
flood size in `--floods` (default 0, 32, 128 concurrent login loops, each one connection sending
its next wrong login as soon as the last is answered) the lock is measured: one request at a time,
alternating LockTradingImmediately / Normal on one account, every answer checked, `--samples`
requests (or `--seconds`, whichever ends first), p50/p99/max reported.

Two flood kinds, because penalty tickets change what a flood costs:

- `ticketed`: one user name from one address (the loopback peer, no forwarding header), as a
  password-guessing script would. After 5 failures every attempt is answered with a penalty
  ticket without hashing: this measures the ticket path.
- `hashing`: a new user name and a new `X-Forwarded-For` address on every request, through the
  trusted-proxy setting (what many clients behind a proxy look like). No name or address reaches
  its limit, so every attempt goes to the hashing pool; past its bound (8 pending) the answer is a
  1-second ticket at once. The pool's thread hashes all the time: this measures its isolation
  from the lock path.

The floods run in a child process (its own CPU, on the same machine: with 2 cores, a flood of 128
also competes for CPU with the server and the measurer). `--code COMMIT` runs the server from
that commit's `src/` (git archive, read-only) to compare with the code before a change.

    .venv/bin/python bench/login_flood.py                        # both kinds, 0/32/128
    .venv/bin/python bench/login_flood.py --kinds hashing --seconds 5
    .venv/bin/python bench/login_flood.py --code 62575c4 --kinds hashing   # before issue 13

Results: a table on stdout, JSON under bench/results/. Exit code 1 when a lock answer was wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing as mp
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _common import (
    REPO_DIR,
    Server,
    autoliq_cmd,
    code_version,
    environment_info,
    free_port,
    login,
    organization_account_ids,
    subprocess_env,
    write_results,
)

LOCK_PATH = "/v1/accountRiskStatus/setadminautoliqaction"
LOGIN_PATH = "/v1/auth/accesstokenrequest"
ADMIN_PASSWORD = "bench-admin-password"  # a throwaway database's only admin
ORGANIZATION = "Demo Prop Firm"
GOAL_P99_MS = 100.0


# -- a minimal HTTP/1.1 keep-alive client (the load must cost the machine little) --


class Connection:
    """One keep-alive connection: send a request, read the whole answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


# -- the flood (child process) --


def _classify(status: int, body: bytes) -> str:
    if status != 200:
        return f"http {status}"
    answer = json.loads(body)
    if "errorText" in answer:
        return "checked (wrong password)"
    if "p-ticket" in answer:
        return "ticket (busy)" if answer.get("p-time") == 1 else "ticket (penalty)"
    return "other"


async def _flood(port: int, concurrency: int, kind: str, stop: Any, counts: Any, worker: int) -> None:
    tally: Counter[str] = Counter()

    async def loop(n: int) -> None:
        conn = Connection(port)
        i = 0
        try:
            while not stop.is_set():
                i += 1
                if kind == "ticketed":
                    name, headers = "guessed-user", {}
                else:
                    name = f"u{worker}-{n}-{i}"
                    headers = {"X-Forwarded-For": f"10.{n % 250}.{i // 250 % 250}.{i % 250}"}
                body = json.dumps({"name": name, "password": "wrong-password"}).encode()
                try:
                    status, answer = await conn.request(LOGIN_PATH, body, headers)
                    tally[_classify(status, answer)] += 1
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    tally["connection error"] += 1
                    await conn.close()
                    await asyncio.sleep(0.05)
        finally:
            await conn.close()

    tasks = [asyncio.create_task(loop(n)) for n in range(concurrency)]
    while not stop.is_set():
        await asyncio.sleep(0.05)
    await asyncio.wait(tasks, timeout=10)
    counts.update(dict(tally))


def flood_process(port: int, concurrency: int, kind: str, stop: Any, counts: Any) -> None:
    """Entry of the flood's child process."""
    asyncio.run(_flood(port, concurrency, kind, stop, counts, 0))


# -- the lock's latency --


async def measure_locks(
    port: int, token: str, account_id: int, samples: int, seconds: float
) -> dict[str, Any]:
    conn = Connection(port)
    latencies: list[float] = []
    wrong: list[str] = []
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for i in range(samples):
            if time.monotonic() >= deadline:
                break
            action = "LockTradingImmediately" if i % 2 == 0 else "Normal"
            body = json.dumps(
                {
                    "accountId": account_id,
                    "adminAction": action,
                    "adminActionReasonCode": "Other",
                    "adminActionReason": "login flood bench",
                }
            ).encode()
            began = time.perf_counter()
            status, answer = await conn.request(LOCK_PATH, body, headers)
            latencies.append((time.perf_counter() - began) * 1000)
            if status != 200 or b'"accountRiskStatus"' not in answer or b'"errorText"' in answer:
                wrong.append(f"{status} {answer[:200]!r}")
            await asyncio.sleep(0.005)  # an admin's pace, not a load test of the lock
    finally:
        await conn.close()
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return {
        "samples": len(ordered),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": ordered[-1],
        "mean_ms": statistics.fmean(ordered),
        "wrong_answers": wrong[:5],
        "wrong_count": len(wrong),
    }


def run_phase(
    port: int, token: str, account_id: int, kind: str, concurrency: int, args: argparse.Namespace
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    manager = ctx.Manager()
    stop = manager.Event()
    counts = manager.dict()
    child = None
    if concurrency:
        child = ctx.Process(target=flood_process, args=(port, concurrency, kind, stop, counts), daemon=True)
        child.start()
        time.sleep(args.warmup)
    began = time.monotonic()
    try:
        result = asyncio.run(measure_locks(port, token, account_id, args.samples, args.seconds))
    finally:
        elapsed = time.monotonic() - began + (args.warmup if concurrency else 0)
        stop.set()
        if child is not None:
            child.join(20)
            if child.is_alive():
                child.kill()
    flood = dict(counts)
    manager.shutdown()
    result.update(
        kind=kind if concurrency else "none",
        flood=concurrency,
        flood_answers=flood,
        flood_rate=sum(flood.values()) / elapsed if concurrency else 0.0,
    )
    return result


# -- the server --


def snapshot_src(commit: str, directory: Path) -> Path:
    """`src/` of `commit` (git archive, read-only) under `directory`."""
    out = subprocess.run(
        ["git", "archive", "--format=tar", commit, "src"], cwd=REPO_DIR, capture_output=True, timeout=60
    )
    if out.returncode != 0:
        raise RuntimeError(f"git archive {commit} failed: {out.stderr.decode(errors='replace')}")
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        tar.extractall(directory, filter="data")
    return directory / "src"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--floods", default="0,32,128", help="concurrent bad-login loops per phase")
    parser.add_argument("--kinds", default="ticketed,hashing", help="ticketed, hashing, or both")
    parser.add_argument("--samples", type=int, default=400, help="lock requests per phase, at most")
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring time per phase, at most")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds of flood before measuring")
    parser.add_argument("--code", default=None, help="run the server from this commit's src/")
    args = parser.parse_args()
    floods = [int(x) for x in args.floods.split(",")]
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]

    with tempfile.TemporaryDirectory(prefix="autoliq-login-flood-") as tmp:
        work = Path(tmp)
        env = subprocess_env(
            AUTOLIQ_ADMIN_PASSWORD=ADMIN_PASSWORD,
            AUTOLIQ_ENVIRONMENT="demo",
            AUTOLIQ_TRUSTED_PROXIES="127.0.0.1",
        )
        code = code_version()
        if args.code:
            env["PYTHONPATH"] = str(snapshot_src(args.code, work / "snapshot"))
            code = f"{args.code} (snapshot)"
        results: list[dict[str, Any]] = []
        for kind in kinds:
            # A fresh server per kind: the ticketed flood leaves the loopback address penalized.
            url = f"sqlite:///{work / f'{kind}.db'}"
            port = free_port()
            argv = autoliq_cmd("serve", "--database-url", url, "--port", str(port), "--host", "127.0.0.1")
            server = Server(f"autoliq-{kind}", argv, port, work / f"{kind}.log", env)
            server.start("/_autoliq/health")
            try:
                token = login(port, "admin", ADMIN_PASSWORD)
                account_id = organization_account_ids(url, ORGANIZATION)[0]
                for concurrency in floods:
                    if concurrency == 0 and results and results[0]["flood"] == 0:
                        continue  # the lock alone: once is enough
                    phase = run_phase(port, token, account_id, kind, concurrency, args)
                    results.append(phase)
                    print_row(phase, flush=True)
            finally:
                server.stop()
    print(f"\ngoal: lock p99 <= {GOAL_P99_MS:.0f} ms under 128 concurrent bad logins; code {code}")
    invalid = any(r["wrong_count"] for r in results)
    path = write_results(
        "login_flood",
        {"environment": environment_info(), "code": code, "args": vars(args), "phases": results},
    )
    print(f"results: {path}")
    return 1 if invalid else 0


def print_row(r: dict[str, Any], flush: bool = False) -> None:
    if r["flood"] == 0:
        print(f"{'flood':>18} {'lock p50':>9} {'p99':>9} {'max':>9} {'n':>5}  flood answers/s, by kind")
    flood = f"{r['kind']} x{r['flood']}" if r["flood"] else "none (alone)"
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(r["flood_answers"].items()))
    print(
        f"{flood:>18} {r['p50_ms']:>7.1f}ms {r['p99_ms']:>7.1f}ms {r['max_ms']:>7.1f}ms {r['samples']:>5}"
        f"  {r['flood_rate']:.0f}/s {answers}" + (f"  WRONG: {r['wrong_count']}" if r["wrong_count"] else ""),
        flush=flush,
    )


if __name__ == "__main__":
    sys.exit(main())
