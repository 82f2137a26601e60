"""Organizations, users, accounts, risk status and its append-only log, auth sessions.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from autoliq.adapters.sql.schema import Id, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "app_user",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("organization_id", sa.BigInteger, sa.ForeignKey("organization.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_app_user_organization_id", "app_user", ["organization_id"])
    op.create_table(
        "account",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("organization_id", sa.BigInteger, sa.ForeignKey("organization.id"), nullable=False),
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False),
        sa.UniqueConstraint("organization_id", "name", name="uq_account_org_name"),
    )
    op.create_index("ix_account_user_id", "account", ["user_id"])
    op.create_table(
        "account_risk_status",
        sa.Column("id", sa.BigInteger, sa.ForeignKey("account.id"), primary_key=True, autoincrement=False),
        sa.Column("admin_action", sa.String(40), nullable=False),
        sa.Column("admin_timestamp", UTCDateTime(), nullable=True),
        sa.Column("liquidate_only", UTCDateTime(), nullable=True),
        sa.Column("user_triggered_liq_only", sa.Boolean, nullable=False),
        sa.Column("max_net_liq", sa.Float, nullable=True),
        sa.Column("min_net_liq", sa.Float, nullable=True),
    )
    op.create_table(
        "account_risk_status_log",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.BigInteger, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.Column("admin_action", sa.String(40), nullable=False),
        sa.Column("admin_timestamp", UTCDateTime(), nullable=True),
        sa.Column("liquidate_only", UTCDateTime(), nullable=True),
        sa.Column("user_triggered_liq_only", sa.Boolean, nullable=False),
        sa.Column("max_net_liq", sa.Float, nullable=True),
        sa.Column("min_net_liq", sa.Float, nullable=True),
        sa.Column("actor", sa.String(20), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger, nullable=True),
        sa.Column("reason_code", sa.String(40), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_account_risk_status_log_account_id_id", "account_risk_status_log", ["account_id", "id"]
    )
    op.create_table(
        "auth_session",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger, sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("expires", UTCDateTime(), nullable=False),
        sa.Column("closed", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_auth_session_user_id_closed", "auth_session", ["user_id", "closed"])

    # The audit log is append-only: the database itself refuses UPDATE and DELETE on it.
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER account_risk_status_log_no_{verb.lower()} "
                f"BEFORE {verb} ON account_risk_status_log "
                "BEGIN SELECT RAISE(ABORT, 'account_risk_status_log is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION account_risk_status_log_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'account_risk_status_log is append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER account_risk_status_log_append_only "
            "BEFORE UPDATE OR DELETE ON account_risk_status_log "
            "FOR EACH ROW EXECUTE FUNCTION account_risk_status_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER account_risk_status_log_no_truncate "
            "BEFORE TRUNCATE ON account_risk_status_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION account_risk_status_log_append_only()"
        )


def downgrade() -> None:
    # Deliberately irreversible: going below 0001 would drop the append-only audit log.
    raise RuntimeError("refusing to downgrade below 0001: autoliq never drops the audit log")
