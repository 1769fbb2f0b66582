"""Making a run we created with the client MLflow's active run, without reading it back.

``mlflow.start_run(run_id=...)`` resumes a run by reading it twice and rewriting its status:
about 15 ms per cell on SQLite, most of our capture overhead. We already hold the ``Run`` that
``MlflowClient.create_run`` returned, so we push it onto MLflow's active-run stack the way
``start_run`` itself does. Should a future MLflow move that stack, we fall back to the public
``start_run(run_id=...)``: slower, same behaviour.
"""

from __future__ import annotations

import mlflow
from mlflow.entities import Run

__all__ = ["activate"]


def activate(run: Run, tracking_uri: str) -> None:
    """Make ``run`` the active run of MLflow's fluent API (nested under any active run)."""
    mlflow.set_tracking_uri(tracking_uri)
    stack = _stack()
    if stack is None:
        mlflow.start_run(run_id=run.info.run_id, nested=mlflow.active_run() is not None)
        return
    from mlflow.tracking.fluent import ActiveRun

    stack.append(ActiveRun(run))  # type: ignore[no-untyped-call]


def _stack() -> list[object] | None:
    try:
        from mlflow.tracking import fluent

        stack = fluent._active_run_stack.get()  # type: ignore[no-untyped-call]
    except (ImportError, AttributeError):
        return None
    return stack if isinstance(stack, list) else None
