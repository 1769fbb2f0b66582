"""A notebook that already logs with plain MLflow (``tests/notebooks/diabetes_elasticnet.ipynb``:
an ElasticNet on scikit-learn's diabetes data, ``mlflow.log_param`` / ``log_metric`` /
``sklearn.log_model`` inside its ``%%mlops run`` cell, a bare ``mlflow.log_param`` in a plain
cell, then ``%mlops register --alias champion``), run in a real IPython shell and as a job
through ``jupyter-mlops run`` in real papermill kernels, read back from real SQLite stores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import nbformat
import pytest
from mlflow import MlflowClient
from mlflow.entities import Run

from jupyter_mlops.core.config import (
    ENVIRONMENT_VARIABLES,
    JOB_ID_ENV,
    JOB_NAME_ENV,
    JOB_PARENT_ENV,
)
from support.registry import aliases, cli, run_ok
from support.runs import runs_of

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "diabetes_elasticnet.ipynb"
MODEL = "diabetes-elasticnet"
BIN = Path(sys.executable).parent
TIMEOUT_S = 600
_LEAKY_ENV = (*ENVIRONMENT_VARIABLES, JOB_ID_ENV, JOB_NAME_ENV, JOB_PARENT_ENV, "MLFLOW_RUN_ID")


def _cells() -> list[nbformat.NotebookNode]:
    return [c for c in nbformat.read(str(NOTEBOOK), as_version=4).cells if c.cell_type == "code"]


def _runs_by_cell(runs: list[Run]) -> dict[str, Run]:
    return {r.data.tags["mlops.cell.id"]: r for r in runs if "mlops.cell.id" in r.data.tags}


def _user_runs(runs: list[Run]) -> dict[str, Run]:
    """Runs the notebook's own MLflow code started (not recorded by jupyter-mlops)."""
    found = {}
    for run in runs:
        if "mlops.version" in run.data.tags:
            continue
        key = "note" if "test_rows" in run.data.params else run.info.run_name
        found[key] = run
    return found


# -- in a real IPython shell ----------------------------------------------------------------


def test_register_in_a_notebook_using_mlflow_takes_the_recorded_training_run(
    shell, client, tracking_uri, tmp_path, capsys
):
    notebook = tmp_path / NOTEBOOK.name
    shutil.copyfile(NOTEBOOK, notebook)
    for cell in _cells():
        source = cell.source
        if cell.id == "init":  # as a user names the store and the notebook outside Jupyter
            source = f"%mlops init --tracking-uri {tracking_uri} --experiment tests "
            source += f"--notebook {notebook}"
        if cell.id == "register":
            capsys.readouterr()
        run_ok(shell, source, cell_id=cell.id)
        if cell.id == "register":
            registered = capsys.readouterr()

    runs = runs_of(client)
    trained = _runs_by_cell(runs)["train"]
    assert trained.info.status == "FINISHED"
    version = client.get_model_version(MODEL, "1")
    assert version.tags["mlops.source.run_id"] == trained.info.run_id
    assert version.run_id == trained.info.run_id
    assert version.tags["mlops.cell.id"] == "train"
    assert version.tags["mlops.notebook.path"] == NOTEBOOK.name
    assert "mlops.data.X_train.fingerprint" in version.tags
    assert aliases(client, MODEL) == {"champion": "1"}
    assert "an unknown notebook" not in registered.out
    assert "warning" not in registered.err
    # the runs the notebook's own MLflow code started are children of the recorded cell's run,
    # the bare log_param outside any recorded cell made a run of its own, now ended
    user = _user_runs(runs)
    assert user["residuals"].data.tags["mlflow.parentRunId"] == trained.info.run_id
    assert user["note"].info.status == "FINISHED"
    assert mlflow.active_run() is None

    result = cli("inventory", "--strict", "--tracking-uri", tracking_uri)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "0 missing required fields" in result.stdout


def test_a_model_no_recorded_run_produced_is_registered_with_one_warning_naming_the_fix(
    shell, client, capsys
):
    run_ok(
        shell,
        "import mlflow\nfrom sklearn.datasets import load_diabetes\n"
        "from sklearn.linear_model import ElasticNet\n"
        "X, y = load_diabetes(return_X_y=True, as_frame=True)\n"
        "model = ElasticNet(alpha=0.1).fit(X, y)\n"
        "mlflow.log_param('alpha', 0.1)",  # MLflow starts a run by itself, left active
    )
    (plain,) = runs_of(client)
    capsys.readouterr()

    run_ok(shell, "%mlops register model --name plain --data X")

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "no recorded run produced model (it was not fitted in a %%mlops run cell)" in lines[0]
    assert "run the cell that fits model with %%mlops run (or pass run_id=...)" in lines[0]
    version = client.get_model_version("plain", "1")
    source = client.get_run(version.tags["mlops.source.run_id"])
    assert source.info.run_id != plain.info.run_id  # never the run that happened to be active
    assert source.info.run_name == "register-model"
    assert source.info.status == "FINISHED"
    shell.run_cell("mlflow.end_run()")


