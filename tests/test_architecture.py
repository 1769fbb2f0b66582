"""The import contract: layers, adapters and cycles, read from the source as it is.

``lint-imports`` checks the contracts in ``pyproject.toml`` ([tool.importlinter]): core imports
no front end and no adapter, adapters never import each other, core's packages are layered. It
cannot say "no cycles at all", so the second test reads every import statement of core itself
(at the top, under ``TYPE_CHECKING`` and inside functions) and fails on any cycle of modules.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
CORE = SRC / "jupyter_mlops" / "core"


def test_import_contract_is_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    # the checkout's own source, whatever is installed; no cache folder left in the clone
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(source: str, module: str, *, is_package: bool) -> Iterator[tuple[str, int]]:
    """Every module ``source`` names in an import statement, wherever the statement is."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base, node.lineno
            for alias in node.names:  # `from package import module`
                yield f"{base}.{alias.name}", node.lineno


def core_import_graph() -> dict[str, dict[str, int]]:
    """Module -> {core module it imports: line}, for every module under ``core/``."""
    files = {_module_name(path): path for path in sorted(CORE.rglob("*.py"))}
    graph: dict[str, dict[str, int]] = {}
    for module, path in files.items():
        edges = graph.setdefault(module, {})
        source = path.read_text(encoding="utf-8")
        for imported, line in _imports(source, module, is_package=path.name == "__init__.py"):
            if imported in files and imported != module:
                edges.setdefault(imported, line)
    return graph


def import_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.get(module, {}):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(groups)


def test_core_modules_import_no_cycle():
    graph = core_import_graph()
    assert "jupyter_mlops.core.store.tracking" in graph  # the walk found the modules
    cycles = import_cycles(graph)
    report = []
    for group in cycles:
        members = set(group)
        report.append("cycle between " + ", ".join(group) + ":")
        report += [
            f"  {module} -> {imported} (l.{line})"
            for module in group
            for imported, line in sorted(graph[module].items())
            if imported in members
        ]
    print("\n".join(report) or "no import cycle in core")
    assert not cycles, "\n".join(report)


def test_the_cycle_check_sees_type_checking_and_function_local_imports():
    """The check itself: imports under TYPE_CHECKING, inside functions and relative ones count."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from jupyter_mlops.core import errors\n"
        "def f():\n"
        "    import jupyter_mlops.core.config\n"
        "    from . import locks\n"
        "    from ..capture.session import current\n"
    )
    found = {
        name for name, _ in _imports(source, "jupyter_mlops.core.store.probe", is_package=False)
    }
    assert {
        "jupyter_mlops.core.errors",
        "jupyter_mlops.core.config",
        "jupyter_mlops.core.store.locks",
        "jupyter_mlops.core.capture.session",
    } <= found
    graph = {"a": {"b": 3}, "b": {"c": 7}, "c": {"a": 1}, "d": {"a": 1}, "e": {}}
    assert import_cycles(graph) == [["a", "b", "c"]]
