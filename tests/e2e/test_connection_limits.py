"""Connection limits on the real server (uvicorn's sockets are what is tested): idle and slowloris
connections closed, 503 over the concurrency limit, the open-file limit raised at start.

Two servers for the module, on SQLite (the database plays no part): one with short timeouts, one
with a small connection limit and long timeouts (its held connections must outlive the test). A
handful of loopback sockets; every wait is bounded by GUARD (a failure, never a timing threshold).
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import LOOPBACK, ServerProcess

pytestmark = pytest.mark.slow

GUARD = 30.0
LIMIT = 6
HEALTH = b"GET /_autoliq/health HTTP/1.1\r\nHost: autoliq\r\n\r\n"
LOWERED_SOFT_LIMIT = 1024


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Idle connections closed after 1 s, request headers due within 2 s."""
    workdir = tmp_path_factory.mktemp("quick")
    env = {"AUTOLIQ_KEEP_ALIVE_SECONDS": "1", "AUTOLIQ_HEADER_TIMEOUT_SECONDS": "2"}
    with ServerProcess(f"sqlite:///{workdir / 'a.db'}", workdir, extra_env=env) as server:
        yield server


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """At most LIMIT connections; started with the open-file soft limit lowered (when the hard limit
    allows it), so that the server's raising it shows."""
    workdir = tmp_path_factory.mktemp("limited")
    env = {
        "AUTOLIQ_MAX_CONNECTIONS": str(LIMIT),
        "AUTOLIQ_KEEP_ALIVE_SECONDS": "600",
        "AUTOLIQ_HEADER_TIMEOUT_SECONDS": "600",
    }
    server = ServerProcess(f"sqlite:///{workdir / 'a.db'}", workdir, extra_env=env)
    with _soft_open_file_limit(LOWERED_SOFT_LIMIT):  # inherited by the child
        server.start()
    try:
        yield server
    finally:
        server.terminate()


@contextlib.contextmanager
def _soft_open_file_limit(soft: int) -> Iterator[None]:
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    hard = before[1]
    lowered = hard == resource.RLIM_INFINITY or hard > soft
    if lowered:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        yield
    finally:
        if lowered:
            resource.setrlimit(resource.RLIMIT_NOFILE, before)


