"""Soft-delete runs (MLflow's ``delete_run``), never silently the source of a registered version.

Every named run is checked before any is deleted: a run that does not exist, or that a
registered model version came from (the version's ``run_id`` or our ``mlops.source.run_id``
tag) unless forced, stops the whole request. A deleted run can be restored with
``mlflow runs restore --run-id ID``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlflow.entities import Run
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.store.causes import mlflow_error
from jupyter_mlops.core.store.queries import quoted
from jupyter_mlops.core.store.run_ids import find_runs
from jupyter_mlops.core.tags import (
    CELL_ID_TAG,
    JOB_RUN_TAG,
    NOTEBOOK_PATH_TAG,
    SCRIPT_PATH_TAG,
    SOURCE_RUN_ID_TAG,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["DeletionPlan", "DeletionResult", "delete_runs", "versions_from"]


@dataclass(frozen=True)
class DeletionPlan:
    """The runs about to be deleted, each with the registered versions it is the source of."""

    runs: tuple[Run, ...]
    versions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # run id -> "name/N"

    def lines(self) -> list[str]:
        """One line per run: id, name, where it came from, the versions it is the source of."""
        lines = []
        for run in self.runs:
            info, tags = run.info, run.data.tags
            origin = tags.get(NOTEBOOK_PATH_TAG) or tags.get(SCRIPT_PATH_TAG)
            if origin and tags.get(CELL_ID_TAG):
                origin += f", cell {tags[CELL_ID_TAG]}"
            line = f"  {info.run_id}  {info.run_name or '-'}" + (f"  ({origin})" if origin else "")
            versions = self.versions.get(info.run_id)
            if versions:
                line += f"  source of {', '.join(versions)}"
            lines.append(line)
        return lines


@dataclass(frozen=True)
class DeletionResult:
    """What was deleted (nothing when the confirmation was declined)."""

    plan: DeletionPlan
    deleted: tuple[str, ...]

    def to_text(self) -> str:
        """One line per deleted run, and how to restore them."""
        if not self.deleted:
            return "nothing deleted"
        lines = []
        for run_id in self.deleted:
            line = f"deleted run {run_id}"
            versions = self.plan.versions.get(run_id)
            if versions:
                line += f" (source of {', '.join(versions)}: the version stays registered)"
            lines.append(line)
        which = self.deleted[0] if len(self.deleted) == 1 else "RUN_ID"
        lines.append(f"restore with: mlflow runs restore --run-id {which}")
        return "\n".join(lines)


def versions_from(client: MlflowClient, run_id: str) -> tuple[str, ...]:
    """The registered versions (``name/N``) that ``run_id`` made: its source run, by the
    version's ``run_id`` or its ``mlops.source.run_id`` tag, or the job run that registered
    it (``mlops.job.run_id``), whose record the version's lineage points to.

    Raises:
        MlopsError: TRACKING_UNAVAILABLE when the registry cannot be searched.
    """
    found: set[tuple[str, int]] = set()
    for query in (
        f"run_id = {quoted(run_id)}",
        f"tags.`{SOURCE_RUN_ID_TAG}` = {quoted(run_id)}",
        f"tags.`{JOB_RUN_TAG}` = {quoted(run_id)}",
    ):
        token: str | None = None
        while True:
            try:
                page = client.search_model_versions(query, max_results=1000, page_token=token)
            except MlflowException as exc:
                raise mlflow_error(exc, "cannot search the model registry") from None
            found.update((v.name, int(v.version)) for v in page)
            token = page.token
            if not token:
                break
    return tuple(f"{name}/{number}" for name, number in sorted(found))


def delete_runs(
    client: MlflowClient,
    refs: Sequence[str],
    store: str,
    *,
    force: bool = False,
    confirm: Callable[[DeletionPlan], bool],
) -> DeletionResult:
    """Soft-delete the runs ``refs`` name (run ids or unique prefixes), after every check and
    ``confirm(plan)`` (which may also raise to refuse).

    Raises:
        MlopsError: USAGE for a malformed reference; NOT_FOUND for a run that does not exist
            or is deleted already; CONFLICT for the source run of a registered version
            without ``force``; nothing is deleted then. TRACKING_UNAVAILABLE when a delete
            fails (the message names what was deleted before).
    """
    runs = list({run.info.run_id: run for run in find_runs(client, refs, store)}.values())
    versions = {run.info.run_id: v for run in runs if (v := versions_from(client, run.info.run_id))}
    if versions and not force:
        sources = "; ".join(
            f"run {run_id} is the source of {', '.join(names)}"
            for run_id, names in versions.items()
        )
        raise MlopsError(
            f"{sources}: nothing deleted (pass --force to delete anyway; the versions stay "
            "registered)",
            ErrorCode.CONFLICT,
        )
    plan = DeletionPlan(tuple(runs), versions)
    if not confirm(plan):
        return DeletionResult(plan, ())
    deleted: list[str] = []
    for run in runs:
        try:
            client.delete_run(run.info.run_id)
        except MlflowException as exc:
            done = f"deleted {', '.join(deleted)}; " if deleted else ""
            raise MlopsError(
                f"{done}cannot delete run {run.info.run_id}: {exc.message}",
                ErrorCode.TRACKING_UNAVAILABLE,
            ) from None
        deleted.append(run.info.run_id)
    return DeletionResult(plan, tuple(deleted))
