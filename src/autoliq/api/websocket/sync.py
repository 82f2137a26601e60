"""`user/syncrequest`: which accounts a socket follows, the `SyncMessage` snapshot of them, and the
entities its `props` events carry.

Scope: the accounts the caller may see (its organization's for an admin, its own for a trader: the
REST reads' rule, `domain.gate.may_trade`), narrowed by the request's `accounts`, `users` and
`shardingExpression`. Every entity is built by the REST answers' own functions, so a snapshot's
and an event's JSON is byte for byte what the REST `item`/`list` routes answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec

from autoliq.api.bounds import Int64
from autoliq.api.schemas.account import AccountOut, account_out
from autoliq.api.schemas.auto_liq_settings import UserAccountAutoLiqIO, settings_out
from autoliq.api.schemas.linked import (
    ORDER_STRATEGY_TYPES,
    OrderStrategyLinkOut,
    OrderStrategyOut,
    OrderStrategyTypeOut,
    link_out,
    strategy_out,
)
from autoliq.api.schemas.market import (
    ContractGroupOut,
    ContractMaturityOut,
    ContractOut,
    CurrencyOut,
    ExchangeOut,
    ProductOut,
    contract_group_out,
    contract_maturity_out,
    contract_out,
    currency_out,
    exchange_out,
    product_out,
)
from autoliq.api.schemas.orders import (
    CashBalanceOut,
    FillOut,
    FillPairOut,
    OrderOut,
    PositionOut,
    cash_balance_out,
    fill_out,
    fill_pair_out,
    order_out,
    position_out,
)
from autoliq.api.schemas.position_limits import limit_out, parameter_out
from autoliq.api.schemas.risk import AccountRiskStatusOut, log_entry_out, risk_status_out
from autoliq.api.schemas.user import UserOut, user_out
from autoliq.container import Services
from autoliq.domain.errors import BadRequest
from autoliq.domain.events import Event, RiskStatusChanged, TradingEntityChanged
from autoliq.domain.gate import may_trade
from autoliq.domain.model import User
from autoliq.domain.states import Role
from autoliq.service.views import FillPairView

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_IDS = 10_000

RISK_STATUS = "accountRiskStatus"
RISK_STATUS_LOG = "accountRiskStatusLog"
ENTITY_TYPES = frozenset(
    {RISK_STATUS, RISK_STATUS_LOG, "order", "fill", "position", "cashBalance", "userAccountAutoLiq"}
    | {"orderStrategy", "orderStrategyLink", "userAccountPositionLimit", "userAccountRiskParameter"}
)
"""The entity types autoliq publishes `props` events for."""

# -- WIRE SHAPES --


class ShardingExpressionIn(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `ShardingExpression`."""

    expressionType: Literal["modAccountId", "modUserId"]
    divisor: Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)]
    remainder: Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]


class SyncRequestBody(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `SyncRequest`."""

    users: list[Int64] | None = None
    accounts: list[Int64] | None = None
    splitResponses: bool | None = None
    cutoffTimestamp: str | None = None
    entityTypes: list[str] | None = None
    shardingExpression: ShardingExpressionIn | None = None
    fullOrgSnapshot: bool | None = None


class SyncMessageOut(msgspec.Struct):
    """Tradovate's `SyncMessage`: the entity arrays autoliq has (`users` and `contractGroups` are
    required by the schema and always present); the instruments are those the sandbox lists."""

    users: list[UserOut]
    accounts: list[AccountOut]
    accountRiskStatuses: list[AccountRiskStatusOut]
    userAccountAutoLiqs: list[UserAccountAutoLiqIO]
    cashBalances: list[CashBalanceOut]
    positions: list[PositionOut]
    orders: list[OrderOut]
    fills: list[FillOut]
    fillPairs: list[FillPairOut]
    contractGroups: list[ContractGroupOut]
    orderStrategies: list[OrderStrategyOut]
    orderStrategyLinks: list[OrderStrategyLinkOut]
    orderStrategyTypes: list[OrderStrategyTypeOut]
    currencies: list[CurrencyOut]
    exchanges: list[ExchangeOut]
    products: list[ProductOut]
    contractMaturities: list[ContractMaturityOut]
    contracts: list[ContractOut]


# -- THE SUBSCRIPTION --


@dataclass(frozen=True, slots=True)
class Subscription:
    """What one socket follows after its syncrequest."""

    user: User
    entity_types: frozenset[str]
    accounts: frozenset[int] | None
    """The request's `accounts`, when given."""
    owners: frozenset[int] | None
    """The request's `users` (accounts owned by them), unless it named the caller itself."""
    sharding: tuple[bool, int, int] | None
    """(by user id, divisor, remainder) of the request's `shardingExpression`."""

    def covers(self, organization_id: int, account_id: int, owner_id: int) -> bool:
        """Whether events of this account reach the socket (before the entity-type filter)."""
        user = self.user
        if not may_trade(user.is_admin, user.id, user.organization_id, owner_id, organization_id):
            return False
        if self.accounts is not None and account_id not in self.accounts:
            return False
        if self.owners is not None and owner_id not in self.owners:
            return False
        if self.sharding is not None:
            by_user, divisor, remainder = self.sharding
            return (owner_id if by_user else account_id) % divisor == remainder
        return True

    def audience(self) -> Audience:
        """What `covers` and `entity_types` depend on, and nothing else: subscriptions with equal
        audiences get the same events (the hub checks one of them for all, and builds their frame
        once). An admin's identity is not part of it (it sees its whole organization); a trader's
        is (it sees the accounts it owns)."""
        user = self.user
        viewer = None if user.is_admin else user.id
        return (user.organization_id, viewer, self.entity_types, self.accounts, self.owners, self.sharding)


