"""/_autoliq/webhooks: an organization admin's webhooks (create, list, delete) and their dead letters."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from autoliq.api.params import ERROR_RESPONSES, INT64_MAX
from autoliq.api.schemas.webhooks import (
    DeadLetterOut,
    WebhookDeletedOut,
    WebhookIn,
    WebhookOut,
    dead_letter_out,
    webhook_out,
)
from autoliq.api.security import ADMINS_ONLY, caller_of
from autoliq.container import Services

Req = Request[Any, Any, Any]
WebhookId = Annotated[int, Parameter(gt=0, le=INT64_MAX, description="The webhook's id")]


class WebhookController(Controller):
    """Webhooks: committed events POSTed, signed, to an organization's endpoints."""

    path = "/_autoliq/webhooks"
    tags = ["autoliq"]  # noqa: RUF012

    @get("/", responses=ERROR_RESPONSES, opt=ADMINS_ONLY)
    async def webhooks(self, request: Req, services: NamedDependency[Services]) -> list[WebhookOut]:
        """The caller's organization's webhooks (organization admins), without their secrets."""
        found = await services.webhooks.of_organization(caller_of(request).user)
        return [webhook_out(h) for h in found]

    @post("/", status_code=200, responses=ERROR_RESPONSES, opt=ADMINS_ONLY)
    async def create(
        self, request: Req, data: JSONBody[WebhookIn], services: NamedDependency[Services]
    ) -> WebhookOut:
        """A new webhook of the caller's organization (organization admins), told of the events
        committed from now on: `{"url": "https://...", "events": ["breach", "autoLiquidation",
        "adminAction", "limitChange"], "format": "json" | "slack" | "discord"}`. The answer holds the
        signing `secret`, this once."""
        hook = await services.webhooks.create(caller_of(request).user, data.url, data.events, data.format)
        return webhook_out(hook, with_secret=True)

    @delete("/{webhookId:int}", status_code=200, responses=ERROR_RESPONSES, opt=ADMINS_ONLY)
    async def remove(
        self, request: Req, services: NamedDependency[Services], webhookId: WebhookId
    ) -> WebhookDeletedOut:
        """Delete a webhook of the caller's organization and its dead letters (404 for another's)."""
        await services.webhooks.delete(caller_of(request).user, webhookId)
        return WebhookDeletedOut(id=webhookId, deleted=True)

    @get("/{webhookId:int}/deadLetters", responses=ERROR_RESPONSES, opt=ADMINS_ONLY)
    async def dead_letters(
        self,
        request: Req,
        services: NamedDependency[Services],
        webhookId: WebhookId,
        limit: Annotated[int, Parameter(ge=1, le=1000, description="At most this many, newest first")] = 100,
    ) -> list[DeadLetterOut]:
        """The deliveries of a webhook that failed every try, newest first (404 for another
        organization's webhook)."""
        found = await services.webhooks.dead_letters(caller_of(request).user, webhookId, limit)
        return [dead_letter_out(d) for d in found]
