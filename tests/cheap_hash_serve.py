"""`python -m tests.cheap_hash_serve serve ...`: the `autoliq` command with argon2id at the suite's
test-only cost, for servers started as processes (tests/server.py).

The production cost (OWASP's, ~50 ms a hash) is paid at seeding and at every login: several times a
server test, for nothing the test checks. The patch is made when this module runs as the program,
and again in the worker processes of `--workers N` (spawned: they import the program's module as
their `__mp_main__`); imported by the suite itself (for TEST_HASH_COST), it patches nothing.
`ServerProcess(real_hash_cost=True)` starts the real command (tests/e2e/test_server_hash_cost.py).
"""

from __future__ import annotations

from autoliq.service import credentials

TEST_HASH_COST = credentials.HashCost(time_cost=1, memory_kib=8, parallelism=1)
"""argon2id at 8 KiB and one pass: the suite's cost, in process (tests/conftest.py) and in servers."""

if __name__ in ("__main__", "__mp_main__"):
    credentials.HASHER = credentials.password_hasher(TEST_HASH_COST)

if __name__ == "__main__":
    from autoliq.cli.main import main

    main()
