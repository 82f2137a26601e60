"""Sandbox fault injection: pending faults and the penalty tickets they (and the rate-limit profile)
hand out, in the database so that every worker of a server shares them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_fault",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("path_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("remaining", sa.Integer, nullable=False),
        sa.Column("delay_ms", sa.Integer, nullable=True),
        sa.Column("p_time", sa.Integer, nullable=True),
        sa.Column("p_captcha", sa.Boolean, nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sandbox_fault_path_key_id", "sandbox_fault", ["path_key", "id"])
    op.create_table(
        "sandbox_ticket",
        sa.Column("ticket", sa.String(64), primary_key=True),
        sa.Column("path_key", sa.String(200), nullable=False),
        sa.Column("p_time", sa.Integer, nullable=False),
        sa.Column("valid_after", UTCDateTime(), nullable=False),
        sa.Column("expires", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sandbox_ticket_expires", "sandbox_ticket", ["expires"])


def downgrade() -> None:
    op.drop_index("ix_sandbox_ticket_expires", table_name="sandbox_ticket")
    op.drop_table("sandbox_ticket")
    op.drop_index("ix_sandbox_fault_path_key_id", table_name="sandbox_fault")
    op.drop_table("sandbox_fault")
