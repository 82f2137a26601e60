"""The risk engine: it owns the loop fill -> evaluate -> liquidate.

Its entry points are what the services call for anything that may fill: `place_order`,
`modify_order`, `fill_now`, `liquidate_position` run execution's step (execution.py: gate, place,
fill; it never calls back here) and evaluate the account's post-trade rules after a fill, in the
same transaction; a price change fills the resting orders it reaches (`fill_resting_orders`,
evaluating after each fill) and then evaluates the accounts whose price triggers it reached
(`evaluate_candidates`). So a breach is detected on the fill or price that causes it and its
liquidation commits with it. Evaluation is set-based (`evaluate_accounts`, of which
`evaluate_account` is the one-account case): a price tick's candidates are read in two statements,
evaluated in memory, and each table is written once for all of them, liquidations included.
`liquidate_account` (LiquidateImmediately, the flatten timer) reads the account's state once and
writes set-based: a handful of statements however many positions and orders. Timers end the locks
(`unlock`) and flatten at
`flattenTimestamp` (`flatten`); the session job (`close_sessions`) moves `EOD` trailing marks and
expires Day orders at each trade date's end.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from functools import partial

from autoliq.domain.accounting import PositionState, apply_fill, open_points
from autoliq.domain.auto_liq import (
    ALWAYS_LOW,
    FLATTEN_RULE,
    MARGIN_PER_CONTRACT,
    AutoLiqLayer,
    Breach,
    Exposure,
    Figures,
    LayerState,
    Level,
    Mark,
    active_rules,
    breaches,
    figures_of,
    next_mark,
    price_triggers,
    stricter,
    suppressed,
    unlock_time,
)
from autoliq.domain.bounds import date_within
from autoliq.domain.events import AlertRaised, RiskStatusChanged, TradingEntityChanged
from autoliq.domain.instruments import ContractSpec
from autoliq.domain.model import Account, RiskStatus
from autoliq.domain.money import CashState, realized_cents, with_realized
from autoliq.domain.orders import Order, OrdStatus
from autoliq.domain.post_trade import AutoLiqSettings
from autoliq.domain.session import next_trade_date, previous_trade_date, session_begin, trade_date
from autoliq.domain.states import Actor, AdminAction, Side
from autoliq.domain.timers import Timer, TimerKind
from autoliq.service import execution
from autoliq.service.execution import TEXT_LIQUIDATED, NewOrder, OrderChange, OrderOutcome
from autoliq.service.ports import Store
from autoliq.service.ports.desk import EquityPoint
from autoliq.service.ports.liquidation import (
    Book,
    Closing,
    EvaluationInput,
    LiquidationState,
    NewAlert,
    SystemLog,
)
from autoliq.telemetry.metrics import count_breach, count_liquidation

CENTS = Decimal(100)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What one evaluation found and did."""

    breaches: tuple[Breach, ...]
    acted: Breach | None
    """The breach that changed the auto-liq layer (liquidated, or went liquidate-only), if any."""


@dataclass(frozen=True, slots=True)
class _Numbers:
    """An account's cash (dollars) and open positions now."""

    amount: Decimal
    sod: Decimal
    realized: Decimal
    week: Decimal
    open_pnl: Decimal
    margin: Decimal
    positions: list[tuple[ContractSpec, PositionState]]

    @property
    def contracts(self) -> dict[int, ContractSpec]:
        return {c.id: c for c, _ in self.positions}


def _numbers(state: LiquidationState) -> _Numbers:
    """The account's numbers from its state (positions, prices and cash)."""
    cash = state.cash
    open_pnl = margin = Decimal(0)
    positions: list[tuple[ContractSpec, PositionState]] = []
    for held in state.positions:
        contract = held.contract
        positions.append((contract, held.state))
        open_pnl += open_points(held.state, held.last) * contract.product.value_per_point
        margin += abs(held.state.net_pos) * _margin(contract)
    return _Numbers(
        Decimal(cash.amount) / CENTS,
        Decimal(cash.amount_sod) / CENTS,
        Decimal(cash.realized) / CENTS,
        Decimal(cash.week_realized) / CENTS,
        open_pnl,
        margin,
        positions,
    )


