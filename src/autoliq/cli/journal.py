"""The journal of a bulk admin action: JSON lines, appended and fsync'd as accounts are settled.

    {"run": {"command": "lock", "adminAction": "LockTradingImmediately", "url": "http://...", ...}}
    {"accountId": 42, "outcome": "done", "adminAction": "LockTradingImmediately", "time": "..."}
    {"accountId": 43, "outcome": "skipped", "adminAction": "LockTradingImmediately", "time": "...",
     "detail": "already LockTradingImmediately"}
    {"accountId": 44, "outcome": "failed", "adminAction": "LockTradingImmediately", "time": "...",
     "error": "Not found"}

Each run appends one `run` line, then one line per account as soon as its outcome is known (`done`
and `skipped` lines are written only once the account's status was read back showing the action).
A resumed run reads the journal back: an account whose last line is `done` or `skipped` is verified
and is not touched again; a `failed` one is tried again. A last line cut short by a kill (no newline,
or not JSON) is dropped, and cut off the file before anything is appended; any other line that is
not a JSON object makes the journal unreadable (`JournalError`): nothing is guessed.

Lines are written and fsync'd by a worker thread in batches (whatever arrived while the previous
batch was being made durable), so a run never waits for the disk between accounts. A line not yet
durable when the process dies is harmless: the resumed run reads the account's status first and
skips it when the action is already there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

__all__ = [
    "VERIFIED_OUTCOMES",
    "JournalError",
    "JournalExistsError",
    "JournalState",
    "JournalWriter",
    "read_journal",
]

VERIFIED_OUTCOMES = frozenset({"done", "skipped"})
"""Outcomes that mean: read back in the requested state."""


class JournalError(Exception):
    """The journal cannot be used: unreadable, or written by another kind of run."""


class JournalExistsError(JournalError):
    """A journal is already there and the run was not told to resume it."""

    def __init__(self, path: Path, state: JournalState) -> None:
        counts = state.counts()
        super().__init__(
            f"journal {path} exists (an earlier run: {counts['verified']} verified, "
            f"{counts['failed']} failed): give --resume to continue it without repeating the verified "
            "accounts, or --journal another path (or delete it) to start afresh"
        )
        self.path = path
        self.state = state


@dataclass
class JournalState:
    """What a journal says: its runs, and the last outcome line of each account."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    outcomes: dict[int, dict[str, Any]] = field(default_factory=dict)
    lines: int = 0
    """Complete lines read (run lines included)."""
    torn_bytes: int = 0
    """Length of a last line cut short (not counted in `lines`); 0 when the file ends cleanly."""
    size: int = 0
    """File size up to the end of the last complete line."""

    def verified(self) -> set[int]:
        """Accounts whose last line is `done` or `skipped`."""
        return {a for a, line in self.outcomes.items() if line.get("outcome") in VERIFIED_OUTCOMES}

    def counts(self) -> dict[str, int]:
        """`verified` and `failed` accounts, by their last line."""
        verified = len(self.verified())
        return {"verified": verified, "failed": len(self.outcomes) - verified}

    def check_compatible(self, run: Mapping[str, Any]) -> None:
        """`JournalError` unless the journal's first run asked the same action (and, for `autoliq
        limits`, the same limits) on the same server."""
        if not self.runs:
            return
        first = self.runs[0]
        for key in ("adminAction", "limits", "url"):
            if first.get(key) != run.get(key):
                raise JournalError(
                    f"the journal was written by a run with {key} {first.get(key)!r}, this run has "
                    f"{run.get(key)!r}: give another --journal"
                )


