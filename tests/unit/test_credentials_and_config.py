"""Password hashing, tokens and settings."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import secrets
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autoliq.cli.main import app as cli
from autoliq.config import Settings, WebSocketSettings, metrics_token_digest, secret_from_env
from autoliq.domain.states import Environment
from autoliq.service import credentials
from autoliq.service.credentials import hash_password, new_token, token_hash, verify_password
from autoliq.service.hashing import HashingPool


def test_password_hash_when_verified_then_only_the_right_password_matches() -> None:
    stored = hash_password("s3cret")
    assert stored.startswith("$argon2id$")
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


def test_settings_websocket_when_ws_env_vars_set_then_read_into_the_servers_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTOLIQ_WS_HEARTBEAT_SECONDS", "0.5")
    monkeypatch.setenv("AUTOLIQ_WS_TIMEOUT_SECONDS", "3")
    monkeypatch.setenv("AUTOLIQ_WS_SEND_QUEUE", "16")
    monkeypatch.setenv("AUTOLIQ_WS_SEND_QUEUE_BYTES", "4096")

    ws = Settings.from_env().websocket

    assert (ws.heartbeat_seconds, ws.timeout_seconds, ws.send_queue_max, ws.send_queue_bytes) == (
        0.5,
        3.0,
        16,
        4096,
    )
    assert Settings().websocket == WebSocketSettings()  # defaults without the variables


def test_settings_connection_limits_when_env_vars_set_then_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOLIQ_KEEP_ALIVE_SECONDS", "1.5")
    monkeypatch.setenv("AUTOLIQ_HEADER_TIMEOUT_SECONDS", "4")
    monkeypatch.setenv("AUTOLIQ_MAX_CONNECTIONS", "300")
    monkeypatch.setenv("AUTOLIQ_WS_AUTHORIZE_SECONDS", "2")

    s = Settings.from_env()

    assert (s.keep_alive_seconds, s.header_timeout_seconds, s.max_connections) == (1.5, 4.0, 300)
    assert s.websocket.authorize_seconds == 2.0
    defaults = Settings()
    assert (defaults.keep_alive_seconds, defaults.header_timeout_seconds, defaults.max_connections) == (
        5.0,
        10.0,
        None,
    )
    assert defaults.websocket.authorize_seconds == 10.0


def test_settings_gc_gen0_threshold_when_env_var_set_then_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOLIQ_GC_GEN0_THRESHOLD", "20000")

    assert Settings.from_env().gc_gen0_threshold == 20_000
    assert Settings().gc_gen0_threshold == 50_000


def test_settings_outbox_poll_seconds_when_env_var_set_then_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOLIQ_OUTBOX_POLL_SECONDS", "0.25")

    assert Settings.from_env().outbox_poll_seconds == 0.25
    assert Settings().outbox_poll_seconds is None  # derived: relay_poll_seconds


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AUTOLIQ_WS_HEARTBEAT_SECONDS", "soon", "AUTOLIQ_WS_HEARTBEAT_SECONDS='soon' is not a number"),
        ("AUTOLIQ_WS_SEND_QUEUE", "1.5", "AUTOLIQ_WS_SEND_QUEUE='1.5' is not an integer"),
        ("AUTOLIQ_WS_TIMEOUT_SECONDS", "0", "AUTOLIQ_WS_*: WebSocket intervals must be positive"),
        ("AUTOLIQ_WRITE_BATCH_MAX", "many", "AUTOLIQ_WRITE_BATCH_MAX='many' is not an integer"),
        ("AUTOLIQ_PORT", "http", "AUTOLIQ_PORT='http' is not an integer"),
        ("AUTOLIQ_ENVIRONMENT", "prod", "AUTOLIQ_ENVIRONMENT='prod' is not demo, live or replay"),
        ("AUTOLIQ_KEEP_ALIVE_SECONDS", "0", "AUTOLIQ_KEEP_ALIVE_SECONDS must be a positive number, got 0.0"),
        (
            "AUTOLIQ_HEADER_TIMEOUT_SECONDS",
            "inf",
            "AUTOLIQ_HEADER_TIMEOUT_SECONDS must be a positive number, got inf",
        ),
        ("AUTOLIQ_HEADER_TIMEOUT_SECONDS", "soon", "AUTOLIQ_HEADER_TIMEOUT_SECONDS='soon' is not a number"),
        ("AUTOLIQ_MAX_CONNECTIONS", "0", "AUTOLIQ_MAX_CONNECTIONS must be positive, got 0"),
        ("AUTOLIQ_MAX_CONNECTIONS", "1e4", "AUTOLIQ_MAX_CONNECTIONS='1e4' is not an integer"),
        ("AUTOLIQ_GC_GEN0_THRESHOLD", "0", "AUTOLIQ_GC_GEN0_THRESHOLD must be 100 to 10,000,000, got 0"),
        ("AUTOLIQ_GC_GEN0_THRESHOLD", "lots", "AUTOLIQ_GC_GEN0_THRESHOLD='lots' is not an integer"),
        (
            "AUTOLIQ_OUTBOX_POLL_SECONDS",
            "0",
            "AUTOLIQ_OUTBOX_POLL_SECONDS must be above 0 and at most 60, got 0.0",
        ),
        (
            "AUTOLIQ_WS_AUTHORIZE_SECONDS",
            "nan",
            "AUTOLIQ_WS_*: authorize_seconds must be a positive number, got nan",
        ),
    ],
)
def test_settings_when_a_variable_cannot_be_read_then_the_error_names_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValueError) as error:
        Settings.from_env()

    assert str(error.value) == message


def test_serve_when_a_variable_cannot_be_read_then_one_line_and_exit_2_before_touching_the_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AUTOLIQ_WS_SEND_QUEUE", "lots")
    database = tmp_path / "never.db"

    result = CliRunner().invoke(cli, ["serve", "--database-url", f"sqlite:///{database}"])

    assert result.exit_code == 2
    assert "AUTOLIQ_WS_SEND_QUEUE='lots' is not an integer" in result.output
    assert not database.exists()


# -- argon2id, legacy scrypt, the hashing pool --


def _scrypt_hash(password: str) -> str:
    """A hash in the format autoliq wrote before argon2id (scrypt N=2^14, r=8, p=1)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_password_hash_when_real_parameters_then_argon2id_at_owasp_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The production cost (the suite runs on a cheap one: tests/conftest.py)."""
    monkeypatch.setattr(credentials, "HASHER", credentials.password_hasher(credentials.OWASP_ARGON2ID))
    cheap = credentials.password_hasher(credentials.HashCost(1, 8, 1)).hash("s3cret")

    stored = hash_password("s3cret")

    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password("s3cret", stored) and not verify_password("s3cret!", stored)
    assert not credentials.needs_rehash(stored)
    assert credentials.needs_rehash(cheap) and verify_password("s3cret", cheap)  # verified, then upgraded
    assert verify_password("x", credentials.dummy_hash()) is False
    assert credentials.dummy_hash().startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_password_hash_when_legacy_scrypt_then_verified_and_marked_for_rehash() -> None:
    stored = _scrypt_hash("old-pw")

    assert verify_password("old-pw", stored) and not verify_password("old-pw!", stored)
    assert credentials.needs_rehash(stored)
    assert not verify_password("old-pw", "scrypt$16384$8$1$%%%$AAAA")  # damaged: no match, no error


def test_hashing_pool_when_full_then_turned_away_at_once_without_running() -> None:
    pool = HashingPool(threads=1, max_pending=2)
    release = threading.Event()
    ran: list[int] = []

    def slow(n: int) -> int:
        release.wait(10)
        ran.append(n)
        return n

    async def scenario() -> list[int | None]:
        first = asyncio.ensure_future(pool.run(slow, 1))
        second = asyncio.ensure_future(pool.run(slow, 2))
        await asyncio.sleep(0)  # both admitted: one running, one queued
        third = await pool.run(slow, 3)
        assert pool.pending == 2
        release.set()
        return [await first, await second, third]

    try:
        assert asyncio.run(scenario()) == [1, 2, None]
    finally:
        pool.shutdown()
    assert ran == [1, 2] and pool.pending == 0


def test_hashing_pool_when_running_then_on_its_own_thread_not_the_default_executor() -> None:
    pool = HashingPool()

    async def scenario() -> str | None:
        return await pool.run(lambda: threading.current_thread().name)

    try:
        assert (asyncio.run(scenario()) or "").startswith("autoliq-hash")
    finally:
        pool.shutdown()


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values are Linux's")
def test_hashing_pool_when_running_then_its_thread_yields_the_cpu_to_the_event_loop() -> None:
    pool = HashingPool()

    async def scenario() -> int | None:
        return await pool.run(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    try:
        nice = asyncio.run(scenario())
    finally:
        pool.shutdown()
    assert nice == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)


# -- secrets from files (AUTOLIQ_*_FILE) --


def test_secret_when_a_file_variable_names_a_file_then_its_content_without_the_trailing_newline(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "admin-password"
    secret.write_text("correct horse battery\n")
    env = {"AUTOLIQ_ADMIN_PASSWORD_FILE": str(secret)}
    assert secret_from_env("AUTOLIQ_ADMIN_PASSWORD", env) == "correct horse battery"
    assert secret_from_env("AUTOLIQ_ADMIN_PASSWORD", {"AUTOLIQ_ADMIN_PASSWORD": "plain"}) == "plain"
    assert secret_from_env("AUTOLIQ_ADMIN_PASSWORD", {}) is None
    secret.write_text("")
    assert secret_from_env("AUTOLIQ_ADMIN_PASSWORD", env) is None


@pytest.mark.parametrize("case", ["both", "missing", "binary"])
def test_secret_when_the_file_variable_is_wrong_then_an_error_naming_it_and_never_the_secret(
    tmp_path: Path, case: str
) -> None:
    secret = tmp_path / "token"
    secret.write_bytes(b"\xff\xfe not utf-8" if case == "binary" else b"the-secret-value-1234")
    env = {"AUTOLIQ_METRICS_TOKEN_FILE": str(secret if case != "missing" else tmp_path / "absent")}
    if case == "both":
        env["AUTOLIQ_METRICS_TOKEN"] = "the-secret-value-1234"
    with pytest.raises(ValueError, match="AUTOLIQ_METRICS_TOKEN") as raised:
        secret_from_env("AUTOLIQ_METRICS_TOKEN", env)
    assert "the-secret-value" not in str(raised.value)


def test_settings_when_secrets_come_from_files_then_passwords_and_the_scrape_token_digest_are_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (("admin", "admin-from-file-1"), ("trader", "trader-from-file-1")):
        (tmp_path / name).write_text(value + "\n")
        monkeypatch.setenv(f"AUTOLIQ_{name.upper()}_PASSWORD_FILE", str(tmp_path / name))
    (tmp_path / "token").write_text("scrape-token-0123456789\n")
    monkeypatch.setenv("AUTOLIQ_METRICS_TOKEN_FILE", str(tmp_path / "token"))
    settings = Settings.from_env()
    assert (settings.admin_password, settings.trader_password) == ("admin-from-file-1", "trader-from-file-1")
    assert settings.metrics_token_sha256 == hashlib.sha256(b"scrape-token-0123456789").hexdigest()
    assert "scrape-token" not in repr(settings)


def test_metrics_token_when_shorter_than_16_characters_then_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        metrics_token_digest("short-token")
    assert metrics_token_digest(None) is None