Audience = tuple[
    int,
    int | None,
    frozenset[str],
    frozenset[int] | None,
    frozenset[int] | None,
    tuple[bool, int, int] | None,
]
"""`Subscription.audience`: (organization, the trader it is limited to or None for an admin, entity
types, accounts, owners, sharding)."""


def entity_types_of(requested: list[str] | None) -> frozenset[str]:
    """The `props` entity types a request follows: those it names that autoliq publishes; every one
    of `ENTITY_TYPES` when it names none (absent, null or `[]`), as the official examples expect
    (they send `{"users": [id]}` or `{"accounts": [id]}` and then wait for `props`)."""
    if not requested:
        return ENTITY_TYPES
    return frozenset(requested) & ENTITY_TYPES


def subscription_of(user: User, body: SyncRequestBody) -> Subscription:
    """The subscription a request asks for; BadRequest (400) for a shape the schema allows but
    autoliq cannot serve."""
    for name, ids in (("users", body.users), ("accounts", body.accounts)):
        if ids is not None and len(ids) > MAX_IDS:
            raise BadRequest(f"{name}: at most {MAX_IDS} ids per request")
    sharding = body.shardingExpression
    if sharding is not None and sharding.remainder >= sharding.divisor:
        raise BadRequest("shardingExpression.remainder: should be less than divisor")
    owners = frozenset(body.users) if body.users and user.id not in body.users else None
    return Subscription(
        user=user,
        entity_types=entity_types_of(body.entityTypes),
        accounts=frozenset(body.accounts) if body.accounts else None,
        owners=owners,
        sharding=(
            None
            if sharding is None
            else (sharding.expressionType == "modUserId", sharding.divisor, sharding.remainder)
        ),
    )


# -- THE SNAPSHOT --


async def snapshot(services: Services, subscription: Subscription) -> SyncMessageOut:
    """The `SyncMessage` of the subscription's accounts, read with the REST reads' functions."""
    user = subscription.user
    visible = await services.views.accounts(user)
    accounts = [a for a in visible if subscription.covers(a.organization_id, a.id, a.user_id)]
    # Every visible account followed: read "all" (no id list); else the followed ids.
    ids: list[int] | None = None if len(accounts) == len(visible) else [a.id for a in accounts]
    strategies: list[OrderStrategyOut] = []
    links: list[OrderStrategyLinkOut] = []
    if ids == []:
        statuses, settings, balances, positions, orders, fills, pairs = [], [], [], [], [], [], []
    else:
        found = await services.linked.strategies(user, account_ids=ids)
        strategies = [strategy_out(v) for v in found]
        if found:
            strategy_ids = [v.id for v in found]
            links = [link_out(v) for v in await services.linked.links(user, strategy_ids=strategy_ids)]
        statuses = [risk_status_out(s) for s in await services.views.risk_statuses(user, ids)]
        settings = [settings_out(s) for s in await services.auto_liq.visible(user, ids)]
        balances = [cash_balance_out(b) for b in await services.cash_views.balances(user, ids)]
        positions = [position_out(v) for v in await _trading_rows(services, "position", user, ids)]
        pairs = [fill_pair_out(v) for v in await _fill_pairs(services, user, ids, positions)]
        orders = [order_out(v) for v in await _trading_rows(services, "order", user, ids)]
        fills = [fill_out(v) for v in await _trading_rows(services, "fill", user, ids)]
    owners = {user.id} | {a.user_id for a in accounts}
    users = [user_out(u, created) for u, created in await services.views.users(user, sorted(owners))]
    market = services.market
    listed = market.maturities()
    return SyncMessageOut(
        users=users,
        accounts=[account_out(a) for a in accounts],
        accountRiskStatuses=statuses,
        userAccountAutoLiqs=settings,
        cashBalances=balances,
        positions=positions,
        orders=orders,
        fillPairs=pairs,
        fills=fills,
        contractGroups=[contract_group_out(g) for g in market.contract_groups()],
        currencies=[currency_out(c) for c in market.currencies()],
        exchanges=[exchange_out(e) for e in market.exchanges()],
        products=[product_out(p) for p in market.products()],
        contractMaturities=[contract_maturity_out(c, is_front=market.is_front(c)) for c in listed],
        contracts=[contract_out(c) for c in listed],
        orderStrategies=strategies,
        orderStrategyLinks=links,
        orderStrategyTypes=list(ORDER_STRATEGY_TYPES),
    )


