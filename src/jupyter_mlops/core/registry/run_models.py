"""Models logged on a run by ``%%mlops run --log-model VAR``, found again to be registered
later (from the panel, or by ``%mlops register VAR`` without logging the model twice).

Each logged model is tagged with the variable it came from and a fingerprint of the fitted
object (sha256 of its pickle), so a registration can tell "the same model" from a refit.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Mapping, Sequence
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import LoggedModel, Run
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.capture.run_capture import Warn
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.registry.model_logging import (
    LoggedSklearnModel,
    check_model,
    feature_frame,
    log_sklearn_model,
)
from jupyter_mlops.core.registry.training_data import store_profiles, training_data
from jupyter_mlops.core.store.queries import quoted
from jupyter_mlops.core.tags import (
    MODEL_FINGERPRINT_TAG,
    MODEL_VARIABLE_TAG,
    REFERENCE_PROFILES_TAG,
)

__all__ = [
    "log_run_models",
    "logged_models",
    "model_fingerprint",
    "reusable_model",
]


def model_fingerprint(model: Any) -> str:
    """sha256 of the fitted object's pickle: equal for the same fit, different after a refit."""
    try:
        return hashlib.sha256(pickle.dumps(model, protocol=5)).hexdigest()
    except Exception:  # an unpicklable model cannot be recognised later: never reused
        return ""


def log_run_models(
    client: MlflowClient,
    run_id: str,
    variables: Sequence[str],
    namespace: Mapping[str, Any],
    warn: Warn | None = None,
) -> list[LoggedSklearnModel]:
    """Log each named fitted model as a model of the (ended) run ``run_id``.

    Every variable is checked before anything is written. The signature and input example
    come from the run's training data, and its reference profiles are stored with the run.

    Raises:
        MlopsError: USAGE for a missing variable or one that is not a fitted scikit-learn
            model (nothing logged then); TRACKING_UNAVAILABLE when the store fails.
    """
    models = {}
    for name in variables:
        if name not in namespace:
            raise MlopsError(f"--log-model: there is no variable {name!r}", ErrorCode.USAGE)
        check_model(namespace[name], name)
        models[name] = namespace[name]
    notes: list[str] = []
    run = client.get_run(run_id)
    training = training_data(run, None, namespace, notes.append)
    logged = []
    try:
        for name, model in models.items():
            features = next(
                (f for t in training if (f := feature_frame(model, t.data)) is not None), None
            )
            result = log_sklearn_model(client, run, model, features, name=name)
            client.set_logged_model_tags(
                result.model_id,
                {MODEL_VARIABLE_TAG: name, MODEL_FINGERPRINT_TAG: model_fingerprint(model)},
            )
            logged.append(result)
        profiles = store_profiles(client, run, training)
        if profiles:
            client.set_tag(run_id, REFERENCE_PROFILES_TAG, ",".join(profiles))
    except MlflowException as exc:
        raise MlopsError(
            f"cannot log the model on run {run_id[:12]}: {exc.message}",
            ErrorCode.TRACKING_UNAVAILABLE,
        ) from None
    for note in notes:
        if warn is not None:
            warn(note)
    return logged


def logged_models(client: MlflowClient, run: Run) -> list[LoggedModel]:
    """The ready models logged on ``run``, newest first."""
    found = client.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = {quoted(run.info.run_id)}",
    )
    ready = [m for m in found if str(m.status).endswith("READY")]
    return sorted(ready, key=lambda m: m.creation_timestamp or 0, reverse=True)


def reusable_model(
    client: MlflowClient, run: Run, model: Any, variable: str
) -> LoggedSklearnModel | None:
    """The model already logged on ``run`` for ``variable`` when it is this very fit."""
    fingerprint = model_fingerprint(model)
    if not fingerprint:
        return None
    for logged in logged_models(client, run):
        tags = logged.tags or {}
        if (
            tags.get(MODEL_VARIABLE_TAG) == variable
            and tags.get(MODEL_FINGERPRINT_TAG) == fingerprint
        ):
            return LoggedSklearnModel(
                model_id=logged.model_id,
                artifact_location=logged.artifact_location,
                flavor="sklearn",
                has_signature=True,
            )
    return None