def _figures(n: _Numbers) -> Figures:
    return figures_of(n.amount, n.sod, n.realized, n.week, n.open_pnl, n.margin)


def account_figures(state: LiquidationState) -> tuple[Figures, int]:
    """An account's figures now (net liquidation value, day P&L, ...), as the rules judge them, and
    how many contracts it holds a position in (the risk desk's columns)."""
    numbers = _numbers(state)
    return _figures(numbers), sum(1 for _, held in numbers.positions if held.net_pos)


def _margin(contract: ContractSpec) -> Decimal:
    return MARGIN_PER_CONTRACT.get(contract.product.name, Decimal(0))


def evaluate_account(
    store: Store,
    account_id: int,
    now: datetime,
    *,
    end_of_day: bool = False,
    act: bool = True,
    known: bool = False,
) -> Evaluation | None:
    """`evaluate_accounts` of one account (`known`: the caller knows it has post-trade settings);
    None when it has none."""
    if not known and not store.has_auto_liq_settings(account_id):
        return None  # most accounts: one cheap statement on every fill
    return evaluate_accounts(store, (account_id,), now, end_of_day=end_of_day, act=act).get(account_id)


@dataclass(slots=True)
class _Writes:
    """What the evaluations of a set of accounts write, gathered to be written table by table."""

    statuses: dict[int, RiskStatus] = field(default_factory=dict)
    layers: dict[int, AutoLiqLayer] = field(default_factory=dict)
    timers: dict[int, tuple[datetime | None, datetime]] = field(default_factory=dict)
    liquidated: list[int] = field(default_factory=list)
    books: list[Book] = field(default_factory=list)
    realized: dict[int, list[bool]] = field(default_factory=dict)
    logs: list[SystemLog] = field(default_factory=list)
    alerts: list[NewAlert] = field(default_factory=list)
    triggers: dict[int, dict[int, tuple[int | None, int | None]]] = field(default_factory=dict)
    steps: dict[int, list[str]] = field(default_factory=dict)
    """Per account, its writes in the order a one-by-one evaluation makes them (for its events):
    "alert", "liquidation", "log"."""


def evaluate_accounts(
    store: Store,
    account_ids: Sequence[int],
    now: datetime,
    *,
    end_of_day: bool = False,
    act: bool = True,
) -> dict[int, Evaluation]:
    """Evaluate the post-trade rules of the accounts (those without settings are skipped) on their
    numbers now, and act: alerts once per rule and trade date; a liquidate-only trigger puts the
    auto-liq layer in liquidate-only mode; an auto-liq trigger cancels the working orders, flattens
    and locks the layer until the rule's unlock time. Then store the price triggers of what each
    holds. With `act` False only the marks and the triggers are brought up to date.

    Set-based: the accounts are read in a few statements (`evaluation_inputs`), evaluated in memory,
    and each table is written once for all of them (an `executemany` or a multi-row statement); the
    rows and events are those of evaluating the accounts one after the other
    (tests/reference_evaluation.py, compared by a property test)."""
    day = trade_date(now)
    inputs = store.evaluation_inputs(account_ids, day)
    assessed = {a: _assess(got, end_of_day, act) for a, got in inputs.items()}
    # The rules alerted today matter to an account that breaches or holds (its triggers).
    asked = [a for a, x in assessed.items() if x.found or x.numbers.positions]
    alerted = store.alerted_rules_of(asked, day) if asked else {}
    writes = _Writes()
    done: dict[int, Evaluation] = {}
    for account_id, x in assessed.items():
        done[account_id] = _decide(inputs[account_id], x, alerted.get(account_id, frozenset()), now, writes)
    _write(store, inputs, writes, now, day)
    _record_equity(store, inputs, assessed, now)
    return done


