"""``GET lineage?model=NAME&ref=REF``: the lineage graph of one model version."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.core.views.model_details import model_lineage
from jupyter_mlops.server.base import MlopsHandler

__all__ = ["ROUTES"]


class LineageHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        model = self.required_argument("model")
        ref = self.get_query_argument("ref", "") or None
        self.reply(
            await self.in_store(
                self.notebook_argument(), model_lineage, model, ref, root=self.root_dir
            )
        )


ROUTES: list[tuple[str, type]] = [(r"lineage", LineageHandler)]
