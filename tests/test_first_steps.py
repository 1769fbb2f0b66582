"""The rough edges a newcomer hits first (issue 11): through the real shell and the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from mlflow import MlflowClient


def test_bare_mlops_prints_the_usage_not_an_error(shell: InteractiveShell, capsys):
    result = shell.run_cell("%mlops")
    out, err = capsys.readouterr()
    assert result.success, result.error_in_exec
    assert "unknown %mlops subcommand" not in out + err
    assert "UsageError" not in out + err
    assert "  %mlops init [--tracking-uri TRACKING_URI]" in out
    assert "%%mlops run" in out and "--log-model" in out and "%mlops job" in out


def test_runs_table_shows_params_in_one_order(shell: InteractiveShell, capsys):
    """Two runs that chose the same params in another order list them alike (alphabetical)."""
    shell.run_cell("%%mlops run --params zeta,alpha --metrics m\nzeta, alpha, m = 1, 2, 0.5")
    shell.run_cell("%%mlops run --params alpha,zeta --metrics m\nzeta, alpha, m = 3, 4, 0.5")
    capsys.readouterr()
    listing = shell.run_line_magic("mlops", "runs")
    rows = listing.to_text().splitlines()[3:]
    assert len(rows) == 2, listing.to_text()
    assert "alpha=4, zeta=3" in rows[0]
    assert "alpha=2, zeta=1" in rows[1]


BIN = Path(sys.executable).parent


def _cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "jupyter-mlops"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", **(env or {})},
    )


def _notebook(folder: Path, *sources: str, name: str = "tiny.ipynb") -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path = folder / name
    nbformat.write(notebook, str(path))
    return path


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [
        ("inventory", "-o", "{missing}/x.html"),
        ("inventory", "--format", "html", "--output", "{missing}/x.html"),
        ("run", "{notebook}", "--output", "{missing}/out.ipynb"),
        ("job", "ci", "{notebook}", "--github", "--output", "{missing}/job.yml"),
        ("demo", "--notebook", "{notebook}", "--output", "{missing}/out.ipynb"),
    ],
)
def test_an_output_in_a_missing_folder_is_refused(tmp_path: Path, command: tuple[str, ...]):
    """Nothing is created: neither the folders nor a store, a run or an executed notebook."""
    notebook = _notebook(tmp_path, "x = 1")
    MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}").search_experiments()  # a store to read
    missing = tmp_path / "no" / "such"
    before = _files(tmp_path)
    args = [a.format(missing=missing, notebook=notebook) for a in command]

    result = _cli(*args, cwd=tmp_path)

    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"jupyter-mlops: error: the folder {missing} does not exist; create it first or "
        "write elsewhere"
    ]
    assert _files(tmp_path) == before


@pytest.mark.slow
def test_a_notebook_that_cannot_be_used_exits_2_whether_missing_or_not_a_notebook(
    tmp_path: Path,
):
    (tmp_path / "notes.txt").write_text("not a notebook\n", encoding="utf-8")
    before = _files(tmp_path)

    missing = _cli("run", "missing.ipynb", cwd=tmp_path)
    unreadable = _cli("run", "notes.txt", cwd=tmp_path)

    assert (missing.returncode, unreadable.returncode) == (2, 2), missing.stderr + unreadable.stderr
    assert missing.stderr.splitlines() == [
        f"jupyter-mlops: error: notebook {tmp_path / 'missing.ipynb'} does not exist"
    ]
    (line,) = unreadable.stderr.splitlines()
    assert line.startswith(f"jupyter-mlops: error: {tmp_path / 'notes.txt'} is not a readable")
    assert _files(tmp_path) == before
