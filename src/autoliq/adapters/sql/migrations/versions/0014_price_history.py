"""Price history (md charts and quotes): every price the sandbox sets, with the contracts that price
change filled; and an index on `fill (contract_id, timestamp)` for the per-contract volumes of quotes
and chart bars.

Revision ID: 0014_price_history
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import UTCDateTime

revision = "0014_price_history"
down_revision = "0013"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "price_history",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("contract_id", sa.BigInteger, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("price_ticks", sa.BigInteger, nullable=False),
        sa.Column("volume", _ID, nullable=False),
    )
    op.create_index("ix_price_history_contract_id_at", "price_history", ["contract_id", "at"])
    op.create_index("ix_price_history_at", "price_history", ["at"])
    op.create_index("ix_fill_contract_id_timestamp", "fill", ["contract_id", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_fill_contract_id_timestamp", table_name="fill")
    op.drop_index("ix_price_history_at", table_name="price_history")
    op.drop_index("ix_price_history_contract_id_at", table_name="price_history")
    op.drop_table("price_history")
