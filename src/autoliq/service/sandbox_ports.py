"""The storage the sandbox controls need (reset, faults, penalty tickets); part of Store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from autoliq.domain.model import Account, RiskStatusLogEntry
from autoliq.domain.sandbox import Fault, FaultSpec, FaultsState


class SandboxStore(Protocol):
    """Sandbox reset, injected faults and penalty tickets of one transaction."""

    # -- reset --
    def prepare_sandbox_reset(self) -> list[Account]:
        """Lock what a reset rewrites (every status row, the session row) after this batch's earlier
        writes are sent; the accounts whose status or auto-liq layer is not as seeded."""
        ...

    def wipe_sandbox(self, now: datetime, closed_trade_date: date) -> dict[str, int]:
        """Back to the seeded state: what the API made is deleted, statuses and categories as
        seeded, the clock's offset zero, the session job at `closed_trade_date`; counts by kind."""
        ...

    def log_sandbox_reset(
        self, account_ids: Sequence[int], now: datetime, actor_user_id: int, reason: str
    ) -> list[RiskStatusLogEntry]:
        """One log row per account, its status as seeded (Normal), by the user; the rows written."""
        ...

    def rewind_session_closed_date(self, day: date) -> bool:
        """Move the session job's last closed trade date back to `day` when it is past it."""
        ...

    # -- faults --
    def add_fault(self, spec: FaultSpec, now: datetime) -> Fault: ...
    def faults(self) -> list[Fault]:
        """Pending faults, in the order they are taken."""
        ...

    def clear_faults(self) -> int:
        """Delete every fault and ticket; how many faults there were."""
        ...

    def take_fault(self, path_key: str) -> Fault | None:
        """The oldest pending fault of a lowercased path, as it was, with one call taken from it."""
        ...

    # -- penalty tickets --
    def add_ticket(self, ticket: str, path_key: str, p_time: int, valid_after: datetime) -> None: ...
    def pop_ticket(self, ticket: str, path_key: str, now: datetime) -> tuple[int, datetime] | None:
        """Spend a live ticket of this path: its (p-time, time it becomes valid), or None."""
        ...

    def faults_state(self, now: datetime) -> FaultsState:
        """The paths with pending faults and until when some ticket is still early."""
        ...
