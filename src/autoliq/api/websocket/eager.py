"""Run a coroutine at once, in the caller's own step, and leave the rest to a task only if it waits.

The hub writes one frame to a thousand sockets: awaiting each socket's ASGI `send` from its own
task costs a task switch per socket, although the send almost never waits (uvicorn's waits only
while the socket's transport buffer is full). `start_now` runs the send in the caller's step; when
it does have to wait, the awaitable it returns finishes it from another task (the socket's sender),
exactly as if that task had awaited the coroutine from the start: whatever the coroutine yields
(the future it waits for) goes to that task, whatever that task is sent or thrown (a result, a
cancellation) goes back to the coroutine.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any


def start_now(coro: Coroutine[Any, Any, None]) -> Rest | None:
    """Run `coro` until it ends or first waits. None when it ended (an exception it raised is
    raised here); else the `Rest` of it, for a task to await."""
    try:
        waiting = coro.send(None)
    except StopIteration:
        return None
    return Rest(coro, waiting)


class Rest:
    """A coroutine stopped at its first wait (`waiting`: what it yielded, the future it waits for);
    awaiting this finishes it."""

    __slots__ = ("_coro", "_waiting")

    def __init__(self, coro: Coroutine[Any, Any, None], waiting: Any) -> None:
        self._coro = coro
        self._waiting = waiting

    def close(self) -> None:
        """Abandon it (the socket is gone): the coroutine is closed where it waits."""
        self._coro.close()

    def __await__(self) -> Generator[Any, Any, None]:
        # The awaiting task's side of the protocol `yield from` speaks, from the point where the
        # coroutine already yielded once.
        coro, waiting = self._coro, self._waiting
        while True:
            try:
                sent = yield waiting
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    waiting = coro.throw(exc)
                except StopIteration:
                    return
                continue
            try:
                waiting = coro.send(sent)
            except StopIteration:
                return
