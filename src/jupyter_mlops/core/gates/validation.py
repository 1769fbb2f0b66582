"""The ``validate`` use case: read the evaluation data and the policy, validate a registered
version against the champion, and record the decision.

Exit codes of the command that runs it: 0 every gate measured passed (or nothing was gated,
which is said, never a silent pass), :data:`EXIT_GATE_FAILED` when a gate failed, and the
usual 1 (error) / 2 (usage) otherwise, so CI can tell "the model is not good enough" from "the
job broke".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from jupyter_mlops.core.capture.session import connect_registry
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.gates.policy import load_policy
from jupyter_mlops.core.gates.record import RecordedDecision, record_decision
from jupyter_mlops.core.gates.validate import Decision, validate
from jupyter_mlops.core.registry.refs import parse_model_ref
from jupyter_mlops.core.store.active_run import point_fluent_api

__all__ = ["EXIT_GATE_FAILED", "Validation", "read_table", "validate_version"]

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
    point_fluent_api(settings.tracking_uri)  # models:/ URIs resolve against this store
    decision = validate(client, model_ref, table, target, policy, against=against, load=_load)
    return Validation(decision, record_decision(client, decision))


def _load(uri: str) -> Any:
    import mlflow.sklearn

    return mlflow.sklearn.load_model(uri)
