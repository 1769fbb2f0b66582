"""Where a run came from: the lineage tags written on every captured run.

See ``docs/what-is-recorded.md`` for the meaning of each tag.
"""

from __future__ import annotations

import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_mlops.core.capture.git_state import GitState, read_git_state
from jupyter_mlops.core.capture.notebook import find_cell_id
from jupyter_mlops.core.store.queries import notebook_tag_filter
from jupyter_mlops.core.tags import (
    CELL_EXECUTION_COUNT_TAG,
    CELL_ID_TAG,
    CODE_PATH_TAG,
    GIT_DIRTY_TAG,
    NOTEBOOK_FOUND_BY_TAG,
    NOTEBOOK_PATH_TAG,
    PROJECT_ROOT_TAG,
    SCRIPT_PATH_TAG,
    VERSION_TAG,
)

if TYPE_CHECKING:
    from jupyter_mlops.core.capture.session import Target

__all__ = [
    "CellCode",
    "git_tags",
    "lineage_tags",
    "notebook_filter",
    "relative_notebook_path",
    "start_git_probe",
]

# git runs as a subprocess; on this thread it overlaps the run's creation and the cell itself.
_GIT_PROBES = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jupyter-mlops-git")

# nbformat 4.5 cell ids; VS Code sends its own URI-like ids, which are not these.
_NBFORMAT_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass(frozen=True)
class CellCode:
    """The code that a run records.

    ``source`` is exactly what the user wrote (for ``code/cell.py``); ``python`` is the same
    code as plain Python (IPython syntax such as ``!cmd`` transformed), used to find the data
    it refers to; ``cell_id`` and ``execution_count`` locate it in the notebook; ``script`` is
    the file it came from when it is a Python script rather than a notebook cell.
    """

    source: str
    python: str | None = None
    cell_id: str | None = None
    execution_count: int | None = None
    script: Path | None = None


def relative_notebook_path(target: Target) -> str | None:
    """The notebook's path relative to the project root (POSIX form), None when unknown."""
    notebook = target.notebook.path
    return None if notebook is None else _relative(notebook, target)


def _relative(path: Path, target: Target) -> str:
    try:
        return path.relative_to(target.settings.project_root).as_posix()
    except ValueError:  # an explicit --notebook (or a script) outside the project
        return path.as_posix()


def start_git_probe(target: Target, code: CellCode) -> Future[GitState | None]:
    """Start reading the git state of the code's file (the state when the cell starts)."""
    origin = code.script or target.notebook.path
    folder = origin.parent if origin is not None else target.settings.project_root
    return _GIT_PROBES.submit(read_git_state, folder, origin)


def git_tags(state: GitState | None) -> dict[str, str]:
    """The commit tags of a run; none outside git or before the first commit."""
    if state is None:
        return {}
    return {
        "mlflow.source.git.commit": state.commit,
        GIT_DIRTY_TAG: "true" if state.dirty else "false",
    }


def lineage_tags(target: Target, code: CellCode) -> dict[str, str]:
    """Return the tags that tie a run to its notebook, cell and tool version.

    The commit tags come from :func:`start_git_probe` / :func:`git_tags`.
    """
    from jupyter_mlops._version import __version__

    tags = {
        VERSION_TAG: __version__,
        PROJECT_ROOT_TAG: str(target.settings.project_root),
    }
    if code.script is not None:  # jupyter_mlops.run() in a Python script
        found = target.notebook
        entry = found.path if found.found_by == "script" and found.path else code.script
        script = _relative(entry, target)
        tags.update({"mlflow.source.type": "LOCAL", "mlflow.source.name": script})
        tags[SCRIPT_PATH_TAG] = script  # the program that was run
        if code.script != entry:  # the module whose code ran, imported by that program
            tags[CODE_PATH_TAG] = _relative(code.script, target)
        return tags
    tags["mlflow.source.type"] = "NOTEBOOK"
    tags[NOTEBOOK_FOUND_BY_TAG] = target.notebook.found_by
    relative = relative_notebook_path(target)
    if relative is not None:
        tags["mlflow.source.name"] = relative
        tags[NOTEBOOK_PATH_TAG] = relative
    cell_id = code.cell_id if code.cell_id and _NBFORMAT_CELL_ID.match(code.cell_id) else None
    if cell_id is None and target.notebook.path is not None:
        cell_id = find_cell_id(target.notebook.path, code.source)
    if cell_id:
        tags[CELL_ID_TAG] = cell_id
    if code.execution_count is not None:
        tags[CELL_EXECUTION_COUNT_TAG] = str(code.execution_count)
    return tags


def notebook_filter(target: Target) -> tuple[str, str | None, str]:
    """The ``search_runs`` filter selecting runs of ``target``'s notebook (or script).

    Returns:
        (filter string, "" when the notebook is unknown; its relative path; "notebook" or
        "script").
    """
    notebook = relative_notebook_path(target)
    kind = "script" if target.notebook.found_by == "script" else "notebook"
    query = "" if notebook is None else notebook_tag_filter(notebook, kind)
    return query, notebook, kind
