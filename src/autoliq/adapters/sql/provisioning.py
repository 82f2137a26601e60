"""The database work of start-up and of the operator's commands, outside the unit of work: the demo
seed, `autoliq seed`, `autoliq users set-password`, the stored sandbox clock read before the services
exist, the organization names a sandbox operator is checked against. Each function opens its own
short-lived engine (`create_admin_engine`) and disposes of it; the policy (which passwords, which
checks, what is shown) stays in `autoliq.bootstrap`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from autoliq.adapters.sql import seed
from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.repositories import clock_offset_us
from autoliq.adapters.sql.schema import app_user, organization, sandbox_clock
from autoliq.domain.states import Role

__all__ = [
    "StoredClock",
    "add_organization",
    "organization_names",
    "password_hash_of",
    "seed_demo_if_empty",
    "set_password_hash",
    "stored_clock",
]


@dataclass(frozen=True)
class StoredClock:
    """The sandbox clock's stored row: its offset (`clock_offset_us`: None when none is stored), when it
    was stored (aware, UTC) and the replay speed as stored (unchecked: the caller validates it)."""

    offset_us: int | None
    updated: datetime
    speed: object


def stored_clock(database_url: str) -> StoredClock | None:
    """The stored sandbox clock row; None when there is none."""
    engine = create_admin_engine(database_url)
    c = sandbox_clock.c
    try:
        with engine.connect() as conn:
            row = conn.execute(select(c.offset_us, c.updated, c.speed).where(c.id == 1)).first()
    finally:
        engine.dispose()
    if row is None:
        return None
    since = row[1].replace(tzinfo=UTC) if row[1].tzinfo is None else row[1]
    return StoredClock(clock_offset_us(row[0]), since, row[2])


def organization_names(database_url: str) -> set[str]:
    """The names of every organization in the database."""
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(select(organization.c.name)).scalars())
    finally:
        engine.dispose()


def seed_demo_if_empty(
    database_url: str,
    organization_name: str,
    accounts: int,
    admin_hash: Callable[[], str],
    trader_hash: Callable[[], str],
    now: datetime,
) -> tuple[bool, int | None]:
    """On a database with no organization, create `organization_name` with its users `admin` and
    `trader` (hashes asked for only when created) and `accounts` accounts owned by the trader, in one
    transaction. (whether it seeded, the first account's id)."""
    engine = create_admin_engine(database_url)
    try:
        with engine.begin() as conn:
            if conn.execute(select(func.count()).select_from(organization)).scalar_one() > 0:
                return False, None
            org_id, _ = seed.ensure_organization(conn, organization_name, now)
            seed.ensure_user(conn, org_id, "admin", Role.ADMIN, admin_hash, now)
            trader_id = seed.ensure_user(conn, org_id, "trader", Role.TRADER, trader_hash, now)
            first, _ = seed.add_accounts(conn, org_id, trader_id, accounts, "DEMO", now)
            seed.fix_sequences(conn)
        return True, first
    finally:
        engine.dispose()


def add_organization(
    database_url: str,
    organization_name: str,
    admin_name: str,
    admin_hash: Callable[[], str],
    owner: tuple[str, Callable[[], str]] | None,
    accounts: int,
    account_prefix: str,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> seed.SeedResult:
    """Add an organization with its admin (or reuse them), its `owner` (name, hash) if given (else the
    admin owns the accounts) and `accounts` new accounts, in one transaction."""
    engine = create_admin_engine(database_url)
    try:
        with engine.begin() as conn:
            org_id, created = seed.ensure_organization(conn, organization_name, now)
            admin_id = seed.ensure_user(conn, org_id, admin_name, Role.ADMIN, admin_hash, now)
            owner_id = admin_id
            if owner is not None:
                owner_id = seed.ensure_user(conn, org_id, owner[0], Role.TRADER, owner[1], now)
            first, n = seed.add_accounts(conn, org_id, owner_id, accounts, account_prefix, now, progress)
            seed.fix_sequences(conn)
        return seed.SeedResult(org_id, created, admin_id, owner_id, first, n)
    finally:
        engine.dispose()


def password_hash_of(database_url: str, user_name: str) -> str | None:
    """The stored password hash of `user_name`; None when there is no such user."""
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            stored: str | None = conn.execute(
                select(app_user.c.password_hash).where(app_user.c.name == user_name)
            ).scalar_one_or_none()
    finally:
        engine.dispose()
    return stored


def set_password_hash(database_url: str, user_name: str, password_hash: str) -> bool:
    """Store `password_hash` for `user_name`; False when there is no such user."""
    engine = create_admin_engine(database_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(
                update(app_user).where(app_user.c.name == user_name).values(password_hash=password_hash)
            )
    finally:
        engine.dispose()
    return bool(result.rowcount)