def _connect(server: ServerProcess) -> socket.socket:
    return socket.create_connection((LOOPBACK, server.port), timeout=GUARD)


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (GUARD: a failure)."""
    received = b""
    sock.settimeout(GUARD)
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for {GUARD} s; it sent {received!r}")
    except ConnectionResetError:
        pass
    return received


def _get(server: ServerProcess) -> bytes:
    """The status line of GET /_autoliq/health on a new connection (closed after it)."""
    with _connect(server) as sock:
        sock.sendall(HEALTH)
        received = b""
        while b"\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, f"closed without an answer after {received!r}"
            received += chunk
    return received.split(b"\r\n", 1)[0]


# -- idle and slow connections --


def test_connection_when_it_never_sends_a_byte_then_closed_after_keep_alive_timeout(
    quick_server: ServerProcess,
) -> None:
    # Arrange
    with _connect(quick_server) as sock:
        # Act: send nothing
        received = _read_until_closed(sock)
    # Assert: closed, with nothing to say (uvicorn alone keeps such a connection forever)
    assert received == b""


def test_connection_when_headers_trickle_then_408_and_closed_while_others_are_served(
    quick_server: ServerProcess,
) -> None:
    # Arrange
    slow = _connect(quick_server)
    slow.sendall(b"GET /_autoliq/health HTTP/1.1\r\nHost: autoliq\r\n")
    slow.setblocking(False)
    closed = False
    answered_meanwhile = b""
    # Act: a header line every 0.2 s (bounded: 150 lines), a normal request on another connection
    for sent in range(150):
        try:
            slow.recv(1, socket.MSG_PEEK)  # readable: the server answered or closed
            closed = True
            break
        except BlockingIOError:
            pass
        try:
            slow.sendall(b"X-Slow: %d\r\n" % sent)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        if sent == 1:
            answered_meanwhile = _get(quick_server)
        time.sleep(0.2)
    slow.setblocking(True)
    received = _read_until_closed(slow) if closed else b""
    slow.close()
    # Assert
    assert closed, "a connection sending a header line every 0.2 s for 30 s was never closed"
    assert answered_meanwhile == b"HTTP/1.1 200 OK"
    assert received.startswith(b"HTTP/1.1 408 Request Timeout"), received


# -- the concurrency limit --


def test_connections_when_over_the_limit_then_503_for_requests_and_websockets_and_logged_once(
    limited_server: ServerProcess,
) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    async def websocket_status() -> int:
        try:
            async with connect(f"ws://{LOOPBACK}:{limited_server.port}/v1/websocket", open_timeout=GUARD):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    # Arrange: room left for two more connections (one of them possibly the readiness probe's)
    held = [_connect(limited_server) for _ in range(LIMIT - 3)]
    try:
        assert _get(limited_server) == b"HTTP/1.1 200 OK"
        # Act: LIMIT connections held, each new one is one too many
        held += [_connect(limited_server) for _ in range(3)]
        refused = [_get(limited_server) for _ in range(3)]
        refused_websocket = asyncio.run(websocket_status())
    finally:
        for sock in held:
            sock.close()
    # Assert: 503s, not resets; served again once the connections are gone (bounded retries)
    assert refused == [b"HTTP/1.1 503 Service Unavailable"] * 3
    assert refused_websocket == 503
    for _ in range(100):
        if _get(limited_server) == b"HTTP/1.1 200 OK":
            break
        time.sleep(0.1)
    else:
        pytest.fail("still refused after the held connections were closed")
    assert asyncio.run(websocket_status()) == 101
    lines = [line for line in limited_server.stderr_text().splitlines() if "connection limit reached" in line]
    # Four refusals: one line, and at most the 10-second summary of the other three.
    assert len([line for line in lines if "refused with 503 (more than" in line]) == 1, lines
    assert len(lines) <= 2, lines


# -- the open-file limit --


def test_server_when_started_then_open_file_soft_limit_raised_to_hard_limit(
    limited_server: ServerProcess, tmp_path: Path
) -> None:
    # Arrange
    assert limited_server.process is not None
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= LOWERED_SOFT_LIMIT:
        pytest.skip(f"the hard open-file limit ({hard}) leaves nothing to raise")
    # Act
    limits = Path(f"/proc/{limited_server.process.pid}/limits").read_text()
    # Assert: soft == hard in the server; the start-up line says so
    line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
    soft_now, hard_now = line.split()[3:5]
    assert soft_now == hard_now, line
    assert f"raised from {LOWERED_SOFT_LIMIT} to" in limited_server.stderr_text()


# -- worker processes --


def test_connection_when_workers_then_each_applies_the_header_deadline(tmp_path: Path) -> None:
    # Arrange: the protocol and its settings reach spawned workers through uvicorn's pickled config
    env = {"AUTOLIQ_HEADER_TIMEOUT_SECONDS": "1", "AUTOLIQ_KEEP_ALIVE_SECONDS": "1"}
    args = ["--workers", "2"]
    with ServerProcess(f"sqlite:///{tmp_path / 'a.db'}", tmp_path, extra_env=env, extra_args=args) as server:
        assert len(server.worker_pids()) == 2
        received = []
        for _ in range(2):
            with _connect(server) as sock:
                # Act: a request line, never the end of the headers
                sock.sendall(b"GET /_autoliq/health HTTP/1.1\r\nHost: autoliq\r\n")
                received.append(_read_until_closed(sock))
    # Assert
    assert all(r.startswith(b"HTTP/1.1 408 Request Timeout") for r in received), received
