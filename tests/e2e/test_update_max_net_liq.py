"""`POST /v1/accountRiskStatus/updatemaxnetliq`: sets the trailing drawdown's high-water mark; the
floor (`minNetLiq`) follows from the account's `trailingMaxDrawdown`, capped by its limit."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import World
from tests.contract import validate_response

H = dict[str, str]
PATH = "/v1/accountRiskStatus/updatemaxnetliq"


def update(client: TestClient[Any], headers: H, body: dict[str, Any]) -> tuple[int, Any]:
    r = client.post(PATH, json=body, headers=headers)
    if r.status_code == 200:
        validate_response("POST", PATH, r.json())
    return r.status_code, r.json()


def test_update_max_net_liq_when_trailing_drawdown_set_then_floor_follows_and_stops_at_the_limit(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    settings = {"id": a, "trailingMaxDrawdown": 2000, "trailingMaxDrawdownLimit": 49_500}
    assert (
        client.post("/v1/userAccountAutoLiq/create", json=settings, headers=admin_headers).status_code == 200
    )
    status, body = update(client, admin_headers, {"accountId": a, "maxNetLiq": 51_000})
    assert status == 200 and body["accountRiskStatus"]["maxNetLiq"] == 51_000
    assert body["accountRiskStatus"]["minNetLiq"] == 49_000
    status, body = update(client, admin_headers, {"accountId": a, "maxNetLiq": 53_500.5})
    assert body["accountRiskStatus"]["minNetLiq"] == 49_500  # never above the limit
    read = client.get("/v1/accountRiskStatus/item", params={"id": a}, headers=admin_headers).json()
    assert (read["maxNetLiq"], read["minNetLiq"]) == (53_500.5, 49_500)
    log = client.get("/v1/accountRiskStatusLog/deps", params={"masterid": a}, headers=admin_headers).json()
    assert [(e["maxNetLiq"], e["minNetLiq"]) for e in log] == [(51_000, 49_000), (53_500.5, 49_500)]
    # The admin action is untouched.
    assert read["adminAction"] == "Normal"


def test_update_max_net_liq_when_no_trailing_drawdown_then_no_floor(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    a = world.demo_account_ids[1]
    status, body = update(client, admin_headers, {"accountId": a, "maxNetLiq": 52_000})
    assert status == 200 and body["accountRiskStatus"]["maxNetLiq"] == 52_000
    assert "minNetLiq" not in body["accountRiskStatus"]


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"accountId": 0, "maxNetLiq": 1}, "Account Id should be greater than 0"),
        ({"maxNetLiq": 1}, "Account Id should be greater than 0"),
        ({"accountId": "A"}, "Max Net Liq should be a number greater than or equal to 0"),
        ({"accountId": "A", "maxNetLiq": -0.01}, "Max Net Liq should be a number greater than or equal to 0"),
    ],
)
def test_update_max_net_liq_when_value_refused_then_error_text_and_nothing_changes(
    client: TestClient[Any], admin_headers: H, world: World, body: dict[str, Any], text: str
) -> None:
    a = world.demo_account_ids[0]
    body = {k: a if v == "A" else v for k, v in body.items()}
    assert update(client, admin_headers, body) == (200, {"errorText": text})
    read = client.get("/v1/accountRiskStatus/item", params={"id": a}, headers=admin_headers).json()
    assert "maxNetLiq" not in read


def test_update_max_net_liq_when_not_an_admin_of_the_account_then_401_or_404(
    client: TestClient[Any], trader_headers: H, other_admin_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    assert update(client, trader_headers, {"accountId": a, "maxNetLiq": 1})[0] == 401
    assert update(client, other_admin_headers, {"accountId": a, "maxNetLiq": 1})[0] == 404
    assert client.post(PATH, json={"accountId": a, "maxNetLiq": 1}).status_code == 401
