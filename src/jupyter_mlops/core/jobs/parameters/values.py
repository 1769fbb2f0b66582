"""A job's parameters: declared in the notebook's ``parameters`` cell, typed, and checked.

A parameter's type comes from its annotation (``C: float = 1.0``) or, without one, from its
default (``seed = 42`` is an int). Types: ``int``, ``float``, ``str``, ``bool``, ``list``,
``dict``, ``date``, ``datetime`` and ``any`` (no annotation and a default that says nothing,
such as ``None``). ``Optional[X]`` / ``X | None`` make a parameter nullable.

Values from the command line are text (``-p C 0.5``); values from a YAML file are already
typed. :func:`resolve_values` turns both into values of the declared type, or raises a USAGE
error naming the parameter, the type and the value, before any kernel starts. papermill
passes ``-p`` values as strings unless they look like numbers (papermill#55); we pass them
typed.
"""

from __future__ import annotations

import ast
import datetime as dt
import difflib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.core.errors import ErrorCode, MlopsError

__all__ = [
    "NO_VALUE",
    "PARAMETER_TYPES",
    "ParameterSpec",
    "convert_text",
    "convert_value",
    "dotted_tail",
    "format_value",
    "literal_value",
    "load_parameter_file",
    "parsed_expression",
    "resolve_values",
    "to_json_value",
    "value_type",
]

PARAMETER_TYPES = ("int", "float", "str", "bool", "list", "dict", "date", "datetime", "any")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_NULL = frozenset({"none", "null"})


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter of a job: its name, type, default (a JSON value) and help text."""

    name: str
    type: str
    default: Any = None  # JSON form: dates as ISO text
    help: str = ""
    nullable: bool = False
    #: Source of a default that is not a literal (``np.pi``): the notebook computes it, so a
    #: run passes this parameter only when the caller sets it.
    expression: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in the notebook's job contract."""
        data: dict[str, Any] = {"name": self.name, "type": self.type, "default": self.default}
        if self.nullable:
            data["nullable"] = True
        if self.help:
            data["help"] = self.help
        if self.expression is not None:
            data["expression"] = self.expression
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ParameterSpec:
        """Read one entry of a stored contract.

        Raises:
            MlopsError: USAGE when the entry is malformed (someone edited the metadata).
        """
        name, kind = data.get("name"), data.get("type")
        if not isinstance(name, str) or not name.isidentifier() or kind not in PARAMETER_TYPES:
            raise MlopsError(
                f"job contract: parameter entry {dict(data)!r} needs a name and a type out of "
                f"{', '.join(PARAMETER_TYPES)}",
                ErrorCode.USAGE,
            )
        return cls(
            name=name,
            type=str(kind),
            default=data.get("default"),
            help=str(data.get("help") or ""),
            nullable=bool(data.get("nullable", False)),
            expression=data["expression"] if isinstance(data.get("expression"), str) else None,
        )

    @property
    def declared_type(self) -> str:
        """The type as declared: ``int``, or ``int?`` when nullable."""
        return self.type + ("?" if self.nullable else "")

    def python_default(self) -> Any:
        """The default as the Python value the notebook would hold."""
        if self.default is None:
            return None
        return convert_value(self, self.default)


# -- literals (shared with reading a parameters cell) -----------------------------------


