"""The event outbox: every committed event, written in its transaction, so that each worker's
relay can deliver the events of the others (PostgreSQL wakes them with NOTIFY; SQLite polls).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_outbox",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_index("ix_event_outbox_created", "event_outbox", ["created"])


def downgrade() -> None:
    op.drop_index("ix_event_outbox_created", table_name="event_outbox")
    op.drop_table("event_outbox")
