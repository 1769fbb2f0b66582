"""Executing a notebook in a fresh kernel with papermill: the one place we call papermill.

:class:`NotebookExecution` runs papermill on a worker thread so that its owner can watch the
progress (cells done / total), enforce a deadline and cancel it from any thread or a signal
handler: cancelling interrupts the kernel (the running cell gets ``KeyboardInterrupt``, so a
``%%mlops run`` cell ends its run KILLED) and, if it has not stopped after a grace period,
kills it. papermill still writes the output notebook in every case.

The kernel gets its environment explicitly (never by changing this process's environment,
so several executions can run side by side): ``JUPYTER_MLOPS_NOTEBOOK`` names the input
notebook, so lineage names it rather than the output. On POSIX the kernel talks over IPC
sockets (files only this user can open) instead of TCP ports on localhost.

Typed parameters are injected typed: papermill writes ints, floats, bools, lists and dicts
as Python literals; we add dates and datetimes (papermill would inject them as text).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jupyter_mlops.core.config import NOTEBOOK_ENV
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.jobs.engine import (
    ENGINE_NAME,
    EXECUTION_METADATA,
    injectable,
    is_user_code_cell,
    register_engine,
)
from jupyter_mlops.core.jobs.model import CellFailure, ExecutionOutcome, Outcome
from jupyter_mlops.core.jobs.temp_folders import private_folder

__all__ = [
    "EXECUTION_METADATA",
    "NotebookExecution",
    "execute_notebook",
    "executed_by",
]

_GRACE_S = 10.0  # after an interrupt, how long the kernel may take before it is killed


class NotebookExecution:
    """One papermill execution on a worker thread; :meth:`start`, then :meth:`wait`."""

    def __init__(
        self,
        notebook: Path,
        output: Path,
        *,
        parameters: Mapping[str, Any] | None = None,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        progress_bar: bool = False,
        on_cell: Callable[[int, int], None] | None = None,
        execution_id: str | None = None,
    ) -> None:
        self.notebook = notebook.resolve()
        # Stamped into the output's metadata: who wrote the file (see :func:`executed_by`).
        self.execution_id = execution_id or uuid.uuid4().hex
        self.output = output.resolve()
        self.parameters = dict(parameters or {})
        self.cwd = (cwd or self.notebook.parent).resolve()
        self.env = {**os.environ, **(env or {}), NOTEBOOK_ENV: str(self.notebook)}
        self.progress_bar = progress_bar
        self.on_cell = on_cell
        self.cells_done = 0
        self.cells_total = 0
        self._client: Any = None  # papermill's NotebookClient, once created
        self._cancel_reason: Outcome | None = None
        self._cancelled_at: float | None = None
        self._killed = False
        self._outcome: ExecutionOutcome | None = None
        self._thread = threading.Thread(target=self._execute, name="jupyter-mlops-papermill")
        # IPC socket files live in a private folder named by an absolute path: a relative
        # one would be resolved against the kernel's folder by the kernel and against ours
        # by the client, and they would never meet when the two differ (--cwd).
        self._sockets: Path | None = None

    # -- control ---------------------------------------------------------------------------
    def start(self) -> NotebookExecution:
        """Start executing on the worker thread; returns at once."""
        self.output.parent.mkdir(parents=True, exist_ok=True)
        if os.name == "posix":
            self._sockets = private_folder("kernel")
        self._thread.start()
        return self

    def cancel(self, reason: Outcome) -> None:
        """Stop the execution: interrupt the kernel now, kill it after a grace period (see
        :meth:`wait`). Safe to call from a signal handler and more than once; the first
        ``reason`` becomes the outcome."""
        if self._cancel_reason is None:
            self._cancel_reason = reason
            self._cancelled_at = time.monotonic()
        self._signal_kernel(signal.SIGINT)

    @property
    def cancel_reason(self) -> Outcome | None:
        """Why :meth:`cancel` was called, None when it was not."""
        return self._cancel_reason

    def wait(self, timeout: float | None = None) -> ExecutionOutcome | None:
        """Wait up to ``timeout`` seconds (None: until done); the outcome, or None if still
        running. While cancelled, a kernel that ignores the interrupt is killed after the
        grace period."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._thread.is_alive():
            step = 0.2 if deadline is None else min(0.2, max(0.0, deadline - time.monotonic()))
            self._thread.join(step)
            self._escalate()
            if deadline is not None and time.monotonic() >= deadline:
                break
        return self._outcome if not self._thread.is_alive() else None

    def _escalate(self) -> None:
        if self._cancelled_at is None or self._killed:
            return
        if time.monotonic() - self._cancelled_at > _GRACE_S:
            self._killed = self._signal_kernel(signal.SIGKILL)

    def _signal_kernel(self, signum: int) -> bool:
        manager = getattr(self._client, "km", None)
        provisioner = getattr(manager, "provisioner", None)
        pid = getattr(provisioner, "pid", None)
        if not isinstance(pid, int):
            return False
        try:
            os.kill(pid, signum)
        except OSError:  # already gone
            return False
        return True

    # -- the worker ------------------------------------------------------------------------
    def _execute(self) -> None:
        try:
            self._execute_notebook()
        finally:
            if self._sockets is not None:
                shutil.rmtree(self._sockets, ignore_errors=True)
            _close_thread_loop()

    def kernel_config(self) -> Any:
        from traitlets.config import Config

        if self._sockets is None:
            return Config()
        return Config({"KernelManager": {"transport": "ipc", "ip": str(self._sockets / "kernel")}})

    def _execute_notebook(self) -> None:
        import nbclient.exceptions
        import papermill

        register_engine()
        try:
            papermill.execute_notebook(
                str(self.notebook),
                str(self.output),
                parameters={k: injectable(v) for k, v in self.parameters.items()},
                # the kernel gets ``cwd`` from the engine: papermill's own ``cwd`` would
                # chdir this whole process
                progress_bar=self.progress_bar,
                kernel_name="python3",
                engine_name=ENGINE_NAME,
                jupyter_mlops_hooks=self,
            )
            self._finish(Outcome.SUCCEEDED)
        except papermill.PapermillExecutionError as exc:
            if self._cancel_reason is not None:
                self._finish_cancelled()
            else:
                self._finish(Outcome.CELL_FAILED, failure=self._failure(exc))
        except nbclient.exceptions.DeadKernelError as exc:
            if self._cancel_reason is not None:
                self._finish_cancelled(message=str(exc))
            else:
                self._finish(Outcome.KERNEL_DIED, message=str(exc))
        except _Cancelled:
            self._finish_cancelled()
        except Exception as exc:
            if self._cancel_reason is not None:
                self._finish_cancelled(message=str(exc))
            else:
                self._finish(Outcome.ERROR, message=f"{type(exc).__name__}: {exc}")

    def _finish_cancelled(self, *, message: str = "") -> None:
        assert self._cancel_reason is not None
        self._finish(self._cancel_reason, cancelled=True, message=message)

    def _finish(
        self,
        kind: Outcome,
        *,
        failure: CellFailure | None = None,
        cancelled: bool = False,
        message: str = "",
    ) -> None:
        self._outcome = ExecutionOutcome(
            kind=kind,
            output=self.output,
            cells_done=self.cells_done,
            cells_total=self.cells_total,
            failure=failure,
            cancelled=cancelled,
            message=message,
        )

    def _failure(self, exc: Any) -> CellFailure:
        """Describe the failed cell from the output notebook (papermill inserts error banners
        there, so its ``cell_index`` is not a position in the file)."""
        ename, evalue = str(exc.ename), _first_line(str(exc.evalue))
        source = exc.source if isinstance(exc.source, str) else "".join(exc.source or [])
        cell_id = None
        try:
            import nbformat

            cells = nbformat.read(str(self.output), as_version=4).cells  # type: ignore[no-untyped-call]
        except Exception:  # unreadable output: report what papermill said
            cells = []
        failed = [
            c for c in cells if (c.get("metadata", {}).get("papermill") or {}).get("exception")
        ]
        if failed:
            cell = failed[0]
            cell_id = cell.get("id")
            if ename == "CellExecutionError" and not evalue:
                # e.g. a magic's UsageError: IPython prints it to stderr, no error output
                ename, evalue = _last_error_line(cell.get("outputs", []))
        code_cells = [c for c in cells if is_user_code_cell(c)]
        index = next((i for i, c in enumerate(code_cells) if failed and c is failed[0]), None)
        return CellFailure(
            index=index if index is not None else int(exc.cell_index),
            execution_count=exc.exec_count,
            cell_id=cell_id,
            ename=ename,
            evalue=evalue,
            first_line=(source.splitlines() or [""])[0][:80],
        )

    # -- papermill_engine.ExecutionHooks: called on the worker thread ----------------------
    def attach(self, client: Any, total: int) -> None:
        self._client = client
        self.cells_total = total
        if self._cancel_reason is not None:  # cancelled before the kernel existed
            raise _Cancelled()

    def cell_started(self) -> None:
        if self._cancel_reason is not None:
            raise _Cancelled()

    def cell_completed(self, is_code: bool) -> None:
        if is_code:
            self.cells_done += 1
            if self.on_cell is not None:
                self.on_cell(self.cells_done, self.cells_total)


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0] if stripped else ""


