"""The REST contract is written once, in ``core/types.py``; ``labextension/src/api.ts``
mirrors it. This test reads both and fails on any interface, field, optionality or type that
differs, so neither side can drift."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from jupyter_mlops.core import types as contract

ROOT = Path(__file__).resolve().parents[2]
API_TS = ROOT / "labextension" / "src" / "api.ts"

_SCALARS: dict[Any, str] = {str: "string", int: "number", float: "number", bool: "boolean"}


def _typed_dicts() -> dict[str, type]:
    return {
        name: value
        for name in contract.__all__
        if isinstance(value := getattr(contract, name), type) and typing.is_typeddict(value)
    }


def _ts_type(annotation: Any, aliases: dict[int, str]) -> str:
    """The TypeScript spelling of a Python annotation, normalised (unions sorted)."""
    if id(annotation) in aliases:
        return aliases[id(annotation)]
    if annotation is Any:
        return "unknown"
    if annotation is type(None):
        return "null"
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if typing.is_typeddict(annotation):
        return annotation.__name__
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list:
        return _ts_type(args[0], aliases) + "[]"
    if origin is dict:
        return f"Record<{_ts_type(args[0], aliases)}, {_ts_type(args[1], aliases)}>"
    if origin is Literal:
        return " | ".join(sorted(f"'{a}'" for a in args))
    if args:  # a union
        return " | ".join(sorted(_ts_type(a, aliases) for a in args))
    raise AssertionError(f"no TypeScript mapping for {annotation!r}")


def _python_side() -> dict[str, dict[str, tuple[str, bool]]]:
    aliases = {id(contract.ExecutionStatus): "ExecutionStatus"}
    shapes = {}
    for name, cls in _typed_dicts().items():
        hints = typing.get_type_hints(cls)
        shapes[name] = {
            field: (_ts_type(hint, aliases), field in cls.__optional_keys__)
            for field, hint in hints.items()
        }
    return shapes


def _normalise_ts(text: str) -> str:
    text = re.sub(r"\s+", " ", text.strip().rstrip(";"))
    text = re.sub(r"Array<(.+)>$", r"\1[]", text)
    text = text.replace('"', "'")
    if text.startswith("Record<"):
        return text
    return " | ".join(sorted(part.strip() for part in text.split("|")))


def _typescript_side() -> dict[str, dict[str, tuple[str, bool]]]:
    source = API_TS.read_text(encoding="utf-8")
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.DOTALL)
    source = re.sub(r"//[^\n]*", "", source)
    raw: dict[str, tuple[str | None, str]] = {}
    for match in re.finditer(
        r"export interface (\w+)(?: extends (\w+))? \{(.*?)\n\}", source, re.DOTALL
    ):
        raw[match.group(1)] = (match.group(2), match.group(3))
    shapes: dict[str, dict[str, tuple[str, bool]]] = {}

    def fields(name: str) -> dict[str, tuple[str, bool]]:
        if name not in shapes:
            parent, body = raw[name]
            own = {
                m.group(1): (_normalise_ts(m.group(3)), bool(m.group(2)))
                for m in re.finditer(r"^\s*(\w+)(\?)?:\s*([^;]+);", body, re.MULTILINE)
            }
            shapes[name] = {**(fields(parent) if parent else {}), **own}
        return shapes[name]

    for name in raw:
        fields(name)
    return shapes


def test_every_contract_model_is_mirrored_field_for_field_in_api_ts():
    python, typescript = _python_side(), _typescript_side()
    missing = sorted(set(python) - set(typescript))
    assert not missing, f"api.ts lacks interfaces for {missing}"
    for name, expected in python.items():
        assert typescript[name] == expected, (
            f"{name}: core/types.py {expected} != api.ts {typescript[name]}"
        )


def test_execution_status_union_matches():
    source = API_TS.read_text(encoding="utf-8")
    match = re.search(r"export type ExecutionStatus =([^;]+);", source)
    assert match is not None, "api.ts must export type ExecutionStatus"
    values = sorted(re.findall(r"'(\w+)'", match.group(1).replace('"', "'")))
    assert values == sorted(get_args(contract.ExecutionStatus))


def test_the_parser_sees_a_difference():
    """Guard the guard: a changed field type is reported."""
    shapes = _python_side()
    assert shapes["RunSummary"]["duration_s"] == ("null | number", False)
    assert shapes["RegisterRequest"]["run_id"] == ("string", False)
    assert shapes["RegisterRequest"]["alias"] == ("null | string", True)
    assert _normalise_ts("number | null") == _normalise_ts("null|number")
    assert _normalise_ts("string | null") != shapes["RunSummary"]["duration_s"][0]
