"""`eager.start_now`: a coroutine run in the caller's step, and finished by a task only when it had to
wait, as if that task had awaited it from the start (its result, its exceptions, its cancellation)."""

from __future__ import annotations

import asyncio

import pytest

from autoliq.api.websocket.eager import Rest, start_now


def test_start_now_when_the_coroutine_never_waits_then_done_in_the_callers_step() -> None:
    # Arrange
    log: list[str] = []

    async def scenario() -> object:
        writable = asyncio.Event()
        writable.set()

        async def send() -> None:
            await writable.wait()  # an await that does not wait (uvicorn's, while it can write)
            log.append("sent")

        # Act: no await between the start and the check
        rest = start_now(send())
        log.append("after")
        return rest

    rest = asyncio.run(scenario())
    # Assert
    assert rest is None
    assert log == ["sent", "after"]


def test_start_now_when_the_coroutine_raises_before_waiting_then_raised_to_the_caller() -> None:
    async def send() -> None:
        raise ConnectionResetError("gone")

    async def scenario() -> None:
        start_now(send())

    with pytest.raises(ConnectionResetError, match="gone"):
        asyncio.run(scenario())


def test_start_now_when_the_coroutine_waits_then_a_task_awaiting_the_rest_finishes_it() -> None:
    # Arrange: a send that waits for its transport twice, then gets a value from a future
    log: list[object] = []

    async def scenario() -> None:
        writable = asyncio.Event()
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def send() -> None:
            log.append("started")
            await writable.wait()
            log.append("writable")
            await asyncio.sleep(0)
            log.append(await answer)

        rest = start_now(send())
        assert rest is not None
        assert log == ["started"]
        # Act
        finisher = asyncio.create_task(_awaited(rest))
        await asyncio.sleep(0)
        writable.set()
        await asyncio.sleep(0)
        answer.set_result(42)
        await finisher

    asyncio.run(scenario())
    # Assert
    assert log == ["started", "writable", 42]


def test_start_now_when_the_coroutine_fails_after_waiting_then_the_finishing_task_raises_it() -> None:
    async def scenario() -> None:
        writable = asyncio.Event()

        async def send() -> None:
            await writable.wait()
            raise ConnectionResetError("gone")

        rest = start_now(send())
        assert rest is not None
        finisher = asyncio.create_task(_awaited(rest))
        writable.set()
        await finisher

    with pytest.raises(ConnectionResetError, match="gone"):
        asyncio.run(scenario())


def test_start_now_when_the_finishing_task_is_cancelled_then_so_is_the_coroutine_where_it_waits() -> None:
    # Arrange
    log: list[str] = []

    async def scenario() -> bool:
        async def send() -> None:
            try:
                await asyncio.Event().wait()  # never writable
            except asyncio.CancelledError:
                log.append("cancelled")
                raise
            finally:
                log.append("cleaned up")

        rest = start_now(send())
        assert rest is not None
        finisher = asyncio.create_task(_awaited(rest))
        await asyncio.sleep(0)
        # Act
        finisher.cancel()
        await asyncio.gather(finisher, return_exceptions=True)
        return finisher.cancelled()

    cancelled = asyncio.run(scenario())
    # Assert
    assert cancelled
    assert log == ["cancelled", "cleaned up"]


def test_start_now_when_the_rest_is_abandoned_then_closed_the_coroutine_cleans_up() -> None:
    log: list[str] = []

    async def scenario() -> None:
        async def send() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                log.append("cleaned up")

        rest = start_now(send())
        assert rest is not None
        # Act
        rest.close()

    asyncio.run(scenario())
    # Assert
    assert log == ["cleaned up"]


async def _awaited(rest: Rest) -> None:
    await rest
