"""Sandbox scope: each injected fault and penalty ticket belongs to an organization (only its users'
calls take a fault; an organization's clear or reset voids its own).

Faults and tickets pending at the upgrade were server-wide: they go to the organization seeded first
(the default sandbox operator); on a database without organizations there are none to keep.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sandbox_fault") as batch:
        batch.add_column(sa.Column("organization_id", sa.BigInteger, nullable=True))
    op.execute("UPDATE sandbox_fault SET organization_id = (SELECT MIN(id) FROM organization)")
    op.execute("DELETE FROM sandbox_fault WHERE organization_id IS NULL")
    with op.batch_alter_table("sandbox_fault") as batch:
        batch.alter_column("organization_id", existing_type=sa.BigInteger, nullable=False)
        batch.create_foreign_key(
            "fk_sandbox_fault_organization_id", "organization", ["organization_id"], ["id"]
        )
    with op.batch_alter_table("sandbox_ticket") as batch:
        batch.add_column(sa.Column("organization_id", sa.BigInteger, nullable=True))
        batch.create_foreign_key(
            "fk_sandbox_ticket_organization_id", "organization", ["organization_id"], ["id"]
        )
    op.execute("UPDATE sandbox_ticket SET organization_id = (SELECT MIN(id) FROM organization)")


def downgrade() -> None:
    with op.batch_alter_table("sandbox_ticket") as batch:
        batch.drop_constraint("fk_sandbox_ticket_organization_id", type_="foreignkey")
        batch.drop_column("organization_id")
    with op.batch_alter_table("sandbox_fault") as batch:
        batch.drop_constraint("fk_sandbox_fault_organization_id", type_="foreignkey")
        batch.drop_column("organization_id")
