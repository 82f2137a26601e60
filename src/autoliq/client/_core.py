"""The sans-IO core shared by `Client` and `AsyncClient`: what to send and how to react, no I/O.

Each operation is a generator. It yields effects and is sent back what each produced:
`Send(request)` gives the `httpx.Response` (or the `httpx.TransportError` that stopped it),
`Sleep(seconds)` gives None, `Exclusive(operation)` runs a login or renewal under the client's auth
lock and gives its result. Its return value is the operation's result. The sync driver performs
effects with `httpx.Client.send`, the injected sleep and a `threading.Lock`, the async driver with
`await httpx.AsyncClient.send`, the injected async sleep and an `asyncio.Lock`: so token renewal,
penalty tickets, 429 back-off, retries and read-back verification are written once, and the twins
cannot drift apart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeAlias, TypeVar, cast
from urllib.parse import urlsplit

import httpx

from autoliq.client._retry import AMBIGUOUS, PENALTY_TICKET, Attempts, is_penalty_ticket, status_error
from autoliq.client.config import ClientSettings
from autoliq.client.errors import (
    AccessDeniedError,
    ActionNotAppliedError,
    ApiError,
    AuthError,
    AutoliqClientError,
    BulkUnavailableError,
    HTTPStatusError,
    NotFoundError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
)
from autoliq.client.models import (
    Account,
    AccountRiskStatus,
    AccountRiskStatusLog,
    ActionResult,
    AuditLog,
    BulkAccountResult,
    Credentials,
    OAuthMeResponse,
    PlaceOrderResult,
    PositionLimit,
    RiskParameter,
    Token,
)

T = TypeVar("T")

_log = logging.getLogger("autoliq.client")

# -- effects --


@dataclass(frozen=True, slots=True)
class Send:
    """Send this request; resume with its `httpx.Response`, or the `httpx.TransportError` raised."""

    request: httpx.Request


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait this many seconds; resume with None."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Exclusive:
    """Run this operation holding the client's auth lock (one login or renewal at a time); resume
    with its result, or have its error thrown in."""

    operation: Generator[Any, Any, Any]


Effect: TypeAlias = Send | Sleep | Exclusive
Outcome: TypeAlias = httpx.Response | httpx.TransportError | Token | None
Operation: TypeAlias = Generator[Effect, Outcome, T]

# -- paths (Tradovate's, and autoliq's own under /_autoliq) --

LOGIN = "/v1/auth/accesstokenrequest"
RENEW = "/v1/auth/renewaccesstoken"
ME = "/v1/auth/me"
ACCOUNT_LIST = "/v1/account/list"
ACCOUNT_ITEM = "/v1/account/item"
RISK_STATUS_LIST = "/v1/accountRiskStatus/list"
RISK_STATUS_ITEM = "/v1/accountRiskStatus/item"
RISK_STATUS_ITEMS = "/v1/accountRiskStatus/items"
RISK_STATUS_DEPS = "/v1/accountRiskStatus/deps"
SET_ADMIN_ACTION = "/v1/accountRiskStatus/setadminautoliqaction"
BULK_SET_ADMIN_ACTION = "/_autoliq/bulk/setadminautoliqaction"
RISK_STATUS_LOG_DEPS = "/v1/accountRiskStatusLog/deps"
AUDIT = "/_autoliq/audit"
PLACE_ORDER = "/v1/order/placeorder"
POSITION_LIMIT = "/v1/userAccountPositionLimit"
RISK_PARAMETER = "/v1/userAccountRiskParameter"

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

BULK_MAX = 10_000
"""The most accounts autoliq's bulk setadminautoliqaction takes in one request."""
ITEMS_CHUNK = 500
"""Ids per `accountRiskStatus/items` read: the server takes 10,000, but a URL must stay short (500
int64 ids are at most 10 KB of query)."""


