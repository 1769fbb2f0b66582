"""Names that become paths: a job named ``../../../outside/escaped`` in its notebook's
metadata (hand-edited; ``job init`` would refuse it) keeps its executed notebook inside the
project (CLI: the name is reduced to a safe folder name) and inside the server's root
(server: the output path is confined). Real kernels, real ``jupyter-mlops`` processes, a real
Jupyter server."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from mlflow import MlflowClient

from jupyter_mlops.core.paths import safe_file_name

pytestmark = pytest.mark.slow

ESCAPING = "../../../outside/escaped"
BIN = Path(sys.executable).parent


def _job_notebook(path: Path) -> Path:
    """A one-cell notebook whose stored job contract names it ``ESCAPING``."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata["jupyter_mlops"] = {"job": {"name": ESCAPING, "parameters": []}}
    notebook.cells = [nbformat.v4.new_code_cell("answer = 42")]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_safe_file_name_keeps_one_plain_name():
    assert safe_file_name(ESCAPING) == "outside-escaped"
    assert safe_file_name("credit risk/v2") == "credit-risk-v2"
    assert safe_file_name("..") == "job" and safe_file_name("/", "experiment") == "experiment"
    assert safe_file_name("scoring.v1_daily") == "scoring.v1_daily"


def test_cli_output_of_an_escaping_job_name_stays_in_the_project(
    tmp_path: Path, _migrated_store: Path
):
    project = tmp_path / "a" / "b" / "project"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    shutil.copyfile(_migrated_store, project / "mlflow.db")
    notebook = _job_notebook(project / "job.ipynb")
    done = subprocess.run(
        [str(BIN / "jupyter-mlops"), "run", str(notebook)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outputs = list((project / "build" / "jobs" / "outside-escaped").glob("*.ipynb"))
    assert len(outputs) == 1
    assert nbformat.read(outputs[0], as_version=4).cells[0].source == "answer = 42"
    assert not (tmp_path / "a" / "outside").exists()  # where the name pointed
    assert [f for f in _files(tmp_path) if not f.startswith("a/b/project/")] == []
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    [run] = client.search_runs([client.get_experiment_by_name("job").experiment_id])
    assert run.data.tags["mlops.job.name"] == ESCAPING  # the name itself is kept as data


async def _wait(api: Any, execution_id: str, seconds: float = 180) -> dict[str, Any]:
    for _ in range(int(seconds * 4)):
        status, body = await api("GET", "jobs", "executions", execution_id)
        assert status == 200, body
        if body["status"] in ("FINISHED", "FAILED", "KILLED"):
            return body
        await asyncio.sleep(0.25)
    raise AssertionError(f"execution still {body['status']}: {body['log_tail'][-5:]}")


async def test_server_output_of_an_escaping_job_name_stays_in_the_root(
    api, jp_root_dir: Path, _migrated_store: Path
):
    (jp_root_dir / "pyproject.toml").write_text('[project]\nname = "p"\n')
    shutil.copyfile(_migrated_store, jp_root_dir / "mlflow.db")
    _job_notebook(jp_root_dir / "job.ipynb")
    outside = jp_root_dir.parent
    status, started = await api("POST", "jobs", "executions", body={"notebook": "job.ipynb"})
    assert status == 201, started
    assert started["output"].startswith("build/jobs/outside-escaped/"), started["output"]
    done = await _wait(api, started["id"])
    assert done["status"] == "FINISHED", done["log_tail"]
    assert (jp_root_dir / done["output"]).resolve().is_relative_to(jp_root_dir.resolve())
    assert (jp_root_dir / done["output"]).is_file()
    assert not (outside / "outside").exists()  # where the name pointed
    written = [f for f in _files(outside) if not (outside / f).is_relative_to(jp_root_dir)]
    assert [f for f in written if f.endswith(".ipynb")] == []
