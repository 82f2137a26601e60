"""The in-process publisher: every listener hears every batch, whatever another listener does."""

from __future__ import annotations

from collections.abc import Sequence

from autoliq.adapters.publisher import InMemoryPublisher
from autoliq.domain.events import Event, SandboxReset


def test_publish_when_a_listener_raises_then_the_listeners_after_it_still_hear_the_events() -> None:
    # Arrange
    publisher = InMemoryPublisher()
    heard: list[Sequence[Event]] = []

    def broken(events: Sequence[Event]) -> None:
        raise RuntimeError("listener defect")

    publisher.add_listener(broken)
    publisher.add_listener(heard.append)
    events: list[Event] = [SandboxReset(by_user_id=1)]
    # Act
    publisher.publish(events)
    publisher.publish(events)
    # Assert
    assert heard == [events, events]
