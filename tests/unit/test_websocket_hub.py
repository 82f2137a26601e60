"""The hub's fan-out without a server: sockets are `Connection`s whose sends are recorded, events are
published as the unit of work publishes them after commit. Who gets which `props` message, in which
order, and which frame strings are shared between sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from autoliq.adapters.publisher import InMemoryPublisher
from autoliq.api.websocket.hub import Connection, Hub
from autoliq.api.websocket.protocol import SEND_QUEUE_FULL, answer
from autoliq.api.websocket.sync import RISK_STATUS, RISK_STATUS_LOG, Subscription
from autoliq.config import WebSocketSettings
from autoliq.domain.events import RiskStatusChanged
from autoliq.domain.model import RiskStatus, RiskStatusLogEntry, User
from autoliq.domain.states import Actor, AdminAction, ReasonCode, Role

BOTH = frozenset({RISK_STATUS, RISK_STATUS_LOG})
WHEN = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def _user(user_id: int, org: int, role: Role = Role.ADMIN) -> User:
    return User(id=user_id, organization_id=org, name=f"u{user_id}", role=role, full_name="", email="")


def _follows(
    user: User, types: frozenset[str] = BOTH, accounts: frozenset[int] | None = None
) -> Subscription:
    return Subscription(user=user, entity_types=types, accounts=accounts, owners=None, sharding=None)


def _locked(org: int, account: int, owner: int, entry_id: int) -> RiskStatusChanged:
    """An account's lock as committed: its status and its log row `entry_id`."""
    status = RiskStatus(account).with_admin_action(AdminAction.LOCK_TRADING_IMMEDIATELY, WHEN)
    entry = RiskStatusLogEntry(entry_id, account, WHEN, status, Actor.USER, 7, ReasonCode.OTHER, "why")
    return RiskStatusChanged(org, account, owner, status, entry)


class Sockets:
    """A hub and its sockets, each with its sender task and the frames it sent."""

    def __init__(self, settings: WebSocketSettings | None = None) -> None:
        self.publisher = InMemoryPublisher()
        services: Any = SimpleNamespace(publisher=self.publisher)
        self.hub = Hub(services, settings or WebSocketSettings())
        self.sent: dict[Connection, list[str]] = {}
        self.tasks: list[asyncio.Task[None]] = []

    def open(self, subscription: Subscription | None = None) -> Connection:
        frames: list[str] = []

        async def send_text(text: str) -> None:
            frames.append(text)

        connection = self.hub.open(send_text)
        self.sent[connection] = frames
        self.tasks.append(asyncio.create_task(connection.send_loop()))
        if subscription is not None:
            self.hub.follow(connection, subscription)
        return connection

    def frames(self, connection: Connection) -> list[str]:
        """What the socket was sent after its `o` frame (heartbeats left out)."""
        frames = self.sent[connection]
        assert frames[:1] == ["o"]
        return [f for f in frames[1:] if f != "h"]

    async def settle(self) -> None:
        """Let the fan-out and the senders run (a bounded number of loop turns, never a hang)."""
        for _ in range(200):
            await asyncio.sleep(0)

    async def close(self) -> None:
        for connection in self.sent:
            self.hub.close(connection)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _messages(frames: list[str]) -> Iterator[dict[str, Any]]:
    for frame in frames:
        assert frame.startswith("a["), frame
        yield from json.loads(frame[1:])


def _props(frames: list[str]) -> list[tuple[str, int]]:
    """(entity type, log entry id) of every props message, in the order sent: a status is known by
    the log row sent with it (its `id` is the account's), so statuses show as (type, account id)."""
    out = []
    for m in _messages(frames):
        assert m["e"] == "props", m
        entity = m["d"]["entity"]
        out.append((m["d"]["entityType"], entity["id"]))
    return out


