"""setadminautoliqaction's validation: Tradovate's exact texts, in PRODUCT.md's order."""

from __future__ import annotations

import pytest

from autoliq.domain import rules
from autoliq.domain.rules import Rejection, SetAdminAction, check_environment, validate_set_admin_action
from autoliq.domain.states import AdminAction, Environment, ReasonCode

ALL_ACTIONS = [a.value for a in AdminAction]
ALL_CODES = [c.value for c in ReasonCode]


def test_enums_when_listed_then_match_tradovates_published_values_exactly() -> None:
    assert sorted(ALL_ACTIONS) == [
        "AgreedOnLiqOnlyModeByAutoLiq",
        "AgreedOnLiquidationByAutoLiq",
        "DisableAutoLiq",
        "LiquidateImmediately",
        "LiquidateOnlyModeImmediately",
        "LockTradingImmediately",
        "Normal",
        "PlaceAutoLiqOnHold",
    ]
    assert len(ALL_CODES) == 15
    assert sorted(ALL_CODES) == sorted(
        [
            "CloseAMLDecision", "CloseComplianceDecision", "CloseCustomerRequest", "CloseDeceased",
            "CloseEscheatment", "CloseFraud", "CloseInactiveUnfundedAccount", "FullBalanceWithdrawal",
            "Other", "RestrictedAMLRequest", "RestrictedAccountsRequest", "RestrictedComplianceRequest",
            "RestrictedRiskRestriction", "RestrictedTreasuryRequest", "RestrictedW8Expired",
        ]
    )  # fmt: skip


def test_error_texts_when_compared_then_are_tradovates_to_the_letter() -> None:
    assert rules.ACCOUNT_ID_POSITIVE == "Account Id should be greater than 0"
    assert rules.ADMIN_ACTION_RANGE == "Admin Action should be between Normal and LiquidateImmediately"
    assert rules.REASON_CODE_RANGE == "Admin Action Reason Code should be between CloseAMLDecision and Other"
    assert rules.REASON_TOO_LONG == "Admin Action Reason should be no longer than 8192"
    assert rules.REASON_REQUIRED == "Admin Action Reason should be specified"
    assert rules.ACCESS_IS_DENIED == "Access is denied"
    assert rules.CALL_ON_LIVE == "This endpoint should be called on live.tradovateapi.com"


@pytest.mark.parametrize("action", ALL_ACTIONS)
@pytest.mark.parametrize("code", ALL_CODES)
def test_validate_when_every_action_and_code_then_accepted(action: str, code: str) -> None:
    result = validate_set_admin_action(7, action, code, "because")
    assert result == SetAdminAction(7, AdminAction(action), ReasonCode(code), "because")


@pytest.mark.parametrize("account_id", [None, 0, -1, -(2**63)])
def test_validate_when_account_id_missing_zero_or_negative_then_account_id_text(
    account_id: int | None,
) -> None:
    assert validate_set_admin_action(account_id, "Normal", "Other", "x") == Rejection(
        rules.ACCOUNT_ID_POSITIVE
    )


@pytest.mark.parametrize("action", [None, "", "normal", "NORMAL", "Lock", "Normal ", "0"])
def test_validate_when_action_unknown_or_missing_then_action_text(action: str | None) -> None:
    assert validate_set_admin_action(1, action, "Other", "x") == Rejection(rules.ADMIN_ACTION_RANGE)


@pytest.mark.parametrize("code", [None, "", "other", "CallIn", "ClosingAccount", "LowLiquidity"])
def test_validate_when_code_unknown_missing_or_superseded_then_code_text(code: str | None) -> None:
    assert validate_set_admin_action(1, "Normal", code, "x") == Rejection(rules.REASON_CODE_RANGE)


def test_validate_when_reason_8192_chars_then_accepted_and_8193_then_too_long() -> None:
    assert isinstance(validate_set_admin_action(1, "Normal", "Other", "r" * 8192), SetAdminAction)
    assert validate_set_admin_action(1, "Normal", "Other", "r" * 8193) == Rejection(rules.REASON_TOO_LONG)


def test_validate_when_reason_non_ascii_then_length_counts_characters_not_bytes() -> None:
    # 8192 characters of 3-byte UTF-8 (24,576 bytes) are within the limit; 8193 are not.
    assert isinstance(validate_set_admin_action(1, "Normal", "Other", "€" * 8192), SetAdminAction)
    assert validate_set_admin_action(1, "Normal", "Other", "€" * 8193) == Rejection(rules.REASON_TOO_LONG)


@pytest.mark.parametrize("reason", [None, "", "   ", "\n\t"])
def test_validate_when_code_other_and_reason_blank_then_reason_required(reason: str | None) -> None:
    assert validate_set_admin_action(1, "Normal", "Other", reason) == Rejection(rules.REASON_REQUIRED)


@pytest.mark.parametrize("code", [c for c in ALL_CODES if c != "Other"])
def test_validate_when_code_not_other_and_no_reason_then_accepted(code: str) -> None:
    result = validate_set_admin_action(1, "LockTradingImmediately", code, None)
    assert isinstance(result, SetAdminAction)
    assert result.reason is None


def test_validate_when_several_fields_wrong_then_first_check_in_order_wins() -> None:
    # accountId -> adminAction -> reason code -> reason length -> reason given
    assert validate_set_admin_action(0, "bad", "bad", "r" * 9000) == Rejection(rules.ACCOUNT_ID_POSITIVE)
    assert validate_set_admin_action(1, "bad", "bad", "r" * 9000) == Rejection(rules.ADMIN_ACTION_RANGE)
    assert validate_set_admin_action(1, "Normal", "bad", "r" * 9000) == Rejection(rules.REASON_CODE_RANGE)
    assert validate_set_admin_action(1, "Normal", "Other", "r" * 9000) == Rejection(rules.REASON_TOO_LONG)


def test_check_environment_when_demo_then_allowed_replay_then_text_live_then_401() -> None:
    assert check_environment(Environment.DEMO) is None
    replay = check_environment(Environment.REPLAY)
    assert replay is not None and (replay.error_text, replay.http_status) == (rules.CALL_ON_LIVE, 200)
    live = check_environment(Environment.LIVE)
    assert live is not None and (live.error_text, live.http_status) == (rules.ACCESS_IS_DENIED, 401)
