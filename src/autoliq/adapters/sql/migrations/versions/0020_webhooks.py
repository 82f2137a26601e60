"""Webhooks (issue 19): each organization's endpoints (`webhook`: URL, signing secret, the kinds of
event it wants, its format, and its place in the event outbox with its delivery state and lease),
and the deliveries that failed every try (`webhook_dead_letter`). New tables only.

Revision ID: 0020_webhooks
Revises: 0019_equity_history
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import Flag, UTCDateTime

revision = "0020_webhooks"
down_revision = "0019_equity_history"
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )


def upgrade() -> None:
    op.create_table(
        "webhook",
        _id(),
        sa.Column("organization_id", sa.BigInteger, sa.ForeignKey("organization.id"), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("kinds", sa.String(200), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("active", Flag(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("cursor", sa.BigInteger, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("retry_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_webhook_organization_id", "webhook", ["organization_id"])
    op.create_table(
        "webhook_dead_letter",
        _id(),
        sa.Column(
            "webhook_id", sa.BigInteger, sa.ForeignKey("webhook.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("event_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(500), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_webhook_dead_letter_webhook_id_id", "webhook_dead_letter", ["webhook_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_dead_letter_webhook_id_id", table_name="webhook_dead_letter")
    op.drop_table("webhook_dead_letter")
    op.drop_index("ix_webhook_organization_id", table_name="webhook")
    op.drop_table("webhook")
