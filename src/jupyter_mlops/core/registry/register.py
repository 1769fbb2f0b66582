"""Registering a fitted model as a new version, with lineage back to the run, cell and data.

:func:`register_from` finds the run that produced a variable
(:mod:`~jupyter_mlops.core.registry.source_run`) or records a new one; :func:`register_model`
logs the
model into that run (scikit-learn flavour, signature, input example), stores the training
reference profiles, creates the version with its lineage tags, sets the inventory fields on
the registered model and, with an alias, moves the alias through the ledger. Inside a job
(``jupyter-mlops run``) the version is tagged with the job and the alias move is held until
the job has succeeded (:mod:`~jupyter_mlops.core.registry.held_aliases`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.capture.datasets import data_fingerprints, input_context
from jupyter_mlops.core.capture.fingerprint import fingerprint
from jupyter_mlops.core.capture.job_context import current_job
from jupyter_mlops.core.capture.record import CellCode, recording
from jupyter_mlops.core.capture.run_capture import Warn
from jupyter_mlops.core.capture.session import Target
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.registry.alias_ledger import AliasMove, move_alias
from jupyter_mlops.core.registry.held_aliases import hold_alias
from jupyter_mlops.core.registry.model_logging import check_model, feature_frame, log_sklearn_model
from jupyter_mlops.core.registry.refs import check_names
from jupyter_mlops.core.registry.run_models import reusable_model
from jupyter_mlops.core.registry.source_run import find_source_run
from jupyter_mlops.core.registry.training_data import (
    TrainingData,
    check_data,
    store_profiles,
    training_data,
)
from jupyter_mlops.core.store.causes import mlflow_error
from jupyter_mlops.core.tags import (
    CELL_EXECUTION_COUNT_TAG,
    CELL_ID_TAG,
    GIT_COMMIT_TAG,
    GIT_DIRTY_TAG,
    METRICS_KEYS_TAG,
    METRICS_TAG,
    MODEL_FLAVOR_TAG,
    NOTEBOOK_PATH_TAG,
    OWNER_TAG,
    PARAMS_KEYS_TAG,
    PARAMS_TAG,
    PURPOSE_TAG,
    REFERENCE_PROFILES_TAG,
    RISK_TIER_TAG,
    SCRIPT_PATH_TAG,
    SOURCE_RUN_ID_TAG,
    VERSION_TAG,
    data_fingerprint_tag,
    data_rows_tag,
)

__all__ = [
    "INVENTORY_FIELDS",
    "RISK_TIERS",
    "Registration",
    "RegistrationRequest",
    "TrainingData",
    "ensure_model",
    "find_source_run",
    "move_requested_alias",
    "register_from",
    "register_model",
    "version_tags_of",
]

#: Registered-model tags holding the inventory fields, by option name.
INVENTORY_FIELDS = {
    "owner": OWNER_TAG,
    "purpose": PURPOSE_TAG,
    "risk_tier": RISK_TIER_TAG,
}
RISK_TIERS = ("1", "2", "3")
_MAX_TAG = 100_000  # mlflow.utils.validation.MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH


@dataclass(frozen=True)
class Registration:
    """What :func:`register_model` did."""

    name: str
    version: str
    run_id: str
    model_id: str
    source: str  # the notebook (or script) path, "" when unknown
    cell_id: str | None
    alias: AliasMove | None = None
    data: tuple[str, ...] = ()  # names of the training inputs fingerprinted on the version
    profiles: tuple[str, ...] = ()  # run artifact paths of the reference profiles
    warnings: tuple[str, ...] = field(default=())
    held_alias: str | None = None  # inside a job: moves when the job succeeds

    @property
    def model_uri(self) -> str:
        """The version's URI for ``mlflow.pyfunc.load_model``."""
        return f"models:/{self.name}/{self.version}"

    def summary(self) -> str:
        """One line for the notebook or terminal."""
        where = self.source or "an unknown notebook"
        cell = f", cell {self.cell_id}" if self.cell_id else ""
        line = (
            f"Registered {self.name!r} version {self.version} from run {self.run_id[:12]} "
            f"({where}{cell})"
        )
        if self.alias is not None:
            was = f"version {self.alias.from_version}" if self.alias.from_version else "nothing"
            line += f"; alias {self.alias.alias!r}: {was} -> version {self.version}"
        if self.held_alias is not None:
            line += (
                f"; alias {self.held_alias!r} held: it moves to this version when the job succeeds"
            )
        return line + f". Load it with mlflow.pyfunc.load_model({self.model_uri!r})."

    def __repr__(self) -> str:
        return self.summary()


