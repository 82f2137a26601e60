"""Metrics across the workers of one `autoliq serve --workers N`, through files in a private directory.

A scrape reaches one worker; it answers its own live numbers and the others' latest snapshots. Each
worker writes its snapshot (telemetry/metrics.py `Registry.snapshot`: numbers, not text; as JSON) to
`<directory>/<pid>.json` every second (`publish_forever`), atomically: a temporary file in the same
directory, then `os.replace`, so a reader sees a whole old or a whole new file. A reader skips the
files of processes that no longer exist (and deletes them: a worker killed with `kill -9` leaves its
file), and any file it cannot read or decode. The supervisor creates the directory (mode 0700) and
removes it when it stops.

The snapshot is taken on the event loop once a second and is small next to a request's cost; the
write goes to a thread, since a disk may stall (figures: docs/performance.md, "Measured in code
review"). A missing directory reads as no other worker."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path

import msgspec

from autoliq.telemetry.metrics import REGISTRY, Registry, Snapshot

__all__ = ["PUBLISH_INTERVAL", "SharedMetrics"]

log = logging.getLogger(__name__)

PUBLISH_INTERVAL = 1.0
"""Seconds between two snapshots of one worker: the most another worker's numbers lag in a scrape
(plus the time to write them)."""


class _Published(msgspec.Struct, frozen=True):
    """One file: the writer's pid and its snapshot (decoding checks every field's type)."""

    pid: int
    snapshot: Snapshot


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(_Published)


def _alive(pid: int) -> bool:
    """Whether process `pid` exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


class SharedMetrics:
    """This process's side of the shared directory: publish its snapshot, read the others'."""

    def __init__(self, directory: Path, pid: int, registry: Registry = REGISTRY) -> None:
        self.directory = directory
        self.pid = pid
        self.registry = registry
        self.path = directory / f"{pid}.json"
        self._temporary = directory / f".{pid}.json.tmp"  # not `*.json`: readers never see it
        self._lock = threading.Lock()  # a write on a thread and `close` do not interleave
        self._closed = False
        self._failing = False

    def _encoded(self) -> bytes:
        return _ENCODER.encode(_Published(self.pid, self.registry.snapshot(str(self.pid))))

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._closed:
                return
            self._temporary.write_bytes(data)
            os.replace(self._temporary, self.path)

    def publish(self) -> None:
        """Write this process's snapshot to `<directory>/<pid>.json`, replacing the last one at once."""
        self._write(self._encoded())

    def others(self) -> list[Snapshot]:
        """The latest snapshots of the other live processes, by pid; a dead process's file is deleted,
        an unreadable or partial one skipped."""
        candidates: list[tuple[int, Path]] = []
        for path in self.directory.glob("*.json"):
            try:
                pid = int(path.stem)
            except ValueError:
                continue
            if pid > 0 and pid != self.pid:  # never 0 or negative: os.kill would signal a group
                candidates.append((pid, path))
        found: list[Snapshot] = []
        for pid, path in sorted(candidates):
            if not _alive(pid):
                log.debug("metrics of process %d, which is gone: removing %s", pid, path)
                path.unlink(missing_ok=True)
                continue
            try:
                published = _DECODER.decode(path.read_bytes())
            except FileNotFoundError:  # its process closed meanwhile
                continue
            except (OSError, msgspec.DecodeError) as exc:
                log.debug("metrics file %s skipped: %s", path, exc)
                continue
            if published.pid != pid or published.snapshot.worker != str(pid):
                log.debug("metrics file %s skipped: written for process %d", path, published.pid)
                continue
            found.append(published.snapshot)
        return found

    def render(self) -> str:
        """This process's live metrics and the other processes' latest, in text format 0.0.4."""
        return self.registry.render(worker=str(self.pid), others=self.others())

    async def publish_forever(self, interval: float = PUBLISH_INTERVAL) -> None:
        """Publish now, then every `interval` seconds until cancelled. The snapshot is taken on the
        event loop (cheap), the file written on a thread (a disk may stall); a failed
        write is logged (once until one succeeds again) and retried at the next tick."""
        while True:
            data = self._encoded()
            try:
                await asyncio.to_thread(self._write, data)
            except OSError:
                if not self._failing:
                    log.warning("could not publish metrics to %s", self.directory, exc_info=True)
                self._failing = True
            else:
                self._failing = False
            await asyncio.sleep(interval)

    def close(self) -> None:
        """Stop publishing and remove this process's file: its numbers leave the others' scrapes."""
        with self._lock:
            self._closed = True
            self._temporary.unlink(missing_ok=True)
            self.path.unlink(missing_ok=True)
