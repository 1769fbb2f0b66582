"""A notebook's runs as pages, and one run in detail, as JSON-ready data for the panel.

The shapes are the ``RunPageReply`` / ``RunDetailReply`` of the server's REST contract
(``jupyter_mlops/core/types.py``). A list costs one ``search_runs`` call whatever the
page size: nothing per row (no artifact listing, no extra run fetch).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mlflow.entities import Run, ViewType
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.capture.datasets import data_fingerprints, input_context
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.redaction import MASK, looks_like_secret, redact_mapping, redact_text
from jupyter_mlops.core.store.notebook_store import NotebookStore
from jupyter_mlops.core.store.queries import notebook_tag_filter
from jupyter_mlops.core.store.times import iso_time
from jupyter_mlops.core.tags import (
    CELL_EXECUTION_COUNT_TAG,
    CELL_ID_TAG,
    GIT_BRANCH_TAG,
    GIT_DIRTY_TAG,
    HIDDEN_STATE_TAG,
    JOB_ID_TAG,
    JOB_NAME_TAG,
    NOTEBOOK_PATH_TAG,
    SCRIPT_PATH_TAG,
    keys_tag,
)
from jupyter_mlops.core.types import (
    ArtifactEntry,
    DatasetEntry,
    RunDetailReply,
    RunPageReply,
    RunSummary,
)
from jupyter_mlops.core.views.served_paths import served_notebook, served_path

__all__ = ["MAX_PAGE", "run_detail", "run_page", "run_summary"]

MAX_PAGE = 200
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
#: Tags that say where a run came from, shown together as its lineage.
_LINEAGE_TAGS = (
    NOTEBOOK_PATH_TAG,
    SCRIPT_PATH_TAG,
    CELL_ID_TAG,
    CELL_EXECUTION_COUNT_TAG,
    "mlflow.source.git.commit",
    GIT_DIRTY_TAG,
    GIT_BRANCH_TAG,
    HIDDEN_STATE_TAG,
    JOB_NAME_TAG,
    JOB_ID_TAG,
    "mlflow.parentRunId",
)


def _iso(millis: int | None) -> str | None:
    return iso_time(millis)


def _keys(tags: dict[str, str], kind: str) -> list[str]:
    return [k for k in tags.get(keys_tag(kind), "").split(",") if k]


def _masked(value: str | None) -> str | None:
    """A tag value as replies show it: secrets masked (as ``tags`` of a run detail)."""
    if value is None:
        return None
    return MASK if looks_like_secret(value) else redact_text(value)


def run_summary(run: Run) -> RunSummary:
    """One run as a ``RunSummary``."""
    info, tags = run.info, run.data.tags
    duration = (
        (info.end_time - info.start_time) / 1000 if info.end_time and info.start_time else None
    )
    outputs = run.outputs.model_outputs if run.outputs else []
    return {
        "run_id": info.run_id,
        "name": info.run_name or info.run_id[:8],
        "status": info.status,
        "start_time": _iso(info.start_time),
        "end_time": _iso(info.end_time),
        "duration_s": duration,
        "params": redact_mapping(run.data.params),
        "metrics": dict(run.data.metrics),
        "key_params": _keys(tags, "params"),
        "key_metrics": _keys(tags, "metrics"),
        "cell_id": tags.get(CELL_ID_TAG),
        "job_name": _masked(tags.get(JOB_NAME_TAG)),
        "has_model": bool(outputs),
    }


def run_page(
    store: NotebookStore, *, root: Path, limit: int = 20, page_token: str | None = None
) -> RunPageReply:
    """The notebook's runs, newest first, ``limit`` at a time (its path relative to the
    server's ``root``).

    Raises:
        MlopsError: USAGE for a limit outside 1..200 or a bad page token;
            TRACKING_UNAVAILABLE when the store fails.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise MlopsError(f"limit must be between 1 and {MAX_PAGE}, not {limit}", ErrorCode.USAGE)
    reply: RunPageReply = {
        "notebook": served_notebook(root, store),
        "experiment": store.settings.experiment,
        "runs": [],
        "next_page_token": None,
    }
    experiment_id = store.experiment_id()
    if experiment_id is None:  # nothing recorded yet: an empty page, and nothing created
        return reply
    query = "" if store.notebook_tag is None else notebook_tag_filter(store.notebook_tag)
    try:
        runs = store.client().search_runs(
            [experiment_id],
            filter_string=query,
            run_view_type=ViewType.ACTIVE_ONLY,
            max_results=limit,
            order_by=["attributes.start_time DESC", "attributes.run_id ASC"],
            page_token=page_token or None,
        )
    except MlflowException as exc:
        if "token" in exc.message.lower():
            raise MlopsError("page_token is not one this server gave", ErrorCode.USAGE) from None
        raise MlopsError(
            f"cannot list runs: {exc.message}", ErrorCode.TRACKING_UNAVAILABLE
        ) from None
    reply["runs"] = [run_summary(run) for run in runs]
    token = runs.token
    reply["next_page_token"] = (token.decode() if isinstance(token, bytes) else token) or None
    return reply


def run_detail(
    store: NotebookStore, run_id: str, *, root: Path, mlflow_ui_url: str = ""
) -> RunDetailReply:
    """One run with its tags, datasets, artifacts and lineage; tag values masked (as
    recorded otherwise), its notebook relative to the server's ``root``.

    Raises:
        MlopsError: NOT_FOUND for a run id that is malformed or not in the store.
    """
    if not _RUN_ID.match(run_id):
        raise MlopsError(f"no run {run_id[:40]!r}: run ids are 32 hex digits", ErrorCode.NOT_FOUND)
    client = store.client()
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise MlopsError(
            f"no run {run_id} in {store.settings.display_uri}", ErrorCode.NOT_FOUND
        ) from None
    tags = run.data.tags
    fingerprints = data_fingerprints(tags)
    datasets: list[DatasetEntry] = []
    for item in run.inputs.dataset_inputs if run.inputs else []:
        dataset = item.dataset
        profile = _json(dataset.profile)
        schema = _json(dataset.schema).get("mlflow_colspec")
        datasets.append(
            {
                "name": dataset.name,
                "context": input_context(item),
                "digest": fingerprints.get(dataset.name, dataset.digest),
                "rows": profile.get("num_rows"),
                "columns": len(schema) if isinstance(schema, list) else None,
            }
        )
    artifacts: list[ArtifactEntry] = []
    for entry in client.list_artifacts(run_id):
        artifacts.append({"path": entry.path, "is_dir": entry.is_dir, "size": entry.file_size})
        if entry.is_dir:
            artifacts.extend(
                {"path": inner.path, "is_dir": inner.is_dir, "size": inner.file_size}
                for inner in client.list_artifacts(run_id, entry.path)
            )
    url = mlflow_ui_url.rstrip("/")
    # values masked by name or shape, then inside JSON (mlops.job.parameters)
    masked = {k: redact_text(v) for k, v in redact_mapping(tags).items()}
    source = tags.get(NOTEBOOK_PATH_TAG) or tags.get(SCRIPT_PATH_TAG)
    return {
        **run_summary(run),
        "experiment_id": run.info.experiment_id,
        "tags": masked,
        "datasets": datasets,
        "artifacts": artifacts,
        "lineage": {key: masked[key] for key in _LINEAGE_TAGS if key in masked},
        "notebook": served_path(root, store, source),
        "commit": tags.get("mlflow.source.git.commit"),
        "mlflow_url": (
            f"{url}/#/experiments/{run.info.experiment_id}/runs/{run_id}" if url else None
        ),
    }


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
