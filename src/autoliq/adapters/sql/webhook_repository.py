"""Webhook rows and the outbox read they are fed from, over one SQLAlchemy connection (mixed into
SqlStore)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update

from autoliq.adapters.sql.outbox import decode_event
from autoliq.adapters.sql.schema import account, event_outbox, webhook, webhook_dead_letter
from autoliq.adapters.sql.trading_repository import ConnectionOwner
from autoliq.domain.events import Event
from autoliq.service.ports.webhooks import DeadLetter, Webhook

_IN_CHUNK = 500


def _webhook(row: Any) -> Webhook:
    return Webhook(
        id=int(row.id),
        organization_id=int(row.organization_id),
        url=row.url,
        secret=row.secret,
        kinds=tuple(k for k in row.kinds.split(",") if k),
        format=row.format,
        active=bool(row.active),
        created=row.created,
        cursor=int(row.cursor),
        failures=int(row.failures),
        retry_at=row.retry_at,
        last_error=row.last_error,
    )


def _due(now: datetime) -> Any:
    w = webhook.c
    return and_(
        w.active.is_(True),
        or_(w.retry_at.is_(None), w.retry_at <= now),
        or_(w.lease_until.is_(None), w.lease_until < now),
    )


class WebhookRepository(ConnectionOwner):
    """Webhooks, their dead letters, and the outbox read for them."""

    def webhooks(self, organization_id: int) -> list[Webhook]:
        w = webhook.c
        rows = self.conn.execute(select(webhook).where(w.organization_id == organization_id).order_by(w.id))
        return [_webhook(r) for r in rows]

    def add_webhook(
        self, organization_id: int, url: str, secret: str, kinds: Sequence[str], fmt: str, now: datetime
    ) -> Webhook:
        newest = self.conn.execute(select(func.max(event_outbox.c.id))).scalar() or 0
        new_id = self.conn.execute(
            insert(webhook)
            .values(
                organization_id=organization_id,
                url=url,
                secret=secret,
                kinds=",".join(kinds),
                format=fmt,
                active=True,
                created=now,
                cursor=int(newest),
                failures=0,
            )
            .returning(webhook.c.id)
        ).scalar_one()
        row = self.conn.execute(select(webhook).where(webhook.c.id == new_id)).one()
        return _webhook(row)

    def delete_webhook(self, organization_id: int, webhook_id: int) -> bool:
        w = webhook.c
        owned = and_(w.id == webhook_id, w.organization_id == organization_id)
        if self.conn.execute(select(w.id).where(owned)).first() is None:
            return False
        self.conn.execute(delete(webhook_dead_letter).where(webhook_dead_letter.c.webhook_id == webhook_id))
        self.conn.execute(delete(webhook).where(owned))
        return True

    def dead_letters(self, organization_id: int, webhook_id: int, limit: int) -> list[DeadLetter] | None:
        w, d = webhook.c, webhook_dead_letter.c
        owned = and_(w.id == webhook_id, w.organization_id == organization_id)
        if self.conn.execute(select(w.id).where(owned)).first() is None:
            return None
        rows = self.conn.execute(
            select(webhook_dead_letter).where(d.webhook_id == webhook_id).order_by(d.id.desc()).limit(limit)
        )
        return [
            DeadLetter(
                int(r.id),
                int(r.webhook_id),
                int(r.event_id),
                r.kind,
                r.payload,
                int(r.attempts),
                r.last_error,
                r.created,
            )
            for r in rows
        ]

    def due_webhooks_exist(self, now: datetime) -> bool:
        return self.conn.execute(select(webhook.c.id).where(_due(now)).limit(1)).first() is not None

    def claim_webhooks(self, now: datetime, owner: str, until: datetime) -> list[Webhook]:
        w = webhook.c
        # The condition again in the UPDATE: a deliverer that claimed in between wins (PostgreSQL
        # re-reads a row another transaction updated; SQLite has one writer at a time).
        self.conn.execute(update(webhook).where(_due(now)).values(lease_owner=owner, lease_until=until))
        rows = self.conn.execute(
            select(webhook).where(w.lease_owner == owner, w.lease_until == until).order_by(w.id)
        )
        return [_webhook(r) for r in rows]

    def outbox_after(self, cursor: int, limit: int, before: datetime) -> list[tuple[int, datetime, Event]]:
        o = event_outbox.c
        rows = self.conn.execute(
            select(o.id, o.created, o.payload)
            .where(o.id > cursor, o.created < before)
            .order_by(o.id)
            .limit(limit)
        )
        return [(int(r.id), r.created, decode_event(r.payload)) for r in rows]

    def organizations_of(self, account_ids: Sequence[int]) -> dict[int, int]:
        ids = list(dict.fromkeys(int(a) for a in account_ids))
        out: dict[int, int] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            for r in self.conn.execute(
                select(account.c.id, account.c.organization_id).where(account.c.id.in_(chunk))
            ):
                out[int(r[0])] = int(r[1])
        return out

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
        w = webhook.c
        self.conn.execute(
            update(webhook)
            .where(w.id == webhook_id, w.lease_owner == owner)
            .values(
                cursor=cursor,
                failures=failures,
                retry_at=retry_at,
                last_error=None if last_error is None else last_error[:500],
                lease_owner=None,
                lease_until=None,
            )
        )

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
        self.conn.execute(
            insert(webhook_dead_letter).values(
                webhook_id=webhook_id,
                event_id=event_id,
                kind=kind,
                payload=payload,
                attempts=attempts,
                last_error=error[:500],
                created=now,
            )
        )
