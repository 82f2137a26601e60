"""`Client`: the synchronous SDK, a thin driver over the sans-IO core (twin of `AsyncClient`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar, cast

import httpx

from autoliq.client._core import (
    Core,
    Exclusive,
    Operation,
    Outcome,
    Sleep,
    make_credentials,
    order_body,
    utc_now,
)
from autoliq.client.config import ClientSettings, resolve_base_url
from autoliq.client.config import market_data_url as _market_data_url
from autoliq.client.config import websocket_url as _websocket_url
from autoliq.client.errors import AutoliqClientError
from autoliq.client.market_data import (
    DOMS,
    HISTOGRAMS,
    QUOTES,
    Symbol,
    chart_protocol,
    chart_request,
    decode_bars,
    decode_ticks,
    feed_protocol,
    in_time_order,
)
from autoliq.client.models import (
    Account,
    AccountRiskStatus,
    AccountRiskStatusLog,
    ActionResult,
    AdminAction,
    AuditLog,
    Bar,
    BulkAccountResult,
    ChartKind,
    Dom,
    EndOfHistory,
    Histogram,
    OAuthMeResponse,
    OrderType,
    PlaceOrderResult,
    PositionLimit,
    Quote,
    ReasonCode,
    RiskParameter,
    Tick,
    Token,
)
from autoliq.client.stream import HEARTBEAT_INTERVAL, ProtocolFactory, SyncStream, SyncSubscription

T = TypeVar("T")
ItemT = TypeVar("ItemT")
PointT = TypeVar("PointT", bound=Bar | Tick)


class Client:
    """Tradovate's partner risk API, synchronously, against autoliq or Tradovate's hosts.

    `base_url` is a preset (`"local"`, `"demo"`, `"live"`) or a URL; with `name` and `password` the
    client logs in by itself on first use and again when renewal fails. `clock` and `sleep` are the
    seams for tests; `transport` is handed to httpx (e.g. `httpx.MockTransport`). `websocket_url`
    overrides the stream's URL, derived from `base_url` (`ws(s)://host/v1/websocket`);
    `market_data_url` the market-data socket's (Tradovate's md host for `demo` and `live`, else the
    stream's).
    """

    def __init__(
        self,
        base_url: str = "local",
        *,
        name: str | None = None,
        password: str | None = None,
        app_id: str | None = None,
        app_version: str | None = None,
        device_id: str | None = None,
        cid: str | int | None = None,
        sec: str | None = None,
        token: Token | None = None,
        settings: ClientSettings | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        trust_env: bool = True,
        websocket_url: str | None = None,
        market_data_url: str | None = None,
    ) -> None:
        settings = settings or ClientSettings()
        credentials = make_credentials(
            name, password, app_id=app_id, app_version=app_version, device_id=device_id, cid=cid, sec=sec
        )
        self._core = Core(
            resolve_base_url(base_url),
            credentials=credentials,
            settings=settings,
            clock=clock or utc_now,
            token=token,
        )
        self._sleep = sleep or time.sleep
        self._auth_lock = threading.Lock()
        self._http = httpx.Client(transport=transport, timeout=settings.timeout, trust_env=trust_env)
        self._trust_env = trust_env
        self._websocket_url = websocket_url or _websocket_url(self._core.base_url)
        self._market_data_url = market_data_url or _market_data_url(self._core.base_url, websocket_url)

    # -- driver --

    def _run(self, op: Operation[T]) -> T:
        outcome: Outcome = None
        error: Exception | None = None
        try:
            while True:
                effect = op.throw(error) if error is not None else op.send(outcome)
                outcome, error = None, None
                if isinstance(effect, Sleep):
                    self._sleep(effect.seconds)
                elif isinstance(effect, Exclusive):
                    with self._auth_lock:
                        try:
                            outcome = self._run(effect.operation)
                        except Exception as exc:  # handed to the operation, which may handle it
                            error = exc
                else:
                    try:
                        outcome = self._http.send(effect.request)
                    except httpx.TransportError as exc:
                        outcome = exc
        except StopIteration as stop:
            return cast(T, stop.value)
        finally:
            op.close()

    # -- lifecycle --

    @property
    def base_url(self) -> str:
        """Scheme and host; the SDK appends `/v1/...`."""
        return self._core.base_url

    @property
    def token(self) -> Token | None:
        """The current access token, None before the first login."""
        return self._core.token

    @property
    def websocket_url(self) -> str:
        """Where `subscribe` connects."""
        return self._websocket_url

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- auth --

    def login(self, name: str | None = None, password: str | None = None) -> Token:
        """Log in (with these credentials, kept for later, or the client's own)."""
        credentials = make_credentials(name, password, base=self._core.credentials)
        return self._run(self._core.login(credentials))

    def renew(self) -> Token:
        """Renew the access token now (the client also does it by itself before it expires)."""
        return self._run(self._core.renew())

    def me(self) -> OAuthMeResponse:
        """`GET /v1/auth/me`: who the token belongs to."""
        return self._run(self._core.me())

    # -- reads --

    def accounts(self) -> list[Account]:
        """`GET /v1/account/list`: every account the caller sees."""
        return self._run(self._core.accounts())

    def account(self, account_id: int) -> Account:
        """`GET /v1/account/item?id=`."""
        return self._run(self._core.account(account_id))

    def risk_statuses(self) -> list[AccountRiskStatus]:
        """`GET /v1/accountRiskStatus/list`."""
        return self._run(self._core.risk_statuses())

    def risk_status(self, account_id: int) -> AccountRiskStatus:
        """`GET /v1/accountRiskStatus/item?id=` (the status's id is the account's)."""
        return self._run(self._core.risk_status(account_id))

    def risk_statuses_of(self, account_ids: Sequence[int]) -> list[AccountRiskStatus]:
        """`GET /v1/accountRiskStatus/items?ids=`, 500 ids a request: the statuses of those accounts
        that exist and are visible (the others are left out)."""
        return self._run(self._core.risk_statuses_of(list(account_ids)))

    def risk_status_deps(self, account_id: int) -> list[AccountRiskStatus]:
        """`GET /v1/accountRiskStatus/deps?masterid=`: Tradovate's way to read an account's status."""
        return self._run(self._core.risk_status_deps(account_id))

    def risk_status_log(self, account_id: int) -> list[AccountRiskStatusLog]:
        """`GET /v1/accountRiskStatusLog/deps?masterid=`: the account's status changes, oldest first."""
        return self._run(self._core.risk_status_log(account_id))

    def audit(self, account_id: int) -> AuditLog:
        """autoliq's `GET /_autoliq/audit?accountId=`: the changes with actor, reason code and reason."""
        return self._run(self._core.audit(account_id))

    # -- admin actions --

    @property
    def bulk_route(self) -> bool | None:
        """Whether the server has autoliq's bulk setadminautoliqaction: None until a bulk request
        told, False once it answered 404 (Tradovate's hosts), remembered for this client's life."""
        return self._core.bulk_route

    def bulk_set_admin_auto_liq_action(
        self,
        account_ids: Sequence[int],
        admin_action: AdminAction | str,
        *,
        reason_code: ReasonCode | str = ReasonCode.OTHER,
        reason: str | None = None,
    ) -> list[BulkAccountResult]:
        """autoliq's `POST /_autoliq/bulk/setadminautoliqaction` (1 to 10,000 distinct ids): one
        result per account, in order; `BulkUnavailableError` (a `NotFoundError`) where the server
        has no such route. Not retried, not read back: see `set_admin_auto_liq_action_many`."""
        return self._run(
            self._core.bulk_set_admin_auto_liq_action(list(account_ids), admin_action, reason_code, reason)
        )

    def set_admin_auto_liq_action_many(
        self,
        account_ids: Sequence[int],
        admin_action: AdminAction | str,
        *,
        reason_code: ReasonCode | str = ReasonCode.OTHER,
        reason: str | None = None,
        verify: bool = False,
        fallback: bool = True,
    ) -> list[ActionResult | AutoliqClientError]:
        """Set the adminAction of many accounts (distinct ids): each account's `ActionResult`, or the
        error `set_admin_auto_liq_action` would raise for it, in order. autoliq's bulk route carries
        them, 10,000 a request; a server without it (Tradovate) gets one request per account, or,
        with `fallback=False`, `BulkUnavailableError`. With `verify`, read back with
        `accountRiskStatus/items`, 500 accounts a request."""
        return self._run(
            self._core.set_admin_auto_liq_action_many(
                list(account_ids), admin_action, reason_code, reason, verify, fallback
            )
        )

    def set_admin_auto_liq_action(
        self,
        account_id: int,
        admin_action: AdminAction | str,
        *,
        reason_code: ReasonCode | str = ReasonCode.OTHER,
        reason: str | None = None,
        verify: bool = False,
    ) -> ActionResult:
        """Set an account's adminAction; with `verify`, read it back (`ActionNotAppliedError` if absent)."""
        return self._run(
            self._core.set_admin_auto_liq_action(account_id, admin_action, reason_code, reason, verify)
        )

    def lock(
        self,
        account_id: int,
        reason: str | None = None,
        *,
        reason_code: ReasonCode | str = ReasonCode.OTHER,
        verify: bool = False,
    ) -> ActionResult:
        """`LockTradingImmediately`: every new order rejected, positions kept."""
        return self.set_admin_auto_liq_action(
            account_id,
            AdminAction.LOCK_TRADING_IMMEDIATELY,
            reason_code=reason_code,
            reason=reason,
            verify=verify,
        )

    def unlock(
        self,
        account_id: int,
        reason: str | None = None,
        *,
        reason_code: ReasonCode | str = ReasonCode.OTHER,
        verify: bool = False,
    ) -> ActionResult:
        """`Normal`: the admin restriction cleared."""
        return self.set_admin_auto_liq_action(
            account_id, AdminAction.NORMAL, reason_code=reason_code, reason=reason, verify=verify
        )

    def liquidate(
        self,
        account_id: int,
        reason: str | None = None,
        *,
        reason_code: ReasonCode | str = ReasonCode.OTHER,
        verify: bool = False,
    ) -> ActionResult:
        """`LiquidateImmediately`: positions closed at the market, new orders rejected."""
        return self.set_admin_auto_liq_action(
            account_id,
            AdminAction.LIQUIDATE_IMMEDIATELY,
            reason_code=reason_code,
            reason=reason,
            verify=verify,
        )

    def liquidate_only(
        self,
        account_id: int,
        reason: str | None = None,
        *,
        reason_code: ReasonCode | str = ReasonCode.OTHER,
        verify: bool = False,
    ) -> ActionResult:
        """`LiquidateOnlyModeImmediately`: only orders that reduce a position."""
        return self.set_admin_auto_liq_action(
            account_id,
            AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY,
            reason_code=reason_code,
            reason=reason,
            verify=verify,
        )

    def lock_many(
        self,
        account_ids: Sequence[int],
        reason: str | None = None,
        *,
        reason_code: ReasonCode | str = ReasonCode.OTHER,
        verify: bool = False,
    ) -> list[ActionResult | AutoliqClientError]:
        """`lock` for many accounts (`set_admin_auto_liq_action_many`)."""
        return self.set_admin_auto_liq_action_many(
            account_ids,
            AdminAction.LOCK_TRADING_IMMEDIATELY,
            reason_code=reason_code,
            reason=reason,
            verify=verify,
        )

    def unlock_many(
        self,
        account_ids: Sequence[int],
        reason: str | None = None,
        *,
        reason_code: ReasonCode | str = ReasonCode.OTHER,
        verify: bool = False,
    ) -> list[ActionResult | AutoliqClientError]:
        """`unlock` for many accounts (`set_admin_auto_liq_action_many`)."""
        return self.set_admin_auto_liq_action_many(
            account_ids, AdminAction.NORMAL, reason_code=reason_code, reason=reason, verify=verify
        )

    def liquidate_many(
        self,
        account_ids: Sequence[int],
        reason: str | None = None,
        *,
        reason_code: ReasonCode | str = ReasonCode.OTHER,
        verify: bool = False,
    ) -> list[ActionResult | AutoliqClientError]:
        """`liquidate` for many accounts (`set_admin_auto_liq_action_many`)."""
        return self.set_admin_auto_liq_action_many(
            account_ids,
            AdminAction.LIQUIDATE_IMMEDIATELY,
            reason_code=reason_code,
            reason=reason,
            verify=verify,
        )

    def liquidate_only_many(
        self,
        account_ids: Sequence[int],
        reason: str | None = None,
        *,
        reason_code: ReasonCode | str = ReasonCode.OTHER,
        verify: bool = False,
    ) -> list[ActionResult | AutoliqClientError]:
        """`liquidate_only` for many accounts (`set_admin_auto_liq_action_many`)."""
        return self.set_admin_auto_liq_action_many(
            account_ids,
            AdminAction.LIQUIDATE_ONLY_MODE_IMMEDIATELY,
            reason_code=reason_code,
            reason=reason,
            verify=verify,
        )

    # -- orders --

    def place_order(
        self,
        account_id: int,
        action: str,
        symbol: str,
        order_qty: int,
        order_type: OrderType | str = OrderType.MARKET,
        *,
        price: float | None = None,
        stop_price: float | None = None,
        time_in_force: str | None = None,
        cl_ord_id: str | None = None,
        text: str | None = None,
        is_automated: bool | None = None,
        account_spec: str | None = None,
    ) -> PlaceOrderResult:
        """`POST /v1/order/placeorder`; a refusal is returned (`failureReason`), never raised. Not retried."""
        body = order_body(
            account_id,
            action,
            symbol,
            order_qty,
            order_type,
            price=price,
            stop_price=stop_price,
            time_in_force=time_in_force,
            cl_ord_id=cl_ord_id,
            text=text,
            is_automated=is_automated,
            account_spec=account_spec,
        )
        return self._run(self._core.place_order(body))

    # -- pre-trade limits (userAccountPositionLimit, userAccountRiskParameter) --

    def position_limits(self, account_ids: Sequence[int]) -> list[PositionLimit]:
        """The position limit rows of these accounts (the accounts the caller cannot see give none)."""
        return self._run(self._core.position_limits(account_ids))

    def create_position_limit(self, limit: PositionLimit) -> PositionLimit:
        """Add a row (`accountId`, `active`, `totalBy` and its scope key required); as stored, with
        its `id`. Not retried (a lost answer may have created it: read `position_limits` first)."""
        return self._run(self._core.save_position_limit(limit, create=True))

    def update_position_limit(self, limit: PositionLimit) -> PositionLimit:
        """Replace row `limit["id"]` (an omitted limit is switched off); as stored."""
        return self._run(self._core.save_position_limit(limit, create=False))

    def delete_position_limit(self, limit_id: int) -> None:
        """Delete a row and its risk parameters; `ApiError` with the server's errorText if refused."""
        self._run(self._core.delete_position_limit(limit_id))

    def risk_parameters(self, limit_ids: Sequence[int]) -> list[RiskParameter]:
        """The risk parameters of these position limit rows."""
        return self._run(self._core.risk_parameters(limit_ids))

    def create_risk_parameter(self, parameter: RiskParameter) -> RiskParameter:
        """Add a risk parameter under row `parameter["userAccountPositionLimitId"]`. Not retried."""
        return self._run(self._core.save_risk_parameter(parameter, create=True))

    def update_risk_parameter(self, parameter: RiskParameter) -> RiskParameter:
        """Replace risk parameter `parameter["id"]`; as stored."""
        return self._run(self._core.save_risk_parameter(parameter, create=False))

    def delete_risk_parameter(self, parameter_id: int) -> None:
        """Delete a risk parameter; `ApiError` with the server's errorText if refused."""
        self._run(self._core.delete_risk_parameter(parameter_id))

    # -- anything else --

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        authenticated: bool = True,
    ) -> Any:
        """Any route (`/v1/...`, `/_autoliq/...`, or a path relative to `/v1/`), with the same auth,
        penalty-ticket, 429 and retry handling; the decoded JSON (`ApiError` on an `errorText`)."""
        return self._run(
            self._core.call(
                method, path, params=params, json=json, idempotent=idempotent, authenticated=authenticated
            )
        )

    # -- real-time stream --

    def subscribe(
        self,
        entity_types: Sequence[str],
        *,
        accounts: Sequence[int] | None = None,
        users: Sequence[int] | None = None,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
    ) -> SyncSubscription:
        """A `user/syncrequest` stream: a `SyncSnapshot`, then `PropsEvent`s (see `autoliq.client.stream`).

        `entity_types` is required: Tradovate sends almost nothing without it. `users` defaults to the
        logged-in user. Use it as `with client.subscribe(...) as stream: for item in stream`.
        """
        if not entity_types:
            raise ValueError("entity_types must name at least one entity type (e.g. 'accountRiskStatus')")
        return SyncSubscription(
            self._websocket_url,
            self._stream_token,
            entity_types=entity_types,
            accounts=accounts,
            users=users,
            heartbeat_interval=heartbeat_interval,
            open_timeout=self._core.settings.timeout,
            trust_env=self._trust_env,
        )

    def _stream_token(self) -> Token:
        return self._run(self._core.ensure_token())

    # -- market data --

    def subscribe_quote(
        self, symbol: Symbol, *, heartbeat_interval: float = HEARTBEAT_INTERVAL
    ) -> SyncStream[Quote]:
        """`md/subscribeQuote`: the contract's `Quote`s as they change; leaving the stream sends
        `md/unsubscribeQuote`. `symbol` is a contract name (`"ESZ6"`) or id."""
        return self._market_stream(feed_protocol(symbol, QUOTES), heartbeat_interval)

    def subscribe_dom(
        self, symbol: Symbol, *, heartbeat_interval: float = HEARTBEAT_INTERVAL
    ) -> SyncStream[Dom]:
        """`md/subscribeDOM`: the contract's whole book (`Dom`) at each change; leaving the stream sends
        `md/unsubscribeDOM`."""
        return self._market_stream(feed_protocol(symbol, DOMS), heartbeat_interval)

    def subscribe_histogram(
        self, symbol: Symbol, *, heartbeat_interval: float = HEARTBEAT_INTERVAL
    ) -> SyncStream[Histogram]:
        """`md/subscribeHistogram`: the contract's volume at price (`Histogram`); leaving the stream
        sends `md/unsubscribeHistogram`."""
        return self._market_stream(feed_protocol(symbol, HISTOGRAMS), heartbeat_interval)

    def stream_chart(
        self,
        symbol: Symbol,
        kind: ChartKind | str = ChartKind.MINUTE_BAR,
        *,
        size: int = 1,
        elements: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
    ) -> SyncStream[Bar | EndOfHistory]:
        """`md/getChart`: the history asked for (`elements` bars, back to `since`, up to `until`), one
        `EndOfHistory`, then live `Bar`s; leaving the stream sends `md/cancelChart`."""
        body = chart_request(symbol, kind, size=size, elements=elements, since=since, until=until)
        if ChartKind(kind) is ChartKind.TICK:
            raise ValueError("a tick chart gives ticks: use stream_ticks")
        return self._market_stream(chart_protocol(symbol, body, decode_bars), heartbeat_interval)

    def stream_ticks(
        self,
        symbol: Symbol,
        *,
        elements: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
    ) -> SyncStream[Tick | EndOfHistory]:
        """`md/getChart` of a `Tick` chart: the trades asked for, one `EndOfHistory`, then live `Tick`s;
        leaving the stream sends `md/cancelChart`."""
        body = chart_request(symbol, ChartKind.TICK, elements=elements, since=since, until=until)
        return self._market_stream(chart_protocol(symbol, body, decode_ticks), heartbeat_interval)

    def get_chart(
        self,
        symbol: Symbol,
        kind: ChartKind | str = ChartKind.MINUTE_BAR,
        *,
        size: int = 1,
        elements: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Bar]:
        """`stream_chart`'s history, oldest first (a bar sent twice counted once), read until the end
        of history, then cancelled; `TimeoutError` if it does not end within the client's timeout."""
        stream = self.stream_chart(symbol, kind, size=size, elements=elements, since=since, until=until)
        return self._history(stream)

    def get_ticks(
        self,
        symbol: Symbol,
        *,
        elements: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Tick]:
        """`stream_ticks`'s history, oldest first, read until the end of history, then cancelled;
        `TimeoutError` if it does not end within the client's timeout."""
        return self._history(self.stream_ticks(symbol, elements=elements, since=since, until=until))

    @property
    def market_data_url(self) -> str:
        """Where the market-data methods connect."""
        return self._market_data_url

    def _market_stream(self, factory: ProtocolFactory[ItemT], heartbeat_interval: float) -> SyncStream[ItemT]:
        return SyncStream(
            self._market_data_url,
            self._stream_token,
            factory,
            heartbeat_interval=heartbeat_interval,
            open_timeout=self._core.settings.timeout,
            trust_env=self._trust_env,
        )

    def _history(self, stream: SyncStream[PointT | EndOfHistory]) -> list[PointT]:
        deadline = time.monotonic() + self._core.settings.timeout
        points: list[PointT] = []
        with stream:
            while not isinstance(item := stream.next_item(deadline), EndOfHistory):
                points.append(item)
        return in_time_order(points)
