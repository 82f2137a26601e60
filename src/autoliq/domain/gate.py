"""The one gate every order passes: REST, WebSocket, the liquidation engine and auto-liquidation
all call `check_order`. Its permissions are a table over the account's state, not `if`s on routes;
a refusal is a value with Tradovate's `failureReason`, never an exception."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from autoliq.domain.auto_liq import LayerState
from autoliq.domain.limits import (
    MAX_POS_LIMIT_REACHED,
    TEXT_AT_STORAGE_BOUND,
    passes_position_cap,
    text_max_position,
)
from autoliq.domain.states import AdminAction, Side


class Permission(Enum):
    """What an account's state lets a new order do."""

    ANY = "any"
    """Open, increase, reduce or reverse (other checks apply)."""
    REDUCE_ONLY = "reduce-only"
    """Only reduce an open position, never past flat, counting other working reducing orders."""
    NONE = "none"
    """Nothing new; only the liquidation engine's admin orders, which reduce."""


# PRODUCT.md's effects table.
ADMIN_PERMISSIONS: dict[AdminAction, Permission] = {
    AdminAction.NORMAL: Permission.ANY,
    AdminAction.DISABLE_AUTO_LIQ: Permission.ANY,
    AdminAction.PLACE_AUTO_LIQ_ON_HOLD: Permission.ANY,
    AdminAction.AGREED_ON_LIQ_ONLY_MODE_BY_AUTO_LIQ: Permission.ANY,
    AdminAction.AGREED_ON_LIQUIDATION_BY_AUTO_LIQ: Permission.ANY,
    AdminAction.LOCK_TRADING_IMMEDIATELY: Permission.NONE,
    AdminAction.LIQUIDATE_IMMEDIATELY: Permission.NONE,
    AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY: Permission.REDUCE_ONLY,
}

# The auto-liq layer's permissions (no layer: ANY).
LAYER_PERMISSIONS: dict[LayerState, Permission] = {
    LayerState.LOCKED: Permission.NONE,
    LayerState.LIQUIDATE_ONLY: Permission.REDUCE_ONLY,
}
_STRICTNESS = {Permission.ANY: 0, Permission.REDUCE_ONLY: 1, Permission.NONE: 2}

# Tradovate's failureReason values used by the gate.
TRADING_LOCKED = "TradingLocked"
LIQUIDATION_ONLY = "LiquidationOnly"
UNKNOWN_REASON = "UnknownReason"

TEXT_LOCKED = "Trading is locked for this account"
TEXT_LIQUIDATION_ONLY = "Account is in liquidation-only mode: only orders that reduce a position are accepted"
TEXT_ACCESS_DENIED = "Access is denied"
TEXT_AUTO_LIQ_LOCKED = "Trading is locked by auto-liquidation until the account is unlocked"
TEXT_AUTO_LIQ_LIQUIDATION_ONLY = (
    "Account is in liquidation-only mode by auto-liquidation: only orders that reduce a position are accepted"
)
TEXT_HALTED = "Trading is halted for this account's risk category"


@dataclass(frozen=True, slots=True)
class TradingState:
    """What decides an account's permission: its admin action, its auto-liq layer and whether its
    risk category is halted. The strictest of the three wins."""

    admin_action: AdminAction = AdminAction.NORMAL
    auto_liq: LayerState | None = None
    halted: bool = False
    limited: bool = False
    """The account has active pre-trade limit rows (`domain/position_limits.py`): the gate reads
    them after the three layers let an order in."""

    @property
    def permission(self) -> Permission:
        """The strictest permission of the three layers."""
        permission = ADMIN_PERMISSIONS[self.admin_action]
        if self.auto_liq is not None:
            layer = LAYER_PERMISSIONS[self.auto_liq]
            if _STRICTNESS[layer] > _STRICTNESS[permission]:
                permission = layer
        return Permission.NONE if self.halted else permission

    def refusal_texts(self) -> tuple[str, str]:
        """The failureText of a refusal for lock and for liquidate-only, naming the layer that
        refuses: the halt, else the admin layer when it is as strict as the refusal, else the
        auto-liq layer."""
        if self.halted:
            return TEXT_HALTED, TEXT_HALTED
        admin = _STRICTNESS[ADMIN_PERMISSIONS[self.admin_action]]
        by_admin = admin >= _STRICTNESS[self.permission]
        if by_admin:
            return TEXT_LOCKED, TEXT_LIQUIDATION_ONLY
        return TEXT_AUTO_LIQ_LOCKED, TEXT_AUTO_LIQ_LIQUIDATION_ONLY


