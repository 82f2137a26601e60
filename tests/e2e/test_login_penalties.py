"""Login penalties, by default (not only with `--rate-limits tradovate`): failed logins per user name
and per client address earn Tradovate's penalty tickets; a ticketed attempt is not hashed; the right
password sent back with its ticket after the wait logs in. X-Forwarded-For counts only from a listed
proxy. Legacy scrypt hashes are replaced by argon2id at the next login."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from litestar.testing import transport as litestar_transport
from sqlalchemy import select, update

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import app_user
from autoliq.api.app import create_app
from autoliq.bootstrap import Services, bootstrap
from autoliq.client import Client
from autoliq.service import credentials
from autoliq.service.clock import ManualClock
from autoliq.service.hashing import HashingPool
from tests.conftest import ADMIN_PW, TRADER_PW, World, make_settings
from tests.server import ServerProcess

LOGIN = "/v1/auth/accesstokenrequest"
INCORRECT = {"errorText": "Incorrect username or password. Please try again."}


def is_ticket(body: Any) -> bool:
    return isinstance(body, dict) and set(body) == {"p-ticket", "p-time", "p-captcha"}


class CountingPool(HashingPool):
    """The hashing pool, counting the hashes it runs."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    async def run(self, work: Any, *args: object) -> Any:
        self.runs += 1
        return await super().run(work, *args)


@pytest.fixture
def pool(services: Services) -> CountingPool:
    services.auth.hashing = counting = CountingPool()
    return counting


def wrong(client: TestClient[Any], name: str = "admin", **headers: str) -> Any:
    return client.post(LOGIN, json={"name": name, "password": "not-the-password"}, headers=headers).json()


def test_login_when_five_wrong_passwords_then_even_the_right_one_gets_a_15_second_ticket_unhashed(
    client: TestClient[Any], pool: CountingPool
) -> None:
    failures = [wrong(client) for _ in range(5)]
    hashed = pool.runs

    sixth = client.post(LOGIN, json={"name": "admin", "password": ADMIN_PW})

    assert failures == [INCORRECT] * 5
    assert sixth.status_code == 200 and is_ticket(sixth.json())
    assert (sixth.json()["p-time"], sixth.json()["p-captcha"]) == (15, False)
    assert pool.runs == hashed == 5  # the ticketed attempt was not hashed
    # The trader (another name, from the same address, which has only five failures) still logs in.
    assert "accessToken" in client.post(LOGIN, json={"name": "trader", "password": TRADER_PW}).json()


def test_login_when_right_password_sent_with_the_ticket_after_its_wait_then_token(
    client: TestClient[Any], clock: ManualClock
) -> None:
    for _ in range(5):
        wrong(client)
    ticket = client.post(LOGIN, json={"name": "admin", "password": ADMIN_PW}).json()

    early = client.post(LOGIN, json={"name": "admin", "password": ADMIN_PW, "p-ticket": ticket["p-ticket"]})
    clock.advance(15)
    again = client.post(LOGIN, json={"name": "admin", "password": ADMIN_PW, "p-ticket": ticket["p-ticket"]})
    later = early.json()
    clock.advance(later["p-time"])
    resent = client.post(LOGIN, json={"name": "admin", "password": ADMIN_PW, "p-ticket": later["p-ticket"]})

    assert is_ticket(early.json()) and early.json()["p-ticket"] != ticket["p-ticket"]  # not waited
    assert is_ticket(again.json())  # the first ticket was spent by the early try
    assert "accessToken" in resent.json()
    # The success forgave the name: the next login needs no ticket.
    assert "accessToken" in client.post(LOGIN, json={"name": "admin", "password": ADMIN_PW}).json()


def test_login_when_wrong_again_with_valid_tickets_then_p_time_grows(
    client: TestClient[Any], clock: ManualClock
) -> None:
    for _ in range(5):
        wrong(client)
    p_times = []
    for _ in range(4):
        ticket = wrong(client)
        assert is_ticket(ticket)
        p_times.append(ticket["p-time"])
        clock.advance(ticket["p-time"])
        checked = client.post(
            LOGIN, json={"name": "admin", "password": "still wrong", "p-ticket": ticket["p-ticket"]}
        ).json()
        assert checked == INCORRECT

    assert p_times == [15, 30, 60, 120]


def test_login_when_many_names_tried_from_one_address_then_tickets_after_ten(
    client: TestClient[Any], pool: CountingPool
) -> None:
    answers = [wrong(client, name=f"guess{i}") for i in range(14)]

    assert answers[:10] == [INCORRECT] * 10
    assert all(is_ticket(a) for a in answers[10:])
    assert pool.runs == 10


