"""Alias moves held while a job runs: ``%mlops register --alias`` inside ``jupyter-mlops run``.

A notebook running as a job registers its version at once, but the alias it asks for is only
*held* (tags on the version); the runner applies it through the alias ledger when the job has
succeeded. A job that fails, times out or is stopped moves nothing: the held moves are listed
on the job's run (``mlops.job.held_aliases``) and in the command's output. Every version the
job registered gets the job's run id and outcome (``mlops.job.run_id``, ``mlops.job.outcome``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jupyter_mlops.core.capture.job_context import JobContext
from jupyter_mlops.core.store.queries import quoted
from jupyter_mlops.core.tags import (
    HELD_ALIAS_TAG,
    HELD_ALIASES_TAG,
    HELD_REASON_TAG,
    JOB_ID_TAG,
    JOB_OUTCOME_TAG,
    JOB_RUN_TAG,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = [
    "HeldMove",
    "held_version",
    "hold_alias",
    "settle_job_versions",
]


@dataclass(frozen=True)
class HeldMove:
    """An alias move a job's notebook asked for."""

    name: str
    alias: str
    version: str
    applied: bool

    def describe(self) -> str:
        """``model@alias -> version N``."""
        return f"{self.name}@{self.alias} -> version {self.version}"


def hold_alias(
    client: MlflowClient, name: str, version: str, alias: str, reason: str, job: JobContext
) -> None:
    """Record on version ``version`` of ``name`` that ``alias`` moves to it when ``job``
    succeeds (and the job it was registered in)."""
    tags = {**job.version_tags(), HELD_ALIAS_TAG: alias, HELD_REASON_TAG: reason}
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def held_version(client: MlflowClient, name: str, alias: str, job_id: str) -> str | None:
    """The newest version of ``name`` that job ``job_id`` registered holding ``alias``: what
    ``name@alias`` means to the job's own notebook until the job ends (None if none)."""
    versions = client.search_model_versions(
        f"name = {quoted(name)} and tags.`{JOB_ID_TAG}` = {quoted(job_id)}"
    )
    held = [int(v.version) for v in versions if (v.tags or {}).get(HELD_ALIAS_TAG) == alias]
    return str(max(held)) if held else None


def settle_job_versions(
    client: MlflowClient, job_id: str, job_run_id: str, outcome: str, *, succeeded: bool
) -> tuple[HeldMove, ...]:
    """Tag every version registered in job ``job_id`` with its run and ``outcome``; when the
    job ``succeeded``, move the aliases it held through the ledger (else move none). The
    caller, which knows the job's outcomes, says which one is success.

    Returns the held moves, each saying whether it was applied.
    """
    from jupyter_mlops.core.registry.alias_ledger import move_alias

    versions = client.search_model_versions(f"tags.`{JOB_ID_TAG}` = {quoted(job_id)}")
    moves: list[HeldMove] = []
    for version in sorted(versions, key=lambda v: (v.name, int(v.version))):
        name, number = version.name, str(version.version)
        client.set_model_version_tag(name, number, JOB_RUN_TAG, job_run_id)
        client.set_model_version_tag(name, number, JOB_OUTCOME_TAG, outcome)
        tags = version.tags or {}
        alias = tags.get(HELD_ALIAS_TAG)
        if not alias:
            continue
        applied = succeeded
        if applied:
            reason = tags.get(HELD_REASON_TAG) or f"registered version {number}"
            move_alias(client, name, alias, number, reason=reason, action="register")
        moves.append(HeldMove(name, alias, number, applied))
    if moves:
        record = [
            {"model": m.name, "alias": m.alias, "version": m.version, "applied": m.applied}
            for m in moves
        ]
        client.set_tag(job_run_id, HELD_ALIASES_TAG, json.dumps(record)[:8000])
    return tuple(moves)
