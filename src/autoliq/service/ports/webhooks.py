"""Webhooks' rows: each organization's endpoints with their delivery state, the dead letters, and
the committed events (the outbox) the deliveries are fed from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from autoliq.domain.events import Event


@dataclass(frozen=True, slots=True)
class Webhook:
    """An endpoint and where its deliveries stand."""

    id: int
    organization_id: int
    url: str
    secret: str
    kinds: tuple[str, ...]
    format: str
    active: bool
    created: datetime
    cursor: int
    """The last outbox id handled: the next delivery is of a later event."""
    failures: int
    """Failed tries of the event after `cursor`."""
    retry_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A delivery that failed every try: kept, readable over the API."""

    id: int
    webhook_id: int
    event_id: int
    kind: str
    payload: str
    attempts: int
    last_error: str
    created: datetime


class WebhookStore(Protocol):
    """The webhook rows of one transaction."""

    def webhooks(self, organization_id: int) -> list[Webhook]:
        """The organization's webhooks, by id."""
        ...

    def add_webhook(
        self, organization_id: int, url: str, secret: str, kinds: Sequence[str], fmt: str, now: datetime
    ) -> Webhook:
        """A new active webhook whose deliveries start after the newest event committed so far."""
        ...

    def delete_webhook(self, organization_id: int, webhook_id: int) -> bool:
        """Delete one of the organization's webhooks and its dead letters; False when it has none."""
        ...

    def dead_letters(self, organization_id: int, webhook_id: int, limit: int) -> list[DeadLetter] | None:
        """The webhook's latest dead letters, newest first; None when the organization has no such webhook."""
        ...

    def due_webhooks_exist(self, now: datetime) -> bool:
        """Whether any active webhook could be delivered to now (one cheap read)."""
        ...

    def claim_webhooks(self, now: datetime, owner: str, until: datetime) -> list[Webhook]:
        """Lease the active webhooks that are due and not leased by another deliverer until `until`."""
        ...

    def outbox_after(self, cursor: int, limit: int, before: datetime) -> list[tuple[int, datetime, Event]]:
        """Up to `limit` committed events after outbox id `cursor` recorded before `before`, in id
        order: (id, created, event)."""
        ...

    def organizations_of(self, account_ids: Sequence[int]) -> dict[int, int]:
        """Account id -> organization id."""
        ...

    def settle_webhook(
        self,
        webhook_id: int,
        owner: str,
        *,
        cursor: int,
        failures: int,
        retry_at: datetime | None,
        last_error: str | None,
    ) -> None:
        """Record where the webhook's deliveries stand and release the lease `owner` holds."""
        ...

    def add_dead_letter(
        self,
        webhook_id: int,
        event_id: int,
        kind: str,
        payload: str,
        attempts: int,
        error: str,
        now: datetime,
    ) -> None:
        """Keep a delivery that failed every try."""
        ...
