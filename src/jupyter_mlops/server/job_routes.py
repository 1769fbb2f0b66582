"""Routes making a notebook a job and running it in the background: ``jobs``,
``jobs/executions`` and ``jobs/executions/ID``."""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.jobs.contract import JobContract, init_job, job_contract
from jupyter_mlops.core.jobs.executions import ExecutionManager
from jupyter_mlops.core.paths import relative_to_root
from jupyter_mlops.server.base import MlopsHandler
from jupyter_mlops.server.contract import ExecutionListReply, ExecutionReply, JobReply

__all__ = ["ROUTES"]


class _JobHandler(MlopsHandler):
    @property
    def executions(self) -> ExecutionManager:
        """The server's executions, created on first use (importing the job machinery loads
        MLflow and papermill: the server should not pay for that at start-up)."""
        manager: ExecutionManager | None = self.settings.get("jupyter_mlops_executions")
        if manager is None:
            settings = self.mlops_settings
            manager = ExecutionManager(
                max_running=settings.max_running_jobs, log_lines=settings.log_tail_lines
            )
            self.settings["jupyter_mlops_executions"] = manager
        return manager

    def job_reply(self, contract: JobContract, notebook: str, changes: tuple[str, ...]) -> JobReply:
        return {
            "notebook": notebook,
            "declared": contract.declared,
            "name": contract.name,
            "experiment": contract.experiment,
            "model": contract.model,
            "parameters_cell": contract.parameters_cell,
            "parameters": [
                {
                    "name": p.name,
                    "type": p.type,
                    "default": p.default,
                    "nullable": p.nullable,
                    "help": p.help,
                    "expression": p.expression,
                }
                for p in contract.parameters
            ],
            "notes": [*contract.notes, *contract.all_warnings()],
            "changes": list(changes),
        }


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise MlopsError(f"the field {key!r} must be text", ErrorCode.USAGE)
    return value


class JobsHandler(_JobHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        text = self.required_argument("notebook")
        path = self.notebook_path(text)
        contract = await asyncio.to_thread(job_contract, path)
        self.reply(self.job_reply(contract, relative_to_root(self.root_dir, path), ()))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        path = self.notebook_path(_text(body, "notebook") or "")
        declarations = body.get("parameters") or []
        if not isinstance(declarations, list) or not all(isinstance(d, str) for d in declarations):
            raise MlopsError("'parameters' must be a list of NAME[:TYPE]=DEFAULT", ErrorCode.USAGE)
        done = await asyncio.to_thread(
            init_job,
            path,
            name=_text(body, "name"),
            declarations=declarations,
            model=_text(body, "model"),
            experiment=_text(body, "experiment"),
        )
        notebook = relative_to_root(self.root_dir, path)
        self.reply(self.job_reply(done.contract, notebook, done.changes))


class ExecutionsHandler(_JobHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        path = self.notebook_path(_text(body, "notebook") or "")
        values = body.get("parameters") or {}
        if not isinstance(values, dict):
            raise MlopsError("'parameters' must be an object of name: value", ErrorCode.USAGE)
        timeout = body.get("timeout")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float)
        ):
            raise MlopsError("'timeout' must be a number of seconds", ErrorCode.USAGE)
        execution = await asyncio.to_thread(  # reads the notebook, may create the store
            self.executions.start,
            path,
            root=self.root_dir,
            values=values,
            timeout=timeout,
            tracking_uri=self.mlops_settings.tracking_uri or None,
        )
        reply: ExecutionReply = execution.to_dict()  # type: ignore[assignment]
        self.reply(reply, 201)

    @web.authenticated
    @authorized
    def get(self) -> None:
        text = self.get_query_argument("notebook", "")
        notebook = self.notebook_path(text) if text else None
        reply: ExecutionListReply = {
            "executions": [e.to_dict() for e in self.executions.list(notebook)]  # type: ignore[misc]
        }
        self.reply(reply)


class ExecutionHandler(_JobHandler):
    @web.authenticated
    @authorized
    def get(self, execution_id: str) -> None:
        reply: ExecutionReply = self.executions.get(execution_id).to_dict()  # type: ignore[assignment]
        self.reply(reply)

    @web.authenticated
    @authorized
    def delete(self, execution_id: str) -> None:
        execution = self.executions.get(execution_id)
        execution.cancel()
        reply: ExecutionReply = execution.to_dict()  # type: ignore[assignment]
        self.reply(reply)


ROUTES: list[tuple[str, type]] = [
    (r"jobs", JobsHandler),
    (r"jobs/executions", ExecutionsHandler),
    (r"jobs/executions/(?P<execution_id>[^/]+)", ExecutionHandler),
]
