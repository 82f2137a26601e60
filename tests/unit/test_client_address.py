"""Which address is the client's (api/client_address.py): forwarding headers only from listed proxies."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from autoliq.api.client_address import ClientAddressEntry, forwarded_chain
from autoliq.config import Settings, parse_trusted_proxies


def _seen(peer: str, headers: list[tuple[bytes, bytes]], trusted: tuple[str, ...]) -> Any:
    """The scope's `client` as the app behind the entry sees it."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["client"] = scope["client"]

    scope = {"type": "http", "client": (peer, 5555), "headers": headers}
    asyncio.run(ClientAddressEntry(app, trusted)(scope, None, None))  # type: ignore[arg-type]
    return seen["client"]


XFF = [(b"x-forwarded-for", b"203.0.113.9")]


@pytest.mark.parametrize("trusted", [(), ("10.0.0.0/8",)])
def test_client_when_peer_not_a_listed_proxy_then_forwarding_headers_ignored(
    trusted: tuple[str, ...],
) -> None:
    assert _seen("127.0.0.1", XFF, trusted) == ("127.0.0.1", 5555)
    assert _seen("127.0.0.1", [(b"forwarded", b"for=203.0.113.9")], trusted) == ("127.0.0.1", 5555)


def test_client_when_peer_is_a_listed_proxy_then_its_forwarded_address_is_the_client() -> None:
    assert _seen("10.1.2.3", XFF, ("10.0.0.0/8",)) == ("203.0.113.9", 0)
    forwarded = [(b"forwarded", b'for="[2001:db8::7]:4711";proto=https')]
    assert _seen("10.1.2.3", forwarded, ("10.0.0.0/8",)) == ("2001:db8::7", 0)
    assert _seen("10.1.2.3", [], ("10.0.0.0/8",)) == ("10.1.2.3", 5555)  # no header: the peer


def test_client_when_client_prepends_a_forged_hop_then_rightmost_untrusted_address_wins() -> None:
    """The proxy appends what it saw; what the client wrote itself is to the left of it."""
    headers = [(b"x-forwarded-for", b"1.1.1.1, 198.51.100.4"), (b"x-forwarded-for", b"10.0.0.2")]

    assert _seen("10.0.0.1", headers, ("10.0.0.0/8",)) == ("198.51.100.4", 0)


def test_forwarded_chain_when_both_headers_then_x_forwarded_for_read_and_ports_dropped() -> None:
    headers = [(b"forwarded", b"for=192.0.2.1"), (b"x-forwarded-for", b"192.0.2.60:8080, 192.0.2.61")]

    assert forwarded_chain(headers) == ["192.0.2.60", "192.0.2.61"]


def test_trusted_proxies_when_parsed_then_normalized_and_bad_ones_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert parse_trusted_proxies(" 10.0.0.1, 192.168.0.0/16 ,::1,") == (
        "10.0.0.1/32",
        "192.168.0.0/16",
        "::1/128",
    )
    monkeypatch.setenv("AUTOLIQ_TRUSTED_PROXIES", "10.0.0.1,nginx")
    with pytest.raises(ValueError, match=r"AUTOLIQ_TRUSTED_PROXIES.*nginx"):
        Settings.from_env()
    assert Settings().trusted_proxies == ()
