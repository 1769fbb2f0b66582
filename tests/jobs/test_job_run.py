"""``jupyter-mlops run``: a notebook executed as a job in a real kernel, read back from a real
SQLite MLflow store.

Kernels are expensive, so the module fixture ``jobs`` queues every job as a subprocess of the
installed console script (or papermill's), a few at a time, each in its own throw-away
project with its own copy of an empty, migrated store; each test then reads one job. Bad
inputs are checked in process: they are refused before any kernel could start. Only the
tests that start kernels or subprocesses are ``slow``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import mlflow
import nbformat
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient
from nbformat import v4

from jupyter_mlops.cli import main
from jupyter_mlops.core.config import (
    ENVIRONMENT_VARIABLES,
    JOB_ID_ENV,
    JOB_NAME_ENV,
    JOB_PARENT_ENV,
)
from support.runs import artifact_text

BIN = Path(sys.executable).parent
EXAMPLE = Path(__file__).resolve().parents[2] / "example_notebooks" / "credit_risk.ipynb"
TIMEOUT_S = 240  # for one job, from its start; a healthy one takes 5-40 s
QUEUE_S = 900  # for a job to get its turn
WIDTH = 4  # jobs running at once
JOB_TIMEOUT_S = 20  # --timeout of the job that sleeps

# Configuration of this process that must not reach the jobs.
_LEAKY_ENV = (*ENVIRONMENT_VARIABLES, JOB_ID_ENV, JOB_NAME_ENV, JOB_PARENT_ENV)

TYPED_PARAMETERS = """\
n: int = 1
rate: float = 0.5
flag: bool = False
name: str = "a"
cols: list = ["x"]
opts: dict = {}
"""
# Every value the kernel holds, with its type and what the job told it through the environment.
REPORT_TYPES = """\
import json, os
assert isinstance(n, int) and isinstance(rate, float) and isinstance(flag, bool)
assert isinstance(name, str) and isinstance(cols, list) and isinstance(opts, dict)
values = {"n": n, "rate": rate, "flag": flag, "name": name, "cols": cols, "opts": opts}
environment = {
    k: os.environ.get(k)
    for k in ("JUPYTER_MLOPS_JOB_ID", "JUPYTER_MLOPS_JOB_NAME", "MLFLOW_TRACKING_URI",
              "MLFLOW_EXPERIMENT_NAME", "JUPYTER_MLOPS_NOTEBOOK")
}
with open("types.json", "w") as stream:
    json.dump({"values": values, "types": {k: type(v).__name__ for k, v in values.items()},
               "environment": environment, "cwd": os.getcwd()}, stream)
"""
INIT = "%load_ext jupyter_mlops\n%mlops init"
# Writes the kernel's pid (atomically: the test polls for the file), then blocks.
SLOW_RUN = """\
%%mlops run --name slow --no-autolog
import os, pathlib, time
pathlib.Path("kernel.pid.tmp").write_text(str(os.getpid()))
os.replace("kernel.pid.tmp", "kernel.pid")
time.sleep(600)
"""


# -- projects, notebooks and processes ------------------------------------------------------


def _project(root: Path, store: Path) -> Path:
    """A project folder (pyproject.toml) with a copy of an empty, migrated ``mlflow.db``."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n', "utf-8")
    shutil.copyfile(store, root / "mlflow.db")
    return root.resolve()


