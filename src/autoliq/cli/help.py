"""The help pages' type column, in Click's words: `TEXT`, `INTEGER`, a metavar (`ID`, `FILE`), and
nothing for a flag.

Typer 0.29 prints Python annotations there (`<str>`, `<list[str]>`, `<bool>` on every flag), and
ignores an argument's metavar. Every `typer.Typer` of the CLI is an `App`: its groups and commands
give their parameters (the `--help`, `--version` and completion options included) a type label that
reads as the rest of the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.models import CommandFunctionType

# Typer's own labels (`display_type`, between < and >), in Click's words; a list shows its items' type.
_CLICK_WORDS = {
    "str": "TEXT",
    "int": "INTEGER",
    "float": "FLOAT",
    "int range": "INTEGER",
    "float range": "FLOAT",
}


def _label(param: Any, typer_label: str) -> str | None:
    """A metavar when one was given; none for a flag; else Click's name of the type."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    if param.metavar is not None:
        return str(param.metavar)
    inner = typer_label.removeprefix("<").removesuffix(">")
    if inner.startswith("list[") and inner.endswith("]"):
        inner = inner[len("list[") : -1]
    return _CLICK_WORDS.get(inner, inner.upper())


class _Argument(TyperArgument):
    def display_type_rich(self, ctx: Any) -> str | None:
        if self.metavar is not None:  # the name column shows it already
            return None
        return _label(self, self.display_type(ctx))


class _Option(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        return _label(self, self.display_type(ctx))


def _plain(params: list[Any]) -> list[Any]:
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif type(param) is TyperOption:
            param.__class__ = _Option
    return params


class Command(TyperCommand):
    """A command whose help shows plain type labels."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))


class Group(TyperGroup):
    """A group whose help shows plain type labels (its callback's options, completion's, `--help`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))


class App(typer.Typer):
    """`typer.Typer` whose groups are `Group` and whose commands are `Command` by default."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        super().__init__(**kwargs)

    def command(
        self, name: str | None = None, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        kwargs.setdefault("cls", Command)
        return super().command(name, **kwargs)
