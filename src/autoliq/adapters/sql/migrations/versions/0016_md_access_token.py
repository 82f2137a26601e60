"""mdAccessToken: each session keeps the SHA-256 of its market-data token beside its access token's,
so `authorize` on the WebSocket accepts either. Sessions opened before this have none (their login
answer had no mdAccessToken) until their first renewal stores it.

A nullable column and a unique index: an ALTER TABLE ADD COLUMN on both engines, no table copy.

Revision ID: 0016_md_access_token (the id issue 14's plan gave this part)
Revises: 0013 (0013_bigint_quantities.py's id)
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_md_access_token"
down_revision = "0015_linked_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("auth_session", sa.Column("md_token_hash", sa.String(64), nullable=True))
    op.create_index("ix_auth_session_md_token_hash", "auth_session", ["md_token_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_auth_session_md_token_hash", table_name="auth_session")
    with op.batch_alter_table("auth_session") as batch:
        batch.drop_column("md_token_hash")
