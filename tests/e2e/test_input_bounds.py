"""Every input has a bound, checked before arithmetic or storage, on both engines: JSON nested too
deeply is a 400 (REST and WebSocket, with or without a token, plain routes and ASGI route
handlers), ids and counts are int64, dates and times lie within 2000-01-01..2100-01-01, and a clock
move beyond them is a 400 that changes nothing. Never a 500, never a logged traceback."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import delete, insert, select

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import risk_session, sandbox_clock
from autoliq.api.app import create_app
from autoliq.bootstrap import Services, bootstrap, prepare_database
from autoliq.domain.bounds import INT64_MAX, INT64_MIN
from autoliq.domain.instruments import PRODUCTS_BY_NAME, listed_contracts
from autoliq.service.clock import SandboxClock
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login, make_settings
from tests.helpers import SET_ACTION, action_body, db_snapshot

H = dict[str, str]
CLOCK = "/_autoliq/clock"
PLACE = "/v1/order/placeorder"
LOGIN = "/v1/auth/accesstokenrequest"
DEEP = "[" * 20_000 + "]" * 20_000
"""20,000 levels in 40 KB: deeper than msgspec's recursion allows whatever the stack's depth when it
is called (Python's limit of 1,000 counts both; a RecursionError before). At 1,000 levels the
outcome depended on the server's own stack: once Litestar no longer set up logging (a shallower
stack), a skipped unknown field 1,000 deep decoded."""
TOO_DEEP = "body: is not valid JSON (nested too deeply)"
TIME_RANGE = "must be between 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z"


def _json(headers: H | None = None) -> H:
    return {**(headers or {}), "content-type": "application/json"}


def _app(services: Services, caplog: pytest.LogCaptureFixture) -> Litestar:
    """An app whose logs `caplog` sees: creating a Litestar app configures the root logger's handlers
    (dictConfig), which drops pytest's capturing handler when that happens inside a test."""
    app = create_app(services)
    root = logging.getLogger()
    root.addHandler(caplog.handler)
    root.setLevel(min(root.level, logging.INFO))
    return app


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def _order(account_id: int, **extra: Any) -> dict[str, Any]:
    body = {"accountId": account_id, "action": "Buy", "symbol": "ESZ6", "orderQty": 1, "orderType": "Market"}
    return {**body, **extra}


# -- deep nesting --


DEEP_BODIES = [
    pytest.param(DEEP, id="document"),
    pytest.param('{"z": ' + DEEP + "}", id="unknown-field"),
    pytest.param('{"accountId": ' + DEEP + "}", id="known-field"),
    pytest.param('{"name": "a", "password": "b", "appId": {"x": ' + DEEP + "}}", id="in-an-object"),
]
"""Where a typed decoder expects a scalar or an object and meets an array, it refuses the type at the
first level (a 400 naming the field); where the nesting is skipped or decoded as any JSON, its depth
is what fails: `body: is not valid JSON (nested too deeply)`."""


def _refused(r: Any, raw: str) -> None:
    where = f"{r.request.url.path} {raw[:30]}"
    assert r.status_code == 400, f"{where}: {r.text}"
    text = r.json()["errorText"]
    assert text, where
    if raw.startswith('{"z"'):
        assert text == TOO_DEEP, f"{where}: {r.text}"


@pytest.mark.parametrize("raw", DEEP_BODIES)
def test_deep_json_when_login_without_token_then_400_malformed_and_nothing_logged(
    client: TestClient[Any], caplog: pytest.LogCaptureFixture, raw: str
) -> None:
    with caplog.at_level(logging.INFO):
        r = client.post(LOGIN, content=raw.encode(), headers=_json())
    _refused(r, raw)
    assert _errors(caplog) == []


DEEP_ROUTES = [
    SET_ACTION,  # an ASGI route handler
    PLACE,  # an ASGI route handler
    "/v1/accountRiskStatus/resetautoliqstatus",  # a plain route: its `data` decoded by decode_strict
    "/v1/userAccountAutoLiq/create",
    "/v1/account/resetdemoaccountstate",
    CLOCK,
    "/_autoliq/faults",
]


