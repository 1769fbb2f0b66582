"""The rough edges a newcomer hits first (issue 11): through the real shell and the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
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


def _without_venv_path() -> str:
    """PATH as right after the Quickstart: the venv's scripts folder is not on it."""
    scripts = {str(BIN), sysconfig.get_path("scripts")}
    return (
        os.pathsep.join(
            p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in scripts
        )
        or "/usr/bin:/bin"
    )


@pytest.mark.slow
def test_a_job_outside_git_says_so_and_prints_next_steps_that_run(tmp_path: Path):
    """After the Quickstart the venv is not activated: the printed commands must run as
    printed. And a notebook outside any git repository records no commit: said once."""
    project = tmp_path / "project"
    project.mkdir()
    _notebook(project, "%load_ext jupyter_mlops", "%%mlops run --params a\na = 1")
    path = _without_venv_path()
    assert shutil.which("jupyter-mlops", path=path) is None  # as right after the Quickstart

    job = _cli("run", "tiny.ipynb", cwd=project, env={"PATH": path})

    assert job.returncode == 0, job.stderr
    notices = [line for line in job.stdout.splitlines() if "no git commit recorded" in line]
    assert notices == [
        f"  warning       : no git commit recorded: {project} is not in a git repository with "
        "a commit (or git is not installed); commit the notebook there to record which code "
        "made these runs"
    ]
    hints = job.stdout.split(f"To explore, run in {project}:\n", 1)[1].splitlines()
    assert hints == [
        f"  {BIN / 'jupyter-mlops'} inventory",
        f"  {BIN / 'mlflow'} ui --backend-store-uri sqlite:///mlflow.db",
    ]
    inventory = subprocess.run(
        hints[0].strip(),
        shell=True,
        cwd=project,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert inventory.returncode == 0, inventory.stderr
    assert inventory.stdout.startswith("0 registered model(s) in sqlite:///")
    mlflow_ui = subprocess.run(
        hints[1].split(" ui ", 1)[0].strip() + " ui --help",
        shell=True,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert mlflow_ui.returncode == 0, mlflow_ui.stderr
    assert "--backend-store-uri" in mlflow_ui.stdout


def test_printed_commands_are_bare_names_when_the_venv_is_on_path():
    """With the venv activated (its scripts folder first on PATH) the short form runs."""
    from jupyter_mlops.core.console_scripts import runnable

    assert runnable("mlflow", search_path=str(BIN)) == "mlflow"
    assert runnable("mlflow", search_path=_without_venv_path()) == str(BIN / "mlflow")


_FIRST_CELL = """
import logging
logging.basicConfig(level=logging.INFO)  # a kernel whose logging shows INFO, as some do
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "jupyter_mlops")
shell.run_line_magic("mlops", "init --notebook first.ipynb")
"""


@pytest.mark.slow
def test_creating_the_store_adds_no_mlflow_log_lines_to_the_first_cell(tmp_path: Path):
    _notebook(tmp_path, "%mlops init", name="first.ipynb")
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_CELL],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "mlflow.db").is_file()  # the store was created by this cell
    output = done.stdout + done.stderr
    for noise in ("Creating initial MLflow database tables", "Updating database tables"):
        assert noise not in output, output
    assert "alembic" not in output and "Context impl" not in output, output
    assert f"notebook     : {tmp_path / 'first.ipynb'}  (found by argument)" in done.stdout


def _outputs(path: Path) -> list[str]:
    """The text each code cell of an executed notebook printed, one string per cell."""
    cells = nbformat.read(str(path), as_version=4).cells
    return ["".join(str(o.get("text", "")) for o in c.get("outputs", [])) for c in cells]


def _experiments(folder: Path) -> dict[str, int]:
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    return {e.name: len(client.search_runs([e.experiment_id])) for e in client.search_experiments()}


_INIT = "%load_ext jupyter_mlops\n%mlops init"


@pytest.mark.slow
def test_init_under_nbconvert_prints_where_the_runs_go(tmp_path: Path):
    """Two notebooks share the init cell (a search cannot tell them apart); nbconvert's own
    command line names the notebook, init says so, and nothing else is created."""
    _notebook(tmp_path, _INIT, "%%mlops run --name scored\nscore = 1", name="scoring.ipynb")
    _notebook(tmp_path, _INIT, "%%mlops run\nother = 2", name="other.ipynb")

    done = subprocess.run(
        [str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute", "scoring.ipynb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )

    assert done.returncode == 0, done.stderr[-3000:]
    init = _outputs(tmp_path / "scoring.nbconvert.ipynb")[0]
    assert "experiment   : scoring  (default)\n" in init, init
    assert f"notebook     : {tmp_path / 'scoring.ipynb'}  (found by nbconvert)\n" in init, init
    assert _experiments(tmp_path) == {"scoring": 1, "Default": 0}  # no empty 'jupyter-mlops'


@pytest.mark.slow
def test_init_that_cannot_find_the_notebook_says_the_run_cell_looks_again(tmp_path: Path):
    """A kernel with no clue (nbclient's Python API) and an init cell shared by two notebooks:
    init says the notebook is not found yet and creates no experiment; the run cell's own
    source finds the notebook, as init said it would, and its run goes there."""
    notebook = _notebook(tmp_path, _INIT, "%%mlops run --name scored\nscore = 1", name="a.ipynb")
    _notebook(tmp_path, _INIT, "%%mlops run\nother = 2", name="b.ipynb")
    script = (
        "import nbclient, nbformat, sys\n"
        f"nb = nbformat.read({str(notebook)!r}, as_version=4)\n"
        "nbclient.NotebookClient(nb, resources={'metadata': {'path': '.'}}).execute()\n"
        f"nbformat.write(nb, {str(tmp_path / 'executed.ipynb')!r})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )

    assert done.returncode == 0, done.stderr[-3000:]
    init, run = _outputs(tmp_path / "executed.ipynb")
    assert (
        "experiment   : jupyter-mlops  (default), or the notebook's name if a %%mlops run "
        "cell finds the notebook\n"
    ) in init, init
    assert (
        "notebook     : not found yet; the first %%mlops run cell looks again (searching this "
        "folder)\n"
    ) in init, init
    assert "notebook not found" not in init + run  # the run cell found it
    assert _experiments(tmp_path) == {"a": 1, "Default": 0}