def dotted_tail(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def value_type(node: ast.expr | None) -> str:
    value = literal_value(node)
    if isinstance(value, bool):
        return "bool"
    for kind, python in (
        ("int", int),
        ("float", float),
        ("str", str),
        ("list", (list, tuple)),
        ("dict", dict),
    ):
        if isinstance(value, python):
            return kind
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    return "any"


NO_VALUE = object()


def literal_value(node: ast.expr | None) -> Any:
    """A Python literal, or a date/datetime built from literals; ``NO_VALUE`` otherwise."""
    if node is None:
        return NO_VALUE
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    if isinstance(node, ast.Call) and not node.keywords:
        func = dotted_tail(node.func)
        owner = dotted_tail(node.func.value) if isinstance(node.func, ast.Attribute) else None
        try:
            args = [ast.literal_eval(a) for a in node.args]
        except ValueError:
            return NO_VALUE
        try:
            if func == "fromisoformat" and owner in ("date", "datetime") and len(args) == 1:
                return (dt.date if owner == "date" else dt.datetime).fromisoformat(args[0])
            if func in ("date", "datetime") and all(isinstance(a, int) for a in args):
                return (dt.date if func == "date" else dt.datetime)(*args)
        except (TypeError, ValueError):
            return NO_VALUE
    return NO_VALUE


def parsed_expression(text: str) -> ast.expr | None:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None


# -- converting values --------------------------------------------------------------------


def convert_text(spec: ParameterSpec, text: str) -> Any:
    """Convert command-line text to the declared type of ``spec``.

    Raises:
        MlopsError: USAGE naming parameter, type and value.
    """
    stripped = text.strip()
    if (spec.nullable or spec.type == "any") and stripped.lower() in _NULL:
        return None
    try:
        if spec.type == "str":
            return text
        if spec.type == "int":
            return int(stripped, 10)
        if spec.type == "float":
            return float(stripped)
        if spec.type == "bool":
            lowered = stripped.lower()
            if lowered in _TRUE | _FALSE:
                return lowered in _TRUE
            raise ValueError(text)
        if spec.type in ("list", "dict"):
            return _checked_container(spec, _structured(stripped))
        if spec.type == "date":
            return dt.date.fromisoformat(stripped)
        if spec.type == "datetime":
            return dt.datetime.fromisoformat(stripped)
        # any: a Python literal when it is one, else the text itself
        literal = literal_value(parsed_expression(stripped))
        return text if literal is NO_VALUE else literal
    except (ValueError, SyntaxError) as exc:
        raise _bad_value(spec, text) from exc


def convert_value(spec: ParameterSpec, value: Any) -> Any:
    """Check/convert an already typed value (YAML, JSON, a stored default) to the type.

    ``int`` is accepted for ``float``; text is parsed for every type except ``str`` (so a
    YAML ``"2024-01-31"`` is a date for a ``date`` parameter).

    Raises:
        MlopsError: USAGE naming parameter, type and value.
    """
    if value is None:
        if spec.nullable or spec.type == "any":
            return None
        raise _bad_value(spec, value)
    if isinstance(value, str) and spec.type != "str":
        return convert_text(spec, value)
    kind = spec.type
    if kind == "any":
        return value
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "list" and isinstance(value, (list, tuple)):
        return list(value)
    if kind == "dict" and isinstance(value, dict):
        return dict(value)
    if kind == "datetime" and isinstance(value, dt.datetime):
        return value
    if kind == "date" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if kind == "datetime" and isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    raise _bad_value(spec, value)


def _structured(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return ast.literal_eval(text)


def _checked_container(spec: ParameterSpec, value: Any) -> Any:
    if spec.type == "list" and isinstance(value, (list, tuple)):
        return list(value)
    if spec.type == "dict" and isinstance(value, dict):
        return value
    raise ValueError(value)


def _bad_value(spec: ParameterSpec, value: Any) -> MlopsError:
    hint = {
        "int": "a whole number such as 42",
        "float": "a number such as 0.5",
        "bool": "true or false (also yes/no, on/off, 1/0)",
        "list": 'a list, on the command line as JSON such as ["a", "b"]',
        "dict": 'a mapping, on the command line as JSON such as {"a": 1}',
        "date": "an ISO date such as 2024-01-31",
        "datetime": "an ISO date-time such as 2024-01-31T08:00:00",
        "str": "text (quote it in YAML)",
    }.get(spec.type, "a value")
    nullable = " or null" if spec.nullable else ""
    return MlopsError(
        f"parameter {spec.name!r} is {spec.type}: {format_value(value)} does not convert "
        f"(expected {hint}{nullable})",
        ErrorCode.USAGE,
    )


def format_value(value: Any) -> str:
    """A value as the user would type it, for messages and tables."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return (
        json.dumps(value) if isinstance(value, (list, dict, bool)) or value is None else str(value)
    )


def to_json_value(value: Any) -> Any:
    """A typed value in JSON form: dates as ISO text, tuples as lists, non-finite floats as text."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, list):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def load_parameter_file(path: Path) -> dict[str, Any]:
    """Read ``-f params.yaml`` (YAML or JSON): a mapping of parameter name to value.

    Raises:
        MlopsError: USAGE when missing, unreadable or not a YAML mapping.
    """
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise MlopsError(f"parameter file {path} does not exist", ErrorCode.USAGE) from exc
    except OSError as exc:
        raise MlopsError(f"cannot read parameter file {path}: {exc}", ErrorCode.USAGE) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MlopsError(
            f"parameter file {path} is not valid YAML: {str(exc).splitlines()[0]}",
            ErrorCode.USAGE,
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise MlopsError(
            f"parameter file {path} must be a mapping of parameter names to values",
            ErrorCode.USAGE,
        )
    return data


@dataclass(frozen=True)
class ResolvedValues:
    """The typed value of every parameter, and which ones the caller set."""

    values: dict[str, Any]
    overridden: tuple[str, ...] = field(default=())


def resolve_values(
    specs: Sequence[ParameterSpec],
    *,
    from_file: Mapping[str, Any] | None = None,
    from_command_line: Sequence[tuple[str, str]] = (),
) -> ResolvedValues:
    """Typed values for a run: defaults, then the YAML file, then ``-p NAME VALUE`` pairs.

    A parameter whose default the notebook computes (:attr:`ParameterSpec.expression`) is
    left out unless it is set.

    Raises:
        MlopsError: USAGE for an unknown name (listing the valid ones) or a value that does
            not convert to its parameter's type.
    """
    by_name = {spec.name: spec for spec in specs}
    unknown = [
        n for n in [*(from_file or {}), *(n for n, _ in from_command_line)] if n not in by_name
    ]
    if unknown:
        valid = ", ".join(by_name) or "none: the notebook has no parameters cell"
        close = difflib.get_close_matches(unknown[0], list(by_name), n=1, cutoff=0.75)
        close += [n for n in by_name if n.lower() == unknown[0].lower() and n not in close]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise MlopsError(
            f"unknown parameter {unknown[0]!r}{hint}; valid parameters: {valid}",
            ErrorCode.USAGE,
        )
    values: dict[str, Any] = {}
    overridden: list[str] = []
    for name, value in (from_file or {}).items():
        values[name] = convert_value(by_name[name], value)
        overridden.append(name)
    for name, text in from_command_line:
        values[name] = convert_text(by_name[name], text)
        overridden.append(name)
    ordered = {
        spec.name: values[spec.name] if spec.name in values else spec.python_default()
        for spec in specs
        if spec.name in values or spec.expression is None
    }
    return ResolvedValues(ordered, tuple(dict.fromkeys(overridden)))
