"""Which accounts an operator command selects (ids, --file, filters) and how its requests are paced."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from autoliq.cli.connection import Pace, PacedTransport, ShardedTransport, is_loopback
from autoliq.cli.selection import Selection, SelectionError, Target, read_id_file
from autoliq.client import Account, AccountRiskStatus

ACCOUNTS: list[Account] = [
    {"id": 1, "name": "EVAL-001"},
    {"id": 2, "name": "eval-002"},
    {"id": 3, "name": "FUNDED-003"},
    {"id": 4, "name": "EVAL-004"},
]
STATUSES: dict[int, AccountRiskStatus] = {
    1: {"id": 1, "adminAction": "Normal"},
    2: {"id": 2, "adminAction": "LockTradingImmediately"},
    3: {"id": 3, "adminAction": "Normal"},
    4: {"id": 4, "adminAction": "LiquidateOnlyModeImmediately"},
}


def ids(targets: list[Target]) -> list[int]:
    return [t.account_id for t in targets]


# -- --file --


def test_read_id_file_when_comments_and_blank_lines_then_ids_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_text("# accounts to lock\n42\n\n  7   # the trailing comment too\n#13\n1000000\n")

    assert read_id_file(str(path)) == [42, 7, 1000000]


@pytest.mark.parametrize("line", ["abc", "-3", "0", "4.5", "9223372036854775808"])
def test_read_id_file_when_line_is_not_an_account_id_then_error_names_file_and_line(
    tmp_path: Path, line: str
) -> None:
    path = tmp_path / "ids.txt"
    path.write_text(f"1\n{line}\n")

    with pytest.raises(SelectionError, match=r"ids.txt:2"):
        read_id_file(str(path))


def test_read_id_file_when_missing_then_selection_error(tmp_path: Path) -> None:
    with pytest.raises(SelectionError, match="--file"):
        read_id_file(str(tmp_path / "nope.txt"))


def test_selection_when_args_and_files_overlap_then_each_id_once_in_order(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_text("3\n1\n# 9\n")

    selection = Selection.from_options(["1", "2"], [str(path)])

    assert selection.ids == (1, 2, 3)
    assert selection.arg_ids == (1, 2)


# -- what is allowed --


def test_selection_when_action_selects_nothing_then_refused_never_every_account() -> None:
    with pytest.raises(SelectionError, match="no accounts selected"):
        Selection.from_options(None, None).check(action=True)

    Selection.from_options(None, None).check(action=False)  # a read shows everything


def test_selection_when_all_with_ids_then_refused() -> None:
    with pytest.raises(SelectionError, match="--all"):
        Selection.from_options(["1"], None, all_accounts=True).check(action=True)


def test_selection_when_file_holds_no_ids_then_refused(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_text("# nothing yet\n")

    with pytest.raises(SelectionError, match="no account ids"):
        Selection.from_options(None, [str(path)]).check(action=True)


# -- resolving --


def test_selection_when_all_then_every_listed_account_with_its_current_action() -> None:
    targets = Selection.from_options(None, None, all_accounts=True).resolve(ACCOUNTS, STATUSES)

    assert targets[1] == Target(2, "eval-002", "LockTradingImmediately")
    assert ids(targets) == [1, 2, 3, 4]


def test_selection_when_name_like_then_shell_pattern_any_case() -> None:
    targets = Selection.from_options(None, None, name_like="eval-*").resolve(ACCOUNTS, STATUSES)

    assert ids(targets) == [1, 2, 4]


def test_selection_when_name_like_and_status_then_both_must_match() -> None:
    selection = Selection.from_options(None, None, name_like="EVAL-00[1-4]", status="Normal")

    assert ids(selection.resolve(ACCOUNTS, STATUSES)) == [1]


def test_selection_when_ids_only_then_kept_as_given_even_when_not_listed() -> None:
    targets = Selection.from_options(["4", "99", "1"], None).resolve(ACCOUNTS, STATUSES)

    assert targets == [
        Target(4, "EVAL-004", "LiquidateOnlyModeImmediately"),
        Target(99, None, None),  # the server decides (404): it may know it when the list does not
        Target(1, "EVAL-001", "Normal"),
    ]


def test_selection_when_ids_with_a_filter_then_narrowed_and_unlisted_ids_dropped() -> None:
    targets = Selection.from_options(["3", "99", "1", "2"], None, status="Normal").resolve(ACCOUNTS, STATUSES)

    assert ids(targets) == [3, 1]


def test_selection_spec_when_file_given_then_names_its_path_not_its_ids(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_text("5\n")

    spec = Selection.from_options(["1"], [str(path)], name_like="A*").spec()

    assert spec == {"ids": [1], "files": [str(path.resolve())], "all": None, "nameLike": "A*", "status": None}


# -- pacing --


class FakeTime:
    """A clock that only moves when something sleeps (or never, with `frozen`)."""

    def __init__(self, *, frozen: bool = False) -> None:
        self.now = 100.0
        self.frozen = frozen
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if not self.frozen:
            self.now += seconds


def test_pace_when_requests_arrive_together_then_each_waits_for_its_slot_one_over_rate_apart() -> None:
    fake = FakeTime()
    pace = Pace(4.0, clock=fake.clock, sleep=fake.sleep)
    starts: list[float] = []

    async def request() -> None:
        await pace.acquire()
        starts.append(fake.now)

    async def run() -> None:
        # Sequential here (the fake clock moves on sleep); the slots are what is under test.
        for _ in range(5):
            await request()

    asyncio.run(run())

    assert starts == [100.0, 100.25, 100.5, 100.75, 101.0]
    assert pace.sent == 5


def test_pace_when_concurrent_tasks_then_slots_are_shared_not_per_task() -> None:
    fake = FakeTime(frozen=True)  # all four ask at the same instant
    pace = Pace(2.0, clock=fake.clock, sleep=fake.sleep)

    async def run() -> None:
        await asyncio.gather(*(pace.acquire() for _ in range(4)))

    asyncio.run(run())

    # The first goes at once; the others wait for the next free slots, 0.5 s apart.
    assert sorted(fake.slept) == [0.5, 1.0, 1.5]


def test_pace_when_idle_then_the_next_request_goes_at_once() -> None:
    fake = FakeTime()
    pace = Pace(1.0, clock=fake.clock, sleep=fake.sleep)

    async def run() -> None:
        await pace.acquire()
        fake.now += 10  # a long pause between requests
        await pace.acquire()

    asyncio.run(run())

    assert fake.slept == []


def test_pace_when_rate_zero_then_never_waits_but_counts() -> None:
    fake = FakeTime()
    pace = Pace(0, clock=fake.clock, sleep=fake.sleep)

    async def run() -> None:
        await asyncio.gather(*(pace.acquire() for _ in range(100)))

    asyncio.run(asyncio.wait_for(run(), 5))

    assert (fake.slept, pace.sent) == ([], 100)


def test_paced_transport_when_requests_sent_then_each_one_counted_before_it_leaves() -> None:
    seen: list[int] = []
    pace = Pace(0)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(pace.sent)
        return httpx.Response(200, json={})

    async def run() -> None:
        async with httpx.AsyncClient(transport=PacedTransport(httpx.MockTransport(handler), pace)) as client:
            for _ in range(3):
                await client.get("http://x/v1/account/list")

    asyncio.run(run())

    assert seen == [1, 2, 3]


def test_sharded_transport_when_requests_overlap_then_spread_over_the_least_busy_pools() -> None:
    release = asyncio.Event()
    hits = [0, 0, 0]

    def shard(n: int) -> httpx.MockTransport:
        async def handler(request: httpx.Request) -> httpx.Response:
            hits[n] += 1
            await release.wait()
            return httpx.Response(200)

        return httpx.MockTransport(handler)

    async def run() -> None:
        transport = ShardedTransport([shard(0), shard(1), shard(2)])
        async with httpx.AsyncClient(transport=transport) as client:
            requests = [asyncio.create_task(client.get("http://x/")) for _ in range(6)]
            while sum(hits) < 6:
                await asyncio.sleep(0)
            release.set()
            await asyncio.gather(*requests)

    asyncio.run(asyncio.wait_for(run(), 10))

    assert hits == [2, 2, 2]


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://127.1.2.3:80", True),
        ("http://localhost:8080", True),
        ("http://[::1]:8080", True),
        ("https://demo.tradovateapi.com", False),
        ("http://10.0.0.5:8080", False),
    ],
)
def test_is_loopback_when_host_given_then_only_this_machine_counts(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback
