"""Quantities as 64-bit integers on PostgreSQL: `trade_order.qty`, `fill.qty`, `position.bought` and
`position.sold` were INTEGER, 32-bit there, so an order of 2**31 contracts was stored on SQLite and a
500 on PostgreSQL. SQLite's INTEGER is 64-bit already, and `schema.Quantity` keeps declaring it
there (as `schema.Id` does), so SQLite needs no change and no table copy. The order limits
(`domain/limits.py`) keep quantities far below 2**31 anyway; the columns are no longer a trap if a
limit is raised.

The other INTEGER columns stay: the one-row tables' `id` (always 1), the fault counts and times
(`remaining` ≤ 10,000, `delay_ms` ≤ 60,000, `p_time` ≤ 3,600, checked by `domain/sandbox.py`), and
the ids that are SQLite's 64-bit rowid.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COLUMNS = (("trade_order", "qty"), ("fill", "qty"), ("position", "bought"), ("position", "sold"))


def _retype(old: sa.types.TypeEngine[int], new: sa.types.TypeEngine[int]) -> None:
    if op.get_context().dialect.name == "sqlite":
        return  # INTEGER is 64-bit there: nothing to change
    for table, column in COLUMNS:
        op.alter_column(table, column, existing_type=old, type_=new, existing_nullable=False)


def upgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    _retype(sa.BigInteger(), sa.Integer())
