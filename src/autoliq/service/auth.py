"""Authentication: access tokens, their sessions and renewal, the login throttle (PRODUCT.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from autoliq.domain.errors import Unauthorized
from autoliq.domain.events import Event, SessionsClosed
from autoliq.domain.login_throttle import LoginThrottle
from autoliq.domain.model import User
from autoliq.domain.rules import Rejection
from autoliq.domain.sandbox import PenaltyTicket
from autoliq.service.clock import Clock
from autoliq.service.credentials import (
    dummy_hash,
    hash_password,
    md_token_of,
    needs_rehash,
    new_token,
    token_hash,
    verify_password,
)
from autoliq.service.hashing import HashingPool
from autoliq.service.ports import AuthSession, AuthStore, UnitOfWorkOf

INCORRECT_CREDENTIALS = "Incorrect username or password. Please try again."
MAX_LIVE_SESSIONS = 2
REFUSAL_DELAY = 1.0
"""Seconds a login refused with a penalty ticket waits before its answer (see `_refused`)."""


@dataclass(frozen=True, slots=True)
class AccessGranted:
    """A token issued or renewed, with its market-data token (`mdAccessToken`)."""

    token: str
    expires: datetime
    user: User
    md_token: str


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated user behind a request, and its session."""

    user: User
    session: AuthSession
    token_hash: str


