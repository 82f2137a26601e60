"""Demo cash changes (`cashBalance/changedemobalance`): who changed which account's cash by how much,
when and why; the one-change-per-hour rule reads it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cash_change",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("comment", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("by_admin", sa.Boolean, nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_cash_change_account_timestamp", "cash_change", ["account_id", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_cash_change_account_timestamp", table_name="cash_change")
    op.drop_table("cash_change")
