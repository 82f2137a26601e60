"""What the database holds of credentials, on SQLite and PostgreSQL: password hashes (argon2id, never
the password) and token hashes (never the token). Moved from tests/e2e/test_auth.py: no HTTP needed."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from autoliq.adapters.sql.db import create_admin_engine
from autoliq.adapters.sql.schema import app_user, auth_session
from autoliq.bootstrap import Services
from autoliq.service.auth import AccessGranted
from autoliq.service.credentials import token_hash
from tests.conftest import ADMIN_PW, TRADER_PW, World


def test_passwords_and_tokens_when_stored_then_hashed_not_plain(world: World, services: Services) -> None:
    services.start()
    try:
        granted = [
            asyncio.run(services.auth.request_access_token(name, password))
            for name, password in (("admin", ADMIN_PW), ("trader", TRADER_PW))
        ]
    finally:
        services.stop()
    assert all(isinstance(g, AccessGranted) for g in granted)
    engine = create_admin_engine(world.database_url)
    with engine.connect() as conn:
        hashes = [row.password_hash for row in conn.execute(select(app_user))]
        sessions = list(conn.execute(select(auth_session)))
    engine.dispose()
    assert hashes and all(
        h.startswith("$argon2id$") and ADMIN_PW not in h and TRADER_PW not in h for h in hashes
    )
    tokens = [g.token for g in granted if isinstance(g, AccessGranted)]
    assert len(sessions) == 2 and all(len(s.token_hash) == 64 for s in sessions)
    assert sorted(s.token_hash for s in sessions) == sorted(token_hash(t) for t in tokens)
    assert not any(t in (s.token_hash, s.md_token_hash) for s in sessions for t in tokens)