@dataclass(frozen=True)
class RegistrationRequest:
    """What to register under which name, the inventory fields to set and the alias to move."""

    name: str
    alias: str | None = None
    owner: str | None = None
    purpose: str | None = None
    risk_tier: str | int | None = None
    reason: str | None = None  # why the alias moves (recorded in the ledger)

    def validated(self) -> RegistrationRequest:
        """Check everything before anything is written; the risk tier comes back as a string.

        Raises:
            MlopsError: (USAGE) for a name or alias MLflow would reject, a risk tier other
                than 1, 2 or 3, an empty owner/purpose, or a reason without an alias to move.
        """
        check_names(self.name, self.alias, self.reason)
        for label, value in (("owner", self.owner), ("purpose", self.purpose)):
            if value is not None and not value.strip():
                raise MlopsError(f"the {label} must not be empty", ErrorCode.USAGE)
        if self.reason is not None and self.alias is None:
            raise MlopsError(
                "a reason is recorded only when an alias moves: add an alias", ErrorCode.USAGE
            )
        if self.risk_tier is None:
            return self
        tier = str(self.risk_tier).strip()
        if tier not in RISK_TIERS:
            raise MlopsError(
                f"the risk tier must be 1, 2 or 3 (1 = highest risk), not {self.risk_tier!r}",
                ErrorCode.USAGE,
            )
        return replace(self, risk_tier=tier)

    def inventory_tags(self) -> dict[str, str]:
        """The registered-model tags this request sets (only the fields it names)."""
        fields = {"owner": self.owner, "purpose": self.purpose, "risk_tier": self.risk_tier}
        return {INVENTORY_FIELDS[k]: str(v).strip() for k, v in fields.items() if v is not None}


def register_model(
    client: MlflowClient,
    run: Run,
    model: Any,
    request: RegistrationRequest,
    *,
    label: str = "the model",
    data: TrainingData | None = None,
    namespace: Mapping[str, Any] | None = None,
    warn: Warn | None = None,
) -> Registration:
    """Log ``model`` into ``run`` and register it as a new version of ``request.name``.

    The training data is ``data`` when given, else the ``training`` dataset inputs recorded on
    the run, looked up by name in ``namespace`` (and used only if their fingerprint still
    matches). It gives the signature, the input example and the reference profiles.

    Raises:
        MlopsError: USAGE for an unsupported or unfitted model, a bad name, alias or risk tier
            (nothing is written then); TRACKING_UNAVAILABLE when the store fails.
    """
    notes: list[str] = []

    def note(message: str) -> None:
        notes.append(message)
        if warn is not None:
            warn(message)

    request = request.validated()
    name = request.name
    check_model(model, label)
    check_data(data)
    training = training_data(run, data, namespace or {}, note)
    features = next((f for t in training if (f := feature_frame(model, t.data)) is not None), None)
    if features is None:
        note(
            "no training DataFrame with the model's columns is available: registered without "
            "a signature or input example (pass --data DF_VAR)"
        )
    try:
        logged = reusable_model(client, run, model, label) or log_sklearn_model(
            client, run, model, features
        )
        profiles = store_profiles(client, run, training)
        version_tags = version_tags_of(run, training, profiles)
        job = current_job()
        if job is not None:
            version_tags.update(job.version_tags())
        ensure_model(client, name, request.inventory_tags())
        version = client.create_model_version(
            name,
            source=logged.artifact_location,
            run_id=run.info.run_id,
            tags=version_tags,
            model_id=logged.model_id,
        )
    except MlflowException as exc:
        raise mlflow_error(exc, f"cannot register {name!r}") from None
    number = str(version.version)
    held = None
    if job is not None and request.alias is not None:
        reason = request.reason or f"registered version {number}"
        try:
            hold_alias(client, name, number, request.alias, reason, job)
        except MlflowException as exc:
            raise mlflow_error(exc, f"cannot hold alias {request.alias!r}") from None
        move, held = None, request.alias
    else:
        move = move_requested_alias(client, request, number)
    tags = run.data.tags
    return Registration(
        name=name,
        version=number,
        run_id=run.info.run_id,
        model_id=logged.model_id,
        source=tags.get(NOTEBOOK_PATH_TAG) or tags.get(SCRIPT_PATH_TAG) or "",
        cell_id=tags.get(CELL_ID_TAG),
        alias=move,
        data=tuple(t.name for t in training),
        profiles=tuple(profiles),
        warnings=tuple(notes),
        held_alias=held,
    )


def move_requested_alias(
    client: MlflowClient, request: RegistrationRequest, number: str
) -> AliasMove | None:
    """Point ``request.alias`` (if any) at the new version ``number`` through the ledger."""
    if request.alias is None:
        return None
    return move_alias(
        client,
        request.name,
        request.alias,
        number,
        reason=request.reason or f"registered version {number}",
        action="register",
    )


def _snapshot(values: Mapping[str, Any], keys: str | None) -> str:
    """JSON of ``values`` that fits a registry tag: the chosen keys first if all do not fit."""
    text = json.dumps(dict(values), sort_keys=True)
    if len(text) <= _MAX_TAG:
        return text
    chosen = {k: values[k] for k in (keys or "").split(",") if k in values}
    text = json.dumps(chosen, sort_keys=True)
    return text if len(text) <= _MAX_TAG else "{}"


