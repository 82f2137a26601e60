"""Password hashing, tokens and settings."""

from __future__ import annotations

import pytest

from autoliq.config import Settings
from autoliq.domain.states import Environment
from autoliq.service.credentials import hash_password, new_token, token_hash, verify_password


def test_password_hash_when_verified_then_only_the_right_password_matches() -> None:
    stored = hash_password("s3cret")
    assert stored.startswith("scrypt$")
    assert "s3cret" not in stored
    assert verify_password("s3cret", stored)
    assert not verify_password("s3cret!", stored)
    assert not verify_password("s3cret", "garbage")


def test_password_hash_when_same_password_twice_then_salted_differently() -> None:
    assert hash_password("pw") != hash_password("pw")


def test_token_when_issued_then_random_and_stored_as_sha256() -> None:
    a, b = new_token(), new_token()
    assert a != b and len(a) >= 40
    assert len(token_hash(a)) == 64 and token_hash(a) != a


def test_settings_when_defaults_then_loopback_8080_demo_one_mib() -> None:
    s = Settings()
    assert (s.host, s.port, s.environment, s.max_body_bytes) == ("127.0.0.1", 8080, Environment.DEMO, 1048576)
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("autoliq.db")


def test_settings_when_env_vars_set_then_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOLIQ_HOST", "0.0.0.0")
    monkeypatch.setenv("AUTOLIQ_PORT", "9001")
    monkeypatch.setenv("AUTOLIQ_DATABASE_URL", "postgresql://x@127.0.0.1/db")
    monkeypatch.setenv("AUTOLIQ_ENVIRONMENT", "replay")
    s = Settings.from_env()
    assert (s.host, s.port, s.database_url, s.environment) == (
        "0.0.0.0",
        9001,
        "postgresql://x@127.0.0.1/db",
        Environment.REPLAY,
    )


def test_settings_when_invalid_then_refused_at_start() -> None:
    with pytest.raises(ValueError, match="port"):
        Settings(port=0)
    with pytest.raises(ValueError):
        Settings.from_env(environment="staging")


def test_settings_log_format_when_unset_then_text_and_when_env_json_then_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AUTOLIQ_LOG_FORMAT", raising=False)
    assert Settings.from_env().log_format == "text"
    monkeypatch.setenv("AUTOLIQ_LOG_FORMAT", " JSON ")
    assert Settings.from_env().log_format == "json"


def test_settings_log_format_when_unknown_then_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="log_format must be text or json"):
        Settings(log_format="xml")
    monkeypatch.setenv("AUTOLIQ_LOG_FORMAT", "logfmt")
    with pytest.raises(ValueError, match="log_format"):
        Settings.from_env()