def test_deep_json_when_authenticated_routes_then_400_and_nothing_logged_nor_changed(
    client: TestClient[Any], admin_headers: H, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    before = db_snapshot(world.database_url)
    with caplog.at_level(logging.INFO):
        for path in DEEP_ROUTES:
            for param in DEEP_BODIES:
                raw = str(param.values[0])
                r = client.post(path, content=raw.encode(), headers=_json(admin_headers))
                _refused(r, raw)
    assert _errors(caplog) == []
    assert db_snapshot(world.database_url) == before


def test_deep_json_when_a_fault_is_armed_and_the_body_carries_a_ticket_then_400_not_a_crash(
    client: TestClient[Any], admin_headers: H, caplog: pytest.LogCaptureFixture
) -> None:
    """With a fault pending, the edge's sandbox step peeks at bodies for a `p-ticket` before the app."""
    armed = {"path": PLACE, "kind": "delay", "delayMs": 1, "count": 5}
    assert client.post("/_autoliq/faults", json=armed, headers=admin_headers).status_code == 200
    raw = '{"p-ticket": "abc", "z": ' + DEEP + "}"
    with caplog.at_level(logging.INFO):
        r = client.post(PLACE, content=raw.encode(), headers=_json(admin_headers))
    assert r.status_code == 400, r.text
    assert r.json() == {"errorText": TOO_DEEP}
    assert _errors(caplog) == []


@contextlib.contextmanager
def _socket(client: TestClient[Any], token: str) -> Iterator[Any]:
    with client.websocket_connect("/v1/websocket") as ws:
        assert ws.receive_text(timeout=10) == "o"
        ws.send_text(f"authorize\n0\n\n{token}")
        assert ws.receive_text(timeout=10) == 'a[{"s":200,"i":0}]'
        yield ws


def _answer(ws: Any, request_id: int) -> dict[str, Any]:
    while True:
        text = ws.receive_text(timeout=10)
        if text.startswith("a["):
            for message in json.loads(text[1:]):
                if message.get("i") == request_id:
                    return dict(message)


@pytest.mark.parametrize(
    "endpoint",
    [
        "user/syncrequest",
        "accountRiskStatus/setadminautoliqaction",
        "order/placeorder",
        "userAccountAutoLiq/create",
    ],
)
def test_deep_json_when_websocket_frame_then_400_answer_and_the_socket_lives_on(
    client: TestClient[Any], admin_headers: H, caplog: pytest.LogCaptureFixture, endpoint: str
) -> None:
    with (
        _socket(client, admin_headers["Authorization"].removeprefix("Bearer ")) as ws,
        caplog.at_level(logging.INFO),
    ):
        ws.send_text(f"{endpoint}\n7\n\n" + '{"z": ' + DEEP + "}")
        found = _answer(ws, 7)
        assert found == {"s": 400, "i": 7, "d": TOO_DEEP}, found
        ws.send_text("user/syncrequest\n8\n\n{}")  # the socket still answers
        assert _answer(ws, 8)["s"] == 200
    assert _errors(caplog) == []


# -- ids and counts: int64 --

OVER = 2**63
UNDER = -(2**63) - 1

INT64_BODIES = [
    pytest.param("/v1/userAccountAutoLiq/create", {"id": OVER}, "id", id="auto-liq-create-id"),
    pytest.param("/v1/userAccountAutoLiq/update", {"id": OVER}, "id", id="auto-liq-update-id"),
    pytest.param(
        "/v1/userAccountAutoLiq/updateuserautoliq", {"accountId": OVER}, "accountId", id="update-one"
    ),
    pytest.param(
        "/v1/userAccountAutoLiq/updateuserautoliqs",
        {"items": [{"accountId": UNDER}]},
        "items[0].accountId",
        id="update-many",
    ),
    pytest.param(SET_ACTION, action_body(OVER), "accountId", id="set-admin-action"),
    pytest.param(PLACE, _order(OVER), "accountId", id="place-order-account"),
    pytest.param("/v1/order/cancelorder", {"orderId": UNDER}, "orderId", id="cancel-order"),
    pytest.param(
        "/v1/order/liquidateposition",
        {"accountId": 1, "contractId": OVER, "admin": True},
        "contractId",
        id="liquidate-position-contract",
    ),
    pytest.param(
        "/v1/order/liquidatepositions",
        {"positions": [1, OVER], "admin": True},
        "positions[1]",
        id="positions",
    ),
    pytest.param(
        "/v1/accountRiskStatus/switchriskcategory",
        {"accountIds": [OVER], "riskCategoryId": 1},
        "accountIds[0]",
        id="switch-category",
    ),
    pytest.param(
        "/v1/account/resetdemoaccountstate",
        {"accountIds": [1], "resetTradeDate": {"year": 2026, "month": OVER, "day": 2}},
        "resetTradeDate.month",
        id="reset-trade-date-month",
    ),
    pytest.param(
        "/_autoliq/faults", {"path": PLACE, "kind": "delay", "delayMs": OVER}, "delayMs", id="fault-delay"
    ),
    pytest.param(
        "/_autoliq/faults",
        {"path": PLACE, "kind": "tooManyRequests", "count": 2**64},
        "count",
        id="fault-count",
    ),
]


def test_int64_when_body_number_is_beyond_it_then_400_naming_the_field_and_nothing_changed(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    before = db_snapshot(world.database_url)
    for param in INT64_BODIES:
        path, body, field = param.values
        r = client.post(str(path), content=json.dumps(body).encode(), headers=_json(admin_headers))
        assert r.status_code == 400, f"{param.id}: {r.text}"
        assert r.json()["errorText"].startswith(f"{field}: "), f"{param.id}: {r.text}"
    assert db_snapshot(world.database_url) == before
    assert client.get("/_autoliq/faults", headers=admin_headers).json()["faults"] == []


def test_int64_when_login_body_number_is_beyond_it_then_400_naming_the_field(client: TestClient[Any]) -> None:
    r = client.post(LOGIN, json={"name": "admin", "password": ADMIN_PW, "cid": OVER})
    assert r.status_code == 400, r.text
    assert r.json()["errorText"].startswith("cid: ")


INT64_QUERIES = [
    (f"/v1/userAccountAutoLiq/item?id={OVER}", "id"),
    (f"/v1/userAccountAutoLiq/items?ids=1,{OVER}", "ids"),
    (f"/v1/userAccountAutoLiq/deps?masterid={UNDER}", "masterid"),
    (f"/v1/userAccountAutoLiq/ldeps?masterids={OVER}", "masterids"),
    (f"/v1/order/item?id={OVER}", "id"),
    (f"/v1/contract/item?id={OVER}", "id"),
    (f"/_autoliq/alerts?limit={2**64}", "limit"),
    (f"/_autoliq/alerts?afterId={OVER}", "afterId"),
    (f"/_autoliq/alerts?accountId={OVER}", "accountId"),
    (f"/_autoliq/audit?accountId={OVER}", "accountId"),
    (f"/_autoliq/autoLiqStatus?accountId={UNDER}", "accountId"),
]


def test_int64_when_query_number_is_beyond_it_then_400_naming_the_parameter(
    client: TestClient[Any], admin_headers: H
) -> None:
    for query, field in INT64_QUERIES:
        r = client.get(query, headers=admin_headers)
        assert r.status_code == 400, f"{query}: {r.text}"
        assert r.json()["errorText"].startswith(f"{field}: "), f"{query}: {r.text}"


def test_int64_when_websocket_syncrequest_account_beyond_it_then_400_naming_the_field(
    client: TestClient[Any], admin_headers: H
) -> None:
    with _socket(client, admin_headers["Authorization"].removeprefix("Bearer ")) as ws:
        ws.send_text("user/syncrequest\n3\n\n" + json.dumps({"accounts": [1, OVER]}))
        found = _answer(ws, 3)
    assert found["s"] == 400 and str(found["d"]).startswith("accounts[1]: "), found


# -- dates and times --


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"flattenTimestamp": "9999-12-31T23:59:59Z"}, "flattenTimestamp"),
        ({"flattenTimestamp": "0001-01-01T00:00:00Z"}, "flattenTimestamp"),
        ({"flattenTimestamp": "1999-12-31T23:59:59.999999Z"}, "flattenTimestamp"),
        ({"flattenTimestamp": "2100-01-01T00:00:01Z"}, "flattenTimestamp"),
    ],
)
def test_time_when_auto_liq_timestamp_outside_the_bounds_then_400_naming_it_and_nothing_stored(
    client: TestClient[Any], admin_headers: H, world: World, body: dict[str, Any], field: str
) -> None:
    account_id = world.demo_account_ids[0]
    for path in ("/v1/userAccountAutoLiq/create", "/v1/userAccountAutoLiq/update"):
        r = client.post(path, json={"id": account_id, **body}, headers=admin_headers)
        assert r.status_code == 400, r.text
        assert r.json() == {"errorText": f"{field}: {TIME_RANGE}"}
    r = client.post(
        "/v1/userAccountAutoLiq/updateuserautoliqs",
        json={"items": [{"accountId": account_id, **body}]},
        headers=admin_headers,
    )
    assert r.status_code == 400 and r.json() == {"errorText": f"items[0].{field}: {TIME_RANGE}"}
    assert (
        client.get(f"/v1/userAccountAutoLiq/item?id={account_id}", headers=admin_headers).status_code == 404
    )


