"""Passwords (argon2id, a slow memory-hard hash; older scrypt hashes still verify) and access tokens
(random, stored as SHA-256; each with its market-data token, derived from it)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError


@dataclass(frozen=True, slots=True)
class HashCost:
    """argon2id's cost parameters."""

    time_cost: int
    memory_kib: int
    parallelism: int


# OWASP Password Storage Cheat Sheet, "Argon2id": minimum m=19456 KiB (19 MiB), t=2, p=1.
OWASP_ARGON2ID = HashCost(time_cost=2, memory_kib=19456, parallelism=1)


def password_hasher(cost: HashCost) -> PasswordHasher:
    """An argon2id hasher at `cost` (16-byte salt, 32-byte digest)."""
    return PasswordHasher(
        time_cost=cost.time_cost,
        memory_cost=cost.memory_kib,
        parallelism=cost.parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


HASHER = password_hasher(OWASP_ARGON2ID)
"""The hasher every process uses. Nothing in the settings changes it: only the test suite swaps it
for a cheap one (tests/conftest.py), so production cannot reach a weak cost by accident."""

_dummy: dict[int, str] = {}


def hash_password(password: str) -> str:
    """A salted argon2id hash of `password`, self-describing (PHC string)."""
    return HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches the stored hash (argon2id, or a legacy scrypt one)."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when `stored` is not argon2id at the current cost (a legacy scrypt hash, or weaker
    parameters): rehash it once the password is known to be right."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def dummy_hash() -> str:
    """A hash at the current cost that no password matches: an unknown user costs the same work as
    a known one (no timing oracle)."""
    key = id(HASHER)
    found = _dummy.get(key)
    if found is None:
        found = _dummy[key] = HASHER.hash(secrets.token_urlsafe(32))
    return found


def _verify_scrypt(password: str, stored: str) -> bool:
    """The scrypt format of autoliq before argon2id: `scrypt$N$r$p$salt_b64$digest_b64`."""
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        salt = base64.b64decode(salt_b64)
        expected = base64.b64decode(digest_b64)
        digest = hashlib.scrypt(
            password.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, binascii.Error):
        return False
    return scheme == "scrypt" and hmac.compare_digest(digest, expected)


def new_token() -> str:
    """A fresh opaque access token (256 random bits)."""
    return secrets.token_urlsafe(32)


_MD_TOKEN_KEY = b"autoliq mdAccessToken v1"


def md_token_of(token: str) -> str:
    """The `mdAccessToken` paired with access token `token`: HMAC-SHA256 of it, URL-safe base64 (43
    characters, the access token's shape). Derived rather than drawn, so a renewal answers the same
    pair without keeping either token; one-way, so the market-data token never reveals the access
    token."""
    digest = hmac.new(_MD_TOKEN_KEY, token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def generate_password() -> str:
    """A random password for seeded users."""
    return secrets.token_urlsafe(12)
