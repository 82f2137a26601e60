"""Post-trade risk settings (Tradovate's `UserAccountAutoLiq`), one row per account (id = account id).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

AMOUNTS = (
    "margin_percentage_alert",
    "daily_loss_percentage_alert",
    "daily_loss_alert",
    "margin_percentage_liq_only",
    "daily_loss_percentage_liq_only",
    "daily_loss_liq_only",
    "margin_percentage_auto_liq",
    "daily_loss_percentage_auto_liq",
    "daily_loss_auto_liq",
    "weekly_loss_auto_liq",
    "trailing_max_drawdown",
    "trailing_max_drawdown_limit",
    "daily_profit_auto_liq",
    "weekly_profit_auto_liq",
)


def upgrade() -> None:
    op.create_table(
        "user_account_auto_liq",
        sa.Column("id", sa.BigInteger, sa.ForeignKey("account.id"), primary_key=True, autoincrement=False),
        sa.Column("changes_locked", sa.Boolean, nullable=False),
        *(sa.Column(name, sa.Float, nullable=True) for name in AMOUNTS),
        sa.Column("flatten_timestamp", UTCDateTime(), nullable=True),
        sa.Column("trailing_max_drawdown_mode", sa.String(16), nullable=True),
        sa.Column("do_not_unlock", sa.Boolean, nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_account_auto_liq")
