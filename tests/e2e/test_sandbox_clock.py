"""The sandbox clock: `GET/POST /_autoliq/clock` and `autoliq sandbox clock`."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from autoliq.api.app import create_app
from autoliq.bootstrap import Services, bootstrap
from autoliq.cli.main import app
from autoliq.service.clock import ManualClock, SandboxClock
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login, worker_settings
from tests.server import ADMIN_PASSWORD, ServerProcess

CLOCK = "/_autoliq/clock"
H = dict[str, str]
runner = CliRunner()
DEADLINE = 15.0
"""How long another worker may take to hear of a move (the relay: milliseconds to 0.1 s)."""


def test_clock_when_read_then_sandbox_time_trade_date_and_next_opens(
    client: TestClient[Any], trader_headers: H
) -> None:
    # The fixture's clock: Tuesday 2026-11-24 15:00 UTC = 09:00 in Chicago (CST, UTC-6).
    r = client.get(CLOCK, headers=trader_headers)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "now": "2026-11-24T15:00:00Z",
        "tradeDate": "2026-11-24",
        "marketOpen": True,
        "nextMarketOpen": "2026-11-24T23:00:00Z",
        "nextWeeklyOpen": "2026-11-29T23:00:00Z",
        "offsetSeconds": pytest.approx(r.json()["offsetSeconds"]),
        "speed": 100,
    }
    assert client.get(CLOCK).status_code == 401


def test_clock_when_advanced_then_every_service_reads_the_new_time(
    client: TestClient[Any], admin_headers: H, clock: ManualClock
) -> None:
    r = client.post(CLOCK, json={"advanceSeconds": 8 * 3600}, headers=admin_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    # 23:00 UTC is 17:00 in Chicago: the market has just opened on Wednesday's trade date.
    assert body["now"] == "2026-11-24T23:00:00Z" and body["tradeDate"] == "2026-11-25"
    assert body["marketOpen"] is True and body["nextMarketOpen"] == "2026-11-25T23:00:00Z"
    assert clock.now() == datetime(2026, 11, 24, 23, tzinfo=UTC)
    # In-process, the test clock also times the tokens (the real server times them by the machine's
    # clock: see the restart test below), so 8 hours on, the admin logs in again.
    admin_headers = bearer(login(client, "admin", ADMIN_PW))
    # Setting it: Saturday noon in Chicago, the market is closed until Sunday 17:00.
    r = client.post(CLOCK, json={"now": "2026-11-28T12:00:00-06:00"}, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.json()["now"] == "2026-11-28T18:00:00Z" and r.json()["marketOpen"] is False
    assert r.json()["nextMarketOpen"] == r.json()["nextWeeklyOpen"] == "2026-11-29T23:00:00Z"
    assert r.json()["tradeDate"] == "2026-11-30"  # the weekend counts for Monday
    assert clock.now() == datetime(2026, 11, 28, 18, tzinfo=UTC)
    trader = bearer(login(client, "trader", TRADER_PW))
    assert client.get(CLOCK, headers=trader).json()["now"] == "2026-11-28T18:00:00Z"


ONE_OF = "now: give either now or advanceSeconds (one of them)"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"now": "2026-11-24T14:59:59Z"}, "now: the sandbox clock only moves forward: it is already"),
        ({"now": "2026-11-25T12:00:00"}, "now: must include a time zone offset"),
        (
            {"now": "2026-11-25T12:00:00Z", "advanceSeconds": 5},
            "now: give either now or advanceSeconds (one of them)",
        ),
        ({}, "now: give either now or advanceSeconds (one of them)"),
        ({"advanceSeconds": 0}, "advanceSeconds: must be greater than 0 and at most 31622400"),
        ({"advanceSeconds": -5}, "advanceSeconds: must be greater than 0"),
        ({"advanceSeconds": 31622401}, "at most 31622400"),
        ({"now": "yesterday"}, "now"),
        ({"advanceSeconds": 5, "speed": 2}, "speed"),
    ],
)
def test_clock_when_bad_move_then_400_names_it_and_clock_unchanged(
    client: TestClient[Any], admin_headers: H, clock: ManualClock, body: dict[str, Any], text: str
) -> None:
    before = clock.now()
    r = client.post(CLOCK, json=body, headers=admin_headers)
    assert r.status_code == 400, r.text
    assert text in r.json()["errorText"]
    assert clock.now() == before


def test_clock_when_trader_or_no_token_moves_it_then_401_and_unchanged(
    client: TestClient[Any], trader_headers: H, clock: ManualClock
) -> None:
    before = clock.now()
    assert client.post(CLOCK, json={"advanceSeconds": 60}, headers=trader_headers).status_code == 401
    assert client.post(CLOCK, json={"advanceSeconds": 60}).status_code == 401
    assert clock.now() == before


@pytest.mark.slow
def test_clock_when_moved_on_a_real_server_then_it_survives_a_restart_and_tokens_keep_machine_time(
    database_url: str, tmp_path: Path
) -> None:
    target = datetime.now(UTC) + timedelta(days=2)
    with ServerProcess(database_url, tmp_path) as server:
        token = server.login()["accessToken"]
        args = ["--url", server.base_url, "--user", "admin", "--password", ADMIN_PASSWORD]
        moved = runner.invoke(app, ["sandbox", "clock", "--now", target.isoformat(), *args])
        assert moved.exit_code == 0, moved.output
        assert "sandbox time" in moved.output and "ahead of the machine's clock" in moved.output
        with server.client(token) as c:
            # Two days ahead, yet the token taken before (90 minutes, machine time) still works.
            r = c.get(CLOCK)
            assert r.status_code == 200, r.text
            assert datetime.fromisoformat(r.json()["now"]) >= target
            assert r.json()["offsetSeconds"] == pytest.approx(2 * 86400, abs=60)
            backwards = runner.invoke(app, ["sandbox", "clock", "--advance", "-1", *args])
            assert backwards.exit_code != 0
    with ServerProcess(database_url, tmp_path) as again:
        with again.client(again.login()["accessToken"]) as c:
            after = c.get(CLOCK).json()
            assert datetime.fromisoformat(after["now"]) >= target
            assert after["offsetSeconds"] == pytest.approx(2 * 86400, abs=60)
        shown = runner.invoke(
            app, ["sandbox", "clock", "--url", again.base_url, "--password", ADMIN_PASSWORD]
        )
        assert shown.exit_code == 0, shown.output
        assert "trade date" in shown.output


# -- several workers: two apps over one database, each with its own sandbox clock --


def _worker(world: World) -> Services:
    """Services as one worker of `autoliq serve --workers N` runs them: the sandbox clock (the machine's
    plus the offset stored when it starts), its own unit of work, publisher and outbox relay."""
    services = bootstrap(worker_settings(world.database_url), run_migrations=False)
    assert isinstance(services.clock, SandboxClock)
    return services


def _offset(services: Services) -> timedelta:
    assert isinstance(services.clock, SandboxClock)
    return services.clock.offset


def _until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.02)


def _advance(client: TestClient[Any], headers: H, seconds: int) -> dict[str, Any]:
    r = client.post(CLOCK, json={"advanceSeconds": seconds}, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_clock_when_moved_through_one_worker_then_the_other_worker_reads_the_moved_clock(
    world: World,
) -> None:
    """The move reaches the other worker through the event outbox (its relay), the one that answered
    before its answer; then the other way round, with `now`."""
    one, two = _worker(world), _worker(world)
    with TestClient(app=create_app(one)) as first, TestClient(app=create_app(two)) as second:
        admin = bearer(login(first, "admin", ADMIN_PW))
        assert second.get(CLOCK, headers=admin).json()["offsetSeconds"] == pytest.approx(0, abs=5)

        moved = _advance(first, admin, 86400)
        assert moved["offsetSeconds"] == pytest.approx(86400, abs=5)
        assert _offset(one) == timedelta(days=1)  # before its answer, exactly the stored offset

        _until(lambda: _offset(two) == timedelta(days=1), "the other worker did not hear of the move")
        seen = second.get(CLOCK, headers=admin).json()
        assert seen["offsetSeconds"] == pytest.approx(86400, abs=5)
        assert datetime.fromisoformat(seen["now"]) >= datetime.fromisoformat(moved["now"])

        target = datetime.fromisoformat(moved["now"]) + timedelta(days=2)
        r = second.post(CLOCK, json={"now": target.isoformat()}, headers=admin)
        assert r.status_code == 200, r.text
        _until(lambda: _offset(one) == _offset(two), "the first worker did not hear of the move")
        assert _offset(one) > timedelta(days=2, hours=23)
        assert datetime.fromisoformat(first.get(CLOCK, headers=admin).json()["now"]) >= target


def test_clock_when_advanced_through_two_workers_back_to_back_and_at_once_then_every_advance_counts(
    world: World,
) -> None:
    """An advance starts from the stored offset (its row locked), not from the serving worker's own
    copy, which may not have heard of the other worker's advance yet: none is lost."""
    one, two = _worker(world), _worker(world)
    with TestClient(app=create_app(one)) as first, TestClient(app=create_app(two)) as second:
        admin = bearer(login(first, "admin", ADMIN_PW))
        _advance(first, admin, 3600)
        # At once through the other worker, without waiting for it to hear of the first advance.
        assert _advance(second, admin, 3600)["offsetSeconds"] == pytest.approx(7200, abs=5)

        def advance_four_times(client: TestClient[Any]) -> None:
            for _ in range(4):
                _advance(client, admin, 600)

        threads = [threading.Thread(target=advance_four_times, args=(c,)) for c in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DEADLINE)
            assert not thread.is_alive()

        expected = timedelta(seconds=7200 + 8 * 600)  # the machine's time cancels out: exact
        _until(lambda: _offset(one) == _offset(two) == expected, f"both workers at {expected}")
        for client in (first, second):
            assert client.get(CLOCK, headers=admin).json()["offsetSeconds"] == pytest.approx(
                expected.total_seconds(), abs=5
            )


