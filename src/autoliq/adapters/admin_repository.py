"""Risk categories, account notes and demo-account resets over one SQLAlchemy connection (mixed
into SqlStore)."""

from __future__ import annotations

from sqlalchemy import Connection


class AdminRepository:
    """The administrative siblings' storage (see `autoliq.service.admin_ports.AdminStore`)."""

    conn: Connection
