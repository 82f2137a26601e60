"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, seeded services, clients.

Cost, per test: SQLite databases are copies of a migrated template file; PostgreSQL ones come from
a pool of migrated databases emptied after each test (`PgPool`: no CREATE/DROP DATABASE per test);
the app is built once per settings and rebound to each test's services (`app_for`: prefer it to
`create_app` in tests); passwords hash at a test-only cost, in servers started as processes too
(tests/cheap_hash_serve.py).

PostgreSQL tests run against AUTOLIQ_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
Where no server answers they skip with a message, unless AUTOLIQ_REQUIRE_POSTGRES=1 (as .ci/run sets),
where they fail.
"""

from __future__ import annotations

import dataclasses
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
from litestar import Litestar
from litestar.testing import TestClient

from autoliq.adapters.sql.db import migrate
from autoliq.adapters.sql.outbox import WORKER_POLL_SECONDS
from autoliq.api.app import create_app
from autoliq.bootstrap import DemoCredentials, Services, bootstrap, seed_demo_if_empty, seed_organization
from autoliq.config import Settings, WebSocketSettings
from autoliq.domain.states import Environment
from autoliq.service import credentials
from autoliq.service.clock import ManualClock
from tests.cheap_hash_serve import TEST_HASH_COST

PG_URL = os.environ.get("AUTOLIQ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("AUTOLIQ_REQUIRE_POSTGRES") == "1"
ADMIN_PW = "admin-pw-for-tests"
TRADER_PW = "trader-pw-for-tests"
OTHER_ADMIN_PW = "other-admin-pw"

# -- order --


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked slow first, each file's tests kept in their order: under `-n 2 --dist
    loadfile` each process takes the next file when it is free, so the long files started first
    leave the many short ones to even out the end (the fuzzing file, started last, kept one
    process busy for three minutes after the other had finished)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# -- password hashing --


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hash() -> Iterator[None]:
    """argon2id at a test-only cost (8 KiB, one pass): seeding and logging in stay fast. Servers
    started as processes hash at the same cost (tests/cheap_hash_serve.py) unless started with
    `real_hash_cost=True`; tests that swap `credentials.HASHER` back use the real cost."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(credentials, "HASHER", credentials.password_hasher(TEST_HASH_COST))
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


# A schema fingerprint: what a test may have changed beyond rows (a downgrade, a stamp, a dropped
# table or index, a database setting). A database whose fingerprint differs from the template's is
# dropped instead of reused.
_FINGERPRINT = """
SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM (
  SELECT 'a:' || c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
         || ':' || a.attnotnull::text || ':' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS x
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT 'r:' || relname || ':' || relkind::text FROM pg_class
   WHERE relnamespace = 'public'::regnamespace
  UNION ALL SELECT 'c:' || conname || ':' || pg_get_constraintdef(oid) FROM pg_constraint
   WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT 'i:' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL SELECT 't:' || tgname FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL SELECT 'p:' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
  UNION ALL SELECT 'n:' || nspname FROM pg_namespace
  UNION ALL SELECT 's:' || array_to_string(setconfig, ',') FROM pg_db_role_setting
   WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
  UNION ALL SELECT 'v:' || version_num FROM alembic_version
) AS parts
"""


# On. Without reuse every PostgreSQL test creates a database and the pool drops them all at the
# end, each DROP DATABASE forcing a checkpoint (~1.4 s on this disk): the suite took 31-37 minutes
# and a PostgreSQL restart under that load passed 60 s. The "Heartbeat timeout" failures once blamed
# on reuse happened without it too; the sockets' silence under load is what `make_settings` answers.
POOL_REUSE = True


@dataclass
class PgPool:
    """Migrated PostgreSQL databases of one test process, reused: a test takes an empty one and gives
    it back; giving back empties it (no rows, every sequence at its start: as migrated) unless its
    schema changed, in which case it is dropped. CREATE/DROP DATABASE cost seconds each on
    a loaded machine (DROP forces a checkpoint); emptying a reused one costs milliseconds."""

    template: str
    fingerprint: str
    tables: list[str]
    free: list[str]
    every: set[str]

    def take(self) -> str:
        if self.free and POOL_REUSE:
            return self.free.pop()
        name = f"autoliq_t_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.every.add(name)
        return name

    def give_back(self, name: str) -> None:
        if self._emptied(name):
            self.free.append(name)
            return
        self.every.discard(name)
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _emptied(self, name: str) -> bool:
        """Empty `name` as migrated; False when it cannot be (schema changed, locks held, gone)."""
        try:
            with psycopg.connect(_pg_url_for(name), autocommit=True) as conn:
                # Sessions the test left open (a killed server's, a leaked engine's) hold locks.
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                row = conn.execute(_FINGERPRINT).fetchone()
                if row is None or row[0] != self.fingerprint:
                    return False
                # DELETE, not TRUNCATE: on tables this small it takes ~20 ms where TRUNCATE's new
                # files take ~700 ms. The replica role skips the triggers (the audit log's
                # append-only guard, the foreign keys' checks) for this session only.
                with conn.transaction():
                    conn.execute("SET LOCAL lock_timeout = '10s'")
                    conn.execute("SET LOCAL session_replication_role = replica")
                    for table in self.tables:
                        conn.execute(f'DELETE FROM "{table}"')  # type: ignore[arg-type]
                    conn.execute(
                        "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass,"
                        " start_value, false) FROM pg_sequences WHERE schemaname = 'public'"
                    )
                return True
        except psycopg.Error:
            return False

    def close(self) -> None:
        for name in self.every:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.every.clear()
        self.free.clear()


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
def pg_pool(pg_template: str) -> Iterator[PgPool]:
    """The reusable databases of this test process (see `PgPool`)."""
    with psycopg.connect(_pg_url_for(pg_template)) as conn:
        row = conn.execute(_FINGERPRINT).fetchone()
        assert row is not None
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ]
    pool = PgPool(pg_template, str(row[0]), tables, [], set())
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("tmpl") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


