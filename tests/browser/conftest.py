"""Fixtures of the risk desk's browser tests: Debian's Chromium driven by Playwright against real
`autoliq serve` processes (tests/server.py), one server per module.

Every browser context records its requests; closing it fails the test if one went anywhere but the
server's own `127.0.0.1:<port>` (the desk may load and call nothing else).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Request, sync_playwright

from tests.server import ADMIN_PASSWORD, TRADER_PASSWORD, ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"
DEMO_ORG = "Demo Prop Firm"


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright for one test module. Not for the session: its sync API runs an event loop in the
    test process's thread while it is open, and every later test of that process that calls
    `asyncio.run` would fail ("cannot be called from a running event loop")."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium): the desk's browser tests need it"
        if os.environ.get("AUTOLIQ_REQUIRE_BROWSER") or os.environ.get("CI"):  # .ci/run sets the first
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


API_ADMIN = "apiadmin"
"""A second admin of the demo organization for the tests' own API calls: a user keeps at most 2 live
sessions, so the browsers' sign-ins as `admin` would otherwise close the tests' session."""
API_ADMIN_PASSWORD = "api-admin-pw-e2e"


def autoliq_seed(database_url: str, *args: str) -> None:
    argv = [
        sys.executable,
        "-m",
        "autoliq",
        "seed",
        "--organization",
        DEMO_ORG,
        "--database-url",
        database_url,
    ]
    done = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def seed_desk(database_url: str, accounts: int) -> None:
    """The demo organization (admin, trader owning `accounts` accounts named DEMOPROP000001...) and
    the tests' API admin, in a new database (the server then seeds nothing of its own)."""
    autoliq_seed(
        database_url, "--admin-name", "admin", "--admin-password", ADMIN_PASSWORD,
        "--accounts", str(accounts), "--owner", "trader", "--owner-password", TRADER_PASSWORD,
    )  # fmt: skip
    autoliq_seed(database_url, "--admin-name", API_ADMIN, "--admin-password", API_ADMIN_PASSWORD)


@dataclass
class Desk:
    """A server and an API client of its organization's admin (`apiadmin`)."""

    server: ServerProcess
    admin: httpx.Client
    host: str = field(init=False)

    def __post_init__(self) -> None:
        self.host = urlsplit(self.server.base_url).netloc

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/desk/"

    def fresh_admin(self) -> httpx.Client:
        """A new API admin session (for servers whose tokens expire within a test)."""
        return self.server.client(self.server.login(API_ADMIN, API_ADMIN_PASSWORD)["accessToken"])

    def accounts(self) -> list[dict[str, Any]]:
        r = self.admin.get("/v1/account/list")
        assert r.status_code == 200, r.text
        return sorted(r.json(), key=lambda a: a["id"])

    def status(self, account_id: int) -> dict[str, Any]:
        r = self.admin.get("/v1/accountRiskStatus/item", params={"id": account_id})
        assert r.status_code == 200, r.text
        return dict(r.json())


@pytest.fixture(scope="module")
def desk_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Desk]]:
    """desk(accounts, *serve_args): a server on a new SQLite database seeded with `accounts` accounts."""
    with ExitStack() as stack:

        def make(accounts: int = 10, *serve_args: str) -> Desk:
            workdir = tmp_path_factory.mktemp("desk")
            url = f"sqlite:///{workdir}/desk.db"
            seed_desk(url, accounts)
            server = stack.enter_context(ServerProcess(url, workdir, extra_args=serve_args))
            token = server.login(API_ADMIN, API_ADMIN_PASSWORD)["accessToken"]
            return Desk(server, stack.enter_context(server.client(token)))

        yield make


class Contexts:
    """Opens browser contexts that record every request's (and WebSocket's) address."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.opened: list[tuple[BrowserContext, str, list[str]]] = []

    def new_page(self, desk: Desk, **options: Any) -> Page:
        context = self.browser.new_context(viewport=VIEWPORT, **options)
        seen: list[str] = []

        def record(request: Request) -> None:
            seen.append(request.url)

        context.on("request", record)
        self.opened.append((context, desk.host, seen))
        page = context.new_page()
        page.on("websocket", lambda ws: seen.append(ws.url))  # not a "request" to Playwright
        return page

    def close(self) -> None:
        foreign: list[str] = []
        for context, host, seen in self.opened:
            context.close()
            foreign += [u for u in seen if urlsplit(u).netloc != host]
        assert not foreign, f"requests to another host than the server's: {foreign}"


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Contexts]:
    opened = Contexts(browser)
    yield opened
    opened.close()


def sign_in(page: Page, desk: Desk, name: str = "admin") -> None:
    """Open the desk and sign in; returns when the first account row is shown."""
    password = ADMIN_PASSWORD if name == "admin" else TRADER_PASSWORD
    page.goto(desk.url)
    page.get_by_test_id("login-name").fill(name)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("accounts-row").first.wait_for()
    # The socket follows the rows shown once its syncrequest is answered (`<html data-synced>`).
    page.locator("html[data-synced]").wait_for(state="attached")
