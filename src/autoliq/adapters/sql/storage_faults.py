"""Storage faults: which database errors mean "the storage cannot make writes durable now", the
SQLite file's identity (replaced or deleted under a running server), and the writer's health.

A storage fault (disk full, I/O error, read-only file, lost connection, the file gone) fails the
writes of the batch it hit with `StorageUnavailable` (HTTP 503, nothing acknowledged), resets the
writer's connection and marks the writer unhealthy until a later commit writes again; an error of
one write's own (a constraint, a bug) is not one: its neighbours still land (unit_of_work.py).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from autoliq.adapters.sql.db import sqlite_file

log = logging.getLogger(__name__)

MAX_CAUSE_CHARS = 300

# SQLite primary result codes of the storage itself (sqlite3.Error.sqlite_errorcode & 0xFF):
# BUSY (another process held the write lock past busy_timeout), NOMEM, READONLY, IOERR, CORRUPT,
# FULL, CANTOPEN, PROTOCOL, NOLFS, NOTADB. Others (SQLITE_ERROR: a bad statement,
# SQLITE_CONSTRAINT) belong to the write that ran them.
_SQLITE_STORAGE_CODES = frozenset({5, 7, 8, 10, 11, 13, 14, 15, 22, 26})
# PostgreSQL SQLSTATE classes of the server or the connection, not of one statement: 08 connection
# exception, 53 insufficient resources (disk full, out of memory), 58 system error (I/O), XX internal
# (data corrupted); and 57P01-57P05 (shutdown, crash, cannot connect now, database dropped).
_PG_STORAGE_CLASSES = ("08", "53", "58", "XX")
_PEP249_CONNECTION_ERRORS = frozenset({"OperationalError", "InterfaceError"})


def describe_error(error: BaseException) -> str:
    """`ErrorClass: first line` of the driver's error (or of `error`), at most 300 characters."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    first_line = (str(cause).strip().splitlines() or [""])[0]
    described = f"{type(cause).__name__}: {first_line}" if first_line else type(cause).__name__
    return described[:MAX_CAUSE_CHARS]


def is_storage_fault(error: BaseException) -> bool:
    """Whether `error`, raised by a write's statement, is the storage's fault rather than the write's.
    SQLAlchemy's errors and the DB-API driver's own (the hot path's raw cursor raises those)."""
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        original: BaseException = error.orig if error.orig is not None else error
    else:
        original = error
    code = getattr(original, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _SQLITE_STORAGE_CODES
    sqlstate = getattr(original, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate[:2] in _PG_STORAGE_CLASSES or sqlstate.startswith("57P")
    # A driver error without a code: a connection that broke before the server could say why
    # (PEP 249's OperationalError and InterfaceError, SQLAlchemy's or the driver's own).
    return isinstance(error, OperationalError | InterfaceError) or any(
        cls.__name__ in _PEP249_CONNECTION_ERRORS for cls in type(original).__mro__
    )


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """A file as the kernel knows it: device and inode."""

    device: int
    inode: int


class DatabaseFile:
    """The SQLite file the server opened, by identity: a path that no longer leads to it (deleted,
    or replaced by another file) means writes committed now would not be where the operator's
    database lives. One `stat` of the path per check."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.identity = self._identity()
        """Taken when the server opens the database (None if the file did not exist yet)."""

    @classmethod
    def of_url(cls, url: str) -> DatabaseFile | None:
        """The file of a SQLite URL; None for PostgreSQL and in-memory databases."""
        database = sqlite_file(url)
        return None if database is None else cls(database)

    def _identity(self) -> FileIdentity | None:
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        return FileIdentity(found.st_dev, found.st_ino)

    def problem(self) -> str | None:
        """None while the path still leads to the file the server opened; else what happened to it."""
        found = self._identity()
        if self.identity is None:
            self.identity = found
            return None
        if found is None:
            return f"database file {self.path} was deleted under the running server; writes refused"
        if found != self.identity:
            return f"database file {self.path} was replaced under the running server; writes refused"
        return None


class StorageHealth:
    """Whether the last write attempt of this process failed on the storage, and why.

    Set by a failed write, cleared by the next commit that wrote something (an empty commit proves
    nothing on SQLite: it succeeds on a full disk). `/_autoliq/ready` answers 503 while it is set."""

    def __init__(self, database_file: DatabaseFile | None = None) -> None:
        self.database_file = database_file
        self.fault: str | None = None
        """Why the last write attempt failed on the storage; None when it did not."""
        self.faults = 0
        """How many write attempts failed on the storage since start."""

    def refusal(self) -> str | None:
        """Why writes must be refused now without trying (the SQLite file is not the one opened)."""
        if self.database_file is None:
            return None
        return self.database_file.problem()

    def failed(self, cause: str, error: BaseException | None = None) -> None:
        """A write attempt failed on the storage: logged (with the error) when it starts failing."""
        self.faults += 1
        if self.fault is None:
            log.error("storage fault, writes answer 503 until one succeeds: %s", cause, exc_info=error)
        elif self.fault != cause:
            log.error("storage fault: %s", cause)
        self.fault = cause

    def succeeded(self) -> None:
        """A commit that wrote something succeeded."""
        if self.fault is not None:
            log.warning("storage recovered: writes succeed again (after: %s)", self.fault)
            self.fault = None