def test_clock_when_moved_after_a_worker_read_it_at_start_but_before_it_listened_then_it_follows(
    world: World,
) -> None:
    """A worker reads the stored offset when it is built and hears moves once its relay listens (from
    the rows after that moment): a move in between is read again when the relay starts."""
    one = _worker(world)
    late = _worker(world)  # read the offset (zero) at start-up
    with TestClient(app=create_app(one)) as first:
        _advance(first, bearer(login(first, "admin", ADMIN_PW)), 7200)
    assert _offset(late) == timedelta(0)
    with TestClient(app=create_app(late)):
        _until(lambda: _offset(late) == timedelta(hours=2), "the late worker did not read the move")


ROUNDS = 3
TWO_HOURS = timedelta(hours=2)


def test_clock_when_never_moved_and_two_workers_advance_at_once_then_both_count(world: World) -> None:
    """No stored offset (never moved, or just reset): the first two advances, at the same moment
    through two workers, still take turns (neither fails on the offset row's key, neither is lost).
    Several rounds, each after a sandbox reset, since one race may happen to run in turn anyway."""
    one, two = _worker(world), _worker(world)
    with TestClient(app=create_app(one)) as first, TestClient(app=create_app(two)) as second:
        admin = bearer(login(first, "admin", ADMIN_PW))
        for round_ in range(ROUNDS):
            if round_:
                assert first.post("/_autoliq/reset", headers=admin).status_code == 200
                _until(lambda: _offset(one) == _offset(two) == timedelta(0), "both workers reset")
            statuses = _advance_at_once(admin, first, second)

            assert statuses == [200, 200], f"round {round_}"
            _until(lambda: _offset(one) == _offset(two) == TWO_HOURS, f"round {round_}: both workers at 2 h")


def _advance_at_once(admin: H, *clients: TestClient[Any]) -> list[int]:
    """An hour's advance through each client, all released at the same moment: the statuses."""
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def advance(client: TestClient[Any]) -> None:
        start.wait(timeout=DEADLINE)
        statuses.append(client.post(CLOCK, json={"advanceSeconds": 3600}, headers=admin).status_code)

    threads = [threading.Thread(target=advance, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE)
        assert not thread.is_alive()
    return statuses
