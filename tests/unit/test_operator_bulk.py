"""The bulk-action engine (`autoliq.cli.bulk`) over the SDK, against an in-memory risk API.

The SDK's client runs over `httpx.MockTransport` (tests/fake_risk_api.py); pauses go through an
injected sleep, so no test waits.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from autoliq.cli.bulk import BulkAction, BulkReport, Plan, plan
from autoliq.cli.selection import Target
from autoliq.client import AsyncClient
from tests.fake_risk_api import (
    FAULT_500,
    FAULT_500_APPLIED,
    FAULT_DENIED,
    FAULT_TICKET,
    PASSWORD,
    FakeRiskApi,
)

LOCK = "LockTradingImmediately"


def targets(api: FakeRiskApi, *account_ids: int) -> list[Target]:
    return [Target(a, f"ACC{a:04d}", api.statuses.get(a)) for a in account_ids]


class Sleeps:
    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


def run_bulk(
    api: FakeRiskApi,
    planned: list[tuple[Target, Plan]],
    *,
    retries: int = 2,
    concurrency: int = 3,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> BulkReport:
    async def run() -> BulkReport:
        client = AsyncClient("http://fake", name="admin", password=PASSWORD, transport=api.transport())
        async with client:
            bulk = BulkAction(
                client,
                LOCK,
                reason_code="Other",
                reason="unit test",
                concurrency=concurrency,
                retries=retries,
                sleep=sleep or Sleeps(),
            )
            return await bulk.run(planned)

    return asyncio.run(asyncio.wait_for(run(), 30))


def failed(report: BulkReport) -> dict[int, Any]:
    return {s.target.account_id: s.detail for s in report.failed}


# -- the plan --


def test_plan_when_verified_in_journal_or_already_in_state_then_skipped_else_sent() -> None:
    api = FakeRiskApi(accounts=4, statuses={2: LOCK, 3: LOCK})

    planned = plan(targets(api, 1, 2, 3, 4), LOCK, verified={3, 4}, force=False)

    assert [p for _, p in planned] == [Plan.SEND, Plan.SKIP_IN_STATE, Plan.SKIP_JOURNAL, Plan.SKIP_JOURNAL]


def test_plan_when_force_then_accounts_in_state_are_sent_but_journal_still_skips() -> None:
    api = FakeRiskApi(accounts=3, statuses={2: LOCK})

    planned = plan(targets(api, 1, 2, 3), LOCK, verified={3}, force=True)

    assert [p for _, p in planned] == [Plan.SEND, Plan.SEND, Plan.SKIP_JOURNAL]


# -- runs --


def test_bulk_when_every_write_works_then_each_account_sent_once_and_read_back() -> None:
    api = FakeRiskApi(accounts=20, statuses={5: LOCK})

    report = run_bulk(api, plan(targets(api, *range(1, 21)), LOCK, verified=set(), force=False))

    assert sorted(s.target.account_id for s in report.done) == [a for a in range(1, 21) if a != 5]
    assert [t.account_id for t in report.skipped_in_state] == [5]
    assert sorted(api.writes()) == [(a, LOCK) for a in range(1, 21) if a != 5]
    reads = [r.params["masterid"] for r in api.requests if r.path == "/v1/accountRiskStatus/deps"]
    assert sorted(map(int, reads)) == [a for a in range(1, 21) if a != 5]  # every write read back
    assert report.complete and all(v == LOCK for v in api.statuses.values())


def test_bulk_when_write_answer_lost_but_applied_then_done_by_read_back_without_resending() -> None:
    api = FakeRiskApi(accounts=2, faults={1: [FAULT_500_APPLIED]})

    report = run_bulk(api, plan(targets(api, 1, 2), LOCK, verified=set(), force=False))

    done = {s.target.account_id: s.detail for s in report.done}
    assert set(done) == {1, 2}
    assert done[1] is not None and "answer was lost" in done[1]
    assert api.writes().count((1, LOCK)) == 1


def test_bulk_when_500_and_not_applied_then_read_again_resent_after_a_pause_and_done() -> None:
    api = FakeRiskApi(accounts=1, faults={1: [FAULT_500, FAULT_500]})
    sleeps = Sleeps()

    report = run_bulk(api, plan(targets(api, 1), LOCK, verified=set(), force=False), sleep=sleeps)

    assert [s.target.account_id for s in report.done] == [1]
    assert api.writes() == [(1, LOCK)] * 3
    assert sleeps.asked == [1.0, 2.0]
    paths = [r.path.rsplit("/", 1)[1] for r in api.requests if "accesstoken" not in r.path]
    # write (500), read-back; pause, read (not there), write (500), read-back; the same again
    assert paths == ["setadminautoliqaction", "deps"] + ["deps", "setadminautoliqaction", "deps"] * 2


def test_bulk_when_500_every_time_then_failed_with_the_reason_after_retries_and_others_done() -> None:
    api = FakeRiskApi(accounts=3, faults={2: [FAULT_500] * 10})

    report = run_bulk(api, plan(targets(api, 1, 2, 3), LOCK, verified=set(), force=False), retries=1)

    assert sorted(s.target.account_id for s in report.done) == [1, 3]
    assert list(failed(report)) == [2]
    assert "HTTP 500" in failed(report)[2] and "2 attempts" in failed(report)[2]
    assert api.writes().count((2, LOCK)) == 2
    assert not report.complete


def test_bulk_when_penalty_ticket_then_sdk_resends_with_ticket_and_account_done() -> None:
    api = FakeRiskApi(accounts=2, faults={2: [FAULT_TICKET]})

    report = run_bulk(api, plan(targets(api, 1, 2), LOCK, verified=set(), force=False))

    assert report.complete and len(report.done) == 2
    ticketed = [
        r.body for r in api.requests if r.path.endswith("setadminautoliqaction") and r.body["accountId"] == 2
    ]
    assert [b.get("p-ticket") for b in ticketed] == [None, "ticket-2"]


def test_bulk_when_account_unknown_then_failed_not_found_and_run_goes_on() -> None:
    api = FakeRiskApi(accounts=2)

    report = run_bulk(
        api,
        plan(
            [*targets(api, 1), Target(404, None, None), *targets(api, 2)], LOCK, verified=set(), force=False
        ),
    )

    assert failed(report) == {404: "not found (HTTP 404): no such account, or another organization's"}
    assert sorted(s.target.account_id for s in report.done) == [1, 2]


def test_bulk_when_access_denied_then_run_stops_and_the_rest_is_not_attempted() -> None:
    api = FakeRiskApi(accounts=10, faults={1: [FAULT_DENIED]})

    report = run_bulk(
        api, plan(targets(api, *range(1, 11)), LOCK, verified=set(), force=False), concurrency=1
    )

    assert report.aborted is not None and "access denied" in report.aborted
    assert list(failed(report)) == [1]
    assert [t.account_id for t in report.not_attempted] == list(range(2, 11))
    assert api.writes() == [(1, LOCK)]


def test_bulk_when_stop_is_set_then_in_flight_accounts_interrupted_and_the_rest_not_attempted() -> None:
    api = FakeRiskApi(accounts=6)
    hanging: list[int] = []

    async def hang_writes(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("setadminautoliqaction"):
            hanging.append(json.loads(request.content)["accountId"])
            await asyncio.Event().wait()  # until the run is stopped (cancelled)
        return api.handle(request)

    async def run() -> BulkReport:
        client = AsyncClient(
            "http://fake", name="admin", password=PASSWORD, transport=httpx.MockTransport(hang_writes)
        )
        stop = asyncio.Event()
        async with client:
            bulk = BulkAction(client, LOCK, reason_code="Other", reason="r", concurrency=2, retries=0)
            planned = plan(targets(api, *range(1, 7)), LOCK, verified=set(), force=False)
            task = asyncio.create_task(bulk.run(planned, stop))
            while len(hanging) < 2:
                await asyncio.sleep(0)
            stop.set()
            return await task

    report = asyncio.run(asyncio.wait_for(run(), 30))

    assert report.stopped and not report.complete
    assert sorted(t.account_id for t in report.interrupted) == sorted(hanging) == [1, 2]
    assert [t.account_id for t in report.not_attempted] == [3, 4, 5, 6]
    assert report.done == [] and report.failed == []


def test_bulk_report_json_when_mixed_outcomes_then_ids_per_outcome_and_failures_with_reasons() -> None:
    api = FakeRiskApi(accounts=4, statuses={2: LOCK}, faults={4: [FAULT_500] * 5})

    report = run_bulk(api, plan(targets(api, 1, 2, 3, 4), LOCK, verified={3}, force=False), retries=0)
    document = report.to_json()

    assert document["counts"] == {
        "selected": 4,
        "done": 1,
        "skipped": 2,
        "failed": 1,
        "notAttempted": 0,
        "interrupted": 0,
    }
    assert document["done"] == [1]
    assert document["skipped"] == {"alreadyInState": [2], "fromJournal": [3]}
    assert document["failed"][0]["accountId"] == 4 and document["failed"][0]["name"] == "ACC0004"
    assert "HTTP 500" in document["failed"][0]["error"]
    assert (document["aborted"], document["stopped"]) == (None, False)


# -- accounts sent together (autoliq's bulk route) --


class Widest:
    """How many per-account requests were in flight at once, at most."""

    def __init__(self, api: FakeRiskApi) -> None:
        self.api = api
        self.now = 0
        self.most = 0

    def transport(self) -> httpx.AsyncBaseTransport:
        widest = self

        class Counting(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                widest.now += 1
                widest.most = max(widest.most, widest.now)
                try:
                    await asyncio.sleep(0)
                    return widest.api.handle(request)
                finally:
                    widest.now -= 1

        return Counting()


def run_chunked(
    api: FakeRiskApi, ids: list[int], *, chunk_size: int, concurrency: int, widest: Widest | None = None
) -> BulkReport:
    async def run() -> BulkReport:
        transport = widest.transport() if widest is not None else api.transport()
        client = AsyncClient("http://fake", name="admin", password=PASSWORD, transport=transport)
        async with client:
            bulk = BulkAction(
                client,
                LOCK,
                reason_code="Other",
                reason="unit test",
                concurrency=concurrency,
                retries=2,
                sleep=Sleeps(),
                chunk_size=chunk_size,
            )
            return await bulk.run(plan(targets(api, *ids), LOCK, verified=set(), force=False))

    return asyncio.run(asyncio.wait_for(run(), 30))


def test_bulk_when_chunked_then_accounts_in_flight_sent_together_and_each_settled_once() -> None:
    api = FakeRiskApi(accounts=25, faults={7: [FAULT_500_APPLIED]})

    report = run_chunked(api, list(range(1, 26)), chunk_size=10, concurrency=3)

    assert report.complete and sorted(s.target.account_id for s in report.done) == list(range(1, 26))
    assert all(len(ids) <= 10 for ids in api.bulk_requests())
    assert sorted(api.writes()) == [(a, LOCK) for a in range(1, 26)]  # 7's lost answer: read back
    assert not [r for r in api.requests if r.path == "/v1/accountRiskStatus/deps"]


def test_bulk_when_chunked_but_server_has_no_bulk_route_then_per_account_at_most_concurrency_at_once() -> (
    None
):
    api = FakeRiskApi(accounts=20, bulk=False)
    widest = Widest(api)

    report = run_chunked(api, list(range(1, 21)), chunk_size=10, concurrency=2, widest=widest)

    assert report.complete and len(report.done) == 20
    assert len(api.bulk_requests()) == 1  # the first chunk learned it; nothing sent twice
    assert sorted(api.writes()) == [(a, LOCK) for a in range(1, 21)]
    assert widest.most <= 2
    deps = [r for r in api.requests if r.path == "/v1/accountRiskStatus/deps"]
    assert len(deps) == 20  # read back one by one, as without chunks


def test_bulk_when_chunked_and_stopped_then_the_chunk_in_flight_interrupted_and_the_rest_left() -> None:
    api = FakeRiskApi(accounts=10)
    hanging: list[list[int]] = []

    async def hang_bulk_writes(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/_autoliq/bulk/setadminautoliqaction":
            hanging.append(json.loads(request.content)["accountIds"])
            await asyncio.Event().wait()  # until the run is stopped (cancelled)
        return api.handle(request)

    async def run() -> BulkReport:
        transport = httpx.MockTransport(hang_bulk_writes)
        client = AsyncClient("http://fake", name="admin", password=PASSWORD, transport=transport)
        stop = asyncio.Event()
        async with client:
            bulk = BulkAction(
                client, LOCK, reason_code="Other", reason="r", concurrency=2, retries=0, chunk_size=4
            )
            planned = plan(targets(api, *range(1, 11)), LOCK, verified=set(), force=False)
            task = asyncio.create_task(bulk.run(planned, stop))
            while not hanging:
                await asyncio.sleep(0)
            stop.set()
            return await task

    report = asyncio.run(asyncio.wait_for(run(), 30))

    assert hanging == [[1, 2, 3, 4]]
    assert report.stopped and not report.complete
    assert sorted(t.account_id for t in report.interrupted) == [1, 2, 3, 4]
    assert [t.account_id for t in report.not_attempted] == [5, 6, 7, 8, 9, 10]
    assert report.done == [] and report.failed == []
