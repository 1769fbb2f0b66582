"""The runs ``jupyter-mlops runs [NOTEBOOK]`` lists, read from the store without creating it.

The store and experiment are resolved from the notebook exactly as ``%mlops init`` would
from it (:func:`~jupyter_mlops.core.store.notebook_store.notebook_store`); the table is the one
``%mlops runs`` shows (:func:`~jupyter_mlops.core.views.run_list.notebook_runs`). Without a
notebook, every run of the resolved experiment is listed, and the title says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.capture.notebook import NotebookLocation
from jupyter_mlops.core.capture.provenance import notebook_filter
from jupyter_mlops.core.capture.session import Target
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.store.notebook_store import NotebookStore, notebook_store
from jupyter_mlops.core.tags import NOTEBOOK_PATH_TAG, SCRIPT_PATH_TAG
from jupyter_mlops.core.views.run_list import RunList, notebook_runs
from jupyter_mlops.core.views.run_pages import run_summary

__all__ = ["RunListing", "list_runs"]


@dataclass(frozen=True)
class RunListing:
    """What to list: the resolved store, experiment and notebook; renders as text or JSON."""

    store: NotebookStore
    location: NotebookLocation
    experiment_id: str | None  # None when the experiment does not exist (nothing recorded)
    limit: int

    def to_text(self) -> str:
        """The ``%mlops runs`` table, plus a hint when an experiment-wide list is empty."""
        table = self.table()
        if self.location.path is not None or table.rows:
            return table.to_text()
        others = [
            e.name
            for e in self.store.client().search_experiments(max_results=50)
            if e.name != self.store.settings.experiment
        ]
        if not others:
            return table.to_text()
        return (
            f"{table.to_text()}\nother experiments in {self.store.settings.display_uri}: "
            f"{', '.join(sorted(others))} (pass a NOTEBOOK or --experiment NAME)"
        )

    def table(self) -> RunList:
        """The runs as the table ``%mlops runs`` shows, newest first."""
        target = self._target()
        if target is None:
            kind = "script" if self.location.found_by == "script" else "notebook"
            return RunList((), self.store.notebook_tag, self.store.settings.experiment, kind)
        return notebook_runs(target, self.limit)

    def to_dict(self) -> dict[str, Any]:
        """The runs as JSON-ready data: each run's id, name, status, times, params, metrics,
        notebook and cell id (the panel's ``RunSummary`` plus ``notebook``)."""
        reply: dict[str, Any] = {
            "store": self.store.settings.display_uri,
            "experiment": self.store.settings.experiment,
            "notebook": self.store.notebook_tag,
            "runs": [],
        }
        target = self._target()
        if target is None:
            return reply
        try:
            runs = target.client.search_runs(
                [target.experiment_id],
                filter_string=notebook_filter(target)[0],
                run_view_type=ViewType.ACTIVE_ONLY,
                max_results=self.limit,
                order_by=["attributes.start_time DESC"],
            )
        except MlflowException as exc:
            raise MlopsError(
                f"cannot list runs: {exc.message}", ErrorCode.TRACKING_UNAVAILABLE
            ) from None
        reply["runs"] = [
            {
                **run_summary(run),
                "notebook": run.data.tags.get(NOTEBOOK_PATH_TAG)
                or run.data.tags.get(SCRIPT_PATH_TAG),
            }
            for run in runs
        ]
        return reply

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)

    def _target(self) -> Target | None:
        if self.experiment_id is None:
            return None
        return Target(self.store.client(), self.store.settings, self.location)


def list_runs(
    notebook: Path | None,
    *,
    cwd: Path,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    limit: int = 20,
) -> RunListing:
    """Resolve where ``notebook``'s runs are (else the runs of the experiment resolved from
    ``cwd``), creating nothing.

    Raises:
        MlopsError: USAGE for a ``limit`` below 1; NOT_FOUND for a notebook that does not
            exist or a SQLite store that does not exist; CONFIG or TRACKING_UNAVAILABLE when
            the store cannot be used.
    """
    if limit < 1:
        raise MlopsError(f"--limit must be a positive number, not {limit}", ErrorCode.USAGE)
    path = None
    if notebook is not None:
        path = (cwd / notebook).resolve()
        if not path.is_file():
            raise MlopsError(f"no notebook {notebook}: {path} does not exist", ErrorCode.NOT_FOUND)
    store = notebook_store(path, cwd=cwd, tracking_uri=tracking_uri)
    if experiment:
        settings = replace(store.settings, experiment=experiment, experiment_source="argument")
        store = replace(store, settings=settings)
    if not store.exists:
        raise MlopsError(
            f"no MLflow store at {store.settings.display_uri}; run this in the project folder "
            "or pass --tracking-uri",
            ErrorCode.NOT_FOUND,
        )
    found_by = "none" if path is None else ("script" if path.suffix == ".py" else "argument")
    return RunListing(store, NotebookLocation(path, found_by), store.experiment_id(), limit)
