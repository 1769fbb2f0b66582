"""The job a kernel runs in, as ``jupyter-mlops run`` tells it through the environment.

``jupyter-mlops run`` starts the kernel with ``JUPYTER_MLOPS_JOB_ID`` (a fresh id per
execution) and ``JUPYTER_MLOPS_JOB_NAME``, and writes the id of the job's parent MLflow run
to the file named by ``JUPYTER_MLOPS_JOB_PARENT`` as soon as that run exists (it is created
while the kernel starts, so the kernel never waits for it). Every run captured in the kernel
is tagged with the job id; it becomes a child of the parent run (``mlflow.parentRunId``) at
once when the file is there, else when the job ends (the runner links every run carrying the
job id). Plain papermill sets none of this, and its runs are ordinary runs.

Runs the notebook's own MLflow code starts (``mlflow.start_run()``, or the run MLflow starts
by itself for a bare ``mlflow.log_param``) are created by MLflow, not by us: the runner puts
the job's tags into ``MLFLOW_RUN_CONTEXT`` (MLflow adds those tags to every run its fluent API
creates), so they carry the job id too and are linked to the job's run when it ends.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jupyter_mlops.core.config import JOB_ID_ENV, JOB_NAME_ENV, JOB_PARENT_ENV
from jupyter_mlops.core.tags import (
    HIDDEN_STATE_TAG,
    JOB_ID_TAG,
    JOB_NAME_TAG,
    JOB_RUN_TAG,
)

__all__ = [
    "JobContext",
    "current_job",
    "user_run_context",
]


_RUN_CONTEXT_ENV = "MLFLOW_RUN_CONTEXT"  # MLflow's SystemEnvironmentContext reads it


@dataclass(frozen=True)
class JobContext:
    """The job this process runs in."""

    job_id: str
    name: str
    parent_file: Path | None

    def parent_run_id(self) -> str | None:
        """The job's parent run id, once the runner has written it (never waits)."""
        if self.parent_file is None:
            return None
        try:
            text = self.parent_file.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return text or None

    def tags(self) -> dict[str, str]:
        """Tags of a run captured inside the job. A job's kernel runs every cell once, top to
        bottom, so its runs carry no hidden state by construction."""
        return {JOB_ID_TAG: self.job_id, JOB_NAME_TAG: self.name, HIDDEN_STATE_TAG: "false"}

    def version_tags(self) -> dict[str, str]:
        """Tags of a model version registered inside the job (its outcome is added when the
        job ends)."""
        tags = {JOB_ID_TAG: self.job_id, JOB_NAME_TAG: self.name}
        parent = self.parent_run_id()
        if parent:
            tags[JOB_RUN_TAG] = parent
        return tags


def user_run_context(job_id: str, name: str, env: Mapping[str, str] | None = None) -> str:
    """The ``MLFLOW_RUN_CONTEXT`` value for a job's kernel: the tags any run set there
    already, plus the job's id and name, so that runs MLflow itself creates in the kernel are
    found and linked as the job's children."""
    environment = os.environ if env is None else env
    try:
        tags = json.loads(environment.get(_RUN_CONTEXT_ENV) or "{}")
    except ValueError:
        tags = {}
    if not isinstance(tags, dict):
        tags = {}
    tags.update({JOB_ID_TAG: job_id, JOB_NAME_TAG: name})
    return json.dumps(tags)


def current_job(env: Mapping[str, str] | None = None) -> JobContext | None:
    """The job of this process, None outside ``jupyter-mlops run``."""
    environment = os.environ if env is None else env
    job_id = environment.get(JOB_ID_ENV, "").strip()
    if not job_id:
        return None
    parent = environment.get(JOB_PARENT_ENV, "").strip()
    return JobContext(
        job_id=job_id,
        name=environment.get(JOB_NAME_ENV, "").strip() or "job",
        parent_file=Path(parent) if parent else None,
    )
