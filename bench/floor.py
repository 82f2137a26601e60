"""What the two floor apps share (`floor_admin_app.py`, `floor_order_app.py`): the least a CPython
server does for an endpoint's durable work, with none of autoliq's layers.

- uvicorn with `autoliq serve`'s settings (uvloop, httptools, no access log), a raw ASGI callable;
- the bearer token looked up in a dict (autoliq caches its callers the same way), the body decoded
  with msgspec into the request's shape, then the app's own checks (`check`);
- the request queued to one writer thread that commits batches of up to `BATCH` (group commit, as
  autoliq does) on a SQLite file in WAL mode with `synchronous=FULL` (fsync before any answer),
  then wakes the event loop once per batch;
- the answer: the bytes the app's `commit` built from the committed rows.

A floor leaves out what autoliq does beyond the durable work (each app's docstring lists it), so
autoliq cannot be cheaper than its floor: the gap between a floor and `bare_app.py` is what the
durable work costs on CPython; the gap between autoliq and the floor is what autoliq's features and
layers cost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from bare_app import read_body

TOKEN = "floor-token"  # the one caller: organization 1
ORGANIZATION = 1
BATCH = 256

Job = tuple[Any, "asyncio.Future[bytes]"]
Commit = Callable[[sqlite3.Connection, str, list[Any]], list[bytes]]
"""(connection, now as ISO text, the batch's decoded requests) -> one answer per request, in a
transaction the writer opened and commits."""


def utc_now_text() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Writer:
    """One thread, one SQLite connection; commits the queued requests in batches of up to BATCH."""

    def __init__(
        self, path: str, schema: Sequence[str], seed: Callable[[sqlite3.Connection], None], commit: Commit
    ):
        self.jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            self.db.execute(f"PRAGMA {pragma}")
        for statement in schema:
            self.db.execute(statement)
        self.db.execute("BEGIN")
        seed(self.db)
        self.db.execute("COMMIT")
        self.commit = commit
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self.run, name="floor-writer", daemon=True)

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.thread.start()

    def run(self) -> None:
        jobs = self.jobs
        while True:
            first = jobs.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < BATCH:
                try:
                    job = jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    jobs.put(None)
                    break
                batch.append(job)
            self.db.execute("BEGIN IMMEDIATE")
            answers = self.commit(self.db, utc_now_text(), [request for request, _ in batch])
            self.db.execute("COMMIT")
            assert self.loop is not None
            self.loop.call_soon_threadsafe(_resolve, batch, answers)


def _resolve(batch: list[Job], answers: list[bytes]) -> None:
    for (_, future), answer in zip(batch, answers, strict=True):
        if not future.done():
            future.set_result(answer)


def _start(status: int, body: bytes) -> dict[str, Any]:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }


async def _answer(send: Any, status: int, body: bytes) -> None:
    await send(_start(status, body))
    await send({"type": "http.response.body", "body": body})


def make_app(
    writer: Writer,
    path: str,
    decode: Callable[[bytes], Any],
    check: Callable[[Any, int], bytes | None],
) -> Callable[..., Any]:
    """The ASGI app: POST `path` with the floor's token; `check(request, organization)` answers an
    error body (HTTP 200, as Tradovate answers its `errorText`s) or None to queue the request."""
    callers = {b"Bearer " + TOKEN.encode(): ORGANIZATION}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    writer.start()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    writer.jobs.put(None)
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if kind != "http":
            return
        if scope["method"] != "POST":
            await _answer(send, 200 if scope["method"] == "GET" else 405, b'{"ok":true}')
            return
        organization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                organization = callers.get(value)
                break
        if organization is None:
            await _answer(send, 401, b'{"errorText":"Access is denied"}')
            return
        if scope["path"] != path:
            await _answer(send, 404, b'{"errorText":"Not found"}')
            return
        body = await read_body(receive, send)
        if body is None:
            return
        try:
            request = decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            await _answer(send, 400, b'{"errorText":"Malformed JSON body"}')
            return
        refused = check(request, organization)
        if refused is not None:
            await _answer(send, 200, refused)
            return
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        writer.jobs.put((request, future))
        body = await future
        await send(_start(200, body))
        await send({"type": "http.response.body", "body": body})

    return app


def in_marks(values: Iterable[Any]) -> tuple[str, list[Any]]:
    """`(?,?,...)` and the distinct values, for `WHERE x IN (...)`."""
    distinct = list(dict.fromkeys(values))
    return ",".join("?" * len(distinct)), distinct


def serve(
    description: str | None,
    build: Callable[[str, int], tuple[Writer, Callable[..., Any]]],
) -> None:
    """The command line of a floor app (`--host`, loopback only, `--port`, `--accounts`,
    `--database`): `build(path, accounts)` makes its writer and app; uvicorn serves the app."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8098)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--database", default=None, help="the SQLite file (default: a new temporary one)")
    args = parser.parse_args()
    if not (args.host.startswith("127.") or args.host in ("localhost", "::1")):
        parser.error("loopback addresses only")
    if not 1 <= args.accounts <= 10_000_000:
        parser.error("--accounts must be between 1 and 10,000,000")
    if args.database and os.path.exists(args.database):
        parser.error(f"{args.database} exists: a floor creates its own database")
    import uvicorn

    with tempfile.TemporaryDirectory(prefix="autoliq-floor-") as tmp:
        _, app = build(args.database or str(Path(tmp) / "floor.db"), args.accounts)
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=False,
            loop="uvloop",
            http="httptools",
            proxy_headers=False,
            timeout_graceful_shutdown=5,
        )
