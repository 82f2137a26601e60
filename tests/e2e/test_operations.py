"""Operations over HTTP: liveness and readiness probes without a token, and the admins' metrics scrape
(SQLite and PostgreSQL)."""

from __future__ import annotations

import platform
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from litestar.testing import TestClient

from autoliq import __version__
from autoliq.adapters.sql.db import (
    alembic_config,
    create_admin_engine,
    create_db_engine,
    is_sqlite,
)
from autoliq.adapters.sql.readiness import ReadinessProbe
from autoliq.bootstrap import Services
from autoliq.config import metrics_token_digest
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login
from tests.helpers import SET_ACTION, action_body, app_client, current_revision
from tests.prometheus_text import Exposition, LabelSet, parse

HEALTH = "/_autoliq/health"
READY = "/_autoliq/ready"
METRICS = "/_autoliq/metrics"
PLACE = "/v1/order/placeorder"
H = dict[str, str]


def scrape(client: TestClient[Any], admin: H) -> Exposition:
    """GET /_autoliq/metrics as `admin`, checked to be valid text format 0.0.4."""
    r = client.get(METRICS, headers=admin)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4"), r.headers
    return parse(r.text)


def moved(before: Exposition, after: Exposition, name: str) -> dict[LabelSet, float]:
    """The series of `name` whose value changed between two scrapes, with the change."""
    old, new = before.series(name), after.series(name)
    return {labels: value - old.get(labels, 0.0) for labels, value in new.items() if value != old.get(labels)}


def labels(**values: str) -> LabelSet:
    """A label set (without `worker`)."""
    return frozenset(values.items())


def stamp(database_url: str, revision: str) -> None:
    """Set the database's recorded migration revision without migrating (`alembic stamp`)."""
    engine = create_admin_engine(database_url)
    try:
        command.stamp(alembic_config(engine), revision)
    finally:
        engine.dispose()


def place(client: TestClient[Any], trader: H, account_id: int) -> dict[str, Any]:
    """A market buy of one ESZ6; the PlaceOrderResult."""
    body = {"accountId": account_id, "action": "Buy", "symbol": "ESZ6", "orderQty": 1, "orderType": "Market"}
    r = client.post(PLACE, json=body, headers=trader)
    assert r.status_code == 200, r.text
    return dict(r.json())


# -- probes --


def test_health_when_no_token_then_ok(client: TestClient[Any]) -> None:
    r = client.get(HEALTH)

    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_ready_when_no_token_and_database_at_head_then_ready_with_the_head_revision(
    client: TestClient[Any], world: World
) -> None:
    head = current_revision(world.database_url)  # the fixture's database was migrated to head

    r = client.get(READY)

    assert head is not None
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "database": "ok", "migrations": head}


def test_ready_when_database_stamped_behind_the_code_then_503_while_health_stays_ok_and_ready_again_at_head(
    client: TestClient[Any], world: World
) -> None:
    head = current_revision(world.database_url)
    assert head is not None
    engine = create_admin_engine(world.database_url)
    previous = ScriptDirectory.from_config(alembic_config(engine)).get_revision(head).down_revision
    engine.dispose()
    assert isinstance(previous, str)

    stamp(world.database_url, previous)
    behind = client.get(READY)
    health = client.get(HEALTH)
    stamp(world.database_url, head)
    again = client.get(READY)

    assert behind.status_code == 503, behind.text
    assert behind.json() == {"status": "not ready", "database": "ok", "migrations": f"{previous} != {head}"}
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert again.status_code == 200 and again.json()["migrations"] == head


@pytest.fixture
def unreachable_database(services: Services, world: World, tmp_path: Any) -> Iterator[str]:
    """The services' readiness probe pointed at a database that does not exist (same kind as the world's)."""
    if is_sqlite(world.database_url):
        url = f"sqlite:///{tmp_path}/no-such-directory/autoliq.db"
    else:
        url = world.database_url.rpartition("/")[0] + "/autoliq_no_such_database"
    engine = create_db_engine(url, writer=False)
    services.readiness = ReadinessProbe(engine)
    yield url
    engine.dispose()


@pytest.mark.usefixtures("unreachable_database")
def test_ready_when_database_unreachable_then_503_naming_the_error(
    client: TestClient[Any], world: World
) -> None:
    head = current_revision(world.database_url)

    r = client.get(READY)

    assert r.status_code == 503, r.text
    body = r.json()
    assert body["status"] == "not ready" and body["migrations"] == f"unknown != {head}"
    assert body["database"].startswith("OperationalError: "), body
    assert client.get(HEALTH).status_code == 200


# -- metrics --


