"""The readiness probe: time limit, one check at a time, and what a 503 says."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError

from autoliq.adapters.sql.readiness import Readiness, ReadinessProbe, head_revision


@pytest.fixture
def engine() -> Iterator[Engine]:
    """An engine the injected checks never use (the probe reads the migration head through it)."""
    e = create_engine("sqlite://")
    yield e
    e.dispose()


def test_readiness_when_database_ok_and_at_head_then_ready_and_migrations_is_the_head() -> None:
    found = Readiness("ok", "0010", "0010")

    assert found.ready and found.migrations == "0010"


@pytest.mark.parametrize(
    ("found", "migrations"),
    [
        (Readiness("ok", "0009", "0010"), "0009 != 0010"),
        (Readiness("ok", None, "0010"), "none != 0010"),
        (Readiness("OperationalError: refused", None, "0010"), "unknown != 0010"),
    ],
)
def test_readiness_when_behind_or_unanswered_then_not_ready_saying_why(
    found: Readiness, migrations: str
) -> None:
    assert not found.ready and found.migrations == migrations


def test_probe_when_check_outlasts_the_limit_then_not_ready_and_later_probes_wait_for_the_same_check(
    engine: Engine,
) -> None:
    release = threading.Event()
    calls: list[int] = []
    head = head_revision(engine)

    def slow_check(_: Engine) -> str | None:
        calls.append(1)
        release.wait(5)
        return head

    probe = ReadinessProbe(engine, timeout=0.05, check=slow_check)

    async def scenario() -> tuple[Readiness, Readiness, Readiness]:
        first = await probe.check()
        second = await probe.check()  # the first check still runs: no second thread
        release.set()
        await asyncio.sleep(0.05)
        third = await probe.check()  # the first finished: a fresh check
        return first, second, third

    first, second, third = asyncio.run(scenario())

    expected = Readiness("no answer within 0.05 s", None, head)
    assert (first, second) == (expected, expected)
    assert third == Readiness("ok", head, head) and third.ready
    assert len(calls) == 2


def test_probe_when_check_raises_then_not_ready_naming_the_error_class_and_first_line(engine: Engine) -> None:
    def failing(_: Engine) -> str | None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused\nIs the server running?"))

    found = asyncio.run(ReadinessProbe(engine, check=failing).check())

    assert found == Readiness("Exception: connection refused", None, head_revision(engine))
    assert not found.ready


def test_probe_when_database_behind_then_revision_reported(engine: Engine) -> None:
    found = asyncio.run(ReadinessProbe(engine, check=lambda _: "0001").check())

    assert found.database == "ok" and found.revision == "0001"
    assert found.migrations == f"0001 != {head_revision(engine)}"
