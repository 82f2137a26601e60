"""Every error the SDK raises, in one tree (catch `AutoliqClientError` to catch them all).

    AutoliqClientError            base class
    ├── AuthError                 a login refused (`errorText` on accesstokenrequest), no credentials to
    │                             log in again, a WebSocket `authorize` refused
    ├── PenaltyTicketError        a penalty ticket (`p-ticket` in a 200 body) that the SDK will not wait
    │                             out: `captcha` is True (reCAPTCHA needed: never retried), or the
    │                             retries / wait budget are used up; the request was NOT processed
    ├── RateLimitedError          HTTP 429 beyond the wait budget (`retry_after`, `waited`); the request
    │                             was NOT processed
    ├── ApiError                  HTTP 200 with an `errorText` (or `"ok": false`): a business error,
    │                             nothing changed; carries `error_text` and the body
    ├── HTTPStatusError           any other answer that is not 2xx (`status_code`, `error_text`)
    │   ├── AccessDeniedError     401 `Access is denied`: a missing, expired or closed token, or a
    │   │                         caller who may not do this
    │   ├── NotFoundError         404: an unknown entity, or one of another organization
    │   └── ServerError           5xx: retried for reads; for a write the outcome is unknown
    ├── TransportError            no answer at all (connect/read failure, timeout) after the retries;
    │                             for a write the outcome is unknown
    ├── UnexpectedResponseError   a 2xx whose body is not the JSON the SDK expects
    ├── ActionNotAppliedError     `verify=True`: the read-back does not show the requested adminAction
    │                             (`result` tells what it shows and why the write failed, if it did)
    └── StreamError               the WebSocket helper: a refused request or a protocol breach
        ├── StreamClosedError     the stream ended (`c[code,"reason"]`, a `shutdown` event, a dropped
        │                         connection); `code`, `reason`
        └── MarketDataError       an `md/*` request refused (`endpoint`, `status`, `error_code`,
            │                     `error_text`, `mode`)
            └── UnknownSymbolError  `UnknownSymbol`: no contract by that name or id (`symbol`)

`ServerError` and `TransportError` carry `ambiguous`: True when the request was a write that may or
may not have been applied (the SDK never repeats such a write by itself; see
`set_admin_auto_liq_action(..., verify=True)`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autoliq.client.models import ActionResult

__all__ = [
    "AccessDeniedError",
    "ActionNotAppliedError",
    "ApiError",
    "AuthError",
    "AutoliqClientError",
    "BulkUnavailableError",
    "HTTPStatusError",
    "MarketDataError",
    "NotFoundError",
    "PenaltyTicketError",
    "RateLimitedError",
    "ServerError",
    "StreamClosedError",
    "StreamError",
    "TransportError",
    "UnexpectedResponseError",
    "UnknownSymbolError",
]


class AutoliqClientError(Exception):
    """Base of every error the SDK raises."""


class AuthError(AutoliqClientError):
    """Not logged in and cannot log in: credentials refused, or none to log in with."""

    def __init__(self, message: str, *, error_text: str | None = None) -> None:
        super().__init__(message)
        self.error_text = error_text
        """The server's `errorText`, when it gave one."""


class PenaltyTicketError(AutoliqClientError):
    """A penalty ticket the SDK does not wait out; the request was not processed."""

    def __init__(self, message: str, *, ticket: str, p_time: float, captcha: bool, attempts: int) -> None:
        super().__init__(message)
        self.ticket = ticket
        self.p_time = p_time
        """Seconds the server asked to wait before resending with the ticket."""
        self.captcha = captcha
        """True when the server wants a reCAPTCHA solved: only a human can go on."""
        self.attempts = attempts
        """Requests sent, the first included."""


class RateLimitedError(AutoliqClientError):
    """HTTP 429 past the wait budget; the request was not processed."""

    def __init__(self, message: str, *, retry_after: float | None, waited: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """The last `Retry-After` in seconds, when the server sent one."""
        self.waited = waited
        """Seconds already waited for this request."""


class ApiError(AutoliqClientError):
    """HTTP 200 with an `errorText`: a business error; nothing changed."""

    def __init__(self, error_text: str, body: Any = None) -> None:
        super().__init__(error_text)
        self.error_text = error_text
        self.body = body


class HTTPStatusError(AutoliqClientError):
    """An answer that is neither 2xx nor one of the statuses handled above."""

    def __init__(
        self, message: str, *, status_code: int, error_text: str | None, method: str, url: str
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_text = error_text
        """The body's `errorText`, when it had one."""
        self.method = method
        self.url = url


class AccessDeniedError(HTTPStatusError):
    """HTTP 401 `Access is denied`."""


class NotFoundError(HTTPStatusError):
    """HTTP 404: unknown entity (or another organization's)."""


class BulkUnavailableError(NotFoundError):
    """The server has no bulk setadminautoliqaction (`/_autoliq/bulk/...` answered 404 or 405, or it
    is one of Tradovate's hosts, never asked): nothing was processed."""


class ServerError(HTTPStatusError):
    """HTTP 5xx."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_text: str | None,
        method: str,
        url: str,
        ambiguous: bool,
    ) -> None:
        super().__init__(message, status_code=status_code, error_text=error_text, method=method, url=url)
        self.ambiguous = ambiguous
        """True for a write that may have been applied: read it back before repeating it."""


class TransportError(AutoliqClientError):
    """No answer: the connection failed or timed out (after the retries allowed for reads)."""

    def __init__(self, message: str, *, method: str, url: str, ambiguous: bool) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.ambiguous = ambiguous
        """True for a write that may have been applied: read it back before repeating it."""


class UnexpectedResponseError(AutoliqClientError):
    """A 2xx answer whose body is not the JSON expected."""


class ActionNotAppliedError(AutoliqClientError):
    """The read-back after setadminautoliqaction does not show the requested adminAction."""

    def __init__(self, result: ActionResult) -> None:
        observed = result.read_back.get("adminAction") if result.read_back is not None else None
        shown = f"shows {observed}" if observed is not None else "shows no risk status"
        why = f" (the write failed: {result.write_error})" if result.write_error is not None else ""
        super().__init__(
            f"account {result.account_id}: asked {result.admin_action}, the read-back {shown}{why}"
        )
        self.result = result


class StreamError(AutoliqClientError):
    """The WebSocket helper could not go on: a request refused, or a frame it cannot read."""


class StreamClosedError(StreamError):
    """The WebSocket stream ended."""

    def __init__(self, message: str, *, code: int | None, reason: str) -> None:
        super().__init__(message)
        self.code = code
        """The close code (`c[code, ...]` or the WebSocket's), None after a `shutdown` event."""
        self.reason = reason


class MarketDataError(StreamError):
    """A market-data request (`md/subscribeQuote`, `md/getChart`, ...) refused."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        status: int | None,
        error_code: str | None,
        error_text: str | None,
        mode: str | None,
    ) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status
        """The response's `s` (Tradovate answers some refusals with 200 and an `errorCode`)."""
        self.error_code = error_code
        self.error_text = error_text
        self.mode = mode


class UnknownSymbolError(MarketDataError):
    """`UnknownSymbol`: the server knows no contract by this name or id (or may not show it)."""

    def __init__(
        self,
        symbol: str | int,
        *,
        endpoint: str,
        status: int | None,
        error_text: str | None,
        mode: str | None,
    ) -> None:
        super().__init__(
            f"unknown symbol {symbol!r}: {error_text or 'UnknownSymbol'} ({endpoint})",
            endpoint=endpoint,
            status=status,
            error_code="UnknownSymbol",
            error_text=error_text,
            mode=mode,
        )
        self.symbol = symbol
