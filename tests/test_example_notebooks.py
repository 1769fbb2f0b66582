"""Every example notebook runs headless under papermill, and records what the docs promise.

Each notebook is copied into a throw-away project (a folder with a minimal ``pyproject.toml``)
and executed twice, concurrently, in real kernels:

* with the papermill CLI in a subprocess: the kernel finds its notebook from the command line
  of its parent process (``mlops.notebook.found_by = papermill``);
* with ``papermill.execute_notebook`` in this process: the kernel's parent is pytest, so the
  notebook is found by searching the working directory for the running cell's source
  (``found_by = search``).

``%mlops init`` runs without flags in the notebooks, so each execution writes to the embedded
default store, ``<project>/mlflow.db``, which is read back here with a real ``MlflowClient``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
from mlflow import MlflowClient

from jupyter_mlops import fingerprint
from support.runs import artifact_text, only_run

EXAMPLES = Path(__file__).resolve().parents[1] / "example_notebooks"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
BIN = Path(sys.executable).parent
CREDIT_RISK = "credit_risk.ipynb"
TIMEOUT_S = 180

# Non-default values, so that the recorded params can only come from the injection.
PARAMETERS: dict[str, dict[str, Any]] = {CREDIT_RISK: {"C": 0.5, "n_samples": 2000}}

# Configuration that would send the kernels' runs elsewhere or name their notebook for them.
_LEAKY_ENV = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_RUN_ID",
    "JPY_SESSION_NAME",
    "JUPYTER_MLOPS_NOTEBOOK",
)
_HEX32 = re.compile(r"[0-9a-f]{32}")

# The papermill CLI (notebook found from the parent process) and its Python API (found by
# searching the working directory for the running cell's source).
HOWS = ["cli", "api"]

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Execution:
    """One papermill execution of a notebook copied into its own project."""

    how: str  # "cli" or "api"
    project: Path
    notebook: Path  # the copy that was executed
    output: Path

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.project / 'mlflow.db'}"

    def client(self) -> MlflowClient:
        return MlflowClient(self.tracking_uri)


def _project(root: Path, source: Path) -> Path:
    """A minimal project holding a copy of ``source``; returns the copy."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "example-project"\nversion = "0.0.0"\n', encoding="utf-8"
    )
    copy = root / "example_notebooks" / source.name
    copy.parent.mkdir()
    copy.write_bytes(source.read_bytes())
    return copy


def _execute(source: Path, base: Path) -> dict[str, Execution]:
    """Execute ``source`` with the papermill CLI and API at the same time; both must succeed."""
    parameters = PARAMETERS.get(source.name, {})
    cli_copy = _project(base / "cli", source)
    api_copy = _project(base / "api", source)
    cli = Execution("cli", base / "cli", cli_copy, cli_copy.with_name("out-cli.ipynb"))
    api = Execution("api", base / "api", api_copy, api_copy.with_name("out-api.ipynb"))

    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    command = [str(BIN / "papermill"), cli.notebook.name, cli.output.name, "--no-progress-bar"]
    for key, value in parameters.items():
        command += ["-p", key, str(value)]
    process = subprocess.Popen(
        command,
        cwd=cli.notebook.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with pytest.MonkeyPatch.context() as mp:
            for name in _LEAKY_ENV:
                mp.delenv(name, raising=False)
            mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
            papermill.execute_notebook(
                str(api.notebook),
                str(api.output),
                parameters=parameters,
                cwd=str(api.notebook.parent),
                kernel_name="python3",
                progress_bar=False,
            )
        log, _ = process.communicate(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, f"papermill CLI failed on {source.name}:\n{log}"
    return {"cli": cli, "api": api}


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], dict]]:
    """Executes a notebook (once per module) and returns its CLI and API executions."""
    done: dict[str, dict[str, Execution]] = {}

    def get(name: str) -> dict[str, Execution]:
        if name not in done:
            done[name] = _execute(EXAMPLES / name, tmp_path_factory.mktemp(Path(name).stem))
        return done[name]

    yield get


def _outputs_with_errors(path: Path) -> list[str]:
    notebook = nbformat.read(path, as_version=4)
    return [
        f"{output.get('ename')}: {output.get('evalue')}"
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


def _mlops_stderr(path: Path) -> list[str]:
    """Lines that jupyter-mlops printed on stderr (warnings, notices) while executing."""
    notebook = nbformat.read(path, as_version=4)
    return [
        line
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stderr"
        for line in output.get("text", "").splitlines()
        if line.startswith("jupyter-mlops:")
    ]


# -- every example notebook --------------------------------------------------------------------


def test_examples_exist() -> None:
    assert EXAMPLES / CREDIT_RISK in NOTEBOOKS


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.name)
def test_example_notebook_executes(executed: Callable[[str], dict], source: Path, how: str) -> None:
    execution: Execution = executed(source.name)[how]
    assert execution.output.is_file()
    assert _outputs_with_errors(execution.output) == []
    # no warnings and no "notebook not found" notice from jupyter-mlops
    assert _mlops_stderr(execution.output) == []
    client = execution.client()
    experiment = client.get_experiment_by_name(source.stem)
    assert experiment is not None, f"no experiment named after {source.name}"
    runs = client.search_runs([experiment.experiment_id])
    assert runs, f"{source.name} recorded no run"
    assert {r.info.status for r in runs} == {"FINISHED"}
    # papermill wrote its output beside the copy and left the copy itself unchanged
    assert nbformat.read(source, as_version=4) == nbformat.read(execution.notebook, as_version=4)


