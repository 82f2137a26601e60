"""`autoliq sandbox ...` connects as the operator commands do (autoliq/cli/connection.py): presets and a
`/v1` suffix, the password rules, one line and exit 2 when the server cannot be reached; an invalid
fault kind lists the valid ones. In process: Typer's runner, the CLI's transport seam
(`connection.base_transport`) replaced by an `httpx.MockTransport` (the real one where nothing listens).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from autoliq.cli import connection
from autoliq.cli.main import app
from autoliq.domain.sandbox import FaultKind
from tests.server import free_port

PASSWORD = "sandbox-admin-pw"
INCORRECT = "Incorrect username or password. Please try again."
CLOCK = {
    "now": "2026-11-24T15:00:00Z",
    "tradeDate": "2026-11-24",
    "marketOpen": True,
    "nextMarketOpen": "2026-11-24T23:00:00Z",
    "nextWeeklyOpen": "2026-11-29T23:00:00Z",
    "offsetSeconds": 0,
}

runner = CliRunner()


class FakeAutoliq:
    """A login and the sandbox clock; every request recorded."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/v1/auth/accesstokenrequest":
            if json.loads(request.content)["password"] != PASSWORD:
                return httpx.Response(200, json={"errorText": INCORRECT})
            return httpx.Response(
                200,
                json={
                    "accessToken": "t1",
                    "expirationTime": "2099-01-01T00:00:00Z",
                    "userId": 1,
                    "name": "admin",
                    "userStatus": "Active",
                },
            )
        if request.url.path == "/_autoliq/clock" and request.headers.get("authorization") == "Bearer t1":
            return httpx.Response(200, json=CLOCK)
        return httpx.Response(401, json={"errorText": "Access is denied"})


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeAutoliq:
    server = FakeAutoliq()
    monkeypatch.setattr(connection, "base_transport", lambda _connection, _n: httpx.MockTransport(server))
    for name in (
        "AUTOLIQ_URL",
        "AUTOLIQ_USER",
        "AUTOLIQ_PASSWORD",
        "AUTOLIQ_PASSWORD_FILE",
        "AUTOLIQ_SEC",
        "AUTOLIQ_SEC_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    return server


def sandbox(*args: str) -> Result:
    return runner.invoke(app, ["sandbox", *args])


@pytest.mark.parametrize(
    "url", ["local", "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080"]
)
def test_sandbox_clock_when_url_is_a_preset_or_has_a_v1_suffix_then_the_same_server(
    fake: FakeAutoliq, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("AUTOLIQ_URL", url)

    result = sandbox("clock", "--password", PASSWORD)

    assert result.exit_code == 0, result.output
    assert "sandbox time  2026-11-24T15:00:00Z  (trade date 2026-11-24, market open)" in result.output
    assert [str(r.url) for r in fake.requests] == [
        "http://127.0.0.1:8080/v1/auth/accesstokenrequest",
        "http://127.0.0.1:8080/_autoliq/clock",
    ]
    assert json.loads(fake.requests[0].content)["name"] == "admin"  # --user defaults to the demo admin


def test_sandbox_when_password_wrong_then_one_line_exit_2_without_the_password(fake: FakeAutoliq) -> None:
    result = sandbox("fault", "list", "--url", "local", "--password", "wrong-password-x")

    assert result.exit_code == 2
    assert result.stderr == f"error: http://127.0.0.1:8080: {INCORRECT} (user 'admin')\n"
    assert "wrong-password-x" not in result.output


def test_sandbox_when_no_password_and_stdin_not_a_terminal_then_exit_2_before_any_request(
    fake: FakeAutoliq,
) -> None:
    result = sandbox("reset", "--yes", "--url", "local")

    assert result.exit_code == 2
    assert (
        result.stderr
        == "error: no password: set AUTOLIQ_PASSWORD (or AUTOLIQ_PASSWORD_FILE) or give --password\n"
    )
    assert fake.requests == []


def test_sandbox_when_the_password_and_sec_come_from_files_then_the_login_sends_them(
    fake: FakeAutoliq, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """AUTOLIQ_PASSWORD_FILE and AUTOLIQ_SEC_FILE (a cron job's secrets, off the command line and
    out of the environment): the content, one trailing newline dropped."""
    (tmp_path / "password").write_text(PASSWORD + "\n")
    (tmp_path / "sec").write_text("the-app-secret\n")
    monkeypatch.setenv("AUTOLIQ_PASSWORD_FILE", str(tmp_path / "password"))
    monkeypatch.setenv("AUTOLIQ_SEC_FILE", str(tmp_path / "sec"))

    result = sandbox("clock", "--url", "local")

    assert result.exit_code == 0, result.output
    login = json.loads(fake.requests[0].content)
    assert (login["password"], login["sec"]) == (PASSWORD, "the-app-secret")


@pytest.mark.parametrize("variable", ["AUTOLIQ_PASSWORD", "AUTOLIQ_SEC"])
def test_sandbox_when_a_secret_and_its_file_are_both_set_then_exit_2_before_any_request(
    fake: FakeAutoliq, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str
) -> None:
    (tmp_path / "secret").write_text("from-the-file-1\n")
    monkeypatch.setenv(variable, "from-the-variable-1")
    monkeypatch.setenv(f"{variable}_FILE", str(tmp_path / "secret"))

    result = sandbox("clock", "--url", "local", "--password", PASSWORD)

    assert result.exit_code == 2
    assert result.stderr == f"error: set {variable} or {variable}_FILE, not both\n"
    assert "from-the" not in result.output
    assert fake.requests == []


def test_sandbox_when_url_neither_preset_nor_url_then_exit_2(fake: FakeAutoliq) -> None:
    result = sandbox("clock", "--url", "staging", "--password", PASSWORD)

    assert result.exit_code == 2
    assert "local, demo, live" in result.stderr and result.stderr.count("\n") == 1


def test_sandbox_fault_add_when_kind_invalid_then_the_valid_kinds_listed_exit_2_and_nothing_sent(
    fake: FakeAutoliq,
) -> None:
    result = sandbox("fault", "add", "/v1/account/list", "sometimes", "--password", PASSWORD)

    assert result.exit_code == 2
    assert "'sometimes' is not one of" in result.output
    for kind in FaultKind:
        assert f"'{kind.value}'" in result.output
    assert fake.requests == []


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["clock"], id="clock"),
        pytest.param(["clock", "--advance", "60"], id="clock-advance"),
        pytest.param(["reset", "--yes"], id="reset"),
        pytest.param(["fault", "list"], id="fault-list"),
        pytest.param(["fault", "add", "/v1/account/list", "delay"], id="fault-add"),
        pytest.param(["replay", "{csv}"], id="replay"),
    ],
)
def test_sandbox_when_server_unreachable_then_cannot_connect_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    csv_file = tmp_path / "prices.csv"
    csv_file.write_text("0,ESZ6,5000\n")
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("AUTOLIQ_PASSWORD", "pw-not-shown-1")

    result = sandbox(*[arg.format(csv=csv_file) for arg in command], "--url", url + "/v1")

    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot connect to {url} (ConnectError")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output and "pw-not-shown-1" not in result.output
