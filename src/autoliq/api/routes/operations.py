"""/_autoliq/health, /_autoliq/ready and /_autoliq/metrics: for probes and scrapers, not traders."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from autoliq.api.params import ERROR_RESPONSES
from autoliq.api.security import PUBLIC, bearer_token
from autoliq.container import Services
from autoliq.domain.errors import Unauthorized
from autoliq.telemetry.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from autoliq.telemetry.metrics import render as render_metrics


class HealthOut(msgspec.Struct):
    """Liveness: the process answers."""

    status: str


class ReadyOut(msgspec.Struct):
    """Readiness: the database answers and is at the code's migration head."""

    status: str
    """`ready` or `not ready`."""
    database: str
    """`ok`, or why the database did not answer, or `writes failing: <cause>`."""
    migrations: str
    """The migration head when ready, else `<database revision> != <head>`."""


NOT_READY = ResponseSpec(
    data_container=ReadyOut,
    description=(
        "Not ready: the database did not answer within 2 s, or its migrations are not the code's, "
        "or this process's last write attempt failed on the storage"
    ),
)


def scrape_token_matches(token: str | None, digest: str | None) -> bool:
    """Whether `token` is the static scrape token whose SHA-256 is `digest` (compared in constant
    time; never with no token configured)."""
    if token is None or digest is None:
        return False
    return hmac.compare_digest(hashlib.sha256(token.encode()).hexdigest(), digest)


class OperationsController(Controller):
    """Probes and metrics."""

    path = "/_autoliq"
    tags = ["operations"]  # noqa: RUF012

    @get("/health", opt=PUBLIC, security=[{}])
    async def health(self) -> HealthOut:
        """Liveness: answers while the process serves requests; no token, no database access."""
        return HealthOut(status="ok")

    @get("/ready", opt=PUBLIC, security=[{}], responses={503: NOT_READY})
    async def ready(self, services: NamedDependency[Services]) -> Response[ReadyOut]:
        """Readiness (no token): 200 when a `SELECT 1` answers within 2 s, the database's migration
        revision is the code's head and writes work (`writes failing: <cause>` while the last write
        attempt failed on the storage); else 503 saying which."""
        found = await services.readiness.check()
        if found.ready:
            return Response(ReadyOut("ready", "ok", found.migrations), status_code=200)
        return Response(ReadyOut("not ready", found.database, found.migrations), status_code=503)

    @get("/metrics", media_type=METRICS_CONTENT_TYPE, responses=ERROR_RESPONSES, opt=PUBLIC)
    async def metrics(self, request: Request[Any, Any, Any], services: NamedDependency[Services]) -> str:
        """The metrics of every worker of this server in Prometheus' text format 0.0.4, for an
        organization admin's access token or the static scrape token (AUTOLIQ_METRICS_TOKEN); each
        sample is labelled `worker="<pid>"`, so `sum without (worker)` adds them up.

        The answering worker's numbers are live; the other workers' are their latest snapshot, which
        each publishes every second, so they lag by up to about a second. A worker that stopped
        leaves the answer."""
        # Public to the token guard, checked here: the scrape token is no session's token.
        token = bearer_token(request.scope)
        if not scrape_token_matches(token, services.settings.metrics_token_sha256):
            caller = await services.auth.authenticate(token)  # 401 Access is denied otherwise
            if not caller.user.is_admin:
                raise Unauthorized()
        if services.shared_metrics is not None:
            return services.shared_metrics.render()
        return render_metrics()
