"""The floor for `set_admin_action.py`: a bare ASGI app (no framework, no database).

For POST it reads the whole body, decodes it with msgspec into the shape of the real
`setadminautoliqaction` request and answers a constant JSON body the size of the real answer,
HTTP 200. It is served by uvicorn with the settings `autoliq serve` uses (uvloop, httptools, no
access log, one process; `--workers N`: N uvicorn worker processes on the one port, as `autoliq
serve --workers N`), so the difference to autoliq is what autoliq itself costs.

    .venv/bin/python bench/bare_app.py --port 8099
    .venv/bin/python bench/bare_app.py --port 8099 --workers 2
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec

MAX_BODY = 1024 * 1024  # autoliq's default AUTOLIQ_MAX_BODY_BYTES


class SetAdminAutoLiqAction(msgspec.Struct):
    """The real request's shape."""

    accountId: int
    adminAction: str
    adminActionReasonCode: str
    adminActionReason: str


_decode = msgspec.json.Decoder(SetAdminAutoLiqAction).decode

ANSWER = (
    b'{"accountRiskStatus":{"id":1,"adminAction":"LockTradingImmediately",'
    b'"userTriggeredLiqOnly":false,"adminTimestamp":"2026-11-24T10:59:24.464459Z"}}'
)


def _start(status: int, body: bytes) -> dict[str, Any]:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }


async def _answer(send: Any, status: int, body: bytes) -> None:
    await send(_start(status, body))
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Any, send: Any) -> None:
    while True:  # bounded by the server: it sends startup, then shutdown
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Any, send: Any) -> bytes | None:
    """The whole request body, or None when the client went away or the body passed `MAX_BODY`
    (then answered 413). Also used by floor.py."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            await _answer(send, 413, b'{"errorText":"Request body too large"}')
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def make_app(decode: Callable[[bytes], Any], answer: bytes) -> Callable[..., Awaitable[None]]:
    """The ASGI app: for POST, reads the whole body, decodes it with `decode` (msgspec: a
    `DecodeError` or `ValidationError` is a 400) and answers `answer`, HTTP 200. (Also used by
    bare_order_app.py.)"""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _answer(send, 200 if scope["method"] == "GET" else 405, b'{"ok":true}')
            return
        body = await read_body(receive, send)
        if body is None:
            return
        try:
            decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            await _answer(send, 400, b'{"errorText":"Malformed JSON body"}')
            return
        await _answer(send, 200, answer)

    return app


app = make_app(_decode, ANSWER)


def serve(asgi_app: Callable[..., Awaitable[None]], description: str | None, import_string: str) -> None:
    """The command line of a bare app (`--host`, `--port`, loopback only, `--workers`,
    `--log-level`): serve `asgi_app`; with `--workers N` > 1, uvicorn's supervisor starts N worker
    processes on the one port, each importing `import_string` ("module:attribute", found in this
    directory) as `autoliq serve --workers N` does with its app factory."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (1: this one)")
    parser.add_argument("--log-level", default="warning", help="uvicorn's (info: a line per worker start)")
    args = parser.parse_args()
    if not (args.host.startswith("127.") or args.host in ("localhost", "::1")):
        parser.error("loopback addresses only")
    if not 1 <= args.workers <= 64:
        parser.error("--workers must be between 1 and 64")
    import uvicorn

    # The same settings as `autoliq serve` (src/autoliq/cli/main.py).
    settings: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        "access_log": False,
        "loop": "uvloop",
        "http": "httptools",
        "timeout_graceful_shutdown": 5,
    }
    if args.workers > 1:
        uvicorn.run(
            import_string, workers=args.workers, app_dir=str(Path(__file__).resolve().parent), **settings
        )
    else:
        uvicorn.run(asgi_app, **settings)


def main() -> None:
    serve(app, __doc__, "bare_app:app")


if __name__ == "__main__":
    main()
