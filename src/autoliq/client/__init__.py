"""autoliq's Python SDK for Tradovate's partner risk API: `Client` (sync) and `AsyncClient` (async).

Works against a local autoliq or Tradovate's demo and live hosts; needs only httpx (and `websockets`
for `subscribe`, imported when a stream opens). See docs/sdk.md.

    from autoliq.client import Client

    with Client("local", name="admin", password="...") as client:
        client.lock(42, "risk review", verify=True)
"""

from autoliq.client._async import AsyncClient
from autoliq.client._sync import Client
from autoliq.client.config import (
    DEMO_URL,
    LIVE_URL,
    LOCAL_URL,
    PRESETS,
    ClientSettings,
    resolve_base_url,
    websocket_url,
)
from autoliq.client.errors import (
    AccessDeniedError,
    ActionNotAppliedError,
    ApiError,
    AuthError,
    AutoliqClientError,
    HTTPStatusError,
    NotFoundError,
    PenaltyTicketError,
    RateLimitedError,
    ServerError,
    StreamClosedError,
    StreamError,
    TransportError,
    UnexpectedResponseError,
)
from autoliq.client.models import (
    AccessTokenResponse,
    Account,
    AccountRiskStatus,
    AccountRiskStatusLog,
    ActionResult,
    AdminAction,
    AuditEntry,
    AuditLog,
    Credentials,
    OAuthMeResponse,
    OrderAction,
    OrderType,
    PlaceOrderResult,
    PropsEvent,
    ReasonCode,
    SyncSnapshot,
    TimeInForce,
    Token,
)
from autoliq.client.stream import StreamItem, Subscription, SyncSubscription

__all__ = [
    "DEMO_URL",
    "LIVE_URL",
    "LOCAL_URL",
    "PRESETS",
    "AccessDeniedError",
    "AccessTokenResponse",
    "Account",
    "AccountRiskStatus",
    "AccountRiskStatusLog",
    "ActionNotAppliedError",
    "ActionResult",
    "AdminAction",
    "ApiError",
    "AsyncClient",
    "AuditEntry",
    "AuditLog",
    "AuthError",
    "AutoliqClientError",
    "Client",
    "ClientSettings",
    "Credentials",
    "HTTPStatusError",
    "NotFoundError",
    "OAuthMeResponse",
    "OrderAction",
    "OrderType",
    "PenaltyTicketError",
    "PlaceOrderResult",
    "PropsEvent",
    "RateLimitedError",
    "ReasonCode",
    "ServerError",
    "StreamClosedError",
    "StreamError",
    "StreamItem",
    "Subscription",
    "SyncSnapshot",
    "SyncSubscription",
    "TimeInForce",
    "Token",
    "TransportError",
    "UnexpectedResponseError",
    "resolve_base_url",
    "websocket_url",
]
