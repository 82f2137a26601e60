"""Logins: password hashes and the sessions of access tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from autoliq.domain.model import User
from autoliq.service.ports.accounts import AccountStore
from autoliq.service.ports.events import EventSink


@dataclass(frozen=True, slots=True)
class AuthSession:
    """A live login: the token's session."""

    id: int
    user_id: int
    expires: datetime


class SessionStore(Protocol):
    """Credentials and sessions of one transaction."""

    def user_by_name(self, name: str) -> tuple[User, str] | None:
        """The user and its password hash."""
        ...

    def replace_password_hash(self, user_id: int, old: str, new: str) -> None:
        """Store `new` as the user's password hash if it is still `old` (a rehash never overwrites
        a password changed meanwhile)."""
        ...

    def session_by_token_hash(
        self, token_hash: str, now: datetime, *, market_data: bool = False
    ) -> AuthSession | None:
        """The live session of an access token's hash (or, with `market_data`, of its
        mdAccessToken's hash too)."""
        ...

    def open_session(
        self, user_id: int, token_hash: str, now: datetime, expires: datetime, md_token_hash: str
    ) -> AuthSession: ...
    def live_sessions(self, user_id: int, now: datetime) -> list[AuthSession]:
        """The user's sessions neither closed nor expired at `now`, oldest first."""
        ...

    def close_session(self, session_id: int, now: datetime) -> None: ...
    def extend_session(self, session_id: int, expires: datetime, md_token_hash: str) -> None:
        """Move the session's expiry; store its mdAccessToken's hash (a session opened before
        mdAccessToken existed gets one at its first renewal)."""
        ...


class AuthStore(SessionStore, AccountStore, EventSink, Protocol):
    """What the authentication service uses: sessions, the users behind them, `SessionsClosed`."""
