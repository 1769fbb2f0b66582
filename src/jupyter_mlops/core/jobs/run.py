"""Running a notebook as a job: ``jupyter-mlops run``.

:func:`prepare_job` checks everything that can be checked without a kernel (the notebook,
its job contract, every parameter value against its declared type, the output path) and
imports nothing heavy. :class:`JobRun` then executes it:

* the kernel starts at once with the job's environment (tracking URI, experiment, job id);
* meanwhile, on another thread, the job's parent MLflow run is created (tags
  ``mlops.job.name``, ``mlops.job.parameters``, ``mlflow.source.*``; params = the typed
  parameters) and its id handed to the kernel (:mod:`jupyter_mlops.core.capture.job_context`), so
  importing MLflow here overlaps the kernel's start instead of adding to it;
* every ``%%mlops run`` inside is a child of that run;
* afterwards the executed notebook is logged on the job run, children the kernel could not
  link (or end) are linked and ended KILLED, and the job run ends FINISHED, FAILED or KILLED.
  No run is left RUNNING, whatever happened.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jupyter_mlops.core.capture.git_state import no_commit_notice
from jupyter_mlops.core.capture.job_context import user_run_context
from jupyter_mlops.core.config import (
    JOB_ID_ENV,
    JOB_NAME_ENV,
    JOB_PARENT_ENV,
    resolve_settings,
    sqlite_database,
)
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.jobs.contract import job_contract
from jupyter_mlops.core.jobs.execution import NotebookExecution
from jupyter_mlops.core.jobs.model import ExecutionOutcome, JobResult, Outcome, PreparedJob
from jupyter_mlops.core.jobs.output_paths import writable_path
from jupyter_mlops.core.jobs.parameters.reassignment import check_reassignments
from jupyter_mlops.core.jobs.parameters.values import load_parameter_file, resolve_values
from jupyter_mlops.core.jobs.record import JobRecord
from jupyter_mlops.core.jobs.temp_folders import private_folder
from jupyter_mlops.core.paths import safe_file_name
from jupyter_mlops.core.store.check import check_store

__all__ = [
    "JobResult",
    "JobRun",
    "PreparedJob",
    "prepare_job",
]

_STORE_HINT = "pass another one with --tracking-uri or set MLFLOW_TRACKING_URI"


def prepare_job(
    notebook: Path,
    *,
    parameters: Sequence[tuple[str, str]] = (),
    parameter_file: Path | None = None,
    values: Mapping[str, Any] | None = None,
    output: Path | None = None,
    experiment: str | None = None,
    tracking_uri: str | None = None,
    timeout: float | None = None,
    cwd: Path | None = None,
    now: dt.datetime | None = None,
    allow_reassigned: bool = False,
    reassigned_hint: str = ", or pass --allow-reassigned to run it anyway",
    job_id: str | None = None,
) -> PreparedJob:
    """Check a job before any kernel starts.

    ``values`` are typed values (JSON: numbers, booleans, lists, ISO dates as text), as the
    panel sends them; they override the parameter file, and ``parameters`` (``-p NAME TEXT``
    pairs from the command line) override both.

    ``job_id`` (new when not given) names the one execution of this job: it is the run's
    ``mlops.job.id`` and ends the default output name, ``build/jobs/<job>/<time>-<id>.ipynb``.

    Raises:
        MlopsError: USAGE (exit code 2) for a missing or unreadable notebook, parameter file
            or working folder, an unknown parameter (listing the valid ones), a value that
            does not convert to its type, a bad timeout, an output path that is the notebook
            or whose folder does not exist, or a parameter a later cell reassigns (unless
            ``allow_reassigned``; ``reassigned_hint`` ends that message); CONFIG or
            TRACKING_UNAVAILABLE for a store that cannot work (see
            :func:`~jupyter_mlops.core.store.check.check_store`).
    """
    notebook = notebook.expanduser().resolve()
    contract = job_contract(notebook)
    check_reassignments(contract.reassignments, allow=allow_reassigned, hint=reassigned_hint)
    from_file = load_parameter_file(parameter_file) if parameter_file is not None else None
    if values is not None:
        from_file = {**(from_file or {}), **values}
    resolved = resolve_values(
        contract.parameters, from_file=from_file, from_command_line=parameters
    )
    if timeout is not None and not timeout > 0:
        raise MlopsError(
            f"--timeout must be a positive number of seconds, got {timeout:g}", ErrorCode.USAGE
        )
    folder = (cwd or notebook.parent).expanduser().resolve()
    if not folder.is_dir():
        raise MlopsError(f"--cwd {folder} is not a folder", ErrorCode.USAGE)
    settings = resolve_settings(
        tracking_uri=tracking_uri,
        experiment=experiment or contract.experiment,
        notebook=notebook,
    )
    # A store that cannot work must fail here, before a kernel runs the user's cells.
    check_store(settings.tracking_uri, hint=_STORE_HINT)
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    job_id = job_id or uuid.uuid4().hex  # in the name: jobs started together never share it
    folder_name = safe_file_name(contract.name)  # a name from metadata must not become a path
    target_output = (
        writable_path(output)
        if output is not None
        else settings.project_root / "build" / "jobs" / folder_name / f"{stamp}-{job_id}.ipynb"
    )
    if target_output == notebook:
        raise MlopsError(
            "--output must not be the input notebook (it would be overwritten)", ErrorCode.USAGE
        )
    if target_output.suffix != ".ipynb":
        raise MlopsError(f"--output must end in .ipynb, got {target_output.name}", ErrorCode.USAGE)
    return PreparedJob(
        notebook=notebook,
        contract=contract,
        values=resolved.values,
        overridden=resolved.overridden,
        settings=settings,
        output=target_output,
        cwd=folder,
        timeout=timeout,
        job_id=job_id,
    )


class JobRun:
    """A job being executed: :meth:`start`, optionally :meth:`cancel`, then :meth:`wait`.

    Safe to cancel from another thread or a signal handler. ``on_cell(done, total)`` is
    called after each code cell.
    """

    def __init__(
        self,
        job: PreparedJob,
        *,
        progress_bar: bool = False,
        on_cell: Callable[[int, int], None] | None = None,
    ) -> None:
        self.job = job
        self.job_id = job.job_id
        self._handoff = private_folder("job") / "parent-run-id"
        self._execution = NotebookExecution(
            job.notebook,
            job.output,
            parameters=job.values,
            cwd=job.cwd,
            env=self._kernel_environment(),
            progress_bar=progress_bar,
            on_cell=on_cell,
            execution_id=self.job_id,
        )
        self._started = 0.0
        self._parent: JobRecord | None = None
        self._parent_error: BaseException | None = None
        self._parent_thread = threading.Thread(
            target=self._create_parent, name="jupyter-mlops-job-run"
        )
        self._result: JobResult | None = None

    @property
    def progress(self) -> tuple[int, int]:
        """(code cells done, code cells in the notebook)."""
        return self._execution.cells_done, self._execution.cells_total

    @property
    def run_id(self) -> str | None:
        """The job's MLflow run id once created."""
        return self._parent.run_id if self._parent is not None else None

    def _kernel_environment(self) -> dict[str, str]:
        settings = self.job.settings
        env = {
            "MLFLOW_TRACKING_URI": settings.tracking_uri,
            "MLFLOW_EXPERIMENT_NAME": settings.experiment,
            JOB_ID_ENV: self.job_id,
            JOB_NAME_ENV: self.job.name,
            JOB_PARENT_ENV: str(self._handoff),
            # runs the notebook's own MLflow code starts carry the job id (linked at the end)
            "MLFLOW_RUN_CONTEXT": user_run_context(self.job_id, self.job.name),
        }
        return env

    def start(self) -> JobRun:
        """Start the kernel and, alongside, create the job's MLflow run."""
        self._started = time.monotonic()
        # MLFLOW_RUN_ID would make a plain mlflow.start_run() in the kernel resume that run.
        self._execution.env.pop("MLFLOW_RUN_ID", None)
        if _store_missing(self.job.settings.tracking_uri):
            # The kernel would create the same SQLite store at the same time, and MLflow's
            # migrations do not survive that race: let ours create it first.
            self._parent_thread.start()
            self._parent_thread.join()
            self._execution.start()
        else:  # the kernel first: our MLflow import then overlaps its start, not delays it
            self._execution.start()
            self._parent_thread.start()
        return self

    def cancel(self, reason: str = Outcome.INTERRUPTED) -> None:
        """Stop the job with the outcome ``reason`` (:attr:`Outcome.INTERRUPTED`,
        :attr:`~Outcome.TERMINATED` or :attr:`~Outcome.TIMEOUT`; any other text is an
        :attr:`~Outcome.ERROR`); its runs end KILLED (FAILED for a timeout)."""
        try:
            outcome = Outcome(reason)
        except ValueError:
            outcome = Outcome.ERROR
        self._execution.cancel(outcome)

    def wait(self, timeout: float | None = None) -> JobResult | None:
        """Wait for the job (and its bookkeeping) to end; None if ``timeout`` passed first.

        The job's own ``--timeout`` is enforced here.
        """
        if self._result is not None:
            return self._result
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = 0.5
            if self.job.timeout is not None:
                left = self._started + self.job.timeout - time.monotonic()
                if left <= 0 and self._execution.cancel_reason is None:
                    self._execution.cancel(Outcome.TIMEOUT)
                step = max(0.05, min(step, left)) if left > 0 else step
            if deadline is not None:
                step = max(0.0, min(step, deadline - time.monotonic()))
            outcome = self._execution.wait(step)
            if outcome is not None:
                self._result = self._conclude(outcome)
                return self._result
            if deadline is not None and time.monotonic() >= deadline:
                return None

    # -- the parent run --------------------------------------------------------------------
    def _create_parent(self) -> None:
        try:
            self._parent = JobRecord.create(self.job, self.job_id)
            self._handoff.write_text(self._parent.run_id, encoding="utf-8")
        except BaseException as exc:  # reported when the job ends
            self._parent_error = exc
            self._execution.cancel(Outcome.ERROR)

    def _conclude(self, ended: ExecutionOutcome) -> JobResult:
        self._parent_thread.join()
        shutil.rmtree(self._handoff.parent, ignore_errors=True)
        message = _message(ended)
        outcome = ended.kind
        if self._parent is None:
            error = self._parent_error
            if isinstance(error, MlopsError):
                raise error
            raise MlopsError(
                f"could not create the job's run: {error}", ErrorCode.TRACKING_UNAVAILABLE
            ) from error
        warnings = [r.describe() for r in self.job.contract.reassignments]
        children = self._parent.finish(
            outcome=outcome,
            message=message,
            execution=ended,
            job=self.job,
            warnings=warnings,
        )
        if (notice := no_commit_notice(self.job.notebook.parent)) is not None:
            warnings.append(notice)  # said once, in the job's summary
        return JobResult(
            job=self.job,
            run_id=self._parent.run_id,
            experiment_id=self._parent.target.experiment_id,
            status=outcome.run_status,
            outcome=outcome,
            message=message,
            seconds=time.monotonic() - self._started,
            execution=ended,
            children=children,
            warnings=tuple(warnings),
        )


def _store_missing(tracking_uri: str) -> bool:
    database = sqlite_database(tracking_uri)
    return database is not None and not database.is_file()


def _message(outcome: ExecutionOutcome) -> str:
    if outcome.failure is not None:
        return outcome.failure.describe()
    if outcome.kind is Outcome.KERNEL_DIED:
        return "the kernel died (out of memory, a crash or os._exit)"
    if outcome.cancelled:
        return _STOPPED.get(outcome.kind, outcome.message or "stopped")
    return outcome.message


_STOPPED = {
    Outcome.TIMEOUT: "stopped: the job ran out of time (--timeout)",
    Outcome.INTERRUPTED: "stopped by Ctrl-C",
    Outcome.TERMINATED: "stopped by SIGTERM",
}
