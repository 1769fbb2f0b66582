"""What every ``%mlops`` subcommand module shares: the shape of one call, the table entry
(a parser and a handler), and the checks of user input that raise a one-line ``UsageError``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from jupyter_mlops.magics.cell import CellTracker

__all__ = ["Call", "Subcommand", "names", "tag", "variable"]


@dataclass(frozen=True)
class Call:
    """One ``%mlops`` / ``%%mlops`` call, with its flags parsed."""

    shell: InteractiveShell
    tracker: CellTracker
    args: Any  # the parser's namespace
    line: str  # the text after the subcommand, as typed
    body: str | None  # the cell body of ``%%mlops``; None for a line magic
    autolog: bool  # MlopsMagics.autolog
    runs_limit: int  # MlopsMagics.runs_limit


@dataclass(frozen=True)
class Subcommand:
    """A row of the dispatch table.

    ``parser`` is a function decorated with ``@magic_arguments``: its ``.parser`` parses the
    flags and its docstring heads the subcommand's section of ``%mlops?``.
    """

    parser: Any
    handler: Callable[[Call], Any]
    cell: bool = False  # a cell magic (``%%mlops NAME``), else a line magic


def variable(namespace: dict[str, Any], name: str, flag: str) -> Any:
    """The value of the user's variable ``name`` (given with ``flag``)."""
    if not name.isidentifier():
        raise UsageError(f"{flag} expects a variable name, got {name!r}")
    if name not in namespace:
        raise UsageError(f"{flag}: name {name!r} is not defined in this notebook")
    return namespace[name]


def tag(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` of ``--tag``."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"--tag expects KEY=VALUE, got {text!r}")
    return key.strip(), value


def names(text: str, flag: str) -> list[str]:
    """The comma-separated variable names given with ``flag``."""
    found = [n.strip() for n in text.split(",") if n.strip()]
    for name in found:
        if not name.isidentifier():
            raise UsageError(f"{flag} expects comma-separated variable names; {name!r} is not one")
    return found
