"""`POST /v1/accountRiskStatus/setaccountnotes` (organization admins) and its read,
`GET /_autoliq/accountNotes/{accountId}` (the organization's admins and the account's owner)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import World
from tests.contract import validate_response

H = dict[str, str]
PATH = "/v1/accountRiskStatus/setaccountnotes"


def set_notes(client: TestClient[Any], headers: H, body: dict[str, Any]) -> tuple[int, Any]:
    r = client.post(PATH, json=body, headers=headers)
    if r.status_code == 200:
        validate_response("POST", PATH, r.json())
    return r.status_code, r.json()


def read_notes(client: TestClient[Any], headers: H, account_id: int) -> tuple[int, Any]:
    r = client.get(f"/_autoliq/accountNotes/{account_id}", headers=headers)
    return r.status_code, r.json()


def test_set_notes_when_admin_sets_then_owner_and_admins_read_them_and_absent_notes_clear_them(
    client: TestClient[Any], admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    assert read_notes(client, admin_headers, a) == (200, {"accountId": a, "notes": None})
    text = "Breached the daily loss twice; call before unlocking. Ünïcödé ok."
    assert set_notes(client, admin_headers, {"accountId": a, "notes": text}) == (200, {"ok": True})
    assert read_notes(client, admin_headers, a) == (200, {"accountId": a, "notes": text})
    assert read_notes(client, trader_headers, a) == (200, {"accountId": a, "notes": text})
    # Another account's notes are its own.
    assert read_notes(client, admin_headers, world.demo_account_ids[1])[1]["notes"] is None
    # The longest allowed notes are kept whole.
    longest = "n" * 8192
    assert set_notes(client, admin_headers, {"accountId": a, "notes": longest}) == (200, {"ok": True})
    assert read_notes(client, trader_headers, a)[1]["notes"] == longest
    assert set_notes(client, admin_headers, {"accountId": a}) == (200, {"ok": True})
    assert read_notes(client, admin_headers, a) == (200, {"accountId": a, "notes": None})


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"accountId": 0, "notes": "x"}, "Account Id should be greater than 0"),
        ({"accountId": -5, "notes": "x"}, "Account Id should be greater than 0"),
        ({"notes": "x"}, "Account Id should be greater than 0"),
        ({"accountId": "A", "notes": "n" * 8193}, "Notes should be no longer than 8192"),
    ],
)
def test_set_notes_when_value_refused_then_error_text_and_notes_unchanged(
    client: TestClient[Any], admin_headers: H, world: World, body: dict[str, Any], text: str
) -> None:
    a = world.demo_account_ids[0]
    assert set_notes(client, admin_headers, {"accountId": a, "notes": "before"}) == (200, {"ok": True})
    body = {k: a if v == "A" else v for k, v in body.items()}
    assert set_notes(client, admin_headers, body) == (200, {"ok": False, "errorText": text})
    assert read_notes(client, admin_headers, a)[1]["notes"] == "before"


def test_set_notes_when_not_an_admin_of_the_account_then_401_or_404_and_nothing_changes(
    client: TestClient[Any], admin_headers: H, trader_headers: H, other_admin_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    body = {"accountId": a, "notes": "mine"}
    assert set_notes(client, trader_headers, body) == (401, {"errorText": "Access is denied"})
    assert set_notes(client, other_admin_headers, body)[0] == 404
    assert set_notes(client, admin_headers, {"accountId": 987_654_321, "notes": "x"})[0] == 404
    assert set_notes(client, admin_headers, {"accountId": world.other_account_ids[0], "notes": "x"})[0] == 404
    assert client.post(PATH, json=body).status_code == 401
    assert read_notes(client, admin_headers, a)[1]["notes"] is None
    assert read_notes(client, other_admin_headers, world.other_account_ids[0])[1]["notes"] is None


def test_read_notes_when_account_not_visible_then_404(
    client: TestClient[Any], admin_headers: H, other_admin_headers: H, trader_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    assert set_notes(client, admin_headers, {"accountId": a, "notes": "private"}) == (200, {"ok": True})
    assert read_notes(client, other_admin_headers, a)[0] == 404
    assert read_notes(client, trader_headers, world.other_account_ids[0])[0] == 404
    assert read_notes(client, admin_headers, 987_654_321)[0] == 404
    assert read_notes(client, admin_headers, 0)[0] == 404
    assert client.get(f"/_autoliq/accountNotes/{a}").status_code == 401


def test_set_notes_when_body_has_wrong_types_then_400_naming_the_field(
    client: TestClient[Any], admin_headers: H, world: World
) -> None:
    a = world.demo_account_ids[0]
    status, body = set_notes(client, admin_headers, {"accountId": a, "notes": 5})
    assert status == 400 and "notes" in body["errorText"]
    status, body = set_notes(client, admin_headers, {"accountId": str(a), "notes": "x"})
    assert status == 400 and "accountId" in body["errorText"]
