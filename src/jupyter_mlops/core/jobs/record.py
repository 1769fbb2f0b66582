"""The MLflow run that records a notebook job, and the runs made inside it.

:meth:`JobRecord.create` opens the job's run (tags ``mlops.job.*``, ``mlflow.source.*``,
params = the typed parameters); :meth:`JobRecord.finish` logs the executed notebook, adopts
the runs the kernel made (``mlops.job.id``, also on runs the notebook's own MLflow code
started) as children, ends any the kernel left RUNNING as KILLED, settles the versions the job
registered (:mod:`~jupyter_mlops.core.registry.held_aliases`) and ends the job's run. Used by
:mod:`jupyter_mlops.core.jobs.run`; imports MLflow only when called, so that checking a job stays
fast.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.jobs.execution import executed_by
from jupyter_mlops.core.jobs.model import ChildRun, ExecutionOutcome, Outcome, PreparedJob
from jupyter_mlops.core.jobs.parameters.values import to_json_value
from jupyter_mlops.core.redaction import mask_value, redact_parameters, redact_text
from jupyter_mlops.core.store.causes import store_cause
from jupyter_mlops.core.store.queries import quoted
from jupyter_mlops.core.tags import (
    ERROR_MESSAGE_TAG,
    ERROR_TYPE_TAG,
    HIDDEN_STATE_TAG,
    JOB_CELLS_TAG,
    JOB_FAILED_CELL_ID_TAG,
    JOB_FAILED_CELL_TAG,
    JOB_ID_TAG,
    JOB_MODEL_TAG,
    JOB_NAME_TAG,
    JOB_OUTCOME_TAG,
    JOB_OUTPUT_ARTIFACT,
    JOB_OUTPUT_TAG,
    JOB_PARAMETER_TYPES_TAG,
    JOB_PARAMETERS_TAG,
    NOTEBOOK_FOUND_BY_TAG,
    NOTEBOOK_PATH_TAG,
    PROJECT_ROOT_TAG,
    VERSION_TAG,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from jupyter_mlops.core.capture.session import Target

__all__ = [
    "ChildRun",
    "JobRecord",
]


@dataclass
class JobRecord:
    """The job's MLflow run: created with the job's tags and params, ended with its outcome,
    its output and its children."""

    target: Target
    run_id: str
    artifact_uri: str
    job_id: str

    @classmethod
    def create(cls, job: PreparedJob, job_id: str) -> JobRecord:
        """Open the job's run in the job's store and experiment.

        Raises:
            MlopsError: CONFIG / TRACKING_UNAVAILABLE when the store cannot be used.
        """
        from mlflow.entities import Param

        from jupyter_mlops.core.capture.git_state import read_git_state
        from jupyter_mlops.core.capture.identity import current_user
        from jupyter_mlops.core.capture.provenance import git_tags
        from jupyter_mlops.core.capture.run_capture import param_text
        from jupyter_mlops.core.capture.session import Session
        from jupyter_mlops.core.store.orphans import owner_tags

        session = Session(
            tracking_uri=job.settings.tracking_uri,
            experiment=job.settings.experiment,
            notebook=str(job.notebook),
        )
        target = session.target(cwd=job.cwd)
        tags = {
            **_source_tags(target),
            **git_tags(read_git_state(job.notebook.parent, job.notebook)),
            JOB_ID_TAG: job_id,
            JOB_NAME_TAG: job.name,
            JOB_PARAMETERS_TAG: json.dumps(  # secret-looking values masked, as on the child runs
                redact_parameters({k: to_json_value(v) for k, v in job.values.items()}),
                sort_keys=False,
            )[:8000],
            JOB_PARAMETER_TYPES_TAG: json.dumps({p.name: p.type for p in job.contract.parameters})[
                :8000
            ],
            HIDDEN_STATE_TAG: "false",
            "mlflow.user": current_user(),
            **owner_tags(),
        }
        if job.contract.model:
            tags[JOB_MODEL_TAG] = job.contract.model
        try:
            run = target.client.create_run(target.experiment_id, tags=tags, run_name=job.name)
            params = [Param(k, mask_value(k, param_text(v))) for k, v in job.values.items()]
            for start in range(0, len(params), 100):
                target.client.log_batch(run.info.run_id, params=params[start : start + 100])
        except Exception as exc:  # store drivers raise their own types
            raise MlopsError(
                f"cannot create the job's run in {target.settings.display_uri}: {store_cause(exc)}",
                ErrorCode.TRACKING_UNAVAILABLE,
            ) from exc
        return cls(target, run.info.run_id, run.info.artifact_uri, job_id)

    def finish(
        self,
        *,
        outcome: Outcome,
        message: str,
        execution: ExecutionOutcome,
        job: PreparedJob,
        warnings: list[str],
    ) -> tuple[ChildRun, ...]:
        """Log the output, adopt and end the children, end the job run (its status as
        :attr:`Outcome.run_status`); never raises."""
        from jupyter_mlops.core.store.active_run import terminate

        client = self.target.client
        children: tuple[ChildRun, ...] = ()
        try:
            self._log_files(job, execution, warnings)
        except Exception as exc:
            warnings.append(f"could not log the executed notebook on the job run: {exc}")
        try:
            children = self._adopt_children(client, job)
        except Exception as exc:
            warnings.append(f"could not link or end the job's child runs: {exc}")
        warnings.extend(self._settle_versions(client, outcome))
        tags = {JOB_OUTCOME_TAG: outcome.value, JOB_OUTPUT_TAG: str(execution.output)}
        tags[JOB_CELLS_TAG] = f"{execution.cells_done}/{execution.cells_total}"
        if outcome is not Outcome.SUCCEEDED:
            tags[ERROR_TYPE_TAG] = outcome.value
            tags[ERROR_MESSAGE_TAG] = redact_text(message)[:8000]
        if execution.failure is not None:
            tags[JOB_FAILED_CELL_TAG] = str(execution.failure.index + 1)
            if execution.failure.cell_id:
                tags[JOB_FAILED_CELL_ID_TAG] = execution.failure.cell_id
        try:
            from mlflow.entities import RunTag

            client.log_batch(self.run_id, tags=[RunTag(k, v) for k, v in tags.items()])
        except Exception as exc:
            warnings.append(f"could not tag the job run with its outcome: {exc}")
        status = outcome.run_status
        try:
            terminate(client, self.run_id, status)
        except Exception as exc:
            warnings.append(f"could not end the job run {self.run_id} as {status}: {exc}")
        return children

    def _log_files(
        self, job: PreparedJob, execution: ExecutionOutcome, warnings: list[str]
    ) -> None:
        from jupyter_mlops.core.capture.notebook import redacted_notebook_text
        from jupyter_mlops.core.capture.run_files import closing_files, write_run_files

        files = closing_files(job.notebook, None)  # the input notebook, requirements
        output = redacted_notebook_text(execution.output)
        if output is not None and executed_by(execution.output) != self.job_id:
            output = None  # never log another execution's notebook as this job's evidence
            warnings.append(
                f"{execution.output} was overwritten by another execution: not logged as "
                f"{JOB_OUTPUT_ARTIFACT}"
            )
        if output is not None:
            files[JOB_OUTPUT_ARTIFACT] = output
        write_run_files(self.artifact_uri, self.target.settings.tracking_uri, files)

    def _settle_versions(self, client: MlflowClient, outcome: Outcome) -> list[str]:
        """Tag the versions the job registered with its outcome; apply the alias moves the
        notebook asked for only if it succeeded. Returns the lines to report."""
        from jupyter_mlops.core.registry.held_aliases import settle_job_versions

        try:
            moves = settle_job_versions(
                client,
                self.job_id,
                self.run_id,
                outcome.value,
                succeeded=outcome is Outcome.SUCCEEDED,
            )
        except Exception as exc:
            return [f"could not settle the versions registered by the job: {exc}"]
        held = [m.describe() for m in moves if not m.applied]
        if not held:
            return []
        return [
            f"alias moves NOT applied, as the job did not succeed ({outcome}): {', '.join(held)}"
        ]

    def _adopt_children(self, client: MlflowClient, job: PreparedJob) -> tuple[ChildRun, ...]:
        from jupyter_mlops.core.store.active_run import terminate

        found = client.search_runs(
            [self.target.experiment_id],
            filter_string=f"tags.`{JOB_ID_TAG}` = {quoted(self.job_id)}",
            max_results=1000,
            order_by=["attributes.start_time ASC"],
        )
        children = []
        ours = {run.info.run_id for run in found}
        for run in found:
            run_id = run.info.run_id
            if run_id == self.run_id:
                continue
            # A run nested under another run of the job (the notebook's own mlflow.start_run
            # in a recorded cell) stays where it is; every other run hangs off the job's run.
            parent = run.data.tags.get("mlflow.parentRunId")
            if parent != self.run_id and (parent is None or parent not in ours):
                client.set_tag(run_id, "mlflow.parentRunId", self.run_id)
            status = run.info.status
            if status in ("RUNNING", "SCHEDULED"):  # its kernel was stopped mid-cell
                terminate(client, run_id, "KILLED")
                status = "KILLED"
            versions = tuple(
                f"{v.name}/{v.version}"
                for v in client.search_model_versions(f"run_id = {quoted(run_id)}")
            )
            children.append(ChildRun(run_id, run.info.run_name or "", status, versions))
        return tuple(children)


def _source_tags(target: Target) -> dict[str, str]:
    """``mlflow.source.*`` and notebook tags, as capture writes them for a cell."""
    from jupyter_mlops._version import __version__
    from jupyter_mlops.core.capture.provenance import relative_notebook_path

    relative = relative_notebook_path(target) or ""
    return {
        VERSION_TAG: __version__,
        PROJECT_ROOT_TAG: str(target.settings.project_root),
        "mlflow.source.type": "NOTEBOOK",
        "mlflow.source.name": relative,
        NOTEBOOK_PATH_TAG: relative,
        NOTEBOOK_FOUND_BY_TAG: "argument",
    }
