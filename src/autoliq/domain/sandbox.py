"""Sandbox controls: injected faults, penalty tickets, and what a reset leaves behind.

The sandbox has one market (prices) and one clock, and one operator: the admins of one organization
(the one seeded first, or the one AUTOLIQ_SANDBOX_OPERATOR names). Only they move prices or the
clock, or reset the whole server; another organization's admin resets its own organization only, and
a fault belongs to the organization of the admin who injected it: only its users' calls take it.

A fault makes the next `count` calls of one `/v1` path answer the way Tradovate's servers do when
something goes wrong (a penalty ticket, a 429, a 500) or late (a delay). A penalty ticket lets one
resend through once its `p-time` has passed; a resend sooner gets a new ticket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

MAX_FAULT_COUNT = 10_000
MAX_DELAY_MS = 60_000
MAX_P_TIME = 3600
DEFAULT_P_TIME = 1
TICKET_LIFETIME_SECONDS = 3600
"""How long an unused penalty ticket is kept (Tradovate's lockouts last an hour)."""

RESET_REASON = "Sandbox reset"
TEXT_UNKNOWN_OPERATOR = "AUTOLIQ_SANDBOX_OPERATOR={name!r}: no organization has that name"
NORMAL_SPEED = 100
"""The sandbox clock's pace in percent of the machine's (replay's `speed`): 100 runs with it."""
MAX_SPEED = 400
"""The fastest pace a replay may set (Tradovate's bound)."""
TEXT_RESET_NOT_DEMO = "The sandbox reset is only available on a demo server (this one plays {environment})"
INTERNAL_ERROR_TEXT = "Internal server error"


class FaultKind(StrEnum):
    """How a faulted call is answered."""

    PENALTY_TICKET = "penaltyTicket"
    """200 `{"p-ticket", "p-time", "p-captcha"}`; the request is not processed."""
    TOO_MANY_REQUESTS = "tooManyRequests"
    """429 with an empty body; not processed."""
    SERVER_ERROR = "serverError"
    """500 `{"errorText": "Internal server error"}`; not processed."""
    SERVER_ERROR_AFTER_COMMIT = "serverErrorAfterCommit"
    """Processed (and committed), then answered 500 as above: an ambiguous failure."""
    DELAY = "delay"
    """Processed after `delayMs` milliseconds, answered normally."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A fault as asked for: `path` is the route's own spelling."""

    path: str
    kind: FaultKind
    count: int = 1
    delay_ms: int | None = None
    p_time: int | None = None
    p_captcha: bool = False


@dataclass(frozen=True, slots=True)
class Fault:
    """A pending fault: the next `remaining` calls of `path` take it (oldest fault of a path first)."""

    id: int
    path: str
    kind: FaultKind
    remaining: int
    delay_ms: int | None
    p_time: int | None
    p_captcha: bool
    created: datetime
    organization_id: int
    """The organization of the admin who injected it: only its users' calls take it."""


@dataclass(frozen=True, slots=True)
class PenaltyTicket:
    """A ticket handed out instead of an answer: resend with it after `p_time` seconds."""

    ticket: str
    p_time: int
    p_captcha: bool = False


@dataclass(frozen=True, slots=True)
class TakenFault:
    """What one call got: the fault's kind, its delay, and the ticket a penalty comes with."""

    kind: FaultKind
    delay_ms: int | None = None
    ticket: PenaltyTicket | None = None


class TicketVerdict(StrEnum):
    """What a ticket carried by a request is worth."""

    VALID = "valid"
    """Issued for this path and its p-time has passed: the request goes through (once)."""
    EARLY = "early"
    """Sent before its p-time: answered with a new ticket, the old one is spent."""
    UNKNOWN = "unknown"
    """Never issued, already used, expired or for another path: as if there were none."""


@dataclass(frozen=True, slots=True)
class FaultsState:
    """What a worker needs to know to decide, in one lookup, whether a request needs a closer look."""

    paths: Mapping[str, frozenset[int]] = field(default_factory=dict)
    """Lowercased paths with pending faults -> the organizations whose users' calls take them."""
    tickets_until: float = 0.0
    """Unix time until which some issued ticket is still early (0: none)."""


def fault_error(spec: FaultSpec) -> str | None:
    """The first problem with `spec` as `field: what is wrong`, or None (the path is checked by the
    caller, against the routes)."""
    if not 1 <= spec.count <= MAX_FAULT_COUNT:
        return f"count: should be between 1 and {MAX_FAULT_COUNT}"
    if spec.kind is FaultKind.DELAY:
        if spec.delay_ms is None or not 1 <= spec.delay_ms <= MAX_DELAY_MS:
            return f"delayMs: should be between 1 and {MAX_DELAY_MS} for kind delay"
    elif spec.delay_ms is not None:
        return "delayMs: only for kind delay"
    if spec.kind is FaultKind.PENALTY_TICKET:
        if spec.p_time is not None and not 0 <= spec.p_time <= MAX_P_TIME:
            return f"pTime: should be between 0 and {MAX_P_TIME}"
    elif spec.p_time is not None:
        return "pTime: only for kind penaltyTicket"
    elif spec.p_captcha:
        return "pCaptcha: only for kind penaltyTicket"
    return None


def operates_sandbox(is_admin: bool, organization_id: int, operator_id: int | None) -> bool:
    """True for an admin of the operator organization (None: no organization exists yet)."""
    return is_admin and operator_id is not None and organization_id == operator_id
