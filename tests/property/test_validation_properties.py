"""Hypothesis: setadminautoliqaction's validation accepts exactly the valid bodies, first failure wins."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from autoliq.domain import rules
from autoliq.domain.rules import Rejection, SetAdminAction, validate_set_admin_action
from autoliq.domain.states import AdminAction, ReasonCode

ACTIONS = [a.value for a in AdminAction]
CODES = [c.value for c in ReasonCode]

account_ids = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1))
actions = st.one_of(st.none(), st.sampled_from(ACTIONS), st.text(max_size=40))
codes = st.one_of(st.none(), st.sampled_from(CODES), st.text(max_size=40))
reasons = st.one_of(
    st.none(),
    st.text(max_size=50),
    st.integers(min_value=8180, max_value=8200).map(lambda n: "ü" * n),
)


def expected(account_id: int | None, action: str | None, code: str | None, reason: str | None) -> str | None:
    """The reference model of PRODUCT.md's order of checks."""
    if account_id is None or account_id <= 0:
        return rules.ACCOUNT_ID_POSITIVE
    if action not in ACTIONS:
        return rules.ADMIN_ACTION_RANGE
    if code not in CODES:
        return rules.REASON_CODE_RANGE
    if reason is not None and len(reason) > 8192:
        return rules.REASON_TOO_LONG
    if code == "Other" and (reason is None or reason.strip() == ""):
        return rules.REASON_REQUIRED
    return None


@given(account_ids, actions, codes, reasons)
def test_validation_when_any_body_then_matches_reference_model(
    account_id: int | None, action: str | None, code: str | None, reason: str | None
) -> None:
    result = validate_set_admin_action(account_id, action, code, reason)
    want = expected(account_id, action, code, reason)
    if want is None:
        assert isinstance(result, SetAdminAction)
        assert (result.account_id, result.action.value, result.reason_code.value) == (
            account_id,
            action,
            code,
        )
        assert result.reason == (reason or None)
    else:
        assert result == Rejection(want)
