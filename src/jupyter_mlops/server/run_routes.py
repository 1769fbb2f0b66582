"""Routes about where a notebook's runs go and what they recorded: ``config``, ``runs``,
``runs/RUN_ID``."""

from __future__ import annotations

import asyncio
from typing import cast

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.paths import relative_to_root
from jupyter_mlops.core.views.run_pages import run_detail, run_page
from jupyter_mlops.server.base import MlopsHandler
from jupyter_mlops.server.contract import ConfigReply, RunDetailReply, RunPageReply

__all__ = ["ROUTES"]


class ConfigHandler(MlopsHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        store = self.store(required=True)
        settings = store.settings
        reply: ConfigReply = {
            "notebook": store.notebook_tag,
            "tracking_uri": settings.display_uri,
            "tracking_uri_source": settings.tracking_uri_source,
            "experiment": settings.experiment,
            "experiment_source": settings.experiment_source,
            "project_root": relative_to_root(self.root_dir, settings.project_root),
            "store_exists": store.exists,
            "mlflow_ui_url": self.mlops_settings.mlflow_ui_url or None,
        }
        self.reply(reply)


class RunsHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        text = self.get_query_argument("limit", "20")
        try:
            limit = int(text)
        except ValueError:
            raise MlopsError(f"limit must be a number, not {text!r}", ErrorCode.USAGE) from None
        token = self.get_query_argument("page_token", "") or None
        store = self.store(required=True)
        page = cast(
            RunPageReply, await asyncio.to_thread(run_page, store, limit=limit, page_token=token)
        )
        self.reply(page)


class RunHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        ui, store = self.mlops_settings.mlflow_ui_url, self.store()
        detail = cast(
            RunDetailReply, await asyncio.to_thread(run_detail, store, run_id, mlflow_ui_url=ui)
        )
        self.reply(detail)


ROUTES: list[tuple[str, type]] = [
    (r"config", ConfigHandler),
    (r"runs", RunsHandler),
    (r"runs/(?P<run_id>[^/]+)", RunHandler),
]
