"""The sandbox's own controls: reset to the seeded state, injected faults, penalty tickets.

Faults and tickets live in the database, so every worker of a server shares them: a fault's calls
are counted once whichever worker serves them, and a ticket handed out by one worker is honoured by
all. Each worker keeps in memory only what it needs to let every other request through at the cost
of one attribute lookup (`armed`): the paths with pending faults and until when some ticket is still
early. A change publishes `SandboxFaultsChanged`, which makes every worker read that again (through
the outbox relay: milliseconds on PostgreSQL, at most one poll, 0.1 s, on SQLite, in the workers of
one server); the worker that made the change knows at once, from its own transaction.

The sandbox has one operator (`SandboxOperator`): the admins of the organization seeded first, or of
the one the settings name. Their reset is the whole server's; another organization's admin resets
that organization only (one code path, `reset_sandbox`, scoped by organization). Every fault belongs
to the organization of the admin who injected it, and only its users' calls take it.

A reset publishes `SandboxReset`: every worker (this one included, before the answer) forgets its
cached accounts and reads its fault state again; for a reset of the whole server it also sets its
sandbox clock back to the machine's and moves the session job back if a timer run on its old clock
got in between.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from autoliq.domain.errors import BadRequest, Unauthorized
from autoliq.domain.events import Event, RiskStatusChanged, SandboxFaultsChanged, SandboxReset
from autoliq.domain.model import User
from autoliq.domain.sandbox import (
    DEFAULT_P_TIME,
    RESET_REASON,
    TEXT_RESET_NOT_DEMO,
    TEXT_UNKNOWN_OPERATOR,
    Fault,
    FaultKind,
    FaultSpec,
    FaultsState,
    PenaltyTicket,
    TakenFault,
    TicketVerdict,
    fault_error,
    operates_sandbox,
)
from autoliq.domain.session import previous_trade_date, trade_date
from autoliq.domain.states import Environment
from autoliq.service.accounts import AccountDirectory
from autoliq.service.clock import AdjustableClock, Clock
from autoliq.service.ports import Store, UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ResetOutcome:
    """What a reset did: when, how many accounts' statuses went back (each logged), what it removed."""

    at: datetime
    statuses_reset: int
    removed: dict[str, int]
    organization_id: int | None = None
    """The one organization reset; None: the whole server."""


def new_ticket() -> str:
    """An opaque penalty ticket."""
    return secrets.token_urlsafe(24)


def reset_sandbox(store: Store, caller: User, now: datetime, organization_id: int | None) -> ResetOutcome:
    """Inside a write: the organization (None: the whole server) back to the seeded state at `now`
    (for the whole server: the machine's time), the statuses that were not as seeded logged as the caller's,
    `SandboxReset` emitted."""
    changed = store.prepare_sandbox_reset(organization_id)
    removed = store.wipe_sandbox(now, previous_trade_date(trade_date(now)), organization_id)
    entries = store.log_sandbox_reset([a.id for a in changed], now, caller.id, RESET_REASON)
    for account, entry in zip(changed, entries, strict=True):
        store.emit(
            RiskStatusChanged(account.organization_id, account.id, account.user_id, entry.status, entry)
        )
    store.emit(SandboxReset(caller.id, organization_id))
    return ResetOutcome(now, len(changed), removed, organization_id)


class UnknownOperator(ValueError):
    """The settings name a sandbox operator organization that does not exist."""


class SandboxOperator:
    """Which organization operates the sandbox: the one `name` names, else the one seeded first.
    Organizations are never deleted, so the answer, once found, is kept."""

    def __init__(self, uow: UnitOfWork, name: str | None, organization_id: int | None) -> None:
        self._uow = uow
        self._name = name
        self._id = organization_id
        """None until an organization exists (a server started on an empty database)."""

    async def organization_id(self) -> int | None:
        """The operator organization's id; None while there is none."""
        if self._id is None:
            name = self._name
            self._id = await self._uow.read(lambda store: store.sandbox_operator(name))
        return self._id

    async def operates(self, user: User) -> bool:
        """True for an admin of the operator organization."""
        if not user.is_admin:
            return False
        return operates_sandbox(user.is_admin, user.organization_id, await self.organization_id())

    async def require(self, user: User) -> None:
        """Unauthorized (`Access is denied`) unless `user` operates the sandbox."""
        if not await self.operates(user):
            raise Unauthorized()


def resolve_operator(store: Store, name: str | None) -> int | None:
    """The operator organization's id (None: no organization yet, and none named); UnknownOperator
    when `name` names none."""
    found = store.sandbox_operator(name)
    if found is None and name is not None:
        raise UnknownOperator(TEXT_UNKNOWN_OPERATOR.format(name=name))
    return found


