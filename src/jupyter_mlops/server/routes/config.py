"""``GET config?notebook=PATH``: where that notebook's runs go."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.core.views.notebook_config import notebook_config
from jupyter_mlops.server.base import MlopsHandler

__all__ = ["ROUTES"]


class ConfigHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.notebook_argument(required=True)
        self.reply(
            await self.in_store(
                notebook, notebook_config, root=self.root_dir, mlflow_ui_url=self.app.mlflow_ui_url
            )
        )


ROUTES: list[tuple[str, type]] = [(r"config", ConfigHandler)]
