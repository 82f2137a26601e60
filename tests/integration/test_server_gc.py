"""The garbage collector of a server process (issue 16): once the app's lifespan has started the
services, what start-up built is frozen out of the collector's reach and the youngest generation's
threshold is the settings' (`api/gc_settle.py`); an app built for tests leaves the collector alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from autoliq.bootstrap import bootstrap, serving_app
from tests.conftest import World, app_for, make_settings


@pytest.fixture
def clean_gc() -> Iterator[None]:
    """Nothing frozen before the test, and the collector as it was after it (a test process must
    not keep its objects frozen)."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_server_app_when_its_lifespan_started_then_start_up_is_frozen_and_gen0_threshold_set(
    world: World, clean_gc: None
) -> None:
    settings = make_settings(world.database_url, gc_gen0_threshold=12_345)
    app: Any = serving_app(settings)  # as `autoliq serve` builds each process's app
    assert gc.get_freeze_count() == 0
    with TestClient(app=app) as client:
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == 12_345
        assert client.get("/_autoliq/ready").status_code == 200


def test_test_app_when_its_lifespan_started_then_the_collector_is_left_alone(
    world: World, clean_gc: None
) -> None:
    services = bootstrap(make_settings(world.database_url), run_migrations=False)
    before = gc.get_threshold()
    with TestClient(app=app_for(services)):
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == before
