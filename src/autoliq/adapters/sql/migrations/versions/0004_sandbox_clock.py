"""The sandbox clock's offset from the machine's clock, so a moved clock survives a restart.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_clock",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("offset_us", sa.BigInteger, nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_sandbox_clock_one_row"),
    )


def downgrade() -> None:
    op.drop_table("sandbox_clock")
