"""The WebSocket's frame reading as real Tradovate clients write frames, and the authorize answer's own
frame (no server: the protocol functions and one socket's send queue)."""

from __future__ import annotations

import asyncio

import pytest

from autoliq.api.websocket.hub import Connection
from autoliq.api.websocket.protocol import RequestFrame, authorize_token, parse_request
from autoliq.config import WebSocketSettings

TOKEN = "Zx9_token-Of-43-characters-0123456789abcdef"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(TOKEN, id="bare"),
        pytest.param(f'"{TOKEN}"', id="json-quoted (JS tutorials, JSON.stringify)"),
        pytest.param(f'"{TOKEN}"\n', id="json-quoted with a newline (Go client)"),
        pytest.param(f'  "{TOKEN}" \r\n\n', id="json-quoted with blanks around"),
        pytest.param(f"{TOKEN}\n\n", id="bare with newlines"),
    ],
)
def test_authorize_token_when_bare_or_json_quoted_with_whitespace_then_the_token(body: str) -> None:
    # Act / Assert
    assert authorize_token(body) == TOKEN


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(f'"{TOKEN}', id="unterminated"),
        pytest.param(f'"{TOKEN}"x', id="text after the string"),
        pytest.param('"\\q"', id="bad escape"),
        pytest.param('""', id="empty string"),
        pytest.param("", id="nothing"),
        pytest.param(" \n", id="blanks only"),
    ],
)
def test_authorize_token_when_quoted_text_does_not_decode_or_is_empty_then_none(body: str) -> None:
    # Act / Assert
    assert authorize_token(body) is None


def test_parse_request_when_query_and_body_are_undefined_then_both_empty() -> None:
    # Arrange: a JavaScript client's `${url}\n${id}\n${query}\n${JSON.stringify(body)}` with neither
    text = "account/list\n3\nundefined\nundefined"
    # Act / Assert
    assert parse_request(text) == RequestFrame("account/list", 3, "", "")


def test_parse_request_when_body_ends_with_a_newline_then_body_kept_for_the_json_decoder() -> None:
    # Act
    frame = parse_request('user/syncrequest\n4\n\n{"users":[1]}\n')
    # Assert
    assert frame == RequestFrame("user/syncrequest", 4, "", '{"users":[1]}\n')


def test_connection_when_authorize_answer_queued_with_others_then_it_is_sent_in_a_frame_of_its_own() -> None:
    # Arrange: the authorize answer and two later answers wait together before the sender runs
    sent: list[str] = []

    async def scenario() -> None:
        async def send_text(text: str) -> None:
            sent.append(text)

        connection = Connection(send_text, WebSocketSettings())
        connection.push_message('{"s":200,"i":0}', alone=True)
        connection.push_message('{"s":200,"i":1,"d":[]}')
        connection.push_message('{"s":200,"i":2,"d":[]}')
        # Act
        sender = asyncio.create_task(connection.send_loop())
        for _ in range(100):  # the queue drains within a few loop turns; bounded, never a hang
            await asyncio.sleep(0)
        sender.cancel()

    asyncio.run(scenario())
    # Assert: alone first; the later answers still share a frame
    assert sent == ['a[{"s":200,"i":0}]', 'a[{"s":200,"i":1,"d":[]},{"s":200,"i":2,"d":[]}]']
