"""The storage the administrative siblings need (risk categories, notes, demo resets); part of Store."""

from __future__ import annotations

from typing import Protocol


class AdminStore(Protocol):
    """Risk categories, account notes and demo-account resets of one transaction."""
