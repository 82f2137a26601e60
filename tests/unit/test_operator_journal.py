"""The bulk-action journal (`autoliq.cli.journal`): what a resumed run skips, torn and corrupt lines."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from autoliq.cli.journal import JournalError, JournalExistsError, JournalWriter, read_journal

RUN = {"command": "lock", "adminAction": "LockTradingImmediately", "url": "http://127.0.0.1:8080"}


def write_lines(path: Path, *lines: dict[str, object], tail: str = "") -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + tail)


def outcome(account_id: int, what: str) -> dict[str, object]:
    return {"accountId": account_id, "outcome": what, "adminAction": "LockTradingImmediately"}


def test_journal_when_read_then_last_line_per_account_decides_and_only_done_or_skipped_are_verified(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.jsonl"
    write_lines(
        path,
        {"run": RUN},
        outcome(1, "done"),
        outcome(2, "failed"),
        outcome(3, "skipped"),
        {"run": RUN},
        outcome(2, "done"),  # failed in the first run, done when resumed
        outcome(4, "failed"),
    )

    state = read_journal(path)

    assert state.verified() == {1, 2, 3}
    assert state.counts() == {"verified": 3, "failed": 1}
    assert len(state.runs) == 2
    assert state.torn_bytes == 0


def test_journal_when_last_line_torn_by_a_kill_then_ignored_and_cut_off_before_appending(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.jsonl"
    write_lines(path, {"run": RUN}, outcome(1, "done"), tail='{"accountId": 2, "outc')

    state = read_journal(path)

    assert state.verified() == {1}
    assert state.torn_bytes == len('{"accountId": 2, "outc')

    async def append() -> None:
        writer, _ = JournalWriter.open(path, RUN, resume=True)
        writer.start()
        writer.record(outcome(2, "done"))
        await writer.aclose()

    asyncio.run(append())

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line.get("accountId") for line in lines] == [None, 1, None, 2]
    assert read_journal(path).verified() == {1, 2}


def test_journal_when_last_line_complete_json_but_no_newline_then_treated_as_torn(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_lines(path, {"run": RUN}, tail=json.dumps(outcome(7, "done")))

    state = read_journal(path)

    assert state.verified() == set()
    assert state.torn_bytes > 0


def test_journal_when_a_middle_line_is_not_json_then_journal_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text(json.dumps({"run": RUN}) + "\nnot json\n" + json.dumps(outcome(1, "done")) + "\n")

    with pytest.raises(JournalError, match="line 2"):
        read_journal(path)


def test_journal_when_exists_and_not_resumed_then_refused_and_file_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_lines(path, {"run": RUN}, outcome(1, "done"))
    before = path.read_bytes()

    with pytest.raises(JournalExistsError, match="--resume"):
        JournalWriter.open(path, RUN, resume=False)

    assert path.read_bytes() == before


def test_journal_when_resumed_by_another_action_or_server_then_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_lines(path, {"run": RUN}, outcome(1, "done"))

    with pytest.raises(JournalError, match="adminAction"):
        JournalWriter.open(path, {**RUN, "adminAction": "Normal"}, resume=True)
    with pytest.raises(JournalError, match="url"):
        JournalWriter.open(path, {**RUN, "url": "https://demo.tradovateapi.com"}, resume=True)


def test_journal_writer_when_lines_recorded_then_all_on_disk_after_close_with_run_line_first(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sub" / "j.jsonl"

    async def run() -> None:
        writer, state = JournalWriter.open(path, RUN, resume=False)
        assert state.lines == 0
        writer.start()
        for account_id in range(1, 501):
            writer.record(outcome(account_id, "done"))
            if account_id % 100 == 0:
                await asyncio.sleep(0)  # let the writer take a batch meanwhile
        await writer.aclose()

    asyncio.run(run())

    state = read_journal(path)
    assert (state.lines, state.torn_bytes) == (501, 0)  # the run line and 500 outcomes, all whole
    assert state.runs == [RUN]
    assert state.verified() == set(range(1, 501))


def test_journal_writer_when_never_started_then_close_still_writes_pending_lines(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    writer, _ = JournalWriter.open(path, RUN, resume=False)

    writer.record(outcome(5, "failed"))
    writer.close()

    assert read_journal(path).counts() == {"verified": 0, "failed": 1}
