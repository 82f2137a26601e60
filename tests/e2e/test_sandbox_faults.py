"""`/_autoliq/faults`: injected penalty tickets, 429s, 500s and delays on the next calls of a route.

Each kind is tried on a hot route (setadminautoliqaction, an ASGI route handler) and on a plain
Litestar one (setaccountnotes): both are writes, so whether the call was processed is read back.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from autoliq.api.app import create_app
from autoliq.bootstrap import Services, bootstrap
from autoliq.domain.errors import StorageUnavailable
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, World, bearer, login, worker_settings
from tests.helpers import SET_ACTION, action_body, app_client

H = dict[str, str]
FAULTS = "/_autoliq/faults"
NOTES = "/v1/accountRiskStatus/setaccountnotes"
SERVER_ERROR = {"errorText": "Internal server error"}


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


class Route:
    """A write route: its call, and whether it took effect on an account."""

    def __init__(self, path: str) -> None:
        self.path = path

    def body(self, account: int) -> dict[str, Any]:
        if self.path == SET_ACTION:
            return action_body(account)
        return {"accountId": account, "notes": "checked"}

    def applied(self, client: TestClient[Any], headers: H, account: int) -> bool:
        if self.path == SET_ACTION:
            found = ok(client.get("/v1/accountRiskStatus/item", params={"id": account}, headers=headers))
            return bool(found["adminAction"] == "LockTradingImmediately")
        return bool(
            ok(client.get(f"/_autoliq/accountNotes/{account}", headers=headers))["notes"] == "checked"
        )


ROUTES = [pytest.param(Route(SET_ACTION), id="hot-route"), pytest.param(Route(NOTES), id="framework")]


def add_fault(client: TestClient[Any], headers: H, path: str, kind: str, **fields: Any) -> dict[str, Any]:
    return dict(ok(client.post(FAULTS, json={"path": path, "kind": kind, **fields}, headers=headers)))


def pending(client: TestClient[Any], headers: H) -> list[dict[str, Any]]:
    return list(ok(client.get(FAULTS, headers=headers))["faults"])


# -- each kind --


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("kind", "extra", "status", "body", "processed"),
    [
        ("tooManyRequests", {}, 429, b"", False),
        ("serverError", {}, 500, SERVER_ERROR, False),
        ("serverErrorAfterCommit", {}, 500, SERVER_ERROR, True),
        ("delay", {"delayMs": 20}, 200, None, True),
    ],
)
def test_fault_when_kind_injected_then_answered_so_and_processed_only_when_it_says(
    client: TestClient[Any],
    world: World,
    admin_headers: H,
    route: Route,
    kind: str,
    extra: dict[str, Any],
    status: int,
    body: Any,
    processed: bool,
) -> None:
    account = world.demo_account_ids[0]
    add_fault(client, admin_headers, route.path, kind, **extra)

    r = client.post(route.path, json=route.body(account), headers=admin_headers)

    assert r.status_code == status
    if body == b"":
        assert r.content == b"" and r.headers["content-length"] == "0"
    elif body is not None:
        assert r.json() == body
    else:
        assert "errorText" not in r.json() and r.json().get("ok", True) is True
    assert route.applied(client, admin_headers, account) is processed
    assert pending(client, admin_headers) == []
    # The fault is used up: the next call is processed normally.
    other = world.demo_account_ids[1]
    assert client.post(route.path, json=route.body(other), headers=admin_headers).status_code == 200
    assert route.applied(client, admin_headers, other)


@pytest.mark.parametrize("route", ROUTES)
def test_fault_when_penalty_ticket_then_not_processed_and_resend_with_ticket_passes_the_next_fault(
    client: TestClient[Any], world: World, admin_headers: H, route: Route
) -> None:
    account = world.demo_account_ids[0]
    add_fault(
        client, admin_headers, route.path.upper().replace("/V1/", "/v1/"), "penaltyTicket", count=2, pTime=0
    )

    first = ok(client.post(route.path, json=route.body(account), headers=admin_headers))

    assert set(first) == {"p-ticket", "p-time", "p-captcha"}
    assert (first["p-time"], first["p-captcha"]) == (0, False) and len(first["p-ticket"]) >= 20
    assert not route.applied(client, admin_headers, account)
    assert [f["remaining"] for f in pending(client, admin_headers)] == [1]
    # Resent with the ticket once its p-time has passed: processed, and it takes no fault.
    resent = client.post(
        route.path, json={**route.body(account), "p-ticket": first["p-ticket"]}, headers=admin_headers
    )
    assert resent.status_code == 200 and "p-ticket" not in resent.json()
    assert route.applied(client, admin_headers, account)
    assert [f["remaining"] for f in pending(client, admin_headers)] == [1]
    # A ticket is good once; the next call without one takes the fault's second call.
    again = ok(
        client.post(
            route.path, json={**route.body(account), "p-ticket": first["p-ticket"]}, headers=admin_headers
        )
    )
    assert set(again) == {"p-ticket", "p-time", "p-captcha"} and again["p-ticket"] != first["p-ticket"]
    assert pending(client, admin_headers) == []


def test_fault_when_ticket_resent_before_its_p_time_then_new_ticket_and_not_processed(
    client: TestClient[Any], world: World, admin_headers: H
) -> None:
    account = world.demo_account_ids[0]
    add_fault(client, admin_headers, SET_ACTION, "penaltyTicket", pTime=3600, pCaptcha=True)
    first = ok(client.post(SET_ACTION, json=action_body(account), headers=admin_headers))
    assert (first["p-time"], first["p-captcha"]) == (3600, True)

    early = ok(
        client.post(
            SET_ACTION, json={**action_body(account), "p-ticket": first["p-ticket"]}, headers=admin_headers
        )
    )
    earlier = ok(
        client.post(
            SET_ACTION, json={**action_body(account), "p-ticket": early["p-ticket"]}, headers=admin_headers
        )
    )

    assert early["p-ticket"] not in (first["p-ticket"], earlier["p-ticket"]) and early["p-time"] == 3600
    assert earlier["p-time"] == 3600
    status = ok(client.get("/v1/accountRiskStatus/item", params={"id": account}, headers=admin_headers))
    assert status["adminAction"] == "Normal"
    # Cleared: the tickets handed out are void, the call is processed.
    assert ok(client.delete(FAULTS, headers=admin_headers)) == {"cleared": 0}
    done = ok(
        client.post(
            SET_ACTION, json={**action_body(account), "p-ticket": earlier["p-ticket"]}, headers=admin_headers
        )
    )
    assert done["accountRiskStatus"]["adminAction"] == "LockTradingImmediately"


def test_fault_when_penalty_on_a_read_then_ticket_resent_as_query_parameter_passes(
    client: TestClient[Any], admin_headers: H
) -> None:
    add_fault(client, admin_headers, "/v1/account/list", "penaltyTicket", count=3, pTime=0)
    ticket = ok(client.get("/v1/account/list", headers=admin_headers))["p-ticket"]

    r = client.get("/v1/account/list", params={"p-ticket": ticket}, headers=admin_headers)

    assert r.status_code == 200 and isinstance(r.json(), list) and len(r.json()) == 10
    assert [f["remaining"] for f in pending(client, admin_headers)] == [2]


def test_fault_when_count_given_then_exactly_the_next_calls_take_it_in_any_case_of_the_path(
    client: TestClient[Any], admin_headers: H, trader_headers: H
) -> None:
    stored = add_fault(client, admin_headers, "/V1/Account/LIST", "tooManyRequests", count=3)
    assert stored == {
        "id": stored["id"],
        "path": "/v1/account/list",
        "kind": "tooManyRequests",
        "remaining": 3,
        "created": stored["created"],
    }
    second = add_fault(client, admin_headers, "/v1/account/list", "serverError")

    statuses = []
    remaining = []
    for headers in (admin_headers, trader_headers, admin_headers, admin_headers, admin_headers):
        statuses.append(client.get("/v1/Account/List", headers=headers).status_code)
        remaining.append([f["remaining"] for f in pending(client, admin_headers)])

    # Whoever of the organization calls (admin or trader), the oldest fault of the path first.
    assert statuses == [429, 429, 429, 500, 200]
    assert remaining == [[2, 1], [1, 1], [1], [], []]
    assert second["kind"] == "serverError" and "pTime" not in second and "delayMs" not in second


def test_faults_when_cleared_then_calls_processed_and_the_entry_disarmed(
    client: TestClient[Any], services: Services, admin_headers: H
) -> None:
    add_fault(client, admin_headers, "/v1/account/list", "serverError", count=5)
    add_fault(client, admin_headers, SET_ACTION, "delay", delayMs=10)
    assert services.sandbox.armed

    cleared = ok(client.delete(FAULTS, headers=admin_headers))

    assert cleared == {"cleared": 2}
    assert pending(client, admin_headers) == []
    assert client.get("/v1/account/list", headers=admin_headers).status_code == 200
    # Nothing pending and no early ticket: every request passes on one attribute lookup.
    assert not services.sandbox.armed


def test_faults_when_trader_or_no_token_then_401_and_nothing_stored(
    client: TestClient[Any], admin_headers: H, trader_headers: H
) -> None:
    body = {"path": SET_ACTION, "kind": "serverError"}
    refused = [
        client.post(FAULTS, json=body, headers=trader_headers),
        client.get(FAULTS, headers=trader_headers),
        client.delete(FAULTS, headers=trader_headers),
        client.post(FAULTS, json=body),
        client.get(FAULTS),
        client.delete(FAULTS),
    ]

    assert [(r.status_code, r.json()) for r in refused] == [(401, {"errorText": "Access is denied"})] * 6
    assert pending(client, admin_headers) == []


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"path": SET_ACTION, "kind": "slow"}, "kind: Invalid enum value 'slow'"),
        ({"path": SET_ACTION}, "kind: is required"),
        (
            {"path": "/v1/order/nosuchthing", "kind": "serverError"},
            "path: no /v1 route '/v1/order/nosuchthing'",
        ),
        ({"path": "/_autoliq/clock", "kind": "serverError"}, "path: no /v1 route '/_autoliq/clock'"),
        ({"path": "/v1/websocket", "kind": "serverError"}, "path: no /v1 route '/v1/websocket'"),
        ({"path": SET_ACTION, "kind": "serverError", "count": 0}, "count: should be between 1 and 10000"),
        ({"path": SET_ACTION, "kind": "serverError", "count": "2"}, "count: Expected `int`, got `str`"),
        ({"path": SET_ACTION, "kind": "delay"}, "delayMs: should be between 1 and 60000 for kind delay"),
        ({"path": SET_ACTION, "kind": "delay", "delayMs": 60001}, "delayMs: should be between 1 and 60000"),
        ({"path": SET_ACTION, "kind": "serverError", "delayMs": 5}, "delayMs: only for kind delay"),
        ({"path": SET_ACTION, "kind": "penaltyTicket", "pTime": 3601}, "pTime: should be between 0 and 3600"),
        ({"path": SET_ACTION, "kind": "serverError", "pTime": 1}, "pTime: only for kind penaltyTicket"),
        ({"path": SET_ACTION, "kind": "delay", "delayMs": 1, "pCaptcha": True}, "pCaptcha: only for kind"),
        ({"path": SET_ACTION, "kind": "serverError", "times": 2}, "times: is not a field of this body"),
    ],
)
def test_faults_when_body_refused_then_400_names_the_field_and_nothing_stored(
    client: TestClient[Any], admin_headers: H, body: dict[str, Any], text: str
) -> None:
    r = client.post(FAULTS, json=body, headers=admin_headers)

    assert r.status_code == 400
    assert r.json()["errorText"].startswith(text), r.json()
    assert pending(client, admin_headers) == []


def test_fault_when_server_restarts_then_still_pending_and_taken(world: World, clock: ManualClock) -> None:
    with app_client(world.database_url, clock) as first:
        admin = bearer(login(first, "admin", ADMIN_PW))
        add_fault(first, admin, "/v1/account/list", "tooManyRequests", count=2)
        assert first.get("/v1/account/list", headers=admin).status_code == 429

    with app_client(world.database_url, clock) as again:
        admin = bearer(login(again, "admin", ADMIN_PW))
        assert [f["remaining"] for f in pending(again, admin)] == [1]
        assert again.get("/v1/account/list", headers=admin).status_code == 429
        assert again.get("/v1/account/list", headers=admin).status_code == 200


def test_fault_when_stored_through_one_worker_then_a_request_to_another_takes_it_once(
    world: World, clock: ManualClock
) -> None:
    """Two apps over one database, as two workers: the second hears of the fault through the event
    outbox (its relay), and the fault's one call is counted in the database, once."""
    one = bootstrap(worker_settings(world.database_url), clock=clock, run_migrations=False)
    two = bootstrap(worker_settings(world.database_url), clock=clock, run_migrations=False)
    with TestClient(app=create_app(one)) as first, TestClient(app=create_app(two)) as second:
        admin = bearer(login(first, "admin", ADMIN_PW))
        add_fault(first, admin, "/v1/account/list", "tooManyRequests")
        assert await_condition(lambda: "/v1/account/list" in two.sandbox.state.paths)

        answers = [second.get("/v1/account/list", headers=admin).status_code for _ in range(2)]

        assert answers == [429, 200]
        assert pending(first, admin) == []
        assert await_condition(lambda: not one.sandbox.armed and not two.sandbox.armed)


