"""Readiness (`GET /_autoliq/ready`): the database answers, its migrations are the code's head, and
this process's last write attempt did not fail on the storage."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from autoliq.adapters.sql.db import alembic_config
from autoliq.adapters.sql.storage_faults import StorageHealth, describe_error

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 2.0
VERSION_TABLE = "alembic_version"  # Alembic's default; migrations/env.py keeps it


def head_revision(engine: Engine) -> str:
    """The newest migration the code knows, from the migration scripts `migrate` applies."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    heads = script.get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"expected one migration head, found {sorted(heads)}")
    return heads[0]


def database_revision(engine: Engine) -> str | None:
    """`SELECT 1`, then the database's migration revision (None before the first migration).

    Reads Alembic's version table itself: `MigrationContext` would log two INFO lines per probe."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1")).scalar_one()
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        revisions = sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
        return ",".join(revisions) or None


@dataclass(frozen=True, slots=True)
class Readiness:
    """What a readiness check found."""

    database: str
    """`ok`, or why the database did not answer, or `writes failing: <why>`."""
    revision: str | None
    """The database's migration revision (None when unknown or before the first migration)."""
    head: str
    """The code's migration head."""

    @property
    def ready(self) -> bool:
        """The database answered and is at the code's head."""
        return self.database == "ok" and self.revision == self.head

    @property
    def migrations(self) -> str:
        """The head when the database is at it, else `<database revision> != <head>`."""
        if self.revision == self.head:
            return self.head
        found = self.revision if self.database == "ok" else "unknown"
        return f"{found or 'none'} != {self.head}"


class ReadinessProbe:
    """Checks the database off the event loop, within a time limit. One check at a time: while a check
    is still running (a database that hangs), later probes wait for that one instead of piling up
    threads and pooled connections behind it."""

    def __init__(
        self,
        engine: Engine,
        *,
        timeout: float = READY_TIMEOUT_SECONDS,
        check: Callable[[Engine], str | None] = database_revision,
        storage: StorageHealth | None = None,
        probe_write: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.engine = engine
        self.timeout = timeout
        self._check = check
        self.storage = storage
        """The writer's health: while its last write attempt failed, not ready."""
        self._probe_write = probe_write
        """While that is so, one write tried per check: a success clears it with no client writing
        (a load balancer that follows readiness sends none)."""
        self._head: str | None = None
        self._running: asyncio.Future[str | None] | None = None
        self._was_ready: bool | None = None

    @property
    def head(self) -> str:
        """The code's migration head (read once: the scripts do not change while the server runs)."""
        if self._head is None:
            self._head = head_revision(self.engine)
        return self._head

    async def check(self) -> Readiness:
        """Whether the database answers within the time limit and is at the code's migration head."""
        head = self.head
        running = self._running
        loop = asyncio.get_running_loop()
        if running is None or running.done() or running.get_loop() is not loop:
            running = self._running = asyncio.ensure_future(asyncio.to_thread(self._check, self.engine))
        try:
            revision = await asyncio.wait_for(asyncio.shield(running), self.timeout)
        except TimeoutError:
            result = Readiness(f"no answer within {self.timeout:g} s", None, head)
        except Exception as exc:
            result = Readiness(describe_error(exc), None, head)
        else:
            result = Readiness("ok", revision, head)
        fault = await self._storage_fault()
        if fault is not None and result.database == "ok":
            result = Readiness(f"writes failing: {fault}", result.revision, head)
        if result.ready != self._was_ready:
            self._was_ready = result.ready
            if not result.ready:
                log.warning("not ready: database %s, migrations %s", result.database, result.migrations)
            else:
                log.info("ready: migrations at %s", result.head)
        return result

    async def _storage_fault(self) -> str | None:
        """Why writes fail now (the SQLite file gone, or the last attempt failed and a new one too)."""
        storage = self.storage
        if storage is None:
            return None
        refusal = storage.refusal()
        if refusal is not None:
            return refusal
        if storage.fault is not None and self._probe_write is not None:
            try:
                await asyncio.wait_for(self._probe_write(), self.timeout)
            except Exception:  # the writer recorded why in `storage.fault`
                log.debug("readiness: the probe write failed", exc_info=True)
        return storage.fault
