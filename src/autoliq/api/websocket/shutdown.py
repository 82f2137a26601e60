"""Tell WebSocket clients that the server is going away before it closes their sockets.

uvicorn, on SIGINT or SIGTERM, stops accepting and then closes every open WebSocket with a bare close
frame (1012) before the app's lifespan hears anything. `announce_on_exit_signals` chains a handler in
front of uvicorn's (in the main thread; uvicorn installs its own with `signal.signal`, and restores
them on exit): the signal first queues Tradovate's `shutdown` event on every socket of this process
(`{"e":"shutdown","d":{"reasonCode":"Maintenance",...}}`), followed by `c[1001,"Server shutting
down"]`, waits until the sockets are closed (2 s at most), and only then reaches uvicorn's
handler. With `serve --workers N`, the supervisor sends SIGTERM to each worker: each one tells its
own sockets.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from litestar import Litestar

from autoliq.api.websocket.hub import Hub

__all__ = ["EXIT_SIGNALS", "announce_on_exit_signals"]

EXIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


SOCKETS_CLOSE_TIMEOUT = 2.0
"""Seconds uvicorn's own shutdown waits for the sockets to say goodbye at most (a client that does not
read is not waited for longer)."""


def announce_on_exit_signals(app: Litestar) -> Callable[[], None]:
    """Chain the announcement in front of the current SIGINT/SIGTERM handlers; returns the function
    that puts them back. Does nothing outside the main thread (signals are delivered there only).

    With sockets open, the signal first tells them (and waits until they are closed, at most
    `SOCKETS_CLOSE_TIMEOUT`), then hands the signal to uvicorn's handler: uvicorn would otherwise
    close them itself with a bare 1012 before every `c[...]` frame is out. A second signal, or one
    with no socket open, goes to uvicorn's handler at once (Ctrl-C twice still forces the exit)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}
    announcing: list[asyncio.Task[None]] = []

    def pass_on(signum: int, frame: FrameType | None) -> None:
        prior = previous.get(signum)
        if callable(prior):
            prior(signum, frame)
        else:  # SIG_DFL or SIG_IGN before us: let it act as it would have
            signal.signal(signum, prior if prior is not None else signal.SIG_DFL)
            if prior != signal.SIG_IGN:
                os.kill(os.getpid(), signum)

    async def announce_then_pass_on(hub: Hub, signum: int, frame: FrameType | None) -> None:
        try:
            hub.shut_down()
            await hub.wait_closed(SOCKETS_CLOSE_TIMEOUT)
        finally:
            pass_on(signum, frame)

    def handler(signum: int, frame: FrameType | None) -> None:
        hub = app.state.get("websocket_hub")
        if announcing or loop.is_closed() or not isinstance(hub, Hub) or not hub.open_sockets:
            pass_on(signum, frame)
            return
        # On the loop (a signal handler must not await); the signal reaches uvicorn afterwards.
        loop.call_soon_threadsafe(
            lambda: announcing.append(loop.create_task(announce_then_pass_on(hub, signum, frame)))
        )

    for signum in EXIT_SIGNALS:
        previous[signum] = signal.signal(signum, handler)

    def restore() -> None:
        for signum, prior in previous.items():
            if signal.getsignal(signum) is handler:
                signal.signal(signum, prior if prior is not None else signal.SIG_DFL)

    return restore
