"""The store a notebook's runs live in, resolved for reading: nothing is created.

A server answers questions about many notebooks; each one resolves its tracking URI and
experiment exactly as ``%mlops init`` would from that notebook, but a read never creates a
SQLite file or an experiment (a notebook that recorded nothing yet simply has no runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_mlops.core.config import Settings, resolve_settings, sqlite_database
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.store.clients import cached_client

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["NotebookStore", "notebook_store"]


@dataclass(frozen=True)
class NotebookStore:
    """Where a notebook's runs are: settings, the notebook as runs record it, and whether the
    store exists at all."""

    settings: Settings
    notebook: Path | None
    notebook_tag: str | None  # ``mlops.notebook.path`` of its runs (relative to the project)
    exists: bool

    def client(self) -> MlflowClient:
        """The (cached) client of this store.

        Raises:
            MlopsError: NOT_FOUND when the store does not exist (reading must not create it);
                as :func:`~jupyter_mlops.core.workspace.cached_client` otherwise.
        """
        if not self.exists:
            raise MlopsError(
                f"no MLflow store at {self.settings.display_uri} yet", ErrorCode.NOT_FOUND
            )
        return cached_client(self.settings.tracking_uri)

    def experiment_id(self) -> str | None:
        """The id of the notebook's experiment; None when the store or the experiment does not
        exist or the experiment is deleted."""
        if not self.exists:
            return None
        experiment = self.client().get_experiment_by_name(self.settings.experiment)
        if experiment is None or experiment.lifecycle_stage == "deleted":
            return None
        return str(experiment.experiment_id)


def notebook_store(
    notebook: Path | None, *, cwd: Path, tracking_uri: str | None = None
) -> NotebookStore:
    """Resolve the store of ``notebook`` (an absolute path), else of the folder ``cwd``.

    Raises:
        MlopsError: CONFIG when the project's ``pyproject.toml`` is malformed.
    """
    settings = resolve_settings(tracking_uri=tracking_uri or None, notebook=notebook, cwd=cwd)
    database = sqlite_database(settings.tracking_uri)
    tag = None
    if notebook is not None:
        resolved = notebook.resolve()
        try:
            tag = resolved.relative_to(settings.project_root).as_posix()
        except ValueError:
            tag = resolved.as_posix()
    return NotebookStore(
        settings=settings,
        notebook=notebook,
        notebook_tag=tag,
        exists=database is None or database.is_file(),
    )
