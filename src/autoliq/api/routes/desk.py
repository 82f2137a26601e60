"""The risk desk: its page (static files of the `autoliq.desk` package at `/desk/`), its reads under
`/_autoliq/desk/` (who is signed in, accounts page by page, equity history), and the OpenAPI docs'
Swagger UI files (from the `swagger-ui-py` package, Swagger UI 5: it reads OpenAPI 3.1) so that
`/_autoliq/docs` works offline."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import Parameter
from litestar.router import Router
from litestar.static_files import create_static_files_router

from autoliq.api.params import ERROR_RESPONSES, INT64_MAX, IdListParam, MasterIdParam, parse_ids
from autoliq.api.schemas.desk import (
    DeskAccountsOut,
    DeskSessionOut,
    EquityOut,
    desk_account_out,
    desk_session_out,
    equity_out,
)
from autoliq.api.security import PUBLIC, caller_of
from autoliq.container import Services
from autoliq.domain.auto_liq import LayerState
from autoliq.domain.errors import BadRequest
from autoliq.domain.states import AdminAction

DESK_PATH = "/desk"
DESK_FILES = Path(__file__).resolve().parent.parent.parent / "desk"
"""The page's HTML, CSS and JavaScript modules (package data of `autoliq`)."""
DOCS_ASSETS_PATH = "/_autoliq/docs/assets"
MAX_DESK_ROWS = 1000
MAX_NAME_FILTER = 200
MAX_EQUITY_POINTS = 10_000
SORT_KEYS = ("id", "name", "owner", "adminAction", "autoLiq", "balance")
AUTO_LIQ_STATES = ("Normal", *(s.value for s in LayerState))
ADMIN_ACTIONS = tuple(a.value for a in AdminAction)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)
"""The desk's pages may load and call nothing but the server they came from (`'self'` covers the
WebSocket on the same host and port)."""


def _desk_headers(response: Response[Any]) -> Response[Any]:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response


def swagger_ui_files() -> Path:
    """Swagger UI's files as the `swagger-ui-py` package ships them (its folder found, its Python
    modules not imported: they are a Flask/Tornado/... integration autoliq does not use)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError("the swagger-ui-py package is missing: pip install swagger-ui-py")
    return Path(spec.origin).parent / "static"


def static_routers() -> list[Router]:
    """The desk's files at `/desk/` (`/desk/` answers index.html) and Swagger UI's for the docs, no
    token needed: they hold no data (the page asks for a sign-in and calls the API with its token)."""
    swagger = swagger_ui_files()
    return [
        create_static_files_router(
            path=DESK_PATH,
            directories=[DESK_FILES],
            html_mode=True,
            name="desk",
            opt=PUBLIC,
            after_request=_desk_headers,
            include_in_schema=False,
        ),
        create_static_files_router(
            path=DOCS_ASSETS_PATH,
            directories=[swagger],
            name="docs-assets",
            opt=PUBLIC,
            include_in_schema=False,
        ),
    ]


def offline_swagger() -> SwaggerRenderPlugin:
    """Swagger UI from the files this server serves (`static_routers`), never from a CDN."""
    return SwaggerRenderPlugin(
        js_url=f"{DOCS_ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{DOCS_ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{DOCS_ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{DOCS_ASSETS_PATH}/favicon-32x32.png'>",
    )


def _one_of(field: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    if value not in allowed:
        raise BadRequest(f"{field}: should be one of {', '.join(allowed)}")
    return value


class DeskController(Controller):
    """The risk desk's reads."""

    path = "/_autoliq/desk"
    tags = ["autoliq"]  # noqa: RUF012

    @get("/session", responses=ERROR_RESPONSES)
    async def session(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> DeskSessionOut:
        """Who the token belongs to, its organization, and whether it may act (an organization admin)
        and drive the sandbox's market and clock (an admin of the sandbox operator organization)."""
        found = await services.desk.session(caller_of(request).user)
        return desk_session_out(found, services.settings.environment.value)

    @get("/accounts", responses=ERROR_RESPONSES)
    async def accounts(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        offset: Annotated[int, Parameter(ge=0, le=INT64_MAX, description="Rows to skip")] = 0,
        limit: Annotated[int, Parameter(ge=1, le=MAX_DESK_ROWS, description="At most this many rows")] = 100,
        name: Annotated[
            str | None,
            Parameter(
                max_length=MAX_NAME_FILTER,
                description="Name pattern, case-insensitive: `*` any characters, `?` one; else contains",
            ),
        ] = None,
        adminAction: Annotated[
            str | None, Parameter(description="Only accounts with this adminAction")
        ] = None,
        autoLiq: Annotated[
            str | None,
            Parameter(description="Only accounts whose auto-liq layer is Normal, LiquidateOnly or Locked"),
        ] = None,
        sort: Annotated[str, Parameter(description=f"One of {', '.join(SORT_KEYS)}")] = "name",
        desc: Annotated[bool, Parameter(description="Descending order")] = False,
        ids: Annotated[
            IdListParam | None, Parameter(description="Only these accounts (at most 1,000)")
        ] = None,
    ) -> DeskAccountsOut:
        """The visible accounts that match, a page at a time, each with its admin action, auto-liq
        layer, and figures now: cash balance, net liquidation value, day P&L, trailing-drawdown floor
        and the distance to it, open positions."""
        wanted = None if ids is None else parse_ids("ids", ids)
        if wanted is not None and len(wanted) > MAX_DESK_ROWS:
            raise BadRequest(f"ids: at most {MAX_DESK_ROWS}")
        if name is not None and "\x00" in name:
            raise BadRequest("name: should not hold a NUL character")
        key = _one_of("sort", sort, SORT_KEYS) or "name"
        total, rows = await services.desk.accounts(
            caller_of(request).user,
            offset=offset,
            limit=limit,
            name=name,
            admin_action=_one_of("adminAction", adminAction, ADMIN_ACTIONS),
            auto_liq=_one_of("autoLiq", autoLiq, AUTO_LIQ_STATES),
            ids=wanted,
            sort=key,
            descending=desc,
        )
        return DeskAccountsOut(
            total=total, offset=offset, limit=limit, rows=[desk_account_out(r) for r in rows]
        )

    @get("/equity", responses=ERROR_RESPONSES)
    async def equity(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        accountId: MasterIdParam,
        limit: Annotated[
            int, Parameter(ge=1, le=MAX_EQUITY_POINTS, description="The latest this many points")
        ] = 2000,
    ) -> EquityOut:
        """An account's equity history, oldest first: its net liquidation value and trailing-drawdown
        floor each time the risk engine re-evaluated it and either changed (accounts with post-trade
        settings), kept `AUTOLIQ_EQUITY_HISTORY_DAYS`. 404 for an account the caller cannot see."""
        points = await services.desk.equity(caller_of(request).user, accountId, limit)
        return equity_out(accountId, points)
