"""Jobs started together: each gets its own executed notebook and logs that one.

Real ``jupyter-mlops run`` processes, real kernels, a real SQLite store.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from mlflow import MlflowClient
from nbformat import v4

from jupyter_mlops.core.config import ENVIRONMENT_VARIABLES
from jupyter_mlops.core.jobs.execution import executed_by
from support.runs import artifact_text

BIN = Path(sys.executable).parent


def _project(tmp_path: Path, store: Path | None) -> Path:
    """A project with the notebook ``together.ipynb``, with a copy of ``store`` or no store."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n', "utf-8")
    if store is not None:
        shutil.copyfile(store, project / "mlflow.db")
    notebook = v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.cells.append(v4.new_code_cell("n: int = 0", metadata={"tags": ["parameters"]}))
    notebook.cells.append(v4.new_code_cell("print('n is', n)"))
    nbformat.write(notebook, str(project / "together.ipynb"))
    return project.resolve()


@pytest.mark.slow
def test_jobs_started_together_on_a_new_store_keep_their_own_output(tmp_path: Path) -> None:
    project = _project(tmp_path, None)  # the four jobs also create the store together
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    started = time.monotonic()
    jobs = [
        subprocess.Popen(
            [str(BIN / "jupyter-mlops"), "run", "together.ipynb", "-p", "n", str(n)],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2, 3, 4)
    ]
    ended = [job.communicate(timeout=600) for job in jobs]
    assert [job.returncode for job in jobs] == [0] * 4, [err for _, err in ended]

    outputs = sorted((project / "build" / "jobs" / "together").glob("*.ipynb"))
    assert len(outputs) == 4, outputs  # one file per execution, none overwritten
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("together")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], "tags.`mlops.job.name` = 'together'")
    assert len(runs) == 4
    assert {r.info.status for r in runs} == {"FINISHED"}
    seen = set()
    for run in runs:
        job_id = run.data.tags["mlops.job.id"]
        output = Path(run.data.tags["mlops.job.output"])
        assert job_id in output.name and output in outputs
        assert executed_by(output) == job_id
        logged = json.loads(artifact_text(client, run.info.run_id, "job/output.ipynb"))
        assert logged["metadata"]["jupyter_mlops"]["execution_id"] == job_id
        printed = "".join(
            "".join(o.get("text", "")) for c in logged["cells"] for o in c.get("outputs", [])
        )
        assert f"n is {run.data.params['n']}" in printed  # the notebook this job executed
        seen.add(run.data.params["n"])
    assert seen == {"1", "2", "3", "4"}
    print(
        f"4 jobs on a new store: 4 outputs, 4 runs FINISHED in {time.monotonic() - started:.0f} s"
    )


def _leftovers(folder: Path, pid: int) -> list[str]:
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.name.startswith((f"jupyter-mlops-job-{pid}-", f"jupyter-mlops-kernel-{pid}-"))
    )


@pytest.mark.slow
def test_folders_of_a_killed_run_are_removed_by_the_next_run(
    tmp_path: Path, _migrated_store: Path, request: pytest.FixtureRequest
) -> None:
    project = _project(tmp_path, _migrated_store)
    notebook = nbformat.read(str(project / "together.ipynb"), as_version=4)
    notebook.cells.append(
        v4.new_code_cell(
            "import os, pathlib, time\n"
            "pathlib.Path('kernel.pid.tmp').write_text(str(os.getpid()))\n"
            "os.replace('kernel.pid.tmp', 'kernel.pid')\n"
            "time.sleep(600)"
        )
    )
    nbformat.write(notebook, str(project / "sleeps.ipynb"))
    # A short folder: kernel IPC socket paths must stay under the 107 characters Unix allows.
    temporary = Path(tempfile.mkdtemp(prefix="jm-"))
    request.addfinalizer(lambda: shutil.rmtree(temporary, ignore_errors=True))
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT_VARIABLES}
    env.update(PYTHONPATH=os.pathsep.join(sys.path), TMPDIR=str(temporary))
    live = temporary / f"jupyter-mlops-job-{os.getpid()}-alive"  # a live owner: kept
    live.mkdir()
    killed = subprocess.Popen(
        [str(BIN / "jupyter-mlops"), "run", "sleeps.ipynb"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kernel_pid = project / "kernel.pid"
    try:
        deadline = time.monotonic() + 180
        while not kernel_pid.exists():
            assert killed.poll() is None and time.monotonic() < deadline, "the job did not start"
            time.sleep(0.1)
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
    finally:
        if killed.poll() is None:
            killed.kill()
        if kernel_pid.exists():  # the orphaned kernel
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(kernel_pid.read_text()), signal.SIGKILL)
    left = _leftovers(temporary, killed.pid)
    assert {name.split("-")[2] for name in left} == {"job", "kernel"}, left

    again = subprocess.run(
        [str(BIN / "jupyter-mlops"), "run", "together.ipynb"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert again.returncode == 0, again.stderr
    assert _leftovers(temporary, killed.pid) == []
    assert live.is_dir()
    assert not [p for p in temporary.iterdir() if p.name.startswith("jupyter-mlops-") and p != live]
