"""`POST /v1/user/syncrequest` over REST: the same `SyncRequest` body and `SyncMessage` snapshot as the
WebSocket's syncrequest (`api/websocket/sync.py`), without the subscription (REST has no events)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from autoliq.api.params import ERROR_RESPONSES, decode_strict
from autoliq.api.security import caller_of
from autoliq.api.websocket.sync import SyncMessageOut, SyncRequestBody, snapshot, subscription_of
from autoliq.container import Services


class UserSyncController(Controller):
    """Tradovate's `user/syncrequest` as a REST call."""

    path = "/v1/user"
    tags = ["user"]  # noqa: RUF012

    @post("/syncrequest", status_code=200, responses=ERROR_RESPONSES)
    async def sync_request(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[SyncRequestBody | None] = None,
    ) -> SyncMessageOut:
        """The snapshot of the accounts the request names (narrowed as on the WebSocket: `accounts`,
        `users`, `shardingExpression`). The body is required, as for every POST (`{}` for all)."""
        # Optional only so that an empty body (or `null`) gets the strict decoder's 400 (`body: is
        # required (a JSON object)`, `body: Expected ...`), as for every POST: then only is it decoded
        # again, to raise that.
        body = data if data is not None else decode_strict(await request.body(), SyncRequestBody)
        subscription = subscription_of(caller_of(request).user, body)
        return await snapshot(services, subscription)
