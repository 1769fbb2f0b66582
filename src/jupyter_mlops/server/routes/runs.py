"""``GET runs?notebook=PATH`` (a page of the notebook's runs) and ``GET runs/RUN_ID``."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.views.run_pages import run_detail, run_page
from jupyter_mlops.server.base import MlopsHandler

__all__ = ["ROUTES"]


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
        notebook = self.notebook_argument(required=True)
        self.reply(
            await self.in_store(
                notebook, run_page, root=self.root_dir, limit=limit, page_token=token
            )
        )


class RunHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        notebook, ui = self.notebook_argument(), self.app.mlflow_ui_url
        self.reply(
            await self.in_store(notebook, run_detail, run_id, root=self.root_dir, mlflow_ui_url=ui)
        )


ROUTES: list[tuple[str, type]] = [
    (r"runs", RunsHandler),
    (r"runs/(?P<run_id>[^/]+)", RunHandler),
]
