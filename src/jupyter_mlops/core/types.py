"""The REST contract of the server extension, written once as typed models.

Every reply and request body of ``<base_url>/jupyter-mlops/api/`` is one of the
``TypedDict`` classes below; the views of :mod:`jupyter_mlops.core.views` return them and
``labextension/src/api.ts`` mirrors them field for field
(``tests/server/test_server_contract.py`` compares the two). Times are ISO 8601 UTC strings.
Path fields (``notebook``, ``source_notebook``, ``project_root``, a lineage node's
``notebook_path`` / ``script_path``, ``output``) are relative to the server's root directory with
``/`` separators; tag values (``tags``, ``lineage``) are as recorded (paths in them are relative
to the project root).

A root module of ``core``: it imports nothing from ``jupyter_mlops``.
"""

# No `from __future__ import annotations`: TypedDict needs real annotations to see Required[...].

import sys
from typing import Any, Literal, TypedDict

if sys.version_info >= (3, 11):
    from typing import Required
else:  # pragma: no cover - Python 3.10
    from typing_extensions import Required

__all__ = [
    "ArtifactEntry",
    "ConfigReply",
    "DatasetEntry",
    "ErrorReply",
    "ExecutionListReply",
    "ExecutionReply",
    "ExecutionRequest",
    "ExecutionStatus",
    "JobParameter",
    "JobReply",
    "JobRequest",
    "LedgerEntry",
    "LineageEdge",
    "LineageNode",
    "LineageReply",
    "ModelDetailReply",
    "ModelListReply",
    "ModelRow",
    "ModelVersionEntry",
    "RegisterReply",
    "RegisterRequest",
    "RunDetailReply",
    "RunPageReply",
    "RunSummary",
]


class ErrorReply(TypedDict):
    """Body of every 4xx/5xx reply: ``error`` is the :class:`ErrorCode` slug."""

    error: str
    message: str


class ConfigReply(TypedDict):
    """``GET config?notebook=PATH``: where that notebook's runs go."""

    notebook: str | None
    tracking_uri: str  # secrets masked
    tracking_uri_source: str  # argument | environment | pyproject | default
    experiment: str
    experiment_source: str
    project_root: str  # relative to the server root ("" = the root itself)
    store_exists: bool  # False for a SQLite store not created yet
    mlflow_ui_url: str | None  # MlopsServerSettings.mlflow_ui_url, None when not configured


class RunSummary(TypedDict):
    """One run in a list."""

    run_id: str
    name: str
    status: str  # RUNNING | FINISHED | FAILED | KILLED | SCHEDULED
    start_time: str | None
    end_time: str | None
    duration_s: float | None
    params: dict[str, str]
    metrics: dict[str, float]
    key_params: list[str]  # the params the user chose (shown first)
    key_metrics: list[str]
    cell_id: str | None
    job_name: str | None  # set on a job's run (mlops.job.name)
    has_model: bool  # a logged model the panel can register


class RunPageReply(TypedDict):
    """``GET runs?notebook=&limit=&page_token=``: newest first."""

    notebook: str | None
    experiment: str
    runs: list[RunSummary]
    next_page_token: str | None


class DatasetEntry(TypedDict):
    """A dataset input of a run with our full-content fingerprint."""

    name: str
    context: str | None  # training | evaluation | ...
    digest: str
    rows: int | None
    columns: int | None


class ArtifactEntry(TypedDict):
    path: str
    is_dir: bool
    size: int | None


class RunDetailReply(RunSummary):
    """``GET runs/RUN_ID``."""

    experiment_id: str
    tags: dict[str, str]  # secrets masked
    datasets: list[DatasetEntry]
    artifacts: list[ArtifactEntry]
    lineage: dict[str, str]  # the mlops.* provenance tags (notebook, cell, commit, ...)
    notebook: str | None
    commit: str | None
    mlflow_url: str | None  # the run's page in the MLflow UI, when one is configured


class ModelRow(TypedDict):
    """``GET models``: one inventory row (schema ``jupyter-mlops/inventory/1``), as
    ``InventoryRow.to_dict`` writes it."""

    name: str
    latest_version: str | None
    aliases: dict[str, str]
    owner: str | None
    purpose: str | None
    risk_tier: str | None
    training_data: dict[str, str]
    source_notebook: str | None
    source_cell: str | None
    source_run_id: str | None
    registered: str | None
    key_metrics: dict[str, float]
    validation: str
    missing: list[str]
    failed_jobs: list[str]  # versions registered by a job that did not succeed, said in words