def await_condition(condition: Any, guard: float = 15.0) -> bool:
    """True once `condition()` holds (polled); False when it still does not after `guard` seconds."""
    deadline = time.monotonic() + guard
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_fault_when_request_comes_over_the_websocket_then_it_takes_the_fault_too(
    client: TestClient[Any], world: World, admin_headers: H
) -> None:
    add_fault(client, admin_headers, SET_ACTION, "tooManyRequests")
    add_fault(client, admin_headers, SET_ACTION, "penaltyTicket", pTime=0)
    token = admin_headers["Authorization"].removeprefix("Bearer ")
    body = json.dumps(action_body(world.demo_account_ids[0]))

    with client.websocket_connect("/v1/websocket") as session:
        frames = iter(socket_frames(session))
        assert next(frames) == "o"
        session.send_text(f"authorize\n0\n\n{token}")
        assert next(frames) == 'a[{"s":200,"i":0}]'
        session.send_text(f"accountRiskStatus/setadminautoliqaction\n1\n\n{body}")
        limited = next(frames)
        session.send_text(f"accountRiskStatus/setadminautoliqaction\n2\n\n{body}")
        ticketed = json.loads(next(frames)[1:])[0]

    assert limited == 'a[{"s":429,"i":1}]'
    assert (
        ticketed["s"] == 200
        and ticketed["i"] == 2
        and set(ticketed["d"]) == {"p-ticket", "p-time", "p-captcha"}
    )
    status = ok(
        client.get(
            "/v1/accountRiskStatus/item", params={"id": world.demo_account_ids[0]}, headers=admin_headers
        )
    )
    assert status["adminAction"] == "Normal"


