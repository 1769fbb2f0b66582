"""A notebook's job contract as the server replies it (``GET``/``POST jobs``)."""

from __future__ import annotations

from pathlib import Path

from jupyter_mlops.core.jobs.contract import JobContract, init_job, job_contract
from jupyter_mlops.core.paths import relative_to_root
from jupyter_mlops.core.types import JobReply

__all__ = ["make_job", "read_job"]


def read_job(path: Path, root: Path) -> JobReply:
    """The contract of the notebook at ``path``."""
    return _job_reply(job_contract(path), relative_to_root(root, path), ())


def make_job(
    path: Path,
    root: Path,
    *,
    name: str | None,
    parameters: list[str] | None,
    model: str | None,
    experiment: str | None,
) -> JobReply:
    """Create or update the contract of the notebook at ``path`` (as ``jupyter-mlops job
    init`` does); paths in the reply are relative to ``root``."""
    done = init_job(
        path,
        name=name,
        declarations=parameters or [],
        model=model,
        experiment=experiment,
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
