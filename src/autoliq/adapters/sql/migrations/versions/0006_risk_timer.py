"""Timers of the risk layer (the 60-second expiry of internal admin actions; later, auto-liq
unlocks), kept in the database so that they survive restarts; a timer row is deleted in the
transaction that fires it, so it fires once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_timer",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("admin_action", sa.String(40), nullable=True),
        sa.Column("set_at", UTCDateTime(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_risk_timer_due_at", "risk_timer", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_risk_timer_due_at", table_name="risk_timer")
    op.drop_table("risk_timer")
