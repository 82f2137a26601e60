"""Wire shapes of the sandbox controls: `/_autoliq/reset` and `/_autoliq/faults` (autoliq's own)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from autoliq.api.bounds import Int64
from autoliq.domain.sandbox import Fault, FaultKind, FaultSpec
from autoliq.service.sandbox import ResetOutcome


class FaultIn(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /_autoliq/faults`: the next `count` calls of `path` answer as `kind` says."""

    path: str
    kind: FaultKind
    count: Int64 = 1
    delayMs: Int64 | None = None
    """kind `delay` only: milliseconds before the call is processed (1 to 60,000)."""
    pTime: Int64 | None = None
    """kind `penaltyTicket` only: the ticket's `p-time` in seconds (0 to 3,600; default 1)."""
    pCaptcha: bool = False
    """kind `penaltyTicket` only: the ticket's `p-captcha`."""

    def spec(self, path: str) -> FaultSpec:
        """The fault asked for, on the route's own spelling of the path."""
        return FaultSpec(path, self.kind, self.count, self.delayMs, self.pTime, self.pCaptcha)


class FaultOut(msgspec.Struct, omit_defaults=True):
    """A pending fault: the next `remaining` calls of `path` take it."""

    id: int
    path: str
    kind: FaultKind
    remaining: int
    created: datetime
    delayMs: int | None = None
    pTime: int | None = None
    pCaptcha: bool | None = None


class FaultsOut(msgspec.Struct):
    """The pending faults, in the order they are taken."""

    faults: list[FaultOut]


class FaultsClearedOut(msgspec.Struct):
    """`DELETE /_autoliq/faults`: how many faults were pending (tickets handed out are void too)."""

    cleared: int


class ResetOut(msgspec.Struct):
    """`POST /_autoliq/reset`: when, how many statuses went back to Normal (each logged), and how many
    rows of each kind were removed."""

    resetAt: datetime
    statusesReset: int
    removed: dict[str, int]
    scope: str = "server"
    """`server` (the sandbox operator's reset) or `organization` (another organization's admin's)."""


def fault_out(fault: Fault) -> FaultOut:
    """The wire shape of a pending fault."""
    penalty = fault.kind is FaultKind.PENALTY_TICKET
    return FaultOut(
        id=fault.id,
        path=fault.path,
        kind=fault.kind,
        remaining=fault.remaining,
        created=fault.created,
        delayMs=fault.delay_ms,
        pTime=fault.p_time if penalty else None,
        pCaptcha=fault.p_captcha if penalty else None,
    )


def reset_out(outcome: ResetOutcome) -> ResetOut:
    """The wire shape of a reset's outcome."""
    return ResetOut(
        resetAt=outcome.at,
        statusesReset=outcome.statuses_reset,
        removed=outcome.removed,
        scope="server" if outcome.organization_id is None else "organization",
    )
