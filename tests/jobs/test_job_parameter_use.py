"""A job never records a parameter value the notebook did not use: a parameter a later cell
reassigns is named by ``job show``, ``job init`` and ``%mlops job`` and refused by
``jupyter-mlops run`` (unless ``--allow-reassigned``); only cells of literal assignments are
adopted as the parameters cell; a parameters cell is read line by line as papermill reads it.

Through the installed console script (subprocesses) and the real IPython shell fixture.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat import v4

BIN = Path(sys.executable).parent

# A parameters cell as papermill's own test notebooks write them: help in comments, a type in
# a `# type:` comment, a value over several lines, and a last line that is not Python.
PAPERMILL_STYLE_CELL = """\
# Parameters
msg = None  # The message to show
a: float = 2.25  # Variable a
b = [
    'Hello',  # the first word
    'World'
]  # type: List[str] Nice list

# c has no comment of its own
c = "NoneType"
= 2
"""

PARAMETERS = "alpha = 0.5  # regularisation\nl1_ratio = 0.1\nseed = 42\n"
TRAIN = """\
%%mlops run --name fit
def helper():
    seed = 0  # a local of the function: not a reassignment
    return seed

alpha = 0.05
model = (alpha, l1_ratio, helper())
"""
LATER = "for l1_ratio in [0.2, 0.3]:\n    print(l1_ratio)\n"


def _notebook(path: Path, *cells: Any) -> Path:
    """Code cells from sources; a ``(source, tag)`` pair is tagged."""
    notebook = v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    for cell in cells:
        if isinstance(cell, tuple):
            notebook.cells.append(v4.new_code_cell(cell[0], metadata={"tags": [cell[1]]}))
        else:
            notebook.cells.append(v4.new_code_cell(cell))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "jupyter-mlops"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}",
            "MLFLOW_DISABLE_TELEMETRY": "true",
        },
    )


def _ids(path: Path) -> list[str]:
    return [c.id for c in nbformat.read(str(path), as_version=4).cells]


@pytest.fixture
def reassigning(tmp_path: Path) -> Path:
    """A project whose notebook's training cell sets ``alpha`` again and whose last cell loops
    over ``l1_ratio``."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n', "utf-8")
    return _notebook(
        tmp_path / "train.ipynb",
        "%load_ext jupyter_mlops\n%mlops init",
        (PARAMETERS, "parameters"),
        TRAIN,
        "%%bash\nalpha=1  # not Python",
        LATER,
    )


# -- reading the parameters cell line by line -----------------------------------------------


@pytest.mark.slow
def test_job_show_reads_a_papermill_style_cell_line_by_line(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "complex.ipynb", (PAPERMILL_STYLE_CELL, "parameters"), "print(a)")

    shown = _cli(tmp_path, "job", "show", str(path))
    as_json = json.loads(_cli(tmp_path, "job", "show", str(path), "--json").stdout)

    assert shown.returncode == 0, shown.stderr
    assert "parameters  : 4" in shown.stdout
    assert [
        (p["name"], p["type"], p["default"], p.get("help", "")) for p in as_json["parameters"]
    ] == [
        ("msg", "any", None, "The message to show"),
        ("a", "float", 2.25, "Variable a"),
        ("b", "list", ["Hello", "World"], "Nice list"),
        ("c", "str", "NoneType", ""),
    ]
    warning = "line 11 of the parameters cell (`= 2`) cannot be read; skipped"
    assert f"warning     : {warning}" in shown.stdout.splitlines()
    assert as_json["warnings"] == [warning]


@pytest.mark.slow
def test_an_unreadable_parameters_cell_is_never_an_empty_contract_silently(
    tmp_path: Path,
) -> None:
    path = _notebook(
        tmp_path / "broken.ipynb", ("%matplotlib inline\n= 2\n", "parameters"), "print(1)"
    )

    shown = _cli(tmp_path, "job", "show", str(path))

    assert shown.returncode == 0, shown.stderr
    assert "parameters  : none" in shown.stdout
    assert "line 2 of the parameters cell (`= 2`) cannot be read; skipped" in shown.stdout
    assert "line 1" not in shown.stdout  # IPython's magic is not a parameter, nor an error
    assert "the parameters cell (cell 1) declares no parameter that can be read" in shown.stdout


# -- which cell job init adopts -------------------------------------------------------------


@pytest.mark.slow
def test_job_init_adopts_only_a_cell_of_literal_assignments(tmp_path: Path) -> None:
    path = _notebook(
        tmp_path / "features.ipynb",
        "import pandas as pd\ndata = pd.DataFrame({'y': [1, 0]})",
        "X = data.drop(columns=['y'])\nd = len(X)",
        "import datetime\nstart = datetime.date(2024, 1, 31)\nalpha = 0.5",
    )

    result = _cli(tmp_path, "job", "init", str(path))

    assert result.returncode == 0, result.stderr
    assert "- tagged cell 3 (plain assignments) as the parameters cell" in result.stdout
    after = nbformat.read(str(path), as_version=4)
    assert [c.metadata.get("tags", []) for c in after.cells] == [[], [], ["parameters"]]
    contract = after.metadata["jupyter_mlops"]["job"]
    assert [(p["name"], p["type"], p["default"]) for p in contract["parameters"]] == [
        ("start", "date", "2024-01-31"),
        ("alpha", "float", 0.5),
    ]


