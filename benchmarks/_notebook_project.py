"""A throw-away notebook project with a real IPython shell, for the capture benchmarks.

Everything lives in a temporary directory that is removed afterwards: the SQLite store and its
artifacts, the notebook (committed to a fresh git repository when ``git`` is available, as in a
real project) and IPython's profile folder (history off). Nothing is downloaded.

The same cell computation runs three ways in the same shell and store:

* ``ours``: ``%%mlops run --no-autolog --params ... --metrics ...`` (``autolog=True`` drops
  ``--no-autolog``);
* ``baseline``: what a careful user writes by hand with MLflow: ``with mlflow.start_run():``,
  the computation, one ``mlflow.log_params`` and one ``mlflow.log_metrics`` call.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from IPython.core.interactiveshell import InteractiveShell
from mlflow import MlflowClient
from traitlets.config import Config

from jupyter_mlops.core.config import ENVIRONMENT_VARIABLES

__all__ = ["NotebookProject", "notebook_project"]

EXPERIMENT = "benchmark"
SETUP = """\
import mlflow
import numpy as np
import pandas as pd

frame = pd.DataFrame(np.random.default_rng(0).normal(size=(1_000, 8)), columns=list("abcdefgh"))
"""
# A few numpy operations on a small DataFrame; two params and two metrics come out of it.
BODY = """\
alpha = 0.5
n_components = 3
X = frame.to_numpy()
centred = X - X.mean(axis=0)
loss = float((centred**2).mean() * alpha)
score = float(np.tanh(X[:, :n_components]).mean())
"""
FLAGS = "--params alpha,n_components --metrics loss,score"
OURS = f"%%mlops run --no-autolog {FLAGS}\n{BODY}"
OURS_AUTOLOG = f"%%mlops run {FLAGS}\n{BODY}"
BASELINE = (
    "with mlflow.start_run():\n"
    + textwrap.indent(BODY, "    ")
    + '    mlflow.log_params({"alpha": alpha, "n_components": n_components})\n'
    + '    mlflow.log_metrics({"loss": loss, "score": score})\n'
)
_ISOLATED_ENV = (*ENVIRONMENT_VARIABLES, "IPYTHONDIR")


@dataclass
class NotebookProject:
    """The shell, store and notebook of one benchmark session."""

    shell: InteractiveShell
    root: Path
    tracking_uri: str
    cell_ids: dict[str, str]  # cell source -> nbformat id, sent with each execution
    git: bool

    def run(self, source: str) -> None:
        """Execute one cell as Jupyter would (stored in history, with its cell id)."""
        run_cell: Any = self.shell.run_cell  # untyped in IPython
        result = run_cell(source, store_history=True, cell_id=self.cell_ids[source])
        if not result.success:
            error = result.error_in_exec or result.error_before_exec
            raise RuntimeError(f"benchmark cell failed: {error!r}")

    def ours(self) -> None:
        self.run(OURS)

    def ours_autolog(self) -> None:
        self.run(OURS_AUTOLOG)

    def baseline(self) -> None:
        self.run(BASELINE)

    def verify(self) -> str:
        """Check that every run finished and that ours recorded everything; describe them."""
        client = MlflowClient(self.tracking_uri)
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            raise RuntimeError("the benchmark experiment was not created")
        runs = client.search_runs([experiment.experiment_id], max_results=10_000)
        unfinished = [r.info.run_id for r in runs if r.info.status != "FINISHED"]
        ours = [r for r in runs if "mlops.version" in r.data.tags]
        if unfinished or not ours or len(ours) == len(runs):
            raise RuntimeError(f"unexpected runs: {len(runs)} runs, unfinished {unfinished}")
        wanted = ["code/cell.py", "code/notebook.ipynb", "environment/requirements.txt"]
        for run in ours:
            checks = {
                "artifacts": _artifact_paths(client, run.info.run_id) == wanted,
                "params": set(run.data.params) == {"alpha", "n_components"},
                "metrics": set(run.data.metrics) == {"loss", "score"},
                "dataset input": run.inputs is not None and len(run.inputs.dataset_inputs) == 1,
                "cell id": "mlops.cell.id" in run.data.tags,
                "git commit": not self.git or "mlflow.source.git.commit" in run.data.tags,
            }
            failed = [name for name, ok in checks.items() if not ok]
            if failed:
                raise RuntimeError(f"run {run.info.run_id} lacks: {', '.join(failed)}")
        return (
            f"{len(runs)} runs, all FINISHED; each %%mlops run recorded 2 params, 2 metrics, "
            f"{len(ours[0].data.tags)} tags, 1 dataset input, artifacts {', '.join(wanted)}"
            f"{'; notebook committed in git' if self.git else '; git unavailable: no git state'}"
        )


def _artifact_paths(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    found: list[str] = []
    for entry in client.list_artifacts(run_id, path):
        found += _artifact_paths(client, run_id, entry.path) if entry.is_dir else [entry.path]
    return sorted(found)


@contextlib.contextmanager
def isolated_directory() -> Iterator[Path]:
    """A temporary working directory with the tracking variables unset and MLflow quiet."""
    saved_env = {name: os.environ.pop(name, None) for name in _ISOLATED_ENV}
    saved_cwd = Path.cwd()
    mlflow_logger = logging.getLogger("mlflow")
    saved_level = mlflow_logger.level
    with tempfile.TemporaryDirectory(prefix="jupyter-mlops-bench-") as tmp:
        root = Path(tmp).resolve()
        os.environ["IPYTHONDIR"] = str(root / "ipython")
        mlflow_logger.setLevel(logging.WARNING)
        os.chdir(root)
        try:
            yield root
        finally:
            os.chdir(saved_cwd)
            mlflow_logger.setLevel(saved_level)
            for name, value in saved_env.items():
                os.environ.pop(name, None)
                if value is not None:
                    os.environ[name] = value


@contextlib.contextmanager
def notebook_project() -> Iterator[NotebookProject]:
    """A temporary project: git repository, notebook, SQLite store, shell with the extension."""
    with isolated_directory() as root:
        shell: InteractiveShell | None = None
        try:
            cell_ids = _write_notebook(root / "analysis.ipynb")
            git = git_commit(root, "analysis.ipynb")
            config = Config()
            config.HistoryManager.enabled = False
            shell = InteractiveShell.instance(config=config)
            project = NotebookProject(shell, root, f"sqlite:///{root / 'mlflow.db'}", cell_ids, git)
            project.run(SETUP)
            shell.run_line_magic("load_ext", "jupyter_mlops")
            with contextlib.redirect_stdout(io.StringIO()):
                shell.run_line_magic(
                    "mlops",
                    f"init --tracking-uri {project.tracking_uri} --experiment {EXPERIMENT} "
                    f"--notebook {root / 'analysis.ipynb'}",
                )
            yield project
        finally:
            close_shell(shell)


def _write_notebook(path: Path) -> dict[str, str]:
    v4: Any = nbformat.v4  # untyped
    cells = [v4.new_code_cell(source) for source in (SETUP, OURS, OURS_AUTOLOG, BASELINE)]
    write: Any = nbformat.write
    write(v4.new_notebook(cells=cells), str(path))
    return {cell.source: cell.id for cell in cells}


def git_commit(root: Path, notebook: str) -> bool:
    """Commit the notebook to a new repository; False when git is missing or fails."""
    if shutil.which("git") is None:
        return False
    identity = ["-c", "user.name=benchmark", "-c", "user.email=benchmark@localhost"]
    commands = [
        ["git", "init", "-q"],
        ["git", "add", notebook],
        ["git", *identity, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "notebook"],
    ]
    for command in commands:
        if subprocess.run(command, cwd=root, capture_output=True, check=False).returncode != 0:
            return False
    return True


def close_shell(shell: InteractiveShell | None) -> None:
    """End leftover runs, unload the extension, drop the shell and reset MLflow's URI."""
    import mlflow

    import jupyter_mlops

    while mlflow.active_run() is not None:
        mlflow.end_run()
    if shell is not None:
        with contextlib.suppress(Exception):
            shell.run_line_magic("unload_ext", "jupyter_mlops")
        InteractiveShell.clear_instance()
    jupyter_mlops.reset()
    set_tracking_uri: Any = mlflow.set_tracking_uri  # None (back to the default) is untyped
    set_tracking_uri(None)
