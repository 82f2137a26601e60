"""docs/sdk.md's examples, run so they cannot rot: every ```python block against a real `autoliq
serve`, each in a fresh namespace holding only `BASE_URL` and `PASSWORD`; the stream examples (async
and sync) against the fake Tradovate WebSocket server of the SDK's unit tests, and the market-data
examples against the fake market-data socket of the SDK's unit tests (autoliq's own `/v1/websocket`
is not used yet).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

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
