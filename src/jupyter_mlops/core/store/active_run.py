"""MLflow's fluent state: where plain ``mlflow.*`` calls go, and which run is active.

``mlflow.set_tracking_uri`` and ``mlflow.set_experiment`` also write ``MLFLOW_TRACKING_URI`` /
``MLFLOW_EXPERIMENT_ID`` into the process environment. We point the fluent API at our store
without that side effect: the environment is the user's configuration, and we read it.

Making a run we created with the client the active run, without reading it back:

``mlflow.start_run(run_id=...)`` resumes a run by reading it twice and rewriting its status:
about 15 ms per cell on SQLite, most of our capture overhead. We already hold the ``Run`` that
``MlflowClient.create_run`` returned, so we push it onto MLflow's active-run stack the way
``start_run`` itself does. Should a future MLflow move that stack, we fall back to the public
``start_run(run_id=...)``: slower, same behaviour.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Run

from jupyter_mlops.core.redaction import mask_uri

__all__ = ["activate", "active_run_id", "deactivate", "point_fluent_api", "terminate"]

_MLFLOW_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID")


def point_fluent_api(tracking_uri: str, experiment_id: str | None = None) -> None:
    """Make plain ``mlflow.*`` calls use ``tracking_uri`` (and ``experiment_id`` if given)."""
    with _environment_kept():
        mlflow.set_tracking_uri(tracking_uri)
        if experiment_id is not None:
            mlflow.set_experiment(experiment_id=experiment_id)


@contextmanager
def _environment_kept(names: tuple[str, ...] = _MLFLOW_ENV) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def active_run_id() -> str | None:
    """The id of MLflow's active run in this process, if any."""
    active = mlflow.active_run()
    return None if active is None else str(active.info.run_id)


def activate(run: Run, tracking_uri: str) -> None:
    """Make ``run`` the active run of MLflow's fluent API (nested under any active run)."""
    point_fluent_api(tracking_uri)
    stack = _stack()
    if stack is None:
        mlflow.start_run(run_id=run.info.run_id, nested=mlflow.active_run() is not None)
        return
    from mlflow.tracking.fluent import ActiveRun

    stack.append(ActiveRun(run))  # type: ignore[no-untyped-call]


def deactivate(run_id: str) -> list[str] | None:
    """Pop ``run_id`` and any runs opened above it from MLflow's active-run stack.

    Returns the ids popped (top first; the caller ends them through its client), or None when
    MLflow's stack cannot be reached. Unlike ``mlflow.end_run``, nothing is printed: MLflow
    prints each run's URL, and a tracking URI's password with it, into the notebook.
    """
    stack = _stack()
    if stack is None:
        return None
    ids = [str(entry.info.run_id) for entry in stack]  # type: ignore[attr-defined]
    if run_id not in ids:
        return []
    depth = len(ids) - ids.index(run_id)
    popped = ids[-depth:][::-1]
    del stack[-depth:]
    return popped


def terminate(client: MlflowClient, run_id: str, status: str) -> None:
    """End a run. With a tracking server, MLflow prints the run's URL into the notebook; when
    the URI carries credentials that URL would show them, so the print is suppressed then."""
    if mask_uri(client.tracking_uri) == client.tracking_uri:
        client.set_terminated(run_id, status=status)
        return
    with _environment_kept(("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT",)):
        os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
        client.set_terminated(run_id, status=status)


def _stack() -> list[object] | None:
    try:
        from mlflow.tracking import fluent

        stack = fluent._active_run_stack.get()  # type: ignore[no-untyped-call]
    except (ImportError, AttributeError):
        return None
    return stack if isinstance(stack, list) else None
