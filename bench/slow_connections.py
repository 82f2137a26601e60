"""Slow connections against a server at a low open-file limit: are normal requests still answered?

    .venv/bin/python bench/slow_connections.py                  # this worktree's src/
    .venv/bin/python bench/slow_connections.py --code 62575c4   # another commit's src/ (git archive)
    .venv/bin/python bench/slow_connections.py --idle --slow 2000 --nofile 20000   # idle ones

Starts `autoliq serve` (SQLite, loopback, one process) with its open-file limit set to `--nofile`
for soft and hard alike (so the server cannot raise it), then opens `--slow` connections that send a
request line and one header line every `--trickle` seconds, never finishing their headers. From the
start, a probe opens a new connection every `--probe-interval` seconds for GET /_autoliq/health
(`--probe-timeout`). After `--seconds` it prints what the probes got (200, 503, reset, timeout),
how many slow connections the server closed and after how long, and the server's log lines about
it; the JSON goes to bench/results/. Bounded: `--slow` sockets at most (1,100 by default), loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import io
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    REPO_DIR,
    Server,
    autoliq_cmd,
    environment_info,
    free_port,
    subprocess_env,
    write_results,
)

LOOPBACK = "127.0.0.1"
HEALTH = b"GET /_autoliq/health HTTP/1.1\r\nHost: bench\r\n\r\n"
MAX_SLOW = 5000


@dataclass
class Figures:
    """What the clients saw."""

    connected: int = 0
    connect_failed: Counter[str] = field(default_factory=Counter)
    closed_after: list[float] = field(default_factory=list)
    """Seconds from connect to the server's close, for each slow connection it closed."""
    closed_how: Counter[str] = field(default_factory=Counter)
    still_open: int = 0
    probes: list[tuple[float, str, float]] = field(default_factory=list)
    """(seconds since start, outcome, latency) of each probe."""


async def slow_client(port: int, trickle: float, until: float, idle: bool, figures: Figures) -> None:
    """One connection sending a header line every `trickle` seconds (`idle`: nothing at all) until
    the server closes it."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(LOOPBACK, port), 10)
    except (OSError, TimeoutError) as exc:
        figures.connect_failed[type(exc).__name__] += 1
        return
    figures.connected += 1
    opened = time.monotonic()
    if not idle:
        writer.write(b"GET /_autoliq/health HTTP/1.1\r\nHost: bench\r\n")
    line = 0
    try:
        while time.monotonic() < until:
            try:
                data = await asyncio.wait_for(reader.read(64), trickle)
            except TimeoutError:
                if idle:
                    continue
                writer.write(b"X-Slow-%d: 1\r\n" % line)
                line += 1
                await writer.drain()
                continue
            figures.closed_after.append(time.monotonic() - opened)
            figures.closed_how[data.split(b"\r\n", 1)[0].decode(errors="replace") or "closed"] += 1
            return
        figures.still_open += 1
    except OSError as exc:
        figures.closed_after.append(time.monotonic() - opened)
        figures.closed_how[type(exc).__name__] += 1
    finally:
        writer.close()


async def probe(port: int, timeout: float, started: float, figures: Figures) -> None:
    """GET /_autoliq/health on a new connection: its outcome."""
    sent = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(LOOPBACK, port)
            try:
                writer.write(HEALTH)
                status = await reader.readline()
                outcome = status.split(b" ")[1].decode() if status else "closed"
            finally:
                writer.close()
    except TimeoutError:
        outcome = "timeout"
    except OSError as exc:
        outcome = type(exc).__name__
    figures.probes.append((sent - started, outcome, time.monotonic() - sent))


async def run_load(port: int, args: argparse.Namespace) -> Figures:
    figures = Figures()
    started = time.monotonic()
    until = started + args.seconds
    client = functools.partial(slow_client, port, args.trickle, until, args.idle, figures)
    slow = [asyncio.create_task(client()) for _ in range(args.slow)]
    probes = []
    while time.monotonic() < until:
        probes.append(asyncio.create_task(probe(port, args.probe_timeout, started, figures)))
        await asyncio.sleep(args.probe_interval)
    await asyncio.gather(*slow, *probes)
    return figures


def code_snapshot(rev: str, directory: Path) -> dict[str, str]:
    """PYTHONPATH for `rev`'s src/ extracted under `directory`."""
    out = subprocess.run(
        ["git", "archive", "--format=tar", rev, "src"],
        cwd=REPO_DIR,
        capture_output=True,
        timeout=60,
        check=True,
    )
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        tar.extractall(directory, filter="data")
    return {"PYTHONPATH": str(directory / "src")}


