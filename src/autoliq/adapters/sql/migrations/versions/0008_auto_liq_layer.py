"""Post-trade risk at work: the auto-liq layer of each account (set by a breached rule, cleared at
the next market open), the alerts the rules raise, the session job's progress (EOD trailing update,
Day-order expiry), risk categories (one default per organization, haltable) and account notes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "auto_liq_layer",
        sa.Column(
            "account_id", sa.BigInteger, sa.ForeignKey("account.id"), primary_key=True, autoincrement=False
        ),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "auto_liq_alert",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.Column("trade_date", sa.Date, nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_auto_liq_alert_account_rule_date", "auto_liq_alert", ["account_id", "rule", "trade_date"]
    )
    op.create_table(
        "risk_session",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("closed_trade_date", sa.Date, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_risk_session_one_row"),
    )
    category = op.create_table(
        "risk_category",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("organization_id", sa.BigInteger, sa.ForeignKey("organization.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("halted", sa.Boolean, nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("organization_id", "name", name="uq_risk_category_org_name"),
    )
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("risk_category_id", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("notes", sa.Text, nullable=True))
    op.create_index("ix_position_contract_id", "position", ["contract_id"])
    # Every existing organization gets its default category, and its accounts are put in it.
    conn = op.get_bind()
    now = datetime.now(UTC)
    for (org_id,) in conn.execute(sa.text("SELECT id FROM organization")).fetchall():
        conn.execute(
            sa.insert(category).values(organization_id=org_id, name="Default", halted=False, updated=now)
        )
    conn.execute(
        sa.text(
            "UPDATE account SET risk_category_id = (SELECT MIN(c.id) FROM risk_category c "
            "WHERE c.organization_id = account.organization_id)"
        )
    )


def downgrade() -> None:
    op.drop_index("ix_position_contract_id", table_name="position")
    with op.batch_alter_table("account") as batch:
        batch.drop_column("notes")
        batch.drop_column("risk_category_id")
    op.drop_table("risk_category")
    op.drop_table("risk_session")
    op.drop_index("ix_auto_liq_alert_account_rule_date", table_name="auto_liq_alert")
    op.drop_table("auto_liq_alert")
    op.drop_table("auto_liq_layer")