@pytest.mark.slow
def test_job_init_never_adopts_computed_assignments(tmp_path: Path) -> None:
    computed = "X = data.drop(columns=['y'])\nd = X.describe()"
    path = _notebook(tmp_path / "features.ipynb", "import pandas as pd", computed)

    result = _cli(tmp_path, "job", "init", str(path))

    assert result.returncode == 0, result.stderr
    assert (
        "- no parameters cell and no --param: the job takes no parameters (no cell is made only "
        "of literal assignments such as `alpha = 0.5`; tag one `parameters` or pass "
        "--param NAME=DEFAULT)"
    ) in result.stdout
    after = nbformat.read(str(path), as_version=4)
    assert all("tags" not in c.metadata for c in after.cells)
    assert after.metadata["jupyter_mlops"]["job"]["parameters"] == []

    # with --param, a parameters cell of its own is created instead
    declared = _cli(tmp_path, "job", "init", str(path), "--param", "alpha=0.5")
    assert declared.returncode == 0, declared.stderr
    assert "- created a parameters cell at position 1" in declared.stdout
    after = nbformat.read(str(path), as_version=4)
    assert after.cells[0].source == "alpha: float = 0.5"
    assert after.cells[2].source == computed and "tags" not in after.cells[2].metadata


# -- parameters a later cell reassigns ------------------------------------------------------


@pytest.mark.slow
def test_job_show_and_init_name_every_reassigned_parameter(reassigning: Path) -> None:
    project, (_, _, train, _, later) = reassigning.parent, _ids(reassigning)
    expected = [
        f"parameter 'alpha' is reassigned after the parameters cell, in cell 3 (id {train}) "
        "line 6 (assignment: `alpha = 0.05`): a job would record a value the notebook does "
        "not use",
        f"parameter 'l1_ratio' is reassigned after the parameters cell, in cell 5 (id {later}) "
        "line 1 (for target: `for l1_ratio in [0.2, 0.3]:`): a job would record a value the "
        "notebook does not use",
    ]

    shown = _cli(project, "job", "show", str(reassigning))
    as_json = json.loads(_cli(project, "job", "show", str(reassigning), "--json").stdout)
    init = _cli(project, "job", "init", str(reassigning))

    assert shown.returncode == 0, shown.stderr
    warnings = [line for line in shown.stdout.splitlines() if line.startswith("warning")]
    assert warnings == [f"warning     : {w}" for w in expected]
    assert as_json["warnings"] == expected
    assert as_json["reassignments"] == [
        {
            "name": "alpha",
            "cell": 3,
            "cell_id": train,
            "line": 6,
            "how": "assignment",
            "code": "alpha = 0.05",
        },
        {
            "name": "l1_ratio",
            "cell": 5,
            "cell_id": later,
            "line": 1,
            "how": "for target",
            "code": "for l1_ratio in [0.2, 0.3]:",
        },
    ]
    assert init.returncode == 0, init.stderr
    assert [line for line in init.stdout.splitlines() if line.startswith("warning")] == warnings


@pytest.mark.slow
def test_run_refuses_a_reassigned_parameter_and_starts_nothing(reassigning: Path) -> None:
    project = reassigning.parent
    before = sorted(project.rglob("*"))

    result = _cli(project, "run", "train.ipynb", "-p", "alpha", "0.5", "--output", "out.ipynb")

    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "jupyter-mlops: error: parameter 'alpha' is reassigned after the parameters cell, in "
        "cell 3 (id "
    )
    assert "line 6 (assignment: `alpha = 0.05`)" in line
    assert "parameter 'l1_ratio' is reassigned" in line
    assert line.endswith(
        "Remove the reassignment (set the value in the parameters cell), or pass "
        "--allow-reassigned to run it anyway; nothing was run"
    )
    assert "Running" not in result.stdout + result.stderr
    # no store, no run, no executed notebook: nothing was written
    assert sorted(project.rglob("*")) == before


def test_job_magic_names_a_reassigned_parameter(shell, reassigning: Path, capsys) -> None:
    shell.run_line_magic("mlops", f"init --notebook {reassigning}")
    capsys.readouterr()

    shell.run_line_magic("mlops", "job --name nightly")

    printed = capsys.readouterr().out
    train = _ids(reassigning)[2]
    assert (
        f"warning     : parameter 'alpha' is reassigned after the parameters cell, in cell 3 "
        f"(id {train}) line 6 (assignment: `alpha = 0.05`)"
    ) in printed
    assert "parameter 'seed' is reassigned" not in printed  # only a local of a function
