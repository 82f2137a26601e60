"""Auth over HTTP: Tradovate's token endpoints' wire shapes, and the token guard of every route (401
`Access is denied` for a missing, malformed, forged or expired bearer). The token rules themselves
(expiry, renewal, two sessions per user, the cache, penalties) are tested over the fakes in
tests/unit/service/test_auth.py; stored hashes in tests/integration/test_credentials_storage.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from litestar.testing import TestClient

from autoliq.api.routes.desk import DESK_PATH
from autoliq.service.clock import ManualClock
from tests.conftest import ADMIN_PW, TRADER_PW, World, bearer, login

TOKEN_URL = "/v1/auth/accesstokenrequest"
PROBES = {"/_autoliq/health", "/_autoliq/ready"}  # liveness and readiness: a probe carries no token


def test_access_token_request_when_credentials_right_then_token_and_expiry_in_90_minutes(
    client: TestClient[Any], clock: ManualClock
) -> None:
    r = client.post(
        TOKEN_URL, json={"name": "admin", "password": ADMIN_PW, "appId": "x", "cid": 0, "sec": "s"}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "admin" and body["userStatus"] == "Active" and isinstance(body["userId"], int)
    expires = datetime.fromisoformat(body["expirationTime"].replace("Z", "+00:00"))
    assert (expires - clock.now()).total_seconds() == 90 * 60
    assert "errorText" not in body


@pytest.mark.parametrize(
    ("name", "password"),
    # A wrong password, an unknown name, the name in another case (names are exact), an empty password.
    [("admin", "wrong"), ("nobody", ADMIN_PW), ("ADMIN", ADMIN_PW), ("admin", "")],
)
def test_access_token_request_when_credentials_wrong_then_200_with_error_text_and_no_token(
    client: TestClient[Any], name: str, password: str
) -> None:
    r = client.post(TOKEN_URL, json={"name": name, "password": password})
    incorrect = {"errorText": "Incorrect username or password. Please try again."}
    assert (r.status_code, r.json()) == (200, incorrect)


PROTECTED = [
    ("GET", "/v1/auth/me"),
    ("GET", "/v1/auth/renewaccesstoken"),
    ("POST", "/v1/accountRiskStatus/setadminautoliqaction"),
    ("GET", "/v1/accountRiskStatus/list"),
    ("GET", "/v1/accountRiskStatus/item?id=1"),
    ("GET", "/v1/accountRiskStatus/items?ids=1"),
    ("GET", "/v1/accountRiskStatus/deps?masterid=1"),
    ("GET", "/v1/accountRiskStatus/ldeps?masterids=1"),
    ("GET", "/v1/accountRiskStatusLog/list"),
    ("GET", "/v1/accountRiskStatusLog/item?id=1"),
    ("GET", "/v1/accountRiskStatusLog/items?ids=1"),
    ("GET", "/v1/accountRiskStatusLog/deps?masterid=1"),
    ("GET", "/v1/accountRiskStatusLog/ldeps?masterids=1"),
    ("GET", "/v1/account/list"),
    ("GET", "/v1/account/item?id=1"),
    ("GET", "/v1/account/items?ids=1"),
    ("GET", "/v1/account/find?name=DEMO000001"),
    ("GET", "/v1/account/deps?masterid=1"),
    ("GET", "/_autoliq/audit?accountId=1"),
    ("GET", "/_autoliq/metrics"),
]

BAD_TOKENS = {
    "missing": {},
    "empty-bearer": {"Authorization": "Bearer "},
    "forged": {"Authorization": "Bearer " + "A" * 43},
    "wrong-scheme": {"Authorization": "Basic YWRtaW46cHc="},
}


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_protected_route_when_token_missing_or_forged_then_401_access_is_denied(
    client: TestClient[Any], method: str, path: str
) -> None:
    for token, headers in BAD_TOKENS.items():
        r = client.request(method, path, headers=headers, json={"accountId": 1} if method == "POST" else None)
        assert r.status_code == 401, token
        assert r.json() == {"errorText": "Access is denied"}, token


def test_every_route_when_no_token_then_only_token_request_probes_and_docs_answer_200(
    client: TestClient[Any],
) -> None:
    """No route answers 200 without a valid token except accesstokenrequest, the two probes, the docs
    and the risk desk's static files (the page holds no data: it signs in, then calls the API)."""
    app = client.app
    open_paths = set()
    for route in app.routes:
        for method in sorted(getattr(route, "methods", {"GET"}) - {"OPTIONS", "HEAD"}):
            path = route.path.replace("{file_name:str}", "openapi.json")
            r = client.request(
                method, path + "?id=1&ids=1&masterid=1&masterids=1&name=x&accountId=1", json={}
            )
            if r.status_code == 200:
                open_paths.add(route.path)
    assert open_paths
    assert all(
        p in {TOKEN_URL, *PROBES, DESK_PATH} or p.startswith(("/_autoliq/docs", f"{DESK_PATH}/"))
        for p in open_paths
    ), open_paths
    assert any(p.startswith("/_autoliq/docs") for p in open_paths)
    assert open_paths >= PROBES


def test_protected_route_when_token_expired_then_401(client: TestClient[Any], clock: ManualClock) -> None:
    token = login(client, "admin", ADMIN_PW)
    assert client.get("/v1/auth/me", headers=bearer(token)).status_code == 200
    clock.advance(90 * 60 + 1)
    for method, path in PROTECTED[:4]:
        r = client.request(
            method, path, headers=bearer(token), json={"accountId": 1} if method == "POST" else None
        )
        assert r.status_code == 401, path
        assert r.json() == {"errorText": "Access is denied"}, path


def test_renew_when_token_live_then_expiry_extended_and_same_session_kept(
    client: TestClient[Any], clock: ManualClock
) -> None:
    token = login(client, "admin", ADMIN_PW)
    clock.advance(80 * 60)
    r = client.get("/v1/auth/renewaccesstoken", headers=bearer(token))
    assert r.status_code == 200
    renewed = r.json()
    expires = datetime.fromisoformat(renewed["expirationTime"].replace("Z", "+00:00"))
    assert (expires - clock.now()).total_seconds() == 90 * 60
    clock.advance(60 * 60)  # past the original expiry, within the renewed one
    assert client.get("/v1/auth/me", headers=bearer(renewed["accessToken"])).status_code == 200


def test_renew_when_token_expired_then_401(client: TestClient[Any], clock: ManualClock) -> None:
    token = login(client, "admin", ADMIN_PW)
    clock.advance(91 * 60)
    r = client.get("/v1/auth/renewaccesstoken", headers=bearer(token))
    assert (r.status_code, r.json()) == (401, {"errorText": "Access is denied"})


def test_me_when_called_then_user_and_organization(client: TestClient[Any], world: World) -> None:
    token = login(client, "trader", TRADER_PW)
    me = client.get("/v1/auth/me", headers=bearer(token)).json()
    assert me["name"] == "trader"
    assert me["organizationName"] == "Demo Prop Firm"
