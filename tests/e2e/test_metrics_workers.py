"""`autoliq serve --workers 2`: a scrape of /_autoliq/metrics, whichever worker it reaches, answers
every worker's numbers, each sample under its own `worker` label and each family's samples together,
so the sum over workers counts every request once. A real server on loopback (SQLite); its JSON
access log (one line per request, with the answering worker's pid) says which worker answered what.
"""

from __future__ import annotations

import collections
import json
import os
import stat
import time
from pathlib import Path

import pytest

from tests.prometheus_text import Exposition, parse
from tests.server import ServerProcess
from tests.unit.test_metrics import assert_families_together

pytestmark = pytest.mark.slow

WORKERS = 2
HEALTH = "/_autoliq/health"
METRICS = "/_autoliq/metrics"
REQUESTS_TOTAL = "autoliq_http_requests_total"
DEADLINE = 60.0  # bounds for a loaded machine, not expectations
PUBLISHED_DEADLINE = 15.0  # each worker publishes every second


def access_pids(server: ServerProcess, path: str) -> list[int]:
    """The pid of the worker that answered each request to `path`, in order (from the access log)."""
    pids = []
    for line in server.stdout_text().splitlines():
        if not line.startswith("{"):
            continue  # the start-up banner
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line being written
        if entry.get("logger") == "uvicorn.access" and entry.get("path") == path:
            pids.append(int(entry["pid"]))
    return pids


def logged_answers(server: ServerProcess, path: str, count: int) -> list[int]:
    """`access_pids` once all `count` requests to `path` are logged (never more)."""
    deadline = time.monotonic() + DEADLINE
    while len(pids := access_pids(server, path)) < count:
        assert time.monotonic() < deadline, f"{len(pids)} of {count} requests to {path} logged"
        time.sleep(0.01)
    assert len(pids) == count, pids
    return pids


def health_by_worker(found: Exposition) -> dict[int, float]:
    """Each worker's count of answered `GET /_autoliq/health` in one scrape."""
    out = {}
    for (name, labels), value in found.samples.items():
        label = dict(labels)
        if name == REQUESTS_TOTAL and label["route"] == HEALTH and label["method"] == "GET":
            assert label["status"] == "200", label
            out[int(label["worker"])] = value
    return out


def workers_in(found: Exposition) -> set[int]:
    return {int(dict(labels)["worker"]) for _, labels in found.samples}


def metrics_dir_of(pid: int) -> Path:
    """The AUTOLIQ_METRICS_DIR a worker process was started with."""
    env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    (value,) = [v.split(b"=", 1)[1] for v in env if v.startswith(b"AUTOLIQ_METRICS_DIR=")]
    return Path(os.fsdecode(value))


def test_scrape_when_two_workers_then_any_worker_answers_both_and_the_sum_counts_each_request_once(
    tmp_path: Path,
) -> None:
    server = ServerProcess(
        f"sqlite:///{tmp_path / 'metrics.db'}",
        tmp_path,
        extra_args=["--workers", str(WORKERS), "--access-log", "--log-format", "json", "--log-level", "info"],
    )
    with server:
        token = server.login()["accessToken"]
        pids = set(server.worker_pids())
        assert len(pids) == WORKERS, pids

        # Health probes on fresh connections until each worker has answered some.
        sent = 0
        deadline = time.monotonic() + DEADLINE
        while True:
            for _ in range(10):
                with server.client() as client:
                    assert client.get(HEALTH).status_code == 200
                sent += 1
            answered = logged_answers(server, HEALTH, sent)
            if set(answered) == pids:
                break
            assert set(answered) <= pids, (answered, pids)
            assert time.monotonic() < deadline, f"one worker answered all {sent} probes"
        expected = dict(collections.Counter(answered))

        # Scrapes on fresh connections: each reaches either worker. Every scrape is valid, never
        # counts more than was answered, and (once both workers' snapshots are written) shows each
        # worker's exact count. Go on until each worker has answered such a scrape, at least 10.
        scrapes = 0
        complete_by: set[int] = set()
        deadline = time.monotonic() + DEADLINE
        while scrapes < 10 or complete_by != pids:
            assert time.monotonic() < deadline, f"complete scrapes answered by {complete_by} of {pids}"
            published_by = time.monotonic() + PUBLISHED_DEADLINE
            while True:
                with server.client(token) as client:
                    r = client.get(METRICS)
                assert r.status_code == 200, r.text
                scrapes += 1
                scraped_by = logged_answers(server, METRICS, scrapes)[-1]
                assert_families_together(r.text)
                found = parse(r.text)
                assert workers_in(found) <= pids
                counts = health_by_worker(found)
                assert all(counts.get(pid, 0) <= expected[pid] for pid in pids), (counts, expected)
                if counts == expected:
                    break
                assert time.monotonic() < published_by, (counts, expected)
            assert workers_in(found) == pids
            assert sum(counts.values()) == sent
            complete_by.add(scraped_by)

        # The workers' shared directory: private, one file per worker.
        (directory,) = {metrics_dir_of(pid) for pid in pids}
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert sorted(p.name for p in directory.glob("*.json")) == sorted(f"{pid}.json" for pid in pids)

    assert server.process is not None and server.process.returncode is not None
    assert not server.forced_kill
    assert not directory.exists()  # removed by the supervisor when it stopped