def _cents(dollars: float | None) -> int | None:
    return None if dollars is None else round(dollars * 100)


def _record_equity(
    store: Store, inputs: dict[int, EvaluationInput], assessed: dict[int, _Assessed], now: datetime
) -> None:
    """The equity history (the desk's equity curve): a point for each evaluated account whose net
    liquidation value or trailing-drawdown floor differs from its latest point (read with its inputs)."""
    points = []
    for account_id, x in assessed.items():
        point = (round(x.net_liq * 100), _cents(x.status.min_net_liq))
        if inputs[account_id].equity != point:
            points.append(EquityPoint(account_id, now, *point))
    if points:
        store.add_equity_points(points)


@dataclass(frozen=True, slots=True)
class _Assessed:
    """An account's numbers, its status with the mark moved, and the breaches found."""

    numbers: _Numbers
    status: RiskStatus
    marked: bool
    """Whether the mark moved (the status row is written)."""
    found: tuple[Breach, ...]
    net_liq: float
    """The net liquidation value the rules were judged on (dollars)."""


def _assess(got: EvaluationInput, end_of_day: bool, act: bool) -> _Assessed:
    numbers = _numbers(got.numbers)
    figures = _figures(numbers)
    status = got.status or RiskStatus(id=got.account.id)
    mark = next_mark(
        got.settings, Mark(status.max_net_liq, status.min_net_liq), figures.net_liq, end_of_day=end_of_day
    )
    marked = (mark.max_net_liq, mark.min_net_liq) != (status.max_net_liq, status.min_net_liq)
    if marked:
        # The high-water mark follows the account without a log row of its own (it is derived from
        # fills and prices); a breach's or an admin's row records it.
        status = replace(status, max_net_liq=mark.max_net_liq, min_net_liq=mark.min_net_liq)
    found = tuple(breaches(got.settings, figures, mark)) if act else ()
    return _Assessed(numbers, status, marked, found, figures.net_liq)


def _decide(
    got: EvaluationInput, assessed: _Assessed, alerted: frozenset[str], now: datetime, writes: _Writes
) -> Evaluation:
    """One account's evaluation in memory (its numbers assessed), its writes added to `writes`."""
    account, settings = got.account, got.settings
    account_id = account.id
    numbers, status, found = assessed.numbers, assessed.status, assessed.found
    if assessed.marked:
        writes.statuses[account_id] = status
    layer = got.layer
    steps = writes.steps.setdefault(account_id, [])
    acted: Breach | None = None
    state = got.numbers
    for breach in found:
        rule = breach.rule
        level = rule.level
        if level is Level.ALERT:
            if rule.name not in alerted:
                writes.alerts.append(NewAlert(account_id, rule.name, level, breach.message))
                steps.append("alert")
                alerted = alerted | {rule.name}
            continue
        if suppressed(status.admin_action, level) or not stricter(layer, level):
            continue
        # The lock: the layer and its unlock timer, the flatten of an auto-liq, the log and alert.
        until = unlock_time(rule, settings, now)
        liquidate = level is Level.AUTO_LIQ
        layer = AutoLiqLayer(
            account_id, LayerState.LOCKED if liquidate else LayerState.LIQUIDATE_ONLY, rule.name, now, until
        )
        writes.layers[account_id] = layer
        writes.timers[account_id] = (until, now)
        if liquidate:
            closings, realized, cash = _closings(state, None, trade_date(now))
            writes.liquidated.append(account_id)
            writes.books.append(Book(account_id, closings, cash if cash is not state.cash else None))
            writes.realized[account_id] = realized
            steps.append("liquidation")
            # What the account holds after: the positions without a price (their closing orders
            # stay working), and the cash the fills moved.
            state = LiquidationState(tuple(h for h in state.positions if h.last is None), cash, False)
        elif status.liquidate_only is None:
            status = replace(status, liquidate_only=now)
            writes.statuses[account_id] = status
        when = "until changed (doNotUnlock)" if until is None else f"until {until.isoformat()}"
        action = "liquidated and locked" if liquidate else "liquidate-only"
        reason = f"{breach.message}; {action} {when}"
        writes.logs.append(SystemLog(account_id, status, reason))
        writes.alerts.append(NewAlert(account_id, rule.name, level, reason))
        steps += ("log", "alert")
        acted = acted or breach
    if acted is not None:
        numbers = _numbers(state)
    writes.triggers[account_id] = _triggers(settings, numbers, status, layer, alerted)
    return Evaluation(found, acted)


