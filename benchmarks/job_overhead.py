"""Job overhead: ``jupyter-mlops run NOTEBOOK`` against bare ``papermill NOTEBOOK OUT``.

Both arms execute ``example_notebooks/credit_risk.ipynb``, copied into a temporary project
committed to a fresh git repository, with the same parameter (``-p C 0.5``), as two CLI
processes (the console scripts next to ``sys.executable``) timed wall-clock from start to
exit. Both get ``MLFLOW_TRACKING_URI`` pointing at the project's ``mlflow.db``, so in both the
notebook does the same work: ``%mlops init``, a ``%%mlops run`` cell that fits a logistic
regression, ``%mlops register`` (a new version of ``credit-risk`` each time), ``%mlops
lineage`` and ``%mlops runs``. What ``jupyter-mlops run`` adds is the job: checking the
parameters before the kernel starts, the job's parent MLflow run (created on a thread while
the kernel starts), the executed notebook logged on it, the child run linked and the job run
ended.

The arms alternate (ours, papermill, ours, papermill, ...) after one warm-up of each (ours
first: it creates the SQLite store and IPython's profile). Target: the median of the
per-round ratios ours / papermill is at most 1.10. Both arms must exit 0, and afterwards the
store must hold what both recorded (a FINISHED job run with one FINISHED child per job, a
FINISHED run per papermill execution, a model version per execution), or the benchmark fails.

For information it also splits each execution into phases, from papermill's own timestamps
in the executed notebook (the arms both execute through papermill) and, for ours, the job
run's start and end times in MLflow; and it times ``jupyter-mlops --help`` against
``papermill --help`` (start-up and imports of each CLI).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

try:
    import resource
except ImportError:  # not on Windows: no CPU times there
    resource = None  # type: ignore[assignment]

from benchmarks._common import Result, Target, median, paired_ratios
from benchmarks._notebook_project import git_commit, isolated_directory

__all__ = ["NAME", "run"]

NAME = "job_overhead"
TARGET = Target("<=", 1.10)
NOTEBOOK = "credit_risk.ipynb"
EXAMPLE = Path(__file__).resolve().parent.parent / "example_notebooks" / NOTEBOOK
PARAMETERS = ("-p", "C", "0.5")
EXPERIMENT = "credit_risk"  # the notebook's name: what %mlops init and the job both use
MODEL = "credit-risk"
JOB_NAME_TAG = "mlops.job.name"
JOB_OUTPUT_TAG = "mlops.job.output"
PHASES = ("start-up", "kernel start", "cells", "kernel stop", "after execution")
_PHASE_HELP = {
    "start-up": "process start to papermill's start_time (imports, argument parsing)",
    "kernel start": "papermill's start_time to the first cell (launching the kernel)",
    "cells": "first cell start to last cell end",
    "kernel stop": "last cell end to papermill's end_time (kernel shutdown)",
    "after execution": "papermill's end_time to process exit",
}


@dataclass
class Execution:
    """One CLI process: its wall time, wall-clock start and end, and the executed notebook."""

    arm: str
    seconds: float
    cpu: float  # user + system seconds of the process and its children (the kernel, git)
    started: float  # time.time()
    ended: float
    output: Path
    phases: dict[str, float] = field(default_factory=dict)
    cells: dict[str, float] = field(default_factory=dict)  # first line -> seconds
    job_run: dict[str, float] = field(default_factory=dict)  # ours: created, finish


def run(quick: bool = False) -> list[Result]:
    """Alternate the two CLIs on the same notebook; return the ratio, the arms and a breakdown."""
    rounds, help_rounds = (3, 3) if quick else (7, 5)
    ours_cli, papermill_cli = _script("jupyter-mlops"), _script("papermill")
    with isolated_directory() as root:
        shutil.copy(EXAMPLE, root / NOTEBOOK)
        (root / "out").mkdir()  # `run --output` writes only into a folder that exists
        git = git_commit(root, NOTEBOOK)
        tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
        bin_dir = str(Path(sys.executable).parent)
        env = dict(
            os.environ,
            MLFLOW_TRACKING_URI=tracking_uri,
            MLFLOW_DISABLE_TELEMETRY="true",
            PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
        )
        commands = {
            "ours": lambda out: [ours_cli, "run", NOTEBOOK, *PARAMETERS, "--output", out],
            "papermill": lambda out: [papermill_cli, NOTEBOOK, out, *PARAMETERS],
        }
        executions: dict[str, list[Execution]] = {"ours": [], "papermill": []}
        for index in range(rounds + 1):  # round 0 is the warm-up
            label = "warm-up" if index == 0 else f"round {index}/{rounds}"
            for arm in ("ours", "papermill"):
                _progress(f"{label}: {arm} ...")
                output = f"out/{arm}-{index}.ipynb"
                done = _execute(arm, commands[arm](output), root, env, root / output)
                print(f" {done.seconds:.1f} s", end="", flush=True)
                if index > 0:
                    executions[arm].append(done)
        _progress("verifying the store and timing --help ...")
        verified = _verify_and_time_phases(tracking_uri, executions, rounds + 1, git)
        helps = _time_help(
            {"ours": [ours_cli, "--help"], "papermill": [papermill_cli, "--help"]},
            root,
            env,
            help_rounds,
        )
    print(flush=True)
    return _results(executions, helps, rounds, help_rounds, verified)


def _script(name: str) -> str:
    script = Path(sys.executable).with_name(name)
    found = str(script) if script.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed next to {sys.executable} nor on the PATH")
    return found


def _progress(message: str) -> None:
    print(f"\n  {message}", end="", flush=True)


def _execute(
    arm: str, command: list[str], root: Path, env: dict[str, str], output: Path
) -> Execution:
    """Run one CLI process to completion; fail loudly unless it exits 0."""
    cpu_before = _children_cpu()
    started_wall = time.time()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    ended_wall = time.time()
    cpu = _children_cpu() - cpu_before
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise RuntimeError(f"{arm} exited {done.returncode}: {' '.join(command)}\n{tail}")
    execution = Execution(arm, seconds, cpu, started_wall, ended_wall, output)
    _notebook_phases(execution)
    return execution


def _children_cpu() -> float:
    """CPU seconds of every child process waited for so far (a CLI, and the kernel it ran)."""
    if resource is None:
        return math.nan
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _notebook_phases(execution: Execution) -> None:
    """Phases and per-cell durations from papermill's timestamps in the executed notebook."""
    document = json.loads(execution.output.read_text(encoding="utf-8"))
    meta = document["metadata"]["papermill"]
    begin, end = _stamp(meta["start_time"]), _stamp(meta["end_time"])
    starts, ends = [], []
    for cell in document["cells"]:
        stamps = cell.get("metadata", {}).get("papermill", {})
        if stamps.get("start_time") and stamps.get("end_time"):
            starts.append(_stamp(stamps["start_time"]))
            ends.append(_stamp(stamps["end_time"]))
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                first = source.splitlines()[0] if source else ""
                execution.cells[first[:40]] = ends[-1] - starts[-1]
    if not starts:
        raise RuntimeError(f"{execution.output} has no executed cells")
    execution.phases = {
        "start-up": begin - execution.started,
        "kernel start": min(starts) - begin,
        "cells": max(ends) - min(starts),
        "kernel stop": end - max(ends),
        "after execution": execution.ended - end,
    }


