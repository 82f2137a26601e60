"""Validation of setadminautoliqaction with Tradovate's exact texts, in PRODUCT.md's order."""

from __future__ import annotations

from dataclasses import dataclass

from autoliq.domain.states import AdminAction, Environment, ReasonCode

MAX_REASON_LENGTH = 8192

ACCOUNT_ID_POSITIVE = "Account Id should be greater than 0"
ADMIN_ACTION_RANGE = "Admin Action should be between Normal and LiquidateImmediately"
REASON_CODE_RANGE = "Admin Action Reason Code should be between CloseAMLDecision and Other"
REASON_TOO_LONG = "Admin Action Reason should be no longer than 8192"
REASON_REQUIRED = "Admin Action Reason should be specified"
ACCESS_IS_DENIED = "Access is denied"
CALL_ON_LIVE = "This endpoint should be called on live.tradovateapi.com"

ALL_ERROR_TEXTS = (
    ACCOUNT_ID_POSITIVE,
    ADMIN_ACTION_RANGE,
    REASON_CODE_RANGE,
    REASON_TOO_LONG,
    REASON_REQUIRED,
    ACCESS_IS_DENIED,
    CALL_ON_LIVE,
)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A business refusal: Tradovate answers it as HTTP 200 with `errorText`."""

    error_text: str


@dataclass(frozen=True, slots=True)
class SetAdminAction:
    """A validated command: set `account_id`'s admin action."""

    account_id: int
    action: AdminAction
    reason_code: ReasonCode
    reason: str | None


@dataclass(frozen=True, slots=True)
class EnvironmentDenied:
    """The server's environment refuses the endpoint; `http_status` 401 (live) or 200 (replay)."""

    error_text: str
    http_status: int


def validate_set_admin_action(
    account_id: int | None,
    admin_action: str | None,
    reason_code: str | None,
    reason: str | None,
) -> SetAdminAction | Rejection:
    """Check the body's values in order; a missing field counts as an invalid one."""
    if account_id is None or account_id <= 0:
        return Rejection(ACCOUNT_ID_POSITIVE)
    action = AdminAction.parse(admin_action) if admin_action is not None else None
    if action is None:
        return Rejection(ADMIN_ACTION_RANGE)
    code = ReasonCode.parse(reason_code) if reason_code is not None else None
    if code is None:
        return Rejection(REASON_CODE_RANGE)
    # Length in Unicode code points: a non-ASCII character counts as one character.
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        return Rejection(REASON_TOO_LONG)
    if code is ReasonCode.OTHER and (reason is None or not reason.strip()):
        return Rejection(REASON_REQUIRED)
    return SetAdminAction(account_id, action, code, reason if reason else None)


def check_environment(environment: Environment) -> EnvironmentDenied | None:
    """The refusal setadminautoliqaction gets on this server's environment, if any."""
    if environment is Environment.REPLAY:
        return EnvironmentDenied(CALL_ON_LIVE, 200)
    if environment is Environment.LIVE:
        return EnvironmentDenied(ACCESS_IS_DENIED, 401)
    return None