def test_time_when_auto_liq_timestamp_on_the_bounds_then_accepted(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    account_id = world.demo_account_ids[0]
    body = {"id": account_id, "flattenTimestamp": "2100-01-01T00:00:00Z"}
    r = client.post("/v1/userAccountAutoLiq/create", json=body, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.json()["flattenTimestamp"] == "2100-01-01T00:00:00Z"


@pytest.mark.parametrize("year", [1, 1999, 2101, 2**62])
def test_time_when_reset_trade_date_year_outside_the_bounds_then_400_naming_it_and_nothing_changed(
    client: TestClient[Any], admin_headers: H, world: World, year: int
) -> None:
    before = db_snapshot(world.database_url)
    body = {"accountIds": [world.demo_account_ids[0]], "resetTradeDate": {"year": year, "month": 1, "day": 3}}
    r = client.post("/v1/account/resetdemoaccountstate", json=body, headers=admin_headers)
    assert r.status_code == 400, r.text
    assert r.json()["errorText"].startswith("resetTradeDate.year: ")
    assert db_snapshot(world.database_url) == before


# -- the sandbox clock, as `autoliq serve` runs it (the machine's clock plus the stored offset) --


@pytest.fixture
def sandbox_services(world: World) -> Services:
    services = bootstrap(make_settings(world.database_url), run_migrations=False)
    assert isinstance(services.clock, SandboxClock)
    return services


def stored_offset(database_url: str) -> Any:
    """The sandbox clock's row as stored (None: never moved)."""
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(sandbox_clock.c.offset_us)).scalar()
    finally:
        engine.dispose()


def _still_answers(client: TestClient[Any], world: World) -> None:
    """setadminautoliqaction, placeorder and GET /_autoliq/clock answer (a 500 for everyone before)."""
    admin = bearer(login(client, "admin", ADMIN_PW))
    trader = bearer(login(client, "trader", TRADER_PW))
    r = client.get(CLOCK, headers=trader)
    assert r.status_code == 200, r.text
    assert r.json()["now"].startswith(("20", "21"))
    symbol = listed_contracts(PRODUCTS_BY_NAME["ES"], date.fromisoformat(r.json()["tradeDate"]), 1)[0].name
    r = client.post(SET_ACTION, json=action_body(world.demo_account_ids[1], "Normal", "Other"), headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["accountRiskStatus"]["adminAction"] == "Normal"
    r = client.post(
        "/_autoliq/prices", json={"prices": [{"symbol": symbol, "price": 5000.25}]}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = client.post(PLACE, json=_order(world.demo_account_ids[0], symbol=symbol), headers=trader)
    assert r.status_code == 200, r.text
    assert "orderId" in r.json(), r.text


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"now": "9999-12-31T23:59:59Z"}, id="year-9999"),
        pytest.param({"now": "2100-01-01T00:00:00.000001Z"}, id="just-past"),
        pytest.param({"now": "1999-12-31T23:59:59Z"}, id="before-2000"),
    ],
)
def test_clock_when_now_outside_the_bounds_then_400_naming_now_nothing_stored_and_the_service_answers(
    sandbox_services: Services, world: World, caplog: pytest.LogCaptureFixture, body: dict[str, Any]
) -> None:
    with TestClient(app=_app(sandbox_services, caplog)) as client, caplog.at_level(logging.INFO):
        admin = bearer(login(client, "admin", ADMIN_PW))
        before = client.get(CLOCK, headers=admin).json()
        r = client.post(CLOCK, json=body, headers=admin)
        assert r.status_code == 400, r.text
        assert r.json() == {"errorText": f"now: {TIME_RANGE}"}
        assert stored_offset(world.database_url) is None
        assert client.get(CLOCK, headers=admin).json()["offsetSeconds"] == pytest.approx(
            before["offsetSeconds"], abs=5
        )
        _still_answers(client, world)
    assert _errors(caplog) == []


