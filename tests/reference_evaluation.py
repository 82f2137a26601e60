"""The one-by-one evaluation the set-based one (`service/risk_engine.evaluate_accounts`) is checked
against: each account's post-trade rules evaluated and acted on by itself, through the per-account
port (the risk engine as it was before its evaluations went set-based). A test oracle, kept out of
src (production has one evaluation).

Per account: read its settings, numbers, status, layer and alerted rules; move the trailing mark;
alert once per rule and trade date; lock (liquidate-only, or liquidate through the risk engine's
one-account liquidation) with its layer, unlock timer, log row and alert; then store the price
triggers of what it holds after."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from functools import partial

from autoliq.domain.auto_liq import (
    ALWAYS_LOW,
    AutoLiqLayer,
    Breach,
    Exposure,
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
from autoliq.domain.events import AlertRaised, RiskStatusChanged
from autoliq.domain.model import Account, RiskStatus
from autoliq.domain.session import trade_date
from autoliq.domain.states import Actor
from autoliq.domain.timers import TimerKind
from autoliq.service import risk_engine
from autoliq.service.ports import Store
from autoliq.telemetry.metrics import count_breach, count_liquidation


def evaluate_accounts(
    store: Store, account_ids: Sequence[int], now: datetime, *, end_of_day: bool = False
) -> dict[int, tuple[tuple[Breach, ...], Breach | None]]:
    """Each account evaluated by itself, one after the other: (breaches found, the one acted on)."""
    done = {}
    for account_id in dict.fromkeys(account_ids):
        found = evaluate_account(store, account_id, now, end_of_day=end_of_day)
        if found is not None:
            done[account_id] = found
    return done


def evaluate_account(
    store: Store, account_id: int, now: datetime, *, end_of_day: bool = False
) -> tuple[tuple[Breach, ...], Breach | None] | None:
    settings = store.auto_liq_settings_of(account_id)
    if settings is None:
        return None
    numbers = risk_engine._numbers(store.liquidation_state(account_id, trade_date(now), live_work=False))
    n = numbers
    figures = figures_of(n.amount, n.sod, n.realized, n.week, n.open_pnl, n.margin)
    status = store.risk_status(account_id) or RiskStatus(id=account_id)
    mark = next_mark(
        settings, Mark(status.max_net_liq, status.min_net_liq), figures.net_liq, end_of_day=end_of_day
    )
    if (mark.max_net_liq, mark.min_net_liq) != (status.max_net_liq, status.min_net_liq):
        status = replace(status, max_net_liq=mark.max_net_liq, min_net_liq=mark.min_net_liq)
        store.save_risk_status(status)
    found = tuple(breaches(settings, figures, mark))
    day = trade_date(now)
    layer = store.auto_liq_layer(account_id)
    alerted = frozenset()
    if found or numbers.positions:
        alerted = store.alerted_rules_of([account_id], day).get(account_id, frozenset())
    acted: Breach | None = None
    if found:
        account = store.account(account_id)
        assert account is not None
        for breach in found:
            rule = breach.rule
            if rule.level is Level.ALERT:
                if rule.name not in alerted:
                    _alert(store, account, now, rule.name, rule.level, breach.message)
                    alerted = alerted | {rule.name}
                continue
            if suppressed(status.admin_action, rule.level) or not stricter(layer, rule.level):
                continue
            until = unlock_time(rule, settings, now)
            liquidate = rule.level is Level.AUTO_LIQ
            state = LayerState.LOCKED if liquidate else LayerState.LIQUIDATE_ONLY
            layer = AutoLiqLayer(account.id, state, rule.name, now, until)
            store.save_auto_liq_layers([layer])
            store.delete_timers(account.id, TimerKind.AUTO_LIQ_UNLOCK)
            if until is not None:
                store.add_timer(account.id, TimerKind.AUTO_LIQ_UNLOCK, until, set_at=now)
            if liquidate:
                risk_engine._liquidate(store, account.id, numbers.contracts, now)
                store.after_commit(partial(count_liquidation, "auto_liq"))
            elif status.liquidate_only is None:
                status = replace(status, liquidate_only=now)
                store.save_risk_status(status)
            when = "until changed (doNotUnlock)" if until is None else f"until {until.isoformat()}"
            action = "liquidated and locked" if liquidate else "liquidate-only"
            reason = f"{breach.message}; {action} {when}"
            logged = store.risk_status(account.id) or status
            entry = store.append_log(account.id, now, logged, Actor.SYSTEM, None, None, reason)
            store.emit(RiskStatusChanged(account.organization_id, account.id, account.user_id, logged, entry))
            _alert(store, account, now, rule.name, rule.level, reason)
            status = store.risk_status(account_id) or status
            acted = acted or breach
    if acted is not None:
        numbers = risk_engine._numbers(store.liquidation_state(account_id, day, live_work=False))
        status = store.risk_status(account_id) or status
    store.save_triggers_of({account_id: _triggers(settings, numbers, status, layer, alerted)})
    return found, acted


def _alert(store: Store, account: Account, now: datetime, rule: str, level: Level, message: str) -> None:
    alert = store.add_alert(account.id, now, trade_date(now), rule, level, message)
    store.emit(AlertRaised(account.organization_id, account.user_id, alert))
    if level is not Level.FLATTEN:
        store.after_commit(partial(count_breach, rule, level.value))


def _triggers(settings, numbers, status, layer, alerted):  # type: ignore[no-untyped-def]
    if not numbers.positions:
        return {}
    if len(numbers.positions) > 1:
        return {c.id: (ALWAYS_LOW, None) for c, _ in numbers.positions}
    contract, state = numbers.positions[0]
    value = contract.product.value_per_point
    margin = risk_engine.MARGIN_PER_CONTRACT.get(contract.product.name, Decimal(0))
    exposure = Exposure(
        cash=float(numbers.amount),
        realized=float(numbers.realized),
        week_realized=float(numbers.week),
        sod_balance=float(numbers.sod),
        margin=float(abs(state.net_pos) * margin),
        slope=float(state.net_pos * value),
        basis=float(value * sum((lot.qty * lot.price for lot in state.lots), Decimal(0))),
    )
    active = active_rules(settings, layer, alerted)
    mark = Mark(status.max_net_liq, status.min_net_liq)
    return {contract.id: price_triggers(settings, exposure, mark, active, contract.product.tick_size)}
