"""Jobs run in the background of the server: ``POST jobs/executions`` starts one,
``GET jobs/executions?notebook=PATH`` lists them, ``GET``/``DELETE jobs/executions/ID`` watches
or cancels one."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.server.base import MlopsHandler
from jupyter_mlops.server.bodies import ExecutionBody, parse_body

__all__ = ["ROUTES"]


class ExecutionsHandler(MlopsHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = parse_body(ExecutionBody, self.json_body())
        path = self.notebook_path(body.notebook)
        execution = await self.in_thread(  # reads the notebook, may create the store
            self.app.executions.start,
            path,
            root=self.root_dir,
            values=body.parameters or {},
            timeout=body.timeout,
            tracking_uri=self.app.tracking_uri or None,
        )
        self.reply(execution.to_dict(), 201)

    @web.authenticated
    @authorized
    def get(self) -> None:
        notebook = self.notebook_argument()
        self.reply({"executions": [e.to_dict() for e in self.app.executions.list(notebook)]})


class ExecutionHandler(MlopsHandler):
    @web.authenticated
    @authorized
    def get(self, execution_id: str) -> None:
        self.reply(self.app.executions.get(execution_id).to_dict())

    @web.authenticated
    @authorized
    def delete(self, execution_id: str) -> None:
        execution = self.app.executions.get(execution_id)
        execution.cancel()
        self.reply(execution.to_dict())


ROUTES: list[tuple[str, type]] = [
    (r"jobs/executions", ExecutionsHandler),
    (r"jobs/executions/(?P<execution_id>[^/]+)", ExecutionHandler),
]