def server_argv(nofile: int, serve_args: list[str]) -> list[str]:
    """`autoliq serve` under an open-file limit of `nofile` (soft and hard)."""
    setup = f"import resource; resource.setrlimit(resource.RLIMIT_NOFILE, ({nofile}, {nofile}))"
    command = autoliq_cmd("serve", *serve_args)
    launcher = (
        f"{setup}; import runpy, sys; sys.argv = {['autoliq', *command[3:]]!r}; "
        "runpy.run_module('autoliq', run_name='__main__')"
    )
    return [command[0], "-c", launcher]


def summary(figures: Figures, log: str) -> dict[str, Any]:
    outcomes = Counter(outcome for _t, outcome, _l in figures.probes)
    answered = sorted(latency for _t, outcome, latency in figures.probes if outcome in ("200", "503"))
    closed = sorted(figures.closed_after)
    return {
        "slow_connected": figures.connected,
        "slow_connect_failed": dict(figures.connect_failed),
        "slow_closed_by_server": len(closed),
        "slow_closed_how": dict(figures.closed_how),
        "slow_closed_after_s_median": statistics.median(closed) if closed else None,
        "slow_closed_after_s_max": closed[-1] if closed else None,
        "slow_still_open_at_end": figures.still_open,
        "probes": len(figures.probes),
        "probe_outcomes": dict(outcomes),
        "probe_latency_s_p50": statistics.median(answered) if answered else None,
        "probe_latency_s_max": answered[-1] if answered else None,
        "probe_outcomes_by_5s": {
            f"{int(t // 5) * 5}-{int(t // 5) * 5 + 5}s": dict(
                Counter(o for t2, o, _l in figures.probes if int(t2 // 5) == int(t // 5))
            )
            for t, _o, _l in figures.probes
        },
        "server_log_lines_about_connections": [
            line
            for line in log.splitlines()
            if any(k in line for k in ("connection", "open-file", "accept", "Too many", "Errno"))
        ][:20],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--slow", type=int, default=1100, help="slow connections (at most 5000)")
    parser.add_argument("--nofile", type=int, default=1024, help="the server's open-file limit")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the slow clients keep on")
    parser.add_argument("--trickle", type=float, default=2.0, help="seconds between a slow client's lines")
    parser.add_argument("--probe-interval", type=float, default=0.25)
    parser.add_argument("--probe-timeout", type=float, default=5.0)
    parser.add_argument("--idle", action="store_true", help="the slow connections send nothing at all")
    parser.add_argument("--code", default=None, help="a commit whose src/ to run (default: this worktree's)")
    args = parser.parse_args()
    if not 0 < args.slow <= MAX_SLOW:
        parser.error(f"--slow must be 1-{MAX_SLOW}")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.slow + 256
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    with tempfile.TemporaryDirectory(prefix="autoliq-slow-") as tmp:
        workdir = Path(tmp)
        extra = code_snapshot(args.code, workdir / "code") if args.code else {}
        port = free_port()
        serve_args = ["--port", str(port), "--database-url", f"sqlite:///{workdir / 'bench.db'}"]
        env = subprocess_env(
            AUTOLIQ_ADMIN_PASSWORD="bench-admin-password",
            AUTOLIQ_TRADER_PASSWORD="bench-trader-password",
            **extra,
        )
        server = Server("autoliq", server_argv(args.nofile, serve_args), port, workdir / "server.log", env)
        server.start("/_autoliq/health")
        try:
            limits = Path(f"/proc/{server.pid}/limits").read_text()
            nofile_line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
            figures = asyncio.run(run_load(port, args))
            alive = server.proc is not None and server.proc.poll() is None
        finally:
            server.stop()
        log = (workdir / "server.log").read_text(errors="replace")
    result = {
        "code": args.code or "worktree",
        "args": vars(args),
        "server_nofile": nofile_line,
        "server_alive_at_end": alive,
        **summary(figures, log),
        "environment": environment_info(),
    }
    for key, value in result.items():
        if key != "environment":
            print(f"{key}: {value}")
    print(f"results: {write_results('slow_connections', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
