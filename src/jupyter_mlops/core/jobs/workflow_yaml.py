"""The small YAML emitter of generated workflows: block-style mappings and sequences, every
scalar a JSON string, number or boolean (valid YAML), multi-line text a literal block."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["to_yaml"]

# Text written without quotes: starts with a letter (never a number, date or indicator), no
# ': ' or ' #'; YAML 1.1 booleans (`on`) are quoted anyway.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_.@/()-]*(?: [A-Za-z0-9_.@/()-]+)*")
_YAML11_WORDS = frozenset({"on", "off", "yes", "no", "y", "n", "true", "false", "null"})


def to_yaml(data: Mapping[str, Any]) -> str:
    """Block-style YAML for nested dicts, lists and JSON scalars; multi-line text becomes a
    literal block (``|``). Text that could read as anything else (``on``, ``3.11``) is
    quoted."""
    return "\n".join(_mapping_lines(data, 0)) + "\n"


def _mapping_lines(data: Mapping[str, Any], indent: int) -> list[str]:
    lines: list[str] = []
    for key, value in data.items():
        lines.extend(_value_lines(f"{' ' * indent}{_key(key)}:", value, indent))
    return lines


def _value_lines(head: str, value: Any, indent: int) -> list[str]:
    if isinstance(value, Mapping):
        return [head, *_mapping_lines(value, indent + 2)] if value else [f"{head} {{}}"]
    if isinstance(value, list):
        return [head, *_sequence_lines(value, indent + 2)] if value else [f"{head} []"]
    if isinstance(value, str) and "\n" in value:
        pad = " " * (indent + 2)
        return [f"{head} |", *((pad + line).rstrip() for line in value.rstrip("\n").split("\n"))]
    return [f"{head} {_scalar(value)}"]


def _sequence_lines(items: Sequence[Any], indent: int) -> list[str]:
    lines: list[str] = []
    for item in items:
        if isinstance(item, Mapping) and item:
            first, *rest = _mapping_lines(item, indent + 2)
            lines.extend([f"{' ' * indent}- {first.lstrip()}", *rest])
        else:
            lines.extend(_value_lines(f"{' ' * indent}-", item, indent))
    return lines


def _key(key: str) -> str:
    return _scalar(key)


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        text = repr(value)  # YAML 1.1 readers want a dot in 1e-05
        mantissa, e, exponent = text.partition("e")
        return f"{mantissa}.0e{exponent}" if e and "." not in mantissa else text
    if isinstance(value, str) and _PLAIN.fullmatch(value) and value.lower() not in _YAML11_WORDS:
        return value
    return json.dumps(value)
