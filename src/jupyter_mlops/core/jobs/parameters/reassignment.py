"""Parameters a later cell rebinds: the value a job records would not be the one used.

papermill injects a job's values in a cell right after the ``parameters`` cell. A later cell
that binds the same name again (``alpha = 0.05`` in the training cell) silently replaces the
injected value, so the job run would record ``alpha=0.5`` for a model trained with 0.05.
:func:`find_reassignments` finds such bindings statically, without a kernel: assignments,
augmented and annotated assignments, ``for`` and ``with ... as`` targets, ``:=``, ``del``,
``import ... as``, ``except ... as``, ``match`` captures and ``def``/``class`` of the same name,
at the cell's own scope (not inside function or class bodies, nor comprehension variables).

Cells are read as IPython would run them, without IPython: a cell magic whose body is Python
(``%%mlops run``, ``%%time``, ``%%capture`` ...) is read without its first line, other cell
magics (``%%bash``, ``%%writefile`` ...) are not Python and are skipped; line magics and shell
escapes (``%pip``, ``!ls``) become ``pass``, and ``x = !ls`` / ``x = %env`` still bind ``x``.
Line numbers stay those of the cell.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from jupyter_mlops.core.errors import ErrorCode, MlopsError

__all__ = ["Reassignment", "cell_python", "check_reassignments", "find_reassignments"]

#: Cell magics whose body IPython runs as Python in the notebook's namespace.
_PYTHON_CELL_MAGICS = frozenset(
    {"mlops", "time", "timeit", "capture", "prun", "debug", "memit", "mprun", "skip"}
)
_MAGIC_ASSIGNMENT = re.compile(r"^(\s*[A-Za-z_][\w.]*\s*=\s*)[%!].*$")
_MAGIC_LINE = re.compile(r"^(\s*)[%!].*$")
_INJECTED_TAG = "injected-parameters"  # papermill's cell in an executed notebook


@dataclass(frozen=True)
class Reassignment:
    """One binding of a parameter after the parameters cell."""

    name: str
    cell: int  # 1-based position of the cell in the notebook
    cell_id: str | None
    line: int  # 1-based line in the cell
    how: str  # "assignment", "del", "for target" ...
    code: str  # the line, stripped

    def describe(self) -> str:
        """One line naming the parameter, the cell (position and id) and the line."""
        where = f"cell {self.cell}" + (f" (id {self.cell_id})" if self.cell_id else "")
        return (
            f"parameter {self.name!r} is reassigned after the parameters cell, in {where} "
            f"line {self.line} ({self.how}: `{self.code}`): a job would record a value the "
            "notebook does not use"
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form shown by ``job show --json``."""
        return {
            "name": self.name,
            "cell": self.cell,
            "cell_id": self.cell_id,
            "line": self.line,
            "how": self.how,
            "code": self.code,
        }


def cell_python(source: str) -> str | None:
    """The cell as plain Python with the same line numbers; None when it is not Python
    (``%%bash`` and similar) or does not parse."""
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].lstrip()[2:].split(maxsplit=1)
        if not magic or magic[0] not in _PYTHON_CELL_MAGICS:
            return None
        lines[first] = ""
    python = "\n".join(
        _MAGIC_LINE.sub(r"\1pass", _MAGIC_ASSIGNMENT.sub(r"\1None", line)) for line in lines
    )
    try:
        ast.parse(python)
    except SyntaxError:
        return None
    return python


def find_reassignments(
    cells: Sequence[Any], parameters_cell: int, names: Collection[str]
) -> list[Reassignment]:
    """Bindings of ``names`` in the code cells after ``parameters_cell`` (an index into
    ``cells``, nbformat cells), in notebook order."""
    wanted = set(names)
    found: list[Reassignment] = []
    if not wanted:
        return found
    for index in range(parameters_cell + 1, len(cells)):
        cell = cells[index]
        tags = cell.get("metadata", {}).get("tags") or []
        if cell.get("cell_type") != "code" or _INJECTED_TAG in tags:
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        python = cell_python(source)
        if python is None:
            continue
        lines = source.split("\n")
        for name, line, how in _bindings(ast.parse(python)):
            if name in wanted:
                code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
                found.append(Reassignment(name, index + 1, cell.get("id"), line, how, code))
    return found


def check_reassignments(reassignments: Sequence[Reassignment], *, allow: bool, hint: str) -> None:
    """Refuse a job whose parameters a later cell reassigns: the job run would record values
    the notebook does not use.

    Raises:
        MlopsError: USAGE naming every reassignment (parameter, cell, line), then ``hint``
            (such as how to run it anyway); not when ``allow``.
    """
    if allow or not reassignments:
        return
    found = "; ".join(r.describe() for r in reassignments)
    raise MlopsError(
        f"{found}. Remove the reassignment (set the value in the parameters cell){hint}; "
        "nothing was run",
        ErrorCode.USAGE,
    )


def _bindings(tree: ast.Module) -> list[tuple[str, int, str]]:
    visitor = _Bindings()
    visitor.visit(tree)
    return sorted(visitor.found, key=lambda b: b[1])


_HOW = {
    ast.Assign: "assignment",
    ast.AugAssign: "augmented assignment",
    ast.AnnAssign: "annotated assignment",
    ast.For: "for target",
    ast.AsyncFor: "for target",
    ast.With: "with ... as",
    ast.AsyncWith: "with ... as",
    ast.Delete: "del",
    ast.NamedExpr: ":=",
}


class _Bindings(ast.NodeVisitor):
    """Names bound at module scope, with their line and how."""

    def __init__(self) -> None:
        self.found: list[tuple[str, int, str]] = []
        self._how = ["binding"]

    def _add(self, name: str, node: ast.AST, how: str | None = None) -> None:
        self.found.append((name, getattr(node, "lineno", 0), how or self._how[-1]))

    def generic_visit(self, node: ast.AST) -> None:
        how = _HOW.get(type(node))
        if isinstance(node, ast.AnnAssign) and node.value is None:
            return  # `x: int` binds nothing
        if how is not None:
            self._how.append(how)
        super().generic_visit(node)
        if how is not None:
            self._how.pop()

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._add(node.id, node)

    def _scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self._add(node.name, node, "def" if not isinstance(node, ast.ClassDef) else "class")
        for decorator in node.decorator_list:  # evaluated at cell scope; the body is not
            self.visit(decorator)

    visit_FunctionDef = _scope
    visit_AsyncFunctionDef = _scope
    visit_ClassDef = _scope

    def visit_Lambda(self, node: ast.Lambda) -> None:
        return None

    def _comprehension(self, node: ast.AST) -> None:
        # Its loop variables are its own; only `:=` inside binds in the cell.
        for inner in ast.walk(node):
            if isinstance(inner, ast.NamedExpr) and isinstance(inner.target, ast.Name):
                self._add(inner.target.id, inner, ":=")

    visit_ListComp = _comprehension
    visit_SetComp = _comprehension
    visit_DictComp = _comprehension
    visit_GeneratorExp = _comprehension

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self._add(alias.asname or alias.name.split(".")[0], node, "import")

    visit_ImportFrom = visit_Import

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._add(node.name, node, "except ... as")
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self._add(node.name, node, "match capture")
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._add(node.name, node, "match capture")
