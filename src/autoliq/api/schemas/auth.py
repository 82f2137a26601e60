"""/v1/auth: the login and `oauth/me` shapes, with Tradovate's field names."""

from __future__ import annotations

from datetime import datetime

import msgspec

from autoliq.api.bounds import Int64

# -- requests --


class AccessTokenRequest(msgspec.Struct, forbid_unknown_fields=False):
    """Tradovate's `AccessTokenRequest` (only name and password are required)."""

    name: str
    password: str
    appId: str | None = None
    appVersion: str | None = None
    deviceId: str | None = None
    cid: str | Int64 | None = None
    sec: str | None = None
    hibpCheck: bool | None = None
    pTicket: str | None = msgspec.field(default=None, name="p-ticket")
    """The penalty ticket of an earlier answer, sent back once its `p-time` has passed."""


# -- responses --


class AccessTokenResponse(msgspec.Struct, omit_defaults=True):
    """Tradovate's `AccessTokenResponse`."""

    errorText: str | None = None
    accessToken: str | None = None
    mdAccessToken: str | None = None
    """Beyond the OpenAPI schema (docs/api.md, "Fields served beyond the OpenAPI"): the token that
    authorizes a market-data (or any) WebSocket; not a REST bearer."""
    expirationTime: datetime | None = None
    userStatus: str | None = None
    userId: int | None = None
    name: str | None = None
    hasLive: bool | None = None
    pTicket: str | None = msgspec.field(default=None, name="p-ticket")
    """Instead of a token: too many failed logins of this name or from this address (or too many
    logins at once); not checked. Send the request again with this ticket after `p-time` seconds."""
    pTime: int | None = msgspec.field(default=None, name="p-time")
    pCaptcha: bool | None = msgspec.field(default=None, name="p-captcha")


class OAuthMeResponse(msgspec.Struct, omit_defaults=True):
    """Tradovate's `OAuthMeResponse`."""

    userId: int
    name: str
    fullName: str
    email: str
    emailVerified: bool
    isTrial: bool
    organizationName: str
    currentMDSubs: list[str]
    activePlugins: list[str]
    errorText: str | None = None
