"""Linked orders (issue 14): the links of `trade_order` rows, and order strategies.

`trade_order` gains `parent_id` (an OSO bracket's or strategy bracket's entry), `oco_id` (the other
order of an OCO pair), `has_children` (an entry whose suspended brackets wake on its fill),
`strategy_id` and `strategy_label` (the order's `OrderStrategyLink`: one per order, its id the
order's), and `offset_ticks` (a strategy bracket's price as a distance from its entry's fill price).
`order_strategy` holds Tradovate's `OrderStrategy` entities. An index on `parent_id` finds an
entry's brackets; one on (`strategy_id`) a strategy's orders. Nullable columns and a server default:
no table copy on PostgreSQL, a batch copy on SQLite.

Revision ID: 0015_linked_orders
Revises: 0013 (0013_bigint_quantities.py)
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import UTCDateTime

revision = "0015_linked_orders"
down_revision = "0014_price_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trade_order") as batch:
        batch.add_column(sa.Column("parent_id", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("oco_id", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("has_children", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("strategy_id", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("strategy_label", sa.String(16), nullable=True))
        batch.add_column(sa.Column("offset_ticks", sa.BigInteger, nullable=True))
    op.create_index("ix_trade_order_parent", "trade_order", ["parent_id"])
    op.create_index("ix_trade_order_strategy", "trade_order", ["strategy_id"])
    op.create_table(
        "order_strategy",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("contract_id", sa.BigInteger, nullable=False),
        sa.Column("order_strategy_type_id", sa.BigInteger, nullable=False),
        sa.Column("initiator_id", sa.BigInteger, nullable=True),
        sa.Column("action", sa.String(4), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("uuid", sa.String(64), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("failure_message", sa.String(256), nullable=True),
        sa.Column("custom_tag50", sa.String(64), nullable=True),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_order_strategy_account_status", "order_strategy", ["account_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_order_strategy_account_status", table_name="order_strategy")
    op.drop_table("order_strategy")
    op.drop_index("ix_trade_order_strategy", table_name="trade_order")
    op.drop_index("ix_trade_order_parent", table_name="trade_order")
    with op.batch_alter_table("trade_order") as batch:
        for column in (
            "offset_ticks",
            "strategy_label",
            "strategy_id",
            "has_children",
            "oco_id",
            "parent_id",
        ):
            batch.drop_column(column)