def _notebook(path: Path, parameters: str | None, *cells: str) -> Path:
    """A notebook: a cell tagged ``parameters`` (when given), then code cells."""
    notebook = v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if parameters is not None:
        notebook.cells.append(v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    notebook.cells.extend(v4.new_code_cell(source) for source in cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path


def _uri(project: Path) -> str:
    return f"sqlite:///{project / 'mlflow.db'}"


class Launched:
    """A command to run in a project (when its :class:`Batch` has a free slot): its exit
    code, output and wall time once ended."""

    def __init__(
        self, project: Path, *command: str, program: str = "jupyter-mlops", cwd: Path | None = None
    ) -> None:
        self.project = project
        self.cwd = cwd or project
        self.command = [str(BIN / program), *command]
        self.process: subprocess.Popen[str] | None = None
        self.stdout = self.stderr = ""
        self.started = self.seconds = 0.0
        self.launched = threading.Event()
        self.done = threading.Event()
        self.kernel_pid: int | None = None  # written by a SLOW_RUN cell once it runs
        self._signal: tuple[int, bool] | None = None

    def signal_when_started(self, signum: int, *, group: bool = False) -> Launched:
        """Send ``signum`` as soon as the notebook's SLOW_RUN cell runs; to the process
        group (as a terminal's Ctrl-C does) when ``group``."""
        self._signal = (signum, group)
        return self

    def _watch(self) -> None:
        assert self.process is not None and self._signal is not None
        marker = self.cwd / "kernel.pid"
        while not self.done.wait(0.2):
            if marker.is_file():
                self.kernel_pid = int(marker.read_text("utf-8"))
                signum, group = self._signal
                if group:
                    os.killpg(self.process.pid, signum)
                else:
                    self.process.send_signal(signum)
                return

    def run(self, release: Callable[[], None]) -> None:
        """Start the command and wait for it (on a thread of the batch)."""
        env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
        env.update(MLFLOW_DISABLE_TELEMETRY="true", MLFLOW_TRACKING_URI=_uri(self.project))
        if "--output" in self.command:  # run --output writes only into a folder that exists
            output = self.cwd / self.command[self.command.index("--output") + 1]
            output.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.started = time.monotonic()
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,  # a signal for it never reaches pytest
            )
            self.launched.set()
            if self._signal is not None:
                threading.Thread(target=self._watch, daemon=True).start()
            self.stdout, self.stderr = self.process.communicate()
            self.seconds = time.monotonic() - self.started
        finally:
            self.launched.set()
            self.done.set()
            release()

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    def result(self) -> Launched:
        """Wait for the end (stopping it after TIMEOUT_S)."""
        assert self.launched.wait(QUEUE_S), f"{self.command} was never started"
        if not self.done.wait(max(0.0, self.started + TIMEOUT_S - time.monotonic())):
            self.stop()
            pytest.fail(f"{self.command} did not end in {TIMEOUT_S}s:\n{self.stderr}")
        return self

    def stop(self) -> None:
        """End it if it still runs: SIGTERM (it stops its kernel), then SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        if not self.done.wait(30):
            self.process.kill()
            self.done.wait(30)

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(_uri(self.project))

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("jupyter-mlops:")]


class Batch(dict[str, Launched]):
    """Jobs started in the order added, at most ``WIDTH`` at a time (kernel start-ups are
    CPU-bound: more would only slow each other down)."""

    def __init__(self) -> None:
        super().__init__()
        self._slots = threading.Semaphore(WIDTH)
        self._closed = False

    def start(self) -> Batch:
        threading.Thread(target=self._dispatch, daemon=True).start()
        return self

    def _dispatch(self) -> None:
        for job in list(self.values()):
            self._slots.acquire()
            if self._closed:  # the module is done: never start the rest
                self._slots.release()
                job.launched.set()
                job.done.set()
                continue
            threading.Thread(target=job.run, args=(self._slots.release,), daemon=True).start()

    def close(self) -> None:
        self._closed = True
        for job in self.values():
            job.stop()


def _all_runs(client: MlflowClient) -> list[mlflow.entities.Run]:
    experiments = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(experiments, order_by=["attributes.start_time ASC"]))


def _job_run(client: MlflowClient) -> mlflow.entities.Run:
    """The one job run of a store (the run carrying the job's parameters)."""
    found = [r for r in _all_runs(client) if "mlops.job.parameters" in r.data.tags]
    assert len(found) == 1, f"expected one job run, found {len(found)}"
    return found[0]


def _children(client: MlflowClient, job: mlflow.entities.Run) -> dict[str, mlflow.entities.Run]:
    return {r.info.run_name: r for r in _all_runs(client) if r.info.run_id != job.info.run_id}


def _assert_nothing_running(client: MlflowClient) -> None:
    running = [(r.info.run_name, r.info.status) for r in _all_runs(client)]
    assert [r for r in running if r[1] in ("RUNNING", "SCHEDULED")] == [], running


def _assert_output_logged(client: MlflowClient, run_id: str, output: Path) -> None:
    assert output.is_file()
    logged = nbformat.reads(artifact_text(client, run_id, "job/output.ipynb"), as_version=4)
    written = nbformat.read(str(output), as_version=4)
    assert [c.source for c in logged.cells] == [c.source for c in written.cells]


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still exists (a zombie no one reaped counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


# -- the jobs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory, _migrated_store: Path) -> Iterator[Batch]:
    """Queues every job of this module; each test waits for the one it reads."""
    base = tmp_path_factory.mktemp("jobs")
    started = Batch()

    # a date parameter
    dated = _project(base / "dated", _migrated_store)
    _notebook(
        dated / "dated.ipynb",
        "day: datetime.date = datetime.date(2024, 1, 1)",
        "import json\nassert isinstance(day, datetime.date)\n"
        "json.dump({'day': day.isoformat()}, open('day.json', 'w'))",
    )
    notebook = nbformat.read(str(dated / "dated.ipynb"), as_version=4)
    notebook.cells.insert(0, v4.new_code_cell("import datetime"))
    nbformat.write(notebook, str(dated / "dated.ipynb"))
    started["dated"] = Launched(
        dated, "run", "dated.ipynb", "-p", "day", "2025-02-03", "--output", "out/dated.ipynb"
    )

    # run from the project root, the kernel in another folder (as `job ci` workflows do)
    elsewhere = _project(base / "elsewhere", _migrated_store)
    _notebook(
        elsewhere / "notebooks" / "where.ipynb",
        "n = 1",
        "import json, os\njson.dump(os.getcwd(), open('where.json', 'w'))",
    )
    (elsewhere / "work").mkdir()
    started["elsewhere"] = Launched(
        elsewhere, "run", "notebooks/where.ipynb", "--cwd", "work", "--output", "out/where.ipynb"
    )

    # typed parameters from -p and a YAML file, run from the notebook's folder
    typed = _project(base / "typed", _migrated_store)
    folder = _notebook(typed / "notebooks" / "typed.ipynb", TYPED_PARAMETERS, REPORT_TYPES).parent
    (folder / "params.yaml").write_text("name: zz\nopts: {k: 1}\nrate: 9\n", "utf-8")
    started["typed"] = Launched(
        typed,
        *("run", "typed.ipynb", "-f", "params.yaml"),
        *("-p", "n", "3", "-p", "rate", "2", "-p", "flag", "true", "-p", "cols", '["a","b"]'),
        *("--output", "out/typed.ipynb"),
        cwd=folder,
    )

    # two captured runs, then a failing cell and one that must not run
    family = _project(base / "family", _migrated_store)
    _notebook(
        family / "family.ipynb",
        "n = 1",
        INIT,
        "%%mlops run --name a --no-autolog\nx = n * 2",
        "%%mlops run --name b --no-autolog\ny = n * 3",
        'raise ValueError("boom")',
        "print('never')",
    )
    started["family"] = Launched(
        family,
        *("run", "family.ipynb", "-p", "n", "4", "--experiment", "jobs"),
        *("--output", "out/family.ipynb"),
    )

    # the credit-risk example made a job that registers its model; default output path
    credit = _project(base / "credit", _migrated_store)
    copy = credit / "example_notebooks" / EXAMPLE.name
    copy.parent.mkdir()
    copy.write_bytes(EXAMPLE.read_bytes())
    init = CliRunner().invoke(main, ["job", "init", str(copy), "--model", "credit-risk"])
    assert init.exit_code == 0, init.output
    started["credit"] = Launched(
        credit, "run", "example_notebooks/credit_risk.ipynb", "-p", "C", "0.3", "-p",
        "n_samples", "2000",
    )  # fmt: skip

    # stopped by SIGTERM / Ctrl-C once their captured cell runs
    for name, signum in (("sigterm", signal.SIGTERM), ("sigint", signal.SIGINT)):
        project = _project(base / name, _migrated_store)
        _notebook(project / "slow.ipynb", "n = 1", INIT, SLOW_RUN)
        started[name] = Launched(
            project, "run", "slow.ipynb", "--output", "out/slow.ipynb"
        ).signal_when_started(signum, group=signum == signal.SIGINT)

    # stopped by --timeout in a cell that would sleep for ten minutes; default output path
    sleepy = _project(base / "sleepy", _migrated_store)
    _notebook(
        sleepy / "sleepy.ipynb",
        "n = 1",
        "import pathlib, time\npathlib.Path('sleeping').touch()\ntime.sleep(600)",
    )
    started["timeout"] = Launched(sleepy, "run", "sleepy.ipynb", "--timeout", str(JOB_TIMEOUT_S))

    # the same captured runs under plain papermill, no job
    plain = _project(base / "plain", _migrated_store)
    _notebook(
        plain / "plain.ipynb",
        "n = 1",
        INIT,
        "%%mlops run --name a --no-autolog\nx = n * 2",
        "%%mlops run --name b --no-autolog\ny = n * 3",
    )
    started["papermill"] = Launched(
        plain,
        *("plain.ipynb", "out.ipynb", "-p", "n", "5", "--no-progress-bar"),
        program="papermill",
    )

    # parameters the notebook rebinds: an earlier cell and the captured cell itself
    rebinding = _project(base / "rebinding", _migrated_store)
    _notebook(
        rebinding / "rebinding.ipynb",
        "alpha = 0.1\nbeta = 1\ngamma = 3",
        INIT,
        "alpha = 0.05  # an earlier cell sets it again",
        "%%mlops run --name fit --no-autolog\nbeta = 7\nused = alpha * beta * gamma",
    )
    started["rebinding"] = Launched(
        rebinding,
        *("run", "rebinding.ipynb", "-p", "alpha", "0.5", "-p", "beta", "2", "-p", "gamma", "4"),
        *("--allow-reassigned", "--output", "out/rebinding.ipynb"),
    )

    # a kernel that dies
    dying = _project(base / "dying", _migrated_store)
    _notebook(dying / "dying.ipynb", "n = 1", "import os\nos._exit(1)", "print('never')")
    started["died"] = Launched(dying, "run", "dying.ipynb", "--output", "out/dying.ipynb")

    try:
        yield started.start()
    finally:
        started.close()


@pytest.mark.slow
def test_typed_parameters_reach_the_kernel_and_the_job_run(jobs: Batch) -> None:
    job = jobs["typed"].result()
    project = job.project

    assert job.returncode == 0, job.stderr
    report = json.loads((project / "notebooks" / "types.json").read_text("utf-8"))
    assert report["values"] == {
        "n": 3,
        "rate": 2.0,  # -p wins over the file's 9
        "flag": True,
        "name": "zz",
        "cols": ["a", "b"],
        "opts": {"k": 1},
    }
    assert report["types"] == {
        "n": "int",
        "rate": "float",
        "flag": "bool",
        "name": "str",
        "cols": "list",
        "opts": "dict",
    }
    assert report["cwd"] == str(project / "notebooks")

    client = job.client
    run = _job_run(client)
    assert len(_all_runs(client)) == 1
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "typed"
    assert run.data.params == {
        "n": "3",
        "rate": "2.0",
        # as a captured run records injected values: text as is, the rest as Python
        "flag": "True",
        "name": "zz",
        "cols": "['a', 'b']",
        "opts": "{'k': 1}",
    }
    tags = run.data.tags
    assert tags["mlops.job.name"] == "typed"
    assert json.loads(tags["mlops.job.parameters"]) == report["values"]
    assert json.loads(tags["mlops.job.parameter_types"]) == report["types"]
    assert tags["mlflow.source.name"] == "notebooks/typed.ipynb"
    assert tags["mlops.hidden_state"] == "false"
    assert tags["mlops.job.outcome"] == "succeeded"
    assert report["environment"] == {
        "JUPYTER_MLOPS_JOB_ID": tags["mlops.job.id"],
        "JUPYTER_MLOPS_JOB_NAME": "typed",
        "MLFLOW_TRACKING_URI": _uri(project),
        "MLFLOW_EXPERIMENT_NAME": client.get_experiment(run.info.experiment_id).name,
        "JUPYTER_MLOPS_NOTEBOOK": str(project / "notebooks" / "typed.ipynb"),
    }
    output = project / "notebooks" / "out" / "typed.ipynb"
    assert tags["mlops.job.output"] == str(output)
    assert "job/output.ipynb" in [a.path for a in client.list_artifacts(run.info.run_id, "job")]
    _assert_output_logged(client, run.info.run_id, output)
    injected = nbformat.read(str(output), as_version=4).cells[1]
    assert "injected-parameters" in injected.metadata.get("tags", [])
    assert "n = 3\n" in injected.source and "rate = 2.0\n" in injected.source
    assert f"job run       : {run.info.run_id}" in job.stdout
    assert job.error_lines == []


@pytest.mark.slow
def test_a_date_parameter_reaches_the_kernel_as_a_date(jobs: Batch) -> None:
    job = jobs["dated"].result()

    assert job.returncode == 0, job.stderr
    assert json.loads((job.project / "day.json").read_text("utf-8")) == {"day": "2025-02-03"}
    run = _job_run(job.client)
    assert run.data.params == {"day": "2025-02-03"}
    assert json.loads(run.data.tags["mlops.job.parameters"]) == {"day": "2025-02-03"}
    assert json.loads(run.data.tags["mlops.job.parameter_types"]) == {"day": "date"}
    # papermill cannot read the annotation, and must not say so: we check names ourselves
    assert "unknown parameter" not in job.stderr


@pytest.mark.slow
def test_a_job_runs_from_another_folder(jobs: Batch) -> None:
    job = jobs["elsewhere"].result()
    project = job.project

    assert job.returncode == 0, job.stderr
    assert json.loads((project / "work" / "where.json").read_text("utf-8")) == str(project / "work")
    assert list(project.rglob("kernel-ipc*")) == []  # no socket files left behind


@pytest.mark.slow
def test_captured_runs_are_children_of_the_job_run(jobs: Batch) -> None:
    job = jobs["family"].result()
    client = job.client

    parent = _job_run(client)
    children = _children(client, parent)
    assert sorted(children) == ["a", "b"]
    experiment = client.get_experiment_by_name("jobs")
    assert experiment is not None
    for child in children.values():
        assert child.info.experiment_id == experiment.experiment_id
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.tags["mlops.job.id"] == parent.data.tags["mlops.job.id"]
        assert child.data.tags["mlops.job.name"] == "family"
        assert child.data.tags["mlops.hidden_state"] == "false"
        assert child.data.params == {"n": "4"}  # the injected parameter
    assert parent.info.experiment_id == experiment.experiment_id
    assert parent.data.params == {"n": "4"}
    for name in ("a", "b"):
        assert f"child run     : {name} FINISHED {children[name].info.run_id}" in job.stdout


@pytest.mark.slow
def test_a_failing_cell_fails_the_job_in_one_line(jobs: Batch) -> None:
    job = jobs["family"].result()
    project = job.project

    assert job.returncode == 1
    assert "Traceback" not in job.stderr
    (line,) = job.error_lines
    # numbered as in the notebook: papermill's injected cell is not counted
    assert line.startswith("jupyter-mlops: error: job 'family' cell failed: code cell 5 ")
    assert "('raise ValueError(\"boom\")') failed: ValueError: boom" in line
    client = job.client
    run = _job_run(client)
    assert run.info.status == "FAILED"
    tags = run.data.tags
    assert tags["mlops.job.outcome"] == "cell_failed"
    assert tags["mlops.error.message"].endswith("failed: ValueError: boom")
    source = nbformat.read(str(project / "family.ipynb"), as_version=4)
    assert tags["mlops.job.failed_cell.id"] == source.cells[4].id
    assert tags["mlops.job.failed_cell"] == "5"
    _assert_nothing_running(client)
    output = project / "out" / "family.ipynb"
    _assert_output_logged(client, run.info.run_id, output)
    executed = {c.id: c for c in nbformat.read(str(output), as_version=4).cells}
    assert executed[source.cells[4].id].outputs[-1]["evalue"] == "boom"
    assert executed[source.cells[5].id].execution_count is None  # never ran


@pytest.mark.slow
def test_a_child_run_records_the_parameter_values_the_notebook_used(jobs: Batch) -> None:
    job = jobs["rebinding"].result()

    assert job.returncode == 0, job.stderr
    warned = [line for line in job.stderr.splitlines() if "is reassigned" in line]
    assert [line.split(", in cell ")[0] for line in warned] == [
        "jupyter-mlops: warning: parameter 'alpha' is reassigned after the parameters cell",
        "jupyter-mlops: warning: parameter 'beta' is reassigned after the parameters cell",
    ]
    assert "line 1 (assignment: `alpha = 0.05  # an earlier cell sets it again`)" in warned[0]
    assert "line 2 (assignment: `beta = 7`)" in warned[1]
    client = job.client
    parent = _job_run(client)
    (child,) = _children(client, parent).values()
    # what the captured cell computed with: alpha from the earlier cell, beta from itself
    assert child.data.params == {"alpha": "0.05", "beta": "7", "gamma": "4"}
    assert parent.data.params == {"alpha": "0.5", "beta": "2", "gamma": "4"}  # as passed
    assert "  warning       : parameter 'alpha' is reassigned" in job.stdout
    executed = nbformat.read(str(job.project / "out" / "rebinding.ipynb"), as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert (
        "parameter 'alpha' was passed as '0.5' but the notebook rebinds it: recorded '0.05', "
        "its value after this cell"
    ) in printed
    assert "parameter 'gamma' was passed" not in printed


@pytest.mark.slow
def test_plain_papermill_still_records_the_runs_without_a_job(jobs: Batch) -> None:
    job = jobs["papermill"].result()

    assert job.returncode == 0, job.stderr
    runs = _all_runs(job.client)
    assert sorted(r.info.run_name for r in runs) == ["a", "b"]
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.params == {"n": "5"}
        assert not {"mlops.job.id", "mlops.job.name", "mlflow.parentRunId"} & set(run.data.tags)
        assert run.data.tags["mlops.notebook.path"] == "plain.ipynb"


@pytest.mark.slow
def test_the_credit_risk_job_registers_its_model_from_a_child_run(
    jobs: Batch,
) -> None:
    job = jobs["credit"].result()
    project = job.project

    assert job.returncode == 0, job.stderr
    client = job.client
    parent = _job_run(client)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlops.job.name"] == "credit-risk"
    assert parent.data.tags["mlops.job.model"] == "credit-risk"
    assert parent.data.tags["mlflow.source.name"] == "example_notebooks/credit_risk.ipynb"
    assert parent.data.params == {
        "n_samples": "2000",
        "C": "0.3",
        "test_size": "0.25",
        "seed": "42",
    }
    (child,) = _children(client, parent).values()
    assert child.info.run_name == "logreg-baseline"
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child.data.params["C"] == "0.3"
    (version,) = client.search_model_versions("name = 'credit-risk'")
    assert version.run_id == child.info.run_id
    assert (
        f"child run     : logreg-baseline FINISHED {child.info.run_id} -> registered credit-risk/1"
        in job.stdout
    )
    # without --output: build/jobs/<job>/<UTC time>.ipynb in the project root
    (output,) = (project / "build" / "jobs" / "credit-risk").glob("*.ipynb")
    assert list(project.rglob("kernel-ipc*")) == []
    assert parent.data.tags["mlops.job.output"] == str(output)
    _assert_output_logged(client, parent.info.run_id, output)


# -- jobs that are stopped -----------------------------------------------------------------


@pytest.mark.slow
def test_a_timeout_stops_the_job(jobs: Batch) -> None:
    job = jobs["timeout"].result()
    project = job.project

    assert job.returncode == 124, job.stderr
    assert (project / "sleeping").is_file()  # the cell had started
    assert job.seconds < JOB_TIMEOUT_S + 60  # far from the cell's 600 s
    (line,) = job.error_lines
    assert "timeout" in line and "ran out of time (--timeout)" in line
    client = job.client
    run = _job_run(client)
    assert run.info.status == "FAILED"
    assert run.data.tags["mlops.job.outcome"] == "timeout"
    _assert_nothing_running(client)
    (output,) = (project / "build" / "jobs" / "sleepy").glob("*.ipynb")
    _assert_output_logged(client, run.info.run_id, output)


@pytest.mark.slow
def test_a_dead_kernel_fails_the_job_with_138(jobs: Batch) -> None:
    job = jobs["died"].result()

    assert job.returncode == 138, job.stderr
    (line,) = job.error_lines
    assert "kernel died" in line
    client = job.client
    run = _job_run(client)
    assert run.info.status == "FAILED"
    assert run.data.tags["mlops.job.outcome"] == "kernel_died"
    _assert_nothing_running(client)
    _assert_output_logged(client, run.info.run_id, job.project / "out" / "dying.ipynb")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "code", "outcome"), [("sigterm", 143, "terminated"), ("sigint", 130, "interrupted")]
)
def test_a_signal_ends_the_job_and_its_runs_killed(
    jobs: Batch, name: str, code: int, outcome: str
) -> None:
    job = jobs[name].result()

    assert job.kernel_pid is not None, f"the slow cell never ran:\n{job.stderr}"
    assert job.returncode == code, job.stderr
    assert not _alive(job.kernel_pid), "the kernel outlived the job"
    client = job.client
    parent = _job_run(client)
    assert parent.info.status == "KILLED"
    assert parent.data.tags["mlops.job.outcome"] == outcome
    (child,) = _children(client, parent).values()
    assert child.info.run_name == "slow"
    assert child.info.status == "KILLED"
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    _assert_nothing_running(client)
    _assert_output_logged(client, parent.info.run_id, job.project / "out" / "slow.ipynb")
    assert f"child run     : slow KILLED {child.info.run_id}" in job.stdout


# -- bad inputs: refused before any kernel starts ------------------------------------------


@pytest.fixture
def job_project(tmp_path: Path) -> Path:
    """A project with the typed notebook and parameter files, and no store yet."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n', "utf-8")
    _notebook(project / "typed.ipynb", TYPED_PARAMETERS, REPORT_TYPES)
    (project / "bad.yaml").write_text("n: [1\n", "utf-8")
    (project / "list.yaml").write_text("- n\n- 3\n", "utf-8")
    (project / "wrong.yaml").write_text("flag: maybe\n", "utf-8")
    (project / "unknown.yaml").write_text("folds: 3\n", "utf-8")
    return project


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["-p", "folds", "3"], 2, "valid parameters: n, rate, flag, name, cols, opts"),
        (["-p", "n", "abc"], 2, "parameter 'n' is int: 'abc' does not convert"),
        (["-p", "cols", "a,b"], 2, "parameter 'cols' is list: 'a,b' does not convert"),
        (["-f", "bad.yaml"], 2, "parameter file bad.yaml is not valid YAML"),
        (["-f", "list.yaml"], 2, "must be a mapping of parameter names to values"),
        (["-f", "wrong.yaml"], 2, "parameter 'flag' is bool: 'maybe' does not convert"),
        (["-f", "unknown.yaml"], 2, "unknown parameter 'folds'"),
        (["-f", "missing.yaml"], 2, "parameter file missing.yaml does not exist"),
        (["--output", "result.txt"], 2, "--output must end in .ipynb"),
        (["--output", "typed.ipynb"], 2, "--output must not be the input notebook"),
        (["--cwd", "nowhere"], 2, "is not a folder"),
        (["--output", "nowhere/typed.ipynb"], 2, "nowhere does not exist"),
        (["--timeout", "abc"], 2, "Invalid value for '--timeout'"),
    ],
)
def test_bad_inputs_are_refused_before_any_kernel_starts(
    job_project: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    code: int,
    message: str,
) -> None:
    monkeypatch.chdir(job_project)
    before = _files(job_project)
    output = [] if "--output" in args else ["--output", "out/typed.ipynb"]

    result = CliRunner().invoke(main, ["run", "typed.ipynb", *args, *output])

    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Running" not in result.output  # nothing was started
    # no store, no run, no output notebook: nothing at all was written
    assert _files(job_project) == before


@pytest.mark.slow
def test_a_missing_notebook_exits_2_from_the_console_script(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "jupyter-mlops"), "run", "missing.ipynb", "-p", "n", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "MLFLOW_TRACKING_URI": _uri(tmp_path)},
    )

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"jupyter-mlops: error: notebook {tmp_path / 'missing.ipynb'} does not exist"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_an_unknown_parameter_exits_2_from_the_console_script(job_project: Path) -> None:
    result = subprocess.run(
        [str(BIN / "jupyter-mlops"), "run", "typed.ipynb", "-p", "folds", "3", "-p", "n", "x"],
        cwd=job_project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "MLFLOW_TRACKING_URI": _uri(job_project)},
    )

    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("jupyter-mlops: error: unknown parameter 'folds'")
    assert line.endswith("; valid parameters: n, rate, flag, name, cols, opts")
    assert not (job_project / "mlflow.db").exists()
    assert not (job_project / "build").exists()


@pytest.mark.parametrize("timeout", ["0", "-5"])
def test_a_timeout_that_is_not_positive_is_a_usage_error(
    job_project: Path, monkeypatch: pytest.MonkeyPatch, timeout: str
) -> None:
    monkeypatch.chdir(job_project)
    result = CliRunner().invoke(main, ["run", "typed.ipynb", "--timeout", timeout])

    assert result.exit_code == 2
    assert f"--timeout must be a positive number of seconds, got {timeout}" in result.output
    assert list(job_project.rglob("*.db")) == []