async def _trading_rows(services: Services, kind: str, user: User, ids: list[int] | None) -> list[Any]:
    """The REST list's rows of `kind` for accounts `ids` (all visible: None), read in chunks of ids,
    by id as the list answers them."""
    if ids is None:
        return await services.trading_views.rows(kind, user)
    rows: list[Any] = []
    for chunk in _chunks(ids):
        rows.extend(await services.trading_views.rows(kind, user, account_ids=chunk))
    return sorted(rows, key=lambda v: v.id)


async def _fill_pairs(
    services: Services, user: User, ids: list[int] | None, positions: list[PositionOut]
) -> list[FillPairView]:
    """The fill pairs of the snapshot's positions (all visible: None), by id as `fillPair/list`
    answers them, read in chunks of position ids."""
    if ids is None:
        return await services.trading_views.fill_pairs(user)
    found: list[FillPairView] = []
    for chunk in _chunks([p.id for p in positions]):
        found.extend(await services.trading_views.fill_pairs(user, position_ids=chunk))
    return sorted(found, key=lambda v: v.pair.id)


# -- EVENTS' ENTITIES --

_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Change:
    """One `props` event to fan out: its account, and the entity already encoded as JSON."""

    organization_id: int
    account_id: int
    owner_id: int
    entity_type: str
    event_type: str
    entity_json: str


def _reader(organization_id: int) -> User:
    """Who reads an event's entity: the organization's administrator's view (every account of it),
    so one read serves every socket that may see the account."""
    return User(id=0, organization_id=organization_id, name="", role=Role.ADMIN, full_name="", email="")


def risk_status_changes(event: RiskStatusChanged) -> list[Change]:
    """accountRiskStatus `Updated` and accountRiskStatusLog `Created`, from the event itself."""
    org, account_id, owner = event.organization_id, event.account_id, event.owner_user_id
    return [
        Change(
            org, account_id, owner, RISK_STATUS, "Updated", _encode(risk_status_out(event.status)).decode()
        ),
        Change(
            org,
            account_id,
            owner,
            RISK_STATUS_LOG,
            "Created",
            _encode(log_entry_out(event.log_entry)).decode(),
        ),
    ]


_CHUNK = 5000  # ids per read: well below both engines' limits on bound parameters


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


async def read_entities(
    services: Services, organization_id: int, kind: str, keys: set[tuple[int, int]]
) -> dict[tuple[int, int], str]:
    """The current entities of one organization's trading events, as their REST `item` answers
    them, encoded; keyed (account id, event's entity id). One read per kind and chunk of ids, however
    many events name them; an entity gone is left out."""
    reader = _reader(organization_id)
    found: dict[tuple[int, int], str] = {}
    if kind in ("orderStrategy", "orderStrategyLink"):
        by_id = {entity_id: account_id for account_id, entity_id in keys}
        for chunk in _chunks(sorted(by_id)):
            if kind == "orderStrategy":
                for strategy in await services.linked.strategies(reader, ids=chunk):
                    found[(by_id[strategy.id], strategy.id)] = _encode(strategy_out(strategy)).decode()
            else:
                for link in await services.linked.links(reader, ids=chunk):
                    found[(by_id[link.order_id], link.order_id)] = _encode(link_out(link)).decode()
        return found
    if kind in ("userAccountPositionLimit", "userAccountRiskParameter"):
        by_id = {entity_id: account_id for account_id, entity_id in keys}
        for chunk in _chunks(sorted(by_id)):
            if kind == "userAccountPositionLimit":
                for limit in await services.limits.limits(reader, ids=chunk):
                    found[(by_id[limit.id], limit.id)] = _encode(limit_out(limit)).decode()
            else:
                for parameter in await services.limits.parameters(reader, ids=chunk):
                    found[(by_id[parameter.id], parameter.id)] = _encode(parameter_out(parameter)).decode()
        return found
    if kind in ("order", "fill"):
        by_id = {entity_id: account_id for account_id, entity_id in keys}
        for chunk in _chunks(sorted(by_id)):
            for v in await services.trading_views.rows(kind, reader, ids=chunk):
                wire = order_out(v) if kind == "order" else fill_out(v)
                found[(by_id[v.id], v.id)] = _encode(wire).decode()
        return found
    accounts = sorted({account_id for account_id, _ in keys})
    for chunk in _chunks(accounts):
        if kind == "position":
            # The event names a position by its contract (one position per account and contract).
            for p in await services.trading_views.rows("position", reader, account_ids=chunk):
                if (p.account_id, p.contract_id) in keys:
                    found[(p.account_id, p.contract_id)] = _encode(position_out(p)).decode()
        elif kind == "cashBalance":
            for b in await services.cash_views.balances(reader, chunk):
                found[(b.account_id, b.account_id)] = _encode(cash_balance_out(b)).decode()
        elif kind == "userAccountAutoLiq":
            for settings in await services.auto_liq.visible(reader, chunk):
                found[(settings.id, settings.id)] = _encode(settings_out(settings)).decode()
    return found


def interesting(event: Event) -> bool:
    """Whether an event can become `props` (alerts and closed sessions do not)."""
    return isinstance(event, RiskStatusChanged | TradingEntityChanged)