class ModelListReply(TypedDict):
    notebook: str | None  # when given, only models with a version from this notebook
    models: list[ModelRow]


class ModelVersionEntry(TypedDict):
    version: str
    run_id: str | None
    status: str
    created: str | None
    aliases: list[str]
    source_notebook: str | None
    source_cell: str | None
    validation: str
    metrics: dict[str, float]


class LedgerEntry(TypedDict):
    """One alias move (``AliasMove.to_dict``)."""

    time: str
    actor: str
    model: str
    alias: str
    from_version: str | None
    to_version: str
    reason: str
    action: str  # register | set | rollback


class ModelDetailReply(TypedDict):
    """``GET models/NAME``."""

    name: str
    description: str
    owner: str | None
    purpose: str | None
    risk_tier: str | None
    aliases: dict[str, str]  # alias -> version
    versions: list[ModelVersionEntry]  # newest first
    ledger: list[LedgerEntry]  # newest first


class LineageNode(TypedDict):
    kind: str  # dataset | run | model_version
    id: str  # <kind>:<identifier>
    attributes: dict[str, Any]


class LineageEdge(TypedDict):
    kind: str  # input | produced | same_notebook
    source: str
    target: str


class LineageReply(TypedDict):
    """``GET lineage?model=NAME&ref=@ALIAS|VERSION``: schema ``jupyter-mlops/lineage/1``."""

    schema: str
    root: str
    nodes: list[LineageNode]
    edges: list[LineageEdge]


class RegisterRequest(TypedDict, total=False):
    """``POST models/NAME/versions``: register the model logged on ``run_id``."""

    run_id: Required[str]
    alias: str | None
    owner: str | None
    purpose: str | None
    risk_tier: str | None  # "1", "2" or "3"
    reason: str | None


class RegisterReply(TypedDict):
    name: str
    version: str
    run_id: str
    model_uri: str
    alias: LedgerEntry | None
    summary: str
    warnings: list[str]


class JobParameter(TypedDict):
    """One typed parameter of a job contract (``ParameterSpec.to_dict``)."""

    name: str
    type: str  # int | float | str | bool | list | dict | date | datetime | any
    default: Any
    nullable: bool
    help: str
    expression: str | None


class JobReply(TypedDict):
    """``GET jobs?notebook=`` and ``POST jobs``: the notebook's job contract."""

    notebook: str
    declared: bool  # False: inferred, nothing stored yet
    name: str
    experiment: str | None
    model: str | None
    parameters_cell: str | None
    parameters: list[JobParameter]
    notes: list[str]
    changes: list[str]  # what POST changed (empty for GET)


class JobRequest(TypedDict, total=False):
    """``POST jobs``: create or update the contract (as ``jupyter-mlops job init``)."""

    notebook: Required[str]
    name: str | None
    model: str | None
    experiment: str | None
    parameters: list[str]  # declarations NAME[:TYPE]=DEFAULT


ExecutionStatus = Literal["STARTING", "RUNNING", "FINISHED", "FAILED", "KILLED"]


class ExecutionRequest(TypedDict, total=False):
    """``POST jobs/executions``: run the notebook's job in the background."""

    notebook: Required[str]
    parameters: dict[str, Any]  # typed values (JSON); dates as ISO text
    timeout: float | None


class ExecutionReply(TypedDict):
    """``POST jobs/executions`` (201) and ``GET``/``DELETE jobs/executions/ID``."""

    id: str
    notebook: str
    job_name: str
    status: ExecutionStatus
    outcome: str | None  # succeeded | failed | timeout | interrupted | ... once ended
    message: str
    cells_done: int
    cells_total: int
    run_id: str | None  # the job's MLflow run
    child_run_ids: list[str]
    parameters: dict[str, Any]
    started: str
    ended: str | None
    log_tail: list[str]
    output: str | None  # the executed notebook, relative to the server root


class ExecutionListReply(TypedDict):
    """``GET jobs/executions?notebook=``: executions started by this server, newest first."""

    executions: list[ExecutionReply]
