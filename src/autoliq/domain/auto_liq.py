"""The auto-liq layer: what post-trade rules decide from an account's numbers, and what they do.

Two layers decide whether an account may trade (PRODUCT.md): the admin layer (`adminAction`) and
this one, set by a breached rule and cleared at the next market open (Sunday's for weekly rules),
never by itself with `doNotUnlock`, and by `resetautoliqstatus` or `Normal`. The stricter wins.

Everything here is pure: `figures_of` turns cash and positions into the numbers the rules read,
`breaches` compares them with the settings, `next_mark` moves the trailing drawdown's high-water
mark. The service layer stores and acts on the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum

from autoliq.domain.post_trade import AutoLiqSettings, TrailingMode, trailing_floor, wire_name
from autoliq.domain.session import next_market_open, next_weekly_open
from autoliq.domain.states import AdminAction


class LayerState(StrEnum):
    """What a breached rule left the account able to do."""

    LIQUIDATE_ONLY = "LiquidateOnly"
    """Only orders that reduce a position (a liquidate-only trigger)."""
    LOCKED = "Locked"
    """Nothing new: positions were flattened and working orders cancelled (an auto-liq trigger)."""


class Level(StrEnum):
    """What a rule does when its limit is reached."""

    ALERT = "Alert"
    """An alert to the permitted users; trading goes on."""
    LIQUIDATE_ONLY = "LiquidateOnly"
    """The auto-liq layer goes liquidate-only."""
    AUTO_LIQ = "AutoLiq"
    """Working orders cancelled, positions flattened, the auto-liq layer locked."""
    FLATTEN = "Flatten"
    """`flattenTimestamp`: cancel and flatten once, no lock."""


class Measure(Enum):
    """The number a rule compares with its limit."""

    DAILY_LOSS = "daily loss"
    DAILY_LOSS_PERCENTAGE = "daily loss as % of the day's starting balance"
    WEEKLY_LOSS = "weekly loss"
    DAILY_PROFIT = "daily profit"
    WEEKLY_PROFIT = "weekly profit"
    MARGIN_PERCENTAGE = "margin used as % of net liquidation value"
    TRAILING_DRAWDOWN = "net liquidation value against the trailing drawdown floor"


class Unlock(Enum):
    """When a lock set by the rule ends by itself."""

    NEXT_OPEN = "the next market open"
    SUNDAY_OPEN = "Sunday's market open"


@dataclass(frozen=True, slots=True)
class Rule:
    """One post-trade rule: the settings field holding its limit, what it measures and does."""

    field: str
    measure: Measure
    level: Level
    unlock: Unlock = Unlock.NEXT_OPEN

    @property
    def name(self) -> str:
        """The rule's name: its settings field as Tradovate spells it (`dailyLossAutoLiq`)."""
        return wire_name(self.field)


M, L = Measure, Level
RULES: tuple[Rule, ...] = (
    # Strictest first: one evaluation acts on the first auto-liq breach and reports the rest.
    Rule("trailing_max_drawdown", M.TRAILING_DRAWDOWN, L.AUTO_LIQ),
    Rule("daily_loss_auto_liq", M.DAILY_LOSS, L.AUTO_LIQ),
    Rule("daily_loss_percentage_auto_liq", M.DAILY_LOSS_PERCENTAGE, L.AUTO_LIQ),
    Rule("weekly_loss_auto_liq", M.WEEKLY_LOSS, L.AUTO_LIQ, Unlock.SUNDAY_OPEN),
    Rule("daily_profit_auto_liq", M.DAILY_PROFIT, L.AUTO_LIQ),
    Rule("weekly_profit_auto_liq", M.WEEKLY_PROFIT, L.AUTO_LIQ, Unlock.SUNDAY_OPEN),
    Rule("margin_percentage_auto_liq", M.MARGIN_PERCENTAGE, L.AUTO_LIQ),
    Rule("daily_loss_liq_only", M.DAILY_LOSS, L.LIQUIDATE_ONLY),
    Rule("daily_loss_percentage_liq_only", M.DAILY_LOSS_PERCENTAGE, L.LIQUIDATE_ONLY),
    Rule("margin_percentage_liq_only", M.MARGIN_PERCENTAGE, L.LIQUIDATE_ONLY),
    Rule("daily_loss_alert", M.DAILY_LOSS, L.ALERT),
    Rule("daily_loss_percentage_alert", M.DAILY_LOSS_PERCENTAGE, L.ALERT),
    Rule("margin_percentage_alert", M.MARGIN_PERCENTAGE, L.ALERT),
)  # fmt: skip
RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
FLATTEN_RULE = "flattenTimestamp"

