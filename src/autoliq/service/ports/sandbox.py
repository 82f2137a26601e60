"""The storage the sandbox controls need (reset, faults, penalty tickets)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from autoliq.domain.model import Account, RiskStatusLogEntry
from autoliq.domain.sandbox import Fault, FaultSpec, FaultsState


class SandboxStore(Protocol):
    """Sandbox reset, injected faults and penalty tickets of one transaction."""

    # -- reset --
    def prepare_sandbox_reset(self, organization_id: int | None) -> list[Account]:
        """Lock what a reset of `organization_id` (None: the whole server) rewrites (the status rows
        of its accounts; the session row for the whole server) after this batch's earlier writes are
        sent; its accounts whose status or auto-liq layer is not as seeded."""
        ...

    def wipe_sandbox(
        self, now: datetime, closed_trade_date: date, organization_id: int | None
    ) -> dict[str, int]:
        """Back to the seeded state: what the API made for the organization's accounts (every
        account's: None) is deleted, their statuses and categories as seeded, its faults and tickets
        gone; for the whole server also the prices, the clock's offset (zero) and the session job (at
        `closed_trade_date`); counts by kind."""
        ...

    def log_sandbox_reset(
        self, account_ids: Sequence[int], now: datetime, actor_user_id: int, reason: str
    ) -> list[RiskStatusLogEntry]:
        """One log row per account, its status as seeded (Normal), by the user; the rows written."""
        ...

    def rewind_session_closed_date(self, day: date) -> bool:
        """Move the session job's last closed trade date back to `day` when it is past it."""
        ...

    # -- operator and organizations --
    def sandbox_operator(self, name: str | None) -> int | None:
        """The id of the organization named `name` (None: the one seeded first), or None."""
        ...

    def organization_of_user_name(self, name: str) -> int | None:
        """The organization of the user who logs in as `name`, or None."""
        ...

    # -- faults --
    def add_fault(self, spec: FaultSpec, organization_id: int, now: datetime) -> Fault: ...
    def faults(self, organization_id: int) -> list[Fault]:
        """The organization's pending faults, in the order they are taken."""
        ...

    def clear_faults(self, organization_id: int, *, unowned_tickets: bool) -> int:
        """Delete the organization's faults and tickets (and the tickets of no organization, when
        `unowned_tickets`); how many faults there were."""
        ...

    def take_fault(self, path_key: str, organization_id: int) -> Fault | None:
        """The organization's oldest pending fault of a lowercased path, as it was, with one call
        taken from it."""
        ...

    # -- penalty tickets --
    def add_ticket(
        self, ticket: str, path_key: str, p_time: int, valid_after: datetime, organization_id: int | None
    ) -> None: ...
    def pop_ticket(
        self, ticket: str, path_key: str, now: datetime
    ) -> tuple[int, datetime, int | None] | None:
        """Spend a live ticket of this path: its (p-time, time it becomes valid, organization), or None."""
        ...

    def faults_state(self, now: datetime) -> FaultsState:
        """The paths with pending faults (with their organizations) and until when some ticket is
        still early."""
        ...
