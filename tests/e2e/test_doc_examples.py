"""The shell blocks of README.md and docs/*.md, run as written against real servers.

What is changed, and only that: the address (the test server's port instead of 8080, 127.0.0.1
instead of 0.0.0.0: tests listen on loopback only), the placeholders (`PW`, `...` for a password,
`$NEW`), and a database URL of an example machine (`db.internal`) replaced by the test's. `autoliq`
is this checkout's (the virtual environment's `bin` first on PATH). A file an example names
(`ids.txt`) is written first. Ctrl-C is SIGINT, sent once the command has shown what the doc says.

`test_every_shell_block_is_run` fails when a doc gains a shell block that no test here runs.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_login_penalties import INCORRECT, guesses_from_new_addresses
from tests.server import ADMIN_PASSWORD, TRADER_PASSWORD, ServerProcess

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CLI_DOC = ROOT / "docs" / "cli.md"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
SH_BLOCK = re.compile(r"^```(?:sh|bash|shell|console)\n(.*?)^```", re.S | re.M)
BIN = str(Path(sys.executable).parent)  # the virtual environment's bin: its `autoliq`
WAIT = 30.0  # bounded waits on a shared machine


def sh_blocks(doc: Path) -> list[str]:
    """The shell blocks of `doc`, in order."""
    return SH_BLOCK.findall(doc.read_text())


def block_of(doc: Path, first_line: str) -> str:
    """The one shell block of `doc` whose first line starts with `first_line`."""
    [block] = [b for b in sh_blocks(doc) if b.startswith(first_line)]
    return block


def commands(block: str) -> list[str]:
    """The commands of a block: continuation lines joined, comment-only and blank lines left out."""
    joined = re.sub(r"\\\n\s*", "", block)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


SET_UP = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]'"
# Each shell block, by its document and the start of its first line, and the test that runs it.
RUN_BY = {
    ("README.md", f"{SET_UP} && .venv/bin/autoliq serve"):
        "test_readme_first_command_serves_the_seeded_demo_on_its_defaults (its set-up is the second's)",
    ("README.md", f"{SET_UP} && .venv/bin/python -m pytest -n 2"):
        ".ci/run (it takes it from the README ; tests/unit/test_docs.py checks that it does)",
    ("README.md", "autoliq accounts list --name-like 'DEMO*'"): "test_readme_operator_cli_block",
    ("README.md", "TOKEN=$(curl -s -X POST localhost:8080/"): "test_readme_using_it",
    ("cli.md", "export AUTOLIQ_URL=http://127.0.0.1:8080 AUTOLIQ_USER=admin AUTOLIQ_PASSWORD=..."):
        "test_cli_doc_opening_block",
    ("cli.md", "autoliq users set-password admin"): "test_cli_doc_set_password_block",
    ("deploy.md", "# one machine, 4 worker processes behind one port"): "test_deploy_doc_workers_block",
    ("deploy.md", "AUTOLIQ_TRUSTED_PROXIES=10.0.0.0/24,127.0.0.1 autoliq serve --host 0.0.0.0"):
        "test_deploy_doc_trusted_proxies_block",
}  # fmt: skip


def test_every_shell_block_is_run() -> None:
    found = []
    for doc in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        for block in sh_blocks(doc):
            first = block.splitlines()[0]
            known = [key for key in RUN_BY if key[0] == doc.name and first.startswith(key[1])]
            assert len(known) == 1, f"{doc.name}: a shell block no test runs (add it to RUN_BY): {first}"
            found.append(known[0])
    assert sorted(found) == sorted(RUN_BY)  # and none listed that is gone
    tests_here = {name for name in globals() if name.startswith("test_")}
    for runner in RUN_BY.values():
        name = runner.split(" ")[0]  # a test here, or .ci/run
        assert name in tests_here or name == ".ci/run", runner


# -- running commands as written --


def shell_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no AUTOLIQ_* of the suite's, this checkout's `autoliq`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOLIQ_")}
    env["PATH"] = os.pathsep.join([BIN, env.get("PATH", "")])
    env.update(extra)
    return env


def run(command: str, env: dict[str, str], cwd: Path) -> str:
    """`command` run by bash as written; its standard output. It must exit 0."""
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{command}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def exported(command: str, env: dict[str, str], cwd: Path) -> dict[str, str]:
    """The environment after an `export ...` line, run by bash as written."""
    out = run(f"{command}\nenv -0", env, cwd)
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


def watch_until_ctrl_c(command: str, env: dict[str, str], cwd: Path, poke: Callable[[], None]) -> str:
    """`autoliq watch ...` as written, until it prints an event line; `poke` makes a change once it
    says it is watching (again every 2 s until a line comes); then Ctrl-C. Its output; exit 0."""
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command}"], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    streams = {process.stdout.fileno(): bytearray(), process.stderr.fileno(): bytearray()}
    out, err = streams.values()
    poked_at = 0.0
    deadline = time.monotonic() + WAIT

    def take(timeout: float) -> bool:
        """Read what is there; False once both streams are closed."""
        ready, _, _ = select.select(list(streams), [], [], timeout)
        for fd in ready:
            chunk = os.read(fd, 65536)
            streams[fd] += chunk
            if not chunk:
                return False
        return True

    try:
        while b"\n" not in out:
            assert time.monotonic() < deadline, f"no event line within {WAIT} s:\n{out!r}\n{err!r}"
            assert process.poll() is None, f"watch exited {process.returncode}:\n{out!r}\n{err!r}"
            take(0.2)
            if b"Ctrl-C to stop" in err and time.monotonic() - poked_at > 2.0:
                poke()
                poked_at = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=WAIT) == 0, f"exit {process.returncode} after Ctrl-C:\n{err!r}"
        while take(0.0):
            pass
        return out.decode()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stdout.close()
        process.stderr.close()


def _own_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is its standard input (the
    pseudo-terminal), so that /dev/tty is that terminal, as in a user's shell."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _echoes(main_fd: int) -> bool:
    """Whether the terminal echoes what is typed (a password prompt turns that off once it has
    printed its question: an answer typed before then would be shown, then flushed)."""
    return bool(termios.tcgetattr(main_fd)[3] & termios.ECHO)


def answer_prompts(command: str, env: dict[str, str], cwd: Path, answers: list[str]) -> str:
    """`command` run by bash on a terminal (a pseudo-terminal), each prompt (a line ending in `:`)
    answered in turn; what the terminal showed. It must exit 0."""
    main_fd, terminal = pty.openpty()
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command}"], cwd=cwd, env=env,
        stdin=terminal, stdout=terminal, stderr=terminal, preexec_fn=_own_terminal,
    )  # fmt: skip
    os.close(terminal)
    shown, pending, answered_at = "", list(answers), 0
    deadline = time.monotonic() + WAIT
    try:
        while True:
            assert time.monotonic() < deadline, f"{command}: no end within {WAIT} s:\n{shown}"
            ready, _, _ = select.select([main_fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main_fd, 4096).decode(errors="replace")
                except OSError:  # the terminal closed: the command ended
                    break
                if not chunk:
                    break
                shown += chunk
            question = shown[answered_at:].rstrip()  # what was shown since the last answer
            if pending and question.endswith(":") and not _echoes(main_fd):
                os.write(main_fd, (pending.pop(0) + "\n").encode())
                answered_at = len(shown)
            elif process.poll() is not None:
                break
        assert process.wait(timeout=WAIT) == 0, f"{command}: exit {process.returncode}:\n{shown}"
        assert pending == [], f"{command}: {len(pending)} prompt(s) never asked:\n{shown}"
        return shown
    finally:
        os.close(main_fd)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class ServerAsWritten(ServerProcess):
    """A server started by a doc's own command line, run by bash as written, on the test's port
    (`--port` put in, or replaced; AUTOLIQ_PORT when `port_via_env`) and on 127.0.0.1."""

    def __init__(self, command: str, workdir: Path, **kwargs: Any) -> None:
        super().__init__("not-used://", workdir, real_hash_cost=True, **kwargs)
        self.command = command

    def argv(self) -> list[str]:
        line = self.command.replace("--host 0.0.0.0", "--host 127.0.0.1")
        if not self.port_via_env:
            line = line.replace("--port 8080", f"--port {self.port}")
            if "--port" not in line:
                line += f" --port {self.port}"
        # `exec` after the leading assignments: the server is bash's process, stopped by its signals
        assignments, rest = re.fullmatch(r"((?:[A-Z_][A-Z0-9_]*=\S*\s+)*)(.*)", line, re.S).groups()  # type: ignore[union-attr]
        return ["bash", "-c", f"{assignments}exec {rest}"]

    def _env(self) -> dict[str, str]:
        env = super()._env()
        env["PATH"] = os.pathsep.join([BIN, env.get("PATH", "")])
        return env


def admin_api(server: ServerProcess, password: str = ADMIN_PASSWORD) -> httpx.Client:
    return server.client(server.login("admin", password)["accessToken"])


def read(server: ServerProcess, path: str, **params: Any) -> Any:
    """GET `path` as the admin, signed in for it. Each CLI command signs in too, and a user keeps
    at most 2 live sessions (a third closes the oldest): a token kept across commands would die."""
    with admin_api(server) as api:
        answer = api.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def admin_actions(server: ServerProcess, ids: list[int]) -> list[str]:
    rows = read(server, "/v1/accountRiskStatus/items", ids=",".join(map(str, ids)))
    return [row["adminAction"] for row in sorted(rows, key=lambda r: r["id"])]


def toggle_lock(server: ServerProcess, account: int) -> Callable[[], None]:
    """A change of `account` each call (locked, then Normal, ...): something for `watch` to show.
    Signed in before `watch` starts, so that `watch`'s own sign-in closes an older session."""
    api = admin_api(server)
    actions = iter(["LockTradingImmediately", "Normal"] * 20)

    def poke() -> None:
        body = {"accountId": account, "adminAction": next(actions), "adminActionReasonCode": "Other",
                "adminActionReason": "watched"}  # fmt: skip
        assert api.post("/v1/accountRiskStatus/setadminautoliqaction", json=body).status_code == 200

    return poke


