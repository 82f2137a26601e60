"""The replay clock's arithmetic and its `clock` event's text (issue 14), without I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from autoliq.api.websocket.replay import clock_message, iso_millis
from autoliq.service.clock import SandboxClock, clock_at

SINCE = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
START = datetime(2021, 7, 28, 22, 30, tzinfo=UTC)
OFFSET_US = (START - SINCE) // timedelta(microseconds=1)


def test_clock_at_when_speed_400_then_four_seconds_pass_for_each_second_of_the_machine() -> None:
    assert clock_at(OFFSET_US, SINCE, 400, SINCE + timedelta(seconds=10)) == START + timedelta(seconds=40)


def test_clock_at_when_speed_0_then_the_clock_stays_at_its_start() -> None:
    assert clock_at(OFFSET_US, SINCE, 0, SINCE + timedelta(hours=5)) == START


def test_clock_at_when_speed_100_then_the_machine_time_plus_the_offset_whenever_stored() -> None:
    later = SINCE + timedelta(days=3, microseconds=7)
    assert clock_at(OFFSET_US, SINCE - timedelta(days=9), 100, later) == later + (START - SINCE)


def test_sandbox_clock_when_stopped_then_reads_its_start_exactly_and_set_returns_to_real_pace() -> None:
    clock = SandboxClock(START - SINCE, SINCE, speed=0)
    assert clock.now() == START and clock.speed == 0
    clock.set(START)
    assert clock.speed == 100 and clock.now() >= START


def test_clock_message_when_encoded_then_d_is_a_json_string_with_t_and_s() -> None:
    text = clock_message(START + timedelta(microseconds=123_999), 400)
    assert text == '{"e":"clock","d":"{\\"t\\":\\"2021-07-28T22:30:00.123Z\\",\\"s\\":400}"}'
    inner = json.loads(json.loads(text)["d"])
    assert inner == {"t": "2021-07-28T22:30:00.123Z", "s": 400}


def test_iso_millis_when_another_offset_then_utc_with_z() -> None:
    moment = datetime(2021, 7, 28, 17, 30, tzinfo=UTC).astimezone(ZoneInfo("America/Chicago"))
    assert iso_millis(moment) == "2021-07-28T17:30:00.000Z"