def test_fan_out_when_sockets_of_two_organizations_then_each_gets_what_it_may_see_in_commit_order() -> None:
    # Arrange: in organization 1 two admin sockets (one audience), an admin socket following only
    # the log, a trader owning account 3; an admin of organization 2
    seen: dict[str, list[str]] = {}
    shared: list[bool] = []

    async def scenario() -> None:
        sockets = Sockets()
        admin, trader, other = _user(1, 1), _user(2, 1, Role.TRADER), _user(9, 2)
        a1, a2 = sockets.open(_follows(admin)), sockets.open(_follows(admin))
        log_only = sockets.open(_follows(admin, frozenset({RISK_STATUS_LOG})))
        own = sockets.open(_follows(trader))
        theirs = sockets.open(_follows(other))
        await sockets.settle()
        # Act: one batch, the organizations' events interleaved
        sockets.publisher.publish(
            [_locked(1, 3, 2, 11), _locked(2, 10, 20, 12), _locked(1, 4, 5, 13), _locked(1, 3, 2, 14)]
        )
        await sockets.settle()
        for name, connection in (("a1", a1), ("a2", a2), ("log", log_only), ("own", own), ("other", theirs)):
            seen[name] = sockets.frames(connection)
        shared.append(all(x is y for x, y in zip(seen["a1"], seen["a2"], strict=True)))
        await sockets.close()

    asyncio.run(scenario())
    # Assert
    status, entry = RISK_STATUS, RISK_STATUS_LOG
    assert _props(seen["a1"]) == [
        (status, 3),
        (entry, 11),
        (status, 4),
        (entry, 13),
        (status, 3),
        (entry, 14),
    ]
    assert seen["a2"] == seen["a1"] and shared == [True]  # one frame string for the audience
    assert _props(seen["log"]) == [(entry, 11), (entry, 13), (entry, 14)]
    assert _props(seen["own"]) == [(status, 3), (entry, 11), (status, 3), (entry, 14)]
    assert _props(seen["other"]) == [(status, 10), (entry, 12)]


def test_fan_out_when_a_burst_of_batches_then_every_socket_gets_every_event_once_in_commit_order() -> None:
    # Arrange: admin sockets following all accounts, and one following only account 2
    seen: dict[str, list[int]] = {}

    async def scenario() -> None:
        sockets = Sockets()
        admin = _user(1, 1)
        everything = [sockets.open(_follows(admin)) for _ in range(5)]
        only_two = sockets.open(_follows(admin, accounts=frozenset({2})))
        await sockets.settle()
        # Act: batches one after the other, some before the fan-out runs, some while it runs
        entry = 0
        for burst in range(6):
            for _ in range(burst + 1):
                entry += 1
                sockets.publisher.publish([_locked(1, 1 + entry % 3, 7, entry)])
            await asyncio.sleep(0)
        await sockets.settle()
        for i, connection in enumerate(everything):
            seen[f"all{i}"] = [n for t, n in _props(sockets.frames(connection)) if t == RISK_STATUS_LOG]
        seen["two"] = [n for t, n in _props(sockets.frames(only_two)) if t == RISK_STATUS_LOG]
        await sockets.close()

    asyncio.run(scenario())
    # Assert
    for i in range(5):
        assert seen[f"all{i}"] == list(range(1, 22))
    assert seen["two"] == [n for n in range(1, 22) if 1 + n % 3 == 2]


def test_fan_out_when_a_socket_syncs_then_events_meanwhile_follow_the_snapshot_answer_in_order() -> None:
    # Arrange: a socket reading its snapshot (its events held back), beside one already synced
    seen: dict[str, list[dict[str, Any]]] = {}

    async def scenario() -> None:
        sockets = Sockets()
        admin = _user(1, 1)
        synced = sockets.open(_follows(admin))
        syncing = sockets.open()
        await sockets.settle()
        syncing.hold_events()
        sockets.hub.follow(syncing, _follows(admin))
        # Act: events committed while the snapshot is read, then the snapshot's answer
        sockets.publisher.publish([_locked(1, 3, 2, 1)])
        sockets.publisher.publish([_locked(1, 4, 2, 2)])
        await sockets.settle()
        seen["before"] = list(_messages(sockets.frames(syncing)))
        syncing.release_events(answer(200, 5, "{}"))
        await sockets.settle()
        seen["syncing"] = list(_messages(sockets.frames(syncing)))
        seen["synced"] = list(_messages(sockets.frames(synced)))
        await sockets.close()

    asyncio.run(scenario())
    # Assert: nothing before the answer; then the answer, then the events in commit order
    assert seen["before"] == []
    assert seen["syncing"][0] == {"s": 200, "i": 5, "d": {}}
    assert seen["syncing"][1:] == seen["synced"]
    assert [m["d"]["entity"]["id"] for m in seen["synced"][1::2]] == [1, 2]


# -- frames written at once, and queued behind a send that waits --