EVENT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z accountRiskStatus Updated account=1 \{.*\}$", re.M)


# -- README.md --


def test_readme_first_command_serves_the_seeded_demo_on_its_defaults(tmp_path: Path) -> None:
    """`.venv/bin/autoliq serve` with nothing else, in an empty directory (`.venv` is this
    checkout's; its set-up is the second command's, which CI runs): SQLite in the directory, the
    demo organization seeded, its passwords generated and printed. The port comes from
    AUTOLIQ_PORT (8080 may be taken on the machine): a documented setting, not a flag."""
    first = block_of(README, f"{SET_UP} && .venv/bin/autoliq serve").strip()
    assert first.endswith("&& .venv/bin/autoliq serve"), first
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    command = first.rsplit("&& ", 1)[1]
    generated = {"admin_password": None, "trader_password": None}
    with ServerAsWritten(command, tmp_path, port_via_env=True, **generated) as server:
        banner = server.stdout_text()
        assert f"on sqlite:///{tmp_path / 'autoliq.db'}" in banner, banner
        assert "seeded organization 'Demo Prop Firm' with 10 accounts owned by 'trader'" in banner, banner
        printed = re.search(r"^\s+admin / (\S+)\s+\(generated, shown once\)$", banner, re.M)
        assert printed is not None, banner
        with admin_api(server, printed.group(1)) as api:
            names = [a["name"] for a in api.get("/v1/account/list").json()]
    assert (tmp_path / "autoliq.db").is_file()
    assert names == [f"DEMO{i:06d}" for i in range(1, 11)], names


