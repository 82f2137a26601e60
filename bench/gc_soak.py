"""Memory and latency of one autoliq process under a steady write load: a soak (issue 16, point 3).

`python -m autoliq serve` on a temporary SQLite file (seeded with `--accounts` accounts), loaded
with `setadminautoliqaction` by wrk (`--connections` keep-alive connections, the bodies and checks of
`set_admin_action.py`) for `--duration` seconds (60; at most 600) after a `--warmup`. Meanwhile the
resident set size (VmRSS, /proc/PID/status) of the server's process tree is sampled every second.
Printed and written to bench/results/gc_soak-*.json: RSS at the start of the load, its peak and at the
end (MiB), the load's p50/p99 latency, requests/s and the server's CPU µs per request. Loopback only.

The server runs the code on PYTHONPATH (the checkout's src by default), with the AUTOLIQ_* variables
of this environment: to compare two checkouts, or two GC settings, run the script alternately:

    PYTHONPATH=/path/base/src .venv/bin/python bench/gc_soak.py --label base
    .venv/bin/python bench/gc_soak.py --label new
    AUTOLIQ_GC_GEN0_THRESHOLD=700 .venv/bin/python bench/gc_soak.py --label gen0-700
"""

from __future__ import annotations

import argparse
import signal
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import set_admin_action as sa
from _common import (
    LoadPhases,
    Server,
    brief,
    code_version,
    ensure_wrk,
    free_port,
    login,
    organization_account_ids,
    passed_through_settings,
    process_tree,
    seed_organization,
    subprocess_env,
    write_results,
)


def rss_bytes(pid: int) -> int:
    """VmRSS of `pid` and its live descendants, in bytes."""
    total = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


class RssSampler:
    """Samples `rss_bytes(pid)` every `interval` seconds on a thread until stopped."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._began = 0.0

    def _run(self) -> None:
        while True:
            self.samples.append((time.monotonic() - self._began, rss_bytes(self.pid)))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> RssSampler:
        self._began = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.monotonic() - self._began, rss_bytes(self.pid)))


def mib(value: float) -> float:
    return value / (1024 * 1024)


def soak(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = f"sqlite:///{workdir}/soak.db"
    seed_organization(url, sa.ORGANIZATION, sa.ADMIN_NAME, sa.ADMIN_PASSWORD, args.accounts)
    account_ids = organization_account_ids(url, sa.ORGANIZATION)
    port = free_port()
    env = subprocess_env(AUTOLIQ_ADMIN_PASSWORD=sa.ADMIN_PASSWORD, AUTOLIQ_ENVIRONMENT="demo")
    server = Server("autoliq-sqlite", sa.serve_cmd(url, port, None), port, workdir / "server.log", env)
    server.start("/_autoliq/docs/openapi.json")
    try:
        token = login(port, sa.ADMIN_NAME, sa.ADMIN_PASSWORD)
        load = sa.make_load(port, token, sa.request_bodies(account_ids), args)
        phases = LoadPhases("wrk", load, workdir / "soak.lua")
        idle = rss_bytes(server.pid)
        if args.warmup > 0:
            phases.run(args.warmup, server.pid)
        with RssSampler(server.pid) as sampler:
            measured = brief(phases.run(args.duration, server.pid))
    finally:
        server.stop(signal.SIGKILL)
    rss = [value for _, value in sampler.samples]
    return {
        "label": args.label,
        "code": code_version(),
        "settings": passed_through_settings(),
        "rss_idle_mib": round(mib(idle), 1),
        "rss_start_mib": round(mib(rss[0]), 1),
        "rss_peak_mib": round(mib(max(rss)), 1),
        "rss_end_mib": round(mib(rss[-1]), 1),
        "rss_median_mib": round(mib(statistics.median(rss)), 1),
        "rss_samples_mib": [(round(t, 1), round(mib(v), 1)) for t, v in sampler.samples],
        "measured": measured,
        "valid": phases.errors == 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=60, help="loaded seconds sampled (60, at most 600)")
    parser.add_argument("--warmup", type=int, default=3, help="loaded seconds before sampling (3)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--timeout", type=int, default=10, help="seconds before a request fails (10)")
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--label", default="", help="a name for this run in the output")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    args = parser.parse_args()
    if not 1 <= args.duration <= 600:
        parser.error("--duration: 1 to 600 seconds")
    if not ensure_wrk(not args.no_install):
        print("wrk is needed (apt-get install wrk)")
        return 2
    with tempfile.TemporaryDirectory(prefix="gc_soak_") as tmp:
        result = soak(args, Path(tmp))
    m = result["measured"]
    print(
        f"{args.label or 'soak'}: RSS MiB idle {result['rss_idle_mib']}, start {result['rss_start_mib']}, "
        f"peak {result['rss_peak_mib']}, end {result['rss_end_mib']}; {m['rps']:.0f} req/s, "
        f"p50 {m['p50_ms']:.2f} ms, p99 {m['p99_ms']:.2f} ms, "
        f"server {m['server_cpu_us_per_request']:.0f} us/req, "
        f"others {m['others_cpu_cores']:.2f} cores, errors {m['errors']}",
        flush=True,
    )
    path = write_results("gc_soak", result)
    print(f"results: {path}")
    return 0 if result["valid"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
