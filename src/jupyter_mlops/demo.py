"""The Quickstart demo: execute an example notebook with papermill and report what it recorded."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jupyter_mlops.core.capture.session import Session
from jupyter_mlops.core.config import Settings
from jupyter_mlops.core.console_scripts import runnable
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.jobs.execution import execute_notebook
from jupyter_mlops.core.registry.inventory import Inventory, build_inventory
from jupyter_mlops.core.store.tracking import ui_command
from jupyter_mlops.core.views.run_list import RunList, notebook_runs

__all__ = ["DemoReport", "run_demo"]


@dataclass(frozen=True)
class DemoReport:
    """What the demo executed and where its runs are."""

    notebook: Path
    output: Path
    settings: Settings
    runs: RunList
    inventory: Inventory  # every registered model in the store
    ui_command: str
    seconds: float


def run_demo(
    notebook: Path,
    output: Path,
    *,
    progress: bool = True,
    on_start: Callable[[Path], None] | None = None,
) -> DemoReport:
    """Execute ``notebook`` with papermill in a fresh kernel (writing ``output``) and list the
    runs it recorded and the registered models in the store the notebook resolves to (the
    embedded SQLite default unless configured otherwise). ``on_start`` is called once the
    inputs are checked, before the kernel starts.

    Raises:
        MlopsError: USAGE when the notebook does not exist; INTERNAL when a cell fails
            (the output notebook is still written and named in the message).
    """
    notebook = notebook.resolve()
    if not notebook.is_file():
        raise MlopsError(f"notebook {notebook} does not exist", ErrorCode.USAGE)
    output = output.resolve()
    if on_start is not None:
        on_start(notebook)
    started = time.monotonic()
    execute_notebook(notebook, output, progress=progress)
    target = Session(notebook=str(notebook)).target()
    settings = target.settings
    return DemoReport(
        notebook=notebook,
        output=output,
        settings=settings,
        runs=notebook_runs(target, limit=10),
        inventory=build_inventory(target.client, settings.display_uri),
        ui_command=ui_command(
            settings.tracking_uri, settings.project_root, program=runnable("mlflow")
        ),
        seconds=time.monotonic() - started,
    )
