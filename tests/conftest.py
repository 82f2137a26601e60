"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, seeded services, clients.

PostgreSQL tests run against AUTOLIQ_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
Where no server answers they skip with a message, unless AUTOLIQ_REQUIRE_POSTGRES=1 (as .ci/run sets),
where they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from autoliq.adapters.sql.db import migrate
from autoliq.api.app import create_app
from autoliq.bootstrap import DemoCredentials, Services, bootstrap, seed_demo_if_empty, seed_organization
from autoliq.config import Settings
from autoliq.domain.states import Environment
from autoliq.service import credentials
from autoliq.service.clock import ManualClock

PG_URL = os.environ.get("AUTOLIQ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("AUTOLIQ_REQUIRE_POSTGRES") == "1"
ADMIN_PW = "admin-pw-for-tests"
TRADER_PW = "trader-pw-for-tests"
OTHER_ADMIN_PW = "other-admin-pw"

# -- password hashing --


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hash() -> Iterator[None]:
    """argon2id at a test-only cost (8 KiB, one pass): seeding and logging in stay fast. Servers
    started as processes, and tests that swap `credentials.HASHER` back, use the real cost."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(credentials, "HASHER", credentials.password_hasher(credentials.HashCost(1, 8, 1)))
        yield


# -- databases --


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except Exception as exc:  # any failure means "not reachable here"
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _pg_url_for(dbname: str) -> str:
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{dbname}"


def _pg_admin(sql: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL template database, copied for each test."""
    problem = _pg_reachable()
    if problem is not None:
        message = f"PostgreSQL not reachable at {PG_URL}: {problem}"
        if REQUIRE_PG:
            pytest.fail(message + " (AUTOLIQ_REQUIRE_POSTGRES=1 makes PostgreSQL tests mandatory)")
        pytest.skip(message)
    name = f"autoliq_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    migrate(_pg_url_for(name))
    yield name
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("tmpl") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


def fresh_database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, migrated, empty database of `kind`; dropped afterwards."""
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / f"autoliq-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    tmpl: str = request.getfixturevalue("pg_template")
    name = f"autoliq_t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{tmpl}"')
    try:
        yield _pg_url_for(name)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs twice: on SQLite and on PostgreSQL."""
    yield from fresh_database(request.param, request, tmp_path)


# -- services and clients --


@pytest.fixture
def clock() -> ManualClock:
    """A clock the test moves by hand."""
    return ManualClock(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Test settings with known seed passwords."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_password": ADMIN_PW,
        "trader_password": TRADER_PW,
        "environment": Environment.DEMO,
        # Market data's first data with the answer, as before the pause for Tradovate's tutorials:
        # the in-process tests read frames in order (the pause has its own test in test_market_data).
        "md_first_data_delay_ms": 0,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class World:
    """A seeded database: the demo organization (admin, trader, 10 accounts) and another firm."""

    database_url: str
    demo: DemoCredentials
    demo_account_ids: list[int]
    other_account_ids: list[int]


@pytest.fixture
def world(database_url: str, clock: ManualClock) -> World:
    """The demo organization, plus 'Other Firm' (admin `other-admin`, 3 accounts)."""
    demo = seed_demo_if_empty(make_settings(database_url), clock)
    assert demo is not None and demo.first_account_id is not None
    other = seed_organization(database_url, "Other Firm", "other-admin", OTHER_ADMIN_PW, 3, clock=clock)
    assert other.first_account_id is not None
    return World(
        database_url,
        demo,
        list(range(demo.first_account_id, demo.first_account_id + 10)),
        list(range(other.first_account_id, other.first_account_id + 3)),
    )


@pytest.fixture
def services(world: World, clock: ManualClock) -> Services:
    """Services over the seeded world (not started: the app's lifespan starts them)."""
    return bootstrap(make_settings(world.database_url), clock=clock, run_migrations=False)


@pytest.fixture
def client(services: Services) -> Iterator[TestClient[Any]]:
    """An in-process HTTP client; the app's lifespan runs around the test."""
    with TestClient(app=create_app(services)) as c:
        yield c


def login(client: TestClient[Any], name: str, password: str) -> str:
    """An access token for `name`."""
    r = client.post("/v1/auth/accesstokenrequest", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "accessToken" in body, body
    return str(body["accessToken"])


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin_headers(client: TestClient[Any]) -> dict[str, str]:
    """Headers of the demo organization's admin."""
    return bearer(login(client, "admin", ADMIN_PW))


@pytest.fixture
def trader_headers(client: TestClient[Any]) -> dict[str, str]:
    """Headers of the demo organization's trader (owner of the 10 demo accounts)."""
    return bearer(login(client, "trader", TRADER_PW))


@pytest.fixture
def other_admin_headers(client: TestClient[Any]) -> dict[str, str]:
    """Headers of Other Firm's admin."""
    return bearer(login(client, "other-admin", OTHER_ADMIN_PW))
