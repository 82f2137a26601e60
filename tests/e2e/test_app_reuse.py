"""The suite's app reuse (tests/conftest.py `app_for`): an app is built once per settings and rebound
to a later test's services, never while it is still running for another client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from autoliq.service.clock import ManualClock
from tests import conftest
from tests.conftest import ADMIN_PW, World, bearer, login
from tests.helpers import app_client

RISK_LIST = "/v1/accountRiskStatus/list"


@pytest.fixture(autouse=True)
def reuse_apps(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The mechanism under test, on whatever the suite's setting (conftest.REUSE_APPS), with no app
    left over from other tests."""
    monkeypatch.setattr(conftest, "REUSE_APPS", True)
    conftest._APPS.clear()
    yield
    conftest._APPS.clear()


def test_app_for_when_an_app_of_the_same_settings_is_running_then_another_is_built_and_both_answer(
    client: TestClient[Any], world: World, clock: ManualClock
) -> None:
    with app_client(world.database_url, clock) as other:
        assert other.app is not client.app
        ids = {a["id"] for a in other.get(RISK_LIST, headers=bearer(login(other, "admin", ADMIN_PW))).json()}
        assert set(world.demo_account_ids) <= ids
        r = client.get(RISK_LIST, headers=bearer(login(client, "admin", ADMIN_PW)))
        assert r.status_code == 200
        assert {a["id"] for a in r.json()} == ids


def test_app_for_when_the_app_stopped_then_the_next_client_reuses_it_over_its_own_services(
    world: World, clock: ManualClock
) -> None:
    with app_client(world.database_url, clock) as first:
        app = first.app
        login(first, "admin", ADMIN_PW)
        first.app.state.scratch = "left by the first client"
        first_services = first.app.state.services.__dict__
    with app_client(world.database_url, clock) as second:
        assert second.app is app
        assert "scratch" not in second.app.state
        assert second.app.state.services.__dict__ is not first_services
        r = second.get(RISK_LIST, headers=bearer(login(second, "admin", ADMIN_PW)))
        assert r.status_code == 200 and {a["id"] for a in r.json()} >= set(world.demo_account_ids)
