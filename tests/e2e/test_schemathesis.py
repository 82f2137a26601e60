"""Schemathesis against autoliq's own OpenAPI document, in-process over ASGI, on a seeded database
(SQLite and PostgreSQL).

Every operation the app documents at /_autoliq/docs/openapi.json gets generated requests (valid ones and,
where the check is meaningful, invalid ones); no answer may be a 5xx, use an undocumented status code or
content type, or break its documented response schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from autoliq.api.app import OPENAPI_JSON_PATH, create_app
from autoliq.bootstrap import Services, bootstrap
from tests.conftest import ADMIN_PW, World, bearer, login, make_settings

pytestmark = pytest.mark.slow  # about 80 s a database


def authenticated_valid_request_is_not_refused(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A schema-valid request carrying the admin's token must reach its handler: no 401. (Otherwise every
    answer could be a documented 401 and the other checks would pass without testing anything.)"""
    if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE:
        assert response.status_code != 401, f"valid request refused: {response.status_code} {response.text}"
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    authenticated_valid_request_is_not_refused,
]


@pytest.fixture
def services(world: World) -> Services:
    """Services as `autoliq serve` wires them: the sandbox clock is the machine's plus a stored offset,
    and tokens expire by the machine's clock. (With the shared fixture's manual clock timing the tokens
    too, a fuzzed `POST /_autoliq/clock` to a far-off `now`, or `POST /_autoliq/reset`, which sets the
    clock back to the machine's, would log the admin out for every operation after it.)"""
    services = bootstrap(make_settings(world.database_url), run_migrations=False)
    # Fuzzed logins soon earn penalty tickets; their pause (a flood defence) would only slow the run.
    services.auth.refusal_delay = 0.0
    return services


@pytest.fixture
def running_app(services: Services) -> Iterator[Litestar]:
    """The app over the seeded world, its services started and stopped here: schemathesis runs an ASGI
    app's lifespan on its own schedule, so the app is built not to manage them."""
    app = create_app(services, manage_lifecycle=False)
    services.start()
    try:
        yield app
    finally:
        services.stop()


@pytest.fixture
def admin_token(services: Services, running_app: Litestar, world: World) -> str:
    """A demo admin's access token from a real log-in, after a few status changes so that the log reads
    have rows. (Through a second app instance over the same services: one Litestar instance must not run
    two lifespans at once.)"""
    with TestClient(app=create_app(services, manage_lifecycle=False)) as c:
        token = login(c, "admin", ADMIN_PW)
        for account_id, action in [
            (world.demo_account_ids[0], "LockTradingImmediately"),
            (world.demo_account_ids[1], "LiquidateOnlyModeImmediately"),
        ]:
            r = c.post(
                "/v1/accountRiskStatus/setadminautoliqaction",
                json={
                    "accountId": account_id,
                    "adminAction": action,
                    "adminActionReasonCode": "RestrictedRiskRestriction",
                },
                headers=bearer(token),
            )
            assert r.status_code == 200, r.text
            assert r.json()["accountRiskStatus"]["adminAction"] == action, r.text
        return token


@pytest.fixture
def api_schema(request: pytest.FixtureRequest, running_app: Litestar, admin_token: str) -> Any:
    """autoliq's own OpenAPI document, as the app serves it, with the admin token for its bearer scheme
    (schemathesis sends it where the document asks for it, and leaves it out to test refusals)."""
    # schemathesis 4.32's lazy loader relabels the running test through `Node._nodeid`, which pytest 9.2
    # renamed to `Node._id`; give it the attribute it reads (it only affects report labels).
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    config = schemathesis.Config.from_dict(
        {"auth": {"openapi": {"bearer_access_token": {"bearer": admin_token}}}}
    )
    return schemathesis.openapi.from_asgi(OPENAPI_JSON_PATH, running_app, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    # 20 per operation (was 40): schemathesis and Hypothesis, not the app (4% of the samples), spend
    # the time, 88 s a run on SQLite at 40; hostile values on every route are test_input_fuzz.py's.
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_own_openapi_when_fuzzed_then_no_server_error_and_answers_match_documented_schemas(
    case: schemathesis.Case,
) -> None:
    case.call_and_validate(checks=CHECKS)
