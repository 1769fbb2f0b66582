"""Reading a job's ``parameters`` cell: which parameters it declares, their types, defaults
and help, and which cell ``job init`` may adopt as one.

A parameter's type comes from its annotation (``C: float = 1.0``), from a papermill-style
``# type: T`` comment, or from its default (``seed = 42`` is an int); the comment after the
assignment is its help. A cell that is not valid Python as a whole is read statement by
statement, as papermill reads it line by line, and each line that cannot be read is named.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Sequence

from jupyter_mlops.core.jobs.parameters.values import (
    NO_VALUE,
    ParameterSpec,
    dotted_tail,
    literal_value,
    parsed_expression,
    to_json_value,
    value_type,
)

__all__ = ["char_column", "is_plain_assignments", "parse_parameter_cell", "read_parameter_cell"]


def is_plain_assignments(source: str) -> bool:
    """True when ``source`` assigns at least one name and every statement assigns one name a
    literal (``0.5``, ``"gini"``, ``[1, 2]``, ``None``, ``datetime.date(2024, 1, 31)``,
    ``date.fromisoformat("2024-01-31")``) or imports ``datetime`` (comments allowed): the kind
    of cell ``job init`` adopts as the parameters cell. Computed values (``X = data.drop(...)``)
    are not parameters."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    assignments = [node for node in tree.body if not _imports_datetime(node)]
    return bool(assignments) and all(
        _assigned_name(node) is not None
        and literal_value(getattr(node, "value", None)) is not NO_VALUE
        for node in assignments
    )


def _imports_datetime(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import):
        return all(alias.name == "datetime" for alias in node.names)
    return isinstance(node, ast.ImportFrom) and node.module == "datetime"


def parse_parameter_cell(source: str) -> list[ParameterSpec]:
    """The parameters a cell declares, in order; later assignments of a name win.

    See :func:`read_parameter_cell`, which also says what could not be read.
    """
    return read_parameter_cell(source)[0]


def read_parameter_cell(source: str) -> tuple[list[ParameterSpec], list[str]]:
    """The parameters a cell declares, in order (later assignments of a name win), and a
    warning per line that could not be read.

    Statements that are not assignments (imports, calls) are skipped, as papermill skips
    them. A cell that does not parse as a whole is read statement by statement, as papermill
    reads it line by line: a line that starts no statement (``= 2``) is skipped with a warning
    naming it, and the rest still declares its parameters. A trailing ``# type: T help``
    comment gives the type (``List[str]``) and the help, as for papermill.
    """
    lines = source.splitlines()
    warnings: list[str] = []
    try:
        statements = ast.parse(source).body
    except SyntaxError:
        statements = _statements_line_by_line(lines, warnings)
    found: dict[str, ParameterSpec] = {}
    for node in statements:
        name = _assigned_name(node)
        if name is None:
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                code = lines[node.lineno - 1].strip()
                warnings.append(
                    f"line {node.lineno} of the parameters cell (`{code}`) does not assign one "
                    "name; it is not a parameter"
                )
            continue
        assert isinstance(node, (ast.AnnAssign, ast.Assign))  # what _assigned_name accepts
        annotation = node.annotation if isinstance(node, ast.AnnAssign) else None
        help_text = _trailing_comment(lines, node)
        commented = _TYPE_COMMENT.match(help_text)
        if commented is not None:
            help_text = commented.group("help").strip()
            if annotation is None:
                annotation = parsed_expression(commented.group("type"))
        value = node.value
        kind, nullable = _type_of(annotation, value)
        literal = literal_value(value)
        found.pop(name, None)
        if literal is NO_VALUE:  # e.g. ``float("nan")`` or ``np.pi``: computed by the notebook
            expression = ast.unparse(value) if value is not None else None
            found[name] = ParameterSpec(name, kind, None, help_text, nullable, expression)
        else:
            found[name] = ParameterSpec(name, kind, to_json_value(literal), help_text, nullable)
    return list(found.values()), warnings


