"""Last prices of contracts (sandbox market data), in whole ticks so they are exact on both engines.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contract_price",
        sa.Column("contract_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("price_ticks", sa.BigInteger, nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("contract_price")
