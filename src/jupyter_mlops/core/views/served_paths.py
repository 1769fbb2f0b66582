"""Paths as the REST contract gives them: relative to the server's root directory.

Runs and model versions record a notebook's path relative to its *project* root (the folder
of its ``pyproject.toml``), which is what a search filters on. A server may run in a parent
folder of the project, so every path a view hands out is converted here, at the boundary:
``notebooks/x.ipynb`` of the project ``project/`` is ``project/notebooks/x.ipynb`` to a
server started one folder up.
"""

from __future__ import annotations

from pathlib import Path

from jupyter_mlops.core.paths import relative_to_root
from jupyter_mlops.core.store.notebook_store import NotebookStore

__all__ = ["served_notebook", "served_path"]


def served_path(root: Path, store: NotebookStore, recorded: str | None) -> str | None:
    """``recorded`` (a path as a tag of ``store``'s runs holds it: relative to the project root,
    or absolute) relative to the server's ``root``; the absolute path when it lies outside."""
    if recorded is None:
        return None
    return relative_to_root(root, store.settings.project_root / recorded)


def served_notebook(root: Path, store: NotebookStore) -> str | None:
    """The notebook ``store`` was resolved for, relative to the server's ``root`` (None when
    the store is that of a folder)."""
    return None if store.notebook is None else relative_to_root(root, store.notebook)