class SandboxService:
    """Reset, fault injection and penalty tickets (organization admins; reset on demo servers only)."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: AdjustableClock,
        system: Clock,
        environment: Environment,
        accounts: AccountDirectory,
        operator: SandboxOperator,
    ) -> None:
        self._uow = uow
        self.operator = operator
        self._clock = clock
        self._system = system
        """The machine's clock: what a reset sets the sandbox clock back to, and what p-times count in."""
        self._environment = environment
        self._accounts = accounts
        self.state = FaultsState()
        self.armed = False
        """True while some fault is pending or some ticket is still early: requests need a look."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._observations = 0
        self._applied = 0

    # -- this worker's view --
    def restore(self, state: FaultsState) -> None:
        """Start from the stored state (at start-up)."""
        self._observe(state)

    def _observe(self, state: FaultsState) -> None:
        """Take `state`, seen just now (after a write's commit, or by a read that started later than
        every earlier observation): a read that started earlier and answers later is dropped."""
        self._observations += 1
        self._applied = self._observations
        self._set(state)

    def _set(self, state: FaultsState) -> None:
        self.state = state
        self.armed = bool(state.paths) or state.tickets_until > 0

    def tickets_early(self, now: float) -> bool:
        """True while some ticket handed out may still be resent too early (`now`: Unix time)."""
        until = self.state.tickets_until
        if until and now >= until:
            self._set(replace(self.state, tickets_until=0.0))
            return False
        return until > 0

    async def refresh(self) -> None:
        """Read the stored faults and tickets again."""
        self._observations += 1
        started = self._observations
        state = await self._uow.read(lambda store: store.faults_state(self._system.now()))
        if started > self._applied:
            self._applied = started
            self._set(state)

    def on_events(self, events: Sequence[Event]) -> None:
        """Publisher listener (any worker's events): a reset, or a change of the faults."""
        changed = False
        for event in events:
            if isinstance(event, SandboxReset) and event.organization_id is None:
                self._after_reset()
                changed = False  # the reset left none; a change after it in the batch reads again
            elif isinstance(event, SandboxReset):
                self._accounts.forget()  # the organization's accounts went back to its default category
                changed = True  # its faults are gone, the others' stay
            elif isinstance(event, SandboxFaultsChanged):
                changed = True
        if changed:
            self._spawn(self.refresh())  # one read for the whole batch of events

    def _after_reset(self) -> None:
        """A reset of the whole server: the machine's clock, no faults, nothing cached."""
        self._clock.set(self._system.now())
        self._accounts.forget()
        self._observe(FaultsState())
        # A timer run of this worker queued on its old clock may have committed after the reset.
        self._spawn(self._rewind_session())

    async def _rewind_session(self) -> None:
        def rewind(store: Store) -> bool:
            return store.rewind_session_closed_date(previous_trade_date(trade_date(self._clock.now())))

        await self._uow.write(rewind)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            task = asyncio.get_running_loop().create_task(work)
        except RuntimeError:  # no loop (a synchronous caller): nothing runs here to act on it
            work.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._done)

    async def drain(self) -> None:
        """Wait for the follow-ups of events heard so far (reads of the faults, the session rewind)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("sandbox: a follow-up of an event failed", exc_info=task.exception())

    # -- reset --
    async def reset(self, caller: User) -> ResetOutcome:
        """Back to the seeded state, in one transaction (see docs/api.md): the whole server for the
        operator, the caller's organization for another organization's admin; Unauthorized for a
        non-admin, and off demo."""
        if not caller.is_admin:
            raise Unauthorized()
        if self._environment is not Environment.DEMO:
            raise Unauthorized(TEXT_RESET_NOT_DEMO.format(environment=self._environment.value))
        scope = None if await self.operator.operates(caller) else caller.organization_id

        # The whole server's clock goes back to the machine's; an organization's reset leaves the
        # one clock as it is, and its log rows are stamped by it like every other change.
        now = self._system.now if scope is None else self._clock.now
        outcome = await self._uow.write(lambda store: reset_sandbox(store, caller, now(), scope))
        if scope is not None:
            # The faults left (the other organizations') as this worker's view before the answer.
            await self.refresh()
        log.warning(
            "sandbox reset of %s by %s (user %d): %d statuses back to Normal; removed %s",
            "the whole server" if scope is None else f"organization {scope}",
            caller.name,
            caller.id,
            outcome.statuses_reset,
            ", ".join(f"{n} {kind}" for kind, n in outcome.removed.items() if n) or "nothing else",
        )
        return outcome

    # -- faults --
    async def add_fault(self, caller: User, spec: FaultSpec) -> Fault:
        """Store a fault of the caller's organization for the next `spec.count` calls of `spec.path`
        (a route's own spelling) by its users."""
        if not caller.is_admin:
            raise Unauthorized()
        error = fault_error(spec)
        if error is not None:
            raise BadRequest(error)
        if spec.kind is FaultKind.PENALTY_TICKET and spec.p_time is None:
            spec = replace(spec, p_time=DEFAULT_P_TIME)

        def work(store: Store) -> tuple[Fault, FaultsState]:
            now = self._system.now()
            fault = store.add_fault(spec, caller.organization_id, now)
            store.emit(SandboxFaultsChanged())
            return fault, store.faults_state(now)

        fault, state = await self._uow.write(work)
        self._observe(state)
        log.warning(
            "sandbox fault added by %s (organization %d): %s x%d on %s",
            caller.name,
            caller.organization_id,
            spec.kind,
            spec.count,
            spec.path,
        )
        return fault

    async def faults(self, caller: User) -> list[Fault]:
        """The caller's organization's pending faults, in the order they are taken."""
        if not caller.is_admin:
            raise Unauthorized()
        return await self._uow.read(lambda store: store.faults(caller.organization_id))

    async def clear_faults(self, caller: User) -> int:
        """Delete the caller's organization's pending faults and penalty tickets (the operator's
        also those of calls of no organization); how many faults there were."""
        if not caller.is_admin:
            raise Unauthorized()
        unowned = await self.operator.operates(caller)

        def work(store: Store) -> tuple[int, FaultsState]:
            cleared = store.clear_faults(caller.organization_id, unowned_tickets=unowned)
            store.emit(SandboxFaultsChanged())
            return cleared, store.faults_state(self._system.now())

        cleared, state = await self._uow.write(work)
        self._observe(state)
        return cleared

    async def take(self, path_key: str, organization_id: int) -> TakenFault | None:
        """A call of a lowercased path by a user of the organization takes the organization's
        oldest pending fault of the path (a penalty comes with its ticket, stored); None when
        there is none left."""

        def work(store: Store) -> tuple[TakenFault | None, FaultsState]:
            now = self._system.now()
            fault = store.take_fault(path_key, organization_id)
            if fault is None:
                return None, store.faults_state(now)
            ticket = None
            if fault.kind is FaultKind.PENALTY_TICKET:
                p_time = DEFAULT_P_TIME if fault.p_time is None else fault.p_time
                ticket = PenaltyTicket(new_ticket(), p_time, fault.p_captcha)
                valid_after = now + timedelta(seconds=p_time)
                store.add_ticket(ticket.ticket, path_key, p_time, valid_after, organization_id)
            if fault.remaining <= 1 or ticket is not None:
                store.emit(SandboxFaultsChanged())
            return TakenFault(fault.kind, fault.delay_ms, ticket), store.faults_state(now)

        taken, state = await self._uow.write(work)
        self._observe(state)
        return taken

    async def organization_of_user_name(self, name: str) -> int | None:
        """The organization of the user who logs in as `name` (a login's faults are its)."""
        return await self._uow.read(lambda store: store.organization_of_user_name(name))

    # -- penalty tickets --
    async def redeem(self, ticket: str, path_key: str) -> tuple[TicketVerdict, PenaltyTicket | None]:
        """What a ticket resent with a call of a lowercased path is worth; an early one is spent and
        replaced by the new ticket returned (same p-time)."""

        def work(store: Store) -> tuple[TicketVerdict, PenaltyTicket | None, FaultsState | None]:
            now = self._system.now()
            found = store.pop_ticket(ticket, path_key, now)
            if found is None:
                return TicketVerdict.UNKNOWN, None, None
            p_time, valid_after, organization_id = found
            if now >= valid_after:
                return TicketVerdict.VALID, None, None
            fresh = PenaltyTicket(new_ticket(), p_time)
            valid_after = now + timedelta(seconds=p_time)
            store.add_ticket(fresh.ticket, path_key, p_time, valid_after, organization_id)
            store.emit(SandboxFaultsChanged())
            return TicketVerdict.EARLY, fresh, store.faults_state(now)

        verdict, fresh, state = await self._uow.write(work)
        if state is not None:
            self._observe(state)
        return verdict, fresh

    async def issue_ticket(self, path_key: str, p_time: int, organization_id: int | None) -> PenaltyTicket:
        """A ticket for a call the rate-limit profile turned away (by a user of the organization;
        None: a call without a known organization)."""
        ticket = PenaltyTicket(new_ticket(), p_time)

        def work(store: Store) -> FaultsState:
            now = self._system.now()
            valid_after = now + timedelta(seconds=p_time)
            store.add_ticket(ticket.ticket, path_key, p_time, valid_after, organization_id)
            store.emit(SandboxFaultsChanged())
            return store.faults_state(now)

        self._observe(await self._uow.write(work))
        return ticket
