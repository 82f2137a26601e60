"""/_autoliq/webhooks: an organization's webhooks and their dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from autoliq.domain.webhooks import MAX_URL
from autoliq.service.ports.webhooks import DeadLetter, Webhook


class WebhookIn(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /_autoliq/webhooks`."""

    url: Annotated[str, msgspec.Meta(max_length=MAX_URL)]
    events: Annotated[list[str], msgspec.Meta(max_length=10)] | None = None
    """`breach`, `autoLiquidation`, `adminAction`, `limitChange`; absent: all of them."""
    format: str | None = None
    """`json` (default), `slack` or `discord`."""


class WebhookOut(msgspec.Struct, omit_defaults=True):
    """A webhook and where its deliveries stand (its secret only in the creation's answer)."""

    id: int
    url: str
    events: list[str]
    format: str
    active: bool
    created: datetime
    lastDeliveredEventId: int
    failures: int
    retryAt: datetime | None = None
    lastError: str | None = None
    secret: str | None = None


def webhook_out(hook: Webhook, *, with_secret: bool = False) -> WebhookOut:
    """The wire form of a webhook."""
    return WebhookOut(
        id=hook.id,
        url=hook.url,
        events=list(hook.kinds),
        format=hook.format,
        active=hook.active,
        created=hook.created,
        lastDeliveredEventId=hook.cursor,
        failures=hook.failures,
        retryAt=hook.retry_at,
        lastError=hook.last_error,
        secret=hook.secret if with_secret else None,
    )


class WebhookDeletedOut(msgspec.Struct):
    """`DELETE /_autoliq/webhooks/{webhookId}`."""

    id: int
    deleted: bool


class DeadLetterOut(msgspec.Struct):
    """A delivery that failed every try, with the body it would have sent."""

    id: int
    webhookId: int
    eventId: int
    event: str
    attempts: int
    lastError: str
    created: datetime
    payload: str


def dead_letter_out(letter: DeadLetter) -> DeadLetterOut:
    """The wire form of a dead letter."""
    return DeadLetterOut(
        id=letter.id,
        webhookId=letter.webhook_id,
        eventId=letter.event_id,
        event=letter.kind,
        attempts=letter.attempts,
        lastError=letter.last_error,
        created=letter.created,
        payload=letter.payload,
    )
