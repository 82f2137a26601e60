"""Price triggers on positions: the prices of the contract, in ticks, at or beyond which the
account's post-trade rules must be evaluated again (NULL: never). A price change reads only the
positions whose triggers it reaches, through two range indexes, not every holder of the contract.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("position") as batch:
        batch.add_column(sa.Column("trigger_low_ticks", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("trigger_high_ticks", sa.BigInteger, nullable=True))
    op.create_index("ix_position_contract_trigger_low", "position", ["contract_id", "trigger_low_ticks"])
    op.create_index("ix_position_contract_trigger_high", "position", ["contract_id", "trigger_high_ticks"])


def downgrade() -> None:
    op.drop_index("ix_position_contract_trigger_high", table_name="position")
    op.drop_index("ix_position_contract_trigger_low", table_name="position")
    with op.batch_alter_table("position") as batch:
        batch.drop_column("trigger_high_ticks")
        batch.drop_column("trigger_low_ticks")