def _write(
    store: Store, inputs: dict[int, EvaluationInput], writes: _Writes, now: datetime, day: date
) -> None:
    """The evaluations' writes, a table at a time; then their events, account by account in the
    order a one-by-one evaluation emits them."""
    store.save_risk_statuses(list(writes.statuses.values()))
    store.save_auto_liq_layers(list(writes.layers.values()))
    store.replace_unlock_timers(writes.timers)
    ended = store.end_live_work_of(writes.liquidated, now, TEXT_LIQUIDATED)
    booked = dict(zip(writes.liquidated, store.book_closings_of(writes.books, now, day), strict=True))
    entries = iter(store.append_system_logs(writes.logs, now))
    alerts = iter(store.add_alerts(writes.alerts, now, day))
    store.save_triggers_of(writes.triggers)
    books = {book.account_id: book for book in writes.books}
    for account_id, steps in writes.steps.items():
        account = inputs[account_id].account
        for step in steps:
            if step == "alert":
                alert = next(alerts)
                store.emit(AlertRaised(account.organization_id, account.user_id, alert))
                if alert.level is not Level.FLATTEN:
                    store.after_commit(partial(count_breach, alert.rule, alert.level.value))
            elif step == "log":
                entry = next(entries)
                store.emit(
                    RiskStatusChanged(
                        account.organization_id, account.id, account.user_id, entry.status, entry
                    )
                )
            else:
                interrupted, cancelled = ended.get(account_id, ([], []))
                book = books[account_id]
                _emit_liquidation(
                    store, account_id, interrupted, cancelled, booked[account_id], book.closings,
                    writes.realized[account_id],
                )  # fmt: skip
                store.after_commit(partial(count_liquidation, "auto_liq"))


def _triggers(
    settings: AutoLiqSettings,
    numbers: _Numbers,
    status: RiskStatus,
    layer: AutoLiqLayer | None,
    alerted: frozenset[str],
) -> dict[int, tuple[int | None, int | None]]:
    """The prices at which the account must be evaluated again. One contract held: its exact
    triggers; several: every price change of any of them (one price alone does not decide)."""
    if not numbers.positions:
        return {}
    if len(numbers.positions) > 1:
        return {c.id: (ALWAYS_LOW, None) for c, _ in numbers.positions}
    contract, state = numbers.positions[0]
    value = contract.product.value_per_point
    exposure = Exposure(
        cash=float(numbers.amount),
        realized=float(numbers.realized),
        week_realized=float(numbers.week),
        sod_balance=float(numbers.sod),
        margin=float(abs(state.net_pos) * _margin(contract)),
        slope=float(state.net_pos * value),
        basis=float(value * sum((lot.qty * lot.price for lot in state.lots), Decimal(0))),
    )
    active = active_rules(settings, layer, alerted)
    mark = Mark(status.max_net_liq, status.min_net_liq)
    return {contract.id: price_triggers(settings, exposure, mark, active, contract.product.tick_size)}


def _alert(store: Store, account: Account, now: datetime, rule: str, level: Level, message: str) -> None:
    """Store and publish an alert; a rule's alert is also the breach metric (once per rule and
    trade date for an alert-level rule, once per lock for the others)."""
    alert = store.add_alert(account.id, now, trade_date(now), rule, level, message)
    store.emit(AlertRaised(account.organization_id, account.user_id, alert))
    if level is not Level.FLATTEN:
        store.after_commit(partial(count_breach, rule, level.value))


