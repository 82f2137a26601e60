"""The floor for `ws_fanout.py`: a bare ASGI WebSocket broadcaster (no framework, no database).

Sockets at any path are accepted and sent `o`; every request frame (`endpoint\\nid\\nquery\\nbody`) is
answered `a[{"s":200,"i":<id>}]` (so `authorize` and `user/syncrequest` look done); `[]` is ignored.
`POST /broadcast` with `{"adminAction": "..."}` answers 200 at once and then sends every open socket
one frame the size and shape of autoliq's props frame for a lock (accountRiskStatus `Updated` plus
accountRiskStatusLog `Created`), one socket after the other from one task; with `{"price": P}`
instead, a frame the size and shape of autoliq's md quote at last price P (`md_fanout.py`). Served
by uvicorn with `autoliq serve`'s settings (uvloop, httptools, no access log, one process), so what
autoliq adds over it is the REST write, the hub, and Litestar's WebSocket plumbing.

    .venv/bin/python bench/bare_ws_app.py --port 8099
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bare_app import serve

SOCKETS: set[Any] = set()
TASKS: set[asyncio.Task[None]] = set()

FRAME = (
    'a[{{"e":"props","d":{{"entityType":"accountRiskStatus","eventType":"Updated","entity":{{"id":1,'
    '"adminAction":"{action}","userTriggeredLiqOnly":false,"adminTimestamp":"2026-11-24T10:59:24.464459Z"}}}}}},'
    '{{"e":"props","d":{{"entityType":"accountRiskStatusLog","eventType":"Created","entity":{{"id":1001,'
    '"accountId":1,"timestamp":"2026-11-24T10:59:24.464459Z","adminAction":"{action}",'
    '"userTriggeredLiqOnly":false,"adminTimestamp":"2026-11-24T10:59:24.464459Z"}}}}}}]'
)

QUOTE_FRAME = (
    'a[{"e":"md","d":{"quotes":[{"timestamp":"2026-11-24T15:00:00.000Z","contractId":1202612,"entries":'
    '{"Bid":{"price":4999.75,"size":10},"Offer":{"price":5000.25,"size":10},"Trade":{"price":{price},'
    '"size":0},"TotalTradeVolume":{"size":0},"OpeningPrice":{"price":5000.0},"HighPrice":{"price":5000.0},'
    '"LowPrice":{"price":5000.0},"SettlementPrice":{"price":5000.0},"OpenInterest":{"size":0}}}]}}]'
)


async def _broadcast(text: str) -> None:
    for send in list(SOCKETS):
        try:
            await send({"type": "websocket.send", "text": text})
        except Exception:
            SOCKETS.discard(send)


async def _websocket(receive: Any, send: Any) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": "o"})
    SOCKETS.add(send)
    try:
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            text = message.get("text") or ""
            parts = text.split("\n", 2)
            if len(parts) >= 2 and parts[1].strip().isdigit():
                await send({"type": "websocket.send", "text": f'a[{{"s":200,"i":{int(parts[1])}}}]'})
    finally:
        SOCKETS.discard(send)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await _websocket(receive, send)
        return
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        more = message.get("more_body", False)
    status, answer = 200, b'{"ok":true}'
    if scope["method"] == "POST" and scope["path"] == "/broadcast":
        asked = json.loads(body or b"{}")
        if "price" in asked:
            frame = QUOTE_FRAME.replace("{price}", json.dumps(asked["price"]))
        else:
            frame = FRAME.format(action=str(asked.get("adminAction", "Normal")))
        task = asyncio.create_task(_broadcast(frame))
        TASKS.add(task)
        task.add_done_callback(TASKS.discard)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


if __name__ == "__main__":
    serve(app, __doc__, "bare_ws_app:app")
