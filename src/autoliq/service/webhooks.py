"""Webhooks: an organization admin's endpoints (create, list, delete, dead letters), and the deliverer
that POSTs each committed event they want, signed, from the event outbox: at least once, across
restarts and workers (a webhook's place in the outbox moves only after its event was delivered, or
dead-lettered after every try failed; one deliverer at a time per webhook, by a lease)."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import msgspec

from autoliq.domain import webhooks as rules
from autoliq.domain.errors import BadRequest, NotFound, Unauthorized
from autoliq.domain.events import TradingEntityChanged
from autoliq.domain.model import User
from autoliq.service.clock import Clock
from autoliq.service.ports import Store, UnitOfWorkOf
from autoliq.service.ports.webhooks import DeadLetter, Webhook
from autoliq.service.scheduler import run_periodically

log = logging.getLogger(__name__)

Post = Callable[[str, bytes, dict[str, str]], Awaitable[int]]
"""POST `body` with `headers` to a URL; the HTTP status (an exception: no answer)."""

LEASE = timedelta(seconds=60)
SETTLE = timedelta(seconds=1)
BATCH = 100
"""Outbox rows a deliverer reads for one webhook at a time."""
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """How hard the deliverer tries (AUTOLIQ_WEBHOOK_MAX_ATTEMPTS, AUTOLIQ_WEBHOOK_RETRY_SECONDS)."""

    max_attempts: int = 8
    retry_seconds: float = 1.0
    interval: float = 0.5
    """Seconds between two looks for events to deliver."""


class WebhookService:
    """An organization admin's webhooks."""

    def __init__(self, uow: UnitOfWorkOf[Store], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    @staticmethod
    def _admin(caller: User) -> None:
        if not caller.is_admin:
            raise Unauthorized()

    async def create(self, caller: User, url: str, kinds: Sequence[str] | None, fmt: str | None) -> Webhook:
        """A new webhook of the caller's organization, for events committed from now on; its
        signing secret is generated here and answered once."""
        self._admin(caller)
        problem = rules.url_problem(url)
        if problem is not None:
            raise BadRequest(problem)
        wanted = list(dict.fromkeys(kinds)) if kinds else [k.value for k in rules.ALL_KINDS]
        for index, kind in enumerate(wanted):
            if kind not in {k.value for k in rules.ALL_KINDS}:
                known = ", ".join(k.value for k in rules.ALL_KINDS)
                raise BadRequest(f"events[{index}]: should be one of {known}")
        chosen = fmt or rules.Format.JSON.value
        if chosen not in {f.value for f in rules.Format}:
            raise BadRequest(f"format: should be one of {', '.join(f.value for f in rules.Format)}")
        secret = "whsec_" + secrets.token_urlsafe(32)
        now = self._clock.now()
        organization = caller.organization_id

        def add(store: Store) -> Webhook:
            if len(store.webhooks(organization)) >= rules.MAX_WEBHOOKS_PER_ORGANIZATION:
                raise BadRequest(
                    f"url: at most {rules.MAX_WEBHOOKS_PER_ORGANIZATION} webhooks per organization"
                )
            return store.add_webhook(organization, url, secret, wanted, chosen, now)

        return await self._uow.write(add)

    async def of_organization(self, caller: User) -> list[Webhook]:
        """The caller's organization's webhooks."""
        self._admin(caller)
        return await self._uow.read(lambda s: s.webhooks(caller.organization_id))

    async def delete(self, caller: User, webhook_id: int) -> None:
        """Delete one of the caller's organization's webhooks (NotFound for another's)."""
        self._admin(caller)
        if not await self._uow.write(lambda s: s.delete_webhook(caller.organization_id, webhook_id)):
            raise NotFound()

    async def dead_letters(self, caller: User, webhook_id: int, limit: int) -> list[DeadLetter]:
        """A webhook's dead letters, newest first (NotFound for another organization's)."""
        self._admin(caller)
        found = await self._uow.read(lambda s: s.dead_letters(caller.organization_id, webhook_id, limit))
        if found is None:
            raise NotFound()
        return found


class WebhookDeliverer:
    """Delivers each webhook's events from the outbox, in order, one webhook after the other."""

    def __init__(
        self,
        uow: UnitOfWorkOf[Store],
        wall_clock: Clock,
        post: Post,
        owner: str,
        settings: DeliverySettings | None = None,
        closing: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._uow = uow
        self._clock = wall_clock
        self._post = post
        self._owner = owner
        self._settings = settings or DeliverySettings()
        self._closing = closing

    async def close(self) -> None:
        """Release the HTTP client (at the app's shutdown, once `run_forever` is cancelled)."""
        if self._closing is not None:
            await self._closing()

    async def run_forever(self) -> None:
        """Deliver what is due every `interval` seconds until cancelled; a failure is logged, never fatal."""
        await run_periodically(self.run_due, self._settings.interval, "webhooks", "a delivery round")

    async def run_due(self) -> int:
        """One round: claim the due webhooks, deliver what each is owed; how many were delivered."""
        now = self._clock.now()
        if not await self._uow.read(lambda s: s.due_webhooks_exist(now)):
            return 0
        until = now + LEASE
        owner = self._owner
        claimed = await self._uow.write(lambda s: s.claim_webhooks(now, owner, until))
        delivered = 0
        for hook in claimed:
            delivered += await self._deliver(hook)
        return delivered

    async def _deliver(self, hook: Webhook) -> int:
        """Deliver `hook`'s events after its cursor until one fails or none is left; settle it."""
        cursor, failures, error = hook.cursor, hook.failures, hook.last_error
        retry_at: datetime | None = None
        delivered = 0
        settings = self._settings
        try:
            # Only events recorded SETTLE seconds ago: an id is taken before its transaction
            # commits, so a lower id can commit after a higher one (other workers' writers); the
            # cursor must not pass it by.
            before = self._clock.now() - SETTLE
            rows = await self._uow.read(partial(_owed, cursor=hook.cursor, before=before))
            for event_id, created, notice in rows:
                if (
                    notice is None
                    or notice.organization_id != hook.organization_id
                    or (notice.kind.value not in hook.kinds)
                ):
                    cursor = event_id  # not this webhook's: passed over
                    continue
                payload = _encode(rules.body(notice, event_id, created, rules.Format(hook.format)))
                problem = await self._send(hook, event_id, notice.kind.value, payload)
                if problem is None:
                    cursor, failures, error = event_id, 0, None
                    delivered += 1
                    continue
                failures += 1
                error = problem
                if failures >= settings.max_attempts:
                    await self._dead_letter(hook, event_id, notice.kind.value, payload, failures, problem)
                    cursor, failures = event_id, 0
                    continue
                wait = rules.backoff(failures, settings.retry_seconds)
                retry_at = self._clock.now() + timedelta(seconds=wait)
                break
        finally:
            settle = partial(
                _settle,
                hook.id,
                self._owner,
                cursor=cursor,
                failures=failures,
                retry_at=retry_at,
                error=error,
            )
            with contextlib.suppress(Exception):  # the lease lapses by itself if this fails
                await self._uow.write(settle)
        return delivered

    async def _dead_letter(
        self, hook: Webhook, event_id: int, kind: str, payload: bytes, attempts: int, problem: str
    ) -> None:
        now = self._clock.now()
        text = payload.decode()
        await self._uow.write(
            lambda s: s.add_dead_letter(hook.id, event_id, kind, text, attempts, problem, now)
        )
        log.warning(
            "webhook %s: event %s dead-lettered after %s tries: %s", hook.id, event_id, attempts, problem
        )

    async def _send(self, hook: Webhook, event_id: int, kind: str, payload: bytes) -> str | None:
        """POST one delivery, signed now; None when the receiver answered 2xx, else what went wrong."""
        timestamp = int(self._clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "autoliq-webhooks",
            rules.SIGNATURE_HEADER: rules.signature(hook.secret, timestamp, payload),
            rules.EVENT_HEADER: kind,
            rules.EVENT_ID_HEADER: str(event_id),
        }
        try:
            status = await self._post(hook.url, payload, headers)
        except Exception as exc:  # no answer: connection refused, timeout, TLS, ...
            return f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= status < 300:
            return None
        return f"HTTP {status}"


def _settle(
    webhook_id: int,
    owner: str,
    store: Store,
    *,
    cursor: int,
    failures: int,
    retry_at: datetime | None,
    error: str | None,
) -> None:
    store.settle_webhook(
        webhook_id, owner, cursor=cursor, failures=failures, retry_at=retry_at, last_error=error
    )


def _owed(
    store: Store, cursor: int, before: datetime
) -> list[tuple[int, datetime, rules.Notification | None]]:
    """The outbox rows after `cursor`, each with what it tells (None: nothing webhooks hear of)."""
    rows = store.outbox_after(cursor, BATCH, before)
    # Only a limit's change carries no organization of its own: look those accounts up (none: no read).
    accounts = [event.account_id for _, _, event in rows if isinstance(event, TradingEntityChanged)]
    organizations = store.organizations_of(accounts)
    return [
        (event_id, created, rules.notification(event, organizations)) for event_id, created, event in rows
    ]
