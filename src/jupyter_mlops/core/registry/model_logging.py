"""Logging a fitted model into an existing run with its MLflow flavour, signature and example.

Everything goes through an explicit :class:`~mlflow.MlflowClient`: the logged model is created
in the run's own experiment, saved with the scikit-learn flavour, uploaded, linked to the run
as an output and marked READY. The run itself is not reopened (its status and end time stay).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import LoggedModel, LoggedModelOutput, LoggedModelStatus, Run

from jupyter_mlops.core.errors import ErrorCode, MlopsError

__all__ = ["LoggedSklearnModel", "check_model", "feature_frame", "log_sklearn_model"]

_EXAMPLE_ROWS = 5
_SIGNATURE_ROWS = 100
SUPPORTED = "a fitted scikit-learn estimator or Pipeline"


@dataclass(frozen=True)
class LoggedSklearnModel:
    """A model stored in MLflow: its logged-model id and where its files are."""

    model_id: str
    artifact_location: str
    flavor: str
    has_signature: bool


def check_model(model: Any, label: str) -> None:
    """Accept only fitted scikit-learn estimators (Pipelines included).

    Raises:
        MlopsError: (USAGE) naming the type and what is supported.
    """
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    if not isinstance(model, BaseEstimator):
        raise MlopsError(
            f"{label} is a {kind}, which cannot be registered; supported: {SUPPORTED}",
            ErrorCode.USAGE,
        )
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise MlopsError(
            f"{label} is an unfitted {type(model).__name__}; fit it first (supported: {SUPPORTED})",
            ErrorCode.USAGE,
        ) from None
    except TypeError as exc:  # check_is_fitted refuses objects without fit()
        raise MlopsError(f"{label}: {exc}; supported: {SUPPORTED}", ErrorCode.USAGE) from None


def _own_types(model: Any) -> list[str] | None:
    """The types in ``model`` that skops does not trust by default (e.g. a tree's ``Tree``).

    MLflow saves scikit-learn models with skops, which refuses to load types outside its
    allow-list; the model is the user's own object, so its types are declared trusted in the
    MLmodel file and ``models:/`` loads it with plain MLflow.
    """
    try:
        import skops.io  # type: ignore[import-untyped]
    except ImportError:  # older MLflow pickles instead
        return None
    return list(skops.io.get_untrusted_types(data=skops.io.dumps(model))) or None


def feature_frame(model: Any, data: pd.DataFrame | pd.Series) -> pd.DataFrame | None:
    """The model's input columns taken from ``data`` (None when they cannot be matched).

    A frame that also holds the label is narrowed to ``feature_names_in_``.
    """
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        n_features = getattr(model, "n_features_in_", None)
        return frame if n_features in (None, frame.shape[1]) else None
    wanted = [str(n) for n in names]
    if not set(wanted) <= {str(c) for c in frame.columns}:
        return None
    return frame[wanted]


def log_sklearn_model(
    client: MlflowClient,
    run: Run,
    model: Any,
    features: pd.DataFrame | None,
    *,
    name: str = "model",
) -> LoggedSklearnModel:
    """Save ``model`` with the sklearn flavour as an output of ``run`` and return where it is.

    The signature and input example come from ``features`` (rows of the training inputs);
    without them the model is logged without a signature.
    """
    import mlflow.sklearn
    from mlflow.models import Model, infer_signature

    run_id = run.info.run_id
    logged: LoggedModel = client.create_logged_model(
        experiment_id=run.info.experiment_id, name=name, source_run_id=run_id
    )
    signature = example = None
    if features is not None and len(features):
        sample = features.head(_SIGNATURE_ROWS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow warns about integer columns with no NaNs
            signature = infer_signature(sample, model.predict(sample))
        example = features.head(_EXAMPLE_ROWS)
    mlflow_model = Model(
        artifact_path=logged.artifact_location,
        model_uuid=logged.model_id,
        run_id=run_id,
        model_id=logged.model_id,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="jupyter-mlops-model-") as folder:
            local = os.path.join(folder, "model")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mlflow.sklearn.save_model(
                    model,
                    local,
                    mlflow_model=mlflow_model,
                    signature=signature,
                    input_example=example,
                    skops_trusted_types=_own_types(model),
                    # scikit-learn's own pin; inferring would load the model in a subprocess
                    pip_requirements=mlflow.sklearn.get_default_pip_requirements(),
                )
            client.log_model_artifacts(logged.model_id, local)
        client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    except BaseException:
        with contextlib.suppress(Exception):
            client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)
        raise
    client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, 0)])
    return LoggedSklearnModel(
        model_id=logged.model_id,
        artifact_location=logged.artifact_location,
        flavor="sklearn",
        has_signature=signature is not None,
    )
