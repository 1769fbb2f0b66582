"""Notebook parameters: the values papermill injected into this kernel.

papermill injects parameters as a code cell that starts with the comment ``# Parameters``
followed by one plain assignment per parameter (its Python translator). The kernel's input
history therefore tells us, without access to the notebook file, whether we run under papermill
and with which values.
"""

from __future__ import annotations

import ast
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
            # papermill writes non-literal values (e.g. ``float("nan")``) verbatim.
            values[node.targets[0].id] = ast.unparse(node.value)
    return values
