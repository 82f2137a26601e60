"""Which accounts an operator command acts on: ids (arguments, `--file`) and filters.

- ids given as arguments and in `--file` files (one id per line; `#` starts a comment; blank lines
  ignored; `-` reads standard input) are taken in the order given, each once;
- `--all` takes every account the user sees (`GET /v1/account/list`);
- `--name-like PATTERN` (a case-insensitive shell pattern: `*`, `?`, `[...]`) and `--status
  ADMIN_ACTION` (the account's current `adminAction`) narrow the selection; given without ids they
  start from every account, so `--all` is then implied;
- ids given together with a filter are kept only when the account list shows them and they match.

An action command with nothing selected is refused (never "every account" by default); a read-only
command shows every account then.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoliq.client import Account, AccountRiskStatus

__all__ = ["Selection", "SelectionError", "Target", "parse_id", "read_id_file"]


class SelectionError(ValueError):
    """The selection options are wrong or contradict each other (a usage error)."""


@dataclass(frozen=True, slots=True)
class Target:
    """One selected account, with what the lists said about it when the command started."""

    account_id: int
    name: str | None
    admin_action: str | None
    """Its `adminAction` when the command read the statuses; None when the list did not show it."""


def parse_id(text: str, where: str) -> int:
    """An account id (a positive integer); `SelectionError` naming `where` otherwise."""
    try:
        value = int(text, 10)
    except ValueError:
        raise SelectionError(f"{where}: {text!r} is not an account id") from None
    if value <= 0 or value >= 2**63:
        raise SelectionError(f"{where}: {text!r} is not an account id (a positive int64)")
    return value


def read_id_file(path: str) -> list[int]:
    """The ids in a file (`-`: standard input): one per line, `#` comments, blank lines ignored."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        raise SelectionError(f"--file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SelectionError(f"--file {path}: not a text file") from None
    ids = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if content:
            ids.append(parse_id(content, f"{path}:{number}"))
    return ids


def _unique(ids: Iterable[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(ids))


@dataclass(frozen=True, slots=True)
class Selection:
    """The selection options of one command line."""

    ids: tuple[int, ...] = ()
    """From the arguments and the files, in order, each once."""
    arg_ids: tuple[int, ...] = ()
    """From the arguments only."""
    files: tuple[str, ...] = ()
    all: bool = False
    name_like: str | None = None
    status: str | None = None

    @classmethod
    def from_options(
        cls,
        ids: Sequence[str] | None,
        files: Sequence[str] | None,
        *,
        all_accounts: bool = False,
        name_like: str | None = None,
        status: str | None = None,
    ) -> Selection:
        """Parse the arguments and read the files; `SelectionError` for a bad id or file."""
        given = [parse_id(text, "account id") for text in ids or ()]
        collected = list(given)
        for path in files or ():
            collected.extend(read_id_file(path))
        return cls(_unique(collected), _unique(given), tuple(files or ()), all_accounts, name_like, status)

    @property
    def explicit(self) -> bool:
        """True when ids were given (as arguments or in files)."""
        return bool(self.ids) or bool(self.files)

    @property
    def filtered(self) -> bool:
        """True when a filter narrows the selection."""
        return self.name_like is not None or self.status is not None

    def check(self, *, action: bool) -> None:
        """`SelectionError` when the options contradict each other or, for an action, select nothing."""
        if self.all and self.explicit:
            raise SelectionError("--all cannot be combined with account ids or --file")
        if self.files and not self.ids:
            raise SelectionError(f"--file {', '.join(self.files)}: no account ids in it")
        if action and not (self.explicit or self.all or self.filtered):
            raise SelectionError(
                "no accounts selected: give account ids, --file, --all, --name-like or --status"
            )

    def spec(self) -> dict[str, Any]:
        """The selection as given: files by path, not content (the journal's run line and name)."""
        return {
            "ids": list(self.arg_ids) or None,
            "files": [str(Path(p).resolve()) if p != "-" else "-" for p in self.files] or None,
            "all": self.all or None,
            "nameLike": self.name_like,
            "status": self.status,
        }

    def resolve(self, accounts: Sequence[Account], statuses: Mapping[int, AccountRiskStatus]) -> list[Target]:
        """The targets, from the account list and the current statuses (keyed by account id)."""
        by_id = {a["id"]: a for a in accounts if isinstance(a.get("id"), int)}
        if self.explicit:
            candidates: list[int] = list(self.ids)
        else:
            candidates = list(by_id)
        targets = []
        for account_id in candidates:
            account = by_id.get(account_id)
            status = statuses.get(account_id)
            target = Target(
                account_id,
                account.get("name") if account is not None else None,
                status.get("adminAction") if status is not None else None,
            )
            if self.filtered and not self._matches(target, known=account is not None):
                continue
            targets.append(target)
        return targets

    def _matches(self, target: Target, *, known: bool) -> bool:
        if not known:
            return False
        if self.name_like is not None and not fnmatch.fnmatchcase(
            (target.name or "").casefold(), self.name_like.casefold()
        ):
            return False
        return self.status is None or target.admin_action == self.status