def test_readme_operator_cli_block(tmp_path: Path) -> None:
    """The README's "Operator CLI" block, line by line, each checked against the API."""
    block = block_of(README, "autoliq accounts list")
    lines = commands(block)
    (tmp_path / "ids.txt").write_text("1\n2\n")
    with ServerProcess(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path) as server:
        env = shell_env(AUTOLIQ_URL=server.base_url, AUTOLIQ_USER="admin", AUTOLIQ_PASSWORD=ADMIN_PASSWORD)

        def check_list(out: str) -> None:
            assert re.findall(r"^\d+\s+(DEMO\d+)", out, re.M) == [f"DEMO{i:06d}" for i in range(1, 11)], out

        def check_status(out: str) -> None:
            assert re.findall(r"^(\d+)\s+DEMO\d+\s+(\w+)", out, re.M) == [("1", "Normal"), ("2", "Normal")]

        def check_dry_run(out: str) -> None:
            assert "nothing was sent" in out, out
            assert admin_actions(server, [1, 2]) == ["Normal", "Normal"]

        def check_lock(out: str) -> None:
            assert "done 2, skipped 0" in out, out
            assert admin_actions(server, [1, 2]) == ["LockTradingImmediately"] * 2

        def check_resume(out: str) -> None:
            assert "done 0, skipped 2" in out and "verified in the journal: 2" in out, out

        def check_unlock(out: str) -> None:
            report = json.loads(out)
            assert report["counts"]["done"] == 2 and report["done"] == [1, 2], report
            assert admin_actions(server, [1, 2]) == ["Normal", "Normal"]

        def check_limits_set(out: str) -> None:
            assert "done 2, skipped 0, failed 0" in out, out
            for account in (1, 2):
                rows = read(server, "/v1/userAccountPositionLimit/deps", masterid=account)
                assert [(r["totalBy"], r["longLimit"]) for r in rows] == [("Product", 2)], rows

        def check_limits_show(out: str) -> None:
            [row] = json.loads(out)
            assert row["accountId"] == 1 and row["longLimit"] == 2, row
            assert [p["maxOpeningOrderQty"] for p in row["riskParameters"]] == [1], row

        def check_log(out: str) -> None:
            history = re.findall(r"^\S+Z\s+(\w+)\s+user\s+\d+\s+Other\s+(.+?)\s*$", out, re.M)
            assert history == [("LockTradingImmediately", "risk review"), ("Normal", "review done")], out

        unlock = "--status LockTradingImmediately"
        limits = "--total-by Product --product ES --long 2 --max-opening-qty 1"
        checks: list[tuple[str, Callable[[str], None]]] = [
            ("autoliq accounts list --name-like 'DEMO*'", check_list),
            ("autoliq accounts status 1 2", check_status),
            ('autoliq accounts lock --file ids.txt --reason "risk review" --dry-run', check_dry_run),
            ('autoliq accounts lock --file ids.txt --reason "risk review"', check_lock),
            ('autoliq accounts lock --file ids.txt --reason "risk review" --resume', check_resume),
            (f'autoliq accounts unlock {unlock} --reason "review done" --json', check_unlock),
            (f"autoliq limits set 1 2 {limits}", check_limits_set),
            ("autoliq limits show 1 --json", check_limits_show),
            ("autoliq log 1", check_log),
            ("autoliq watch --account 1", lambda out: None),
        ]  # fmt: skip
        assert [line.split("#")[0].strip() for line in lines] == [c for c, _ in checks], lines
        for line, (command, check) in zip(lines, checks, strict=True):
            if command.startswith("autoliq watch"):
                out = watch_until_ctrl_c(line, env, tmp_path, toggle_lock(server, 1))
                assert EVENT_LINE.search(out), out
            else:
                check(run(line, env, tmp_path))