def test_source_notebooks_are_clean() -> None:
    for source in NOTEBOOKS:
        notebook = nbformat.read(source, as_version=4)
        nbformat.validate(notebook)
        assert (notebook.nbformat, notebook.nbformat_minor) >= (4, 5), source.name
        assert notebook.metadata["kernelspec"]["name"] == "python3", source.name
        for cell in notebook.cells:
            assert cell.get("id"), source.name
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, source.name


# -- credit_risk: what one %%mlops run records --------------------------------------------------


def _credit_risk_cells() -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """The ``%%mlops run`` cell and the data-generating cell of the credit_risk notebook."""
    notebook = nbformat.read(EXAMPLES / CREDIT_RISK, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    (run_cell,) = [c for c in code if c.source.startswith("%%mlops run")]
    (data_cell,) = [c for c in code if "default_rng" in c.source]
    return run_cell, data_cell


@pytest.fixture(scope="module", params=HOWS)
def credit_run(request: pytest.FixtureRequest, executed: Callable[[str], dict]) -> Any:
    """The execution and the one run credit_risk recorded in its default store."""
    execution: Execution = executed(CREDIT_RISK)[request.param]
    return execution, only_run(execution.client(), "credit_risk")


def test_default_store_is_in_the_project_root(credit_run: Any) -> None:
    execution, run = credit_run
    assert (execution.project / "mlflow.db").is_file()
    assert not (execution.notebook.parent / "mlflow.db").exists()
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "logreg-baseline"
    assert run.data.tags["mlops.project.root"] == str(execution.project.resolve())
    # artifacts live beside the database, not below the kernel's working directory
    assert not (execution.notebook.parent / "mlruns").exists()


def test_injected_parameters_are_recorded(credit_run: Any) -> None:
    _, run = credit_run
    params = run.data.params
    assert params["C"] == "0.5"
    assert params["n_samples"] == "2000"
    assert params["seed"] == "42"
    assert params["test_size"] == "0.25"


def test_metrics_are_recorded(credit_run: Any) -> None:
    _, run = credit_run
    metrics = run.data.metrics
    assert isinstance(metrics["auc"], float)
    assert isinstance(metrics["accuracy"], float)
    assert 0.6 < metrics["auc"] <= 1.0
    assert 0.5 < metrics["accuracy"] <= 1.0


def test_lineage_tags_name_the_notebook_and_cell(credit_run: Any) -> None:
    execution, run = credit_run
    tags = run.data.tags
    run_cell, _ = _credit_risk_cells()
    assert tags["mlflow.source.type"] == "NOTEBOOK"
    assert tags["mlflow.source.name"] == "example_notebooks/credit_risk.ipynb"
    assert tags["mlops.notebook.path"] == "example_notebooks/credit_risk.ipynb"
    assert tags["mlops.cell.id"] == run_cell.id
    expected = {"cli": "papermill", "api": "search"}[execution.how]
    assert tags["mlops.notebook.found_by"] == expected


def test_datasets_carry_fingerprints_and_contexts(credit_run: Any) -> None:
    _, run = credit_run
    tags = run.data.tags
    inputs = {i.dataset.name: i for i in run.inputs.dataset_inputs}
    assert {"X", "y", "X_train", "y_train", "X_test", "y_test"} <= set(inputs)
    contexts = {
        name: {t.key: t.value for t in i.tags}["mlflow.data.context"] for name, i in inputs.items()
    }
    for name, dataset_input in inputs.items():
        digest = dataset_input.dataset.digest
        assert _HEX32.fullmatch(digest), name
        assert tags[f"mlops.data.{name}.fingerprint"] == digest
    assert contexts["X_train"] == "training"
    assert contexts["y_train"] == "training"
    assert contexts["X_test"] == "evaluation"
    assert json.loads(inputs["X_train"].dataset.profile)["num_rows"] == 1500


def test_fingerprint_matches_the_data_regenerated_here(credit_run: Any) -> None:
    """The kernel's fingerprint of X equals ours for the same seeded data (another process)."""
    _, run = credit_run
    _, data_cell = _credit_risk_cells()
    namespace: dict[str, Any] = {"n_samples": 2000, "seed": 42, "C": 0.5, "test_size": 0.25}
    exec(compile(data_cell.source, "credit_risk-data", "exec"), namespace)
    digests = {i.dataset.name: i.dataset.digest for i in run.inputs.dataset_inputs}
    assert digests["X"] == fingerprint(namespace["X"])
    assert digests["y"] == fingerprint(namespace["y"])


def test_artifacts_hold_code_notebook_and_environment(credit_run: Any) -> None:
    execution, run = credit_run
    client = execution.client()
    run_id = run.info.run_id
    run_cell, _ = _credit_risk_cells()
    cell_py = artifact_text(client, run_id, "code/cell.py")
    assert cell_py.strip() == run_cell.source.strip()
    snapshot = nbformat.reads(artifact_text(client, run_id, "code/notebook.ipynb"), as_version=4)
    assert run_cell.id in [c.get("id") for c in snapshot.cells]
    requirements = artifact_text(client, run_id, "environment/requirements.txt")
    assert requirements.startswith("# python ")
    lowered = requirements.lower()
    assert "mlflow==" in lowered
    assert "scikit-learn==" in lowered
    assert "jupyter-mlops==" in lowered or "jupyter_mlops==" in lowered