class Transport:
    """A socket's send: it takes frames at once until `full()`, then waits until `drain()`."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.fail: Exception | None = None

    async def send_text(self, text: str) -> None:
        await self.writable.wait()
        if self.fail is not None:
            raise self.fail
        self.sent.append(text)

    def full(self) -> None:
        self.writable.clear()

    def drain(self) -> None:
        self.writable.set()


async def _settle() -> None:
    for _ in range(100):  # a bounded number of loop turns, never a hang
        await asyncio.sleep(0)


def test_connection_when_nothing_waits_then_a_props_frame_is_written_in_the_callers_step() -> None:
    result: dict[str, list[str]] = {}

    async def scenario() -> None:
        transport = Transport()
        connection = Connection(transport.send_text, WebSocketSettings())
        # Act: no loop turn between the write and the check
        connection.push_event("a[1]")
        result["at once"] = list(transport.sent)

    asyncio.run(scenario())
    # Assert
    assert result["at once"] == ["a[1]"]


def test_connection_when_a_send_has_to_wait_then_what_follows_is_queued_behind_it_in_order() -> None:
    result: dict[str, list[str]] = {}

    async def scenario() -> None:
        transport = Transport()
        connection = Connection(transport.send_text, WebSocketSettings())
        sender = asyncio.create_task(connection.send_loop())
        transport.full()
        # Act: a frame whose send waits, then events and an answer while it waits
        connection.push_event("a[1]")
        connection.push_event("a[2]")
        connection.push_message("3")
        connection.push_event("a[4]")
        await _settle()
        result["while full"] = list(transport.sent)
        transport.drain()
        await _settle()
        result["drained"] = list(transport.sent)
        connection.push_event("a[5]")  # nothing waits any more: at once again
        result["then"] = list(transport.sent)
        sender.cancel()

    asyncio.run(scenario())
    # Assert: the first frame as written; those queued behind it joined, in order
    assert result["while full"] == []
    assert result["drained"] == ["a[1]", "a[2,3,4]"]
    assert result["then"] == ["a[1]", "a[2,3,4]", "a[5]"]


def test_connection_when_a_socket_cannot_take_more_then_it_alone_is_cut_off_when_its_queue_fills() -> None:
    # Arrange: a hub with a socket that reads nothing and one that reads; queues of 3 frames
    result: dict[str, Any] = {}

    async def scenario() -> None:
        services: Any = SimpleNamespace(publisher=InMemoryPublisher())
        hub = Hub(services, WebSocketSettings(send_queue_max=3))
        stuck, reading = Transport(), Transport()
        connections = [hub.open(stuck.send_text), hub.open(reading.send_text)]
        senders = [asyncio.create_task(c.send_loop()) for c in connections]
        await _settle()
        for connection in connections:
            hub.follow(connection, _follows(_user(1, 1)))
        stuck.full()
        # Act
        for entry in range(1, 7):
            hub.services.publisher.publish([_locked(1, 3, 2, entry)])
            await _settle()
        result["reading"] = [n for t, n in _props(reading.sent[1:]) if t == RISK_STATUS_LOG]
        result["stuck"] = (connections[0].done.is_set(), connections[0].close_reason)
        for sender in senders:
            sender.cancel()

    asyncio.run(scenario())
    # Assert: the reading socket got every event; the other was cut off
    assert result["reading"] == [1, 2, 3, 4, 5, 6]
    assert result["stuck"] == (True, SEND_QUEUE_FULL)


def test_connection_when_the_send_fails_then_the_socket_is_finished_as_when_its_sender_fails() -> None:
    result: dict[str, Any] = {}

    async def scenario() -> None:
        transport = Transport()
        transport.fail = ConnectionResetError("gone")
        connection = Connection(transport.send_text, WebSocketSettings())
        # Act
        connection.push_event("a[1]")
        result["finished"] = (connection.done.is_set(), connection.close_reason)

    asyncio.run(scenario())
    # Assert: finished without a close frame to send (the client is gone)
    assert result["finished"] == (True, None)


def test_heartbeats_when_many_sockets_then_each_gets_them_but_only_a_slice_is_beaten_at_once() -> None:
    # Arrange: 40 sockets; a counter of loop turns tells which `h` frames went out together
    beaten_together: dict[int, int] = {}
    beats: dict[int, int] = {}

    async def scenario() -> None:
        services: Any = SimpleNamespace(publisher=InMemoryPublisher())
        hub = Hub(services, WebSocketSettings(heartbeat_seconds=0.02, timeout_seconds=30))
        turn = 0

        async def turns() -> None:
            nonlocal turn
            while True:
                turn += 1
                await asyncio.sleep(0)

        def transport(i: int) -> Any:
            async def send_text(text: str) -> None:
                if text == "h":
                    beats[i] = beats.get(i, 0) + 1
                    beaten_together[turn] = beaten_together.get(turn, 0) + 1

            return send_text

        counter = asyncio.create_task(turns())
        connections = [hub.open(transport(i)) for i in range(40)]
        senders = [asyncio.create_task(c.send_loop()) for c in connections]
        # Act: until every socket had three heartbeats (bounded: a failure, never a hang)
        for _ in range(10_000):
            if len(beats) == 40 and min(beats.values()) >= 3:
                break
            await asyncio.sleep(0.001)
        for connection in connections:
            hub.close(connection)
        for task in [counter, *senders]:
            task.cancel()
        await asyncio.gather(counter, *senders, return_exceptions=True)

    asyncio.run(scenario())
    # Assert: everyone beaten, a tenth of the sockets at a time
    assert len(beats) == 40 and min(beats.values()) >= 3
    assert max(beaten_together.values()) == 4
