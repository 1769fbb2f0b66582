"""The README's Quickstart is a contract: exactly two commands, and CI runs the second (in two
tiers)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# How Quickstart command 2 ends, and the two runs .ci/run makes of it after the same install.
RUN_SUITE = " && .venv/bin/python -m pytest"
TIERS = [
    '.venv/bin/python -m pytest -m "not slow" -x -n 2',
    ".venv/bin/python -m pytest -m slow",
]


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


def test_ci_runs_the_quickstart_test_command_in_two_tiers():
    """CI runs command 2's install verbatim, then its whole suite: the fast tier, then the slow.

    The two marker expressions are complements and neither names a path or deselects anything
    else, so together they run exactly the tests ``python -m pytest`` runs.
    """
    command = _quickstart_commands()[1]
    assert command.endswith(RUN_SUITE), command
    install = command.removesuffix(RUN_SUITE)
    ci = [
        line
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert install in ci, "CI does not run Quickstart command 2's install verbatim"
    after_install = ci[ci.index(install) + 1 :]
    assert after_install[: len(TIERS)] == TIERS, after_install


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
