"""What `autoliq serve` settles before it migrates, seeds or prints anything: the port is bound (and
the socket handed to uvicorn, one process or N workers) and the database answers. Each failure is a
`StartupError`: one line naming the cause, exit 2."""

from __future__ import annotations

import socket
from typing import Any

from autoliq.adapters.sql.db_probe import DatabaseUnavailable, check_database, parse_database_url

__all__ = ["StartupError", "bind_listening_socket", "check_database_or_fail", "run_server"]


class StartupError(Exception):
    """A reason the server cannot start, said in one line."""


def bind_listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port` (as uvicorn binds one: SO_REUSEADDR, inheritable by workers);
    `StartupError` when the address is taken or cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def check_database_url(url: str) -> None:
    """`StartupError` unless `url` reads as a SQLite or PostgreSQL URL (nothing is opened)."""
    try:
        parse_database_url(url)
    except DatabaseUnavailable as exc:
        raise StartupError(str(exc)) from None


def check_database_or_fail(url: str) -> None:
    """`StartupError` unless the database answers (or, SQLite, can be created); creates nothing."""
    try:
        check_database(url)
    except DatabaseUnavailable as exc:
        raise StartupError(str(exc)) from None


def run_server(app: Any, listener: socket.socket, workers: int, server_options: dict[str, Any]) -> int:
    """Serve on the bound `listener` until stopped: `app` in this process, or (`workers` > 1, `app`
    an import string) that many worker processes sharing it. The exit code (3: the server did not
    start, as uvicorn's own)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(app, factory=workers > 1, workers=workers, **server_options)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[listener]).run()
            return 0
        server = uvicorn.Server(config)
        server.run(sockets=[listener])
    except KeyboardInterrupt:
        return 0
    finally:
        listener.close()
    return 0 if server.started else 3