def read_journal(path: Path) -> JournalState:
    """Read a journal (missing file: an empty state); a torn last line is noted, not read."""
    state = JournalState()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return state
    offset = 0
    number = 0
    while offset < len(data):
        end = data.find(b"\n", offset)
        last = end == -1
        raw = data[offset:] if last else data[offset:end]
        number += 1
        if not last and not raw.strip():
            offset = end + 1
            state.size = offset
            continue
        try:
            line = json.loads(raw)
            if not isinstance(line, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            if last or _only_blank_after(data, end):
                # A kill in the middle of a write leaves at most one partial line, at the end.
                state.torn_bytes = len(data) - offset
                break
            raise JournalError(f"{path}: line {number} is not a JSON object ({exc})") from None
        if last:
            # Complete JSON but no newline: the newline may have been the part that was lost.
            state.torn_bytes = len(data) - offset
            break
        _take(state, line, path, number)
        state.lines += 1
        offset = end + 1
        state.size = offset
    return state


def _only_blank_after(data: bytes, end: int) -> bool:
    return not data[end + 1 :].strip()


def _take(state: JournalState, line: dict[str, Any], path: Path, number: int) -> None:
    if "run" in line:
        if isinstance(line["run"], dict):
            state.runs.append(line["run"])
        return
    account_id = line.get("accountId")
    if not isinstance(account_id, int) or isinstance(account_id, bool):
        raise JournalError(f"{path}: line {number} has no integer accountId")
    state.outcomes[account_id] = line


def default_path(command: str, key: Mapping[str, Any]) -> Path:
    """`./autoliq-<command>-<digest of key>.jsonl`: the same command line finds the same journal."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return Path(f"autoliq-{command}-{digest}.jsonl")


def verified_before(path: Path, run: Mapping[str, Any], *, resume: bool, dry_run: bool = False) -> set[int]:
    """The accounts an existing journal shows verified, for a run that resumes it (`JournalError`
    when its first run asked something else); a journal that exists without `resume` is a
    `JournalExistsError`, except for a dry run, which sends nothing (then none are verified)."""
    if not path.exists():
        return set()
    state = read_journal(path)
    if resume:
        state.check_compatible(run)
        return state.verified()
    if dry_run:
        return set()
    raise JournalExistsError(path, state)


def utc_stamp() -> str:
    """Now, UTC, ISO 8601 with milliseconds and `Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JournalWriter:
    """Appends lines to a journal; `record` never blocks, a thread writes and fsyncs in batches.

    Open it with `JournalWriter.open`, `start()` it inside the event loop, and `await aclose()` at
    the end (which writes whatever is still pending, even after the writer task was cancelled).
    """

    def __init__(self, path: Path, handle: IO[bytes]) -> None:
        self.path = path
        self._handle = handle
        self._pending: list[bytes] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @classmethod
    def open(cls, path: Path, run: Mapping[str, Any], *, resume: bool) -> tuple[JournalWriter, JournalState]:
        """Open (or create) the journal and append this run's `run` line, durably.

        An existing journal needs `resume` (`JournalExistsError` otherwise) and a compatible first
        run (`JournalError`); its torn last line, if any, is cut off first.
        """
        state = read_journal(path)
        existed = path.exists()
        if existed and not resume:
            raise JournalExistsError(path, state)
        state.check_compatible(run)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("ab")
        try:
            if state.torn_bytes:
                handle.truncate(state.size)
            handle.write(_encode({"run": dict(run)}))
            handle.flush()
            os.fsync(handle.fileno())
            if not existed:
                _fsync_directory(path.parent)
        except BaseException:
            handle.close()
            raise
        return cls(path, handle), state

    def start(self) -> None:
        """Start the writer task (inside the running event loop)."""
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="journal-writer")

    def record(self, line: Mapping[str, Any]) -> None:
        """Queue one line; it is written and fsync'd with the next batch."""
        self._pending.append(_encode(dict(line)))
        if self._wake is not None:
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending, []
                await asyncio.to_thread(self._write, batch)
            if self._closing:
                return

    def _write(self, batch: list[bytes]) -> None:
        self._handle.write(b"".join(batch))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    async def aclose(self) -> None:
        """Write what is pending, fsync, close."""
        self._closing = True
        if self._task is not None and not self._task.done():
            assert self._wake is not None
            self._wake.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.close()

    def close(self) -> None:
        """Write what is pending synchronously, fsync, close (also after an interrupted writer)."""
        if self._handle.closed:
            return
        try:
            if self._pending:
                batch, self._pending = self._pending, []
                self._write(batch)
        finally:
            self._handle.close()


def _encode(line: dict[str, Any]) -> bytes:
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _fsync_directory(directory: Path) -> None:
    """Make a new file's directory entry durable too (best effort: not every system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
