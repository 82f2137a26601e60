"""Migration 0017 (the sandbox clock's replay speed), on both engines."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, text

from autoliq.adapters.sql.db import alembic_config, create_admin_engine
from autoliq.adapters.sql.repositories import SqlStore
from tests.conftest import World
from tests.helpers import current_revision

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_migration_0017_when_a_clock_offset_is_stored_then_it_runs_at_real_time_and_back(
    world: World,
) -> None:
    engine = create_admin_engine(world.database_url)
    try:
        # Arrange: a clock moved an hour ahead before speeds existed.
        command.downgrade(alembic_config(engine), "0016_md_access_token")
        assert current_revision(world.database_url) == "0016_md_access_token"
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO sandbox_clock (id, offset_us, updated) VALUES (1, 3600000000, :now)"),
                {"now": NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW},
            )

        # Act
        command.upgrade(alembic_config(engine), "head")

        # Assert: the offset kept, the pace the machine's; the downgrade drops the column.
        with engine.begin() as conn:
            store = SqlStore(conn)
            assert store.clock_offset() == 3_600_000_000
            assert store.clock_speed() == (100, NOW)
            store.save_clock_offset(7_200_000_000, NOW, 400)
            assert store.clock_speed() == (400, NOW)
        command.downgrade(alembic_config(engine), "0016_md_access_token")
        assert "speed" not in {c["name"] for c in inspect(engine).get_columns("sandbox_clock")}
        command.upgrade(alembic_config(engine), "head")
    finally:
        engine.dispose()
