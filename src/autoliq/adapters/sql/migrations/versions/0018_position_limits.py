"""Pre-trade limits (issue 17): Tradovate's `userAccountPositionLimit` rows (`position_limit`), their
`userAccountRiskParameter` rows (`risk_parameter`, with the parent's account for scoping), and a log
row per change of either (`limit_log`: who, when, the row as written). New tables only.

Revision ID: 0018_position_limits
Revises: 0017_replay_speed
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import Flag, UTCDateTime

revision = "0018_position_limits"
down_revision = "0017_replay_speed"
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    )


def _scope() -> list[sa.Column[object]]:
    return [
        sa.Column("contract_id", sa.BigInteger, nullable=True),
        sa.Column("product_id", sa.BigInteger, nullable=True),
        sa.Column("exchange_id", sa.BigInteger, nullable=True),
        sa.Column("product_type", sa.String(32), nullable=True),
        sa.Column("contract_group_id", sa.BigInteger, nullable=True),
        sa.Column("discount_group_id", sa.BigInteger, nullable=True),
        sa.Column("fungible_product_id", sa.BigInteger, nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "position_limit",
        _id(),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("active", Flag(), nullable=False),
        sa.Column("total_by", sa.String(32), nullable=False),
        *_scope(),
        sa.Column("long_limit", sa.Integer, nullable=True),
        sa.Column("short_limit", sa.Integer, nullable=True),
        sa.Column("exposed_limit", sa.Integer, nullable=True),
        sa.Column("fungible_exposed_limit", sa.Integer, nullable=True),
        sa.Column("description", sa.String(64), nullable=True),
        sa.Column("risk_time_period_id", sa.BigInteger, nullable=True),
        sa.Column("product_verification_status", sa.String(32), nullable=True),
        sa.Column("updated", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_position_limit_account_id", "position_limit", ["account_id"])
    op.create_table(
        "risk_parameter",
        _id(),
        sa.Column("position_limit_id", sa.BigInteger, sa.ForeignKey("position_limit.id"), nullable=False),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("account.id"), nullable=False),
        *_scope(),
        sa.Column("max_opening_order_qty", sa.Integer, nullable=True),
        sa.Column("max_closing_order_qty", sa.Integer, nullable=True),
        sa.Column("fungible_max_opening_order_qty", sa.Integer, nullable=True),
        sa.Column("fungible_max_closing_order_qty", sa.Integer, nullable=True),
        sa.Column("max_back_month", sa.Integer, nullable=True),
        sa.Column("pre_expiration_days", sa.Integer, nullable=True),
        sa.Column("margin_percentage", sa.Float, nullable=True),
        sa.Column("margin_dollar_value", sa.Float, nullable=True),
        sa.Column("hard_limit", Flag(), nullable=True),
        sa.Column("product_verification_status", sa.String(32), nullable=True),
        sa.Column("updated", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_risk_parameter_position_limit_id", "risk_parameter", ["position_limit_id"])
    op.create_index("ix_risk_parameter_account_id", "risk_parameter", ["account_id"])
    op.create_table(
        "limit_log",
        _id(),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.Column("entity_type", sa.String(40), nullable=False),
        sa.Column("entity_id", sa.BigInteger, nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger, nullable=True),
        sa.Column("entity", sa.Text, nullable=True),
    )
    op.create_index("ix_limit_log_account_id_id", "limit_log", ["account_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_limit_log_account_id_id", table_name="limit_log")
    op.drop_table("limit_log")
    op.drop_index("ix_risk_parameter_account_id", table_name="risk_parameter")
    op.drop_index("ix_risk_parameter_position_limit_id", table_name="risk_parameter")
    op.drop_table("risk_parameter")
    op.drop_index("ix_position_limit_account_id", table_name="position_limit")
    op.drop_table("position_limit")
