"""Jobs run in the background of a long-lived process (the Jupyter server behind the panel):
start one, watch its progress and log, cancel it, and cancel them all on shutdown.

Each :class:`Execution` wraps a :class:`~jupyter_mlops.core.jobs.run.JobRun` on a thread of its
own, so the caller (a tornado handler) never waits for a kernel.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.jobs.model import JobResult, Outcome, PreparedJob
from jupyter_mlops.core.jobs.parameters.values import to_json_value
from jupyter_mlops.core.jobs.run import JobRun, prepare_job
from jupyter_mlops.core.paths import confine, relative_to_root, safe_file_name
from jupyter_mlops.core.redaction import mask_uris, redact_parameters

__all__ = ["Execution", "ExecutionManager"]

_REASSIGNED_HINT = " (the panel does not run a job whose parameters a later cell reassigns)"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Execution:
    """One background job: status, progress, a bounded log and, at the end, its result."""

    def __init__(self, job: PreparedJob, root: Path, log_lines: int) -> None:
        self.id = uuid.uuid4().hex
        self.job = job
        self.root = root
        self.started = _now()
        self.ended: str | None = None
        self.result: JobResult | None = None
        self.error: str | None = None
        self._log: collections.deque[str] = collections.deque(maxlen=max(1, log_lines))
        self._lock = threading.Lock()
        self._cancel_requested = False
        self._kernel_started = False
        self.run = JobRun(job, on_cell=self._on_cell)
        self._thread = threading.Thread(target=self._work, name=f"jupyter-mlops-{self.id[:8]}")

    # -- the worker -------------------------------------------------------------------------
    def start(self) -> Execution:
        self.log(f"job {self.job.name!r}: starting a kernel for {self.job.notebook.name}")
        self._thread.start()
        return self

    def _work(self) -> None:
        try:
            self.run.start()
            with self._lock:
                self._kernel_started = True
                cancel = self._cancel_requested
            if cancel:
                self.run.cancel(Outcome.INTERRUPTED)
            result = self.run.wait()
        except Exception as exc:  # a job that cannot even start must still end visibly
            self.error = mask_uris(str(exc)) or type(exc).__name__
            self.log(f"could not run the job: {self.error}")
            self.ended = _now()
            return
        for line in result.to_text().splitlines() if result is not None else []:
            self.log(line)
        self.result = result  # after its summary is in the log: a reply that ends shows it
        self.ended = _now()

    def _on_cell(self, done: int, total: int) -> None:
        self.log(f"cell {done}/{total} done")

    def log(self, line: str) -> None:
        with self._lock:
            self._log.append(mask_uris(line))

    # -- control ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.ended is None

    def cancel(self) -> None:
        """Ask the job to stop: its kernel is interrupted, then killed; its runs end KILLED.

        Raises:
            MlopsError: CONFLICT when it has ended already.
        """
        if not self.running:
            raise MlopsError(f"execution {self.id} has ended already", ErrorCode.CONFLICT)
        self.log("cancel requested")
        with self._lock:
            self._cancel_requested = True
            started = self._kernel_started
        if started:
            self.run.cancel(Outcome.INTERRUPTED)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    # -- the reply ---------------------------------------------------------------------------
    def status(self) -> str:
        return self._status(self.result, self.error)

    def _status(self, result: JobResult | None, error: str | None) -> str:
        if result is not None:
            return result.status
        if error is not None:
            return "FAILED"
        return "RUNNING" if self.run.run_id or self.run.progress[0] else "STARTING"

    def to_dict(self) -> dict[str, Any]:
        """The ``ExecutionReply`` of the server's REST contract."""
        done, total = self.run.progress
        # one reading of what the worker thread sets: status and outcome must agree
        result, error = self.result, self.error
        # one that could not even start ran none of the notebook: ERROR, never a made-up outcome
        outcome = result.outcome if result else (Outcome.ERROR if error else None)
        with self._lock:
            log = list(self._log)
        return {
            "id": self.id,
            "notebook": relative_to_root(self.root, self.job.notebook),
            "job_name": self.job.name,
            "status": self._status(result, error),
            "outcome": outcome.value if outcome is not None else None,
            "message": result.message if result else (error or ""),
            "cells_done": done,
            "cells_total": total,
            "run_id": self.run.run_id,
            "child_run_ids": [c.run_id for c in result.children] if result else [],
            "parameters": redact_parameters(
                {k: to_json_value(v) for k, v in self.job.values.items()}
            ),
            "started": self.started,
            "ended": self.ended,
            "log_tail": log,
            "output": relative_to_root(self.root, self.job.output),
        }


class ExecutionManager:
    """The executions one process started, by id; at most ``max_running`` at once."""

    def __init__(self, *, max_running: int = 2, log_lines: int = 40) -> None:
        self.max_running = max_running
        self.log_lines = log_lines
        self._executions: dict[str, Execution] = {}
        self._lock = threading.Lock()

    def start(
        self,
        notebook: Path,
        *,
        root: Path,
        values: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        tracking_uri: str | None = None,
    ) -> Execution:
        """Check the job (before any kernel) and start it in the background.

        The executed notebook goes where ``jupyter-mlops run`` puts it when that is inside
        ``root``, else to ``root/build/jobs/<job>/<time>-<job id>.ipynb``.

        A notebook that reassigns a parameter after its parameters cell is refused (USAGE,
        naming the parameter, cell and line): the panel has no way to run it anyway.

        Raises:
            MlopsError: as :func:`~jupyter_mlops.core.jobs.run.prepare_job` (nothing started);
                CONFLICT when ``max_running`` executions are running already.
        """
        prepare = partial(
            prepare_job,
            notebook,
            values=values or {},
            timeout=timeout,
            tracking_uri=tracking_uri,
            reassigned_hint=_REASSIGNED_HINT,
        )
        job = prepare()
        if not job.output.resolve().is_relative_to(root.resolve()):
            folder = safe_file_name(job.name)
            output = confine(root, f"build/jobs/{folder}/{job.output.name}", must_exist=False)
            output.parent.mkdir(parents=True, exist_ok=True)  # ours: --output's folder must exist
            job = prepare(output=output, job_id=job.job_id)
        confine(root, relative_to_root(root, job.output), must_exist=False, suffix=".ipynb")
        with self._lock:
            running = [e for e in self._executions.values() if e.running]
            if len(running) >= self.max_running:
                raise MlopsError(
                    f"{len(running)} job(s) are running already (the limit is "
                    f"{self.max_running}): wait for one to end or cancel it",
                    ErrorCode.CONFLICT,
                )
            execution = Execution(job, root, self.log_lines)
            self._executions[execution.id] = execution
        return execution.start()

    def get(self, execution_id: str) -> Execution:
        """Raises: MlopsError NOT_FOUND for an id this process did not start."""
        with self._lock:
            found = self._executions.get(execution_id)
        if found is None:
            raise MlopsError(f"no job execution {execution_id[:40]!r}", ErrorCode.NOT_FOUND)
        return found

    def list(self, notebook: Path | None = None) -> list[Execution]:
        """Executions (of ``notebook`` when given), newest first."""
        with self._lock:
            found = list(self._executions.values())
        if notebook is not None:
            found = [e for e in found if e.job.notebook == notebook.resolve()]
        return sorted(found, key=lambda e: e.started, reverse=True)

    def shutdown(self, timeout: float = 20.0) -> None:
        """Cancel every running execution and wait for their runs to be ended."""
        running = [e for e in self.list() if e.running]
        for execution in running:
            with contextlib.suppress(MlopsError):  # it ended meanwhile
                execution.cancel()
        for execution in running:
            execution.join(timeout)
