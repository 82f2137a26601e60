"""docs/deploy.md's examples, run: the systemd unit (deploy/autoliq.service) passes
`systemd-analyze verify`, and the nginx configuration (deploy/nginx.conf) serves autoliq over TLS
in front of a real server: REST, the risk desk's page, and the WebSocket (authorize, syncrequest
and a live event) through the proxy. Each skips with a message where its tool is not installed."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.server import LOOPBACK, ServerProcess, free_port

pytestmark = pytest.mark.slow

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_systemd_unit_when_verified_then_systemd_finds_nothing_wrong(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the unit is not verified here")
    unit = (DEPLOY / "autoliq.service").read_text()
    assert "ExecStart=/opt/autoliq/.venv/bin/autoliq serve" in unit
    # The one machine-specific path: the unit's autoliq is this checkout's (verify checks it exists).
    autoliq = Path(sys.executable).parent / "autoliq"
    target = tmp_path / "autoliq.service"
    target.write_text(unit.replace("/opt/autoliq/.venv/bin/autoliq", str(autoliq)))
    done = subprocess.run([analyze, "verify", str(target)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr
    # And verify does complain about a wrong one (the check can fail).
    broken = tmp_path / "broken.service"
    broken.write_text(target.read_text().replace("Restart=on-failure", "Restart=sometimes"))
    complaint = subprocess.run([analyze, "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "sometimes" in complaint.stdout + complaint.stderr


def _certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_nginx_example_when_in_front_of_autoliq_then_rest_the_desk_and_the_websocket_pass(
    tmp_path: Path,
) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None or shutil.which("openssl") is None:
        pytest.skip("nginx (Debian's nginx-light) or openssl is not installed: the proxy example is not run")
    cert, key = _certificate(tmp_path)
    with ServerProcess(
        f"sqlite:///{tmp_path / 'proxy.db'}", tmp_path, extra_env={"AUTOLIQ_TRUSTED_PROXIES": LOOPBACK}
    ) as server:
        port = free_port()
        site = (
            (DEPLOY / "nginx.conf")
            .read_text()
            .replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{server.port};")
            .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;")
            .replace("/etc/autoliq/tls/fullchain.pem", str(cert))
            .replace("/etc/autoliq/tls/privkey.pem", str(key))
        )
        assert str(cert) in site and f":{port} ssl" in site, "the example's lines the test adapts moved"
        (tmp_path / "site.conf").write_text(site)
        (tmp_path / "logs").mkdir()
        (tmp_path / "nginx.conf").write_text(
            f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\nevents {{}}\n"
            f"http {{\n  access_log {tmp_path}/logs/access.log;\n"
            f"  client_body_temp_path {tmp_path}/body;\n  proxy_temp_path {tmp_path}/proxy;\n"
            f"  include {tmp_path}/site.conf;\n}}\n"
        )
        proxy = subprocess.Popen(
            [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            base = f"https://127.0.0.1:{port}"
            with httpx.Client(base_url=base, verify=False, timeout=10, trust_env=False) as web:
                for _ in range(100):  # nginx starts in milliseconds; bounded
                    try:
                        if web.get("/_autoliq/health").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.05)
                else:
                    pytest.fail(f"nginx did not answer: {proxy.stderr.read() if proxy.stderr else ''}")
                login = web.post(
                    "/v1/auth/accesstokenrequest", json={"name": "admin", "password": server.admin_password}
                ).json()
                token = login["accessToken"]
                headers = {"Authorization": f"Bearer {token}"}
                assert web.get("/desk/").text.count("/desk/js/app.js") == 1
                accounts = web.get("/v1/account/list", headers=headers).json()
                account = accounts[0]["id"]
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                from websockets.sync.client import connect

                # 30 s: bounded, and loose enough for a machine busy with other test runs
                with connect(f"wss://127.0.0.1:{port}/v1/websocket", ssl=context, open_timeout=30) as ws:
                    assert ws.recv(timeout=10) == "o"
                    ws.send(f"authorize\n0\n\n{token}")
                    assert json.loads(ws.recv(timeout=10)[1:]) == [{"s": 200, "i": 0}]
                    ws.send(
                        f'user/syncrequest\n1\n\n{{"accounts":[{account}],"entityTypes":["accountRiskStatus"]}}'
                    )
                    answer = _next(ws, lambda m: m.get("i") == 1)
                    assert answer["s"] == 200
                    body = {
                        "accountId": account, "adminAction": "LockTradingImmediately",
                        "adminActionReasonCode": "Other", "adminActionReason": "through the proxy",
                    }  # fmt: skip
                    locked = web.post(
                        "/v1/accountRiskStatus/setadminautoliqaction", json=body, headers=headers
                    )
                    assert locked.json()["accountRiskStatus"]["adminAction"] == "LockTradingImmediately"
                    event = _next(ws, lambda m: m.get("e") == "props")
                    assert event["d"]["entity"]["adminAction"] == "LockTradingImmediately"
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)


def _next(ws: object, wanted: object) -> dict[str, object]:
    """The next message of the socket's `a[...]` frames that `wanted` accepts (heartbeats skipped)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        frame = ws.recv(timeout=max(0.1, deadline - time.monotonic()))  # type: ignore[attr-defined]
        if frame.startswith("a"):
            for message in json.loads(frame[1:]):
                if wanted(message):  # type: ignore[operator]
                    return dict(message)
    raise AssertionError("no such message within 10 s")
