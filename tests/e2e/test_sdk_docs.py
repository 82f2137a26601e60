"""docs/sdk.md's examples, run so they cannot rot: every ```python block against a real `autoliq
serve`, each in a fresh namespace holding only `BASE_URL` and `PASSWORD`; the stream examples (async
and sync) against autoliq's own `/v1/websocket` (another client locks an account while they listen)
and against the fake Tradovate WebSocket server of the SDK's unit tests (the frames as Tradovate
sends them); the market-data examples against the fake market-data socket of the SDK's unit tests
(their quotes and bars are that fake's).
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.server import ADMIN_PASSWORD, ServerProcess
from tests.unit.test_client_market_data import FakeMarketData
from tests.unit.test_client_stream import PASSWORD as FAKE_PASSWORD
from tests.unit.test_client_stream import FakeStreamServer, serving

DOC = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


MARKET_DATA = re.compile(r"\.(subscribe_(quote|dom|histogram)|stream_(chart|ticks)|get_(chart|ticks))\(")


def examples() -> tuple[list[str], list[str]]:
    """The runnable blocks against a server, and the stream blocks (the conventions and market-data
    blocks left out)."""
    blocks = PYTHON_BLOCK.findall(DOC.read_text(encoding="utf-8"))
    conventions = [b for b in blocks if b.startswith("BASE_URL =")]
    streams = [b for b in blocks if ".subscribe(" in b]
    assert len(conventions) == 1
    assert len(streams) == 2  # AsyncClient's, Client's
    others = conventions + streams + market_data_examples()
    return [b for b in blocks if b not in others], streams


def market_data_examples() -> list[str]:
    """The blocks of the "Market data" section."""
    return [b for b in PYTHON_BLOCK.findall(DOC.read_text(encoding="utf-8")) if MARKET_DATA.search(b)]


def run(block: str, base_url: str, password: str) -> str:
    """Execute one block as a script would; what it printed."""
    namespace = {"__name__": "__main__", "BASE_URL": base_url, "PASSWORD": password}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(DOC), "exec"), namespace)
    return out.getvalue()


@pytest.mark.slow
def test_sdk_docs_when_examples_run_against_a_real_server_then_each_succeeds(tmp_path: Path) -> None:
    blocks, _stream = examples()
    assert len(blocks) >= 4

    with ServerProcess(f"sqlite:///{tmp_path / 'docs.db'}", tmp_path) as server:
        printed = [run(block, server.base_url, ADMIN_PASSWORD) for block in blocks]

    assert "Demo Prop Firm" in printed[0]
    assert "LockTradingImmediately" in printed[0]


class _Lines(io.StringIO):
    """What a block prints, readable while it runs (writes and reads under a lock)."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def write(self, text: str) -> int:
        with self.lock:
            return super().write(text)

    def text(self) -> str:
        with self.lock:
            return self.getvalue()


def _run_while(block: str, base_url: str, poke: Callable[[str], None]) -> list[str]:
    """Run `block` in a thread, its prints captured; call `poke(printed so far)` every 50 ms until it
    ends (30 s at most). Its lines."""
    out, failed = _Lines(), []

    def example() -> None:
        namespace = {"__name__": "__main__", "BASE_URL": base_url, "PASSWORD": ADMIN_PASSWORD}
        try:
            exec(compile(block, str(DOC), "exec"), namespace)
        except BaseException as exc:  # reported by the test's thread
            failed.append(exc)

    real_stdout, sys.stdout = sys.stdout, out  # the block's print(); nothing else prints meanwhile
    try:
        runner = threading.Thread(target=example, daemon=True)
        runner.start()
        deadline = time.monotonic() + 30
        while runner.is_alive() and time.monotonic() < deadline:
            poke(out.text())
            runner.join(0.05)
    finally:
        sys.stdout = real_stdout
    assert not runner.is_alive(), f"the example did not end within 30 s:\n{out.text()}"
    assert failed == [], failed
    return out.text().splitlines()


def _change_after_snapshot(admin: Any, body: dict[str, Any], sent_at: list[float], so_far: str) -> None:
    """Once the example has printed its snapshot: the change, again each second until it ends."""
    if "snapshot:" in so_far and time.monotonic() - sent_at[0] > 1.0:
        answer = admin.post("/v1/accountRiskStatus/setadminautoliqaction", json=body)
        assert answer.status_code == 200, answer.text
        sent_at[0] = time.monotonic()


def _change_after_snapshot(admin: Any, body: dict[str, Any], sent_at: list[float], so_far: str) -> None:
    """Once the example has printed its snapshot: the change, again each second until it ends."""
    if "snapshot:" in so_far and time.monotonic() - sent_at[0] > 1.0:
        answer = admin.post("/v1/accountRiskStatus/setadminautoliqaction", json=body)
        assert answer.status_code == 200, answer.text
        sent_at[0] = time.monotonic()


@pytest.mark.slow
def test_sdk_docs_when_stream_examples_run_against_a_real_server_then_snapshot_then_the_lock(
    tmp_path: Path,
) -> None:
    """Each stream example listens on autoliq's `/v1/websocket`; once it has printed its snapshot,
    another client changes an account's admin action (again each second until the example has
    printed the event and left its loop)."""
    _blocks, streams = examples()
    printed = []
    with ServerProcess(f"sqlite:///{tmp_path / 'stream.db'}", tmp_path) as server:
        for block, action in zip(streams, ("LockTradingImmediately", "Normal"), strict=True):
            # Signed in before the example signs in: a user keeps 2 live sessions, a third closes the oldest.
            with server.client(server.login()["accessToken"]) as admin:
                account = admin.get("/v1/account/list").json()[0]["id"]
                body = {"accountId": account, "adminAction": action, "adminActionReasonCode": "Other",
                        "adminActionReason": "stream example"}  # fmt: skip
                change = functools.partial(_change_after_snapshot, admin, body, [0.0])
                printed.append((account, action, _run_while(block, server.base_url, change)))

    for account, action, lines in printed:
        assert len(lines) == 2, lines
        assert re.fullmatch(r"snapshot: \d+ risk statuses", lines[0]), lines
        expected = f"accountRiskStatus Updated {{'id': {account}, 'adminAction': '{action}'"
        assert lines[1].startswith(expected), lines


def test_sdk_docs_when_stream_examples_run_against_a_fake_tradovate_then_snapshot_then_event() -> None:
    _blocks, streams = examples()

    with serving(FakeStreamServer()) as base_url:
        printed = [run(stream, base_url, FAKE_PASSWORD).splitlines() for stream in streams]

    assert printed == 2 * [
        [
            "snapshot: 1 risk statuses",
            "accountRiskStatus Updated {'id': 42, 'adminAction': 'LockTradingImmediately'}",
        ]
    ]


def test_sdk_docs_when_market_data_examples_run_against_a_fake_md_socket_then_quote_chart_and_error() -> None:
    blocks = market_data_examples()
    assert len(blocks) == 2  # Client's, AsyncClient's

    with serving(FakeMarketData()) as base_url:
        printed = [run(block, base_url, FAKE_PASSWORD).splitlines() for block in blocks]

    assert printed == [
        ["bid 6000.25 offer 6000.5 last 6000.5", "2 bars, last close 6001.5", "NOPE Symbol is inaccessible"],
        [
            "best bid 6000.25 best offer 6000.5",
            "2026-12-06T14:01:00+00:00 6001.0",
            "2026-12-06T14:00:00+00:00 6000.5",
            "2026-12-06T14:01:00+00:00 6001.5",
            "history loaded",
        ],
    ]
