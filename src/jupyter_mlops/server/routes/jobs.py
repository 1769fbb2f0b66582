"""A notebook's job contract: ``GET jobs?notebook=PATH`` reads it, ``POST jobs`` creates or
updates it (as ``jupyter-mlops job init``)."""

from __future__ import annotations

from pathlib import Path

from jupyter_server.auth.decorator import authorized
from tornado import web

from jupyter_mlops.core.jobs.contract import JobContract, init_job, job_contract
from jupyter_mlops.core.paths import relative_to_root
from jupyter_mlops.server.base import MlopsHandler
from jupyter_mlops.server.bodies import JobBody, parse_body
from jupyter_mlops.server.contract import JobReply

__all__ = ["ROUTES"]


def read_job(path: Path, root: Path) -> JobReply:
    """The contract of the notebook at ``path``."""
    return _job_reply(job_contract(path), relative_to_root(root, path), ())


def make_job(path: Path, root: Path, body: JobBody) -> JobReply:
    """Create or update the contract of the notebook at ``path`` as ``body`` says."""
    done = init_job(
        path,
        name=body.name,
        declarations=body.parameters or [],
        model=body.model,
        experiment=body.experiment,
    )
    return _job_reply(done.contract, relative_to_root(root, path), done.changes)


def _job_reply(contract: JobContract, notebook: str, changes: tuple[str, ...]) -> JobReply:
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
        self.reply(await self.in_thread(make_job, path, self.root_dir, body))


ROUTES: list[tuple[str, type]] = [(r"jobs", JobsHandler)]
