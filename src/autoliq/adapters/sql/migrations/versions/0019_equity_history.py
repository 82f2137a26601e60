"""The equity history (issue 18): one row each time the risk engine re-evaluates an account and its
net liquidation value or trailing-drawdown floor changed, kept `equity_history_days` (the risk desk's
equity curve). A new table only.

Revision ID: 0019_equity_history
Revises: 0018_position_limits
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import UTCDateTime

revision = "0019_equity_history"
down_revision = "0018_position_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "equity_point",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("net_liq_cents", sa.BigInteger, nullable=False),
        sa.Column("floor_cents", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_equity_point_account_id_id", "equity_point", ["account_id", "id"])
    op.create_index("ix_equity_point_at", "equity_point", ["at"])


def downgrade() -> None:
    op.drop_index("ix_equity_point_at", table_name="equity_point")
    op.drop_index("ix_equity_point_account_id_id", table_name="equity_point")
    op.drop_table("equity_point")
