"""The exception tree of autoliq's service layer.

    AutoliqError
    ├── Unauthorized      no valid token, or the caller may not do this: HTTP 401 "Access is denied"
    ├── NotFound          the entity does not exist or is not visible to the caller: HTTP 404
    ├── BadRequest        the request could not be read (malformed JSON, wrong types): HTTP 400
    └── StorageUnavailable  the database could not make the write durable: HTTP 503, Retry-After

Business rejections (Tradovate's HTTP 200 with `errorText`) are values, not exceptions: see
`autoliq.domain.rules.Rejection`.
"""

from __future__ import annotations


class AutoliqError(Exception):
    """Base of every error autoliq raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(AutoliqError):
    """The caller has no valid token or no permission (HTTP 401)."""

    def __init__(self, message: str = "Access is denied") -> None:
        super().__init__(message)


class NotFound(AutoliqError):
    """The entity does not exist, or belongs to another organization (HTTP 404)."""

    def __init__(self, message: str = "Not found") -> None:
        super().__init__(message)


class BadRequest(AutoliqError):
    """The request body or query could not be read (HTTP 400)."""


class StorageUnavailable(AutoliqError):
    """The storage could not make a write durable (disk full, I/O error, read-only or replaced file,
    lost connection): the write was not acknowledged; retry later (HTTP 503 with Retry-After)."""

    def __init__(self, cause: str) -> None:
        super().__init__("Storage unavailable")
        self.cause = cause
        """What failed (logged and shown by `/_autoliq/ready`, never in the answer)."""
