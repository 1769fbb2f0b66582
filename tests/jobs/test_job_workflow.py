"""``jupyter-mlops job ci --github``: the workflow is valid against GitHub's schema, maps the
job's parameters to typed inputs, and its shell step passes inputs safely.

Workflows are checked against the schema vendored by check-jsonschema, offline; the shell
step is run for real with bash.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import nbformat
import pytest
import referencing
import referencing.exceptions
import yaml
from click.testing import CliRunner, Result

import jupyter_mlops
from jupyter_mlops.cli import main
from jupyter_mlops.core.jobs.workflow import MARKER

PARAMETERS = """\
n: int = 3
C: float = 0.5  # inverse regularisation strength
flag: bool = True
name: str = "x"
cols: list = ["a"]
when: datetime.date = datetime.date(2024, 1, 31)
alpha = np.pi
"""
WORKFLOW = Path(".github") / "workflows" / "train.yml"


def _notebook(path: Path, parameters: str = PARAMETERS) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import datetime\nimport numpy as np"),
        nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(n, C)"),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project (pyproject.toml, requirements.txt) with ``notebooks/train.ipynb``."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n', "utf-8")
    (root / "requirements.txt").write_text("scikit-learn\n", "utf-8")
    _notebook(root / "notebooks" / "train.ipynb")
    return root


def _ci(*args: str) -> Result:
    return CliRunner().invoke(main, ["job", "ci", *args], catch_exceptions=False)


def _load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text("utf-8"))
    assert isinstance(document, dict)
    return document


def _validate(document: dict[str, Any]) -> None:
    """Validate against GitHub's workflow schema; any remote reference fails the test."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendor / "github-workflows.json").read_text("utf-8"))

    def offline(uri: str) -> referencing.Resource[Any]:
        raise referencing.exceptions.NoSuchResource(ref=uri)

    validator = jsonschema.validators.validator_for(schema)
    registry: referencing.Registry[Any] = referencing.Registry(retrieve=offline)
    validator(schema, registry=registry).validate(document)
    # Draft 7 ignores keywords next to "$ref", and the schema puts workflow_dispatch's rules
    # there: check the inputs against their definition directly.
    dispatch = document["on"].get("workflow_dispatch") or {}
    assert set(dispatch) <= {"inputs"}
    definition = {
        **schema["definitions"]["workflowDispatchInput"],
        "definitions": schema["definitions"],
    }
    pattern = re.compile("^[_a-zA-Z][a-zA-Z0-9_-]*$")
    for name, spec in (dispatch.get("inputs") or {}).items():
        assert pattern.match(name), name
        validator(definition, registry=registry).validate(spec)


def _steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    steps = document["jobs"]["run"]["steps"]
    assert isinstance(steps, list)
    return steps


def _run_step(document: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in _steps(document) if "jupyter-mlops run" in s.get("run", ""))