# -- as jobs: jupyter-mlops run in papermill kernels -----------------------------------------


@dataclass
class Job:
    project: Path
    notebook: Path
    process: subprocess.Popen[str]
    stdout: str = ""
    stderr: str = ""

    @property
    def uri(self) -> str:
        return f"sqlite:///{self.project / 'mlflow.db'}"

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(self.uri)

    def wait(self) -> Job:
        if self.process.returncode is None:
            self.stdout, self.stderr = self.process.communicate(timeout=TIMEOUT_S)
        return self

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "jupyter-mlops"), *args, "--tracking-uri", self.uri],
            cwd=self.project,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=_environment(),
        )


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    return env


def _launch(root: Path, store: Path, cells: list[str] | None, drop: set[str]) -> Job:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n', "utf-8")
    shutil.copyfile(store, root / "mlflow.db")
    notebook = nbformat.read(str(NOTEBOOK), as_version=4)
    notebook.cells = [c for c in notebook.cells if c.get("id") not in drop]
    notebook.cells.extend(nbformat.v4.new_code_cell(source) for source in cells or [])
    path = root / NOTEBOOK.name
    nbformat.write(notebook, str(path))
    if cells is not None:  # a champion the failing job must leave alone
        client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
        client.create_registered_model(MODEL)
        client.create_model_version(MODEL, source=(root / "earlier").as_uri())
        client.set_registered_model_alias(MODEL, "champion", "1")
    process = subprocess.Popen(
        [str(BIN / "jupyter-mlops"), "run", path.name, "-p", "alpha", "0.1"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**_environment(), "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}"},
    )
    return Job(root, path, process)


@pytest.fixture(scope="module")
def jobs(
    tmp_path_factory: pytest.TempPathFactory, _migrated_store: Path
) -> Iterator[dict[str, Job]]:
    """Both jobs at once: the notebook as written (without its final ``mlflow.end_run()``, so
    the run MLflow started by itself is still open when the job ends), and one whose last cell
    raises after the register cell moved @champion."""
    root = tmp_path_factory.mktemp("mlflow-notebooks")
    started = {
        "ok": _launch(root / "ok", _migrated_store, None, {"close"}),
        "failed": _launch(
            root / "failed",
            _migrated_store,
            [
                f"%mlops lineage {MODEL}@champion",  # the job's notebook sees the alias it holds
                'raise RuntimeError("evaluation on the clinic data failed")',
            ],
            set(),
        ),
    }
    try:
        yield started
    finally:
        for job in started.values():
            if job.process.poll() is None:
                job.process.kill()
                job.process.communicate()


def _all_runs(client: MlflowClient) -> list[Run]:
    ids = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(ids, order_by=["attributes.start_time DESC"]))


def _job_run(client: MlflowClient) -> Run:
    (run,) = [r for r in _all_runs(client) if "mlops.job.parameters" in r.data.tags]
    return run


@pytest.mark.slow
def test_a_job_of_the_notebook_registers_from_its_recorded_cell_and_links_user_runs(jobs):
    job = jobs["ok"].wait()

    assert job.process.returncode == 0, job.stdout + job.stderr
    client = job.client
    parent = _job_run(client)
    assert parent.info.status == "FINISHED"
    runs = _all_runs(client)
    trained = _runs_by_cell(runs)["train"]
    assert trained.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert trained.data.params["alpha"] == "0.1"
    version = client.get_model_version(MODEL, "1")
    assert version.tags["mlops.source.run_id"] == trained.info.run_id
    assert version.tags["mlops.cell.id"] == "train"
    assert version.tags["mlops.job.run_id"] == parent.info.run_id
    assert version.tags["mlops.job.outcome"] == "succeeded"
    assert aliases(client, MODEL) == {"champion": "1"}  # applied when the job succeeded
    user = _user_runs(runs)
    assert user["residuals"].data.tags["mlflow.parentRunId"] == trained.info.run_id
    note = user["note"]
    assert note.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert note.data.tags["mlops.job.id"] == parent.data.tags["mlops.job.id"]
    assert all(r.info.status not in ("RUNNING", "SCHEDULED") for r in runs)


