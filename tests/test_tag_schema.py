"""The tag schema is defined once (core/tags.py) and documented (docs/what-is-recorded.md).

Every tag key and artifact path in core/tags.py appears in the doc, every ``mlops.*`` key the
doc names exists in core/tags.py, and no other module under src/ spells an ``mlops.`` key.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from jupyter_mlops.core import tags

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "what-is-recorded.md"
SRC = ROOT / "src" / "jupyter_mlops"
TAGS_FILE = SRC / "core" / "tags.py"
_MLOPS = re.compile(r"(?<![\w-])mlops\.")
_DOC_KEY = re.compile(r"(?<![\w./-])mlops\.[A-Za-z0-9_.<>*]+")


def _constants() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(tags).items()
        if name.isupper() and isinstance(value, str)
    }


def _templates() -> dict[str, str]:
    """Each parametrised key or path, with its parameter written as ``<parameter>``."""
    found = {}
    for name in tags.__all__:
        function = getattr(tags, name)
        if not callable(function):
            continue
        (parameter,) = inspect.signature(function).parameters
        if parameter != "kind":  # keys_tag / path_tag only choose among constants
            found[name] = function(f"<{parameter}>")
    return found


def _doc_keys(doc: str) -> set[str]:
    return {key.rstrip(".") for key in _DOC_KEY.findall(doc)}


def _schema_patterns() -> list[re.Pattern[str]]:
    """Regexes a documented key must match: exact keys, prefixes (``mlops.ledger.``) with
    anything after them, and templates with any name in place of ``<parameter>``."""
    patterns = []
    for value in [*_constants().values(), *_templates().values()]:
        if not value.startswith(tags.TAG_PREFIX) or value == tags.TAG_PREFIX:
            continue
        text = re.escape(value)
        text = re.sub(r"<\w+>", r"[^.]+", text)
        patterns.append(re.compile(text + (r".+" if value.endswith(".") else "")))
    return patterns


def _documented(doc_key: str, patterns: list[re.Pattern[str]], values: set[str]) -> bool:
    if "*" in doc_key:  # `mlops.error.*`, `mlops.data.*.fingerprint`: names a group
        wanted = re.compile(re.escape(doc_key).replace(r"\*", r"[^`]+"))
        return any(wanted.fullmatch(v) for v in values)
    return any(pattern.fullmatch(doc_key) for pattern in patterns)


def _mentioned(value: str, doc: str) -> bool:
    """``value`` is in the doc as a whole key (``mlops.params`` not only as part of
    ``mlops.params.keys``); a prefix such as ``mlops.ledger.`` may be followed by anything."""
    end = "" if value.endswith(".") else r"(?![\w/<]|\.\w)"
    return re.search(r"(?<![\w./-])" + re.escape(value) + end, doc) is not None


def test_every_key_and_path_is_documented():
    doc = DOC.read_text(encoding="utf-8")
    missing = [
        f"{name} = {value!r}"
        for name, value in {**_constants(), **_templates()}.items()
        if name != "DATA_FINGERPRINT_SUFFIX" and not _mentioned(value, doc)
    ]
    assert not missing, f"not documented in {DOC.name}: {missing}"


def test_every_documented_key_is_in_the_schema():
    doc = DOC.read_text(encoding="utf-8")
    values = {*_constants().values(), *_templates().values()}
    unknown = sorted(
        key for key in _doc_keys(doc) if not _documented(key, _schema_patterns(), values)
    )
    assert not unknown, f"{DOC.name} names keys core/tags.py does not define: {unknown}"


def test_the_doc_check_sees_keys():
    """The two checks above are not vacuous."""
    doc = DOC.read_text(encoding="utf-8")
    assert {"mlops.notebook.path", "mlops.data.X_train.fingerprint"} <= _doc_keys(doc)
    assert not _documented("mlops.notebook.pathx", _schema_patterns(), set())
    assert _documented("mlops.data.X_train.rows", _schema_patterns(), set())
    assert tags.data_fingerprint_tag("X_train") == "mlops.data.X_train.fingerprint"


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def mlops_literals(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line: literal`` for each string (f-string parts included, docstrings not)
    that spells an ``mlops.`` key."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    return [
        f"{path.relative_to(root)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docs
        and _MLOPS.search(node.value)
    ]


def test_no_module_but_tags_spells_an_mlops_key():
    offenders = [
        line
        for path in sorted(SRC.rglob("*.py"))
        if path != TAGS_FILE
        for line in mlops_literals(path)
    ]
    assert not offenders, "use jupyter_mlops.core.tags instead:\n" + "\n".join(offenders)


def test_the_literal_scan_finds_keys_in_fstrings(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""mlops.cell.id in a docstring is fine."""\nx = f"tags.`mlops.host` = {1}"\n'
    )
    assert mlops_literals(sample, tmp_path) == ["sample.py:2: 'tags.`mlops.host` = '"]
