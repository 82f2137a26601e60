"""The desk's session on a server whose tokens live 6 seconds: the token is kept in memory only and
renewed before it expires. Then `/_autoliq/docs` (Swagger UI) renders its operations with every
request off the server's origin refused: its files are served by autoliq itself."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Route, expect

from tests.browser.conftest import Contexts, Desk, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOKEN_SECONDS = 6


@pytest.fixture(scope="module")
def desk(desk_factory: Any) -> Desk:
    return desk_factory(3, "--token-minutes", str(TOKEN_SECONDS / 60))


def test_the_token_stays_in_memory_and_is_renewed_before_it_expires(desk: Desk, contexts: Contexts) -> None:
    page = contexts.new_page(desk)
    renewals: list[int] = []
    page.on("response", lambda r: renewals.append(r.status) if "/v1/auth/renewaccesstoken" in r.url else None)
    sign_in(page, desk)
    assert page.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]") == [0, 0, ""]

    page.wait_for_timeout(TOKEN_SECONDS * 1000 + 1500)  # past the first token's expiry
    assert len(renewals) >= 2, renewals  # at half-life, for so short a lifetime
    assert set(renewals) == {200}
    with desk.fresh_admin() as admin:
        account = sorted(admin.get("/v1/account/list").json(), key=lambda a: a["id"])[2]
    page.get_by_test_id("accounts-row").nth(2).click()
    expect(page.get_by_test_id("account-name")).to_have_text(account["name"])
    expect(page.get_by_test_id("timeline")).to_contain_text("No change recorded.")
    expect(page.get_by_test_id("account-error")).to_be_empty()
    assert page.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]") == [0, 0, ""]


def test_the_api_docs_render_offline(desk: Desk, contexts: Contexts) -> None:
    page = contexts.new_page(desk)
    blocked: list[str] = []

    def only_origin(route: Route) -> None:
        if route.request.url.startswith(desk.server.base_url + "/"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_origin)
    page.goto(f"{desk.server.base_url}/_autoliq/docs")
    operation = page.locator(".opblock-summary-path", has_text="/v1/accountRiskStatus/setadminautoliqaction")
    expect(operation.first).to_be_visible(timeout=10000)
    assert blocked == []
