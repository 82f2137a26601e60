"""Orders, fills, positions and cash balances (prices in whole ticks, money in cents: exact).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import Id, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trade_order",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("contract_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(4), nullable=False),
        sa.Column("order_type", sa.String(16), nullable=False),
        sa.Column("qty", sa.Integer, nullable=False),
        sa.Column("time_in_force", sa.String(4), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("admin", sa.Boolean, nullable=False),
        sa.Column("limit_ticks", sa.BigInteger, nullable=True),
        sa.Column("stop_ticks", sa.BigInteger, nullable=True),
        sa.Column("triggered", sa.Boolean, nullable=False),
        sa.Column("fill_ticks", sa.BigInteger, nullable=True),
        sa.Column("cl_ord_id", sa.String(64), nullable=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_trade_order_account_contract_status", "trade_order", ["account_id", "contract_id", "status"]
    )
    op.create_index("ix_trade_order_contract_status", "trade_order", ["contract_id", "status"])
    op.create_table(
        "fill",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.BigInteger, sa.ForeignKey("trade_order.id"), nullable=False),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("contract_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(4), nullable=False),
        sa.Column("qty", sa.Integer, nullable=False),
        sa.Column("price_ticks", sa.BigInteger, nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.Column("trade_date", sa.Date, nullable=False),
    )
    op.create_index("ix_fill_account_id", "fill", ["account_id", "id"])
    op.create_index("ix_fill_order_id", "fill", ["order_id"])
    op.create_table(
        "position",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("contract_id", sa.BigInteger, nullable=False),
        sa.Column("lots", sa.Text, nullable=False),
        sa.Column("bought", sa.Integer, nullable=False),
        sa.Column("bought_ticks", sa.BigInteger, nullable=False),
        sa.Column("sold", sa.Integer, nullable=False),
        sa.Column("sold_ticks", sa.BigInteger, nullable=False),
        sa.Column("realized_ticks", sa.BigInteger, nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.Column("trade_date", sa.Date, nullable=False),
        sa.UniqueConstraint("account_id", "contract_id", name="uq_position_account_contract"),
    )
    op.create_table(
        "cash_balance",
        sa.Column(
            "account_id", sa.BigInteger, sa.ForeignKey("account.id"), primary_key=True, autoincrement=False
        ),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("realized_cents", sa.BigInteger, nullable=False),
        sa.Column("week_realized_cents", sa.BigInteger, nullable=False),
        sa.Column("amount_sod_cents", sa.BigInteger, nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.Column("trade_date", sa.Date, nullable=False),
    )


def downgrade() -> None:
    for table in ("cash_balance", "position", "fill", "trade_order"):
        op.drop_table(table)
