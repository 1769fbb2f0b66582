"""IPython adapter: ``%mlops`` / ``%%mlops``. Parses input, makes one core call, renders.

Subcommands: ``init``, ``runs``, ``register``, ``lineage`` and ``job`` (line), ``run``
(cell); one module per family, each row of :data:`SUBCOMMANDS` a parser and a handler.
Every user mistake is a ``UsageError``: IPython prints one line and no traceback.
"""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Bool, Int

from jupyter_mlops.core.errors import MlopsError
from jupyter_mlops.magics import job, promotion, registry, run, session, validation
from jupyter_mlops.magics.base import Call, Subcommand
from jupyter_mlops.magics.cell import CellTracker

__all__ = ["SUBCOMMANDS", "MlopsMagics", "load", "unload", "usage"]

#: ``%mlops NAME`` -> its parser and handler, in the order help and usage list them.
SUBCOMMANDS: dict[str, Subcommand] = {
    "init": session.INIT,
    "run": run.RUN,
    "runs": session.RUNS,
    "register": registry.REGISTER,
    "lineage": registry.LINEAGE,
    "job": job.JOB,
    "validate": validation.VALIDATE,
    "promote": promotion.PROMOTE,
}


@magics_class
class MlopsMagics(Magics):
    """Settings are traitlets: ``%config MlopsMagics.autolog = False``."""

    autolog = Bool(
        True, help="Autolog scikit-learn in %%mlops run cells (--no-autolog per cell)."
    ).tag(config=True)
    runs_limit = Int(20, help="Default number of rows shown by %mlops runs.").tag(config=True)

    def __init__(self, shell: InteractiveShell, tracker: CellTracker) -> None:
        super().__init__(shell)
        self.tracker = tracker

    @line_cell_magic
    def mlops(self, line: str, cell: str | None = None) -> Any:
        __tracebackhide__ = True  # a failing cell's traceback shows the user's code, not ours
        name, _, rest = line.strip().partition(" ")
        if not name or name.startswith("#"):  # bare `%mlops`: what can I type?
            print(_bare_help())
            return None
        subcommand = SUBCOMMANDS.get(name)
        if subcommand is None:
            raise UsageError(
                f"unknown %mlops subcommand {name!r}; use one of: {', '.join(SUBCOMMANDS)}"
            )
        args = _parse(name, rest)
        if subcommand.cell and cell is None:
            raise UsageError(
                f"{name} is a cell magic: put %%mlops {name} on the first line of the cell"
            )
        if not subcommand.cell and cell is not None:
            raise UsageError(f"{name} is a line magic: use %mlops {name}")
        shell = self.shell
        assert shell is not None  # set by Magics.__init__
        call = Call(shell, self.tracker, args, rest, cell, self.autolog, self.runs_limit)
        try:
            return self._dispatch(subcommand, call)
        except MlopsError as exc:
            raise UsageError(str(exc)) from None

    def _dispatch(self, subcommand: Subcommand, call: Call) -> Any:
        __tracebackhide__ = True
        return subcommand.handler(call)


def _parse(name: str, rest: str) -> Any:
    """Parse flags shell-style, so ``--name "first try"``, ``--tag note="two words"`` and a
    trailing ``# comment`` work."""
    try:
        argv = shlex.split(rest, comments=True)  # `%mlops init  # note` works as in Python
    except ValueError as exc:
        raise UsageError(f"%mlops {name}: {exc} in {rest!r}") from None
    parser = SUBCOMMANDS[name].parser.parser
    parser.allow_abbrev = False  # --param must not silently mean --params
    return parser.parse_args(argv)


def _help() -> str:
    sections = [
        "Capture notebook experiments in MLflow. Subcommands and their flags:\n",
        *((row.parser.__doc__ or "").strip() + "\n" for row in SUBCOMMANDS.values()),
    ]
    return "\n".join(sections)


_USAGE_WIDTH = 100  # fixed, so the usage does not depend on the terminal's COLUMNS


def usage() -> str:
    """The usage line of every subcommand, from the parsers (docs/getting-started.md shows
    it verbatim: ``python -m jupyter_mlops.magics`` prints it)."""
    blocks = []
    for row in SUBCOMMANDS.values():
        parser = row.parser.parser
        formatter = parser.formatter_class(prog=parser.prog, width=_USAGE_WIDTH)
        formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
        blocks.append(formatter.format_help().replace("::", "").strip("\n"))
    return "\n".join(blocks)


def _bare_help() -> str:
    return (
        "Capture notebook experiments in MLflow. Subcommands:\n"
        + usage()
        + "\n`%mlops?` describes every flag."
    )


MlopsMagics.mlops.__doc__ = _help()
_loaded: dict[int, tuple[MlopsMagics, CellTracker]] = {}


def load(shell: InteractiveShell) -> None:
    """Register the magics and the cell tracker on ``shell`` (idempotent)."""
    unload(shell)
    tracker = CellTracker()
    tracker.register(shell)
    magics = MlopsMagics(shell, tracker)
    shell.register_magics(magics)
    configurables: list[Any] = shell.configurables
    configurables.append(magics)
    _loaded[id(shell)] = (magics, tracker)


def unload(shell: InteractiveShell) -> None:
    """Remove the cell tracker and configurable installed by :func:`load`."""
    magics, tracker = _loaded.pop(id(shell), (None, None))
    if tracker is not None:
        tracker.unregister(shell)
    configurables: list[Any] = shell.configurables
    if magics is not None and magics in configurables:
        configurables.remove(magics)
