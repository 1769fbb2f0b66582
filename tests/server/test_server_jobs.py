"""Job routes through a real Jupyter server: the job contract (``jobs``) and background
executions in real kernels (``jobs/executions``), watched, cancelled and refused."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from mlflow import MlflowClient

pytestmark = pytest.mark.slow

_BODY = """\
import json, pathlib, time
pathlib.Path("seen.json").write_text(json.dumps({k: type(v).__name__ for k, v in
    dict(n=n, rate=rate, flag=flag, items=items, day=day).items()}))
time.sleep(nap)
if fail:
    raise ValueError("boom")
"""


@pytest.fixture
def job_notebook(jp_root_dir: Path, _migrated_store: Path) -> Path:
    """``job.ipynb`` in the root (a project with its own store), not yet a job."""
    (jp_root_dir / "pyproject.toml").write_text('[project]\nname = "p"\n')
    shutil.copyfile(_migrated_store, jp_root_dir / "mlflow.db")
    path = jp_root_dir / "job.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import datetime"), nbformat.v4.new_code_cell(_BODY)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


_PARAMS = [
    "n:int=1",
    "rate:float=0.5",
    "flag:bool=False",
    "items:list=[1]",
    "day:date=2024-01-31",
    "nap:float=0",
    "fail:bool=False",
]


async def _make_job(api) -> dict[str, Any]:
    status, job = await api(
        "POST", "jobs", body={"notebook": "job.ipynb", "parameters": _PARAMS, "model": "m"}
    )
    assert status == 200, job
    return job


async def _wait(
    api, execution_id: str, *, until: tuple[str, ...], seconds: float = 120
) -> dict[str, Any]:
    for _ in range(int(seconds * 4)):
        status, body = await api("GET", "jobs", "executions", execution_id)
        assert status == 200, body
        if body["status"] in until:
            return body
        await asyncio.sleep(0.25)
    raise AssertionError(f"execution still {body['status']}: {body['log_tail'][-5:]}")


async def test_make_a_job_then_read_it_back(api, job_notebook):
    status, before = await api("GET", "jobs", params={"notebook": "job.ipynb"})
    assert status == 200 and before["declared"] is False
    job = await _make_job(api)
    assert job["declared"] is True and job["model"] == "m" and job["changes"]
    types = {p["name"]: p["type"] for p in job["parameters"]}
    assert types == {
        "n": "int",
        "rate": "float",
        "flag": "bool",
        "items": "list",
        "day": "date",
        "nap": "float",
        "fail": "bool",
    }
    status, again = await api("GET", "jobs", params={"notebook": "job.ipynb"})
    assert again["parameters"] == job["parameters"] and again["changes"] == []
    stored = nbformat.read(job_notebook, as_version=4)
    assert stored.metadata["jupyter_mlops"]["job"]["name"] == job["name"]


async def test_a_bad_declaration_leaves_the_notebook_untouched(api, job_notebook):
    before = job_notebook.read_bytes()
    status, body = await api(
        "POST", "jobs", body={"notebook": "job.ipynb", "parameters": ["n:int=abc"]}
    )
    assert status == 400, body
    assert job_notebook.read_bytes() == before


async def test_typed_execution_runs_to_the_end_and_is_recorded(api, job_notebook, jp_root_dir):
    await _make_job(api)
    status, started = await api(
        "POST",
        "jobs",
        "executions",
        body={
            "notebook": "job.ipynb",
            "parameters": {"n": 3, "rate": 2, "flag": True, "items": [1, 2], "day": "2025-02-03"},
        },
    )
    assert status == 201, started
    assert started["status"] in ("STARTING", "RUNNING") and started["notebook"] == "job.ipynb"
    done = await _wait(api, started["id"], until=("FINISHED", "FAILED", "KILLED"))
    assert done["status"] == "FINISHED", done["log_tail"]
    assert done["outcome"] == "succeeded" and done["cells_done"] == done["cells_total"] >= 3
    assert any("cell" in line for line in done["log_tail"])
    assert json.loads((jp_root_dir / "seen.json").read_text()) == {
        "n": "int",
        "rate": "float",
        "flag": "bool",
        "items": "list",
        "day": "date",
    }
    assert done["parameters"]["day"] == "2025-02-03" and done["parameters"]["rate"] == 2.0
    assert (jp_root_dir / done["output"]).is_file()
    run = MlflowClient(f"sqlite:///{jp_root_dir / 'mlflow.db'}").get_run(done["run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["mlops.job.name"] == "job"
    status, listing = await api("GET", "jobs", "executions", params={"notebook": "job.ipynb"})
    assert [e["id"] for e in listing["executions"]] == [started["id"]]
    status, again = await api("DELETE", "jobs", "executions", started["id"])
    assert status == 409, again


async def test_cancel_kills_the_kernel_and_the_run(api, job_notebook, jp_root_dir):
    await _make_job(api)
    status, started = await api(
        "POST", "jobs", "executions", body={"notebook": "job.ipynb", "parameters": {"nap": 60}}
    )
    assert status == 201, started
    running = await _wait(api, started["id"], until=("RUNNING",), seconds=60)
    for _ in range(120):  # until the kernel is inside the sleeping cell
        _, running = await api("GET", "jobs", "executions", started["id"])
        if running["cells_done"] >= 2 and running["run_id"]:
            break
        await asyncio.sleep(0.25)
    status, cancelled = await api("DELETE", "jobs", "executions", started["id"])
    assert status == 200, cancelled
    done = await _wait(api, started["id"], until=("FINISHED", "FAILED", "KILLED"), seconds=30)
    assert done["status"] == "KILLED", done
    client = MlflowClient(f"sqlite:///{jp_root_dir / 'mlflow.db'}")
    assert client.get_run(done["run_id"]).info.status == "KILLED"
    experiments = [e.experiment_id for e in client.search_experiments()]
    assert not client.search_runs(experiments, filter_string="attributes.status = 'RUNNING'")


async def test_a_failing_cell_fails_the_execution(api, job_notebook):
    await _make_job(api)
    _, started = await api(
        "POST", "jobs", "executions", body={"notebook": "job.ipynb", "parameters": {"fail": True}}
    )
    done = await _wait(api, started["id"], until=("FINISHED", "FAILED", "KILLED"))
    assert done["status"] == "FAILED" and "boom" in done["message"], done


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"notebook": "job.ipynb", "parameters": {"rte": 1}}, 400, "did you mean 'rate'"),
        ({"notebook": "job.ipynb", "parameters": {"n": "many"}}, 400, "n"),
        ({"notebook": "job.ipynb", "parameters": [1]}, 400, "object"),
        ({"notebook": "job.ipynb", "timeout": "soon"}, 400, "timeout"),
        ({"notebook": "job.ipynb", "timeout": 0}, 400, "timeout"),
        ({"notebook": "../job.ipynb"}, 400, "root"),
        ({"notebook": "/etc/job.ipynb"}, 400, "root"),
        ({"notebook": "missing.ipynb"}, 404, "no file"),
    ],
)
async def test_bad_executions_start_nothing(api, job_notebook, jp_root_dir, body, status, words):
    await _make_job(api)
    code, reply = await api("POST", "jobs", "executions", body=body)
    assert code == status, reply
    assert words in reply["message"], reply
    _, listing = await api("GET", "jobs", "executions")
    assert listing["executions"] == []
    assert not (jp_root_dir / "build").exists()
    client = MlflowClient(f"sqlite:///{jp_root_dir / 'mlflow.db'}")
    assert not client.search_runs([e.experiment_id for e in client.search_experiments()])


async def test_unknown_execution_is_404(api):
    for method in ("GET", "DELETE"):
        status, body = await api(method, "jobs", "executions", "f" * 32)
        assert status == 404, body


async def test_too_many_running_jobs_are_refused(api, job_notebook, jp_serverapp):
    jp_serverapp.web_app.settings["jupyter_mlops"].max_running_jobs = 1
    await _make_job(api)
    _, first = await api(
        "POST", "jobs", "executions", body={"notebook": "job.ipynb", "parameters": {"nap": 30}}
    )
    status, second = await api("POST", "jobs", "executions", body={"notebook": "job.ipynb"})
    assert status == 409, second
    await api("DELETE", "jobs", "executions", first["id"])
    await _wait(api, first["id"], until=("FINISHED", "FAILED", "KILLED"), seconds=30)


async def test_stopping_the_server_cancels_running_jobs(
    api, job_notebook, jp_root_dir, jp_serverapp
):
    await _make_job(api)
    _, started = await api(
        "POST", "jobs", "executions", body={"notebook": "job.ipynb", "parameters": {"nap": 60}}
    )
    running = await _wait(api, started["id"], until=("RUNNING",), seconds=60)
    for _ in range(120):
        _, running = await api("GET", "jobs", "executions", started["id"])
        if running["cells_done"] >= 2 and running["run_id"]:
            break
        await asyncio.sleep(0.25)
    assert "cleanup_extensions" not in vars(jp_serverapp)  # not patched: stop_extension runs
    await jp_serverapp.cleanup_extensions()  # what the server does when it stops
    client = MlflowClient(f"sqlite:///{jp_root_dir / 'mlflow.db'}")
    assert client.get_run(running["run_id"]).info.status == "KILLED"
    _, stopped = await api("GET", "jobs", "executions", started["id"])
    assert stopped["status"] == "KILLED" and stopped["outcome"] == "interrupted", stopped


async def test_a_reassigned_parameter_is_refused_and_named(api, job_notebook, jp_root_dir):
    notebook = nbformat.read(job_notebook, as_version=4)
    notebook.cells.insert(
        1, nbformat.v4.new_code_cell("rate = 0.5\nn = 1", metadata={"tags": ["parameters"]})
    )
    notebook.cells.append(nbformat.v4.new_code_cell("print(n)\nrate = 0.05"))
    nbformat.write(notebook, job_notebook)
    cell = notebook.cells[-1].id
    named = (
        f"parameter 'rate' is reassigned after the parameters cell, in cell 4 (id {cell}) line 2"
    )

    status, job = await api("GET", "jobs", params={"notebook": "job.ipynb"})
    assert status == 200, job
    assert any(note.startswith(named) for note in job["notes"]), job["notes"]

    code, reply = await api(
        "POST", "jobs", "executions", body={"notebook": "job.ipynb", "parameters": {"rate": 1}}
    )
    assert code == 400, reply
    assert reply["message"].startswith(named), reply
    assert (
        "the panel does not run a job whose parameters a later cell reassigns" in reply["message"]
    )
    assert "--allow-reassigned" not in reply["message"]
    _, listing = await api("GET", "jobs", "executions")
    assert listing["executions"] == []
    assert not (jp_root_dir / "build").exists()
    client = MlflowClient(f"sqlite:///{jp_root_dir / 'mlflow.db'}")
    assert not client.search_runs([e.experiment_id for e in client.search_experiments()])


async def test_an_execution_that_cannot_start_ends_with_a_job_outcome(api, job_notebook):
    """Its run cannot be created (the project's store is not a database): the reply ends
    FAILED with the outcome ``error``, one of the job outcomes, and says why."""
    await _make_job(api)
    (job_notebook.parent / "mlflow.db").write_text("not a database", encoding="utf-8")
    status, started = await api("POST", "jobs", "executions", body={"notebook": "job.ipynb"})
    assert status == 201, started
    done = await _wait(api, started["id"], until=("FINISHED", "FAILED", "KILLED"), seconds=60)
    assert done["status"] == "FAILED", done
    assert done["outcome"] == "error", done
    assert done["run_id"] is None and "not a database" in done["message"], done
    assert any("could not run the job" in line for line in done["log_tail"]), done["log_tail"]