def test_login_when_a_new_x_forwarded_for_per_request_from_an_unlisted_peer_then_still_ticketed(
    client: TestClient[Any], pool: CountingPool
) -> None:
    """The issue's bypass: a new X-Forwarded-For (and Forwarded) per request no longer makes each
    guess a new client; by name and by address alike."""
    same_name = [
        wrong(client, **{"X-Forwarded-For": f"198.51.100.{i}", "Forwarded": f"for=203.0.113.{i}"})
        for i in range(8)
    ]

    assert same_name[:5] == [INCORRECT] * 5 and all(is_ticket(a) for a in same_name[5:])
    new_names = [wrong(client, name=f"n{i}", **{"X-Forwarded-For": f"192.0.2.{i}"}) for i in range(8)]
    # The address (the peer's) reaches its ten: five above, five here.
    assert new_names[:5] == [INCORRECT] * 5 and all(is_ticket(a) for a in new_names[5:])
    assert pool.runs == 10


class PeerAs:
    """Stands for the TCP peer being `address` (Litestar's test client is always "testclient")."""

    def __init__(self, app: Any, address: str) -> None:
        self.app = app
        self.address = address

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        scope["client"] = (self.address, 40000)
        await self.app(scope, receive, send)


@contextmanager
def behind_proxy(world: World, clock: ManualClock, peer: str, trusted: tuple[str, ...]) -> Iterator[Any]:
    services = bootstrap(
        make_settings(world.database_url, trusted_proxies=trusted), clock=clock, run_migrations=False
    )
    app: Litestar = create_app(services)
    app.asgi_handler = PeerAs(app.asgi_handler, peer)
    with TestClient(app=app) as client:
        yield client


