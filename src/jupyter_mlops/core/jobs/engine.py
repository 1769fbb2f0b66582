"""Our papermill engine: papermill's nbclient engine plus hooks for the caller.

Registered once per process under ``jupyter-mlops``. Through :class:`ExecutionHooks` the
caller (:class:`jupyter_mlops.core.jobs.execution.NotebookExecution`) gives the kernel its
environment, working folder and IPC settings, gets the notebook client (to signal the
kernel) and hears about each cell. The Python translator is papermill's, plus dates and
datetimes injected as real values.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any, Protocol

__all__ = [
    "ENGINE_NAME",
    "EXECUTION_METADATA",
    "ExecutionHooks",
    "injectable",
    "is_user_code_cell",
    "register_engine",
]

ENGINE_NAME = "jupyter-mlops"
#: ``metadata.jupyter_mlops[EXECUTION_METADATA]`` of an output notebook: the execution's id.
EXECUTION_METADATA = "execution_id"


class ExecutionHooks(Protocol):
    """What the engine needs from the execution it runs for."""

    env: dict[str, str]
    execution_id: str

    @property
    def cwd(self) -> Any: ...

    def kernel_config(self) -> Any:
        """traitlets config for the kernel manager."""

    def attach(self, client: Any, total: int) -> None:
        """The notebook client exists; ``total`` user code cells will run."""

    def cell_started(self) -> None:
        """A cell is about to run (may raise to stop)."""

    def cell_completed(self, is_code: bool) -> None:
        """A cell has run."""


_registered = threading.Lock()
_done: list[bool] = []


def register_engine() -> None:
    """Register our papermill engine and the date-aware translator (once per process)."""
    with _registered:
        if _done:
            return
        from papermill.engines import NBClientEngine, papermill_engines
        from papermill.translators import PythonTranslator, papermill_translators

        class _Translator(PythonTranslator):  # type: ignore[misc]
            """papermill's Python translator, plus dates and datetimes as real values."""

            @classmethod
            def translate(cls, val: Any) -> str:
                if isinstance(val, _IsoDate):
                    return f'__import__("datetime").{val.kind}.fromisoformat("{val}")'
                return str(super().translate(val))

        class _Engine(NBClientEngine):  # type: ignore[misc]
            """papermill's nbclient engine, reporting to its :class:`ExecutionHooks`."""

            @classmethod
            def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
                from papermill.clientwrap import PapermillNotebookClient
                from papermill.utils import merge_kwargs, remove_args

                hooks: ExecutionHooks = kwargs.pop("jupyter_mlops_hooks")
                execution_timeout = kwargs.pop("execution_timeout", None)
                start_timeout = kwargs.pop("start_timeout", 60)
                kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
                final = merge_kwargs(
                    kwargs,
                    timeout=execution_timeout,
                    startup_timeout=start_timeout,
                    kernel_name=kernel_name,
                    log_output=kwargs.pop("log_output", False),
                )
                final["config"] = hooks.kernel_config()
                _watch_cells(nb_man, hooks)
                # Saved with every write of the output: which execution wrote this file.
                stamp = nb_man.nb.metadata.setdefault("jupyter_mlops", {})
                stamp[EXECUTION_METADATA] = hooks.execution_id
                client = PapermillNotebookClient(nb_man, **final)
                code_cells = sum(1 for c in nb_man.nb.cells if is_user_code_cell(c))
                hooks.attach(client, code_cells)
                return client.execute(env=hooks.env, cwd=str(hooks.cwd))

        # We check parameter names ourselves; papermill cannot parse some annotations
        # (``int | None``, ``datetime.date``) and would warn about names it missed.
        logging.getLogger("papermill").addFilter(_KnownParameters())
        papermill_translators.register("python", _Translator)
        papermill_engines.register(ENGINE_NAME, _Engine)
        _done.append(True)


class _KnownParameters(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Passed unknown parameter")


class _IsoDate(str):
    """A date or datetime parameter on its way to the kernel: text in the notebook's
    papermill metadata (which is JSON), a real date in the injected cell."""

    kind: str

    def __new__(cls, text: str, kind: str = "date") -> _IsoDate:
        value = super().__new__(cls, text)
        value.kind = kind
        return value

    def __reduce__(self) -> tuple[Any, ...]:  # papermill deep-copies its parameters
        return (_IsoDate, (str(self), self.kind))


def injectable(value: Any) -> Any:
    """A parameter value as papermill should receive it (dates wrapped in :class:`_IsoDate`)."""
    if isinstance(value, dt.date):
        return _IsoDate(value.isoformat(), "datetime" if isinstance(value, dt.datetime) else "date")
    return value


_INJECTED_TAG = "injected-parameters"


def is_user_code_cell(cell: Any) -> bool:
    """A code cell of the user's notebook (not the one papermill injects)."""
    tags = cell.get("metadata", {}).get("tags") or []
    return bool(cell.get("cell_type") == "code" and _INJECTED_TAG not in tags)


def _watch_cells(nb_man: Any, hooks: ExecutionHooks) -> None:
    """Wrap papermill's per-cell callbacks so the hooks see each cell start and end."""
    started, completed = nb_man.cell_start, nb_man.cell_complete

    def cell_start(cell: Any, cell_index: int | None = None, **kwargs: Any) -> Any:
        hooks.cell_started()
        return started(cell, cell_index, **kwargs)

    def cell_complete(cell: Any, cell_index: int | None = None, **kwargs: Any) -> Any:
        result = completed(cell, cell_index, **kwargs)
        hooks.cell_completed(is_user_code_cell(cell))
        return result

    nb_man.cell_start = cell_start
    nb_man.cell_complete = cell_complete