def _log(store: Store, account: Account, status: RiskStatus, now: datetime, reason: str) -> None:
    entry = store.append_log(account.id, now, status, Actor.SYSTEM, None, None, reason)
    store.emit(RiskStatusChanged(account.organization_id, account.id, account.user_id, status, entry))


def unlock(store: Store, timer: Timer) -> bool:
    """An unlock timer fires: clear the layer it was set for (a newer lock has its own timer), give
    back `liquidateOnly` where the auto-liq layer had set it, log, then evaluate again (a rule
    still breached locks again)."""
    layer = store.auto_liq_layer(timer.account_id)
    account = store.account(timer.account_id)
    if layer is None or account is None or layer.until != timer.due_at or layer.since != timer.set_at:
        return False
    status = clear_layer(store, account.id)
    _log(
        store, account, status, timer.due_at, f"{layer.rule}: auto-liquidation lock ended at the market open"
    )
    evaluate_account(store, account.id, timer.due_at)
    return True


def clear_layer(store: Store, account_id: int) -> RiskStatus:
    """Clear the account's auto-liq layer and give back the `liquidateOnly` it had set (unless the
    admin layer is in liquidate-only mode itself); the status after."""
    layer = store.clear_auto_liq_layer(account_id)
    status = store.risk_status(account_id) or RiskStatus(id=account_id)
    if (
        layer is not None
        and layer.state is LayerState.LIQUIDATE_ONLY
        and status.liquidate_only is not None
        and status.admin_action is not AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY
    ):
        status = replace(status, liquidate_only=None)
        store.save_risk_status(status)
    return status


def flatten(store: Store, timer: Timer) -> bool:
    """`flattenTimestamp` came: cancel the working orders and flatten, once (no lock)."""
    settings = store.auto_liq_settings_of(timer.account_id)
    account = store.account(timer.account_id)
    if settings is None or account is None or settings.flatten_timestamp != timer.due_at:
        return False
    if _liquidate(store, account.id, None, timer.due_at):
        evaluate_account(store, account.id, timer.due_at, known=True)
    store.after_commit(partial(count_liquidation, "flatten"))
    reason = f"{FLATTEN_RULE}: working orders cancelled and positions flattened at {timer.due_at.isoformat()}"
    _log(store, account, store.risk_status(account.id) or RiskStatus(id=account.id), timer.due_at, reason)
    _alert(store, account, timer.due_at, FLATTEN_RULE, Level.FLATTEN, reason)
    return True


def settings_changed(store: Store, settings: AutoLiqSettings, now: datetime) -> None:
    """After an account's settings were saved: move the flatten timer, recompute the trailing floor
    from the mark, and evaluate the new rules at once."""
    store.delete_timers(settings.id, TimerKind.FLATTEN)
    if settings.flatten_timestamp is not None and settings.flatten_timestamp > now:
        store.add_timer(settings.id, TimerKind.FLATTEN, settings.flatten_timestamp)
    status = store.risk_status(settings.id)
    if status is not None and status.max_net_liq is not None:
        floor = next_mark(settings, Mark(status.max_net_liq, None), status.max_net_liq).min_net_liq
        if floor != status.min_net_liq:
            store.save_risk_status(replace(status, min_net_liq=floor))
    evaluate_account(store, settings.id, now)


