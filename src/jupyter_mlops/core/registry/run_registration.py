"""Registering the model already logged on a run, by run id: what the panel's register form
does (``POST models/NAME/versions``). The version gets the same lineage tags, inventory fields
and alias-ledger entry as ``%mlops register``; no Python object of the model is needed."""

from __future__ import annotations

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.registry.register import (
    Registration,
    RegistrationRequest,
    ensure_model,
    move_requested_alias,
    version_tags_of,
)
from jupyter_mlops.core.registry.run_models import logged_models
from jupyter_mlops.core.store.causes import mlflow_error
from jupyter_mlops.core.tags import (
    CELL_ID_TAG,
    MODEL_VARIABLE_TAG,
    NOTEBOOK_PATH_TAG,
    REFERENCE_PROFILES_TAG,
    SCRIPT_PATH_TAG,
    VERSION_TAG,
)

__all__ = ["register_logged"]


def register_logged(
    client: MlflowClient, run_id: str, request: RegistrationRequest
) -> Registration:
    """Register the newest model logged on run ``run_id`` as a new version of
    ``request.name``; move ``request.alias`` to it through the ledger.

    Raises:
        MlopsError: USAGE for a bad name, alias or risk tier, a run still being recorded, or
            a run without a logged model; NOT_FOUND for an unknown run. Nothing is written in
            any of these cases.
    """
    request = request.validated()
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise MlopsError(f"no run {run_id[:40]!r} in this store", ErrorCode.NOT_FOUND) from None
    tags = run.data.tags
    if run.info.status == "RUNNING" and tags.get(VERSION_TAG):
        raise MlopsError(
            f"run {run_id[:12]} is still being recorded: register once its cell has finished",
            ErrorCode.USAGE,
        )
    models = logged_models(client, run)
    if not models:
        raise MlopsError(
            f"run {run.info.run_name or run_id[:12]} has no logged model: record the cell with "
            "`%%mlops run --log-model VAR`, or register from the notebook with "
            "`%mlops register VAR --name NAME`",
            ErrorCode.USAGE,
        )
    logged = models[0]
    profiles = [p for p in tags.get(REFERENCE_PROFILES_TAG, "").split(",") if p]
    version_tags = version_tags_of(run, [], profiles)
    try:
        ensure_model(client, request.name, request.inventory_tags())
        version = client.create_model_version(
            request.name,
            source=logged.artifact_location,
            run_id=run_id,
            tags=version_tags,
            model_id=logged.model_id,
        )
    except MlflowException as exc:
        raise mlflow_error(exc, f"cannot register {request.name!r}") from None
    number = str(version.version)
    move = move_requested_alias(client, request, number)
    notes = []
    if len(models) > 1:
        variable = (logged.tags or {}).get(MODEL_VARIABLE_TAG, logged.name)
        notes.append(f"the run logged {len(models)} models: registered the newest ({variable})")
    return Registration(
        name=request.name,
        version=number,
        run_id=run_id,
        model_id=logged.model_id,
        source=tags.get(NOTEBOOK_PATH_TAG) or tags.get(SCRIPT_PATH_TAG) or "",
        cell_id=tags.get(CELL_ID_TAG),
        alias=move,
        data=tuple(k for k in version_tags if k.endswith(".fingerprint")),
        profiles=tuple(profiles),
        warnings=tuple(notes),
    )