_TYPE_COMMENT = re.compile(r"^type:\s*(?P<type>\S+)\s*(?P<help>.*)$")


def _statements_line_by_line(lines: Sequence[str], warnings: list[str]) -> list[ast.stmt]:
    """The statements of a cell that does not parse: from each line, the shortest run of
    lines that parses (a value may span lines); a line that starts none is reported. IPython's
    ``%magic`` and ``!command`` lines are passed over."""
    statements: list[ast.stmt] = []
    start = 0
    while start < len(lines):
        if not lines[start].strip() or lines[start].lstrip().startswith(("#", "%", "!")):
            start += 1  # blank, a comment, or IPython's %magic / !command: not a parameter
            continue
        for end in range(start + 1, min(len(lines), start + 200) + 1):
            try:
                # padding keeps the cell's line numbers
                tree = ast.parse("\n" * start + "\n".join(lines[start:end]))
            except SyntaxError:
                continue
            statements.extend(tree.body)
            start = end
            break
        else:
            warnings.append(
                f"line {start + 1} of the parameters cell (`{lines[start].strip()}`) cannot be "
                "read; skipped"
            )
            start += 1
    return statements


def _assigned_name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id if node.value is not None else None
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    ):
        return node.targets[0].id
    return None


_ANNOTATION_TYPES = {
    "int": "int",
    "float": "float",
    "str": "str",
    "bool": "bool",
    "list": "list",
    "List": "list",
    "tuple": "list",
    "Sequence": "list",
    "dict": "dict",
    "Dict": "dict",
    "Mapping": "dict",
    "date": "date",
    "datetime": "datetime",
    "Any": "any",
}


def _type_of(annotation: ast.expr | None, value: ast.expr | None) -> tuple[str, bool]:
    if annotation is not None:
        kind, nullable = _annotation_type(annotation)
        if kind is not None:
            return kind, nullable
    return value_type(value), False


def _annotation_type(node: ast.expr) -> tuple[str | None, bool]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # "int" as a string
        try:
            return _annotation_type(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return None, False
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None
        sides = [node.left, node.right]
        rest = [s for s in sides if not (isinstance(s, ast.Constant) and s.value is None)]
        if len(rest) == 1:
            return _annotation_type(rest[0])[0], True
        return None, False
    if isinstance(node, ast.Subscript):
        outer = dotted_tail(node.value)
        if outer == "Optional":
            return _annotation_type(node.slice)[0], True
        return _ANNOTATION_TYPES.get(outer or ""), False
    return _ANNOTATION_TYPES.get(dotted_tail(node) or ""), False


def _trailing_comment(lines: Sequence[str], node: ast.stmt) -> str:
    """The statement's help: the comment after it on its last line, else the first comment
    inside it (``cols = [  # the columns`` over several lines)."""
    comments = _comments(lines)
    last = node.end_lineno or node.lineno
    end_col = char_column(lines, last, node.end_col_offset or 0)
    after = comments.get(last)
    if after is not None and after[0] >= end_col:
        return after[1]
    inside = [comments[n][1] for n in range(node.lineno, last) if n in comments]
    return inside[0] if inside else ""


def _comments(lines: Sequence[str]) -> dict[int, tuple[int, str]]:
    """Line number -> (column, text) of each comment."""
    found: dict[int, tuple[int, str]] = {}
    source = "\n".join(lines) + "\n"
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                found[token.start[0]] = (token.start[1], token.string.lstrip("#").strip())
    except (tokenize.TokenError, SyntaxError):
        pass
    return found


def char_column(lines: Sequence[str], lineno: int, byte_col: int) -> int:
    """The character column of ``ast``'s byte offset ``byte_col`` on line ``lineno``."""
    if not 0 < lineno <= len(lines):
        return byte_col
    return len(lines[lineno - 1].encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