NORMAL_STATE = TradingState()


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """A new order as the gate sees it."""

    side: Side
    qty: int
    admin_liquidation: bool = False
    """An order of the liquidation engine (`admin: true`) closing a position."""
    max_position: int | None = None
    """The net position cap per contract (`domain/limits.py`); None: not capped (the liquidation
    engine's orders, which only reduce)."""


@dataclass(frozen=True, slots=True)
class AccountPosition:
    """What the gate needs of the account and contract: state, net position, other working orders."""

    admin_action: AdminAction
    net_pos: int
    working_buy_qty: int = 0
    """Quantity of the account's other working buy orders in this contract."""
    working_sell_qty: int = 0
    """Quantity of the account's other working sell orders in this contract."""
    auto_liq: LayerState | None = None
    """The auto-liq layer's state (None: clear)."""
    halted: bool = False
    """The account's risk category is halted."""
    at_storage_bound: bool = False
    """The account's cash figures or this position's running totals reached `limits.OPEN_BOUND`."""

    @property
    def state(self) -> TradingState:
        """The three layers that decide the permission."""
        return TradingState(self.admin_action, self.auto_liq, self.halted)


@dataclass(frozen=True, slots=True)
class Allowed:
    """The order may go on."""


@dataclass(frozen=True, slots=True)
class Denied:
    """The order is refused: Tradovate's `failureReason` and a `failureText`."""

    failure_reason: str
    failure_text: str


Decision = Allowed | Denied
ALLOWED = Allowed()


def reducible_qty(side: Side, account: AccountPosition) -> int:
    """How much an order on `side` may still reduce: the opposite open position, less the other
    working orders on the same side that would reduce it already."""
    if side is Side.SELL and account.net_pos > 0:
        return max(0, account.net_pos - account.working_sell_qty)
    if side is Side.BUY and account.net_pos < 0:
        return max(0, -account.net_pos - account.working_buy_qty)
    return 0


def check_order(order: OrderIntent, account: AccountPosition) -> Decision:
    """Whether `account`'s state lets `order` in. Cancels never come here: they are always allowed."""
    state = account.state
    permission = state.permission
    reduces = 0 < order.qty <= reducible_qty(order.side, account)
    if order.admin_liquidation:
        # The liquidation engine may only close: it never opens, whatever the state.
        return ALLOWED if reduces else Denied(LIQUIDATION_ONLY, TEXT_LIQUIDATION_ONLY)
    if permission is Permission.NONE:
        return Denied(TRADING_LOCKED, state.refusal_texts()[0])
    if permission is Permission.REDUCE_ONLY and not reduces:
        return Denied(LIQUIDATION_ONLY, state.refusal_texts()[1])
    if order.max_position is not None and not reduces:
        # The limits come after the state: a locked account hears that it is locked.
        if account.at_storage_bound:
            return Denied(MAX_POS_LIMIT_REACHED, TEXT_AT_STORAGE_BOUND)
        working = account.working_buy_qty if order.side is Side.BUY else account.working_sell_qty
        if not passes_position_cap(order.side.sign, order.qty, account.net_pos, working, order.max_position):
            return Denied(MAX_POS_LIMIT_REACHED, text_max_position(order.max_position))
    return ALLOWED


def needs_position(order: OrderIntent, state: TradingState) -> bool:
    """Whether `check_order`'s decision on `order` depends on the position and the working orders
    (it does not when the state alone allows or refuses it), so a caller may skip reading them."""
    permission = state.permission
    if order.max_position is not None and permission is not Permission.NONE:
        return True  # the position cap and the storage bound depend on them
    return order.admin_liquidation or permission is Permission.REDUCE_ONLY


def may_trade(is_admin: bool, caller_id: int, caller_org: int, owner_id: int, account_org: int) -> bool:
    """Traders trade only the accounts they own; an admin trades its organization's accounts."""
    if caller_org != account_org:
        return False
    return is_admin or caller_id == owner_id