def _last_error_line(outputs: list[Any]) -> tuple[str, str]:
    """(name, message) from the last stderr line that looks like ``Name: message``."""
    for output in reversed(outputs):
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            for line in reversed(str(output.get("text", "")).strip().splitlines()):
                name, sep, message = line.partition(": ")
                if sep and name.isidentifier():
                    return name, message.strip()
    return "CellExecutionError", "the cell failed without an error message"


def executed_by(output: Path) -> str | None:
    """The execution id stamped in the executed notebook ``output``; None when it has none or
    cannot be read. Several executions writing one path leave the last writer's id."""
    import json

    try:
        document = json.loads(output.read_text(encoding="utf-8"))
        stamp = document["metadata"]["jupyter_mlops"][EXECUTION_METADATA]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return stamp if isinstance(stamp, str) else None


class _Cancelled(Exception):
    """Raised on the worker thread to stop before the next cell."""


def execute_notebook(
    notebook: Path,
    output: Path,
    *,
    parameters: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    progress: bool = False,
) -> None:
    """Execute ``notebook`` into ``output`` in a fresh ``python3`` kernel and wait.

    Raises:
        MlopsError: INTERNAL when a cell fails (naming the cell and the error; the executed
            notebook is still written to ``output``) or the kernel dies.
    """
    execution = NotebookExecution(
        notebook, output, parameters=parameters, cwd=cwd, env=env, progress_bar=progress
    ).start()
    try:
        outcome = execution.wait()
    except KeyboardInterrupt:
        execution.cancel(Outcome.INTERRUPTED)
        execution.wait()
        raise
    assert outcome is not None
    if outcome.kind is Outcome.SUCCEEDED:
        return
    detail = outcome.failure.describe() if outcome.failure else outcome.message or outcome.kind
    raise MlopsError(
        f"{notebook.name}: {detail} (executed notebook written to {outcome.output})",
        ErrorCode.INTERNAL,
    )


# -- papermill integration -------------------------------------------------------------------


def _close_thread_loop() -> None:
    """Close the event loop nbclient left on this worker thread.

    Its self-pipe sockets would otherwise stay open until garbage collection: harmless in the
    one-job CLI, a leak per job in a long-lived server.
    """
    import asyncio

    with contextlib.suppress(RuntimeError):  # no loop was set on this thread
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if not loop.is_running():
            loop.close()
        asyncio.set_event_loop(None)