def test_clock_when_an_advance_would_pass_2100_then_400_naming_it_and_the_stored_offset_unchanged(
    sandbox_services: Services, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The ~8,000 advances of a year that reached year 9999: the first that would pass the bound is
    refused, inside its transaction, before anything is stored."""
    with TestClient(app=_app(sandbox_services, caplog)) as client, caplog.at_level(logging.INFO):
        admin = bearer(login(client, "admin", ADMIN_PW))
        r = client.post(CLOCK, json={"now": "2099-06-01T00:00:00Z"}, headers=admin)
        assert r.status_code == 200, r.text
        offset = stored_offset(world.database_url)
        for _ in range(3):
            r = client.post(CLOCK, json={"advanceSeconds": 31622400}, headers=admin)
            assert r.status_code == 400, r.text
            assert r.json()["errorText"].startswith(
                "advanceSeconds: the clock would pass 2100-01-01T00:00:00Z"
            )
        assert stored_offset(world.database_url) == offset
        assert client.get(CLOCK, headers=admin).json()["now"].startswith("2099-06-01")
        # Up to the bound itself is allowed.
        r = client.post(CLOCK, json={"now": "2100-01-01T00:00:00Z"}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["tradeDate"] == "2100-01-01"
        _still_answers(client, world)
    assert _errors(caplog) == []


# -- a poisoned clock row (a database the unbounded clock wrote, or a hand edit) --


def _poison(database_url: str, value: object) -> None:
    """Write the sandbox clock's row straight into the table, as a poisoned database holds it."""
    engine = create_admin_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(delete(sandbox_clock))
            conn.execute(insert(sandbox_clock).values(id=1, offset_us=value, updated=datetime.now(UTC)))
    finally:
        engine.dispose()


def _year_9999_offset() -> int:
    """What `POST /_autoliq/clock {"now": "9999-12-31T23:59:59Z"}` stored on 62575c4."""
    return (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - datetime.now(UTC)) // timedelta(microseconds=1)


POISONS = [
    pytest.param(_year_9999_offset, id="year-9999"),
    pytest.param(lambda: INT64_MAX, id="int64-max"),
    pytest.param(lambda: INT64_MIN, id="int64-min"),
    pytest.param(lambda: -40 * 365 * 86400 * 10**6, id="before-2000"),
]
SQLITE_POISONS = [
    pytest.param(lambda: "not a number", id="text"),
    pytest.param(lambda: 1e30, id="real-beyond-int64"),
]


def _clock_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "autoliq.service.clock" and r.levelno == logging.WARNING
    ]


