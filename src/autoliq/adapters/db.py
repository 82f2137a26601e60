"""The one engine factory: SQLite (WAL, synchronous=FULL) or PostgreSQL, and migrations on start."""

from __future__ import annotations

import contextlib
import fcntl
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Map `postgresql://` and `postgres://` to the psycopg 3 driver; keep other URLs as given."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(url: str) -> bool:
    """True for a SQLite URL."""
    return make_url(normalize_url(url)).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Durable commits: WAL with a full fsync of the log at each commit.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_db_engine(url: str, *, writer: bool, pool_size: int = 8) -> Engine:
    """An engine for `url`. On SQLite a writer's transactions BEGIN IMMEDIATE (take the write
    lock at once, so no deadlock on upgrade); a reader's BEGIN (a snapshot, never blocking writers)."""
    url = normalize_url(url)
    if is_sqlite(url):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "isolation_level": None},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is off (isolation_level=None); issue BEGIN ourselves
        # so that SQLAlchemy's begin() really opens a transaction.
        begin = "BEGIN IMMEDIATE" if writer else "BEGIN"
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def create_admin_engine(url: str) -> Engine:
    """A short-lived engine without pooling, for migrations and seeding."""
    url = normalize_url(url)
    if is_sqlite(url):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "isolation_level": None}, poolclass=NullPool
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return create_engine(url, poolclass=NullPool)


def alembic_config(engine: Engine) -> Config:
    """Alembic's configuration, built in code (no alembic.ini to ship)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


STARTUP_LOCK_KEY = zlib.crc32(b"autoliq startup") & 0x7FFF_FFFF
"""PostgreSQL advisory lock key held while a process migrates and seeds at start."""


@contextlib.contextmanager
def startup_lock(url: str) -> Iterator[None]:
    """Held while one process migrates (and seeds) the database: processes and machines starting at
    the same moment take turns, so the migrations run once and the others find them done. On
    PostgreSQL a session advisory lock; on SQLite an exclusive `flock` on a file beside the database."""
    url = normalize_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.startup-lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({STARTUP_LOCK_KEY})")
            conn.commit()
            try:
                yield
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({STARTUP_LOCK_KEY})")
                conn.commit()
    finally:
        engine.dispose()


def migrate(url: str) -> None:
    """Apply every migration up to head (idempotent), one process at a time (`startup_lock`)."""
    with startup_lock(url):
        upgrade_to_head(url)


def upgrade_to_head(url: str) -> None:
    """Apply the migrations; call it under `startup_lock` (or use `migrate`)."""
    engine = create_admin_engine(url)
    try:
        command.upgrade(alembic_config(engine), "head")
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The database's migration revision, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    engine = create_admin_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