def test_readme_using_it(tmp_path: Path) -> None:
    """The README's "Using it" block (bash, curl, python3), run whole: only the address is the test
    server's instead of localhost:8080, and `PW` is its admin password. What it prints is what the
    README says it does: the lock, its audit row, account 1's order refused `TradingLocked`, account
    2's filled, then flattened and locked by its daily loss limit."""
    if shutil.which("curl") is None:
        pytest.fail("curl is missing: the README's examples use it")
    block = block_of(README, "TOKEN=$(curl")
    assert block.count("localhost:8080") >= 10, block
    with ServerProcess(f"sqlite:///{tmp_path / 'readme.db'}", tmp_path) as server:
        script = block.replace("localhost:8080", f"127.0.0.1:{server.port}")
        printed = run(script, shell_env(PW=server.admin_password or ""), tmp_path)
        expected_in_order = [
            '"adminAction":"LockTradingImmediately"',  # the lock's answer
            '"reasonCode":"Other","reason":"risk review"',  # its audit row
            '"failureReason":"TradingLocked"',  # account 1's order
            '"orderId"',  # account 2's order, filled
            '"state":"Locked","rule":"dailyLossAutoLiq"',  # account 2 after the price fell
            '"level":"AutoLiq"',  # its alert
        ]
        at = 0
        for piece in expected_in_order:
            found = printed.find(piece, at)
            assert found >= 0, f"{piece} not printed after position {at}:\n{printed}"
            at = found + len(piece)
        with admin_api(server) as api:
            status = api.get("/v1/accountRiskStatus/item", params={"id": 1}).json()
            positions = api.get("/v1/position/deps", params={"masterid": 2}).json()
        assert status["adminAction"] == "LockTradingImmediately"
        assert [p["netPos"] for p in positions] == [0]  # flattened