@pytest.mark.parametrize("who", ["none", "forged", "trader"])
def test_metrics_when_not_an_organization_admin_then_401(
    client: TestClient[Any], trader_headers: H, who: str
) -> None:
    headers = {"none": {}, "forged": bearer("forged-token"), "trader": trader_headers}[who]

    r = client.get(METRICS, headers=headers)

    assert r.status_code == 401 and r.json() == {"errorText": "Access is denied"}


SCRAPE_TOKEN = "scrape-token-0123456789abcdef"


@pytest.mark.parametrize(
    ("who", "status"),
    [("scrape token", 200), ("admin", 200), ("trader", 401), ("another token", 401), ("none", 401)],
)
def test_metrics_when_a_static_scrape_token_is_set_then_it_or_an_admin_scrapes_and_no_one_else(
    world: World, clock: ManualClock, who: str, status: int
) -> None:
    """AUTOLIQ_METRICS_TOKEN lets a scraper in without a session (Prometheus' static bearer token);
    an admin's access token still works; anything else is 401 as before."""
    with app_client(world.database_url, clock, metrics_token_sha256=metrics_token_digest(SCRAPE_TOKEN)) as c:
        headers = {
            "scrape token": bearer(SCRAPE_TOKEN),
            "admin": bearer(login(c, "admin", ADMIN_PW)),
            "trader": bearer(login(c, "trader", TRADER_PW)),
            "another token": bearer(SCRAPE_TOKEN + "x"),
            "none": {},
        }[who]
        r = c.get(METRICS, headers=headers)
    assert r.status_code == status, r.text
    if status == 200:
        assert "autoliq_http_requests_total" in parse(r.text).types
    else:
        assert r.json() == {"errorText": "Access is denied"}


def test_metrics_when_no_scrape_token_is_set_then_a_bearer_that_would_be_one_is_refused(
    client: TestClient[Any],
) -> None:
    assert client.get(METRICS, headers=bearer(SCRAPE_TOKEN)).status_code == 401


def test_metrics_when_admin_then_every_family_in_text_format_labelled_by_worker(
    client: TestClient[Any], admin_headers: H
) -> None:
    found = scrape(client, admin_headers)

    assert {name: kind for name, kind in found.types.items() if name.startswith("autoliq_")} == {
        "autoliq_http_requests_total": "counter",
        "autoliq_http_request_duration_seconds": "histogram",
        "autoliq_admin_actions_total": "counter",
        "autoliq_orders_total": "counter",
        "autoliq_liquidations_total": "counter",
        "autoliq_auto_liq_breaches_total": "counter",
        "autoliq_event_lag_seconds": "histogram",
        "autoliq_build_info": "gauge",
    }
    # The process's own numbers, read at scrape time (issue 19), under Prometheus' usual names.
    assert {name: kind for name, kind in found.types.items() if not name.startswith("autoliq_")} == {
        "process_cpu_seconds_total": "counter",
        "process_resident_memory_bytes": "gauge",
        "process_open_fds": "gauge",
        "process_max_fds": "gauge",
        "process_start_time_seconds": "gauge",
        "python_gc_collections_total": "counter",
        "python_gc_objects_collected_total": "counter",
    }
    [(build, value)] = found.series("autoliq_build_info").items()
    assert value == 1 and dict(build)["version"] == __version__
    assert dict(build)["python"] == platform.python_version()
    [memory] = found.series("process_resident_memory_bytes").values()
    assert 10 * 2**20 < memory < 8 * 2**30  # a real process's resident size
    [fds] = found.series("process_open_fds").values()
    [limit] = found.series("process_max_fds").values()
    assert 3 <= fds <= limit
    assert {dict(k)["generation"] for k in found.series("python_gc_collections_total")} == {"0", "1", "2"}
    lag_series = set(found.series("autoliq_event_lag_seconds_count"))
    assert lag_series == {labels(path="local"), labels(path="outbox")}  # shown before any observation
    workers = {dict(key)["worker"] for _, key in found.samples}
    assert len(workers) == 1 and workers.pop().isdigit()


