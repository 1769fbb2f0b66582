"""Runs named on a command line: full 32-hex-digit run ids or unique prefixes of them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mlflow.entities import Run, ViewType
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.store.causes import mlflow_error
from jupyter_mlops.core.store.queries import like_prefix

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["MIN_PREFIX", "find_runs"]

#: The shortest run-id prefix accepted (the run lists show 8 or 12 digits).
MIN_PREFIX = 6
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_PREFIX = re.compile(rf"^[0-9a-f]{{{MIN_PREFIX},31}}$")


def find_runs(client: MlflowClient, refs: Sequence[str], store: str) -> list[Run]:
    """The active runs ``refs`` name, in order (each a run id or a unique prefix of one).

    Every reference is checked before anything is returned; the first bad one raises.
    ``store`` is the (masked) tracking URI, used in messages.

    Raises:
        MlopsError: USAGE for a reference that is neither a run id nor a prefix of at least
            :data:`MIN_PREFIX` hex digits, or a prefix matching several runs; NOT_FOUND for a
            run that does not exist or is deleted; TRACKING_UNAVAILABLE when the store fails.
    """
    runs: list[Run] = []
    for ref in refs:
        wanted = ref.strip().lower()
        if _RUN_ID.match(wanted):
            run = _get(client, wanted, store)
        elif _PREFIX.match(wanted):
            run = _by_prefix(client, wanted, store)
        else:
            raise MlopsError(
                f"{ref!r} is not a run id (32 hex digits, or a unique prefix of at least "
                f"{MIN_PREFIX})",
                ErrorCode.USAGE,
            )
        if run.info.lifecycle_stage == "deleted":
            raise MlopsError(
                f"run {run.info.run_id} is deleted (restore it with "
                f"'mlflow runs restore --run-id {run.info.run_id}')",
                ErrorCode.NOT_FOUND,
            )
        runs.append(run)
    return runs


def _get(client: MlflowClient, run_id: str, store: str) -> Run:
    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            raise MlopsError(f"no run {run_id} in {store}", ErrorCode.NOT_FOUND) from None
        raise mlflow_error(exc, f"cannot read run {run_id}") from None


def _by_prefix(client: MlflowClient, prefix: str, store: str) -> Run:
    try:
        experiments = _experiment_ids(client)
        found = (
            client.search_runs(
                experiments,
                filter_string=f"attributes.run_id LIKE {like_prefix(prefix)}",
                run_view_type=ViewType.ALL,  # a deleted run is named as such below
                max_results=3,
            )
            if experiments
            else []
        )
    except MlflowException as exc:
        raise mlflow_error(exc, f"cannot look up run {prefix}") from None
    if not found:
        raise MlopsError(f"no run {prefix}… in {store}", ErrorCode.NOT_FOUND)
    if len(found) > 1:
        names = ", ".join(run.info.run_id for run in found[:2])
        raise MlopsError(
            f"run id prefix {prefix!r} is ambiguous: it matches {names}"
            f"{' and more' if len(found) > 2 else ''}; give more digits",
            ErrorCode.USAGE,
        )
    return found[0]


def _experiment_ids(client: MlflowClient) -> list[str]:
    ids: list[str] = []
    token: str | None = None
    while True:
        page = client.search_experiments(
            view_type=ViewType.ACTIVE_ONLY, max_results=1000, page_token=token
        )
        ids.extend(str(experiment.experiment_id) for experiment in page)
        token = page.token
        if not token:
            return ids