def socket_frames(session: Any) -> Iterator[str]:
    """The socket's frames, heartbeats skipped; a frame not there within the guard fails the test."""
    while True:
        try:
            text = str(session.receive_text(timeout=15.0))
        except queue.Empty:
            pytest.fail("no frame within 15 s")
        if text != "h":
            yield text


def test_fault_when_login_body_nested_too_deep_then_the_app_answers_400_not_a_bare_server_error(
    client: TestClient[Any], admin_headers: H
) -> None:
    # Arrange: a fault armed on the login path makes the edge read the login's name from its body
    add_fault(client, admin_headers, "/v1/auth/accesstokenrequest", "delay", delayMs=1)
    nested = b"[" * 300_000 + b"]" * 300_000  # within the body limit; deep enough to exhaust the stack
    # Act
    r = client.post(
        "/v1/auth/accesstokenrequest", content=nested, headers={"content-type": "application/json"}
    )
    # Assert: the step took no organization from it and the app refused the body as unreadable
    assert r.status_code == 400, r.text
    assert "errorText" in r.json()


def test_fault_step_when_storage_unavailable_then_503_with_retry_after(
    client: TestClient[Any], admin_headers: H, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: a fault armed, then the storage the step reads it from fails
    add_fault(client, admin_headers, SET_ACTION, "serverError")

    async def unavailable(*_: Any) -> None:
        raise StorageUnavailable("database is unavailable")

    monkeypatch.setattr(services.sandbox, "take", unavailable)
    # Act
    r = client.post(SET_ACTION, json=action_body(1), headers=admin_headers)
    # Assert
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "1"
    assert r.json() == {"errorText": "Storage unavailable"}