# -- docs/cli.md --


def test_cli_doc_opening_block(tmp_path: Path) -> None:
    """docs/cli.md's first block: its `export` line (with the test's port and the admin password
    for `...`), then each command, checked against the API; `> unlock.json` written in the
    directory."""
    lines = commands(block_of(CLI_DOC, "export AUTOLIQ_URL="))
    (tmp_path / "breached.txt").write_text("# from the breach report\n1\n2\n")
    with ServerProcess(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path) as server:
        export = lines[0].replace("127.0.0.1:8080", f"127.0.0.1:{server.port}")
        env = exported(export.replace("AUTOLIQ_PASSWORD=...", 'AUTOLIQ_PASSWORD="$PW"'),
                       shell_env(PW=ADMIN_PASSWORD), tmp_path)  # fmt: skip
        assert (env["AUTOLIQ_URL"], env["AUTOLIQ_USER"], env["AUTOLIQ_PASSWORD"]) == (
            server.base_url, "admin", ADMIN_PASSWORD)  # fmt: skip
        status, dry_run, lock, unlock, log, watch = lines[1:]
        listed = re.findall(r"^(\d+)\s+DEMO\d+\s+(\w+)", run(status, env, tmp_path), re.M)
        assert listed == [(str(i), "Normal") for i in range(1, 11)]
        assert "nothing was sent" in run(dry_run, env, tmp_path)
        assert admin_actions(server, [1, 2]) == ["Normal", "Normal"]
        assert "done 2, skipped 0" in run(lock, env, tmp_path)
        assert admin_actions(server, [1, 2, 3]) == ["LockTradingImmediately"] * 2 + ["Normal"]
        assert run(unlock, env, tmp_path) == ""  # to the file
        report = json.loads((tmp_path / "unlock.json").read_text())
        assert report["done"] == [1, 2] and report["reason"] == "review done", report
        assert admin_actions(server, [1, 2]) == ["Normal", "Normal"]
        history = re.findall(r"^\S+Z\s+(\w+)\s+user\s+\d+\s+Other\s+(.+?)\s*$", run(log, env, tmp_path), re.M)
        assert history == [("LockTradingImmediately", "daily loss review"), ("Normal", "review done")]
        assert EVENT_LINE.search(watch_until_ctrl_c(watch, env, tmp_path, toggle_lock(server, 1)))


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_cli_doc_set_password_block(tmp_path: Path, engine: str, request: pytest.FixtureRequest) -> None:
    """docs/cli.md's `users set-password` block beside a running server: the first line on a
    terminal (asked twice) with the example's database URL replaced by the test's; the second from
    a pipe, as written, on the default database (`autoliq.db` here) or AUTOLIQ_DATABASE_URL. The
    server then takes the new passwords and refuses the old ones."""
    first, second = commands(block_of(CLI_DOC, "autoliq users set-password admin"))
    if engine == "sqlite":
        url, extra = f"sqlite:///{tmp_path / 'autoliq.db'}", {}
    else:
        from tests.conftest import fresh_database

        databases: Iterator[str] = fresh_database(engine, request, tmp_path)
        url = next(databases)
        request.addfinalizer(lambda: next(databases, None))
        extra = {"AUTOLIQ_DATABASE_URL": url}
    new_admin, new_trader = "admin-new-password-1", "trader-new-password-2"
    with ServerProcess(url, tmp_path) as server:
        shown = answer_prompts(first.replace("postgresql://autoliq@db/autoliq", url), shell_env(), tmp_path,
                               [new_admin, new_admin])  # fmt: skip
        assert shown.lower().count("password") >= 2, shown  # asked twice
        assert new_admin not in shown  # not echoed
        run(second, shell_env(NEW=new_trader, **extra), tmp_path)
        with server.client() as anon:
            for name, old in (
                ("admin", ADMIN_PASSWORD),
                ("trader", TRADER_PASSWORD),
            ):
                refused = anon.post("/v1/auth/accesstokenrequest", json={"name": name, "password": old})
                assert refused.json() == INCORRECT, (name, refused.text)
            server.login("admin", new_admin)
            server.login("trader", new_trader)


