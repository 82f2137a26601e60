"""The Litestar app factory: Tradovate's /v1 paths, our /_autoliq paths, docs at /_autoliq/docs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import ASGIRoute, HTTPRoute

from autoliq import __version__
from autoliq.api import gc_settle
from autoliq.api.asgi_post import DOCUMENTED_AS, HotRouteHandler
from autoliq.api.client_address import ClientAddressEntry
from autoliq.api.edge import Edge
from autoliq.api.errors import EXCEPTION_HANDLERS
from autoliq.api.params import StrictRequest
from autoliq.api.routes.account import AccountController
from autoliq.api.routes.auth import AuthController
from autoliq.api.routes.auto_liq_settings import UserAccountAutoLiqController
from autoliq.api.routes.desk import DeskController, offline_swagger, static_routers
from autoliq.api.routes.dry_run import DryRunController
from autoliq.api.routes.linked import (
    LinkedOrderController,
    OrderStrategyController,
    OrderStrategyLinkController,
    OrderStrategyTypeController,
)
from autoliq.api.routes.market import (
    ContractController,
    ContractGroupController,
    ContractMaturityController,
    CurrencyController,
    ExchangeController,
    ProductController,
)
from autoliq.api.routes.monitoring import MonitoringController
from autoliq.api.routes.operations import OperationsController
from autoliq.api.routes.orders import (
    PLACE_ORDER,
    CashBalanceController,
    FillController,
    FillPairController,
    OrderController,
    PositionController,
)
from autoliq.api.routes.position_limits import (
    UserAccountPositionLimitController,
    UserAccountRiskParameterController,
)
from autoliq.api.routes.risk import (
    SET_ADMIN_ACTION,
    BulkController,
    RiskStatusController,
    RiskStatusLogController,
)
from autoliq.api.routes.risk_admin import (
    DemoAccountController,
    RiskAdminController,
    RiskAdminExtensionsController,
    RiskCategoryController,
)
from autoliq.api.routes.sandbox import SandboxController
from autoliq.api.routes.simulation import SimulationController
from autoliq.api.routes.user import UserController
from autoliq.api.routes.user_sync import UserSyncController
from autoliq.api.routes.webhooks import WebhookController
from autoliq.api.security import require_token
from autoliq.api.websocket import WebSocketController
from autoliq.api.websocket.shutdown import announce_on_exit_signals
from autoliq.container import Services

DOCS_PATH = "/_autoliq/docs"
OPENAPI_JSON_PATH = f"{DOCS_PATH}/openapi.json"

CONTROLLERS: list[Any] = [
    AuthController,
    SET_ADMIN_ACTION,
    RiskStatusController,
    RiskStatusLogController,
    BulkController,
    UserAccountAutoLiqController,
    UserAccountPositionLimitController,
    UserAccountRiskParameterController,
    AccountController,
    ProductController,
    ContractController,
    PLACE_ORDER,
    OrderController,
    DryRunController,
    FillController,
    PositionController,
    CashBalanceController,
    LinkedOrderController,
    OrderStrategyController,
    OrderStrategyLinkController,
    OrderStrategyTypeController,
    # issue 14 reads
    UserController,
    ContractMaturityController,
    ContractGroupController,
    ExchangeController,
    CurrencyController,
    FillPairController,
    SimulationController,
    MonitoringController,
    OperationsController,
    RiskAdminController,
    RiskCategoryController,
    DemoAccountController,
    RiskAdminExtensionsController,
    WebSocketController,
    SandboxController,
    UserSyncController,
    DeskController,
    WebhookController,
]


def create_app(
    services: Services,
    *,
    manage_lifecycle: bool = True,
    announce_shutdown: bool = False,
    settle_gc: bool = False,
) -> Litestar:
    """The ASGI app over `services`; it starts and stops them with its lifespan unless told not to.
    With `announce_shutdown` (the server's own processes), SIGINT/SIGTERM first tell the WebSocket
    clients (Tradovate's `shutdown` event) before uvicorn closes their sockets. With `settle_gc` (the
    server's own processes too), the lifespan's start ends by freezing what start-up built out of the
    garbage collector's reach and raising its youngest generation's threshold (`gc_settle.py`)."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        restore_signals = announce_on_exit_signals(app) if announce_shutdown else None
        timers: asyncio.Task[None] | None = None
        delivering: asyncio.Task[None] | None = None
        publishing: asyncio.Task[None] | None = None
        shared = services.shared_metrics
        if manage_lifecycle:
            services.start()
            # Events other workers commit reach this process's subscribers.
            services.start_relay(asyncio.get_running_loop())
            # Due timers fire as time passes (and at start: those that fell due while it was down).
            timers = asyncio.create_task(services.scheduler.run_forever(), name="autoliq-scheduler")
            # Webhooks: committed events out of the outbox to each organization's endpoints.
            delivering = asyncio.create_task(
                services.webhook_deliverer.run_forever(), name="autoliq-webhooks"
            )
            if shared is not None:
                # This worker's metrics reach the other workers' scrapes, every second.
                publishing = asyncio.create_task(shared.publish_forever(), name="autoliq-metrics")
        if settle_gc:
            gc_settle.settle_gc(services.settings.gc_gen0_threshold)
        try:
            yield
        finally:
            if restore_signals is not None:
                restore_signals()
            if publishing is not None and shared is not None:
                publishing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await publishing
                shared.close()
            for task in (timers, delivering):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if delivering is not None:
                await services.webhook_deliverer.close()
            if manage_lifecycle:
                await services.sandbox.drain()  # writes that events of a reset asked for
                # A write the cancelled scheduler started may still be committing on a thread.
                await services.uow.drain()
                services.stop_relay()
                services.stop()

    async def provide_services() -> Services:
        return services

    app = Litestar(
        route_handlers=[*CONTROLLERS, *static_routers()],
        dependencies={"services": Provide(provide_services, use_cache=True)},
        guards=[require_token],
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=StrictRequest,
        request_max_body_size=services.settings.max_body_bytes,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="autoliq",
            version=__version__,
            description=(
                "Tradovate's account-risk API, served locally: /v1 paths as Tradovate names them, "
                "/_autoliq paths for autoliq's own extensions. Authenticate with "
                "POST /v1/auth/accesstokenrequest and send `Authorization: Bearer <accessToken>`."
            ),
            path=DOCS_PATH,
            render_plugins=[offline_swagger()],
            components=Components(
                security_schemes={"bearer_access_token": SecurityScheme(type="http", scheme="bearer")}
            ),
            security=[{"bearer_access_token": []}],
        ),
        debug=False,
        # Logging is `autoliq serve`'s (telemetry/logs.py: text or JSON lines, set before the app
        # exists). Litestar's default config would reconfigure the root logger in each worker with its
        # own text format, so a worker's lines were not JSON under --log-format json.
        logging_config=None,
    )
    app.state.services = services
    _document_asgi_routes(app)
    # The one edge in front of the framework: paths, sandbox faults and limits, request metrics.
    hot = {
        route.path: route.route_handler
        for route in app.routes
        if isinstance(route, ASGIRoute) and isinstance(route.route_handler, HotRouteHandler)
    }
    app.asgi_handler = Edge(app.asgi_handler, services, [route.path for route in app.routes], hot)
    # Outermost: every layer inside, and uvicorn's access log, see the same client address.
    app.asgi_handler = ClientAddressEntry(app.asgi_handler, services.settings.trusted_proxies)
    return app


def _document_asgi_routes(app: Litestar) -> None:
    """Put the ASGI route handlers' OpenAPI declarations (api/asgi_post.py) in the app's document,
    in their routes' places: registered on a documentation-only app, never served."""
    declared = {
        route.path: route.route_handler.opt[DOCUMENTED_AS]
        for route in app.routes
        if isinstance(route, ASGIRoute) and DOCUMENTED_AS in route.route_handler.opt
    }
    if not declared:
        return
    twins = _documentation_routes(tuple(declared.values()))
    plugin = app.plugins.get(OpenAPIPlugin)
    included = dict(plugin.included_routes)
    plugin.included_routes.clear()
    for route in app.routes:
        if route.path in twins and route.path in declared:
            plugin.included_routes[route.path] = twins[route.path]
        elif route.path in included:
            plugin.included_routes[route.path] = included[route.path]


@cache
def _documentation_routes(declarations: tuple[HTTPRouteHandler, ...]) -> dict[str, HTTPRoute]:
    """The declarations' routes, registered once per process on an app of their own (building one
    costs tens of milliseconds; tests build many apps)."""
    # logging_config=None: as the app's, Litestar must not reconfigure logging (see create_app)
    documentation = Litestar(route_handlers=list(declarations), openapi_config=None, logging_config=None)
    return {route.path: route for route in documentation.routes if isinstance(route, HTTPRoute)}
