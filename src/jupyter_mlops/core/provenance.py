"""Where a run came from: the lineage tags written on every captured run.

See ``docs/what-is-recorded.md`` for the meaning of each tag.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from jupyter_mlops.core.git_state import read_git_state
from jupyter_mlops.core.notebook import find_cell_id

if TYPE_CHECKING:
    from jupyter_mlops.core.capture import CellCode
    from jupyter_mlops.core.session import Target

__all__ = ["lineage_tags", "relative_notebook_path"]

# nbformat 4.5 cell ids; VS Code sends its own URI-like ids, which are not these.
_NBFORMAT_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def relative_notebook_path(target: Target) -> str | None:
    """The notebook's path relative to the project root (POSIX form), None when unknown."""
    notebook = target.notebook.path
    if notebook is None:
        return None
    try:
        return notebook.relative_to(target.settings.project_root).as_posix()
    except ValueError:  # an explicit --notebook outside the project
        return notebook.as_posix()


def lineage_tags(target: Target, code: CellCode) -> dict[str, str]:
    """Return the tags that tie a run to its notebook, cell, commit and tool version."""
    from jupyter_mlops import __version__

    tags = {
        "mlflow.source.type": "NOTEBOOK",
        "mlops.version": __version__,
        "mlops.notebook.found_by": target.notebook.found_by,
        "mlops.project.root": str(target.settings.project_root),
    }
    relative = relative_notebook_path(target)
    if relative is not None:
        tags["mlflow.source.name"] = relative
        tags["mlops.notebook.path"] = relative
    cell_id = code.cell_id if code.cell_id and _NBFORMAT_CELL_ID.match(code.cell_id) else None
    if cell_id is None and target.notebook.path is not None:
        cell_id = find_cell_id(target.notebook.path, code.source)
    if cell_id:
        tags["mlops.cell.id"] = cell_id
    if code.execution_count is not None:
        tags["mlops.cell.execution_count"] = str(code.execution_count)
    folder = target.notebook.path.parent if target.notebook.path else target.settings.project_root
    git = read_git_state(folder, target.notebook.path)
    if git is not None:
        tags["mlflow.source.git.commit"] = git.commit
        tags["mlops.git.dirty"] = "true" if git.dirty else "false"
    return tags
