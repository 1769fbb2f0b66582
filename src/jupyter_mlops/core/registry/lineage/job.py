"""The job a model version came from, for its lineage: the ``jupyter-mlops run`` whose
notebook registered it (version tag ``mlops.job.run_id``), or whose kernel recorded its source
run (the run's ``mlops.job.id``; its job run is found up the ``mlflow.parentRunId`` chain)."""

from __future__ import annotations

import json
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.tags import (
    HELD_ALIAS_TAG,
    HELD_ALIASES_TAG,
    JOB_FAILED_CELL_TAG,
    JOB_ID_TAG,
    JOB_NAME_TAG,
    JOB_OUTCOME_TAG,
    JOB_PARAMETERS_TAG,
    JOB_RUN_TAG,
)

__all__ = ["job_attributes"]

_MAX_DEPTH = 5  # runs nested in runs nested in the job's run


def job_attributes(
    client: MlflowClient, version_tags: dict[str, str], run: Run | None
) -> dict[str, Any] | None:
    """What lineage shows of the version's job; None when it was not made in a job."""
    run_id = version_tags.get(JOB_RUN_TAG) or _job_run_id(client, run)
    if not run_id:
        return None
    job = _get(client, run_id)
    tags = job.data.tags if job is not None else {}
    outcome = tags.get(JOB_OUTCOME_TAG) or version_tags.get(JOB_OUTCOME_TAG)
    return {
        "run_id": run_id,
        "available": job is not None,
        "name": tags.get(JOB_NAME_TAG) or version_tags.get(JOB_NAME_TAG),
        "status": job.info.status if job is not None else None,
        "outcome": outcome or "running",
        "failed_cell": tags.get(JOB_FAILED_CELL_TAG),
        "held_alias": version_tags.get(HELD_ALIAS_TAG),
        "held_aliases": _list(tags.get(HELD_ALIASES_TAG)),
    }


def _job_run_id(client: MlflowClient, run: Run | None) -> str | None:
    """The job run above ``run`` (a run recorded in a job's kernel), if any."""
    if run is None or not run.data.tags.get(JOB_ID_TAG):
        return None
    current: Run | None = run
    for _ in range(_MAX_DEPTH):
        if current is None:
            return None
        if JOB_PARAMETERS_TAG in current.data.tags:
            return str(current.info.run_id)
        parent = current.data.tags.get("mlflow.parentRunId")
        current = _get(client, parent) if parent else None
    return None


def _get(client: MlflowClient, run_id: str) -> Run | None:
    try:
        return client.get_run(run_id)
    except MlflowException:
        return None


def _list(text: str | None) -> list[Any]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []
