"""Money constants of the sandbox."""

from __future__ import annotations

INITIAL_BALANCE_CENTS = 5_000_000
"""A demo account starts with $50,000."""
