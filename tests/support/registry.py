"""Shared set-up for the model-registry tests: training data, notebooks, git and the CLI.

Nothing here mocks MLflow, IPython or nbformat: the helpers drive a real ``InteractiveShell``
against a real SQLite store, write real notebooks and run the real ``jupyter-mlops`` command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
import nbformat
import pytest
from click.testing import CliRunner, Result
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from mlflow import MlflowClient

import jupyter_mlops
from jupyter_mlops.cli import main
from jupyter_mlops.core.config import ENVIRONMENT_VARIABLES

#: A DataFrame with numeric, integer and string columns, and a Series label (no download).
DATA_CELL = """\
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
rng = np.random.default_rng(7)
n = 240
X_train = pd.DataFrame(
    {
        "income": rng.normal(50.0, 12.0, n),
        "age": rng.integers(18, 80, n),
        "region": rng.choice(["north", "south", "east"], n),
    }
)
y_train = pd.Series(
    ((X_train["income"] > 52) | (X_train["region"] == "north")).astype(int), name="default"
)
"""

REGISTER_LINE = (
    "%mlops register model --name credit-risk --alias champion "
    '--owner "Retail risk team" --purpose "retail credit scoring" --risk-tier 2'
)


def fit_cell(c: float = 0.5, variable: str = "model") -> str:
    """A ``%%mlops run`` cell fitting a DataFrame Pipeline into ``variable`` (C, acc)."""
    return f"""\
%%mlops run --no-autolog --params C --metrics acc
C = {c}
{variable} = Pipeline(
    [
        (
            "prep",
            ColumnTransformer(
                [
                    ("num", StandardScaler(), ["income", "age"]),
                    ("cat", OneHotEncoder(handle_unknown="ignore"), ["region"]),
                ]
            ),
        ),
        ("clf", LogisticRegression(C=C, max_iter=2000)),
    ]
).fit(X_train, y_train)
acc = float({variable}.score(X_train, y_train))"""


def run_ok(shell: InteractiveShell, source: str, cell_id: str | None = None) -> ExecutionResult:
    """Run one cell like JupyterLab does (stored in history, with its id); fail on an error."""
    result = shell.run_cell(source, store_history=True, cell_id=cell_id)
    assert result.success, f"cell failed: {result.error_before_exec or result.error_in_exec}"
    return result


def write_notebook(path: Path, sources: list[str]) -> list[str]:
    """Write a saved notebook holding ``sources`` as code cells; return the cells' ids."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, path)
    return [cell.id for cell in nb.cells]


def git_commit_all(repo: Path) -> str:
    """``git init`` (if needed), commit everything, return the commit."""
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", str(repo)]
    if not (repo / ".git").exists():
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "notebooks"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert len(head) == 40
    return head


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    """Invoke the ``jupyter-mlops`` command in-process (exit code, stdout and stderr apart)."""
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def aliases(client: MlflowClient, model: str) -> dict[str, str]:
    """Where each alias of ``model`` points now (version numbers as text)."""
    return {
        alias: str(v) for alias, v in (client.get_registered_model(model).aliases or {}).items()
    }


def copy_store(template: Path, folder: Path) -> str:
    """A fresh SQLite store in ``folder`` from the migrated empty template; its URI."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "mlflow.db"
    shutil.copyfile(template, database)
    return f"sqlite:///{database}"


@contextmanager
def module_shell(root: Path, tracking_uri: str, notebook: Path) -> Iterator[InteractiveShell]:
    """A real shell for a module-scoped set-up, isolated like conftest isolates each test."""
    previous = Path.cwd()
    with pytest.MonkeyPatch.context() as patch:
        for name in ENVIRONMENT_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        os.chdir(root)
        jupyter_mlops.reset()
        ip = InteractiveShell.instance()
        ip.reset(new_session=False)
        ip.run_line_magic("load_ext", "jupyter_mlops")
        try:
            ip.run_line_magic(
                "mlops",
                f"init --tracking-uri {tracking_uri} --experiment tests --notebook {notebook}",
            )
            yield ip
        finally:
            ip.run_line_magic("unload_ext", "jupyter_mlops")
            ip.reset(new_session=False)
            while mlflow.active_run() is not None:
                mlflow.end_run()
            jupyter_mlops.reset()
            mlflow.set_tracking_uri(None)
            os.chdir(previous)