def test_login_when_x_forwarded_for_comes_from_a_listed_proxy_then_each_client_counted_apart(
    world: World, clock: ManualClock
) -> None:
    with behind_proxy(world, clock, "10.0.0.5", ("10.0.0.0/24",)) as client:
        # Clients behind the proxy, each failing on its own name: none reaches its limit.
        spread = [wrong(client, name=f"n{i}", **{"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(12)]
        # One client behind it failing on many names: its own address gets the tickets.
        one = [wrong(client, name=f"m{i}", **{"X-Forwarded-For": "198.51.100.200"}) for i in range(11)]
        other = wrong(client, name="m-last", **{"X-Forwarded-For": "198.51.100.201"})

    assert spread == [INCORRECT] * 12
    assert one[:10] == [INCORRECT] * 10 and is_ticket(one[10])
    assert other == INCORRECT


def test_login_when_peer_is_not_in_the_trusted_list_then_its_header_is_ignored(
    world: World, clock: ManualClock
) -> None:
    with behind_proxy(world, clock, "10.0.1.5", ("10.0.0.0/24",)) as client:
        answers = [wrong(client, name=f"n{i}", **{"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(11)]

    assert answers[:10] == [INCORRECT] * 10 and is_ticket(answers[10])


def test_login_when_hashing_pool_is_full_then_not_queued_but_answered_with_a_one_second_ticket(
    services: Services, client: TestClient[Any]
) -> None:
    """A flood of logins does not queue without bound: past the pool's bound, a ticket (after the
    refusal pause in production; this app runs on the test clock, without it)."""
    services.auth.hashing = HashingPool(threads=1, max_pending=1)
    release = threading.Event()
    entered = threading.Event()
    real = credentials.HASHER

    class Blocking:
        def verify(self, stored: str, password: str) -> bool:
            entered.set()
            release.wait(10)
            return bool(real.verify(stored, password))

        def check_needs_rehash(self, stored: str) -> bool:
            return False

    with pytest.MonkeyPatch.context() as patch, ThreadPoolExecutor(1) as side:
        patch.setattr(credentials, "HASHER", Blocking())
        first = side.submit(client.post, LOGIN, json={"name": "admin", "password": ADMIN_PW})
        assert entered.wait(10)
        busy = client.post(LOGIN, json={"name": "trader", "password": TRADER_PW}).json()
        release.set()
        assert "accessToken" in first.result(10).json()

    assert is_ticket(busy) and busy["p-time"] == 1


def _scrypt_hash(password: str) -> str:
    """A hash as autoliq stored them before argon2id."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _stored_hash(database_url: str, name: str) -> str:
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(select(app_user.c.password_hash).where(app_user.c.name == name)).scalar())
    finally:
        engine.dispose()


def test_login_when_stored_hash_is_legacy_scrypt_then_accepted_and_rehashed_to_argon2id(
    world: World, clock: ManualClock
) -> None:
    engine = create_admin_engine(world.database_url)
    with engine.begin() as conn:
        conn.execute(
            update(app_user).where(app_user.c.name == "trader").values(password_hash=_scrypt_hash(TRADER_PW))
        )
    engine.dispose()
    services = bootstrap(make_settings(world.database_url), clock=clock, run_migrations=False)

    with TestClient(app=create_app(services)) as client:
        refused = client.post(LOGIN, json={"name": "trader", "password": "wrong"}).json()
        still_scrypt = _stored_hash(world.database_url, "trader")
        first = client.post(LOGIN, json={"name": "trader", "password": TRADER_PW}).json()
        after = _stored_hash(world.database_url, "trader")
        second = client.post(LOGIN, json={"name": "trader", "password": TRADER_PW}).json()

    assert refused == INCORRECT and still_scrypt.startswith("scrypt$")  # a wrong password changes nothing
    assert "accessToken" in first and "accessToken" in second
    assert after.startswith("$argon2id$") and credentials.verify_password(TRADER_PW, after)
    assert _stored_hash(world.database_url, "trader") == after  # rehashed once, not at every login


def guesses_from_new_addresses(client: httpx.Client, count: int) -> list[Any]:
    """`count` wrong logins, each a new name with a new `X-Forwarded-For` (198.51.100.i); the answers."""
    return [
        client.post(
            LOGIN,
            json={"name": f"guess{i}", "password": "x"},
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
        ).json()
        for i in range(count)
    ]


@pytest.mark.slow
def test_serve_when_a_new_x_forwarded_for_per_request_from_loopback_then_tickets_still_come(
    tmp_path: Path,
) -> None:
    """The issue's reproduction on a real server: uvicorn itself believed X-Forwarded-For from
    loopback (its default), so every guess looked like a new client. Real argon2id cost here."""
    with (
        ServerProcess(f"sqlite:///{tmp_path / 'xff.db'}", tmp_path) as server,
        server.client() as client,
    ):
        answers = guesses_from_new_addresses(client, 12)

    # The address's first failure was ServerProcess's readiness probe (a wrong login).
    assert answers[:9] == [INCORRECT] * 9
    assert all(is_ticket(a) for a in answers[9:])


def test_login_when_refused_with_a_ticket_then_answered_after_a_pause_of_at_most_its_p_time(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script that does not wait gets its refusals at the pause's pace, not the event loop's
    (bench/login_flood.py shows what that does for the lock path). A timer: no thread, no hash."""
    services = bootstrap(make_settings(world.database_url), run_migrations=False)  # the real pause
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def recorded(delay: float, *args: Any) -> Any:
        if delay >= 0.5:  # the pause (the framework's own short sleeps pass through)
            pauses.append(delay)
            return None
        return await real_sleep(delay, *args)

    with TestClient(app=create_app(services)) as client:
        answers = [wrong(client) for _ in range(5)]
        monkeypatch.setattr(asyncio, "sleep", recorded)
        ticket = wrong(client)
        monkeypatch.setattr(asyncio, "sleep", real_sleep)

    assert answers == [INCORRECT] * 5 and is_ticket(ticket)
    assert pauses == [1.0]  # REFUSAL_DELAY, below the ticket's 15 s


class InProcess(httpx.BaseTransport):
    """The SDK's requests handed to the app in process (through Litestar's test transport)."""

    def __init__(self, client: TestClient[Any]) -> None:
        self.inner = litestar_transport.TestClientTransport(client)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)


def test_sdk_when_its_login_gets_a_penalty_ticket_then_it_waits_and_logs_in_with_the_ticket(
    client: TestClient[Any], clock: ManualClock
) -> None:
    """The SDK's existing penalty handling is enough: it waits `p-time` and resends the login with
    the ticket in the body (in process: the SDK's sleep moves the test's clock)."""
    for _ in range(5):
        wrong(client)
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        clock.advance(seconds)

    transport = InProcess(client)
    with Client(
        "http://testserver.local",
        name="admin",
        password=ADMIN_PW,
        transport=transport,
        sleep=sleep,  # type: ignore[arg-type]
    ) as sdk:
        token = sdk.login()

    assert token.access_token and waited == [15.0]


@pytest.mark.slow
def test_serve_when_peer_is_a_trusted_proxy_then_the_forwarded_address_is_counted_and_logged(
    tmp_path: Path,
) -> None:
    """AUTOLIQ_TRUSTED_PROXIES reaches the server: each forwarded client is counted apart, and
    uvicorn's access line names the forwarded address, not the proxy's."""
    with (
        ServerProcess(
            f"sqlite:///{tmp_path / 'proxy.db'}",
            tmp_path,
            extra_args=["--access-log"],
            extra_env={"AUTOLIQ_TRUSTED_PROXIES": "127.0.0.1"},
        ) as server,
        server.client() as client,
    ):
        answers = guesses_from_new_addresses(client, 12)
        deadline = time.monotonic() + 10  # the access line is written just after the answer
        while "198.51.100.11:0" not in server.stdout_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        log = server.stdout_text()

    assert answers == [INCORRECT] * 12  # twelve clients, one failure each
    assert "198.51.100.11:0" in log and "198.51.100.0:0" in log