# Initial margin per contract, in dollars, by product name: the sandbox's simple margin table
# (round figures of the order of CME's; the sandbox does not follow the exchange's changes).
MARGIN_PER_CONTRACT: dict[str, Decimal] = {
    "ES": Decimal(13_000), "MES": Decimal(1_300), "NQ": Decimal(19_000), "MNQ": Decimal(1_900),
    "YM": Decimal(9_000), "MYM": Decimal(900), "RTY": Decimal(6_500), "M2K": Decimal(650),
    "CL": Decimal(6_000), "MCL": Decimal(600), "GC": Decimal(10_000), "MGC": Decimal(1_000),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class AutoLiqLayer:
    """An account's auto-liq layer while a rule holds it (no row: the layer is clear)."""

    account_id: int
    state: LayerState
    rule: str
    """The rule that set it (`dailyLossAutoLiq`)."""
    since: datetime
    until: datetime | None
    """When it ends by itself; None with `doNotUnlock` (until `Normal` or `resetautoliqstatus`)."""


@dataclass(frozen=True, slots=True)
class Figures:
    """An account's numbers now, in dollars."""

    net_liq: float
    """Cash plus the open P&L of its positions at their last prices."""
    sod_balance: float
    """The cash at the start of the trade date."""
    day_pnl: float
    """Realized P&L of the trade date plus open P&L."""
    week_pnl: float
    """Realized P&L of the week plus open P&L."""
    margin: float
    """Initial margin of the open positions (MARGIN_PER_CONTRACT × contracts)."""


@dataclass(frozen=True, slots=True)
class Breach:
    """A rule whose limit the figures reached."""

    rule: Rule
    value: float
    limit: float

    @property
    def message(self) -> str:
        """Why, for the audit log and the alert."""
        unit = "%" if self.rule.measure in (M.DAILY_LOSS_PERCENTAGE, M.MARGIN_PERCENTAGE) else "$"
        if self.rule.measure is M.TRAILING_DRAWDOWN:
            return (
                f"{self.rule.name}: net liquidation value ${self.value:,.2f} reached the trailing "
                f"drawdown floor (minNetLiq) ${self.limit:,.2f}"
            )
        value, limit = _amount(self.value, unit), _amount(self.limit, unit)
        return f"{self.rule.name}: {self.rule.measure.value} {value} reached the limit {limit}"


def _amount(value: float, unit: str) -> str:
    return f"{value:,.2f}%" if unit == "%" else f"${value:,.2f}"


@dataclass(frozen=True, slots=True)
class Mark:
    """The trailing drawdown's high-water mark (`maxNetLiq`) and floor (`minNetLiq`)."""

    max_net_liq: float | None
    min_net_liq: float | None


def figures_of(
    amount: Decimal,
    sod: Decimal,
    realized: Decimal,
    week_realized: Decimal,
    open_pnl: Decimal,
    margin: Decimal,
) -> Figures:
    """The rules' figures from the cash snapshot's parts (dollars)."""
    return Figures(
        net_liq=float(amount + open_pnl),
        sod_balance=float(sod),
        day_pnl=float(realized + open_pnl),
        week_pnl=float(week_realized + open_pnl),
        margin=float(margin),
    )


def measure(figures: Figures, what: Measure, mark: Mark) -> float | None:
    """The figure `what` compares with its limit (None where it cannot be computed)."""
    if what is M.DAILY_LOSS:
        return -figures.day_pnl
    if what is M.DAILY_LOSS_PERCENTAGE:
        if figures.sod_balance <= 0:
            return None
        return -figures.day_pnl / figures.sod_balance * 100
    if what is M.WEEKLY_LOSS:
        return -figures.week_pnl
    if what is M.DAILY_PROFIT:
        return figures.day_pnl
    if what is M.WEEKLY_PROFIT:
        return figures.week_pnl
    if what is M.MARGIN_PERCENTAGE:
        if figures.margin <= 0:
            return 0.0
        return math.inf if figures.net_liq <= 0 else figures.margin / figures.net_liq * 100
    return figures.net_liq  # TRAILING_DRAWDOWN: compared with the floor, the other way


def breaches(settings: AutoLiqSettings, figures: Figures, mark: Mark) -> list[Breach]:
    """Every rule of `settings` whose limit `figures` reach, strictest first. A loss, profit or
    margin rule is reached when its figure is positive and at least the limit; the trailing
    drawdown when the net liquidation value is at or below the floor `minNetLiq`."""
    found: list[Breach] = []
    for rule in RULES:
        limit: float | None = getattr(settings, rule.field)
        if limit is None:
            continue
        if rule.measure is M.TRAILING_DRAWDOWN:
            if mark.min_net_liq is not None and figures.net_liq <= mark.min_net_liq:
                found.append(Breach(rule, figures.net_liq, mark.min_net_liq))
            continue
        value = measure(figures, rule.measure, mark)
        if value is not None and value > 0 and value >= limit:
            found.append(Breach(rule, value, limit))
    return found


def trailing_mode(settings: AutoLiqSettings) -> TrailingMode:
    """The settings' trailing mode; `RealTime` when unset."""
    return settings.trailing_max_drawdown_mode or TrailingMode.REAL_TIME


def next_mark(settings: AutoLiqSettings, mark: Mark, net_liq: float, *, end_of_day: bool = False) -> Mark:
    """The high-water mark and floor after the account's net liquidation value is `net_liq`.

    Without a trailing drawdown the mark is left alone. The first reading sets the mark; after it,
    `RealTime` raises it on every new high and `EOD` only at the day's end (`end_of_day`). The floor
    is the mark less the drawdown, capped at `trailingMaxDrawdownLimit`: once the floor reaches the
    limit it stops rising."""
    if settings.trailing_max_drawdown is None:
        return mark
    high = mark.max_net_liq
    if high is None:
        high = net_liq
    elif end_of_day or trailing_mode(settings) is TrailingMode.REAL_TIME:
        high = max(high, net_liq)
    return Mark(high, trailing_floor(high, settings))


def suppressed(action: AdminAction, level: Level) -> bool:
    """Whether the admin layer holds back a rule of `level`: `PlaceAutoLiqOnHold` and
    `DisableAutoLiq` hold back liquidations and liquidate-only triggers, `AgreedOnLiqOnlyModeByAutoLiq`
    liquidations only; alerts always go out."""
    if level is Level.ALERT:
        return False
    if action in (AdminAction.PLACE_AUTO_LIQ_ON_HOLD, AdminAction.DISABLE_AUTO_LIQ):
        return True
    return action is AdminAction.AGREED_ON_LIQ_ONLY_MODE_BY_AUTO_LIQ and level is Level.AUTO_LIQ


def unlock_time(rule: Rule, settings: AutoLiqSettings, now: datetime) -> datetime | None:
    """When a lock by `rule` set at `now` ends by itself: None with `doNotUnlock`."""
    if settings.do_not_unlock:
        return None
    return next_weekly_open(now) if rule.unlock is Unlock.SUNDAY_OPEN else next_market_open(now)


def stricter(current: AutoLiqLayer | None, level: Level) -> bool:
    """Whether a breach at `level` makes the layer stricter than `current` (so it must act)."""
    if level is Level.AUTO_LIQ:
        return current is None or current.state is not LayerState.LOCKED
    if level is Level.LIQUIDATE_ONLY:
        return current is None
    return False


@dataclass(frozen=True, slots=True)
class Alert:
    """A stored alert: a rule's limit was reached (or the flatten time came)."""

    id: int
    account_id: int
    timestamp: datetime
    trade_date: date
    rule: str
    level: Level
    message: str


# -- price triggers: which price of a contract makes an account worth evaluating --
ALWAYS_LOW = 2**62
"""A low trigger every price reaches: the account is evaluated on every price change (it holds
more than one contract, so one contract's price alone does not decide)."""


@dataclass(frozen=True, slots=True)
class Exposure:
    """An account holding one contract, as a function of that contract's price `p` (dollars):
    net liq = cash - basis + slope·p, day P&L = realized - basis + slope·p, and so on."""

    cash: float
    realized: float
    week_realized: float
    sod_balance: float
    margin: float
    slope: float
    """Net position × value per point: dollars per point of price."""
    basis: float
    """Value per point × Σ lot quantity × lot price: what slope·p is measured against."""

    def figures(self, p: float) -> Figures:
        """The rules' figures at price `p`."""
        moved = self.slope * p - self.basis
        return Figures(
            self.cash + moved,
            self.sod_balance,
            self.realized + moved,
            self.week_realized + moved,
            self.margin,
        )


def _limit_on(rule: Rule, limit: float, exposure: Exposure, mark: Mark) -> tuple[float, float, bool] | None:
    """A rule as `g(p) ≤ T` (falling, third item True) or `g(p) ≥ T` (rising): the constant part of
    g and T. None when the rule cannot be reached by a price move."""
    e = exposure
    net_c, day_c, week_c = e.cash - e.basis, e.realized - e.basis, e.week_realized - e.basis
    m = rule.measure
    if m is M.DAILY_LOSS:
        return day_c, -limit, True
    if m is M.DAILY_LOSS_PERCENTAGE:
        return (day_c, -limit * e.sod_balance / 100, True) if e.sod_balance > 0 else None
    if m is M.WEEKLY_LOSS:
        return week_c, -limit, True
    if m is M.DAILY_PROFIT:
        return day_c, limit, False
    if m is M.WEEKLY_PROFIT:
        return week_c, limit, False
    if m is M.MARGIN_PERCENTAGE:
        if e.margin <= 0:
            return None
        return net_c, (math.inf if limit <= 0 else e.margin * 100 / limit), True
    if mark.min_net_liq is None:
        return None
    return net_c, mark.min_net_liq, True  # TRAILING_DRAWDOWN


def price_triggers(
    settings: AutoLiqSettings, exposure: Exposure, mark: Mark, active: frozenset[str], tick: Decimal
) -> tuple[int | None, int | None]:
    """The prices, in ticks, at or beyond which the account must be evaluated again: (low, high),
    None where nothing triggers on that side. Every breach of an `active` rule, and every move of a
    `RealTime` trailing mark, happens at a price ≤ low or ≥ high; between them nothing can change,
    so a price change there need not look at the account. Widened by a tick each way against
    rounding: a spare evaluation is harmless, a missed one is not."""
    slope = exposure.slope
    if slope == 0:
        return None, None
    lows: list[float] = []
    highs: list[float] = []

    def add(constant: float, threshold: float, falling: bool) -> None:
        if math.isinf(threshold):  # a margin rule with a zero limit: reached at every price
            lows.append(math.inf)
            return
        x = (threshold - constant) / slope
        # g = constant + slope·p: with a negative slope the inequality turns over.
        (lows if falling == (slope > 0) else highs).append(x)

    for rule in RULES:
        limit: float | None = getattr(settings, rule.field)
        if limit is None or rule.name not in active:
            continue
        shape = _limit_on(rule, limit, exposure, mark)
        if shape is not None:
            add(*shape)
    if (
        settings.trailing_max_drawdown is not None
        and mark.max_net_liq is not None
        and trailing_mode(settings) is TrailingMode.REAL_TIME
    ):
        add(exposure.cash - exposure.basis, mark.max_net_liq, False)  # a new high moves the mark
    size = float(tick)
    low = high = None
    if lows:
        # Prices are at least one tick: a low trigger under it is never reached; one beyond the
        # column's range is every price.
        top = max(lows) / size
        low = ALWAYS_LOW if top >= ALWAYS_LOW else (None if top < 0 else math.floor(top) + 1)
    if highs:
        bottom = min(highs) / size
        if bottom < ALWAYS_LOW:  # beyond: never reached
            high = max(0, math.ceil(bottom) - 1)  # 0 and below: every price
    return low, high


def active_rules(
    settings: AutoLiqSettings, layer: AutoLiqLayer | None, alerted: frozenset[str]
) -> frozenset[str]:
    """The rules of `settings` that can still do something today: alerts not yet raised, liquidate-only
    triggers while the layer is clear, auto-liq triggers while it is not locked."""
    names = set()
    for rule in RULES:
        if getattr(settings, rule.field) is None:
            continue
        if rule.level is Level.ALERT and rule.name in alerted:
            continue
        if rule.level is Level.LIQUIDATE_ONLY and layer is not None:
            continue
        if rule.level is Level.AUTO_LIQ and layer is not None and layer.state is LayerState.LOCKED:
            continue
        names.add(rule.name)
    return frozenset(names)
