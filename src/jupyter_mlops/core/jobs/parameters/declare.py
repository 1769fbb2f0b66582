"""Declaring a job's parameters: ``job init --param NAME[:TYPE]=DEFAULT``.

:func:`parse_declaration` reads one declaration into a :class:`ParameterSpec`;
:func:`render_parameter_line` writes a parameter as a line of the parameters cell, and
:func:`declare_in_cell` rewrites that cell so that it declares the parameters given, touching
nothing else in it.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.jobs.parameters.cell import char_column, parse_parameter_cell
from jupyter_mlops.core.jobs.parameters.values import (
    PARAMETER_TYPES,
    ParameterSpec,
    convert_text,
    format_value,
    parsed_expression,
    to_json_value,
    value_type,
)

__all__ = [
    "declaration_name",
    "declare_in_cell",
    "parse_declaration",
    "python_source",
    "render_parameter_line",
]


def declaration_name(text: str) -> str:
    """The parameter a declaration ``NAME[:TYPE]=DEFAULT`` names (even a malformed one)."""
    return text.partition("=")[0].partition(":")[0].strip()


def parse_declaration(text: str, existing: ParameterSpec | None = None) -> ParameterSpec:
    """Parse ``NAME[:TYPE]=DEFAULT``; the type is inferred from the default when omitted.

    >>> parse_declaration("C:float=1").default
    1.0
    >>> parse_declaration("start:date=2024-01-31").default
    '2024-01-31'

    A ``?`` after the type makes the parameter nullable (``cap:int?=null``). Without a type,
    an ``existing`` parameter keeps its type.

    Raises:
        MlopsError: USAGE naming the declaration and what is wrong with it.
    """
    head, sep, default_text = text.partition("=")
    name, _, kind = head.partition(":")
    name, kind = name.strip(), kind.strip()
    nullable = kind.endswith("?")
    kind = kind.rstrip("?")
    if not sep or not name.isidentifier() or not default_text.strip():
        raise MlopsError(
            f"--param expects NAME[:TYPE]=DEFAULT (e.g. C:float=1.0, cap:int?=null), got {text!r}",
            ErrorCode.USAGE,
        )
    if kind and kind not in PARAMETER_TYPES:
        raise MlopsError(
            f"--param {name}: unknown type {kind!r}; use one of {', '.join(PARAMETER_TYPES)}",
            ErrorCode.USAGE,
        )
    if not kind and existing is not None:  # `--param C=2` on `C = 1.0` keeps C a float
        kind, nullable = existing.type, existing.nullable
    if not kind:
        kind = value_type(parsed_expression(default_text))
        if kind == "any":
            kind = "str"  # a bare word such as `gini` is text
    spec = ParameterSpec(name, kind, nullable=nullable)
    default = to_json_value(convert_text(spec, default_text))
    return ParameterSpec(name, kind, default, nullable=nullable)


def render_parameter_line(spec: ParameterSpec) -> str:
    """The source line declaring ``spec`` in a parameters cell: ``name: type = default``."""
    # No annotation for dates: papermill's parser reads none with a dot in it, and the
    # default (``datetime.date.fromisoformat(...)``) already says the type.
    annotation = {"any": "", "date": "", "datetime": ""}.get(spec.type, spec.type)
    if annotation and spec.nullable:
        annotation = f"{annotation} | None"
    value = python_source(spec, spec.python_default())
    line = f"{spec.name}: {annotation} = {value}" if annotation else f"{spec.name} = {value}"
    return f"{line}  # {spec.help}" if spec.help else line


def python_source(spec: ParameterSpec, value: Any) -> str:
    """Python source that evaluates to ``value`` (dates as ``datetime.date(...)``)."""
    if isinstance(value, dt.datetime):
        return f"datetime.datetime.fromisoformat({value.isoformat()!r})"
    if isinstance(value, dt.date):
        return f"datetime.date.fromisoformat({value.isoformat()!r})"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)


def declare_in_cell(source: str, declarations: Sequence[ParameterSpec], changes: list[str]) -> str:
    """The parameters cell ``source`` declaring ``declarations``: the assignment of each
    declared parameter rewritten in place (only the statement: a comment after it or another
    statement on the same line stays), new ones appended, ``import datetime`` added when a
    date needs it. A line per change is appended to ``changes``.

    Raises:
        MlopsError: USAGE when the cell does not parse.
    """
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise MlopsError(
            f"the parameters cell does not parse ({exc.msg}, line {exc.lineno}); fix it first",
            ErrorCode.USAGE,
        ) from exc
    lines = source.splitlines()
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(lineno: int, byte_col: int) -> int:
        return starts[lineno - 1] + char_column(lines, lineno, byte_col)

    spans: dict[str, tuple[int, int, ast.stmt]] = {}
    for node in tree.body:
        target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
        if isinstance(target, ast.Name):
            begin = offset(node.lineno, node.col_offset)
            end = offset(node.end_lineno or node.lineno, node.end_col_offset or 0)
            spans[target.id] = (begin, end, node)
    old = {p.name: p for p in parse_parameter_cell(source)}
    edits: list[tuple[int, int, str]] = []
    appended: list[str] = []
    for spec in declarations:
        shown = format_value(spec.python_default())
        if spec.name in spans:
            begin, end, node = spans[spec.name]
            text = render_parameter_line(replace(spec, help=""))
            help_text = old[spec.name].help if spec.name in old else ""
            rest = source[end:].split("\n", 1)[0]
            if help_text and (node.end_lineno or 0) > node.lineno and not rest.strip():
                text += f"  # {help_text}"  # it was inside the value we replace
            edits.append((begin, end, text))
            changes.append(f"set parameter {spec.name} ({spec.declared_type}) = {shown}")
        else:
            appended.append(render_parameter_line(spec))
            changes.append(f"added parameter {spec.name} ({spec.declared_type}) = {shown}")
    for begin, end, text in sorted(edits, reverse=True):
        source = source[:begin] + text + source[end:]
    if appended:
        source = source.rstrip("\n") + ("\n" if source.strip() else "") + "\n".join(appended)
    if any(d.type in ("date", "datetime") for d in declarations) and not any(
        line.strip() == "import datetime" for line in source.splitlines()
    ):
        source = "import datetime\n" + source
    return source