def version_tags_of(
    run: Run, training: Sequence[TrainingData], profiles: list[str]
) -> dict[str, str]:
    tags = run.data.tags
    version_tags = {SOURCE_RUN_ID_TAG: run.info.run_id, MODEL_FLAVOR_TAG: "sklearn"}
    for ours, theirs in (
        (NOTEBOOK_PATH_TAG, NOTEBOOK_PATH_TAG),
        (SCRIPT_PATH_TAG, SCRIPT_PATH_TAG),
        (CELL_ID_TAG, CELL_ID_TAG),
        (CELL_EXECUTION_COUNT_TAG, CELL_EXECUTION_COUNT_TAG),
        (GIT_COMMIT_TAG, "mlflow.source.git.commit"),
        (GIT_DIRTY_TAG, GIT_DIRTY_TAG),
        (PARAMS_KEYS_TAG, PARAMS_KEYS_TAG),
        (METRICS_KEYS_TAG, METRICS_KEYS_TAG),
    ):
        if tags.get(theirs):
            version_tags[ours] = tags[theirs]
    contexts = {
        item.dataset.name: input_context(item)
        for item in (run.inputs.dataset_inputs if run.inputs else [])
    }
    for name, digest in data_fingerprints(tags).items():
        if contexts.get(name) == "training":
            version_tags[data_fingerprint_tag(name)] = digest
    for item in training:  # --data, possibly not recorded on the run
        version_tags[data_fingerprint_tag(item.name)] = fingerprint(item.data)
        version_tags[data_rows_tag(item.name)] = str(len(item.data))
    version_tags[PARAMS_TAG] = _snapshot(run.data.params, tags.get(PARAMS_KEYS_TAG))
    version_tags[METRICS_TAG] = _snapshot(run.data.metrics, tags.get(METRICS_KEYS_TAG))
    if profiles:
        version_tags[REFERENCE_PROFILES_TAG] = ",".join(profiles)
    return version_tags


def ensure_model(client: MlflowClient, name: str, tags: dict[str, str]) -> None:
    """Create the registered model with its inventory tags, or update the given ones."""
    try:
        client.create_registered_model(name, tags=tags)
        return
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    for key, value in tags.items():  # a later version updates only what it names
        client.set_registered_model_tag(name, key, value)


def register_from(
    target: Target,
    model: Any,
    request: RegistrationRequest,
    *,
    variable: str | None,
    code: CellCode,
    namespace: Mapping[str, Any],
    run_id: str | None = None,
    data: TrainingData | None = None,
    warn: Warn | None = None,
    active_run_id: str | None = None,
) -> Registration:
    """Register ``model`` from the run that produced it: ``run_id`` when given (a run still
    being recorded by jupyter-mlops is refused), else the latest run of the notebook whose
    cell assigned or fitted ``variable`` (checked by identity in this process), else a new
    run recorded for ``code`` (the cell that asks for the registration), with one warning
    line naming the fix.

    Whatever run MLflow has active (``active_run_id``: one the notebook's own
    ``mlflow.log_param`` started, say) is never taken as the source; only one jupyter-mlops
    is still recording is refused, as its data and params are not written yet.

    Raises:
        MlopsError: as :func:`register_model`; nothing is written for bad input.
    """
    label = variable or "the model"
    request = request.validated()
    check_model(model, label)
    check_data(data)
    client = target.client
    run = None
    if run_id is not None:
        run = _not_recording(client, run_id)
    else:
        if active_run_id is not None:
            _not_recording(client, active_run_id, missing_ok=True)
        said: list[str] = []

        def note(message: str) -> None:
            said.append(message)
            if warn is not None:
                warn(message)

        if variable is not None:
            run = find_source_run(target, variable, model, note)
        if run is None and not said and warn is not None:
            warn(
                f"no recorded run produced {label} (it was not fitted in a %%mlops run cell): "
                "registering it from a new run of this cell, without its training lineage; "
                f"run the cell that fits {label} with %%mlops run (or pass run_id=...) and "
                "register again"
            )
    if run is None:
        with recording(
            target,
            code,
            namespace=namespace,
            name=f"register-{label.replace(' ', '-')}",
            autolog=False,
            warn=warn,
        ) as capture:
            pass
        run = client.get_run(capture.run_id)
    return register_model(
        client, run, model, request, label=label, data=data, namespace=namespace, warn=warn
    )


def _not_recording(client: MlflowClient, run_id: str, *, missing_ok: bool = False) -> Run | None:
    """Run ``run_id``, refused while jupyter-mlops is still recording it."""
    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        if missing_ok:
            return None
        raise mlflow_error(exc, f"run {run_id}") from None
    if run.info.status == "RUNNING" and run.data.tags.get(VERSION_TAG):
        raise MlopsError(
            "register the model after the recorded cell (or `with run()` block) has "
            "finished: its data, params and metrics are written when it ends",
            ErrorCode.USAGE,
        )
    return run
