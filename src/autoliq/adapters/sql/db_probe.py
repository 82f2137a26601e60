"""Whether a database URL can be used, asked before anything is created, migrated or printed.

`check_database` opens nothing that could create a file: a SQLite file that exists must be readable,
writable and start with SQLite's header, one that does not must have a writable directory to be
created in; PostgreSQL gets one connection (`SELECT 1`). A failure is a `DatabaseUnavailable` whose
message is one line naming the cause.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from autoliq.adapters.sql.db import normalize_url

CONNECT_TIMEOUT_SECONDS = 5
"""How long a PostgreSQL server may take to accept the probe's connection."""

URL_FORMS = "sqlite:///FILE or postgresql://USER@HOST:PORT/DB"

_PASSWORD_IN_URL = re.compile(r"(//[^/:@]*:)[^@/]*@")


class DatabaseUnavailable(Exception):
    """The database cannot be used; the message is one line naming why."""


def parse_database_url(url: str) -> URL:
    """`url` parsed, if it names a SQLite file or a PostgreSQL database; `DatabaseUnavailable` if not."""
    try:
        parsed = make_url(normalize_url(url))
    except (ArgumentError, ValueError):
        shown = _PASSWORD_IN_URL.sub(r"\1***@", url)
        raise DatabaseUnavailable(f"database URL {shown!r} cannot be read: give {URL_FORMS}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseUnavailable(
            f"database URL {safe_url(url)!r}: {backend} is not supported, give {URL_FORMS}"
        )
    return parsed


def safe_url(url: str) -> str:
    """`url` as given, with its password hidden (`url` must parse)."""
    return make_url(url).render_as_string(hide_password=True)


def check_database(url: str) -> None:
    """Raise `DatabaseUnavailable` unless the database of `url` can be opened (or, SQLite, created)."""
    parsed = parse_database_url(url)
    where = f"cannot open database {safe_url(url)}"
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite(parsed, where)
    else:
        _check_postgresql(parsed, where)


SQLITE_HEADER = b"SQLite format 3\x00"
"""The first bytes of every SQLite database file (an empty file is an empty database too)."""


def _check_sqlite(url: URL, where: str) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return  # in memory (or a URI filename, left to SQLite)
    path = Path(database)
    if path.exists():
        if not path.is_file():
            raise DatabaseUnavailable(f"{where}: {path} is not a file")
        if not os.access(path, os.R_OK | os.W_OK):
            raise DatabaseUnavailable(f"{where}: no permission to read and write {path}")
        # The header, read by hand: opening the file with SQLite could create its -wal and -shm files.
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
        if header and header != SQLITE_HEADER:
            raise DatabaseUnavailable(f"{where}: {path} is not a SQLite database")
        return
    directory = path.parent
    if not directory.is_dir():
        raise DatabaseUnavailable(f"{where}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise DatabaseUnavailable(f"{where}: no permission to create files in {directory}")


def _check_postgresql(url: URL, where: str) -> None:
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise DatabaseUnavailable(f"{where}: {' '.join(str(cause).split())}") from None
    finally:
        engine.dispose()
