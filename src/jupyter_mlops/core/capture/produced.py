"""What a cell produced: the names it bound or fitted, recorded so a model can be traced back.

``%mlops register model`` looks for the latest run of the notebook whose cell assigned or
fitted ``model``; every captured run therefore carries the tag ``mlops.cell.produced``, a
comma-separated list of those names.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "did_produce",
    "produced_names",
    "produced_objects",
    "produced_tag_value",
]

_FITTING = frozenset({"fit", "fit_transform", "fit_predict", "partial_fit"})
_MAX_TAG = 8000  # mlflow.utils.validation.MAX_TAG_VAL_LENGTH


def produced_names(code: str, *, nested: bool = False) -> list[str]:
    """Names ``code`` binds in its own scope or calls a ``fit``-like method on, in source order.

    Names bound only inside function, class or lambda bodies are local to those and are not
    produced by a cell; with ``nested`` (a script, whose ``with run()`` block may sit in a
    function) they count too. Unparseable code yields an empty list.

    >>> produced_names("model = Pipeline([])\\nclf.fit(X, y)\\nfor i in range(3): pass")
    ['model', 'clf', 'i']
    >>> produced_names("def helper():\\n    model = 1")
    ['helper']
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found: dict[str, None] = {}
    for node in ast.walk(tree) if nested else _cell_scope(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor)):
            targets = [node.target]
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets = [node.optional_vars]
        elif isinstance(node, ast.NamedExpr):
            targets = [node.target]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.setdefault(node.name)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _FITTING
            and isinstance(node.func.value, ast.Name)
        ):
            found.setdefault(node.func.value.id)
        for target in targets:
            for name in _bound(target):
                found.setdefault(name)
    return list(found)


def _cell_scope(tree: ast.AST) -> Iterator[ast.AST]:
    """The nodes of the cell's own scope, depth first in source order (no nested bodies)."""
    for child in ast.iter_child_nodes(tree):
        yield child
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue  # their bodies bind local names
        yield from _cell_scope(child)


def _bound(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _bound(element)]
    if isinstance(target, ast.Starred):
        return _bound(target.value)
    return []


def produced_tag_value(code: str, *, nested: bool = False) -> str | None:
    """The ``mlops.cell.produced`` value for ``code`` (``,a,b,`` form), None if it binds nothing.

    Leading and trailing commas let a reader test membership with ``",name," in value``.
    """
    names = produced_names(code, nested=nested)
    if not names:
        return None
    value = "," + ",".join(names) + ","
    if len(value) > _MAX_TAG:
        value = value[: value.rfind(",", 0, _MAX_TAG) + 1]
    return value


def did_produce(tag_value: str | None, name: str) -> bool:
    """True when a run's ``mlops.cell.produced`` tag names ``name``."""
    return bool(tag_value) and f",{name}," in (tag_value or "")


def produced_objects(
    code: str, namespace: Mapping[str, Any], *, nested: bool = False
) -> dict[str, int]:
    """``{name: id(value)}`` for the produced names that now hold something with ``fit``.

    An id identifies an object only within one process, and only while it lives: it lets
    ``register`` tell, in the same kernel, whether ``model`` is still the object the run made.
    """
    return {
        name: id(namespace[name])
        for name in produced_names(code, nested=nested)
        if name in namespace and callable(getattr(namespace[name], "fit", None))
    }
