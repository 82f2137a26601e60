"""Workers' metrics shared through a directory: each publishes its snapshot to `<pid>.json`, a scrape
reads the others' (those of live processes only; a dead one's file is removed, a broken one skipped)."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from autoliq.telemetry.metrics import Registry
from autoliq.telemetry.metrics_share import SharedMetrics
from tests.prometheus_text import parse
from tests.unit.test_metrics import assert_families_together

DEADLINE = 10.0  # a bound for a loaded machine, not an expectation


def worker_registry(requests: int, latency: float) -> Registry:
    """A registry like a worker's: the same metrics in every process, this one's own counts."""
    registry = Registry()
    registry.counter("x_requests_total", "Requests.", ("route",)).inc(("/a",), requests)
    registry.histogram("x_seconds", "Latency.", ("route",), buckets=(0.1,)).observe(latency, ("/a",))
    return registry


def _alive_process() -> Iterator[int]:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        yield child.pid
    finally:
        child.kill()
        child.wait(timeout=30)


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The pid of a process that stays alive during the test (not this one)."""
    yield from _alive_process()


@pytest.fixture
def second_live_pid() -> Iterator[int]:
    """Another one."""
    yield from _alive_process()


def dead_pid() -> int:
    """The pid of a process that ran and was reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


def test_publish_when_two_processes_then_each_reads_the_other_and_renders_both(
    tmp_path: Path, live_pid: int
) -> None:
    this = SharedMetrics(tmp_path, os.getpid(), worker_registry(2, 0.05))
    other = SharedMetrics(tmp_path, live_pid, worker_registry(5, 0.5))

    this.publish()
    other.publish()

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{os.getpid()}.json", f"{live_pid}.json"])
    (read,) = this.others()  # never its own file
    assert read == other.registry.snapshot(str(live_pid))
    text = this.render()
    assert_families_together(text)
    found = parse(text)
    assert {dict(k)["worker"]: v for k, v in found.series("x_requests_total", without=()).items()} == {
        str(os.getpid()): 2,
        str(live_pid): 5,
    }
    assert {dict(k)["worker"]: v for k, v in found.series("x_seconds_sum", without=()).items()} == {
        str(os.getpid()): 0.05,
        str(live_pid): 0.5,
    }


def test_publish_when_counts_move_then_the_file_is_replaced_by_the_new_snapshot(
    tmp_path: Path, live_pid: int
) -> None:
    this = SharedMetrics(tmp_path, os.getpid(), worker_registry(0, 0.05))
    other = SharedMetrics(tmp_path, live_pid, worker_registry(1, 0.05))
    other.publish()
    other.registry.metrics["x_requests_total"].inc(("/a",), 41)  # type: ignore[union-attr]

    before = parse(this.render()).series("x_requests_total", without=())
    other.publish()
    after = parse(this.render()).series("x_requests_total", without=())

    key = frozenset({("worker", str(live_pid)), ("route", "/a")})
    assert (before[key], after[key]) == (1, 42)
    assert [p.name for p in tmp_path.iterdir()] == [f"{live_pid}.json"]  # no temporary file left


def test_others_when_the_process_of_a_file_is_gone_then_ignored_and_its_file_removed(
    tmp_path: Path, live_pid: int
) -> None:
    gone = dead_pid()
    SharedMetrics(tmp_path, gone, worker_registry(7, 0.05)).publish()
    SharedMetrics(tmp_path, live_pid, worker_registry(3, 0.05)).publish()
    this = SharedMetrics(tmp_path, os.getpid(), worker_registry(1, 0.05))

    found = parse(this.render())

    assert not (tmp_path / f"{gone}.json").exists()
    assert (tmp_path / f"{live_pid}.json").exists()
    assert {dict(k)["worker"] for k in found.series("x_requests_total", without=())} == {
        str(os.getpid()),
        str(live_pid),
    }


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("{live}.json", b'{"pid": {live}, "snapshot": {"worker": "{live}", "coun', id="partial"),
        pytest.param("{live}.json", b"\x00\xffnot json", id="garbage"),
        pytest.param("{live}.json", b"", id="empty"),
        pytest.param(
            "{live}.json",
            b'{"pid": {live}, "snapshot": {"worker": "{live}", "counters": {"x_requests_total": '
            b'[[["/a"], "many"]]}, "histograms": {}}}',
            id="wrong-type",
        ),
        pytest.param(
            "{live}.json",
            b'{"pid": 1, "snapshot": {"worker": "1", "counters": {}, "histograms": {}}}',
            id="other-pid-inside",
        ),
        pytest.param(
            "{live}.json",
            b'{"pid": {live}, "snapshot": {"worker": "1", "counters": {}, "histograms": {}}}',
            id="other-worker-label-inside",
        ),
        pytest.param("notapid.json", b"{}", id="not-a-pid-name"),
        pytest.param("0.json", b"{}", id="pid-0"),
        pytest.param("-1.json", b"{}", id="negative-pid"),
    ],
)
def test_others_when_a_file_is_broken_then_skipped_and_the_good_ones_still_read(
    tmp_path: Path,
    live_pid: int,
    second_live_pid: int,
    name: str,
    content: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = SharedMetrics(tmp_path, second_live_pid, worker_registry(3, 0.05))
    good.publish()
    broken = tmp_path / name.replace("{live}", str(live_pid))
    broken.write_bytes(content.replace(b"{live}", str(live_pid).encode()))
    this = SharedMetrics(tmp_path, os.getpid(), worker_registry(1, 0.05))

    with caplog.at_level(logging.DEBUG, logger="autoliq.telemetry.metrics_share"):
        others = this.others()

    assert others == [good.registry.snapshot(str(second_live_pid))]
    assert broken.exists()  # a live process's file is left for it to replace
    if broken.stem == str(live_pid):
        assert any("skipped" in r.getMessage() and str(broken) in r.getMessage() for r in caplog.records)
    assert_families_together(this.render())
    parse(this.render())


def test_published_file_when_read_then_json_of_the_pid_and_snapshot(tmp_path: Path) -> None:
    shared = SharedMetrics(tmp_path, os.getpid(), worker_registry(2, 0.05))

    shared.publish()

    assert msgspec.json.decode(shared.path.read_bytes()) == {
        "pid": os.getpid(),
        "snapshot": {
            "worker": str(os.getpid()),
            "counters": {"x_requests_total": [[["/a"], 2]]},
            "histograms": {"x_seconds": [[["/a"], [1, 0], 0.05]]},
        },
    }


def test_close_when_called_then_its_file_is_removed_and_later_publishes_write_nothing(tmp_path: Path) -> None:
    shared = SharedMetrics(tmp_path, os.getpid(), worker_registry(2, 0.05))
    shared.publish()

    shared.close()
    shared.publish()

    assert list(tmp_path.iterdir()) == []


async def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"not within {DEADLINE} s: {what}"
        await asyncio.sleep(0.01)


def test_publish_forever_when_running_then_publishes_and_a_failing_write_warns_once_and_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "not-yet"
    shared = SharedMetrics(directory, os.getpid(), worker_registry(2, 0.05))
    writes: list[bytes] = []
    write = shared._write

    def counted(data: bytes) -> None:
        writes.append(data)
        write(data)

    shared._write = counted  # type: ignore[method-assign]

    async def scenario() -> None:
        task = asyncio.create_task(shared.publish_forever(interval=0.001))
        try:
            await _until(lambda: len(writes) >= 3, "three failed writes")
            assert task.done() is False
            directory.mkdir()
            await _until(shared.path.exists, "a write once the directory exists")
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        shared.close()

    with caplog.at_level(logging.WARNING, logger="autoliq.telemetry.metrics_share"):
        asyncio.run(scenario())

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "could not publish metrics" in warnings[0].getMessage()
    assert list(directory.iterdir()) == []
