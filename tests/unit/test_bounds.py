"""The time bounds and the stored clock offset's judge: any int64, however far off, is judged without
an OverflowError, and a bad one is logged once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from autoliq.domain.bounds import INT64_MAX, INT64_MIN, STORED_CLOCK_SLACK, offset_within, time_within
from autoliq.service.clock import StoredOffsets

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
US = timedelta(microseconds=1)


def _offset_to(moment: datetime) -> int:
    return (moment - NOW) // US


@pytest.mark.parametrize(
    ("offset_us", "within"),
    [
        (0, True),
        (_offset_to(datetime(2100, 1, 1, tzinfo=UTC)), True),
        (_offset_to(datetime(2000, 1, 1, tzinfo=UTC)), True),
        (_offset_to(datetime(2000, 1, 1, tzinfo=UTC)) - 1, False),
        (_offset_to(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)), False),
        (INT64_MAX, False),
        (INT64_MIN, False),
        (INT64_MAX + 1, False),
    ],
)
def test_offset_within_when_any_int64_then_judged_without_overflow(offset_us: int, within: bool) -> None:
    assert offset_within(offset_us, NOW) is within


def test_offset_within_when_slack_then_a_clock_run_past_2100_stays_taken_for_a_year() -> None:
    just_past = _offset_to(datetime(2100, 1, 1, tzinfo=UTC)) + 1
    assert not offset_within(just_past, NOW)
    assert offset_within(just_past, NOW, slack=STORED_CLOCK_SLACK)
    assert not offset_within(_offset_to(datetime(2101, 1, 3, tzinfo=UTC)), NOW, slack=STORED_CLOCK_SLACK)


def test_time_within_when_naive_then_read_as_utc() -> None:
    assert time_within(datetime(2100, 1, 1))
    assert not time_within(datetime(2100, 1, 1, 0, 0, 1))
    assert not time_within(datetime(2100, 1, 1, tzinfo=UTC) + US)


def test_stored_offsets_when_bad_then_zero_and_logged_once_per_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    offsets = StoredOffsets()
    with caplog.at_level(logging.WARNING, logger="autoliq.service.clock"):
        assert offsets.take(None, NOW) == 0
        assert offsets.take(3_600_000_000, NOW) == 3_600_000_000
        for _ in range(3):
            assert offsets.take(INT64_MAX, NOW) == 0
        assert offsets.take(INT64_MIN, NOW) == 0
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2, warned
    assert str(INT64_MAX) in warned[0] and str(INT64_MIN) in warned[1]
