"""Write a :class:`~jupyter_mlops.core.gates.validate.Decision` as the decision record.

Order matters for "no tag without its record": the validation run is created, its params,
metrics and both artifacts are logged and the run ends FINISHED; only then are the version's
``mlops.validation.*`` tags set. A failure on the way ends the run FAILED and tags nothing.
"""

from __future__ import annotations

import math
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.capture.job_context import current_job
from jupyter_mlops.core.errors import MlopsError
from jupyter_mlops.core.gates.report import render_report
from jupyter_mlops.core.gates.validate import Decision, decision_digest
from jupyter_mlops.core.store.causes import mlflow_error
from jupyter_mlops.core.tags import (
    DECISION_ARTIFACT,
    DECISION_REPORT_ARTIFACT,
    VALIDATION_AGAINST_TAG,
    VALIDATION_DATE_TAG,
    VALIDATION_GATES_TAG,
    VALIDATION_MODEL_TAG,
    VALIDATION_RUN_TAG,
    VALIDATION_SHA256_TAG,
    VALIDATION_STATUS_TAG,
    VALIDATION_VERSION_TAG,
)

__all__ = ["RecordedDecision", "record_decision", "validation_experiment"]

_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")


@dataclass(frozen=True)
class RecordedDecision:
    """Where a decision was recorded."""

    run_id: str
    sha256: str
    experiment: str


def validation_experiment(model: str) -> str:
    """The experiment holding a model's validation runs."""
    return f"{model}-validation"


def record_decision(client: MlflowClient, decision: Decision) -> RecordedDecision:
    """Record ``decision`` (a run, its artifacts, then the version's tags).

    Inside a ``jupyter-mlops run`` job the validation run is a child of the job's run.

    Raises:
        MlopsError: the store's refusal, named (the version is left untagged).
    """
    text = decision.to_json()
    digest = decision_digest(text)
    name = validation_experiment(decision.model)
    try:
        found = client.get_experiment_by_name(name)
        experiment_id = found.experiment_id if found else client.create_experiment(name)
        job = current_job()
        tags = {
            VALIDATION_MODEL_TAG: decision.model,
            VALIDATION_VERSION_TAG: decision.version,
            VALIDATION_STATUS_TAG: decision.status,
            VALIDATION_AGAINST_TAG: decision.champion_version or "",
        }
        parent = job.parent_run_id() if job is not None else None
        if job is not None:
            tags.update(job.tags())
        if parent:
            tags["mlflow.parentRunId"] = parent
        run = client.create_run(
            experiment_id,
            run_name=f"validate-{decision.model}-{decision.version}",
            tags=tags,
        )
    except MlflowException as exc:
        raise mlflow_error(exc, "cannot create the validation run") from None
    run_id = run.info.run_id
    try:
        _log(client, run_id, decision)
        with tempfile.TemporaryDirectory(prefix="jupyter-mlops-decision-") as folder:
            for path, content in ((DECISION_ARTIFACT, text), (DECISION_REPORT_ARTIFACT, None)):
                local = Path(folder) / Path(path).name
                local.write_text(render_report(decision) if content is None else content, "utf-8")
                client.log_artifact(run_id, str(local), str(Path(path).parent))
        client.set_terminated(run_id, "FINISHED")
    except (MlflowException, OSError) as exc:
        client.set_terminated(run_id, "FAILED")
        if isinstance(exc, MlflowException):
            raise mlflow_error(exc, "cannot write the decision record") from None
        raise MlopsError(f"cannot write the decision record: {exc}") from None
    for key, value in (
        (VALIDATION_STATUS_TAG, decision.status),
        (VALIDATION_SHA256_TAG, digest),
        (VALIDATION_RUN_TAG, run_id),
        (VALIDATION_DATE_TAG, decision.time),
        (VALIDATION_AGAINST_TAG, decision.champion_version or ""),
    ):
        try:
            client.set_model_version_tag(decision.model, decision.version, key, value)
        except MlflowException as exc:
            raise mlflow_error(exc, "cannot tag the validated version") from None
    return RecordedDecision(run_id, digest, name)


def _log(client: MlflowClient, run_id: str, decision: Decision) -> None:
    """Every gate's value, threshold, champion value, interval and verdict."""
    params = [Param("validation.against", decision.against)]
    now = int(time.time() * 1000)
    metrics: list[Metric] = []
    for gate in decision.gates:
        key = _UNSAFE_KEY.sub("_", gate.gate)
        params.append(Param(f"gate.{key}.verdict", gate.verdict))
        if gate.threshold is not None:
            params.append(Param(f"gate.{key}.threshold", f"{gate.threshold:g}"))
        for suffix, value in (
            ("value", gate.value),
            ("champion", gate.champion),
            ("lower", None if gate.interval is None else gate.interval[0]),
            ("upper", None if gate.interval is None else gate.interval[1]),
        ):
            if value is not None and math.isfinite(value):
                metrics.append(Metric(f"gate.{key}.{suffix}", float(value), now, 0))
    client.log_batch(
        run_id,
        metrics=metrics,
        params=params[:100],
        tags=[RunTag(VALIDATION_GATES_TAG, str(len(decision.gates)))],
    )
    for start in range(100, len(params), 100):
        client.log_batch(run_id, params=params[start : start + 100])
