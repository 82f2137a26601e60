"""The suite's reused PostgreSQL databases (tests/conftest.py `PgPool`): a database given back is
handed out again only as a fresh one would be (no rows, sequences at their start, schema at head);
one whose schema a test changed is dropped instead."""

from __future__ import annotations

import psycopg
import pytest
from alembic import command

from autoliq.adapters.sql.db import alembic_config, create_admin_engine
from autoliq.bootstrap import seed_organization
from tests import conftest
from tests.conftest import PgPool, _pg_url_for
from tests.helpers import HEAD_REVISION

pytestmark = pytest.mark.postgres


def _seed(url: str) -> int:
    """An organization with 2 accounts and an audit log row; the first account's id."""
    seeded = seed_organization(url, "Reuse Test", "reuse-admin", "reuse-admin-password", 2)
    assert seeded.first_account_id is not None
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO account_risk_status_log"
            " (account_id, timestamp, admin_action, user_triggered_liq_only, actor)"
            " VALUES (%s, now(), 'Normal', false, 'system')",
            (seeded.first_account_id,),
        )
    return seeded.first_account_id


@pytest.fixture
def pool_reuse(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mechanism under test, on whatever the suite's setting (conftest.POOL_REUSE)."""
    monkeypatch.setattr(conftest, "POOL_REUSE", True)


@pytest.mark.usefixtures("pool_reuse")
def test_pool_when_database_given_back_with_rows_then_handed_out_again_empty_with_sequences_restarted(
    pg_pool: PgPool,
) -> None:
    name = pg_pool.take()
    first_account = _seed(_pg_url_for(name))
    pg_pool.give_back(name)  # the audit log is append-only: emptying gets past its guard

    again = pg_pool.take()
    assert again == name
    try:
        with psycopg.connect(_pg_url_for(again)) as conn:
            tables = conn.execute(
                "SELECT tablename FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            ).fetchall()
            assert len(tables) > 20
            for (table,) in tables:
                count = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # type: ignore[arg-type]
                assert count == (0,), table
            version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        assert version == [(HEAD_REVISION,)]
        assert _seed(_pg_url_for(again)) == first_account
    finally:
        pg_pool.give_back(again)


def test_pool_when_schema_changed_then_database_dropped_not_reused(pg_pool: PgPool) -> None:
    name = pg_pool.take()
    engine = create_admin_engine(_pg_url_for(name))
    try:
        command.downgrade(alembic_config(engine), "0016_md_access_token")
    finally:
        engine.dispose()
    pg_pool.give_back(name)

    assert name not in pg_pool.free and name not in pg_pool.every
    with psycopg.connect(_pg_url_for(pg_pool.template)) as conn:
        exists = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert exists == (0,)
