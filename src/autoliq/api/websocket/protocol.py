"""Tradovate's WebSocket frames, as text: what the server sends and how a client's request reads.

Server to client: `o` (open, right after accept), `h` (heartbeat), `a[...]` (a JSON array of
messages: answers `{"s": status, "i": id, "d": ...}` and events `{"e": "props", "d": {...}}`),
`c[code,"reason"]` (sent before the server closes). Client to server: `[]` (heartbeat) and request
frames `endpoint\\nid\\nquery\\nbody`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec

from autoliq.config import WebSocketSettings

OPEN_FRAME = "o"
HEARTBEAT_FRAME = "h"
CLIENT_HEARTBEAT = "[]"
AUTHORIZE = "authorize"
SYNC_REQUEST = "user/syncrequest"

INVALID_TOKEN = "Invalid access token"  # noqa: S105 (an error text, not a secret)
ACCESS_DENIED = "Access is denied"
NOT_FOUND = "Not Found"  # what the REST app answers for a path it has no route for
MALFORMED_FRAME = "frame: should be endpoint\\nid\\nquery\\nbody with an integer id"

_INT64_MAX = 2**63 - 1
_ENDPOINT = re.compile(r"[A-Za-z0-9_]+(?:/[A-Za-z0-9_]+)*")
_MAX_ENDPOINT = 200
_encode = msgspec.json.Encoder().encode

__all__ = ["WebSocketSettings"]  # re-exported: the socket's settings live with the server's (config.py)


@dataclass(frozen=True, slots=True)
class CloseReason:
    """Why the server closes a socket: the code and reason of its `c[...]` frame and close frame."""

    code: int
    reason: str


HEARTBEAT_TIMEOUT = CloseReason(4001, "Heartbeat timeout")
SEND_QUEUE_FULL = CloseReason(4002, "Send queue full")
EVENT_BACKLOG_FULL = CloseReason(4003, "Event backlog full")
AUTHORIZATION_TIMEOUT = CloseReason(4004, "Authorization timeout")
SERVER_SHUTDOWN = CloseReason(1001, "Server shutting down")
FRAME_TOO_LARGE = CloseReason(1009, "Frame too large")
UNREADABLE_FRAME = CloseReason(1003, "Frames should be UTF-8 text")


@dataclass(frozen=True, slots=True)
class RequestFrame:
    """A client's `endpoint\\nid\\nquery\\nbody`."""

    endpoint: str
    id: int
    query: str
    body: str


class MalformedFrame(Exception):
    """A frame that is neither a heartbeat nor a request with an integer id."""


ABSENT = "undefined"
"""What a JavaScript client writes for a query or body it does not have (`${undefined}`,
`JSON.stringify(undefined)`): read as empty."""


def parse_request(text: str) -> RequestFrame:
    """The request in `text`; the query and body may be missing (empty), or `undefined` (read as
    empty). The body keeps any newlines (a trailing one after its JSON is harmless: JSON decoding
    allows whitespace around the value)."""
    parts = text.split("\n", 3)
    if len(parts) < 2:
        raise MalformedFrame
    raw_id = parts[1].strip()
    if not raw_id or not (raw_id.isascii() and raw_id.lstrip("-").isdigit()):
        raise MalformedFrame
    request_id = int(raw_id)
    if abs(request_id) > _INT64_MAX:
        raise MalformedFrame
    query = parts[2].strip() if len(parts) > 2 else ""
    body = parts[3] if len(parts) > 3 else ""
    if query == ABSENT:
        query = ""
    if body.strip() == ABSENT:
        body = ""
    return RequestFrame(parts[0].strip(), request_id, query, body)


def authorize_token(body: str) -> str | None:
    """The token of an `authorize` body: bare (`<token>`) or a JSON string (`"<token>"`, as clients
    that JSON-encode every body send it), with any surrounding whitespace or newlines. None when
    there is none, or when a quoted one is not a JSON string (the caller answers 401)."""
    text = body.strip()
    if not text.startswith('"'):
        return text or None
    try:
        token = msgspec.json.decode(text, type=str)
    except msgspec.DecodeError:
        return None
    return token.strip() or None


def valid_endpoint(endpoint: str) -> bool:
    """Whether `endpoint` can name a route: path segments of letters, digits and underscores."""
    return len(endpoint) <= _MAX_ENDPOINT and _ENDPOINT.fullmatch(endpoint) is not None


def answer(status: int, request_id: int, data_json: str | None = None) -> str:
    """An answer message; `data_json` is already-encoded JSON (the REST body), spliced in as is."""
    if data_json is None:
        return f'{{"s":{status},"i":{request_id}}}'
    return f'{{"s":{status},"i":{request_id},"d":{data_json}}}'


def error_answer(status: int, request_id: int | None, text: str | None) -> str:
    """An answer whose `d` is the error text (a JSON string), as Tradovate's non-2xx answers."""
    head = f'{{"s":{status}' if request_id is None else f'{{"s":{status},"i":{request_id}'
    if text is None:
        return head + "}"
    return f'{head},"d":{_encode(text).decode()}}}'


def props_message(entity_type: str, event_type: str, entity_json: str) -> str:
    """A `props` event message carrying an already-encoded entity."""
    return (
        f'{{"e":"props","d":{{"entityType":"{entity_type}","eventType":"{event_type}",'
        f'"entity":{entity_json}}}}}'
    )


def shutdown_message(reason_code: str, reason: str) -> str:
    """Tradovate's `shutdown` event: `{"e":"shutdown","d":{"reasonCode": ..., "reason": ...}}`
    (reason codes `Maintenance`, `ConnectionQuotaReached`, `IPQuotaReached`)."""
    return _encode({"e": "shutdown", "d": {"reasonCode": reason_code, "reason": reason}}).decode()


def array_frame(messages: list[str]) -> str:
    """`a[...]` of already-encoded messages."""
    return "a[" + ",".join(messages) + "]"


def close_frame(reason: CloseReason) -> str:
    """`c[code,"reason"]`."""
    return "c" + _encode([reason.code, reason.reason]).decode()
