"""`pip install autoliq` is the SDK alone: in a bare virtual environment it brings httpx and
websockets and none of the server's packages; `autoliq.client` imports, logs in to a real server,
locks an account and sees the lock arrive on its event stream; the `autoliq` command says which
extra it needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server import ServerProcess

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SERVER_PACKAGES = {
    "litestar", "msgspec", "sqlalchemy", "alembic", "psycopg", "psycopg-binary", "uvicorn", "typer", "rich",
    "argon2-cffi", "swagger-ui-py", "faker", "uvloop", "httptools",
}  # fmt: skip
SDK_SCRIPT = """
import sys
from autoliq.client import Client, SyncSnapshot

base, password = sys.argv[1], sys.argv[2]
with Client(base, name="admin", password=password) as client:
    account = client.accounts()[0]["id"]
    with client.subscribe(["accountRiskStatus"], accounts=[account]) as stream:
        items = iter(stream)
        assert isinstance(next(items), SyncSnapshot)
        result = client.lock(account, "from the SDK alone", verify=True)
        assert result.applied, result
        for item in items:
            if item.entity.get("adminAction") == "LockTradingImmediately":
                print("locked and heard", item.entity["id"])
                break
"""


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """No PYTHONPATH, no virtual environment of the suite's: only the bare one's own packages."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8"}


def test_sdk_when_installed_alone_in_a_bare_venv_then_light_and_it_logs_in_locks_and_subscribes(
    tmp_path: Path,
) -> None:
    venv = tmp_path / "sdk"
    env = _clean_env(tmp_path)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, env=env)
    python = venv / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-cache-dir", str(REPO)],
        capture_output=True, text=True, timeout=600, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "json"],
        capture_output=True, text=True, timeout=120, env=env, check=True,
    )  # fmt: skip
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
    assert {"autoliq", "httpx", "websockets"} <= installed, installed
    assert installed & SERVER_PACKAGES == set(), installed & SERVER_PACKAGES

    command = subprocess.run(
        [str(venv / "bin" / "autoliq"), "--version"], capture_output=True, text=True, timeout=60, env=env
    )
    assert command.returncode == 2, command.stdout + command.stderr
    assert "pip install 'autoliq[server]'" in command.stderr

    with ServerProcess(f"sqlite:///{tmp_path / 'sdk.db'}", tmp_path) as server:
        run = subprocess.run(
            [str(python), "-c", SDK_SCRIPT, server.base_url, server.admin_password or ""],
            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.stdout.startswith("locked and heard "), run.stdout
        token = server.login()["accessToken"]
        with server.client(token) as api:
            account = int(run.stdout.split()[-1])
            status = api.get("/v1/accountRiskStatus/item", params={"id": account}).json()
    assert status["adminAction"] == "LockTradingImmediately"
