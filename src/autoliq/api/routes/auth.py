"""/v1/auth: accesstokenrequest, renewaccesstoken, me."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from autoliq.api.client_address import client_address
from autoliq.api.params import ERROR_RESPONSES, PUBLIC_ERROR_RESPONSES
from autoliq.api.schemas.auth import AccessTokenRequest, AccessTokenResponse, OAuthMeResponse
from autoliq.api.security import PUBLIC, bearer_token, caller_of
from autoliq.container import Services
from autoliq.domain.rules import Rejection
from autoliq.domain.sandbox import PenaltyTicket
from autoliq.service.auth import AccessGranted


def _granted(result: AccessGranted) -> AccessTokenResponse:
    return AccessTokenResponse(
        accessToken=result.token,
        mdAccessToken=result.md_token,
        expirationTime=result.expires,
        userStatus="Active",
        userId=result.user.id,
        name=result.user.name,
        hasLive=False,
    )


class AuthController(Controller):
    """Tradovate's authentication endpoints."""

    path = "/v1/auth"
    tags = ["auth"]  # noqa: RUF012

    @post(
        "/accesstokenrequest",
        status_code=200,
        opt=PUBLIC,
        responses=PUBLIC_ERROR_RESPONSES,
        security=[{}],  # no token needed to log in
    )
    async def access_token_request(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[AccessTokenRequest],
        services: NamedDependency[Services],
    ) -> AccessTokenResponse:
        """Log in; a wrong name or password answers HTTP 200 with `errorText`, as Tradovate does; after
        repeated failures, a penalty ticket (`p-ticket`, `p-time`) instead (docs/api.md)."""
        result = await services.auth.request_access_token(
            data.name, data.password, address=client_address(request.scope), ticket=data.pTicket
        )
        if isinstance(result, Rejection):
            return AccessTokenResponse(errorText=result.error_text)
        if isinstance(result, PenaltyTicket):
            # Tradovate's penalty answer: HTTP 200, the three fields, the request not processed.
            return AccessTokenResponse(pTicket=result.ticket, pTime=result.p_time, pCaptcha=result.p_captcha)
        return _granted(result)

    @get("/renewaccesstoken", responses=ERROR_RESPONSES)
    async def renew_access_token(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> AccessTokenResponse:
        """Extend the current session's token (and its mdAccessToken); opens no new session."""
        return _granted(await services.auth.renew_access_token(bearer_token(request.scope)))

    @post("/renewaccesstoken", status_code=200, responses=ERROR_RESPONSES)
    async def renew_access_token_post(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> AccessTokenResponse:
        """The same renewal for clients that POST it (Tradovate's document says GET); a body, if any,
        is not read."""
        return _granted(await services.auth.renew_access_token(bearer_token(request.scope)))

    @get("/me", responses=ERROR_RESPONSES)
    async def me(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> OAuthMeResponse:
        """Who the token belongs to."""
        user = caller_of(request).user
        return OAuthMeResponse(
            userId=user.id,
            name=user.name,
            fullName=user.full_name,
            email=user.email,
            emailVerified=True,
            isTrial=False,
            organizationName=await services.views.organization_name(user),
            currentMDSubs=[],
            activePlugins=[],
        )