def test_metrics_when_lock_then_order_refused_and_order_accepted_then_counters_move_by_exactly_those(
    world: World, clock: ManualClock
) -> None:
    locked, trading = world.demo_account_ids[:2]
    with app_client(world.database_url, clock) as c:
        admin = bearer(login(c, "admin", ADMIN_PW))
        trader = bearer(login(c, "trader", TRADER_PW))
        priced = c.post(
            "/_autoliq/prices", json={"prices": [{"symbol": "ESZ6", "price": 5000}]}, headers=admin
        )
        assert priced.status_code == 200, priced.text
        before = scrape(c, admin)

        lock = c.post(SET_ACTION, json=action_body(locked, "LockTradingImmediately"), headers=admin)
        refused = place(c, trader, locked)
        accepted = place(c, trader, trading)
        after = scrape(c, admin)

    assert lock.json()["accountRiskStatus"]["adminAction"] == "LockTradingImmediately", lock.text
    assert refused["failureReason"] == "TradingLocked", refused
    assert "failureReason" not in accepted and accepted["orderId"] > 0, accepted
    assert moved(before, after, "autoliq_admin_actions_total") == {labels(action="LockTradingImmediately"): 1}
    assert moved(before, after, "autoliq_orders_total") == {
        labels(result="TradingLocked"): 1,
        labels(result="accepted"): 1,
    }
    assert moved(before, after, "autoliq_http_requests_total") == {
        labels(route=SET_ACTION, method="POST", status="200"): 1,
        labels(route=PLACE, method="POST", status="200"): 2,
        labels(route=METRICS, method="GET", status="200"): 1,  # the first scrape, counted once answered
    }
    assert moved(before, after, "autoliq_http_request_duration_seconds_count") == {
        labels(route=SET_ACTION): 1,
        labels(route=PLACE): 2,
        labels(route=METRICS): 1,
    }
    assert moved(before, after, "autoliq_liquidations_total") == {}


def test_metrics_when_query_path_param_odd_case_and_unknown_paths_then_labelled_by_route_template(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    account = world.demo_account_ids[3]
    before = scrape(client, admin_headers)

    answers = [
        client.get(f"/v1/accountRiskStatus/item?id={account}", headers=admin_headers).status_code,
        client.get(f"/v1/accountriskstatus/ITEM?id={account}", headers=admin_headers).status_code,
        client.get(f"/_autoliq/accountNotes/{account}", headers=admin_headers).status_code,
        client.get(f"/no/such/route/{account}", headers=admin_headers).status_code,
    ]
    after = scrape(client, admin_headers)

    assert answers == [200, 200, 200, 404]
    assert moved(before, after, "autoliq_http_requests_total") == {
        labels(route="/v1/accountRiskStatus/item", method="GET", status="200"): 2,
        labels(route="/_autoliq/accountNotes/{accountId}", method="GET", status="200"): 1,
        labels(route="unmatched", method="GET", status="404"): 1,
        labels(route=METRICS, method="GET", status="200"): 1,
    }
    routes = {dict(key)["route"] for _, key in after.samples if "route" in dict(key)}
    assert not any(f"/{account}" in route or "?" in route for route in routes), routes


def test_metrics_when_admin_liquidates_and_a_rule_breaches_then_liquidations_breaches_and_lag_count_them(
    world: World, clock: ManualClock
) -> None:
    by_admin, by_rule = world.demo_account_ids[:2]
    with app_client(world.database_url, clock) as c:
        admin = bearer(login(c, "admin", ADMIN_PW))
        trader = bearer(login(c, "trader", TRADER_PW))
        made = c.post(
            "/v1/userAccountAutoLiq/create", json={"id": by_rule, "dailyLossAutoLiq": 400}, headers=admin
        )
        assert made.status_code == 200, made.text
        prices = c.post(
            "/_autoliq/prices", json={"prices": [{"symbol": "ESZ6", "price": 5000}]}, headers=admin
        )
        assert prices.status_code == 200, prices.text
        assert place(c, trader, by_admin).get("orderId")
        assert place(c, trader, by_rule).get("orderId")
        before = scrape(c, admin)

        liquidated = c.post(SET_ACTION, json=action_body(by_admin, "LiquidateImmediately"), headers=admin)
        fell = c.post("/_autoliq/prices", json={"prices": [{"symbol": "ESZ6", "price": 4990}]}, headers=admin)
        after = scrape(c, admin)
        layer = c.get("/_autoliq/autoLiqStatus", params={"accountId": by_rule}, headers=admin).json()

    assert liquidated.json()["accountRiskStatus"]["adminAction"] == "LiquidateImmediately", liquidated.text
    assert fell.status_code == 200, fell.text
    assert layer["state"] == "Locked" and layer["rule"] == "dailyLossAutoLiq", layer  # -$500 < -$400
    assert moved(before, after, "autoliq_liquidations_total") == {
        labels(source="admin"): 1,
        labels(source="auto_liq"): 1,
    }
    assert moved(before, after, "autoliq_auto_liq_breaches_total") == {
        labels(rule="dailyLossAutoLiq", level="AutoLiq"): 1
    }
    # Two writes published events here (the liquidation, the price change's breach), each observed.
    assert moved(before, after, "autoliq_event_lag_seconds_count") == {labels(path="local"): 2}