# -- docs/deploy.md --


def _json_lines_only(text: str) -> None:
    for line in text.splitlines():
        try:
            assert isinstance(json.loads(line), dict), line
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r} in\n{text}")


@pytest.mark.postgres
def test_deploy_doc_workers_block(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """docs/deploy.md's two `--workers 4` commands on PostgreSQL (the example's `db.internal`
    replaced by the test's database), one after the other on the same database: each serves (the
    first migrates and seeds); the second, with `--log-format json`, writes only JSON lines."""
    from tests.conftest import fresh_database

    databases = fresh_database("postgres", request, tmp_path)
    url = next(databases)
    request.addfinalizer(lambda: next(databases, None))
    one_machine, m_machines = commands(block_of(DEPLOY_DOC, "# one machine, 4 worker"))
    for line in (one_machine, m_machines):
        assert "postgresql://autoliq@db.internal/autoliq" in line and "--workers 4" in line, line
        command = line.replace("postgresql://autoliq@db.internal/autoliq", url)
        with ServerAsWritten(command, tmp_path) as server, admin_api(server) as api:
            assert len(server.worker_pids()) == 4, server.stderr_text()
            assert api.get("/_autoliq/ready").json()["status"] == "ready"
            assert len(api.get("/v1/account/list").json()) == 10
        if "--log-format json" in line:
            _json_lines_only(server.stdout_text())
            _json_lines_only(server.stderr_text())
            assert ADMIN_PASSWORD not in server.stdout_text() + server.stderr_text()


def test_deploy_doc_trusted_proxies_block(tmp_path: Path) -> None:
    """docs/deploy.md's AUTOLIQ_TRUSTED_PROXIES line (on 127.0.0.1, the test's port), in an empty
    directory: 12 wrong logins, each from its own address forwarded by the trusted proxy
    (127.0.0.1), are 12 clients with one failure each: no penalty ticket."""
    command = block_of(DEPLOY_DOC, "AUTOLIQ_TRUSTED_PROXIES=").strip()
    with ServerAsWritten(command, tmp_path) as server, server.client() as client:
        assert guesses_from_new_addresses(client, 12) == [INCORRECT] * 12
        # a client not forwarded by a listed proxy gets no such trust: the same peer's guesses count
    assert (tmp_path / "autoliq.db").is_file()  # the default database, in the working directory
