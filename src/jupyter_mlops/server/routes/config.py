"""``GET config?notebook=PATH``: where that notebook's runs go."""

from __future__ import annotations

from pathlib import Path

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.core.paths import relative_to_root
from jupyter_mlops.core.store.notebook_store import NotebookStore
from jupyter_mlops.server.base import MlopsHandler
from jupyter_mlops.server.contract import ConfigReply

__all__ = ["ROUTES"]


def config_reply(store: NotebookStore, root: Path, mlflow_ui_url: str) -> ConfigReply:
    """The notebook's resolved settings (secrets masked), paths relative to ``root``."""
    settings = store.settings
    return {
        "notebook": store.notebook_tag,
        "tracking_uri": settings.display_uri,
        "tracking_uri_source": settings.tracking_uri_source,
        "experiment": settings.experiment,
        "experiment_source": settings.experiment_source,
        "project_root": relative_to_root(root, settings.project_root),
        "store_exists": store.exists,
        "mlflow_ui_url": mlflow_ui_url or None,
    }


class ConfigHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.notebook_argument(required=True)
        self.reply(
            await self.in_store(notebook, config_reply, self.root_dir, self.app.mlflow_ui_url)
        )


ROUTES: list[tuple[str, type]] = [(r"config", ConfigHandler)]
