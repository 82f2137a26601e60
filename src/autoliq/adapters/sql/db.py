"""The one engine factory: SQLite (WAL, synchronous=FULL) or PostgreSQL, and migrations on start."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

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


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL; None for PostgreSQL, in-memory and URI (`file:`) databases."""
    url = normalize_url(url)
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


PRIVATE_MODE = 0o600
"""New SQLite files (the database; SQLite gives its -wal and -shm the database's mode) and the
files beside it: readable by the server's user only (they hold password hashes and sessions)."""


def _create_private(path: str) -> None:
    """Create `path` empty with mode 0600 if it does not exist (an empty file is an empty database)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))


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
        path = sqlite_file(url)
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False, "isolation_level": None}}
        if path is not None:
            # The server's connections never create the file (mode=rw): a database deleted under a
            # running server stays missing (writes are refused) instead of coming back empty.
            uri = f"file:{quote(os.path.abspath(path))}?mode=rw"
            options = {
                "creator": lambda: sqlite3.connect(
                    uri, uri=True, check_same_thread=False, isolation_level=None
                )
            }
        engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, **options)
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
        database = sqlite_file(url)
        if database is None:
            yield
            return
        lock_path = f"{database}.startup-lock"
        with os.fdopen(os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_MODE), "a+b") as handle:
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


class DatabaseVanished(RuntimeError):
    """A SQLite database that existed is gone: refuse to create a fresh one in its place."""


CREATED_MARKER_SUFFIX = ".created"
"""Beside a SQLite database: written once it is migrated, it says a database existed there."""


def _check_sqlite_file(path: str) -> None:
    """Before migrating: a missing (or empty) database whose marker says it existed is an error;
    else create the file 0600 when it is new."""
    marker = path + CREATED_MARKER_SUFFIX
    try:
        present = os.path.getsize(path) > 0
    except FileNotFoundError:
        present = False
    if not present and os.path.exists(marker):
        raise DatabaseVanished(
            f"database {path} is gone but {marker} says one was created there: restore the file "
            f"from a backup, or delete {marker} to start a new, empty database"
        )
    _create_private(path)


def _mark_sqlite_file(path: str) -> None:
    """After migrating: note that a database exists at `path` (once)."""
    marker = path + CREATED_MARKER_SUFFIX
    if os.path.exists(marker):
        return
    _create_private(marker)
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    with open(marker, "w") as handle:
        handle.write(
            f"autoliq created the database {os.path.abspath(path)} on {created} UTC.\n"
            "If that file is missing, autoliq refuses to start rather than create an empty one in its\n"
            "place: restore it from a backup, or delete this file to start a new, empty database.\n"
        )


def upgrade_to_head(url: str) -> None:
    """Apply the migrations; call it under `startup_lock` (or use `migrate`). On SQLite, refuses
    (`DatabaseVanished`) to create a database where one existed and vanished, creates a new file
    0600 and marks it as existing."""
    path = sqlite_file(url)
    if path is not None:
        _check_sqlite_file(path)
    engine = create_admin_engine(url)
    try:
        command.upgrade(alembic_config(engine), "head")
    finally:
        engine.dispose()
    if path is not None:
        _mark_sqlite_file(path)
