"""The floor for `place_order.py`: `bare_app.py`'s bare ASGI app (no framework, no database), with
the request shape of `POST /v1/order/placeorder`.

For POST it reads the whole body, decodes it with msgspec into the shape of Tradovate's
`PlaceOrder` and answers HTTP 200 with a constant `PlaceOrderResult` of an accepted order
(`{"orderId":...}`). Served by uvicorn with the settings `autoliq serve` uses (uvloop, httptools,
no access log, one process; `--workers N`: N uvicorn worker processes on the one port), so the
difference to autoliq is what autoliq itself costs.

    .venv/bin/python bench/bare_order_app.py --port 8099
"""

from __future__ import annotations

import msgspec

from bare_app import make_app, serve


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

app = make_app(_decode, ANSWER)


def main() -> None:
    serve(app, __doc__, "bare_order_app:app")


if __name__ == "__main__":
    main()
