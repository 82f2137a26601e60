"""/_autoliq: our own extensions, never inside Tradovate's entities."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency

from autoliq.api.params import ERROR_RESPONSES, MasterIdParam
from autoliq.api.schemas import AuditOut, audit_entry_out
from autoliq.api.security import caller_of
from autoliq.bootstrap import Services


class AutoliqController(Controller):
    """Extension reads."""

    path = "/_autoliq"
    tags = ["autoliq"]  # noqa: RUF012

    @get("/audit", responses=ERROR_RESPONSES)
    async def audit(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], accountId: MasterIdParam
    ) -> AuditOut:
        """An account's audit trail with actor, reason code and reason text, oldest first."""
        user = caller_of(request).user
        account = await services.views.account(user, accountId)  # 404 when not visible
        entries = await services.views.log_entries(user, account_ids=[account.id])
        return AuditOut(accountId=account.id, entries=[audit_entry_out(e) for e in entries])
