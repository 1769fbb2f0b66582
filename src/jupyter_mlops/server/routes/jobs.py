"""A notebook's job contract: ``GET jobs?notebook=PATH`` reads it, ``POST jobs`` creates or
updates it (as ``jupyter-mlops job init``)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.core.views.job_contracts import make_job, read_job
from jupyter_mlops.server.base import MlopsHandler
from jupyter_mlops.server.bodies import JobBody, parse_body

__all__ = ["ROUTES"]


class JobsHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        path = self.notebook_path(self.required_argument("notebook"))
        self.reply(await self.in_thread(read_job, path, self.root_dir))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = parse_body(JobBody, self.json_body())
        path = self.notebook_path(body.notebook)
        self.reply(
            await self.in_thread(
                make_job,
                path,
                self.root_dir,
                name=body.name,
                parameters=body.parameters,
                model=body.model,
                experiment=body.experiment,
            )
        )


ROUTES: list[tuple[str, type]] = [(r"jobs", JobsHandler)]