class Core:
    """A client's state (base URL, credentials, token) and its operations as generators."""

    def __init__(
        self,
        base_url: str,
        *,
        credentials: Credentials | None,
        settings: ClientSettings,
        clock: Callable[[], datetime],
        token: Token | None = None,
    ) -> None:
        self.base_url = base_url
        self.credentials = credentials
        self.settings = settings
        self.clock = clock
        self.token = token
        self._refreshing = False
        self.bulk_route: bool | None = False if is_tradovate_host(base_url) else None
        """Whether the server has autoliq's bulk setadminautoliqaction: None until a bulk request
        tells (False once it answered 404 or 405: an older autoliq, any other server), False from
        the start on Tradovate's own hosts (`*.tradovateapi.com`), which are never asked."""

    # -- the one exchange: penalty tickets, 429, retries, errors --

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        authenticated: bool = True,
        refresh: bool = True,
        check: bool = True,
    ) -> Operation[Any]:
        """Send one request until it is processed or given up on; its decoded JSON (None if empty).

        `idempotent` (default: GET/HEAD/OPTIONS) allows retries after a 5xx or a lost answer;
        `refresh` renews or obtains the token first when needed; `check` raises `ApiError` for a
        200 with `errorText`.
        """
        method = method.upper()
        url = self.base_url + normalize_path(path)
        attempts = Attempts(
            self.settings, method, url, retry=method in SAFE_METHODS if idempotent is None else idempotent
        )
        while True:
            if authenticated and refresh:
                yield from self.ensure_token()
            outcome = yield Send(self._request(method, url, params, json, attempts.ticket, authenticated))
            if isinstance(outcome, httpx.TransportError):
                pause = attempts.after_transport_error(outcome)
            elif not isinstance(outcome, httpx.Response):
                raise TypeError(f"a Send effect must be answered with a response, got {outcome!r}")
            elif outcome.status_code == 429:
                pause = attempts.after_rate_limit(outcome, self.clock())
            elif outcome.status_code >= 500:
                pause = attempts.after_server_error(outcome)
            elif not 200 <= outcome.status_code < 300:
                raise status_error(method, url, outcome)
            else:
                body = _decode(outcome, method, url)
                if not is_penalty_ticket(body):
                    if check:
                        raise_for_error_text(body)
                    return body
                pause = attempts.after_penalty_ticket(body)
            yield Sleep(pause)

    def _request(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        ticket: str | None,
        authenticated: bool,
    ) -> httpx.Request:
        headers = {"Accept": "application/json"}
        if authenticated:
            if self.token is None:
                raise AuthError("not logged in")
            headers["Authorization"] = f"Bearer {self.token.access_token}"
        query = dict(params or {})
        if ticket is not None:
            # Where Tradovate wants the ticket back is not documented: third-party clients add it to
            # the JSON body; a request without a JSON object body carries it as a query parameter.
            if method not in SAFE_METHODS and (json is None or isinstance(json, dict)):
                json = {**(json or {}), PENALTY_TICKET: ticket}
            else:
                query[PENALTY_TICKET] = ticket
        return httpx.Request(method, url, params=query or None, json=json, headers=headers)

    # -- the token --

    def ensure_token(self) -> Operation[Token]:
        """The token to send: log in when there is none; renew it when it expires within the margin
        (log in again when renewal fails or it has expired). One login or renewal at a time."""
        token = self.token
        if token is not None and self._fresh(token):
            return token
        if token is not None and self._refreshing and not self._expired(token):
            return token  # another operation of this client is renewing it; this one still works
        refreshed = yield Exclusive(self._refresh())
        if not isinstance(refreshed, Token):
            raise TypeError(f"an Exclusive effect must be answered with its result, got {refreshed!r}")
        return refreshed

    def _refresh(self) -> Operation[Token]:
        """Under the auth lock: look again (another operation may have done it), then renew or log in."""
        token = self.token
        if token is not None and self._fresh(token):
            return token
        self._refreshing = True
        try:
            if token is None:
                return (yield from self._login_again("not logged in", None))
            failure: AutoliqClientError | None = None
            expired = self._expired(token)
            if not expired:
                try:
                    return (yield from self.renew())
                except AutoliqClientError as exc:
                    _log.warning("renewing the access token failed (%s); logging in again", exc)
                    failure = exc
            why = "the access token expired" if expired else "renewal failed"
            return (yield from self._login_again(why, failure))
        finally:
            self._refreshing = False

    def _fresh(self, token: Token) -> bool:
        """True when the token does not expire within the renewal margin (or has no known expiry)."""
        expires = token.expiration_time
        return expires is None or self.clock() < expires - self.settings.renew_margin

    def _expired(self, token: Token) -> bool:
        expires = token.expiration_time
        return expires is not None and self.clock() >= expires

    def _login_again(self, why: str, cause: AutoliqClientError | None) -> Operation[Token]:
        if self.credentials is None:
            raise AuthError(f"{why}, and the client has no credentials to log in with") from cause
        return (yield from self.login())

    def login(self, credentials: Credentials | None = None) -> Operation[Token]:
        """`POST /v1/auth/accesstokenrequest`; keeps the token, and the credentials for later."""
        credentials = credentials or self.credentials
        if credentials is None:
            raise AuthError("no credentials: give a name and a password")
        body = yield from self.call("POST", LOGIN, json=credentials.body(), authenticated=False, check=False)
        answer = expect_object(body, LOGIN)
        error_text = answer.get("errorText")
        if error_text:
            raise AuthError(f"login refused: {error_text}", error_text=str(error_text))
        self.token = _token_from(answer, None)
        self.credentials = credentials
        return self.token

    def renew(self) -> Operation[Token]:
        """`GET /v1/auth/renewaccesstoken`: the same session, a later expiry."""
        previous = self.token
        if previous is None:
            raise AuthError("not logged in: nothing to renew")
        body = yield from self.call("GET", RENEW, refresh=False, check=False)
        answer = expect_object(body, RENEW)
        error_text = answer.get("errorText")
        if error_text:
            raise AuthError(f"renewal refused: {error_text}", error_text=str(error_text))
        self.token = _token_from(answer, previous)
        return self.token

    # -- reads --

    def get_object(self, path: str, params: Mapping[str, Any] | None = None) -> Operation[dict[str, Any]]:
        """A GET answering one JSON object."""
        return expect_object((yield from self.call("GET", path, params=params)), path)

    def get_list(self, path: str, params: Mapping[str, Any] | None = None) -> Operation[list[Any]]:
        """A GET answering a JSON array."""
        body = yield from self.call("GET", path, params=params)
        if not isinstance(body, list):
            raise UnexpectedResponseError(f"GET {path}: expected a JSON array, got {type(body).__name__}")
        return body

    def me(self) -> Operation[OAuthMeResponse]:
        """`GET /v1/auth/me`."""
        return cast(Operation[OAuthMeResponse], self.get_object(ME))

    def accounts(self) -> Operation[list[Account]]:
        """`GET /v1/account/list`."""
        return cast(Operation[list[Account]], self.get_list(ACCOUNT_LIST))

    def account(self, account_id: int) -> Operation[Account]:
        """`GET /v1/account/item?id=`."""
        return cast(Operation[Account], self.get_object(ACCOUNT_ITEM, {"id": account_id}))

    def risk_statuses(self) -> Operation[list[AccountRiskStatus]]:
        """`GET /v1/accountRiskStatus/list`."""
        return cast(Operation[list[AccountRiskStatus]], self.get_list(RISK_STATUS_LIST))

    def risk_status(self, account_id: int) -> Operation[AccountRiskStatus]:
        """`GET /v1/accountRiskStatus/item?id=` (a risk status's id is its account's)."""
        return cast(Operation[AccountRiskStatus], self.get_object(RISK_STATUS_ITEM, {"id": account_id}))

    def risk_statuses_of(self, account_ids: Sequence[int]) -> Operation[list[AccountRiskStatus]]:
        """`GET /v1/accountRiskStatus/items?ids=` in chunks of `ITEMS_CHUNK` ids: the statuses of
        those accounts that exist and are visible (the others are left out), chunk after chunk."""
        found: list[AccountRiskStatus] = []
        for start in range(0, len(account_ids), ITEMS_CHUNK):
            chunk = account_ids[start : start + ITEMS_CHUNK]
            body = yield from self.get_list(RISK_STATUS_ITEMS, {"ids": ",".join(map(str, chunk))})
            found.extend(cast(list[AccountRiskStatus], body))
        return found

    def risk_status_deps(self, account_id: int) -> Operation[list[AccountRiskStatus]]:
        """`GET /v1/accountRiskStatus/deps?masterid=`: the statuses of an account."""
        return cast(
            Operation[list[AccountRiskStatus]], self.get_list(RISK_STATUS_DEPS, {"masterid": account_id})
        )

    def risk_status_log(self, account_id: int) -> Operation[list[AccountRiskStatusLog]]:
        """`GET /v1/accountRiskStatusLog/deps?masterid=`: an account's status changes."""
        return cast(
            Operation[list[AccountRiskStatusLog]],
            self.get_list(RISK_STATUS_LOG_DEPS, {"masterid": account_id}),
        )

    def audit(self, account_id: int) -> Operation[AuditLog]:
        """autoliq's `GET /_autoliq/audit?accountId=` (not on Tradovate's hosts)."""
        return cast(Operation[AuditLog], self.get_object(AUDIT, {"accountId": account_id}))

    # -- writes --

    def set_admin_auto_liq_action(
        self, account_id: int, admin_action: str, reason_code: str, reason: str | None, verify: bool
    ) -> Operation[ActionResult]:
        """`POST /v1/accountRiskStatus/setadminautoliqaction`, read back when `verify`."""
        wanted = str(admin_action)
        status: AccountRiskStatus | None = None
        write_error: ServerError | TransportError | None = None
        try:
            answer = expect_object(
                (
                    yield from self.call(
                        "POST",
                        SET_ADMIN_ACTION,
                        json=action_body(account_id, admin_action, reason_code, reason),
                    )
                ),
                SET_ADMIN_ACTION,
            )
            found = answer.get("accountRiskStatus")
            status = cast(AccountRiskStatus, found) if isinstance(found, dict) else None
        except (ServerError, TransportError) as exc:
            if not verify:
                raise
            write_error = exc  # the outcome is unknown: the read-back decides
        if not verify:
            return unverified(account_id, wanted, status)
        # Tradovate's status has no accountId: read it back by its master, the account.
        statuses = yield from self.risk_status_deps(account_id)
        return verified(account_id, wanted, status, write_error, statuses[0] if statuses else None)

    def bulk_set_admin_auto_liq_action(
        self, account_ids: Sequence[int], admin_action: str, reason_code: str, reason: str | None
    ) -> Operation[list[BulkAccountResult]]:
        """autoliq's `POST /_autoliq/bulk/setadminautoliqaction`: one result per account, in order.
        `BulkUnavailableError` when the server has no such route (it answers 404 or 405), which
        `bulk_route` then remembers; a write, never repeated after a 5xx or a lost answer."""
        if not 1 <= len(account_ids) <= BULK_MAX:
            raise ValueError(f"give 1 to {BULK_MAX} account ids")
        if len(set(account_ids)) != len(account_ids):
            raise ValueError("an account id is given more than once")
        body = action_body(0, admin_action, reason_code, reason)
        del body["accountId"]
        body = {"accountIds": list(account_ids), **body}
        try:
            answer = yield from self.call("POST", BULK_SET_ADMIN_ACTION, json=body)
        except HTTPStatusError as exc:
            if exc.status_code not in (404, 405):
                raise
            self.bulk_route = False
            raise BulkUnavailableError(
                str(exc),
                status_code=exc.status_code,
                error_text=exc.error_text,
                method=exc.method,
                url=exc.url,
            ) from exc
        self.bulk_route = True
        results = expect_object(answer, BULK_SET_ADMIN_ACTION).get("results")
        if not isinstance(results, list) or len(results) != len(account_ids):
            raise UnexpectedResponseError(f"{BULK_SET_ADMIN_ACTION}: expected one result per account")
        return cast(list[BulkAccountResult], results)

    def set_admin_auto_liq_action_many(
        self,
        account_ids: Sequence[int],
        admin_action: str,
        reason_code: str,
        reason: str | None,
        verify: bool,
        fallback: bool = True,
    ) -> Operation[list[ActionResult | AutoliqClientError]]:
        """setadminautoliqaction for each of `account_ids` (distinct), each account's outcome in
        order: what `set_admin_auto_liq_action` returns for it, or the error it raises. autoliq's bulk
        route carries them (`BULK_MAX` a request) unless `bulk_route` is False or it answers 404;
        then one request per account, or, without `fallback`, `BulkUnavailableError` (nothing sent
        per account). With `verify`, read back with `risk_statuses_of`."""
        if len(set(account_ids)) != len(account_ids):
            raise ValueError("an account id is given more than once")
        if not fallback and self.bulk_route is False:
            raise BulkUnavailableError(
                f"POST {self.base_url}{BULK_SET_ADMIN_ACTION}: HTTP 404 (the server has no bulk route)",
                status_code=404,
                error_text=None,
                method="POST",
                url=self.base_url + BULK_SET_ADMIN_ACTION,
            )
        wanted = str(admin_action)
        written: dict[int, AccountRiskStatus | AutoliqClientError] = {}
        left = list(account_ids)
        while left and self.bulk_route is not False:
            chunk, left = left[:BULK_MAX], left[BULK_MAX:]
            try:
                results = yield from self.bulk_set_admin_auto_liq_action(
                    chunk, admin_action, reason_code, reason
                )
            except BulkUnavailableError:
                if not fallback:
                    raise  # (a chunk before it was answered: only the first can meet the 404)
                left = chunk + left
                break
            except AutoliqClientError as exc:  # the whole request: the same for each of its accounts
                written.update(dict.fromkeys(chunk, exc))
                continue
            for account_id, result in zip(chunk, results, strict=True):
                written[account_id] = bulk_outcome(account_id, result, self.base_url + BULK_SET_ADMIN_ACTION)
        for account_id in left:  # Tradovate: one request per account
            try:
                answer = yield from self.call(
                    "POST", SET_ADMIN_ACTION, json=action_body(account_id, admin_action, reason_code, reason)
                )
                found = expect_object(answer, SET_ADMIN_ACTION).get("accountRiskStatus")
                written[account_id] = cast(AccountRiskStatus, found) if isinstance(found, dict) else {}
            except AutoliqClientError as exc:
                written[account_id] = exc
        outcomes: dict[int, ActionResult | AutoliqClientError] = {}
        to_read: list[int] = []
        for account_id, outcome in written.items():
            unknown = isinstance(outcome, ServerError | TransportError)
            if isinstance(outcome, AutoliqClientError) and not (verify and unknown):
                outcomes[account_id] = outcome
            elif not verify:
                status = cast(AccountRiskStatus, outcome) or None
                outcomes[account_id] = unverified(account_id, wanted, status)
            else:
                to_read.append(account_id)
        if to_read:
            try:
                read = yield from self.risk_statuses_of(to_read)
            except AutoliqClientError as exc:  # the read-back failed: each account's outcome is unknown
                outcomes.update(dict.fromkeys(to_read, exc))
            else:
                by_id = {s.get("id"): s for s in read}
                for account_id in to_read:
                    outcome = written[account_id]
                    write_error = outcome if isinstance(outcome, ServerError | TransportError) else None
                    status = None if write_error is not None else cast(AccountRiskStatus, outcome) or None
                    try:
                        outcomes[account_id] = verified(
                            account_id, wanted, status, write_error, by_id.get(account_id)
                        )
                    except ActionNotAppliedError as exc:
                        outcomes[account_id] = exc
        return [outcomes[a] for a in account_ids]

    def place_order(self, body: dict[str, Any]) -> Operation[PlaceOrderResult]:
        """`POST /v1/order/placeorder`: a refusal is a value (`failureReason`), not an error."""
        answer = yield from self.call("POST", PLACE_ORDER, json=body)
        return cast(PlaceOrderResult, expect_object(answer, PLACE_ORDER))

    # -- pre-trade limits --

    def ldeps(self, path: str, master_ids: Sequence[int]) -> Operation[list[Any]]:
        """`GET <path>/ldeps?masterids=` in chunks of `ITEMS_CHUNK` ids."""
        found: list[Any] = []
        for start in range(0, len(master_ids), ITEMS_CHUNK):
            chunk = master_ids[start : start + ITEMS_CHUNK]
            found.extend(
                (yield from self.get_list(f"{path}/ldeps", {"masterids": ",".join(map(str, chunk))}))
            )
        return found

    def save_entity(self, path: str, body: dict[str, Any], *, create: bool) -> Operation[dict[str, Any]]:
        """`POST <path>/create` (never repeated blindly) or `<path>/update` (idempotent: the same
        body twice leaves the same row); the entity as stored."""
        route = f"{path}/{'create' if create else 'update'}"
        answer = yield from self.call("POST", route, json=body, idempotent=not create)
        return expect_object(answer, route)

    def delete_entity(self, route: str, body: dict[str, Any]) -> Operation[None]:
        """A `DeleteResultResponse` route: `ApiError` with its `errorText` unless `success`."""
        answer = expect_object((yield from self.call("POST", route, json=body)), route)
        if answer.get("success") is not True:
            raise ApiError(str(answer.get("errorText") or "success: false (no errorText given)"), answer)

    def position_limits(self, account_ids: Sequence[int]) -> Operation[list[PositionLimit]]:
        """The position limit rows of accounts `account_ids` (`userAccountPositionLimit/ldeps`)."""
        return cast(Operation[list[PositionLimit]], self.ldeps(POSITION_LIMIT, account_ids))

    def save_position_limit(self, limit: PositionLimit, *, create: bool) -> Operation[PositionLimit]:
        """`userAccountPositionLimit/create` or `/update`."""
        return cast(Operation[PositionLimit], self.save_entity(POSITION_LIMIT, dict(limit), create=create))

    def delete_position_limit(self, limit_id: int) -> Operation[None]:
        """`userAccountPositionLimit/deleteuseraccountpositionlimit` (its risk parameters go too)."""
        route = f"{POSITION_LIMIT}/deleteuseraccountpositionlimit"
        return self.delete_entity(route, {"userAccountPositionLimitId": limit_id})

    def risk_parameters(self, limit_ids: Sequence[int]) -> Operation[list[RiskParameter]]:
        """The risk parameters of position limits `limit_ids` (`userAccountRiskParameter/ldeps`)."""
        return cast(Operation[list[RiskParameter]], self.ldeps(RISK_PARAMETER, limit_ids))

    def save_risk_parameter(self, parameter: RiskParameter, *, create: bool) -> Operation[RiskParameter]:
        """`userAccountRiskParameter/create` or `/update`."""
        body = dict(parameter)
        return cast(Operation[RiskParameter], self.save_entity(RISK_PARAMETER, body, create=create))

    def delete_risk_parameter(self, parameter_id: int) -> Operation[None]:
        """`userAccountPositionLimit/deleteuseraccountriskparameter` (Tradovate's path for it)."""
        route = f"{POSITION_LIMIT}/deleteuseraccountriskparameter"
        return self.delete_entity(route, {"userAccountRiskParameterId": parameter_id})


