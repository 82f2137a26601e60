"""What a transaction publishes once it has committed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from autoliq.domain.events import Event


class EventSink(Protocol):
    """The events of one transaction, and what must run only if it commits."""

    def emit(self, event: Event) -> None:
        """Publish `event` after the commit (never if the transaction rolls back or is retried)."""
        ...

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once the transaction has committed (never if it rolls back or is retried):
        for what must count only what landed, such as the metrics of liquidations and breaches."""
        ...
