"""The real password cost in a real server: every other server test hashes at the suite's cheap cost
(tests/cheap_hash_serve.py), so this one starts the `autoliq` command itself and checks what it
stores and that its seeded users log in."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import app_user
from tests.server import ServerProcess

pytestmark = pytest.mark.slow


def test_server_when_started_as_the_autoliq_command_then_passwords_hashed_at_owasp_cost(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'real-cost.db'}"
    with ServerProcess(database_url, tmp_path, real_hash_cost=True) as server:
        assert server.argv()[1:4] == ["-m", "autoliq", "serve"]
        assert server.login("admin")["accessToken"]
        assert server.login("trader")["accessToken"]
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            hashes = [row[0] for row in conn.execute(select(app_user.c.password_hash))]
    finally:
        engine.dispose()
    assert len(hashes) == 2
    assert all(h.startswith("$argon2id$v=19$m=19456,t=2,p=1$") for h in hashes), hashes


def test_server_when_started_for_the_suite_then_passwords_hashed_at_the_test_cost(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'test-cost.db'}"
    with ServerProcess(database_url, tmp_path) as server:
        assert server.argv()[1:4] == ["-m", "tests.cheap_hash_serve", "serve"]
        assert server.login("admin")["accessToken"]
    engine = create_admin_engine(database_url)
    try:
        with engine.connect() as conn:
            hashes = [row[0] for row in conn.execute(select(app_user.c.password_hash))]
    finally:
        engine.dispose()
    assert hashes and all(h.startswith("$argon2id$v=19$m=8,t=1,p=1$") for h in hashes), hashes
