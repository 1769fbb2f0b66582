"""Promote a validated version: move an alias through the alias ledger only when the version
passed its validation against the version that alias points to *now*.

A champion that changed since the validation means the comparison no longer holds: validate
again. ``override`` (with a reason) moves the alias anyway and records who overrode and why, in
the ledger entry and on the version (``mlops.validation.override``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.capture.identity import current_user
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.registry.alias_ledger import AliasMove, check_move, move_alias
from jupyter_mlops.core.registry.refs import get_model
from jupyter_mlops.core.store.causes import mlflow_error
from jupyter_mlops.core.tags import (
    VALIDATION_AGAINST_TAG,
    VALIDATION_OVERRIDE_TAG,
    VALIDATION_RUN_TAG,
    VALIDATION_SHA256_TAG,
    VALIDATION_STATUS_TAG,
)

__all__ = ["Promotion", "promote"]


@dataclass(frozen=True)
class Promotion:
    """A done promotion: the ledger entry, and whether it was an override."""

    move: AliasMove
    overridden: bool

    def describe(self) -> str:
        text = self.move.describe()
        return f"{text} (OVERRIDE: validation not passed)" if self.overridden else text


def promote(
    client: MlflowClient,
    model: str,
    version: str,
    alias: str,
    *,
    reason: str | None = None,
    override: bool = False,
) -> Promotion:
    """Point ``alias`` of ``model`` at ``version`` if its validation passed against the
    version ``alias`` points to now (or against no champion when the alias is unset).

    Raises:
        MlopsError: GATE_REFUSED (exit 3) when the version has no passed validation against
            the current holder of ``alias``; USAGE for bad names or an override without a
            reason; NOT_FOUND for an unknown model or version.
    """
    version = check_move(model, alias, version)
    if override and not (reason or "").strip():
        raise MlopsError("--override needs a --reason (it is recorded)", ErrorCode.USAGE)
    try:
        tags = dict(client.get_model_version(model, version).tags or {})
    except MlflowException as exc:
        raise mlflow_error(exc, f"cannot read {model}/{version}") from None
    holder = dict(get_model(client, model).aliases or {}).get(alias)
    holder = None if holder is None else str(holder)
    status, against = tags.get(VALIDATION_STATUS_TAG), tags.get(VALIDATION_AGAINST_TAG, "")
    refusal = _refusal(model, version, alias, status, against, holder)
    if refusal and not override:
        raise MlopsError(refusal, ErrorCode.GATE_REFUSED)
    if refusal:
        record = {
            "actor": current_user(for_ledger=True),
            "reason": (reason or "").strip(),
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "refused_because": refusal,
        }
        try:
            client.set_model_version_tag(
                model, version, VALIDATION_OVERRIDE_TAG, json.dumps(record)
            )
        except MlflowException as exc:
            raise mlflow_error(exc, "cannot record the override") from None
        why = f"OVERRIDE by {record['actor']}: {record['reason']}"
        move = move_alias(client, model, alias, version, reason=why, action="override")
        return Promotion(move, overridden=True)
    evidence = (
        f"validated in run {tags.get(VALIDATION_RUN_TAG, '?')} "
        f"(decision sha256 {tags.get(VALIDATION_SHA256_TAG, '?')})"
    )
    why = f"{reason.strip()}; {evidence}" if reason and reason.strip() else evidence
    return Promotion(move_alias(client, model, alias, version, reason=why, action="promote"), False)


def _refusal(
    model: str, version: str, alias: str, status: str | None, against: str, holder: str | None
) -> str | None:
    """Why the move is refused, None when the validation allows it."""
    if holder == version:
        return None  # already there: nothing is promoted past the gates
    if status is None:
        return (
            f"{model}/{version} has not been validated; run "
            f"`jupyter-mlops validate {model}/{version} --against {alias}` first"
        )
    if status != "passed":
        return f"{model}/{version} did not pass its validation (status: {status})"
    if (against or None) != holder:
        compared = f"version {against}" if against else "no champion"
        now = f"version {holder}" if holder else "no version"
        return (
            f"{model}/{version} was validated against {compared}, but @{alias} points to "
            f"{now} now; validate again"
        )
    return None
