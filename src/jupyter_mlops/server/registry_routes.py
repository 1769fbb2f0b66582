"""Routes about registered models: ``models``, ``models/NAME`` and ``lineage``."""

from __future__ import annotations

import asyncio

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.core.views.model_details import model_detail, model_lineage, model_list
from jupyter_mlops.server.base import MlopsHandler

__all__ = ["ROUTES"]


class ModelsHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        models = await asyncio.to_thread(model_list, self.store(), root=self.root_dir)
        self.reply(models)


class ModelHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        detail = await asyncio.to_thread(model_detail, self.store(), name, root=self.root_dir)
        self.reply(detail)


class LineageHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        model = self.required_argument("model")
        ref = self.get_query_argument("ref", "") or None
        graph = await asyncio.to_thread(model_lineage, self.store(), model, ref, root=self.root_dir)
        self.reply(graph)


ROUTES: list[tuple[str, type]] = [
    (r"models", ModelsHandler),
    (r"models/(?P<name>[^/]+)", ModelHandler),
    (r"lineage", LineageHandler),
]