def fresh_database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of `kind`, for this test alone; emptied or dropped afterwards."""
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / f"autoliq-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    pool: PgPool = request.getfixturevalue("pg_pool")
    name = pool.take()
    try:
        yield _pg_url_for(name)
    finally:
        pool.give_back(name)


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
        # An in-process test's sockets send nothing while the test makes its HTTP calls: on a loaded
        # machine (a PostgreSQL checkpoint stalling commits) that silence passed the default 10 s
        # and the server cut the socket off ("Heartbeat timeout") before the awaited props were read.
        # The tests of liveness set their own timings (test_websocket.py `with_settings`).
        "websocket": WebSocketSettings(timeout_seconds=120.0),
    }
    values.update(overrides)
    return Settings(**values)


def worker_settings(database_url: str, **overrides: Any) -> Settings:
    """`make_settings` for one of several workers in one process (two sets of services over one
    database stand for the workers of `autoliq serve --workers N`): their relays read SQLite's outbox
    every 0.1 s, as such a worker's does (a single process's reads it every second)."""
    return make_settings(database_url, outbox_poll_seconds=WORKER_POLL_SECONDS, **overrides)


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


# -- the app, built once per settings --


@dataclass
class _BuiltApp:
    app: Litestar
    bound: Services
    """The Services object the app was built over; rebinding swaps its attributes, not the object."""
    state: dict[str, Any]
    """`app.state` as built (a test's additions, e.g. the WebSocket hub, go with it)."""


_APPS: dict[Settings, _BuiltApp] = {}
# On (see `app_for`). The price change heard twice once blamed on it was a race in its test (the
# other worker's relay delivering the first price after the subscription: test_market_data.py).
REUSE_APPS = True


def _wrappers(app: Litestar) -> list[Any]:
    """The ASGI entries wrapped around the router (each holds the next in `.app`)."""
    chain = []
    entry: Any = app.asgi_handler
    while entry is not None and hasattr(entry, "__dict__") and not isinstance(entry, Litestar):
        chain.append(entry)
        entry = getattr(entry, "app", None)
    return chain


def app_for(services: Services) -> Litestar:
    """`create_app(services)`, built once per settings: building registers every route (~0.3-0.4 s
    of CPU a test, more than the rest of a typical test together); a later test with the same
    settings gets the same app bound to its own services. The app reads its services through the
    object it was built over, so rebinding makes that object share the new one's attributes and
    replaces, in the ASGI entries, the components captured from the old one. Where that cannot be
    done with certainty (an entry holding state derived from the services, such as a rate limiter),
    a new app is built, as before."""
    if not REUSE_APPS:
        return create_app(services)
    key = dataclasses.replace(services.settings, database_url="")  # the database: the services'
    built = _APPS.get(key)
    # An app still running (its lifespan started the relay and has not stopped it: a test with two
    # apps at once) is never taken from under its test.
    if built is not None and built.bound.relay is None and _rebind(built, services):
        return built.app
    app = create_app(services)
    if services.rate_limits is None:
        _APPS[key] = _BuiltApp(app, services, dict(app.state))
    return app


def _rebind(built: _BuiltApp, services: Services) -> bool:
    old = built.bound.__dict__
    replacements = {id(value): services.__dict__[name] for name, value in old.items()}
    component_types = tuple({type(v) for v in old.values() if v is not None and not isinstance(v, Settings)})
    for entry in _wrappers(built.app):
        for attr, value in vars(entry).items():
            if id(value) in replacements:
                setattr(entry, attr, replacements[id(value)])
            elif isinstance(value, component_types):
                return False  # a component captured some other way: not rebindable for sure
    built.bound.__dict__ = services.__dict__  # one set of attributes, seen through both objects
    for name in list(built.app.state.keys()):
        del built.app.state[name]
    built.app.state.update(built.state)
    return True


@pytest.fixture
def client(services: Services) -> Iterator[TestClient[Any]]:
    """An in-process HTTP client; the app's lifespan runs around the test."""
    with TestClient(app=app_for(services)) as c:
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
