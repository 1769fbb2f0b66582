"""The README's Quickstart is a contract: exactly two commands, and CI runs the second."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block is not None, "Quickstart has no bash block"
    return [
        line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")
    ]


def test_quickstart_has_exactly_two_commands():
    commands = _quickstart_commands()
    assert len(commands) == 2, commands
    assert "jupyter-mlops run example_notebooks/credit_risk.ipynb" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_quickstart_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _quickstart_commands()[1] in ci.splitlines()


def test_getting_started_usage_block_is_the_parsers_usage():
    """docs/getting-started.md shows the usage lines `%mlops?` is built from, verbatim."""
    from jupyter_mlops.magics import usage

    page = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    block = re.search(r"Its usage lines.*?```text\n(.*?)```", page, re.DOTALL) or re.search(
        r"prints just the usage lines.*?```text\n(.*?)```", page, re.DOTALL
    )
    assert block is not None, "getting-started.md has no usage block"
    assert block.group(1).rstrip("\n") == usage()
    assert "--log-model" in block.group(1) and "%mlops job" in block.group(1)
