"""IPython side of ``%%mlops run``: which cell is running, and running its body faithfully.

The body runs in the user namespace the way IPython would run it without the magic: IPython
syntax is transformed, AST transformers apply, a trailing expression's value is returned (so
IPython displays it as ``Out[n]``), and exceptions propagate unchanged.
"""

from __future__ import annotations

import ast
import contextlib
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from IPython.core.interactiveshell import ExecutionInfo, InteractiveShell

from jupyter_mlops.core.capture.hidden_state import CellExecution
from jupyter_mlops.core.capture.record import CellCode

__all__ = [
    "CellTracker",
    "CompiledBody",
    "compile_body",
    "describe_cell",
    "describe_line",
    "running_count",
]


class CellTracker:
    """Remembers the raw source and id of the cell being executed (``pre_run_cell`` hook).

    JupyterLab sends the nbformat cell id with each execute request; IPython passes it here.
    It also keeps the execution history (id, source, start time of each cell run since the
    extension was loaded) for the hidden-state guard.
    """

    HISTORY_LIMIT = 5000

    def __init__(self) -> None:
        self.raw_cell: str | None = None
        self.cell_id: str | None = None
        self._history: deque[CellExecution] = deque(maxlen=self.HISTORY_LIMIT)

    def pre_run_cell(self, info: ExecutionInfo) -> None:
        self.raw_cell = info.raw_cell
        self.cell_id = info.cell_id
        self._history.append(CellExecution(info.cell_id, info.raw_cell or "", time.time()))

    def history(self) -> tuple[CellExecution, ...]:
        """Every cell run since the tracker was registered, oldest first (the last
        ``HISTORY_LIMIT``); the running cell is the last one."""
        return tuple(self._history)

    def source_of(self, marker: str) -> str | None:
        """The running cell's source if it contains ``marker`` (else it is a stale one)."""
        raw = self.raw_cell
        return raw if raw is not None and marker in raw else None

    def register(self, shell: InteractiveShell) -> None:
        """Start tracking; the cell running ``%load_ext`` itself is taken from the history."""
        shell.events.register("pre_run_cell", self.pre_run_cell)
        history = shell.history_manager.input_hist_raw if shell.history_manager else []
        if history and history[-1]:
            self.raw_cell = history[-1]

    def unregister(self, shell: InteractiveShell) -> None:
        with contextlib.suppress(ValueError):
            shell.events.unregister("pre_run_cell", self.pre_run_cell)


def describe_cell(shell: InteractiveShell, tracker: CellTracker, line: str, body: str) -> CellCode:
    """Return the :class:`CellCode` of the running ``%%mlops`` cell.

    The tracked raw cell is used only when it is this cell (the magic can also be called
    directly with ``run_cell_magic``); otherwise the source is rebuilt from line and body.
    """
    raw = tracker.raw_cell
    matches = raw is not None and raw.lstrip().startswith("%%mlops") and body.strip() in raw
    source = raw if matches and raw is not None else f"%%mlops {line}\n{body}"
    return CellCode(
        source=source,
        python=shell.transform_cell(body),
        cell_id=tracker.cell_id if matches else None,
        execution_count=running_count(shell, raw if matches else None),
    )


def describe_line(shell: InteractiveShell, tracker: CellTracker, source: str) -> CellCode:
    """Return the :class:`CellCode` of the running cell that calls a line magic; ``source``
    is its tracked source (or a stand-in when the magic was called directly)."""
    return CellCode(
        source=source,
        python=shell.transform_cell(source),
        cell_id=tracker.cell_id,
        execution_count=running_count(shell, tracker.raw_cell),
    )


def running_count(shell: InteractiveShell, raw_cell: str | None) -> int:
    """The execution count of the running cell (its ``In [n]``).

    IPython 9 increments ``execution_count`` before a cell runs, IPython 8 after; both store
    the cell in the input history first, so a stored cell's count is its position there.
    """
    history = shell.history_manager.input_hist_raw if shell.history_manager else []
    # IPython stores a cell without its trailing newlines.
    if raw_cell is not None and history and history[-1].rstrip("\n") == raw_cell.rstrip("\n"):
        return len(history) - 1
    return int(shell.execution_count)


@dataclass(frozen=True)
class CompiledBody:
    """A cell body compiled for the user namespace; :meth:`run` executes it."""

    shell: InteractiveShell
    statements: Any  # code object for all but a trailing expression
    expression: Any  # code object of the trailing expression, or None

    def run(self) -> Any:
        """Execute the body; return the trailing expression's value (None if there is none)."""
        __tracebackhide__ = True  # keep our frame out of the user's traceback
        namespace = self.shell.user_ns
        exec(self.statements, self.shell.user_global_ns, namespace)
        if self.expression is not None:
            return eval(self.expression, self.shell.user_global_ns, namespace)
        return None


def compile_body(shell: InteractiveShell, body: str, code: CellCode) -> CompiledBody:
    """Compile a cell body as IPython would; raises ``SyntaxError`` before anything runs.

    Tracebacks and syntax errors name the cell ``In [n]`` (``code.execution_count``) and show
    its lines; ``code.python`` is the body already transformed by :func:`describe_cell`.
    """
    __tracebackhide__ = True
    python = code.python if code.python is not None else shell.transform_cell(body)
    execution_count = code.execution_count or 0
    cell_name = shell.compile.cache(python, execution_count, raw_code=body)
    tree = shell.transform_ast(shell.compile.ast_parse(python, filename=cell_name))
    expression = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not _silenced(python):
        expression = ast.Expression(tree.body.pop().value)
    statements = shell.compile(tree, cell_name, "exec")
    compiled_expression = (
        shell.compile(expression, cell_name, "eval")  # type: ignore[arg-type]
        if expression
        else None
    )
    return CompiledBody(shell, statements, compiled_expression)


def _silenced(python: str) -> bool:
    """A trailing ``;`` hides the value, as in any IPython cell."""
    lines = [line.split("#", 1)[0].rstrip() for line in python.strip().splitlines()]
    return bool(lines) and lines[-1].endswith(";")
