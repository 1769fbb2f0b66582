"""Registered models: ``GET models?notebook=PATH`` (the inventory, of one notebook when
given), ``GET models/NAME`` and ``POST models/NAME/versions`` (register the model logged on a
run)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.core.views.model_details import model_detail, model_list
from jupyter_mlops.core.views.registration_reply import register_run_model
from jupyter_mlops.server.base import MlopsHandler
from jupyter_mlops.server.bodies import RegisterBody, parse_body

__all__ = ["ROUTES"]


class ModelsHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.in_store(self.notebook_argument(), model_list, root=self.root_dir))


class ModelHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        self.reply(
            await self.in_store(self.notebook_argument(), model_detail, name, root=self.root_dir)
        )


class VersionsHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        body = parse_body(RegisterBody, self.json_body())
        notebook = self.notebook_argument()
        reply = await self.in_store(notebook, register_run_model, body.run_id, body.request(name))
        self.reply(reply, 201)


ROUTES: list[tuple[str, type]] = [
    (r"models", ModelsHandler),
    (r"models/(?P<name>[^/]+)", ModelHandler),
    (r"models/(?P<name>[^/]+)/versions", VersionsHandler),
]
