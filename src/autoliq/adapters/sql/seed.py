"""Bulk creation of organizations, users and accounts straight into the database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from autoliq.adapters.sql.batch import Batch
from autoliq.adapters.sql.schema import (
    account,
    app_user,
    organization,
    risk_category,
    risk_session,
)
from autoliq.domain.model import RiskStatus
from autoliq.domain.session import previous_trade_date, trade_date
from autoliq.domain.states import Role

_BATCH = 10_000
DEFAULT_RISK_CATEGORY = "Default"


@dataclass(frozen=True, slots=True)
class SeedResult:
    """What a seed run created."""

    organization_id: int
    organization_created: bool
    admin_user_id: int
    owner_user_id: int
    first_account_id: int | None
    accounts_created: int
    generated_owner_password: str | None = None
    """The password generated for an owner created without one (to be shown once), else None."""


def ensure_organization(conn: Connection, name: str, now: datetime) -> tuple[int, bool]:
    """The organization named `name`, created if missing; (id, created)."""
    org_id = conn.execute(select(organization.c.id).where(organization.c.name == name)).scalar()
    if org_id is not None:
        return int(org_id), False
    if conn.execute(select(risk_session.c.id)).first() is None:
        # The session job starts from the trade date the first organization is created in.
        conn.execute(
            insert(risk_session).values(id=1, closed_trade_date=previous_trade_date(trade_date(now)))
        )
    org_id = conn.execute(
        insert(organization).values(name=name, created=now).returning(organization.c.id)
    ).scalar_one()
    conn.execute(
        insert(risk_category).values(
            organization_id=org_id, name=DEFAULT_RISK_CATEGORY, halted=False, updated=now
        )
    )
    return int(org_id), True


def default_risk_category(conn: Connection, organization_id: int) -> int | None:
    """The organization's default risk category (its first), where new accounts go."""
    found = conn.execute(
        select(func.min(risk_category.c.id)).where(risk_category.c.organization_id == organization_id)
    ).scalar()
    return None if found is None else int(found)


def ensure_user(
    conn: Connection,
    organization_id: int,
    name: str,
    role: Role,
    password_hash: Callable[[], str],
    now: datetime,
) -> int:
    """The user named `name` in the organization, created if missing (password hashed lazily)."""
    row = conn.execute(
        select(app_user.c.id, app_user.c.organization_id).where(app_user.c.name == name)
    ).first()
    if row is not None:
        if row.organization_id != organization_id:
            raise ValueError(f"user {name!r} already belongs to another organization")
        return int(row.id)
    user_id = conn.execute(
        insert(app_user)
        .values(
            organization_id=organization_id,
            name=name,
            password_hash=password_hash(),
            role=role.value,
            full_name=name,
            email=f"{name}@example.invalid",
            created=now,
        )
        .returning(app_user.c.id)
    ).scalar_one()
    return int(user_id)


def add_accounts(
    conn: Connection,
    organization_id: int,
    owner_user_id: int,
    count: int,
    prefix: str,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> tuple[int | None, int]:
    """Create `count` accounts (and their Normal risk status) owned by the user; (first id, count)."""
    existing = conn.execute(
        select(func.count()).select_from(account).where(account.c.organization_id == organization_id)
    ).scalar_one()
    start_id = (conn.execute(select(func.max(account.c.id))).scalar() or 0) + 1
    category_id = default_risk_category(conn, organization_id)
    first: int | None = None
    done = 0
    while done < count:
        n = min(_BATCH, count - done)
        ids = range(start_id + done, start_id + done + n)
        conn.execute(
            insert(account),
            [
                {
                    "id": i,
                    "organization_id": organization_id,
                    "user_id": owner_user_id,
                    "name": f"{prefix}{existing + done + k + 1:06d}",
                    "created": now,
                    "archived": False,
                    "risk_category_id": category_id,
                }
                for k, i in enumerate(ids)
            ],
        )
        Batch(conn).insert_statuses(RiskStatus(i) for i in ids)
        if first is None:
            first = ids[0]
        done += n
        if progress is not None:
            progress(n)
    return first, done


def fix_sequences(conn: Connection) -> None:
    """After inserting explicit ids on PostgreSQL, move the id sequences past them."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(
        "SELECT setval(pg_get_serial_sequence('account', 'id'), (SELECT COALESCE(MAX(id), 1) FROM account))"
    )
