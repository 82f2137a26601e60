"""The SDK imports and works with only httpx and the standard library: none of the server's packages."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SERVER_PACKAGES = ("litestar", "sqlalchemy", "msgspec", "alembic", "psycopg", "uvicorn", "typer", "rich")

SCRIPT = textwrap.dedent(
    """
    import sys

    BLOCKED = set(sys.argv[1:])

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: the SDK must not need it")
            return None

    sys.meta_path.insert(0, Blocker())

    import httpx
    import autoliq.client
    from autoliq.client import AsyncClient, Client

    def handler(request):
        return httpx.Response(200, json={"accessToken": "t", "expirationTime": "2099-01-01T00:00:00Z"})

    with Client("demo", name="admin", password="pw", transport=httpx.MockTransport(handler)) as client:
        assert client.login().access_token == "t"
    AsyncClient("live", name="admin", password="pw")
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED | {"websockets"})
    print("loaded:", loaded)
    """
)


def test_client_import_when_server_packages_blocked_then_sdk_imports_and_logs_in() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *SERVER_PACKAGES],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    # websockets is imported only when a stream opens
    assert done.stdout.strip() == "loaded: []"
