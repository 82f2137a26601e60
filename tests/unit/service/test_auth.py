"""AuthService's rules over the in-memory fakes (no database, no HTTP): login, token expiry, renewal,
the two-session limit, the token cache and its eviction, penalty tickets, the hashing pool's bound and
the rehash of a legacy hash. The wire (status codes, field names, headers) stays in tests/e2e/test_auth.py
and tests/e2e/test_login_penalties.py."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from autoliq.domain.errors import Unauthorized
from autoliq.domain.events import SessionsClosed
from autoliq.domain.rules import Rejection
from autoliq.domain.sandbox import PenaltyTicket
from autoliq.service import credentials
from autoliq.service.auth import INCORRECT_CREDENTIALS, AccessGranted, AuthService
from autoliq.service.clock import ManualClock
from autoliq.service.hashing import HashingPool
from tests.conftest import ADMIN_PW, OTHER_ADMIN_PW, TRADER_PW
from tests.fakes import FakeUnitOfWork, FakeWorld, fake_world

T = TypeVar("T")
T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
LIFETIME = timedelta(minutes=90)


def run(awaitable: Awaitable[T]) -> T:
    return asyncio.run(awaitable)  # type: ignore[arg-type]


class CountingPool(HashingPool):
    """The hashing pool, counting the hashes it runs; `full` answers as a full pool does (None)."""

    def __init__(self, *, full: bool = False) -> None:
        super().__init__(threads=1)
        self.runs = 0
        self.full = full

    async def run(self, work: Callable[..., Any], *args: object) -> Any:
        if self.full:
            return None
        self.runs += 1
        return await super().run(work, *args)


class Env:
    """An AuthService over a seeded fake world, on a manual clock (the throttle's too)."""

    def __init__(self, world: FakeWorld | None = None) -> None:
        self.world = world or fake_world(ADMIN_PW, TRADER_PW, OTHER_ADMIN_PW)
        self.clock = ManualClock(T0)
        self.pool = CountingPool()
        self.auth = self.service(self.world.uow)

    def service(self, uow: FakeUnitOfWork) -> AuthService:
        return AuthService(
            uow,
            self.clock,
            LIFETIME,
            hashing=self.pool,
            monotonic=lambda: self.clock.now().timestamp(),
            refusal_delay=0,
        )

    def login(self, name: str, password: str, **kwargs: Any) -> Any:
        return run(self.auth.request_access_token(name, password, **kwargs))

    def token(self, name: str = "admin", password: str = ADMIN_PW) -> AccessGranted:
        granted = self.login(name, password)
        assert isinstance(granted, AccessGranted), granted
        return granted

    def me(self, token: str | None, *, auth: AuthService | None = None, market_data: bool = False) -> Any:
        return run((auth or self.auth).authenticate(token, market_data=market_data))


@pytest.fixture
def env() -> Iterator[Env]:
    yield (e := Env())
    e.pool.shutdown()


# -- login --


def test_login_when_credentials_right_then_token_expiring_in_90_minutes_and_its_hash_stored(env: Env) -> None:
    granted = env.token()
    assert granted.user == env.world.admin
    assert granted.expires - T0 == LIFETIME
    assert granted.md_token == credentials.md_token_of(granted.token) != granted.token
    [session] = env.world.uow.state.sessions.values()
    assert session.token_hash == credentials.token_hash(granted.token) != granted.token
    assert session.md_token_hash == credentials.token_hash(granted.md_token)
    assert len(session.token_hash) == 64 and session.user_id == env.world.admin.id


@pytest.mark.parametrize(
    ("name", "password"), [("admin", "wrong"), ("nobody", ADMIN_PW), ("ADMIN", ADMIN_PW), ("admin", "")]
)
def test_login_when_credentials_wrong_then_incorrect_text_and_no_session(
    env: Env, name: str, password: str
) -> None:
    assert env.login(name, password) == Rejection(INCORRECT_CREDENTIALS)
    assert INCORRECT_CREDENTIALS == "Incorrect username or password. Please try again."
    assert env.world.uow.state.sessions == {}
    assert env.pool.runs == 1  # hashed even for an unknown name: no timing oracle


# -- tokens: missing, forged, expired --


@pytest.mark.parametrize("token", [None, "", "A" * 43])
def test_authenticate_when_token_missing_or_forged_then_unauthorized(env: Env, token: str | None) -> None:
    env.token()
    with pytest.raises(Unauthorized):
        env.me(token)


def test_authenticate_when_token_live_then_caller_and_cached_after_the_first_read(env: Env) -> None:
    granted = env.token("trader", TRADER_PW)
    reads = env.world.uow.reads
    caller = env.me(granted.token)
    assert caller.user == env.world.trader and caller.session.expires == granted.expires
    env.me(granted.token)
    assert env.world.uow.reads == reads  # the login cached it


@pytest.mark.parametrize("after", [LIFETIME, LIFETIME + timedelta(seconds=1)])
def test_authenticate_when_token_expired_then_unauthorized(env: Env, after: timedelta) -> None:
    granted = env.token()
    env.clock.advance(LIFETIME.total_seconds() - 1)
    assert env.me(granted.token).user == env.world.admin
    env.clock.advance(after.total_seconds() - LIFETIME.total_seconds() + 1)
    assert env.clock.now() == T0 + after
    with pytest.raises(Unauthorized):
        env.me(granted.token)


def test_authenticate_when_md_access_token_then_only_for_market_data(env: Env) -> None:
    granted = env.token()
    with pytest.raises(Unauthorized):
        env.me(granted.md_token)
    assert env.me(granted.md_token, market_data=True).user == env.world.admin
    fresh = env.service(env.world.uow)  # another process: from the store, not the cache
    assert env.me(granted.md_token, auth=fresh, market_data=True).user == env.world.admin
    with pytest.raises(Unauthorized):
        env.me(granted.md_token, auth=fresh)


# -- renewal --


def test_renew_when_token_live_then_expiry_extended_same_session_and_token(env: Env) -> None:
    granted = env.token()
    env.clock.advance(80 * 60)
    renewed = run(env.auth.renew_access_token(granted.token))
    assert renewed.token == granted.token and renewed.expires == env.clock.now() + LIFETIME
    assert len(env.world.uow.state.sessions) == 1
    env.clock.advance(60 * 60)  # past the original expiry, within the renewed one
    assert env.me(granted.token).user == env.world.admin
    fresh = env.service(env.world.uow)  # and for a process that never saw the renewal
    assert env.me(granted.token, auth=fresh).session.expires == renewed.expires


def test_renew_when_token_expired_then_unauthorized(env: Env) -> None:
    granted = env.token()
    env.clock.advance(91 * 60)
    with pytest.raises(Unauthorized):
        run(env.auth.renew_access_token(granted.token))


def test_renew_when_renewed_by_another_process_then_this_one_reads_it_again_at_the_old_expiry(
    env: Env,
) -> None:
    granted = env.token()
    env.me(granted.token)  # cached here with the first expiry
    other = env.service(env.world.uow)
    env.clock.advance(80 * 60)
    run(other.renew_access_token(granted.token))
    env.clock.advance(20 * 60)
    assert env.me(granted.token).user == env.world.admin


# -- two sessions per user --


def test_sessions_when_third_login_then_oldest_closed_two_newest_work_and_closure_published(env: Env) -> None:
    first, second, third = (env.token("trader", TRADER_PW) for _ in range(3))
    with pytest.raises(Unauthorized):
        env.me(first.token)
    assert env.me(second.token).user == env.me(third.token).user == env.world.trader
    [first_id] = [s.id for s in env.world.uow.state.sessions.values() if s.closed is not None]
    assert env.world.uow.published == [SessionsClosed((first_id,))]
    fresh = env.service(env.world.uow)  # the limit lives in the store, not in one process's memory
    with pytest.raises(Unauthorized):
        env.me(first.token, auth=fresh)


def test_sessions_when_closed_by_another_process_then_its_event_evicts_the_cached_token(env: Env) -> None:
    first = env.token("trader", TRADER_PW)
    env.me(first.token)
    other = env.service(env.world.uow)
    for _ in range(2):
        run(other.request_access_token("trader", TRADER_PW))
    assert env.me(first.token).user == env.world.trader  # still cached here: no event seen yet
    env.auth.on_events(env.world.uow.published)
    with pytest.raises(Unauthorized):
        env.me(first.token)


def test_sessions_when_other_users_log_in_then_not_counted_against_this_one(env: Env) -> None:
    first = env.token("trader", TRADER_PW)
    env.token("admin", ADMIN_PW)
    env.token("admin", ADMIN_PW)
    env.token("admin", ADMIN_PW)
    assert env.me(first.token).user == env.world.trader


# -- penalty tickets, the pool's bound, rehash --


def test_login_when_five_wrong_passwords_then_even_the_right_one_gets_a_15_second_ticket_unhashed(
    env: Env,
) -> None:
    failures = [env.login("admin", "wrong") for _ in range(5)]
    sixth = env.login("admin", ADMIN_PW)
    assert failures == [Rejection(INCORRECT_CREDENTIALS)] * 5
    assert isinstance(sixth, PenaltyTicket) and (sixth.p_time, sixth.p_captcha) == (15, False)
    assert env.pool.runs == 5
    assert isinstance(env.login("trader", TRADER_PW), AccessGranted)  # another name still logs in


def test_login_when_right_password_sent_with_the_ticket_after_its_wait_then_token(env: Env) -> None:
    for _ in range(5):
        env.login("admin", "wrong")
    ticket = env.login("admin", ADMIN_PW)
    env.clock.advance(ticket.p_time)
    assert isinstance(env.login("admin", ADMIN_PW, ticket=ticket.ticket), AccessGranted)
    assert isinstance(env.login("admin", ADMIN_PW), AccessGranted)  # the success forgave the name


def test_login_when_many_names_tried_from_one_address_then_tickets_after_ten(env: Env) -> None:
    answers = [env.login(f"guess{i}", "x", address="203.0.113.9") for i in range(14)]
    assert answers[:10] == [Rejection(INCORRECT_CREDENTIALS)] * 10
    assert all(isinstance(a, PenaltyTicket) for a in answers[10:])
    assert isinstance(env.login("guess0", "x", address="203.0.113.10"), Rejection)  # another address


def test_login_when_hashing_pool_is_full_then_a_one_second_ticket_and_no_session(env: Env) -> None:
    env.pool.full = True
    busy = env.login("admin", ADMIN_PW)
    assert isinstance(busy, PenaltyTicket) and busy.p_time == 1
    assert env.world.uow.state.sessions == {}


def test_login_when_refused_with_a_ticket_then_answered_after_a_pause_of_at_most_its_p_time(env: Env) -> None:
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    env.auth.refusal_delay = 1.0
    for _ in range(5):
        env.login("admin", "wrong")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(asyncio, "sleep", sleep)
        ticket = env.login("admin", ADMIN_PW)
    assert isinstance(ticket, PenaltyTicket) and slept == [min(1.0, ticket.p_time)]


def _scrypt_hash(password: str) -> str:
    """A hash as autoliq stored them before argon2id."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_login_when_stored_hash_is_legacy_scrypt_then_accepted_and_rehashed_once(env: Env) -> None:
    users = env.world.uow.state.users
    trader = env.world.trader
    users[trader.id] = (users[trader.id][0], _scrypt_hash(TRADER_PW), users[trader.id][2])
    assert env.login("trader", "wrong") == Rejection(INCORRECT_CREDENTIALS)
    assert users[trader.id][1].startswith("scrypt$")  # a wrong password changes nothing
    assert isinstance(env.login("trader", TRADER_PW), AccessGranted)
    after = users[trader.id][1]
    assert after.startswith("$argon2id$") and credentials.verify_password(TRADER_PW, after)
    assert isinstance(env.login("trader", TRADER_PW), AccessGranted)
    assert users[trader.id][1] == after  # rehashed once, not at every login