class AuthService:
    """Issues, renews and checks access tokens; at most two live sessions per user. Failed logins
    earn penalty tickets (domain/login_throttle.py); passwords are hashed on their own pool."""

    def __init__(
        self,
        uow: UnitOfWorkOf[AuthStore],
        clock: Clock,
        token_lifetime: timedelta,
        *,
        throttle: LoginThrottle | None = None,
        hashing: HashingPool | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        refusal_delay: float = REFUSAL_DELAY,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._lifetime = token_lifetime
        self.throttle = throttle or LoginThrottle()
        self.hashing = hashing or HashingPool()
        self._monotonic = monotonic
        self.refusal_delay = refusal_delay
        """Seconds a refused login waits before its answer (see `_refused`)."""
        # token hash -> (session, user); a session closed here is evicted at once. mdAccessTokens'
        # hashes have their own map: they authorize sockets, never REST (`authenticate`).
        self._cache: dict[str, Caller] = {}
        self._md_cache: dict[str, Caller] = {}

    async def request_access_token(
        self, name: str, password: str, *, address: str = "unknown", ticket: str | None = None
    ) -> AccessGranted | Rejection | PenaltyTicket:
        """Check the credentials and open a session (closing the oldest beyond two); a penalty
        ticket, unchecked, when the name or the client `address` has failed too often and `ticket`
        is not a valid one, or when the hashing pool is full."""
        throttle = self.throttle
        penalty = throttle.admit(name, address, ticket, self._monotonic())
        if penalty is not None:
            return await self._refused(penalty)
        try:
            found = await self._uow.read(lambda store: store.user_by_name(name))
            # The slow hash runs on its own pool, and for unknown users too (no timing oracle).
            ok = await self.hashing.run(_check_password, password, found[1] if found else None)
        except BaseException:
            throttle.abandoned(name, address)  # not decided: no longer counted as in flight
            raise
        if ok is None:
            return await self._refused(throttle.busy(name, address, self._monotonic()))
        if found is None or not ok:
            throttle.failed(name, address, self._monotonic())
            return Rejection(INCORRECT_CREDENTIALS)
        throttle.succeeded(name, address)
        user, stored_hash = found
        token = new_token()
        hashed = token_hash(token)
        md_token = md_token_of(token)
        md_hashed = token_hash(md_token)
        # A legacy (scrypt) or weaker hash is replaced now that the password is known; when the
        # pool is full it waits for the next login.
        rehashed = await self.hashing.run(hash_password, password) if needs_rehash(stored_hash) else None

        def open_session(store: AuthStore) -> tuple[AuthSession, list[int]]:
            now = self._clock.now()
            if rehashed is not None:
                store.replace_password_hash(user.id, stored_hash, rehashed)
            live = store.live_sessions(user.id, now)
            closed: list[int] = []
            # Oldest first: keep at most MAX_LIVE_SESSIONS including the new one.
            for old in live[: max(0, len(live) - (MAX_LIVE_SESSIONS - 1))]:
                store.close_session(old.id, now)
                closed.append(old.id)
            if closed:
                store.emit(SessionsClosed(tuple(closed)))
            return store.open_session(user.id, hashed, now, now + self._lifetime, md_hashed), closed

        session, closed = await self._uow.write(open_session)
        self._evict_sessions(set(closed))  # here at once; the other workers by the event
        self._cache[hashed] = Caller(user, session, hashed)
        return AccessGranted(token, session.expires, user, md_token)

    async def _refused(self, ticket: PenaltyTicket) -> PenaltyTicket:
        """The ticket, answered after a pause (at most its p-time, which the client must wait anyway):
        a script that does not wait gets its refusals at that pace instead of as fast as the event
        loop can answer them, which would starve every other request. The pause is a timer: it
        holds no thread and no hash."""
        delay = min(self.refusal_delay, float(ticket.p_time))
        if delay > 0:
            await asyncio.sleep(delay)
        return ticket

    async def authenticate(self, token: str | None, *, market_data: bool = False) -> Caller:
        """The caller behind a bearer token; raises Unauthorized for missing, unknown or expired ones.
        With `market_data` (a WebSocket's `authorize`), the session's mdAccessToken is accepted too;
        REST takes only the access token."""
        if not token:
            raise Unauthorized()
        hashed = token_hash(token)
        now = self._clock.now()
        # The caller itself is cached (one object per session, not one per request).
        cache = self._cache
        cached = cache.get(hashed)
        if cached is None and market_data:
            cache = self._md_cache
            cached = cache.get(hashed)
        if cached is None:
            # An access token's hash or (with `market_data`) an mdAccessToken's: one read either way.
            cached = await self._load_caller(hashed, now, market_data)
            cache[hashed] = cached
        if cached.session.expires <= now:
            # Expired as this process knew it; another worker may have renewed it: ask the database.
            cache.pop(hashed, None)
            cached = await self._load_caller(hashed, now, market_data)
            cache[hashed] = cached
        return cached

    async def _load_caller(self, hashed: str, now: datetime, market_data: bool) -> Caller:
        loaded = await self._uow.read(lambda store: _load_session(store, hashed, now, market_data))
        if loaded is None:
            raise Unauthorized()
        session, user = loaded
        return Caller(user, session, hashed)

    async def renew_access_token(self, token: str | None) -> AccessGranted:
        """Extend the caller's session, its mdAccessToken with it; no new session is opened."""
        caller = await self.authenticate(token)
        assert token is not None
        md_token = md_token_of(token)
        md_hashed = token_hash(md_token)

        def extend(store: AuthStore) -> datetime:
            expires = self._clock.now() + self._lifetime
            store.extend_session(caller.session.id, expires, md_hashed)
            return expires

        expires = await self._uow.write(extend)
        renewed = AuthSession(caller.session.id, caller.user.id, expires)
        self._cache[caller.token_hash] = Caller(caller.user, renewed, caller.token_hash)
        self._md_cache[md_hashed] = Caller(caller.user, renewed, md_hashed)
        return AccessGranted(token, expires, caller.user, md_token)

    def on_events(self, events: Sequence[Event]) -> None:
        """Publisher listener: sessions closed by any worker leave this process's token cache."""
        for event in events:
            if isinstance(event, SessionsClosed):
                self._evict_sessions(set(event.session_ids))

    def _evict_sessions(self, session_ids: set[int]) -> None:
        if not session_ids:
            return
        for cache in (self._cache, self._md_cache):
            for key, cached in list(cache.items()):
                if cached.session.id in session_ids:
                    del cache[key]


def _check_password(password: str, stored_hash: str | None) -> bool:
    """On the hashing pool: the password against the stored hash, or against a dummy hash of the
    same cost when the user does not exist (its first computation also happens off the loop)."""
    return verify_password(password, stored_hash if stored_hash is not None else dummy_hash())


def _load_session(
    store: AuthStore, hashed: str, now: datetime, market_data: bool
) -> tuple[AuthSession, User] | None:
    session = store.session_by_token_hash(hashed, now, market_data=market_data)
    if session is None:
        return None
    user = store.user(session.user_id)
    return (session, user) if user is not None else None
