"""Market replay on the socket (issue 14): `replay/checkReplaySession`, `replay/initializeClock`,
`replay/changeSpeed` mapped onto the sandbox clock, and the `clock` events of a replay socket."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, date, datetime
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import select

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import risk_session
from autoliq.api.app import create_app
from autoliq.bootstrap import Services, bootstrap
from autoliq.domain.states import Environment
from autoliq.service.clock import ManualClock, SandboxClock
from tests.conftest import ADMIN_PW, World, bearer, login, worker_settings
from tests.e2e.test_websocket import Socket, open_socket, token_of, with_settings
from tests.helpers import app_client, market_order

H = dict[str, str]
START = "2021-07-28T22:30:00.000Z"
START_AT = datetime(2021, 7, 28, 22, 30, tzinfo=UTC)
DEADLINE = 15.0


def closed_trade_date(database_url: str) -> date:
    """The last trade date the session job closed, straight from the database."""
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(select(risk_session.c.closed_trade_date)).scalar_one()
        assert isinstance(found, date)
        return found
    finally:
        engine.dispose()


def ask(ws: Socket, endpoint: str, request_id: int, body: dict[str, Any]) -> dict[str, Any]:
    ws.request(endpoint, request_id, body=json.dumps(body))
    return ws.answer(request_id)


def clock_events(ws: Socket, count: int) -> list[dict[str, Any]]:
    """The decoded `d` of the next `count` clock events (other messages skipped); each `d` must be a
    JSON string, as Tradovate sends it."""
    found: list[dict[str, Any]] = []
    while len(found) < count:
        for message in ws.messages():
            if message.get("e") == "clock":
                assert isinstance(message["d"], str), message
                found.append(json.loads(message["d"]))
    return found


def test_replay_when_operator_runs_the_official_sequence_then_ok_clock_events_and_trading_goes_on(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    # Arrange: an order before the replay (the replay's reset removes it).
    client.post(
        "/_autoliq/prices", json={"prices": [{"symbol": "ESZ6", "price": 6000}]}, headers=admin_headers
    )
    assert "orderId" in market_order(client, trader_headers, world.demo_account_ids[0], "Buy", 1)

    with open_socket(client, token_of(admin_headers)) as ws:
        # Act: what the official strategy example sends, in its order.
        check = ask(ws, "replay/checkReplaySession", 1, {"startTimestamp": START})
        init = ask(
            ws, "replay/initializeClock", 2, {"startTimestamp": START, "speed": 400, "initialBalance": 50000}
        )
        first = clock_events(ws, 1)[0]
        accounts = ask(ws, "account/list", 3, {})
        me = client.get("/v1/auth/me", headers=admin_headers).json()
        ws.request("user/syncrequest", 4, body=json.dumps({"users": [me["userId"]]}))
        synced = ws.answer(4)

    # Assert
    assert check == {"s": 200, "i": 1, "d": {"checkStatus": "OK"}}
    assert init == {"s": 200, "i": 2, "d": {"ok": True}}
    assert first == {"t": START, "s": 400}
    assert accounts["s"] == 200 and len(accounts["d"]) == 10
    assert synced["s"] == 200
    clock = client.get("/_autoliq/clock", headers=admin_headers).json()
    assert datetime.fromisoformat(clock["now"]) == START_AT and clock["speed"] == 400
    assert client.get("/v1/order/list", headers=trader_headers).json() == []  # a fresh session
    assert closed_trade_date(world.database_url) == date(2021, 7, 28)  # the calendar went back too


def test_replay_when_speed_changes_then_every_replay_socket_hears_the_new_speed_and_ticks_go_on(
    client: TestClient[Any], admin_headers: H
) -> None:
    with_settings(client, clock_seconds=0.05)
    with (
        open_socket(client, token_of(admin_headers)) as ws,
        open_socket(client, token_of(admin_headers)) as other,
    ):
        assert ask(ws, "replay/initializeClock", 1, {"startTimestamp": START, "speed": 200})["d"] == {
            "ok": True
        }
        assert clock_events(ws, 1)[0]["s"] == 200
        assert ask(other, "replay/changeSpeed", 1, {"speed": 50})["d"] == {"ok": True}

        # Act: the first socket's next events, until one carries the new speed.
        heard = clock_events(ws, 1)
        while heard[-1]["s"] != 50:
            heard += clock_events(ws, 1)
        later = clock_events(ws, 2)  # the interval's events keep coming

    # Assert
    assert all(e["t"] == START for e in heard + later)  # a test's clock runs only when told
    assert [e["s"] for e in later] == [50, 50]


def test_replay_when_not_the_sandbox_operator_then_ineligible_refused_and_clock_unchanged(
    client: TestClient[Any], other_admin_headers: H, trader_headers: H, admin_headers: H
) -> None:
    before = client.get("/_autoliq/clock", headers=admin_headers).json()["now"]
    for headers in (other_admin_headers, trader_headers):
        with open_socket(client, token_of(headers)) as ws:
            check = ask(ws, "replay/checkReplaySession", 1, {"startTimestamp": START})
            init = ask(ws, "replay/initializeClock", 2, {"startTimestamp": START, "speed": 400})
            speed = ask(ws, "replay/changeSpeed", 3, {"speed": 0})

        assert check["d"] == {"checkStatus": "Ineligible"}
        assert init["s"] == 200 and init["d"] == {"ok": False, "errorText": "Access is denied"}
        assert speed["d"] == {"ok": False, "errorText": "Access is denied"}
    assert client.get("/_autoliq/clock", headers=admin_headers).json()["now"] == before


def test_replay_when_start_beyond_the_bounds_or_bad_input_then_adjusted_or_400_naming_the_field(
    client: TestClient[Any], admin_headers: H
) -> None:
    with open_socket(client, token_of(admin_headers)) as ws:
        early = ask(ws, "replay/checkReplaySession", 1, {"startTimestamp": "1990-01-01T00:00:00Z"})
        late = ask(ws, "replay/checkReplaySession", 2, {"startTimestamp": "2150-01-01T00:00:00Z"})
        fast = ask(ws, "replay/initializeClock", 3, {"startTimestamp": START, "speed": 401})
        missing = ask(ws, "replay/initializeClock", 4, {"speed": 100})
        garbled = ask(ws, "replay/checkReplaySession", 5, {"startTimestamp": "yesterday"})
        negative = ask(ws, "replay/changeSpeed", 6, {"speed": -1})

    assert early["d"] == {
        "checkStatus": "StartTimestampAdjusted",
        "startTimestamp": "2000-01-01T00:00:00.000Z",
    }
    assert late["d"] == {
        "checkStatus": "StartTimestampAdjusted",
        "startTimestamp": "2099-01-01T00:00:00.000Z",
    }
    assert fast["s"] == 400 and fast["d"].startswith("speed:"), fast
    assert missing["s"] == 400 and "startTimestamp" in missing["d"], missing
    assert garbled["s"] == 400 and garbled["d"].startswith("startTimestamp:"), garbled
    assert negative["s"] == 400 and negative["d"].startswith("speed:"), negative


# -- the sandbox clock of `autoliq serve`: stored, heard by every worker, kept across a restart --


def _worker(world: World) -> Services:
    services = bootstrap(worker_settings(world.database_url), run_migrations=False)
    assert isinstance(services.clock, SandboxClock)
    return services


def _until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.02)


def test_replay_when_stopped_at_a_start_through_one_worker_then_other_workers_and_a_restart_keep_it(
    world: World,
) -> None:
    # Arrange: two workers over one database, each with its own sandbox clock.
    one, two = _worker(world), _worker(world)
    with TestClient(app=create_app(one)) as first, TestClient(app=create_app(two)):
        admin = bearer(login(first, "admin", ADMIN_PW))
        with open_socket(first, token_of(admin)) as ws:
            # Act: speed 0 stops the clock, so every reading of it is exact.
            init = ask(ws, "replay/initializeClock", 1, {"startTimestamp": START, "speed": 0})
            assert clock_events(ws, 1)[0] == {"t": START, "s": 0}

        # Assert: the worker that answered, the other one once it heard, and a restarted one.
        assert init["d"] == {"ok": True}
        assert one.clock.now() == START_AT
        _until(lambda: two.clock.now() == START_AT, "the other worker did not take the replay's clock")
    restarted = _worker(world)
    assert isinstance(restarted.clock, SandboxClock) and restarted.clock.speed == 0
    assert restarted.clock.now() == START_AT


def test_replay_when_server_plays_live_then_ineligible_and_refused_even_for_the_operator(
    world: World, clock: ManualClock
) -> None:
    with app_client(world.database_url, clock, environment=Environment.LIVE) as client:
        admin = bearer(login(client, "admin", ADMIN_PW))
        with open_socket(client, token_of(admin)) as ws:
            check = ask(ws, "replay/checkReplaySession", 1, {"startTimestamp": START})
            init = ask(ws, "replay/initializeClock", 2, {"startTimestamp": START, "speed": 400})

    assert check["d"] == {"checkStatus": "Ineligible"}
    assert init["d"] == {
        "ok": False,
        "errorText": "Market replay is only available on a demo or replay server (this one plays live)",
    }
    assert clock.now() != START_AT


def test_replay_when_another_worker_still_runs_the_old_clock_then_its_session_job_reads_the_replays(
    world: World,
) -> None:
    # Arrange: a replay started through one worker; the other has not heard of it (its relay is not
    # running), so its own copy of the clock is still the machine's, five years after the start.
    one, late = _worker(world), _worker(world)
    with TestClient(app=create_app(one)) as first:
        admin = bearer(login(first, "admin", ADMIN_PW))
        with open_socket(first, token_of(admin)) as ws:
            assert ask(ws, "replay/initializeClock", 1, {"startTimestamp": START, "speed": 0})["d"] == {
                "ok": True
            }
    assert late.clock.now() > START_AT.replace(year=2026)

    # Act: the late worker's session job runs.
    late.start()
    try:
        asyncio.run(late.scheduler.run_due())
    finally:
        late.stop()

    # Assert: it closed no trade date the replay has yet to run through.
    assert closed_trade_date(world.database_url) == date(2021, 7, 28)