# -- shared by the twins' constructors and methods --


def make_credentials(
    name: str | None,
    password: str | None,
    *,
    app_id: str | None = None,
    app_version: str | None = None,
    device_id: str | None = None,
    cid: str | int | None = None,
    sec: str | None = None,
    base: Credentials | None = None,
) -> Credentials | None:
    """Credentials from a name and a password (both or neither; None when neither), keeping the
    app options of `base` unless given."""
    if name is None and password is None:
        return None
    if name is None or password is None:
        raise ValueError("give both a name and a password, or neither")
    if base is not None:
        return replace(base, name=name, password=password)
    return Credentials(name, password, app_id, app_version, device_id, cid, sec)


def order_body(
    account_id: int,
    action: str,
    symbol: str,
    order_qty: int,
    order_type: str,
    *,
    price: float | None,
    stop_price: float | None,
    time_in_force: str | None,
    cl_ord_id: str | None,
    text: str | None,
    is_automated: bool | None,
    account_spec: str | None,
) -> dict[str, Any]:
    """A `PlaceOrder` body (unset options left out)."""
    body: dict[str, Any] = {
        "accountId": account_id,
        "action": str(action),
        "symbol": symbol,
        "orderQty": order_qty,
        "orderType": str(order_type),
    }
    optional = {
        "price": price,
        "stopPrice": stop_price,
        "timeInForce": None if time_in_force is None else str(time_in_force),
        "clOrdId": cl_ord_id,
        "text": text,
        "isAutomated": is_automated,
        "accountSpec": account_spec,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def action_body(account_id: int, admin_action: str, reason_code: str, reason: str | None) -> dict[str, Any]:
    """A `SetAdminAutoLiqAction` body (`adminActionReason` left out when None)."""
    body: dict[str, Any] = {
        "accountId": account_id,
        "adminAction": str(admin_action),
        "adminActionReasonCode": str(reason_code),
    }
    if reason is not None:
        body["adminActionReason"] = reason
    return body


def unverified(account_id: int, wanted: str, status: AccountRiskStatus | None) -> ActionResult:
    """A write's result without a read-back: applied when its answer shows the action."""
    applied = status is not None and status.get("adminAction") == wanted
    return ActionResult(account_id, wanted, applied=applied, verified=False, status=status)


def verified(
    account_id: int,
    wanted: str,
    status: AccountRiskStatus | None,
    write_error: ServerError | TransportError | None,
    read_back: AccountRiskStatus | None,
) -> ActionResult:
    """A write's result by its read-back: `ActionNotAppliedError` unless it shows the action."""
    applied = read_back is not None and read_back.get("adminAction") == wanted
    result = ActionResult(
        account_id,
        wanted,
        applied=applied,
        verified=True,
        status=status,
        read_back=read_back,
        write_error=write_error,
    )
    if not applied:
        raise ActionNotAppliedError(result) from write_error
    return result


def bulk_outcome(account_id: int, result: Any, url: str) -> AccountRiskStatus | AutoliqClientError:
    """One account's result of the bulk route as the single route's answer would have been read:
    its status, or the error the SDK raises for that answer (`httpStatus` 200 with `errorText`:
    `ApiError`; 401, 404, other 4xx: their `HTTPStatusError`; 5xx: an ambiguous `ServerError`)."""
    if not isinstance(result, dict) or result.get("accountId") != account_id:
        return UnexpectedResponseError(f"POST {url}: no result for account {account_id}")
    status = result.get("httpStatus")
    text = result.get("errorText")
    text = str(text) if text else None
    if status == 200:
        if text is not None:
            return ApiError(text, {"errorText": text})
        found = result.get("accountRiskStatus")
        if isinstance(found, dict):
            return cast(AccountRiskStatus, found)
        return UnexpectedResponseError(f"POST {url}: account {account_id}: no accountRiskStatus")
    if not isinstance(status, int):
        return UnexpectedResponseError(f"POST {url}: account {account_id}: no httpStatus")
    message = f"POST {url} (account {account_id}): HTTP {status}" + (f": {text}" if text else "")
    if status >= 500:
        return ServerError(
            message + AMBIGUOUS, status_code=status, error_text=text, method="POST", url=url, ambiguous=True
        )
    kind: type[HTTPStatusError] = HTTPStatusError
    if status == 401:
        kind = AccessDeniedError
    elif status == 404:
        kind = NotFoundError
    return kind(message, status_code=status, error_text=text, method="POST", url=url)


def is_tradovate_host(base_url: str) -> bool:
    """Whether `base_url` is one of Tradovate's hosts (`tradovateapi.com` and its subdomains)."""
    host = (urlsplit(base_url).hostname or "").lower()
    return host == "tradovateapi.com" or host.endswith(".tradovateapi.com")


def utc_now() -> datetime:
    """The machine's clock, timezone-aware UTC (the default clock)."""
    return datetime.now(UTC)


# -- helpers --


def normalize_path(path: str) -> str:
    """`/v1/...` and `/_autoliq/...` as given; a path without a leading `/` is under `/v1/`."""
    return path if path.startswith("/") else "/v1/" + path


def raise_for_error_text(body: Any) -> None:
    """`ApiError` for a body with a non-empty `errorText`, or a `SimpleResponse` with `ok: false`."""
    if not isinstance(body, dict):
        return
    error_text = body.get("errorText")
    if error_text:
        raise ApiError(str(error_text), body)
    if body.get("ok") is False:
        raise ApiError("ok: false (no errorText given)", body)


def expect_object(body: Any, path: str) -> dict[str, Any]:
    """`body` when it is a JSON object, else `UnexpectedResponseError`."""
    if not isinstance(body, dict):
        raise UnexpectedResponseError(f"{path}: expected a JSON object, got {type(body).__name__}")
    return body


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time from the wire (`Z` or an offset; none means UTC), or None when absent."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise UnexpectedResponseError(f"not an ISO 8601 time: {value!r}") from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _token_from(answer: dict[str, Any], previous: Token | None) -> Token:
    access_token = answer.get("accessToken") or (previous.access_token if previous else None)
    if not isinstance(access_token, str) or not access_token:
        raise UnexpectedResponseError("the access-token answer has no accessToken")
    user_id = answer.get("userId")
    name = answer.get("name")
    md_token = answer.get("mdAccessToken")
    return Token(
        access_token=access_token,
        expiration_time=parse_time(answer.get("expirationTime")),
        user_id=user_id if isinstance(user_id, int) else (previous.user_id if previous else None),
        name=name if isinstance(name, str) else (previous.name if previous else None),
        md_access_token=(
            md_token
            if isinstance(md_token, str) and md_token
            else (previous.md_access_token if previous else None)
        ),
    )


def _decode(response: httpx.Response, method: str, url: str) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise UnexpectedResponseError(
            f"{method} {url}: HTTP {response.status_code} with a body that is not JSON"
        ) from exc
