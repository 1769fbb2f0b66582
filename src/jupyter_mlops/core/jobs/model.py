"""What a notebook job is made of: the job as checked, how its execution ended, the runs
made inside it, and its :class:`Outcome`.

Plain data, no behaviour beyond describing itself: :mod:`~jupyter_mlops.core.jobs.run`
prepares and runs a job, :mod:`~jupyter_mlops.core.jobs.execution` executes the notebook,
:mod:`~jupyter_mlops.core.jobs.record` records it in MLflow; they all speak these types.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.core.config import Settings
from jupyter_mlops.core.jobs.contract import JobContract
from jupyter_mlops.core.jobs.parameters.values import format_value
from jupyter_mlops.core.redaction import redact_parameters
from jupyter_mlops.core.tags import JOB_OUTPUT_ARTIFACT

__all__ = [
    "CellFailure",
    "ChildRun",
    "ExecutionOutcome",
    "JobResult",
    "Outcome",
    "PreparedJob",
]


class Outcome(str, enum.Enum):
    """How a job ended: the tag ``mlops.job.outcome``, the REST reply's ``outcome`` and, through
    :attr:`exit_code`, the exit code of ``jupyter-mlops run``.

    The values are part of the interface: extend, never rename.
    """

    SUCCEEDED = "succeeded"
    CELL_FAILED = "cell_failed"  # a cell raised
    ERROR = "error"  # the notebook could not be run at all (nor, in the background, started)
    KERNEL_DIED = "kernel_died"  # out of memory, a crash in native code, os._exit()
    TIMEOUT = "timeout"  # the job's --timeout passed
    INTERRUPTED = "interrupted"  # Ctrl-C (SIGINT), or cancelled in the panel
    TERMINATED = "terminated"  # SIGTERM

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return self.value.__format__(spec)

    @property
    def exit_code(self) -> int:
        """The exit code of ``jupyter-mlops run``: 138 is papermill's for a dead kernel, 124
        what ``timeout(1)`` uses, 130 / 143 the shell's for SIGINT / SIGTERM."""
        return _EXIT_CODES[self]

    @property
    def run_status(self) -> str:
        """How the job's MLflow run ends: FINISHED, KILLED (stopped by a signal) or FAILED."""
        return _RUN_STATUS.get(self, "FAILED")


_EXIT_CODES = {
    Outcome.SUCCEEDED: 0,
    Outcome.CELL_FAILED: 1,
    Outcome.ERROR: 1,
    Outcome.KERNEL_DIED: 138,
    Outcome.TIMEOUT: 124,
    Outcome.INTERRUPTED: 130,
    Outcome.TERMINATED: 143,
}
_RUN_STATUS = {
    Outcome.SUCCEEDED: "FINISHED",
    Outcome.INTERRUPTED: "KILLED",
    Outcome.TERMINATED: "KILLED",
}


@dataclass(frozen=True)
class PreparedJob:
    """A job checked and ready to run: nothing has started yet."""

    notebook: Path
    contract: JobContract
    values: dict[str, Any]  # typed parameter values passed to the kernel
    overridden: tuple[str, ...]
    settings: Settings
    output: Path
    cwd: Path
    timeout: float | None
    # The id of the one execution of this job (``mlops.job.id``; in the default output name).
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def name(self) -> str:
        """The job name."""
        return self.contract.name


@dataclass(frozen=True)
class CellFailure:
    """The cell that failed: its position, execution count, id and error."""

    index: int  # 0-based position among the executed notebook's code cells
    execution_count: int | None
    cell_id: str | None
    ename: str
    evalue: str
    first_line: str  # the cell's first source line, to recognise it

    def describe(self) -> str:
        """One readable line: which cell, and what it raised."""
        count = f" [{self.execution_count}]" if self.execution_count is not None else ""
        return (
            f"code cell {self.index + 1}{count} ({self.first_line!r}) failed: "
            f"{self.ename}: {self.evalue}".rstrip(": ")
        )


@dataclass(frozen=True)
class ExecutionOutcome:
    """How an execution of the notebook ended.

    ``kind`` is :attr:`Outcome.SUCCEEDED`, :attr:`~Outcome.CELL_FAILED` (with ``failure``),
    :attr:`~Outcome.KERNEL_DIED`, :attr:`~Outcome.ERROR` (papermill or the kernel could not
    run the notebook at all) or, when ``cancelled``, the reason given to
    :meth:`~jupyter_mlops.core.jobs.execution.NotebookExecution.cancel`.
    """

    kind: Outcome
    output: Path
    cells_done: int
    cells_total: int
    failure: CellFailure | None = None
    cancelled: bool = False
    message: str = ""


@dataclass(frozen=True)
class ChildRun:
    """A run recorded inside the job, and the model versions registered from it."""

    run_id: str
    name: str
    status: str
    versions: tuple[str, ...] = ()  # "model/version"


@dataclass(frozen=True)
class JobResult:
    """How a job ended: its MLflow run, outcome, exit code and what it produced."""

    job: PreparedJob
    run_id: str | None
    experiment_id: str | None
    status: str  # FINISHED | FAILED | KILLED
    outcome: Outcome
    message: str
    seconds: float
    execution: ExecutionOutcome | None
    children: tuple[ChildRun, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> int:
        """The process exit code for this outcome (:attr:`Outcome.exit_code`)."""
        return self.outcome.exit_code

    def to_text(self) -> str:
        """A summary for the terminal."""
        job = self.job
        lines = [
            f"Job {job.name!r}: {self.status} ({self.outcome}) in {self.seconds:.1f}s"
            + (
                f" - {self.message}"
                if self.message and self.outcome is not Outcome.SUCCEEDED
                else ""
            ),
            f"  job run       : {self.run_id or '(not created)'} in experiment "
            f"{job.settings.experiment!r}, {job.settings.display_uri}",
            "  parameters    : "
            + (
                ", ".join(
                    f"{k}={format_value(v)}" for k, v in redact_parameters(job.values).items()
                )
                or "none"
            ),
            f"  output        : {job.output}"
            + (f" (logged as {JOB_OUTPUT_ARTIFACT})" if self.run_id else ""),
        ]
        for child in self.children:
            made = f" -> registered {', '.join(child.versions)}" if child.versions else ""
            lines.append(f"  child run     : {child.name} {child.status} {child.run_id}{made}")
        lines.extend(f"  warning       : {w}" for w in self.warnings)
        return "\n".join(lines)
