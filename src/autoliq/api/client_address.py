"""The client's address, as every part of the server sees it (rate limits, login penalties, logs).

`X-Forwarded-For` and `Forwarded` are anyone's to write: they are believed only when the peer (the
TCP connection's other end) is a proxy listed in AUTOLIQ_TRUSTED_PROXIES, and then only as far as
the chain goes through listed proxies: the header is read from the right (each proxy appends the
address it saw) and the first address that is not a listed proxy is the client. With no proxy
listed (the default) the headers are ignored and the peer is the client.

`ClientAddressEntry`, the app's outermost ASGI layer, writes the result into the scope's `client`
once, so that every reader (and uvicorn's access log) agrees.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

UNKNOWN = "unknown"


def client_address(scope: Scope) -> str:
    """The client's address (after `ClientAddressEntry`), or "unknown"."""
    client = scope.get("client")
    return str(client[0]) if client else UNKNOWN


class ClientAddressEntry:
    """Replaces the scope's `client` by the forwarded address when the peer is a trusted proxy."""

    def __init__(self, app: ASGIApp, trusted: Iterable[str]) -> None:
        self.app = app
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(n, strict=False) for n in trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.networks and scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if client and self._trusted(str(client[0])):
                forwarded = forwarded_chain(scope["headers"])
                if forwarded:
                    # In place: uvicorn's access line reads this same scope.
                    scope["client"] = (self._resolve(forwarded), 0)
        await self.app(scope, receive, send)

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def _resolve(self, chain: Sequence[str]) -> str:
        """The rightmost address not of a trusted proxy; the leftmost when all are trusted."""
        for address in reversed(chain):
            if not self._trusted(address):
                return address
        return chain[0]


def forwarded_chain(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """The addresses of `X-Forwarded-For` (all its lines, in order), else of `Forwarded`'s `for=`;
    an entry that is not an IP address is kept as text (it is never trusted)."""
    xff: list[str] = []
    rfc: list[str] = []
    for name, value in headers:
        if name == b"x-forwarded-for":
            xff.extend(_clean(v) for v in value.decode("latin-1").split(","))
        elif name == b"forwarded":
            for element in value.decode("latin-1").split(","):
                for pair in element.split(";"):
                    key, _, val = pair.strip().partition("=")
                    if key.lower() == "for":
                        rfc.append(_clean(val))
    chain = xff or rfc
    return [a for a in chain if a]


def _clean(raw: str) -> str:
    """One hop as an address: quotes, `[v6]` brackets and ports dropped."""
    text = raw.strip().strip('"')
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text[1:]
    if text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    return text[:64]