def _stamp(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def _verify_and_time_phases(
    tracking_uri: str, executions: dict[str, list[Execution]], per_arm: int, git: bool
) -> str:
    """Check that both arms recorded the same work; read the job runs' start and end times."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        raise RuntimeError(f"no experiment {EXPERIMENT!r} in {tracking_uri}")
    runs = client.search_runs([experiment.experiment_id], max_results=10_000)
    unfinished = [r.info.run_id for r in runs if r.info.status != "FINISHED"]
    jobs = [
        r for r in runs if JOB_NAME_TAG in r.data.tags and "mlflow.parentRunId" not in r.data.tags
    ]
    job_ids = {r.info.run_id for r in jobs}
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") in job_ids]
    plain = [r for r in runs if JOB_NAME_TAG not in r.data.tags]
    versions = client.search_model_versions(f"name = '{MODEL}'")
    counts = (len(jobs), len(children), len(plain), len(versions))
    if unfinished or counts != (per_arm, per_arm, per_arm, 2 * per_arm):
        raise RuntimeError(
            f"unexpected store: {len(runs)} runs (unfinished {unfinished}); job runs, their "
            f"children, papermill's runs, versions = {counts}, wanted "
            f"{(per_arm, per_arm, per_arm, 2 * per_arm)}"
        )
    by_output = {r.data.tags.get(JOB_OUTPUT_TAG): r for r in jobs}
    for execution in executions["ours"]:
        job = by_output.get(str(execution.output.resolve()))
        if job is None or job.info.end_time is None:
            raise RuntimeError(f"no finished job run wrote {execution.output}")
        papermill_end = execution.started + sum(
            execution.phases[p] for p in PHASES if p != "after execution"
        )
        execution.job_run = {
            "created": job.info.start_time / 1000 - execution.started,
            "finish": job.info.end_time / 1000 - papermill_end,
        }
    return (
        f"{len(runs)} runs, all FINISHED: {len(jobs)} job runs each with 1 child, "
        f"{len(plain)} runs from papermill; {len(versions)} versions of {MODEL}"
        f"{'; notebook committed in git' if git else '; git unavailable: no git state'}"
    )


def _time_help(
    commands: dict[str, list[str]], root: Path, env: dict[str, str], rounds: int
) -> dict[str, list[float]]:
    """``--help`` of each CLI, alternating, after one warm-up each."""
    times: dict[str, list[float]] = {arm: [] for arm in commands}
    for index in range(rounds + 1):
        for arm, command in commands.items():
            started = time.perf_counter()
            done = subprocess.run(command, cwd=root, env=env, capture_output=True, check=False)
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} exited {done.returncode}")
            if index > 0:
                times[arm].append(seconds)
    return times


def _results(
    executions: dict[str, list[Execution]],
    helps: dict[str, list[float]],
    rounds: int,
    help_rounds: int,
    verified: str,
) -> list[Result]:
    ours = [e.seconds for e in executions["ours"]]
    papermill = [e.seconds for e in executions["papermill"]]
    ratios = paired_ratios(ours, papermill)
    versions = ", ".join(
        f"{name} {_version(name)}" for name in ("papermill", "nbclient", "ipykernel")
    )
    results = [
        Result(
            NAME,
            f"jupyter-mlops run / papermill ({NOTEBOOK}, -p C 0.5)",
            median(ratios),
            "x",
            TARGET,
            f"median of per-round ratios {median(ratios):.2f}x (p90 {_p90(ratios):.2f}x; "
            f"{', '.join(f'{r:.2f}' for r in ratios)}); ratio of medians "
            f"{median(ours) / median(papermill):.2f}x; {rounds} alternating rounds after 1 "
            f"warm-up of each; {versions}; {verified}",
        ),
        _wall("wall: jupyter-mlops run", ours),
        _wall("wall: papermill", papermill),
    ]
    ours_cpu = [e.cpu for e in executions["ours"]]
    papermill_cpu = [e.cpu for e in executions["papermill"]]
    if not any(math.isnan(c) for c in ours_cpu + papermill_cpu):
        cpu_ratios = paired_ratios(ours_cpu, papermill_cpu)
        extra_cpu = [a - b for a, b in zip(ours_cpu, papermill_cpu, strict=True)]
        results.append(
            Result(
                NAME,
                "extra CPU time (CLI process + kernel)",
                median(extra_cpu),
                "s",
                None,
                f"user + system seconds of the CLI and the processes it waited for (the kernel, "
                f"git); median ours {median(ours_cpu):.2f} s, papermill "
                f"{median(papermill_cpu):.2f} s; median of per-round CPU ratios "
                f"{median(cpu_ratios):.2f}x; per-round differences "
                f"{', '.join(f'{d:+.2f}' for d in extra_cpu)} s",
            )
        )
    for phase in PHASES:
        ours_phase = [e.phases[phase] for e in executions["ours"]]
        theirs = [e.phases[phase] for e in executions["papermill"]]
        extra = [a - b for a, b in zip(ours_phase, theirs, strict=True)]
        detail = (
            f"{_PHASE_HELP[phase]}; median ours {median(ours_phase):.2f} s, papermill "
            f"{median(theirs):.2f} s; per-round differences "
            f"{', '.join(f'{d:+.2f}' for d in extra)} s"
        )
        if phase == "cells":
            detail += f"; {_cell_medians(executions)}"
        if phase == "after execution":
            created = [e.job_run["created"] for e in executions["ours"]]
            finish = [e.job_run["finish"] for e in executions["ours"]]
            detail += (
                f"; ours: the job run ended {median(finish):.2f} s after papermill's end_time "
                f"(median; logging the output notebook, linking the child, ending the run), "
                f"the rest is printing and interpreter exit; the job run was created "
                f"{median(created):.2f} s after the process started"
            )
        results.append(Result(NAME, f"extra time: {phase}", median(extra), "s", None, detail))
    for arm, label in (("ours", "jupyter-mlops --help"), ("papermill", "papermill --help")):
        results.append(
            Result(
                NAME,
                f"start-up: {label}",
                median(helps[arm]),
                "s",
                None,
                f"{_spread(helps[arm])}; {help_rounds} alternating rounds after 1 warm-up",
            )
        )
    return results


def _wall(measurement: str, times: Sequence[float]) -> Result:
    return Result(NAME, measurement, median(times), "s", None, _spread(times))


def _cell_medians(executions: dict[str, list[Execution]]) -> str:
    """Median seconds per code cell taking at least 0.5 s in either arm."""
    shown = []
    for first in executions["ours"][0].cells:
        ours = [e.cells[first] for e in executions["ours"] if first in e.cells]
        theirs = [e.cells[first] for e in executions["papermill"] if first in e.cells]
        if ours and theirs and max(median(ours), median(theirs)) >= 0.5:
            shown.append(f"{first!r} {median(ours):.2f} s vs {median(theirs):.2f} s")
    return "cells of 0.5 s or more, median ours vs papermill: " + "; ".join(shown)


def _p90(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def _spread(times: Sequence[float]) -> str:
    """Median and p90 in seconds, then every time."""
    shown = ", ".join(f"{t:.1f}" for t in sorted(times))
    return f"median {median(times):.2f} s, p90 {_p90(times):.2f} s ({shown} s)"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"
