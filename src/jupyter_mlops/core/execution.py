"""Executing a notebook in a fresh kernel with papermill: the one place we call papermill.

The kernel is told which notebook it runs (``JUPYTER_MLOPS_NOTEBOOK``), so lineage names the
input notebook, not the output. On POSIX the kernel talks over IPC sockets (files only this
user can open) instead of TCP ports on localhost, which also spares users ipykernel's warning
about unencrypted TCP.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from traitlets.config import Config

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.notebook import NOTEBOOK_ENV

__all__ = ["execute_notebook"]


def execute_notebook(
    notebook: Path,
    output: Path,
    *,
    parameters: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
    progress: bool = False,
) -> None:
    """Execute ``notebook`` into ``output`` in a fresh ``python3`` kernel.

    Raises:
        MlopsError: INTERNAL when a cell fails, naming the cell and the error; the executed
            notebook is still written to ``output``.
    """
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    config = Config({"KernelManager": {"transport": "ipc"}}) if os.name == "posix" else Config()
    with _environment(NOTEBOOK_ENV, str(notebook)):
        try:
            papermill.execute_notebook(
                str(notebook),
                str(output),
                parameters=dict(parameters or {}),
                cwd=str(cwd or notebook.parent),
                progress_bar=progress,
                kernel_name="python3",
                config=config,
            )
        except papermill.PapermillExecutionError as exc:
            raise MlopsError(
                f"cell {exc.exec_count} of {notebook.name} failed: {exc.ename}: {exc.evalue} "
                f"(executed notebook written to {output})",
                ErrorCode.INTERNAL,
            ) from exc


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """Set one variable for the kernel to inherit, restoring the previous value after."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous
