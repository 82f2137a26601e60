"""Transactions: the unit of work that runs the services' work over a store, and the publisher."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

from autoliq.domain.events import Event
from autoliq.service.ports.store import Store

T = TypeVar("T")
S_co = TypeVar("S_co", covariant=True)


class UnitOfWorkOf(Protocol[S_co]):
    """Runs work atomically over a store `S_co`: a write commits durably (fsync) before it returns,
    or not at all. A unit of work over a `Store` is one over each of its small ports: a service
    typed `UnitOfWorkOf[StatusStore]` takes the SQL one and a fake alike."""

    def write(
        self,
        work: Callable[[S_co], T],
        *,
        accounts: Sequence[int] = (),
        log_rows: int = 0,
        orders: Sequence[tuple[int, int]] = (),
    ) -> Awaitable[T]:
        """Run `work` in a transaction; commit durably; publish its events after commit. Hints:
        `accounts` whose status `work` reads, `log_rows` it appends, `orders` ((account id,
        contract id) of each order it places) (speed only, never correctness)."""
        ...

    def drain(self) -> Awaitable[None]:
        """Wait for the writes in flight to finish (before stopping)."""
        ...

    def read(self, work: Callable[[S_co], T]) -> Awaitable[T]:
        """Run `work` on a consistent read snapshot."""
        ...

    def snapshot(
        self,
        work: Callable[[S_co], T],
        *,
        accounts: Sequence[int] = (),
        orders: Sequence[tuple[int, int]] = (),
    ) -> Awaitable[T]:
        """Run a short read-only `work` (a few point reads) on one consistent snapshot taken during the
        call, as cheaply as the engine allows: what it sees was the committed state at one instant.
        `accounts` whose status `work` reads and `orders` ((account id, contract id) of each order it
        judges): hints, as for `write`."""
        ...


class UnitOfWork(UnitOfWorkOf[Store], Protocol):
    """The unit of work over the whole `Store`."""


class Publisher(Protocol):
    """Fans events out after commit."""

    def publish(self, events: Sequence[Event]) -> None: ...
