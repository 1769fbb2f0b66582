"""Routes about where a notebook's runs go and what they recorded: ``config``, ``runs``,
``runs/RUN_ID``."""

from __future__ import annotations

import asyncio

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.views.notebook_config import notebook_config
from jupyter_mlops.core.views.run_pages import run_detail, run_page
from jupyter_mlops.server.base import MlopsHandler

__all__ = ["ROUTES"]


class ConfigHandler(MlopsHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        store = self.store(required=True)
        ui = self.mlops_settings.mlflow_ui_url
        reply = notebook_config(store, root=self.root_dir, mlflow_ui_url=ui)
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
        root = self.root_dir
        page = await asyncio.to_thread(run_page, store, root=root, limit=limit, page_token=token)
        self.reply(page)


class RunHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        ui, store = self.mlops_settings.mlflow_ui_url, self.store()
        root = self.root_dir
        detail = await asyncio.to_thread(run_detail, store, run_id, root=root, mlflow_ui_url=ui)
        self.reply(detail)


ROUTES: list[tuple[str, type]] = [
    (r"config", ConfigHandler),
    (r"runs", RunsHandler),
    (r"runs/(?P<run_id>[^/]+)", RunHandler),
]