def close_sessions(store: Store, now: datetime) -> int:
    """The session job: once per trade date's end, expire the Day orders of the ended trade date,
    raise the `EOD` trailing marks to the net liquidation value and evaluate every account holding
    a position again (its daily figures, and so its price triggers, start again). The first run on a new
    database only records where it stands. How many accounts it evaluated."""
    today = trade_date(now)
    closed = store.session_closed_date()
    if closed is not None and not date_within(closed):
        # Written by a clock poisoned before the time bounds existed (9999-12-31 has no next trade
        # date): start again from today, as on a new database; the row is overwritten, so once.
        log.warning("session job: the stored trade date %s is out of bounds; ignored", closed)
        closed = None
    if closed is not None and next_trade_date(closed) >= today:
        return 0
    store.save_session_closed_date(previous_trade_date(today))
    if closed is None:
        return 0
    # Day orders entered before today's session began belong to an ended trade date.
    start = session_begin(today)
    for order_id, account_id in store.working_day_orders(created_before=start):
        summary = store.order_summary(order_id)
        if summary is None or summary[1] is not OrdStatus.WORKING:
            continue  # cancelled in this loop with the OCO sibling or entry that expired before it
        store.set_order_status(order_id, OrdStatus.EXPIRED, now)
        store.emit(TradingEntityChanged("order", "Updated", account_id, order_id))
        # Its OCO sibling and suspended brackets are cancelled, as when it is cancelled.
        execution.settle_links_after_end(store, order_id, account_id, summary[2], now)
    # Daily figures start again (the stored price triggers with them); EOD marks move.
    visiting = store.session_end_accounts()
    evaluate_accounts(store, visiting, now, end_of_day=True)
    return len(visiting)


# -- the loop's entry points: execution's step, then the post-trade rules after a fill --


def place_order(store: Store, order: NewOrder, now: datetime) -> OrderOutcome:
    """Place `order` through the gate (execution.place); a fill is evaluated at once."""
    done = execution.place(store, order, now)
    if done.filled is not None:
        evaluate_account(store, done.filled, now)
    return done.outcome


def modify_order(store: Store, change: OrderChange, now: datetime) -> OrderOutcome:
    """Modify a working order through the gate (execution.modify); a fill is evaluated at once."""
    done = execution.modify(store, change, now)
    if done.filled is not None:
        evaluate_account(store, done.filled, now)
    return done.outcome


def fill_now(
    store: Store,
    order: Order,
    contract: ContractSpec,
    price: Decimal,
    now: datetime,
    *,
    triggered: bool = False,
) -> None:
    """Fill a stored working order whole at `price` (judged by the caller), then evaluate."""
    execution.fill_now(store, order, contract, price, now, triggered=triggered)
    evaluate_account(store, order.account_id, now)


def liquidate_position(
    store: Store, account_id: int, contract: ContractSpec, admin: bool, now: datetime
) -> OrderOutcome:
    """Tradovate's liquidateposition (execution.close_position); its fill is evaluated at once."""
    done = execution.close_position(store, account_id, contract, admin, now)
    if done.filled is not None:
        evaluate_account(store, done.filled, now)
    return done.outcome


def fill_resting_orders(
    store: Store, contract: ContractSpec, last: Decimal, now: datetime, max_position: int | None = None
) -> int:
    """After a price change: fill the working orders the new price reaches (oldest first), each
    account evaluated after its order's fill, before the next order is judged; how many filled."""
    filled = 0
    day = trade_date(now)  # once for the tick, not per resting order
    for order in store.working_orders(contract):
        if execution.fill_resting_order(store, order, contract, last, now, day, max_position):
            evaluate_account(store, order.account_id, now)
            filled += 1
    return filled


def evaluate_candidates(store: Store, prices: Sequence[tuple[ContractSpec, Decimal]], now: datetime) -> int:
    """After a price change (its resting fills done): evaluate the accounts whose price triggers the
    new prices reach, once each (the others' rules cannot be reached between their triggers); how
    many."""
    reached: dict[int, None] = {}
    for contract, price in prices:
        reached.update(dict.fromkeys(store.candidates(contract.id, int(price / contract.product.tick_size))))
    evaluate_accounts(store, list(reached), now)
    return len(reached)


# -- the liquidation: the account's state read once, written set-based --