def test_workflow_is_valid_and_maps_parameters_to_inputs(project: Path) -> None:
    # the installed console script, as a user runs it
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "jupyter-mlops"),
            *("job", "ci", "notebooks/train.ipynb", "--github", "--schedule", "0 3 * * 1"),
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    assert result.returncode == 0, result.stderr
    path = project / WORKFLOW
    assert f"wrote {path}" in result.stdout
    assert "7 input(s)" in result.stdout
    text = path.read_text("utf-8")
    assert text.startswith(MARKER)
    document = _load(path)
    _validate(document)

    assert document["name"] == "job train"
    assert document["on"]["schedule"] == [{"cron": "0 3 * * 1"}]
    inputs = document["on"]["workflow_dispatch"]["inputs"]
    assert {name: spec["type"] for name, spec in inputs.items()} == {
        "n": "number",
        "C": "number",
        "flag": "boolean",
        "name": "string",
        "cols": "string",
        "when": "string",
        "alpha": "string",
    }
    assert {name: spec.get("default") for name, spec in inputs.items()} == {
        "n": 3,
        "C": 0.5,
        "flag": True,
        "name": "x",
        "cols": '["a"]',
        "when": "2024-01-31",
        "alpha": None,  # computed by the notebook (np.pi): no default to show
    }
    assert all(spec["required"] is False for spec in inputs.values())
    assert inputs["C"]["description"] == "C (float): inverse regularisation strength"
    assert "JSON" in inputs["cols"]["description"]
    assert "YYYY-MM-DD" in inputs["when"]["description"]

    assert document["concurrency"]["group"] == "jupyter-mlops-job-train"
    job = document["jobs"]["run"]
    assert job["runs-on"] == "ubuntu-latest" and job["timeout-minutes"] == 60
    steps = _steps(document)
    assert steps[0]["uses"] == "actions/checkout@v4"
    assert steps[1] == {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}}
    install = steps[2]["run"]
    assert "python -m pip install -e .\n" in install
    assert "python -m pip install -r requirements.txt\n" in install
    for step in steps:  # inputs reach scripts through env only
        assert "${{" not in step.get("run", "")
    run = _run_step(document)
    assert run["env"]["MLFLOW_TRACKING_URI"] == "${{ secrets.MLFLOW_TRACKING_URI }}"
    assert run["env"]["JOB_PARAM_C"] == "${{ inputs.C }}"
    assert "jupyter-mlops run notebooks/train.ipynb --output build/jobs/train.ipynb" in run["run"]
    assert "--experiment" not in run["run"]
    upload = steps[-1]
    assert upload["uses"] == "actions/upload-artifact@v4"
    assert upload["if"] == "always()"
    assert upload["with"]["name"] == "train-output"
    assert upload["with"]["path"] == "build/jobs/train.ipynb"


def test_without_schedule_only_manual_runs_and_the_package_is_installed(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)  # a repository without pyproject.toml
    notebook = _notebook(tmp_path / "repo" / "job.ipynb", "seed = 1\n")

    result = _ci(str(notebook), "--github")

    assert result.exit_code == 0, result.output
    document = _load(tmp_path / "repo" / ".github" / "workflows" / "job.yml")
    _validate(document)
    assert list(document["on"]) == ["workflow_dispatch"]
    assert _steps(document)[2]["run"] == (
        f"python -m pip install 'jupyter-mlops=={jupyter_mlops.__version__}'\n"
    )
    assert "jupyter-mlops run job.ipynb " in _run_step(document)["run"]


def test_a_notebook_without_parameters_gets_a_valid_workflow(tmp_path: Path) -> None:
    notebook = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), notebook)

    assert _ci(str(notebook), "--github").exit_code == 0
    document = _load(tmp_path / ".github" / "workflows" / "plain.yml")
    _validate(document)
    assert document["on"]["workflow_dispatch"] in (None, {})


def test_experiment_of_the_contract_is_passed(project: Path) -> None:
    notebook = project / "notebooks" / "train.ipynb"
    init = CliRunner().invoke(
        main, ["job", "init", str(notebook), "--name", "credit risk", "--experiment", "credit"]
    )
    assert init.exit_code == 0, init.output

    result = _ci(str(notebook), "--github")

    assert result.exit_code == 0, result.output
    # a name with a space becomes a safe slug in file, artifact and group names
    document = _load(project / ".github" / "workflows" / "credit-risk.yml")
    _validate(document)
    assert "--experiment credit " in _run_step(document)["run"]
    assert _steps(document)[-1]["with"]["path"] == "build/jobs/credit-risk.ipynb"


