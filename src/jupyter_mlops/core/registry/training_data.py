"""The data a model was trained on, as registration finds it: the frames named with ``--data``
or the run's ``training`` inputs still in the namespace (same fingerprint), and their
reference profiles stored on the run."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Run

from jupyter_mlops.core.capture.datasets import input_context
from jupyter_mlops.core.capture.fingerprint import fingerprint, is_tabular
from jupyter_mlops.core.capture.run_capture import Warn
from jupyter_mlops.core.capture.run_files import write_run_files
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.monitoring.profile import profile_data
from jupyter_mlops.core.tags import reference_profile_artifact

__all__ = ["TrainingData", "check_data", "store_profiles", "training_data"]


@dataclass(frozen=True)
class TrainingData:
    """A DataFrame/Series the model was trained on, under the name the run recorded it."""

    name: str
    data: pd.DataFrame | pd.Series


def check_data(data: TrainingData | None) -> None:
    """Refuse training data that is not a pandas DataFrame/Series (USAGE)."""
    if data is not None and not is_tabular(data.data):
        raise MlopsError(
            f"the training data {data.name} is a {type(data.data).__name__}; "
            "pass a pandas DataFrame",
            ErrorCode.USAGE,
        )


def training_data(
    run: Run, explicit: TrainingData | None, namespace: Mapping[str, Any], note: Warn
) -> list[TrainingData]:
    """The training inputs: ``explicit`` first, then the run's, if still the same data."""
    found = [explicit] if explicit is not None else []
    inputs = run.inputs.dataset_inputs if run.inputs else []
    for item in inputs:
        name = item.dataset.name
        if input_context(item) != "training" or any(t.name == name for t in found):
            continue
        value = namespace.get(name)
        if not is_tabular(value):
            continue
        if fingerprint(value) != item.dataset.digest:
            if explicit is not None:  # the caller named the training data already
                continue
            note(
                f"{name} changed since run {run.info.run_id[:12]} used it; its reference "
                "profile is not stored (pass --data to name the training data)"
            )
            continue
        found.append(TrainingData(name, value))
    return found


def store_profiles(client: MlflowClient, run: Run, training: Sequence[TrainingData]) -> list[str]:
    """Write each frame's reference profile on ``run``; return the artifact paths."""
    files = {
        reference_profile_artifact(t.name): json.dumps(profile_data(t.name, t.data), indent=1)
        for t in training
    }
    if files:
        write_run_files(run.info.artifact_uri, client.tracking_uri, files)
    return list(files)
