"""What a password set for a user must be (seeded users, `autoliq users set-password`)."""

from __future__ import annotations

MIN_PASSWORD_LENGTH = 12
"""Shortest password autoliq sets for a user: a short one falls to guessing, whatever the hash."""


def password_problem(password: str) -> str | None:
    """Why `password` may not be set for a user, or None when it may."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters (has {len(password)})"
    return None