def _check_poisoned_clock_is_survived(
    database_url: str, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    poisoned = stored_offset(database_url)
    for start in range(2):  # a restart reads the row again, as `autoliq serve` does when it starts
        caplog.clear()
        settings = make_settings(database_url)
        assert prepare_database(settings) is None  # the start-up path: migrated, nothing seeded
        services = bootstrap(settings, run_migrations=False)
        with TestClient(app=_app(services, caplog)) as client, caplog.at_level(logging.INFO):
            _still_answers(client, world)
            admin = bearer(login(client, "admin", ADMIN_PW))
            assert client.get(CLOCK, headers=admin).json()["offsetSeconds"] == pytest.approx(0, abs=60)
        assert _errors(caplog) == [], f"start {start}"
        warned = _clock_warnings(caplog)
        assert len(warned) == 1, warned  # read at start-up and again when the relay listens: logged once
        assert "ignored" in warned[0]
        assert stored_offset(database_url) == poisoned  # reading never rewrites it
    # A move starts from the machine's time and replaces the row with a sane one.
    services = bootstrap(make_settings(database_url), run_migrations=False)
    with TestClient(app=_app(services, caplog)) as client:
        admin = bearer(login(client, "admin", ADMIN_PW))
        r = client.post(CLOCK, json={"advanceSeconds": 3600}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["offsetSeconds"] == pytest.approx(3600, abs=60)
    assert stored_offset(database_url) == pytest.approx(3600 * 10**6, abs=60 * 10**6)


@pytest.mark.parametrize("poison", POISONS)
def test_clock_when_stored_offset_poisoned_then_logged_once_ignored_and_the_service_answers_across_restarts(
    world: World, caplog: pytest.LogCaptureFixture, poison: Any
) -> None:
    _poison(world.database_url, poison())
    _check_poisoned_clock_is_survived(world.database_url, world, caplog)


@pytest.mark.parametrize("poison", SQLITE_POISONS)
def test_clock_when_a_sqlite_row_holds_no_int64_then_logged_once_ignored_and_the_service_answers(
    world: World, caplog: pytest.LogCaptureFixture, poison: Any
) -> None:
    """SQLite's dynamic typing lets a hand-edited row hold text or a real beyond int64."""
    if not world.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's bigint column holds only int64 values")
    _poison(world.database_url, poison())
    _check_poisoned_clock_is_survived(world.database_url, world, caplog)


def test_clock_when_poisoned_while_running_then_the_next_move_starts_from_the_machines_time(
    sandbox_services: Services, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(app=_app(sandbox_services, caplog)) as client, caplog.at_level(logging.INFO):
        admin = bearer(login(client, "admin", ADMIN_PW))
        _poison(world.database_url, _year_9999_offset())
        for _ in range(2):
            r = client.post(CLOCK, json={"advanceSeconds": 60}, headers=admin)
            assert r.status_code == 200, r.text
        assert r.json()["offsetSeconds"] == pytest.approx(120, abs=30)
        _still_answers(client, world)
    assert _errors(caplog) == []
    assert len(_clock_warnings(caplog)) == 1


def test_session_job_when_the_stored_trade_date_is_out_of_bounds_then_logged_once_and_it_starts_again(
    sandbox_services: Services, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A clock poisoned on 62575c4 ran the session job at year 9999: 9999-12-31 has no next trade date."""
    engine = create_admin_engine(world.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(delete(risk_session))
            conn.execute(insert(risk_session).values(id=1, closed_trade_date=date(9999, 12, 31)))
    finally:
        engine.dispose()
    with TestClient(app=_app(sandbox_services, caplog)) as client, caplog.at_level(logging.INFO):
        admin = bearer(login(client, "admin", ADMIN_PW))
        for _ in range(3):  # each move runs the session job before its answer
            r = client.post(CLOCK, json={"advanceSeconds": 86400}, headers=admin)
            assert r.status_code == 200, r.text
        _still_answers(client, world)
    assert _errors(caplog) == []
    warned = [r.getMessage() for r in caplog.records if "session job" in r.getMessage()]
    assert len(warned) == 1, warned
    engine = create_admin_engine(world.database_url)
    try:
        with engine.connect() as conn:
            closed = conn.execute(select(risk_session.c.closed_trade_date)).scalar_one()
    finally:
        engine.dispose()
    assert date(2000, 1, 1) < closed < date(2100, 1, 1)