def test_paths_are_relative_to_the_repository_root(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    sub = repo / "models" / "pd"
    sub.mkdir(parents=True)
    (sub / "pyproject.toml").write_text('[project]\nname = "pd"\nversion = "0"\n', "utf-8")
    notebook = _notebook(sub / "notebooks" / "train.ipynb", "seed = 1\n")

    assert _ci(str(notebook), "--github").exit_code == 0

    # GitHub reads workflows from the repository root, and runs steps there
    document = _load(repo / WORKFLOW)
    assert "python -m pip install -e ./models/pd\n" in _steps(document)[2]["run"]
    assert "jupyter-mlops run models/pd/notebooks/train.ipynb " in _run_step(document)["run"]


def test_output_option_writes_elsewhere(project: Path) -> None:
    target = project / "ci" / "nested" / "train-job.yml"
    target.parent.mkdir(parents=True)  # a missing folder is refused (tests/test_first_steps.py)

    result = _ci(str(project / "notebooks" / "train.ipynb"), "--github", "--output", str(target))

    assert result.exit_code == 0, result.output
    assert f"wrote {target}" in result.output
    _validate(_load(target))
    assert not (project / ".github").exists()


def test_regenerates_its_own_file_but_never_a_foreign_one(project: Path) -> None:
    notebook = str(project / "notebooks" / "train.ipynb")
    assert _ci(notebook, "--github").exit_code == 0
    path = project / WORKFLOW

    again = _ci(notebook, "--github", "--schedule", "*/30 6-18 * JAN,FEB mon-fri")

    assert again.exit_code == 0, again.output
    assert _load(path)["on"]["schedule"] == [{"cron": "*/30 6-18 * JAN,FEB mon-fri"}]

    foreign = "name: hand written\non: push\n"
    path.write_text(foreign, "utf-8")
    conflict = _ci(notebook, "--github")
    assert conflict.exit_code == 1
    assert "was not generated by jupyter-mlops" in conflict.output
    assert "--output" in conflict.output
    assert path.read_text("utf-8") == foreign


@pytest.mark.parametrize(
    "cron", ["0 3 * *", "0 3 * * 1 2", "@daily", "0 3 * * 1; rm -rf ~", "0 3 ? * 1", ""]
)
def test_a_bad_schedule_is_a_usage_error_and_writes_nothing(project: Path, cron: str) -> None:
    result = _ci(str(project / "notebooks" / "train.ipynb"), "--github", "--schedule", cron)

    assert result.exit_code == 2
    assert f"--schedule {cron!r} is not a cron expression" in result.output
    assert not (project / ".github").exists()


def test_a_missing_notebook_fails_and_writes_nothing(project: Path) -> None:
    result = _ci(str(project / "notebooks" / "missing.ipynb"), "--github")

    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert not (project / ".github").exists()


def test_github_is_required(project: Path) -> None:
    result = _ci(str(project / "notebooks" / "train.ipynb"))

    assert result.exit_code == 2
    assert "only --github is supported" in result.output
    assert not (project / ".github").exists()


def test_parameters_differing_only_in_case_are_refused(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "job.ipynb", "C = 1.0\nc = 2.0\n")

    result = _ci(str(notebook), "--github")

    assert result.exit_code == 2
    assert "case-insensitive" in result.output
    assert not (tmp_path / ".github").exists()


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_run_step_passes_only_set_inputs_as_text(project: Path, tmp_path: Path) -> None:
    assert _ci(str(project / "notebooks" / "train.ipynb"), "--github").exit_code == 0
    step = _run_step(_load(project / WORKFLOW))
    script = step["run"].replace("jupyter-mlops run", "printf '%s\\n'")
    assert script != step["run"]
    witness = tmp_path / "executed"
    env = {name: "" for name in step["env"]}  # a scheduled run: every input empty ...
    env.update(  # ... except these, as set in the Run workflow form
        JOB_PARAM_C="0.25",
        JOB_PARAM_flag="false",
        JOB_PARAM_name=f"two words $(touch {witness}) `touch {witness}`",
        JOB_PARAM_cols='["a", "b"]',
    )

    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "notebooks/train.ipynb",
        "--output",
        "build/jobs/train.ipynb",
        *("-p", "C", "0.25"),
        *("-p", "flag", "false"),
        *("-p", "name", f"two words $(touch {witness}) `touch {witness}`"),
        *("-p", "cols", '["a", "b"]'),
    ]
    assert not witness.exists()
