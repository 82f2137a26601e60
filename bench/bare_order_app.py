"""The floor for `place_order.py`: `bare_app.py`'s bare ASGI app (no framework, no database), with
the request shape of `POST /v1/order/placeorder`.

For POST it reads the whole body, decodes it with msgspec into the shape of Tradovate's
`PlaceOrder` and answers HTTP 200 with a constant `PlaceOrderResult` of an accepted order
(`{"orderId":...}`). Served by uvicorn with the settings `autoliq serve` uses (uvloop, httptools,
no access log, one process), so the difference to autoliq is what autoliq itself costs.

    .venv/bin/python bench/bare_order_app.py --port 8099
"""

from __future__ import annotations

import argparse
from typing import Any

import msgspec

from bare_app import MAX_BODY, _answer, _lifespan


class PlaceOrder(msgspec.Struct):
    """The real request's shape (the fields the benchmark sends; the rest optional)."""

    action: str
    symbol: str
    orderQty: int
    orderType: str
    accountId: int | None = None
    price: float | None = None
    stopPrice: float | None = None
    timeInForce: str | None = None
    clOrdId: str | None = None


_decode = msgspec.json.Decoder(PlaceOrder).decode

ANSWER = b'{"orderId":1000001}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI app."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    if scope["method"] != "POST":
        await _answer(send, 200 if scope["method"] == "GET" else 405, b'{"ok":true}')
        return
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            await _answer(send, 413, b'{"errorText":"Request body too large"}')
            return
        chunks.append(chunk)
        more = message.get("more_body", False)
    try:
        _decode(b"".join(chunks))
    except (msgspec.DecodeError, msgspec.ValidationError):
        await _answer(send, 400, b'{"errorText":"Malformed JSON body"}')
        return
    await _answer(send, 200, ANSWER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    if not (args.host.startswith("127.") or args.host in ("localhost", "::1")):
        parser.error("loopback addresses only")
    import uvicorn

    # The same settings as `autoliq serve` (src/autoliq/cli/main.py) and bare_app.py.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
