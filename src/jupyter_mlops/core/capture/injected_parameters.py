"""Notebook parameters: the values papermill injected into this kernel.

papermill injects parameters as a code cell that starts with the comment ``# Parameters``
followed by one plain assignment per parameter (its Python translator). The kernel's input
history therefore tells us, without access to the notebook file, whether we run under papermill
and with which values.
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Sequence
from typing import Any

__all__ = ["injected_parameters"]

_MARKER = "# Parameters"


def injected_parameters(history: Sequence[str]) -> dict[str, Any] | None:
    """Return the parameters of the most recent papermill-injected cell in ``history``.

    Args:
        history: the kernel's raw input history (IPython's ``In``), oldest first.

    Returns:
        A name -> value mapping, or None when no injected cell was executed in this kernel.

    >>> injected_parameters(["x = 1", "# Parameters\\nalpha = 0.5\\nname = \\"a\\"\\n"])
    {'alpha': 0.5, 'name': 'a'}
    """
    for source in reversed(history):
        if isinstance(source, str) and source.lstrip().split("\n", 1)[0].rstrip() == _MARKER:
            parsed = _parse_assignments(source)
            if parsed is not None:
                return parsed
    return None


def _parse_assignments(source: str) -> dict[str, Any] | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    values: dict[str, Any] = {}
    for node in tree.body:
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            return None
        try:
            values[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError:
            date = _iso_date(node.value)
            if date is not None:  # how `jupyter-mlops run` injects dates
                values[node.targets[0].id] = date
                continue
            # papermill writes non-literal values (e.g. ``float("nan")``) verbatim.
            values[node.targets[0].id] = ast.unparse(node.value)
    return values


def _iso_date(node: ast.expr) -> dt.date | None:
    """The value of ``__import__("datetime").date.fromisoformat("2024-01-31")`` (or
    ``datetime``), the form ``jupyter-mlops run`` injects dates in; None for anything else."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "fromisoformat"
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr in ("date", "datetime")
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return None
    kind = dt.datetime if node.func.value.attr == "datetime" else dt.date
    try:
        return kind.fromisoformat(node.args[0].value)
    except ValueError:
        return None
