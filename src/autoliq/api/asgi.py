"""The app factory for worker processes: `uvicorn autoliq.api.asgi:create --factory`.

`autoliq serve --workers N` prepares the database once (migrations, demo seed), hands its settings
to the workers through AUTOLIQ_* variables, and lets uvicorn start N processes on one port, each
calling `create`.
"""

from __future__ import annotations

from litestar import Litestar

from autoliq.api.app import create_app
from autoliq.bootstrap import bootstrap
from autoliq.config import Settings


def create() -> Litestar:
    """One worker's app: services over the database named by AUTOLIQ_DATABASE_URL (already migrated)."""
    settings = Settings.from_env()
    return create_app(bootstrap(settings, run_migrations=False), announce_shutdown=True)
