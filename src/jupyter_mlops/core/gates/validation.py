"""The ``validate`` use case: read the evaluation data and the policy, validate a registered
version against the champion, and record the decision.

Exit codes of the command that runs it: 0 every gate measured passed (or nothing was gated,
which is said, never a silent pass), :data:`EXIT_GATE_FAILED` when a gate failed, and the
usual 1 (error) / 2 (usage) otherwise, so CI can tell "the model is not good enough" from "the
job broke".
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from jupyter_mlops.core.capture.session import connect_registry
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.gates.policy import Policy, load_policy
from jupyter_mlops.core.gates.record import RecordedDecision, record_decision
from jupyter_mlops.core.gates.report import render_fragment
from jupyter_mlops.core.gates.validate import Decision, validate
from jupyter_mlops.core.registry.refs import ModelRef, parse_model_ref
from jupyter_mlops.core.store.active_run import point_fluent_api

__all__ = [
    "EXIT_GATE_FAILED",
    "Validation",
    "read_table",
    "validate_frames",
    "validate_table",
    "validate_version",
]

#: A gate failed: the model is not good enough (distinct from 1 error and 2 usage).
EXIT_GATE_FAILED = 3


@dataclass(frozen=True)
class Validation:
    """A recorded decision."""

    decision: Decision
    recorded: RecordedDecision

    @property
    def exit_code(self) -> int:
        return EXIT_GATE_FAILED if self.decision.status == "failed" else 0

    def _repr_html_(self) -> str:
        """In a notebook: the gate table (verdicts coloured) and the plots, inline."""
        return render_fragment(self.decision) + (
            f"<p>decision record: run <code>{self.recorded.run_id}</code> in experiment "
            f"<code>{html.escape(self.recorded.experiment)}</code></p>"
        )

    def to_text(self) -> str:
        return (
            f"{self.decision.to_text()}\n"
            f"decision record: run {self.recorded.run_id} in experiment "
            f"{self.recorded.experiment!r} (sha256 {self.recorded.sha256[:12]}…)"
        )


def read_table(path: Path) -> pd.DataFrame:
    """A ``.csv`` or ``.parquet`` file as a DataFrame.

    Raises:
        MlopsError: USAGE for another suffix, a missing or unreadable file.
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise MlopsError(
            f"--data must be a .csv or .parquet file, not {path.name!r}", ErrorCode.USAGE
        )
    if not path.is_file():
        raise MlopsError(f"no data file {str(path)!r}", ErrorCode.USAGE)
    try:
        return pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except Exception as exc:  # pandas raises many kinds for a malformed file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MlopsError(f"cannot read {path.name}: {first}", ErrorCode.USAGE) from None


def validate_version(
    ref: str,
    data: Path,
    target: str,
    *,
    against: str = "champion",
    policy_file: Path | None = None,
    gates: Iterable[str] = (),
    tracking_uri: str | None = None,
) -> Validation:
    """Validate the registered version ``ref`` (``MODEL/VERSION``, ``MODEL@ALIAS`` or
    ``MODEL`` for the latest) on ``data`` against ``@against``, and record the decision.

    Everything the user can get wrong is checked before anything is written: the reference,
    the policy, the data file and its columns, the models.
    """
    model_ref = parse_model_ref(ref)
    policy = load_policy(model_ref.name, policy_file=policy_file, gates=tuple(gates))
    table = read_table(data)
    client, settings = connect_registry(tracking_uri)
    return validate_table(
        client, settings.tracking_uri, model_ref, table, target, policy, against=against
    )


def validate_table(
    client: MlflowClient,
    tracking_uri: str,
    ref: ModelRef,
    table: pd.DataFrame,
    target: str,
    policy: Policy,
    *,
    against: str = "champion",
) -> Validation:
    """Validate ``ref`` on ``table`` (features, ``target`` and any sensitive or slice
    columns) against ``@against`` and record the decision: what ``jupyter-mlops validate``
    and ``%mlops validate`` both do once their input is read."""
    point_fluent_api(tracking_uri)  # models:/ URIs resolve against this store
    decision = validate(client, ref, table, target, policy, against=against, load=_load)
    return Validation(decision, record_decision(client, decision))


def _load(uri: str) -> Any:
    import mlflow.sklearn

    return mlflow.sklearn.load_model(uri)


def validate_frames(
    client: MlflowClient,
    tracking_uri: str,
    ref: str,
    features: Any,
    labels: Any,
    *,
    against: str = "champion",
    policy_file: Path | None = None,
    gates: Iterable[str] = (),
    sensitive: Any = None,
) -> Validation:
    """``%mlops validate``: the evaluation data as the notebook holds it.

    ``features`` is a DataFrame (the rows both models score); ``labels`` the target, row for
    row (a Series, array or list); ``sensitive`` either a DataFrame of sensitive attributes
    (row for row, used for the fairness gates instead of the policy's list) or a sequence of
    column names of ``features``.

    Raises:
        MlopsError: USAGE when the frames do not line up, or as :func:`validate_table`.
    """
    model_ref = parse_model_ref(ref)
    policy = load_policy(model_ref.name, policy_file=policy_file, gates=tuple(gates))
    if not isinstance(features, pd.DataFrame):
        raise MlopsError(
            f"--data must be a pandas DataFrame, not {type(features).__name__}", ErrorCode.USAGE
        )
    target = str(getattr(labels, "name", None) or "target")
    values = np.asarray(labels)
    if values.ndim != 1 or len(values) != len(features):
        raise MlopsError(
            f"--target has {len(values)} values for {len(features)} rows of --data",
            ErrorCode.USAGE,
        )
    table = features.reset_index(drop=True).copy()
    while target in table.columns:
        target = f"{target}_"
    table[target] = values
    if isinstance(sensitive, pd.DataFrame):
        if len(sensitive) != len(features):
            raise MlopsError(
                f"--sensitive has {len(sensitive)} rows for {len(features)} rows of --data",
                ErrorCode.USAGE,
            )
        extra = sensitive.reset_index(drop=True)
        table = table.join(extra[[c for c in extra.columns if c not in table.columns]])
        policy = replace(policy, fairness=replace(policy.fairness, sensitive=tuple(extra.columns)))
    elif sensitive:
        policy = replace(
            policy, fairness=replace(policy.fairness, sensitive=tuple(map(str, sensitive)))
        )
    return validate_table(client, tracking_uri, model_ref, table, target, policy, against=against)
