"""The sandbox clock's pace (Tradovate's replay `speed`, percent of real time, 0-400): stored with
its offset, so every worker runs the clock at the same pace from the same moment (`updated`), and a
restart keeps it. Existing rows run at 100, the machine's pace, as before.

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_replay_speed"
down_revision = "0016_md_access_token"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sandbox_clock") as batch:
        batch.add_column(sa.Column("speed", sa.Integer, nullable=False, server_default="100"))


def downgrade() -> None:
    with op.batch_alter_table("sandbox_clock") as batch:
        batch.drop_column("speed")