def liquidate_account(
    store: Store, account_id: int, contracts: dict[int, ContractSpec] | None, now: datetime
) -> None:
    """Liquidate the account (LiquidateImmediately, the flatten timer): interrupt its running
    strategies and cancel every working and suspended order (no bracket wakes after a liquidation),
    then close every position held in `contracts` (None: every known contract) with an admin market
    order at the last price (without a price it stays working until one arrives). Then, when a
    closing order filled, the account's post-trade rules are evaluated once."""
    if _liquidate(store, account_id, contracts, now):
        evaluate_account(store, account_id, now)


def _liquidate(
    store: Store, account_id: int, contracts: dict[int, ContractSpec] | None, now: datetime
) -> bool:
    """The liquidation's writes; whether a closing order filled on an account with post-trade rules
    (whose evaluation is then the caller's). One read of the account's state, then one statement
    per table written, whatever the account holds; the rows and events are those of a row-by-row
    liquidation in the same order (tests/reference_liquidation.py, compared by a property test)."""
    day = trade_date(now)
    state = store.liquidation_state(account_id, day)
    interrupted: list[int] = []
    cancelled: list[int] = []
    if state.strategies or state.orders:
        interrupted, cancelled = store.end_live_work(
            account_id, now, TEXT_LIQUIDATED, strategies=state.strategies, orders=state.orders
        )
    closings, realized, cash = _closings(state, contracts, day)
    booked = store.book_closings(account_id, closings, cash if cash is not state.cash else None, now, day)
    _emit_liquidation(store, account_id, interrupted, cancelled, booked, closings, realized)
    return state.has_settings and any(fill_id is not None for _, fill_id in booked)


def _closings(
    state: LiquidationState, contracts: dict[int, ContractSpec] | None, day: date
) -> tuple[list[Closing], list[bool], CashState]:
    """A liquidation's closing orders of the positions held in `contracts` (None: every known
    contract), whether each one's fill realized P&L (moving the cash), and the cash after them."""
    closings: list[Closing] = []
    realized: list[bool] = []
    cash = state.cash
    for held in state.positions:
        contract = held.contract if contracts is None else contracts.get(held.contract.id)
        net = held.state.net_pos
        if contract is None or net == 0:
            continue  # an expired contract: nothing trades it any more
        side = Side.SELL if net > 0 else Side.BUY
        # Not through the gate: a liquidation's closing order is never refused, whatever the
        # account's state (the gate would pass it anyway: it only closes, and the account's working
        # orders were all cancelled first).
        if held.last is None:
            closings.append(Closing(contract, side, abs(net), None, None))
            realized.append(False)
            continue
        effect = apply_fill(held.state, side, abs(net), held.last)
        if effect.realized_points:
            cents = realized_cents(effect.realized_points, contract.product.value_per_point)
            cash = with_realized(cash, cents, day)
        closings.append(Closing(contract, side, abs(net), held.last, effect.position))
        realized.append(bool(effect.realized_points))
    return closings, realized, cash


def _emit_liquidation(
    store: Store,
    account_id: int,
    interrupted: Sequence[int],
    cancelled: Sequence[int],
    booked: Sequence[tuple[int, int | None]],
    closings: Sequence[Closing],
    realized: Sequence[bool],
) -> None:
    """The events of execution's row-by-row liquidation, in its order."""
    for strategy_id in interrupted:
        store.emit(TradingEntityChanged("orderStrategy", "Updated", account_id, strategy_id))
    for order_id in cancelled:
        store.emit(TradingEntityChanged("order", "Updated", account_id, order_id))
    for (order_id, fill_id), closing, moved_cash in zip(booked, closings, realized, strict=True):
        store.emit(TradingEntityChanged("order", "Created", account_id, order_id))
        if fill_id is None:
            continue
        store.emit(TradingEntityChanged("fill", "Created", account_id, fill_id))
        store.emit(TradingEntityChanged("position", "Updated", account_id, closing.contract.id))
        if moved_cash:
            store.emit(TradingEntityChanged("cashBalance", "Updated", account_id, account_id))
