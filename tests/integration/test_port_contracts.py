"""The port contracts: the SAME assertions on the in-memory fake (tests/fakes.py), on SQLite and on
PostgreSQL, so the fake the service tests run over cannot drift from the SQL store.

Covered: accounts and users as seeded (AccountStore), credentials and sessions (SessionStore),
statuses and their log (StatusStore), the gate's trading state (with a halted risk category),
post-trade settings and the auto-liq layer, timers, the trading tables (last prices, orders and
their OCO links, fills, positions, cash and cash changes), and the unit of work's promises (all or nothing;
events and after-commit actions only after a commit; an after-commit action that raises is logged and
swallowed)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from autoliq.bootstrap import bootstrap, seed_demo_if_empty, seed_organization
from autoliq.domain.accounting import Lot, PositionState
from autoliq.domain.auto_liq import AutoLiqLayer, LayerState
from autoliq.domain.events import Event, SessionsClosed
from autoliq.domain.instruments import PRODUCTS_BY_NAME, ContractSpec
from autoliq.domain.model import RiskStatus, User
from autoliq.domain.money import CashState
from autoliq.domain.orders import Order, OrderType, OrdStatus, TimeInForce
from autoliq.domain.post_trade import AutoLiqSettings
from autoliq.domain.states import Actor, AdminAction, ReasonCode, Role, Side
from autoliq.domain.timers import TimerKind
from autoliq.service.clock import ManualClock
from autoliq.service.credentials import verify_password
from tests.conftest import ADMIN_PW, OTHER_ADMIN_PW, TRADER_PW, fresh_database, make_settings
from tests.fakes import fake_world

T = TypeVar("T")
T0 = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


@dataclass
class Ports:
    """One implementation of the ports, over the seeded world of tests/conftest.py."""

    kind: str
    uow: Any
    published: list[Event]
    demo_org: int
    other_org: int
    admin: User
    trader: User
    other_admin: User
    demo_account_ids: list[int]
    other_account_ids: list[int]

    def write(self, work: Callable[[Any], T]) -> T:
        return asyncio.run(self.uow.write(work))

    def read(self, work: Callable[[Any], T]) -> T:
        return asyncio.run(self.uow.read(work))


def _fake() -> Ports:
    world = fake_world(ADMIN_PW, TRADER_PW, OTHER_ADMIN_PW)
    published: list[Event] = []
    world.uow.add_listener(published.extend)
    return Ports(
        "fake",
        world.uow,
        published,
        world.demo_org,
        world.other_org,
        world.admin,
        world.trader,
        world.other_admin,
        world.demo_account_ids,
        world.other_account_ids,
    )


def _sql(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ports]:
    for url in fresh_database(kind, request, tmp_path):
        clock = ManualClock(T0)
        demo = seed_demo_if_empty(make_settings(url), clock)
        assert demo is not None and demo.first_account_id is not None
        other = seed_organization(url, "Other Firm", "other-admin", OTHER_ADMIN_PW, 3, clock=clock)
        assert other.first_account_id is not None
        services = bootstrap(make_settings(url), clock=clock, run_migrations=False)
        published: list[Event] = []
        services.publisher.add_listener(published.extend)
        services.start()
        try:
            ports = Ports(kind, services.uow, published, 0, 0, *_users(services.uow), [], [])
            ports.demo_org, ports.other_org = ports.admin.organization_id, ports.other_admin.organization_id
            ports.demo_account_ids = list(range(demo.first_account_id, demo.first_account_id + 10))
            ports.other_account_ids = list(range(other.first_account_id, other.first_account_id + 3))
            yield ports
        finally:
            services.stop()


def _users(uow: Any) -> tuple[User, User, User]:
    def work(store: Any) -> tuple[User, User, User]:
        users = [store.user_by_name(n) for n in ("admin", "trader", "other-admin")]
        assert all(u is not None for u in users)
        return users[0][0], users[1][0], users[2][0]

    result: tuple[User, User, User] = asyncio.run(uow.read(work))
    return result


@pytest.fixture(params=["fake", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ports(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ports]:
    """Each test runs three times: on the fake, on SQLite and on PostgreSQL."""
    if request.param == "fake":
        yield _fake()
    else:
        yield from _sql(request.param, request, tmp_path)


# -- organizations, users, accounts --


def test_accounts_when_listed_then_organization_owner_ids_and_name_filter_by_id(ports: Ports) -> None:
    demo, other = ports.demo_account_ids, ports.other_account_ids

    def work(store: Any) -> None:
        org = store.accounts(ports.demo_org)
        assert [a.id for a in org] == demo
        assert all(a.organization_id == ports.demo_org and a.user_id == ports.trader.id for a in org)
        assert [a.id for a in store.accounts(ports.demo_org, owner_id=ports.trader.id)] == demo
        assert store.accounts(ports.demo_org, owner_id=ports.admin.id) == []
        assert [a.id for a in store.accounts(ports.demo_org, ids=[demo[2], other[0], 987654])] == [demo[2]]
        assert store.accounts(ports.demo_org, name=org[3].name) == [org[3]]
        assert [a.id for a in store.accounts(ports.other_org)] == other
        assert store.account(demo[0]) == org[0]
        assert store.account(987654321) is None
        assert org[0].archived is False

    ports.read(work)


def test_users_and_organizations_when_read_then_as_seeded(ports: Ports) -> None:
    def work(store: Any) -> None:
        assert store.user(ports.admin.id) == ports.admin
        assert ports.admin.role is Role.ADMIN and ports.trader.role is Role.TRADER
        assert ports.admin.is_admin and not ports.trader.is_admin
        assert ports.trader.organization_id == ports.demo_org != ports.other_org
        assert store.user(987654321) is None
        seeded = ((ports.admin, "admin"), (ports.trader, "trader"), (ports.other_admin, "other-admin"))
        for user, name in seeded:
            assert (user.name, user.full_name, user.email) == (name, name, f"{name}@example.invalid")
        assert store.organization(ports.demo_org).name == "Demo Prop Firm"
        assert store.organization(ports.other_org).name == "Other Firm"
        assert store.organization(987654321) is None
        created = store.users_created(ports.demo_org, None)
        assert [u.id for u, _ in created] == sorted([ports.admin.id, ports.trader.id])
        assert [u.id for u, _ in store.users_created(ports.demo_org, [ports.other_admin.id])] == []

    ports.read(work)


# -- credentials and sessions --


def test_user_by_name_when_exact_name_then_user_and_hash_of_the_password(ports: Ports) -> None:
    def work(store: Any) -> None:
        found = store.user_by_name("admin")
        assert found is not None and found[0] == ports.admin
        assert verify_password(ADMIN_PW, found[1]) and not verify_password(TRADER_PW, found[1])
        assert store.user_by_name("ADMIN") is None
        assert store.user_by_name("nobody") is None

    ports.read(work)


def test_replace_password_hash_when_old_hash_matches_then_replaced_else_kept(ports: Ports) -> None:
    old = ports.read(lambda s: s.user_by_name("trader")[1])
    ports.write(lambda s: s.replace_password_hash(ports.trader.id, "not-the-hash", "x-hash"))
    assert ports.read(lambda s: s.user_by_name("trader")[1]) == old
    ports.write(lambda s: s.replace_password_hash(ports.trader.id, old, "new-hash"))
    assert ports.read(lambda s: s.user_by_name("trader")[1]) == "new-hash"


def test_sessions_when_opened_then_found_by_token_hash_until_expiry_and_md_hash_only_for_market_data(
    ports: Ports,
) -> None:
    expires = T0 + timedelta(minutes=90)
    opened = ports.write(lambda s: s.open_session(ports.admin.id, "a" * 64, T0, expires, "m" * 64))
    assert (opened.user_id, opened.expires) == (ports.admin.id, expires)

    def work(store: Any) -> None:
        assert store.session_by_token_hash("a" * 64, T0) == opened
        assert store.session_by_token_hash("a" * 64, expires - timedelta(microseconds=1)) == opened
        assert store.session_by_token_hash("a" * 64, expires) is None  # expired at its expiry
        assert store.session_by_token_hash("m" * 64, T0) is None  # REST takes the access token only
        assert store.session_by_token_hash("m" * 64, T0, market_data=True) == opened
        assert store.session_by_token_hash("a" * 64, T0, market_data=True) == opened
        assert store.session_by_token_hash("b" * 64, T0) is None

    ports.read(work)


def test_sessions_when_several_then_live_oldest_first_closed_and_expired_left_out(ports: Ports) -> None:
    uid = ports.trader.id
    first = ports.write(lambda s: s.open_session(uid, "1" * 64, T0, T0 + timedelta(hours=1), "q" * 64))
    second = ports.write(lambda s: s.open_session(uid, "2" * 64, T0, T0 + timedelta(hours=2), "r" * 64))
    third = ports.write(lambda s: s.open_session(uid, "3" * 64, T0, T0 + timedelta(hours=3), "s" * 64))
    assert first.id < second.id < third.id
    assert ports.read(lambda s: s.live_sessions(uid, T0)) == [first, second, third]
    ports.write(lambda s: s.close_session(second.id, T0))
    assert ports.read(lambda s: s.live_sessions(uid, T0)) == [first, third]
    assert ports.read(lambda s: s.session_by_token_hash("2" * 64, T0)) is None
    assert ports.read(lambda s: s.live_sessions(uid, T0 + timedelta(hours=1))) == [third]
    assert ports.read(lambda s: s.live_sessions(ports.admin.id, T0)) == []


def test_extend_session_when_called_then_new_expiry_and_new_md_hash(ports: Ports) -> None:
    uid = ports.admin.id
    opened = ports.write(lambda s: s.open_session(uid, "c" * 64, T0, T0 + timedelta(minutes=90), "d" * 64))
    later = T0 + timedelta(hours=3)
    ports.write(lambda s: s.extend_session(opened.id, later, "e" * 64))

    def work(store: Any) -> None:
        renewed = store.session_by_token_hash("c" * 64, T0 + timedelta(hours=2))
        assert renewed is not None and (renewed.id, renewed.expires) == (opened.id, later)
        assert store.session_by_token_hash("e" * 64, T0, market_data=True).id == opened.id
        assert store.session_by_token_hash("d" * 64, T0, market_data=True) is None

    ports.read(work)


# -- risk status and its log --


def test_status_when_seeded_then_normal_without_timestamps_and_trading_state_normal(ports: Ports) -> None:
    account_id = ports.demo_account_ids[0]

    def work(store: Any) -> None:
        assert store.risk_status(account_id) == RiskStatus(id=account_id)
        state = store.trading_state(account_id)
        assert (state.admin_action, state.auto_liq, state.halted) == (AdminAction.NORMAL, None, False)
        assert store.risk_status(987654321) is None

    ports.read(work)


def test_trading_state_when_account_category_halted_then_halted_until_resumed(ports: Ports) -> None:
    demo, other = ports.demo_account_ids, ports.other_account_ids

    def categories(store: Any) -> tuple[set[int | None], set[int | None]]:
        return (
            {store.account(a).risk_category_id for a in demo},
            {store.account(a).risk_category_id for a in other},
        )

    # Every seeded account is in its organization's default category, one per organization.
    [demo_category], [other_category] = ports.read(categories)
    assert demo_category is not None and other_category is not None and demo_category != other_category
    ports.write(lambda s: s.set_risk_category_halted(demo_category, True, T0))

    def halted(store: Any) -> None:
        state = store.trading_state(demo[0])
        assert (state.admin_action, state.auto_liq, state.halted) == (AdminAction.NORMAL, None, True)
        assert all(store.trading_state(a).halted for a in demo)
        assert not any(store.trading_state(a).halted for a in other)

    ports.read(halted)
    ports.write(lambda s: s.set_risk_category_halted(demo_category, False, T0))
    assert not any(ports.read(lambda s: [s.trading_state(a).halted for a in demo]))


def test_status_when_saved_then_read_back_and_listed_per_organization_and_owner(ports: Ports) -> None:
    demo, other = ports.demo_account_ids, ports.other_account_ids
    status = replace(
        RiskStatus(id=demo[1]).with_admin_action(AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, T0),
        max_net_liq=51234.5,
        min_net_liq=49234.5,
    )
    ports.write(lambda s: s.save_risk_status(status))

    def work(store: Any) -> None:
        saved = store.risk_status(demo[1])
        assert saved == status
        assert (saved.admin_action, saved.admin_timestamp, saved.liquidate_only) == (
            AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY, T0, T0,
        )  # fmt: skip
        assert (saved.max_net_liq, saved.min_net_liq) == (51234.5, 49234.5)
        assert store.trading_state(demo[1]).admin_action is AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY
        listed = store.risk_statuses(ports.demo_org)
        assert [s.id for s in listed] == demo and listed[1] == status
        assert [s.id for s in store.risk_statuses(ports.demo_org, ids=[demo[1], other[0]])] == [demo[1]]
        assert store.risk_statuses(ports.demo_org, owner_id=ports.admin.id) == []
        assert [s.id for s in store.risk_statuses(ports.other_org)] == other

    ports.read(work)


def test_log_when_appended_then_ids_grow_rows_round_trip_and_filters_isolate(ports: Ports) -> None:
    demo, other = ports.demo_account_ids, ports.other_account_ids
    reason = ("Kontrolle 风险 🚫 " * 1000)[:8192]
    locked = RiskStatus(id=demo[0]).with_admin_action(AdminAction.LOCK_TRADING_IMMEDIATELY, T0)

    def work(store: Any) -> list[Any]:
        return [
            store.append_log(demo[0], T0, locked, Actor.USER, ports.admin.id, ReasonCode.OTHER, reason),
            store.append_log(demo[1], T0, RiskStatus(id=demo[1]), Actor.SYSTEM, None, None, None),
            store.append_log(other[0], T0, RiskStatus(id=other[0]), Actor.USER, ports.other_admin.id,
                             ReasonCode.CLOSE_FRAUD, None),
        ]  # fmt: skip

    first, second, third = ports.write(work)
    assert first.id < second.id < third.id
    assert (first.account_id, first.timestamp, first.status, first.actor) == (demo[0], T0, locked, Actor.USER)

    def check(store: Any) -> None:
        assert store.log_entries(ports.demo_org) == [first, second]
        assert store.log_entries(ports.demo_org)[0].reason == reason
        assert store.log_entries(ports.other_org) == [third]
        assert store.log_entries(ports.demo_org, ids=[second.id, third.id]) == [second]
        assert store.log_entries(ports.demo_org, account_ids=[demo[0], other[0]]) == [first]
        assert store.log_entries(ports.demo_org, owner_id=ports.admin.id) == []
        assert store.log_entries(ports.demo_org, owner_id=ports.trader.id) == [first, second]

    ports.read(check)


# -- post-trade settings, the auto-liq layer, timers --


def test_auto_liq_settings_when_saved_then_found_and_listed(ports: Ports) -> None:
    demo = ports.demo_account_ids
    other = ports.other_account_ids
    settings = AutoLiqSettings(id=demo[2], daily_loss_auto_liq=1000.0, do_not_unlock=True)
    assert not ports.read(lambda s: s.has_auto_liq_settings(demo[2]))
    ports.write(lambda s: s.save_auto_liq_settings(settings, T0))
    fifth = AutoLiqSettings(id=demo[5], daily_loss_auto_liq=500.0)
    theirs = AutoLiqSettings(id=other[0], daily_loss_auto_liq=700.0)
    ports.write(lambda s: (s.save_auto_liq_settings(fifth, T0), s.save_auto_liq_settings(theirs, T0)))

    def work(store: Any) -> None:
        assert store.has_auto_liq_settings(demo[2]) and not store.has_auto_liq_settings(demo[3])
        assert store.auto_liq_settings_of(demo[2]) == settings
        assert store.auto_liq_settings_of(demo[3]) is None
        assert store.auto_liq_settings(ports.demo_org) == [settings, fifth]
        assert store.auto_liq_settings(ports.other_org) == [theirs]
        assert store.auto_liq_settings(ports.demo_org, owner_id=ports.admin.id) == []
        assert store.auto_liq_settings(ports.demo_org, owner_id=ports.trader.id) == [settings, fifth]
        # ids: only those asked for, of the organization (another's and unknown ids left out).
        assert store.auto_liq_settings(ports.demo_org, ids=[demo[5], other[0], 987654321]) == [fifth]
        assert store.auto_liq_settings(ports.demo_org, ids=[demo[5], demo[2]]) == [settings, fifth]
        assert store.auto_liq_settings(ports.demo_org, ids=[demo[3]]) == []
        assert store.auto_liq_settings(ports.demo_org, ids=[]) == []
        assert store.auto_liq_settings(ports.other_org, ids=[other[0]]) == [theirs]

    ports.read(work)


def test_layer_when_saved_then_in_trading_state_and_clear_returns_it_and_drops_its_unlock_timer(
    ports: Ports,
) -> None:
    account_id = ports.demo_account_ids[4]
    layer = AutoLiqLayer(account_id, LayerState.LOCKED, "dailyLossAutoLiq", T0, T0 + timedelta(hours=2))

    def lock(store: Any) -> tuple[int, int]:
        store.save_auto_liq_layers([layer])
        unlock = store.add_timer(account_id, TimerKind.AUTO_LIQ_UNLOCK, T0 + timedelta(hours=2))
        expiry = store.add_timer(
            account_id, TimerKind.ADMIN_ACTION_EXPIRY, T0 + timedelta(seconds=60),
            admin_action=AdminAction.LOCK_TRADING_IMMEDIATELY, set_at=T0,
        )  # fmt: skip
        return unlock, expiry

    unlock, expiry = ports.write(lock)
    assert ports.read(lambda s: s.auto_liq_layer(account_id)) == layer
    assert ports.read(lambda s: s.trading_state(account_id)).auto_liq is LayerState.LOCKED
    assert ports.write(lambda s: s.clear_auto_liq_layer(account_id)) == layer
    assert ports.write(lambda s: s.clear_auto_liq_layer(account_id)) is None

    def check(store: Any) -> None:
        assert store.auto_liq_layer(account_id) is None
        assert store.trading_state(account_id).auto_liq is None
        assert [t.id for t in store.due_timers(T0 + timedelta(days=1), 100)] == [expiry]

    ports.read(check)
    assert unlock != expiry


def test_timers_when_added_then_due_earliest_first_within_limit_and_deleted_once(ports: Ports) -> None:
    a, b = ports.demo_account_ids[5], ports.demo_account_ids[6]

    def add(store: Any) -> list[int]:
        return [
            store.add_timer(a, TimerKind.ADMIN_ACTION_EXPIRY, T0 + timedelta(seconds=60),
                            admin_action=AdminAction.LOCK_TRADING_IMMEDIATELY, set_at=T0),
            store.add_timer(b, TimerKind.FLATTEN, T0 + timedelta(seconds=30)),
            store.add_timer(a, TimerKind.FLATTEN, T0 + timedelta(seconds=90)),
        ]  # fmt: skip

    late, early, last = ports.write(add)
    due = ports.read(lambda s: s.due_timers(T0 + timedelta(seconds=60), 10))
    assert [t.id for t in due] == [early, late]
    assert (due[1].account_id, due[1].kind, due[1].admin_action, due[1].set_at) == (
        a,
        TimerKind.ADMIN_ACTION_EXPIRY,
        AdminAction.LOCK_TRADING_IMMEDIATELY,
        T0,
    )
    assert due[1].due_at == T0 + timedelta(seconds=60)
    assert [t.id for t in ports.read(lambda s: s.due_timers(T0 + timedelta(days=1), 2))] == [early, late]
    assert ports.write(lambda s: s.delete_timer(early)) is True
    assert ports.write(lambda s: s.delete_timer(early)) is False
    assert ports.write(lambda s: s.delete_timers(a, TimerKind.FLATTEN)) == 1
    assert [t.id for t in ports.read(lambda s: s.due_timers(T0 + timedelta(days=1), 10))] == [late]
    assert last not in (early, late)


# -- the unit of work's promises --


def test_write_when_committed_then_after_commit_actions_and_events_follow(ports: Ports) -> None:
    ran: list[str] = []

    def work(store: Any) -> str:
        store.emit(SessionsClosed((1, 2)))
        store.after_commit(lambda: ran.append("after"))
        assert ran == [] and ports.published == []  # nothing before the commit
        return "done"

    assert ports.write(work) == "done"
    assert ran == ["after"]
    assert ports.published == [SessionsClosed((1, 2))]


def test_write_when_an_after_commit_action_raises_then_logged_and_swallowed_and_the_rest_runs(
    ports: Ports, caplog: pytest.LogCaptureFixture
) -> None:
    account_id = ports.demo_account_ids[8]
    status = RiskStatus(id=account_id).with_admin_action(AdminAction.LOCK_TRADING_IMMEDIATELY, T0)
    ran: list[str] = []

    def boom() -> None:
        ran.append("boom")
        raise RuntimeError("after-commit boom")

    def work(store: Any) -> str:
        store.save_risk_status(status)
        store.emit(SessionsClosed((3,)))
        store.after_commit(boom)
        store.after_commit(lambda: ran.append("after"))
        return "done"

    with caplog.at_level(logging.ERROR):
        assert ports.write(work) == "done"  # the write committed: its caller gets its result
    assert ran == ["boom", "after"]
    assert ports.published == [SessionsClosed((3,))]
    assert ports.read(lambda s: s.risk_status(account_id)) == status
    failed = [r for r in caplog.records if r.getMessage() == "an after-commit action failed"]
    assert len(failed) == 1 and failed[0].exc_info is not None
    assert str(failed[0].exc_info[1]) == "after-commit boom"


def test_write_when_work_raises_then_nothing_lands_nothing_published_nothing_run(ports: Ports) -> None:
    account_id = ports.demo_account_ids[7]
    ran: list[str] = []

    def failing(store: Any) -> None:
        status = RiskStatus(id=account_id).with_admin_action(AdminAction.LOCK_TRADING_IMMEDIATELY, T0)
        store.save_risk_status(status)
        store.append_log(account_id, T0, status, Actor.USER, ports.admin.id, ReasonCode.OTHER, "x")
        store.add_timer(account_id, TimerKind.FLATTEN, T0)
        store.emit(SessionsClosed((9,)))
        store.after_commit(lambda: ran.append("after"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        ports.write(failing)

    def check(store: Any) -> None:
        assert store.risk_status(account_id) == RiskStatus(id=account_id)
        assert store.log_entries(ports.demo_org, account_ids=[account_id]) == []
        assert store.due_timers(T0 + timedelta(days=1), 10) == []

    ports.read(check)
    assert ran == [] and ports.published == []


# -- trading: last prices, orders, fills, positions, cash --

ES = ContractSpec(PRODUCTS_BY_NAME["ES"], 2026, 12)
CL = ContractSpec(PRODUCTS_BY_NAME["CL"], 2027, 1)
D = Decimal


def test_last_price_when_set_then_in_ticks_of_the_contract_and_updated_in_place(ports: Ports) -> None:
    assert ports.read(lambda s: s.last_price(ES)) is None
    ports.write(lambda s: s.set_contract_price(ES.id, 24000, T0))  # 6000.00 in ticks of 0.25
    ports.write(lambda s: s.set_contract_price(CL.id, 7123, T0))  # 71.23 in ticks of 0.01
    assert ports.read(lambda s: (s.last_price(ES), s.last_price(CL))) == (D("6000.00"), D("71.23"))
    later = T0 + timedelta(seconds=5)
    ports.write(lambda s: s.set_contract_price(ES.id, 24003, later))
    assert ports.read(lambda s: s.last_price(ES)) == D("6000.75")
    assert ports.read(lambda s: s.contract_prices()) == [(ES.id, 24003, later), (CL.id, 7123, T0)]


def test_orders_when_inserted_then_working_ones_listed_oldest_first_by_contract_and_account(
    ports: Ports,
) -> None:
    a, b = ports.demo_account_ids[0], ports.demo_account_ids[1]

    def insert(store: Any) -> list[int]:
        return [
            store.insert_order(a, ES, Side.BUY, OrderType.LIMIT, 2, TimeInForce.DAY, OrdStatus.WORKING,
                               False, T0, limit_price=D("5990.25"), cl_ord_id="mine-1"),
            store.insert_order(b, ES, Side.SELL, OrderType.STOP, 1, TimeInForce.GTC, OrdStatus.WORKING,
                               True, T0, stop_price=D("5980.50")),
            store.insert_order(a, ES, Side.BUY, OrderType.MARKET, 3, TimeInForce.GTC, OrdStatus.FILLED,
                               False, T0, fill_price=D("6000.00")),
            store.insert_order(a, CL, Side.SELL, OrderType.LIMIT, 4, TimeInForce.GTC, OrdStatus.WORKING,
                               False, T0, limit_price=D("71.23")),
            store.insert_order(a, ES, Side.SELL, OrderType.STOP_LIMIT, 1, TimeInForce.GTC,
                               OrdStatus.WORKING, False, T0, limit_price=D("5970"), stop_price=D("5971"),
                               triggered=True),
        ]  # fmt: skip

    first, second, filled, crude, stop_limit = ports.write(insert)
    assert first < second < filled < crude < stop_limit

    def check(store: Any) -> None:
        assert [o.id for o in store.working_orders(ES)] == [first, second, stop_limit]
        assert [o.id for o in store.working_orders(ES, a)] == [first, stop_limit]
        assert [o.id for o in store.working_orders(ES, ports.demo_account_ids[2])] == []
        assert [o.id for o in store.working_orders(CL, a)] == [crude]
        got = store.working_orders(ES)
        assert got[0] == Order(
            first, a, ES.id, Side.BUY, OrderType.LIMIT, 2, TimeInForce.DAY, OrdStatus.WORKING, False, T0,
            limit_price=D("5990.25"),
        )  # fmt: skip
        assert (got[1].side, got[1].order_type, got[1].admin, got[1].stop_price, got[1].limit_price) == (
            Side.SELL, OrderType.STOP, True, D("5980.50"), None,
        )  # fmt: skip
        assert (got[2].limit_price, got[2].stop_price, got[2].triggered) == (D("5970"), D("5971"), True)
        assert store.working_orders(CL)[0].limit_price == D("71.23")
        assert store.order_summary(filled) == (a, OrdStatus.FILLED, ES.id)
        assert store.order_summary(second) == (b, OrdStatus.WORKING, ES.id)
        assert store.order_summary(987654321) is None
        rows = store.trading_rows("order", ports.demo_org, ids=[first, filled])
        assert [(r.id, r.cl_ord_id, r.fill_ticks) for r in rows] == [
            (first, "mine-1", None),
            (filled, None, 24000),
        ]
        assert [r.id for r in store.trading_rows("order", ports.demo_org, account_ids=[b])] == [second]
        assert store.trading_rows("order", ports.other_org) == []

    ports.read(check)


def test_order_when_status_set_or_modified_then_leaves_working_or_takes_the_new_terms(ports: Ports) -> None:
    a = ports.demo_account_ids[3]
    later = T0 + timedelta(minutes=1)

    def insert(store: Any) -> tuple[int, int, int]:
        stop = store.insert_order(a, ES, Side.SELL, OrderType.STOP, 1, TimeInForce.DAY, OrdStatus.WORKING,
                                  False, T0, stop_price=D("5950"), triggered=True)  # fmt: skip
        limit = store.insert_order(a, ES, Side.BUY, OrderType.LIMIT, 2, TimeInForce.GTC, OrdStatus.WORKING,
                                   False, T0, limit_price=D("5900"))  # fmt: skip
        other = store.insert_order(a, ES, Side.BUY, OrderType.LIMIT, 1, TimeInForce.GTC, OrdStatus.WORKING,
                                   False, T0, limit_price=D("5800"))  # fmt: skip
        return stop, limit, other

    stop, limit, other = ports.write(insert)

    def change(store: Any) -> None:
        store.modify_order(
            stop, ES, OrderType.STOP_LIMIT, 3, TimeInForce.GTC, D("5940.25"), D("5945.5"), later
        )
        store.set_order_status(limit, OrdStatus.FILLED, later, fill_price=D("5899.75"), tick=D("0.25"))
        store.set_order_status(other, OrdStatus.CANCELED, later)
        store.modify_order(987654321, ES, OrderType.LIMIT, 1, TimeInForce.GTC, D("1"), None, later)  # no row
        store.set_order_status(987654321, OrdStatus.CANCELED, later)  # no row

    ports.write(change)

    def check(store: Any) -> None:
        [modified] = store.working_orders(ES, a)
        assert (modified.id, modified.order_type, modified.qty, modified.time_in_force) == (
            stop, OrderType.STOP_LIMIT, 3, TimeInForce.GTC,
        )  # fmt: skip
        assert (modified.limit_price, modified.stop_price) == (D("5940.25"), D("5945.5"))
        assert modified.triggered is False  # a modified stop must be reached again
        assert modified.created == T0
        assert store.order_summary(limit) == (a, OrdStatus.FILLED, ES.id)
        assert store.order_summary(other) == (a, OrdStatus.CANCELED, ES.id)
        rows = store.trading_rows("order", ports.demo_org, ids=[stop, limit, other])
        assert [(r.fill_ticks, r.updated) for r in rows] == [(None, later), (23599, later), (None, later)]
        assert store.order_summary(987654321) is None

    ports.read(check)


def test_oco_when_linked_then_each_names_the_other_and_live_orders_list_working_and_suspended(
    ports: Ports,
) -> None:
    a = ports.demo_account_ids[4]

    def insert(store: Any) -> tuple[int, ...]:
        ids = tuple(
            store.insert_order(a, contract, Side.SELL, OrderType.LIMIT, 1, TimeInForce.GTC, status, False, T0,
                               limit_price=price)
            for contract, status, price in (
                (ES, OrdStatus.WORKING, D("6100")), (ES, OrdStatus.WORKING, D("6200")),
                (CL, OrdStatus.SUSPENDED, D("80")), (ES, OrdStatus.CANCELED, D("6300")),
            )
        )  # fmt: skip
        store.link_oco(ids[0], ids[1])
        return ids

    first, second, suspended, cancelled = ports.write(insert)

    def check(store: Any) -> None:
        assert store.order_links(first) == (second, False, None)
        assert store.order_links(second) == (first, False, None)
        assert store.order_links(suspended) == (None, False, None)
        assert store.order_links(987654321) is None
        assert [o.oco_id for o in store.working_orders(ES, a)] == [second, first]
        assert store.order(suspended, CL).status is OrdStatus.SUSPENDED
        assert store.order(987654321, ES) is None
        assert store.live_orders_of_account(a) == [(first, ES.id), (second, ES.id), (suspended, CL.id)]
        assert store.live_orders_of_account(a, CL.id) == [(suspended, CL.id)]
        assert store.live_orders_of_account(ports.demo_account_ids[5]) == []

    ports.read(check)
    assert cancelled > suspended


def test_position_when_saved_then_read_back_upserted_and_open_ones_listed(ports: Ports) -> None:
    a = ports.demo_account_ids[6]
    day = date(2026, 11, 24)
    long_es = PositionState((Lot(2, D("6000.25")), Lot(1, D("6001"))), 3, D("18001.50"), 0, D(0), D(0))
    short_cl = PositionState((Lot(-4, D("71.23")),), 0, D(0), 4, D("284.92"), D(0))
    assert ports.read(lambda s: s.position(a, ES)) == PositionState()
    ports.write(
        lambda s: (s.save_position(a, ES, long_es, T0, day), s.save_position(a, CL, short_cl, T0, day))
    )

    def check_open(store: Any) -> None:
        assert store.position(a, ES) == long_es
        assert store.position(a, CL) == short_cl
        assert store.position(ports.demo_account_ids[7], ES) == PositionState()
        assert sorted(store.open_positions(a)) == sorted(
            [(ES.id, "[[2,24001],[1,24004]]"), (CL.id, "[[-4,7123]]")]
        )

    ports.read(check_open)
    [before] = ports.read(lambda s: s.trading_rows("position", ports.demo_org, account_ids=[a]))[:1]
    flat = PositionState((), 3, D("18001.50"), 3, D("18010.50"), D("9.00"))
    later = T0 + timedelta(hours=1)
    ports.write(lambda s: s.save_position(a, ES, flat, later, day))

    def check_flat(store: Any) -> None:
        assert store.position(a, ES) == flat
        assert store.open_positions(a) == [(CL.id, "[[-4,7123]]")]
        rows = store.trading_rows("position", ports.demo_org, account_ids=[a])
        assert [(r.contract_id, r.lots, r.realized_ticks, r.timestamp, r.trade_date) for r in rows] == [
            (ES.id, "[]", 36, later, day), (CL.id, "[[-4,7123]]", 0, T0, day),
        ]  # fmt: skip
        assert rows[0].id == before.id  # the upsert kept the row
        assert store.position_key(rows[0].id) == (a, ES.id)
        assert store.position_key(rows[1].id) == (a, CL.id)
        assert store.position_key(987654321) is None

    ports.read(check_flat)


def test_fill_when_inserted_then_ids_grow_and_the_row_holds_the_fill(ports: Ports) -> None:
    a = ports.demo_account_ids[8]
    day = date(2026, 11, 24)

    def work(store: Any) -> tuple[int, int, int]:
        order_id = store.insert_order(a, ES, Side.BUY, OrderType.MARKET, 2, TimeInForce.GTC, OrdStatus.FILLED,
                                      False, T0, fill_price=D("6000.5"))  # fmt: skip
        first = store.insert_fill(order_id, a, ES, Side.BUY, 2, D("6000.5"), T0, day)
        second = store.insert_fill(order_id, a, ES, Side.SELL, 1, D("6001.75"), T0, day)
        return order_id, first, second

    order_id, first, second = ports.write(work)
    assert first < second
    rows = ports.read(lambda s: s.trading_rows("fill", ports.demo_org, owner_id=ports.trader.id))
    got = [(r.id, r.order_id, r.account_id, r.contract_id, r.action, r.qty, r.price_ticks) for r in rows]
    assert got == [
        (first, order_id, a, ES.id, "Buy", 2, 24002), (second, order_id, a, ES.id, "Sell", 1, 24007),
    ]  # fmt: skip
    assert [(r.timestamp, r.trade_date) for r in rows] == [(T0, day), (T0, day)]
    assert ports.read(lambda s: s.trading_rows("fill", ports.demo_org, owner_id=ports.admin.id)) == []
    assert ports.read(lambda s: s.trading_rows("fill", ports.demo_org, ids=[second]))[0].id == second


def test_cash_when_realized_and_adjusted_then_amounts_move_and_roll_by_trade_date_and_week(
    ports: Ports,
) -> None:
    a, untouched = ports.demo_account_ids[9], ports.demo_account_ids[0]
    tuesday, wednesday, next_monday = date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 30)
    assert ports.read(lambda s: s.cash(a, tuesday)) == CashState(5_000_000, 0, 0, 5_000_000, tuesday)
    ports.write(lambda s: s.add_realized(a, -12_550, T0, tuesday))
    ports.write(lambda s: s.adjust_cash(a, 100_000, T0, tuesday))
    assert ports.read(lambda s: s.cash(a, tuesday)) == CashState(
        5_087_450, -12_550, -12_550, 5_000_000, tuesday
    )
    # The next trade date starts with the day's realized at zero and the amount as its start.
    assert ports.read(lambda s: s.cash(a, wednesday)) == CashState(
        5_087_450, 0, -12_550, 5_087_450, wednesday
    )
    # date.min: the stored figures as they are (the gate's read).
    assert ports.read(lambda s: s.cash(a, date.min)) == CashState(
        5_087_450, -12_550, -12_550, 5_000_000, tuesday
    )
    later = T0 + timedelta(days=1)
    ports.write(lambda s: s.add_realized(a, 2_000, later, wednesday))
    assert ports.read(lambda s: s.cash(a, wednesday)) == CashState(
        5_089_450, 2_000, -10_550, 5_087_450, wednesday
    )
    assert ports.read(lambda s: s.cash(a, next_monday)) == CashState(5_089_450, 0, 0, 5_089_450, next_monday)
    other = ports.demo_account_ids[8]
    ports.write(lambda s: s.adjust_cash(other, -300, T0, tuesday))
    rows = ports.read(lambda s: s.cash_rows([a, untouched, 987654321]))
    assert rows == {a: (5_089_450, 2_000, -10_550, 5_087_450, later, wednesday)}  # only those asked for
    assert ports.read(lambda s: s.cash_rows([other])) == {other: (4_999_700, 0, 0, 5_000_000, T0, tuesday)}


def test_cash_changes_when_recorded_then_counted_by_admin_or_not_strictly_after_since(ports: Ports) -> None:
    a = ports.demo_account_ids[2]
    ports.write(lambda s: s.insert_cash_change(a, 50_000, "deposit", ports.admin, T0))
    ports.write(lambda s: s.insert_cash_change(a, -1_000, "fee", ports.trader, T0 + timedelta(minutes=1)))
    ports.write(lambda s: s.insert_cash_change(a, 2_000, "again", ports.admin, T0 + timedelta(minutes=2)))

    def check(store: Any) -> None:
        assert store.cash_changes_since(a, T0 - timedelta(seconds=1), by_admin=True) == 2
        assert store.cash_changes_since(a, T0, by_admin=True) == 1  # strictly after
        assert store.cash_changes_since(a, T0, by_admin=False) == 1
        assert store.cash_changes_since(a, T0 + timedelta(minutes=1), by_admin=False) == 0
        assert store.cash_changes_since(ports.demo_account_ids[3], T0 - timedelta(days=1), by_admin=True) == 0
        # A cash change is a record only: the balance does not move.
        assert store.cash(a, date(2026, 11, 24)).amount == 5_000_000

    ports.read(check)


def test_write_when_trading_work_raises_then_no_order_fill_position_or_cash_lands(ports: Ports) -> None:
    a = ports.demo_account_ids[5]
    day = date(2026, 11, 24)

    def failing(store: Any) -> None:
        order_id = store.insert_order(a, ES, Side.BUY, OrderType.MARKET, 1, TimeInForce.GTC, OrdStatus.FILLED,
                                      False, T0, fill_price=D("6000"))  # fmt: skip
        store.insert_fill(order_id, a, ES, Side.BUY, 1, D("6000"), T0, day)
        store.save_position(a, ES, PositionState((Lot(1, D("6000")),), 1, D("6000")), T0, day)
        store.add_realized(a, 500, T0, day)
        store.set_contract_price(ES.id, 24000, T0)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        ports.write(failing)

    def check(store: Any) -> None:
        assert store.trading_rows("order", ports.demo_org) == []
        assert store.trading_rows("fill", ports.demo_org) == []
        assert store.position(a, ES) == PositionState()
        assert store.cash_rows([a]) == {}
        assert store.last_price(ES) is None

    ports.read(check)
