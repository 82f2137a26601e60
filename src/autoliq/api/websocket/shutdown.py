"""Tell WebSocket clients that the server is going away before it closes their sockets.

uvicorn, on SIGINT or SIGTERM, stops accepting and then closes every open WebSocket with a bare close
frame (1012) before the app's lifespan hears anything. `announce_on_exit_signals` chains a handler in
front of uvicorn's (in the main thread; uvicorn installs its own with `signal.signal`, and restores
them on exit): the signal also queues Tradovate's `shutdown` event on every socket of this process
(`{"e":"shutdown","d":{"reasonCode":"Maintenance",...}}`), followed by `c[1001,"Server shutting
down"]`, which the sockets send within milliseconds, ahead of uvicorn's own shutdown (up to 0.1 s
later). With `serve --workers N`, the supervisor sends SIGTERM to each worker: each one tells its own
sockets.
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


def announce_on_exit_signals(app: Litestar) -> Callable[[], None]:
    """Chain the announcement in front of the current SIGINT/SIGTERM handlers; returns the function
    that puts them back. Does nothing outside the main thread (signals are delivered there only)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}

    def announce() -> None:
        hub = app.state.get("websocket_hub")
        if isinstance(hub, Hub):
            hub.shut_down()

    def handler(signum: int, frame: FrameType | None) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(announce)
        prior = previous.get(signum)
        if callable(prior):
            prior(signum, frame)
        else:  # SIG_DFL or SIG_IGN before us: let it act as it would have
            signal.signal(signum, prior if prior is not None else signal.SIG_DFL)
            if prior != signal.SIG_IGN:
                os.kill(os.getpid(), signum)

    for signum in EXIT_SIGNALS:
        previous[signum] = signal.signal(signum, handler)

    def restore() -> None:
        for signum, prior in previous.items():
            if signal.getsignal(signum) is handler:
                signal.signal(signum, prior if prior is not None else signal.SIG_DFL)

    return restore
