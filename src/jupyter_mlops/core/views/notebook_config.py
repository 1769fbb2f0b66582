"""Where a notebook's runs go, as the panel shows it (the ``ConfigReply`` of
:mod:`jupyter_mlops.core.types`; paths relative to the server's ``root``)."""

from __future__ import annotations

from pathlib import Path

from jupyter_mlops.core.paths import relative_to_root
from jupyter_mlops.core.store.notebook_store import NotebookStore
from jupyter_mlops.core.types import ConfigReply
from jupyter_mlops.core.views.served_paths import served_notebook

__all__ = ["notebook_config"]


def notebook_config(store: NotebookStore, *, root: Path, mlflow_ui_url: str = "") -> ConfigReply:
    """The store, experiment and project root ``store``'s notebook resolves to, with where
    each setting came from; nothing is created."""
    settings = store.settings
    return {
        "notebook": served_notebook(root, store),
        "tracking_uri": settings.display_uri,
        "tracking_uri_source": settings.tracking_uri_source,
        "experiment": settings.experiment,
        "experiment_source": settings.experiment_source,
        "project_root": relative_to_root(root, settings.project_root),
        "store_exists": store.exists,
        "mlflow_ui_url": mlflow_ui_url or None,
    }
