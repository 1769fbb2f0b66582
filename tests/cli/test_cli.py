"""The ``jupyter-mlops`` command line, run as a real subprocess (also via ``jupyter mlops``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

import jupyter_mlops
from support.runs import only_run

BIN = Path(sys.executable).parent
EXAMPLE = Path(__file__).resolve().parents[2] / "example_notebooks" / "credit_risk.ipynb"
TIMEOUT_S = 180

pytestmark = pytest.mark.slow


def _cli(*args: str, cwd: Path, program: str = "jupyter-mlops") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / program), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A minimal project holding a copy of the credit_risk example."""
    root = tmp_path / "project"
    (root / "example_notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "example-project"\nversion = "0.0.0"\n', encoding="utf-8"
    )
    (root / "example_notebooks" / EXAMPLE.name).write_bytes(EXAMPLE.read_bytes())
    return root


def test_demo_executes_the_notebook_and_says_where_runs_are(project: Path, tmp_path: Path) -> None:
    notebook = project / "example_notebooks" / EXAMPLE.name
    output = tmp_path / "out.ipynb"
    result = _cli("demo", "--notebook", str(notebook), "--output", str(output), cwd=project)

    assert result.returncode == 0, result.stderr
    assert output.is_file()
    database = project / "mlflow.db"
    assert database.is_file()
    stdout = result.stdout
    assert f"sqlite:///{database}" in stdout  # the tracking URI, with its absolute path intact
    assert "'credit_risk'" in stdout  # the experiment
    assert "logreg-baseline" in stdout  # the run it recorded ...
    assert "FINISHED" in stdout  # ... and how it ended
    assert "mlflow ui --backend-store-uri sqlite:///mlflow.db" in stdout
    assert f"run in {project}" in stdout
    assert "without encryption" not in result.stderr  # the kernel talks over IPC, not TCP

    run = only_run(MlflowClient(f"sqlite:///{database}"), "credit_risk")
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlops.notebook.found_by"] == "environment"
    assert run.data.tags["mlops.notebook.path"] == "example_notebooks/credit_risk.ipynb"


def test_demo_with_a_missing_notebook_fails_in_one_line(tmp_path: Path) -> None:
    result = _cli(
        "demo",
        "--notebook",
        str(tmp_path / "nowhere.ipynb"),
        "--output",
        str(tmp_path / "out.ipynb"),
        cwd=tmp_path,
    )

    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("jupyter-mlops: error:")
    assert "nowhere.ipynb" in lines[0]
    assert not (tmp_path / "out.ipynb").exists()
    assert not (tmp_path / "mlflow.db").exists()


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    result = _cli("demo", "--no-such-option", cwd=tmp_path)

    assert result.returncode == 2
    assert "no-such-option" in result.stderr


def test_jupyter_launcher_dispatches_to_jupyter_mlops(tmp_path: Path) -> None:
    result = _cli("mlops", "--version", cwd=tmp_path, program="jupyter")

    assert result.returncode == 0, result.stderr
    assert jupyter_mlops.__version__ in result.stdout
    assert "jupyter-mlops" in result.stdout


def test_demo_of_a_failing_notebook_names_the_cell_and_keeps_the_output(tmp_path: Path) -> None:
    import nbformat

    notebook = tmp_path / "broken.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_mlops\n%mlops init"),
        nbformat.v4.new_code_cell(
            "%%mlops run --no-autolog\nraise ValueError('no data for 2026-Q3')"
        ),
    ]
    nbformat.write(nb, notebook)
    output = tmp_path / "broken-out.ipynb"  # --output is written into a folder that exists
    result = _cli("demo", "--notebook", str(notebook), "--output", str(output), cwd=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("jupyter-mlops:")]
    assert errors == [
        "jupyter-mlops: error: broken.ipynb: code cell 2 [2] ('%%mlops run --no-autolog') "
        f"failed: ValueError: no data for 2026-Q3 (executed notebook written to {output})"
    ]
    assert output.is_file()
    run = only_run(MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}"), "broken")
    assert run.info.status == "FAILED"
