"""In-process event fan-out, after commit: listeners get every event in commit order."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from autoliq.domain.events import Event

log = logging.getLogger(__name__)


class InMemoryPublisher:
    """Delivers committed events to this process's listeners, on the event loop, in commit order."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[Sequence[Event]], None]] = []

    def add_listener(self, listener: Callable[[Sequence[Event]], None]) -> None:
        """Call `listener` with every batch of events, on the event loop (for process-local caches
        that the events invalidate, and the WebSocket hub)."""
        self._listeners.append(listener)

    def publish(self, events: Sequence[Event]) -> None:
        """Hand `events` to every listener; one that raises is logged and the others still hear them
        (the token cache's eviction on `SessionsClosed` must not depend on the WebSocket hub)."""
        for listener in self._listeners:
            try:
                listener(events)
            except Exception:
                log.exception("an event listener failed on %d events", len(events))
