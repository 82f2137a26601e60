"""How one request reacts to what it got: wait and resend, or give up with the right error (no I/O).

`Attempts` keeps one request's counters (penalty resends, 429 waits, retries) against the client's
`ClientSettings`; each `after_*` method returns the seconds to wait before resending, or raises.
"""

from __future__ import annotations

import email.utils
import logging
from datetime import UTC, datetime
from typing import Any

import httpx

from autoliq.client.config import ClientSettings
from autoliq.client.errors import (
    AccessDeniedError,
    HTTPStatusError,
    NotFoundError,
    PenaltyTicketError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)

_log = logging.getLogger("autoliq.client")

PENALTY_TICKET = "p-ticket"
AMBIGUOUS = "; a write: it may or may not have been applied (read it back before repeating it)"
# Never sent: retrying these repeats nothing, even for a write.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Attempts:
    """One request's resends so far, and the decision for the next."""

    def __init__(self, settings: ClientSettings, method: str, url: str, *, retry: bool) -> None:
        self.settings = settings
        self.method = method
        self.url = url
        self.retry = retry
        """True for a request that may be repeated after a 5xx or a lost answer (a read)."""
        self.ticket: str | None = None
        """The penalty ticket to send with the next attempt."""
        self._penalties = 0
        self._penalty_waited = 0.0
        self._limited = 0
        self._limit_waited = 0.0
        self._failures = 0

    def after_transport_error(self, error: httpx.TransportError) -> float:
        """No answer: retry a read, or a request that never left; else `TransportError`."""
        never_sent = isinstance(error, _NOT_SENT)
        if (self.retry or never_sent) and self._failures < self.settings.read_retries:
            return self._failure(repr(error))
        ambiguous = not self.retry and not never_sent
        raise TransportError(
            f"{self.method} {self.url}: no answer ({type(error).__name__}: {error})"
            + (AMBIGUOUS if ambiguous else ""),
            method=self.method,
            url=self.url,
            ambiguous=ambiguous,
        ) from error

    def after_server_error(self, response: httpx.Response) -> float:
        """A 5xx: retry a read; else `ServerError`."""
        status = response.status_code
        if self.retry and self._failures < self.settings.read_retries:
            return self._failure(f"HTTP {status}")
        raise ServerError(
            f"{self.method} {self.url}: HTTP {status}{error_suffix(response)}"
            + ("" if self.retry else AMBIGUOUS),
            status_code=status,
            error_text=error_text(response),
            method=self.method,
            url=self.url,
            ambiguous=not self.retry,
        )

    def _failure(self, what: str) -> float:
        s = self.settings
        pause = backoff(s.read_retry_base, s.read_retry_cap, self._failures)
        self._failures += 1
        _log.warning("%s %s: %s; retry %d in %.1f s", self.method, self.url, what, self._failures, pause)
        return pause

    def after_rate_limit(self, response: httpx.Response, now: datetime) -> float:
        """A 429 (not processed): wait `Retry-After`, else back off; `RateLimitedError` past the budget."""
        s = self.settings
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        pause = (
            retry_after
            if retry_after is not None
            else backoff(s.rate_limit_base, s.rate_limit_cap, self._limited)
        )
        if self._limit_waited + pause > s.rate_limit_budget:
            hint = f"; Retry-After {retry_after:g} s" if retry_after is not None else ""
            raise RateLimitedError(
                f"{self.method} {self.url}: HTTP 429 Too Many Requests, not processed; gave up after "
                f"waiting {self._limit_waited:g} s of a {s.rate_limit_budget:g} s budget{hint}",
                retry_after=retry_after,
                waited=self._limit_waited,
            )
        self._limited += 1
        self._limit_waited += pause
        _log.warning("%s %s: HTTP 429; waiting %.1f s", self.method, self.url, pause)
        return pause

    def after_penalty_ticket(self, body: dict[str, Any]) -> float:
        """A penalty ticket (not processed): wait `p-time` and resend with it; `PenaltyTicketError`
        for a captcha, or past the resends or the budget."""
        s = self.settings
        ticket = str(body[PENALTY_TICKET])
        p_time = self._p_time(body.get("p-time"))
        captcha = bool(body.get("p-captcha"))
        why = None
        if captcha:
            why = "a reCAPTCHA is required (p-captcha): not retried"
        elif self._penalties >= s.penalty_retries:
            why = f"still ticketed after {self._penalties} resends"
        elif self._penalty_waited + p_time > s.penalty_budget:
            why = f"waiting {p_time:g} s more would pass the {s.penalty_budget:g} s budget"
        if why is not None:
            raise PenaltyTicketError(
                f"{self.method} {self.url}: penalty ticket (p-time {p_time:g} s), not processed; {why}",
                ticket=ticket,
                p_time=p_time,
                captcha=captcha,
                attempts=self._penalties + 1,
            )
        self._penalties += 1
        self._penalty_waited += p_time
        self.ticket = ticket
        _log.warning("%s %s: penalty ticket; resending with it in %g s", self.method, self.url, p_time)
        return p_time

    def _p_time(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise UnexpectedResponseError(
                f"{self.method} {self.url}: penalty ticket with an unreadable p-time {value!r}"
            )
        return float(value)


def is_penalty_ticket(body: Any) -> bool:
    """True for a 200 body that is a penalty ticket instead of an answer."""
    return isinstance(body, dict) and PENALTY_TICKET in body


def backoff(base: float, cap: float, attempt: int) -> float:
    """`base` doubled `attempt` times, at most `cap`."""
    return float(min(cap, base * 2**attempt))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date); None when absent/unreadable."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def error_text(response: httpx.Response) -> str | None:
    """The `errorText` of an answer's JSON body, if any."""
    try:
        body = response.json()
    except ValueError:
        return None
    text = body.get("errorText") if isinstance(body, dict) else None
    return str(text) if text else None


def error_suffix(response: httpx.Response) -> str:
    """`: <errorText>` for messages, or nothing."""
    text = error_text(response)
    return f": {text}" if text else ""


def status_error(method: str, url: str, response: httpx.Response) -> HTTPStatusError:
    """The error for a non-2xx answer that is neither a 429 nor a 5xx."""
    status = response.status_code
    message = f"{method} {url}: HTTP {status}{error_suffix(response)}"
    kind: type[HTTPStatusError] = HTTPStatusError
    if status == 401:
        kind = AccessDeniedError
    elif status == 404:
        kind = NotFoundError
    return kind(message, status_code=status, error_text=error_text(response), method=method, url=url)
