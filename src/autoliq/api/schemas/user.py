"""/v1/user: Tradovate's `User`."""

from __future__ import annotations

from datetime import datetime

import msgspec

from autoliq.domain.model import User


class UserOut(msgspec.Struct):
    """Tradovate's `User` (autoliq's users are all `Active`, non-professional)."""

    id: int
    name: str
    timestamp: datetime
    email: str
    status: str
    professional: bool
    organizationId: int


def user_out(user: User, created: datetime) -> UserOut:
    """The wire form of a user (`status` `Active`, `professional` false: sandbox values)."""
    return UserOut(user.id, user.name, created, user.email, "Active", False, user.organization_id)