@pytest.mark.slow
def test_a_job_that_fails_after_registering_moves_no_alias_and_says_so(jobs):
    job = jobs["failed"].wait()

    assert job.process.returncode == 1, job.stdout + job.stderr
    client = job.client
    parent = _job_run(client)
    assert parent.info.status == "FAILED"
    assert aliases(client, MODEL) == {"champion": "1"}  # the earlier version stays champion
    version = client.get_model_version(MODEL, "2")
    assert version.tags["mlops.job.run_id"] == parent.info.run_id
    assert version.tags["mlops.job.outcome"] == "cell_failed"
    (held,) = [line for line in job.stdout.splitlines() if "NOT applied" in line]
    assert f"{MODEL}@champion -> version 2" in held
    assert json.loads(parent.data.tags["mlops.job.held_aliases"]) == [
        {"model": MODEL, "alias": "champion", "version": "2", "applied": False}
    ]

    lineage = job.cli("lineage", f"{MODEL}/2")
    assert lineage.returncode == 0, lineage.stderr
    assert f"run {parent.info.run_id[:12]}: outcome: cell failed" in lineage.stdout
    graph = json.loads(job.cli("lineage", f"{MODEL}/2", "--json").stdout)
    (node,) = [n for n in graph["nodes"] if n["kind"] == "job"]
    assert node["attributes"]["run_id"] == parent.info.run_id
    assert node["attributes"]["outcome"] == "cell_failed"

    executed = nbformat.read(str(next((job.project / "build").rglob("*.ipynb"))), as_version=4)
    shown = [o.get("text", "") for c in executed.cells for o in c.get("outputs", [])]
    shown += [
        o.get("data", {}).get("text/plain", "")
        for c in executed.cells
        for o in c.get("outputs", [])
    ]
    assert any(f"Lineage of {MODEL} version 2" in text for text in shown)

    inventory = job.cli("inventory")
    assert f"flagged: {MODEL} version 2 was registered by a job that did not succeed" in (
        inventory.stdout
    )


def test_a_plain_start_run_in_a_recorded_cell_fails_with_a_hint_and_leaves_nothing_open(
    shell, client, capsys
):
    result = shell.run_cell(
        "%%mlops run --name plain-start --no-autolog\n"
        "import mlflow\n"
        "with mlflow.start_run():\n"
        "    mlflow.log_param('alpha', 0.1)",
        store_history=True,
    )

    assert not result.success  # MLflow refuses a second top-level run: the cell fails
    (hint,) = [w for w in capsys.readouterr().err.splitlines() if "already MLflow's" in w]
    assert "open a run of your own as its child with mlflow.start_run(nested=True)" in hint
    (run,) = runs_of(client)
    assert run.info.status == "FAILED"
    assert mlflow.active_run() is None


@pytest.mark.slow
def test_a_parameter_the_training_cell_reassigns_is_refused_then_recorded_as_used(
    tmp_path: Path, _migrated_store: Path
):
    """Outside notebooks tune a parameter by hand in the training cell after the parameters
    cell: a job must not record the value it passed when the model used another one."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n', "utf-8")
    shutil.copyfile(_migrated_store, root / "mlflow.db")
    notebook = nbformat.read(str(NOTEBOOK), as_version=4)
    (train,) = [c for c in notebook.cells if c.get("id") == "train"]
    head, _, body = train.source.partition("\n")
    train.source = f"{head}\nl1_ratio = 0.5  # tuned by hand\n{body}"
    notebook.cells = [c for c in notebook.cells if c.get("id") != "close"]
    path = root / NOTEBOOK.name
    nbformat.write(notebook, str(path))
    env = {**_environment(), "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}"}

    def jupyter_mlops(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "jupyter-mlops"), *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
            env=env,
        )

    shown = jupyter_mlops("job", "show", path.name)
    assert shown.returncode == 0, shown.stderr
    assert "l1_ratio" in shown.stdout + shown.stderr and "train" in shown.stdout + shown.stderr

    refused = jupyter_mlops("run", path.name, "-p", "l1_ratio", "0.9")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "l1_ratio" in refused.stderr and "--allow-reassigned" in refused.stderr
    assert not (root / "build").exists()  # nothing started, no output notebook
    assert _all_runs(MlflowClient(env["MLFLOW_TRACKING_URI"])) == []

    ran = jupyter_mlops("run", path.name, "-p", "l1_ratio", "0.9", "--allow-reassigned")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    trained = _runs_by_cell(_all_runs(client))["train"]
    assert trained.data.params["l1_ratio"] == "0.5"  # what the model was trained with
    assert _job_run(client).data.params["l1_ratio"] == "0.9"  # what was asked for
