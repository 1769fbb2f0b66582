"""Where a notebook session's runs go, resolved once per session.

The magics and the fluent facade keep implicit state for the user (the process-wide
:func:`~jupyter_mlops.core.capture.session.current` session); this module is the one place
that turns it into a :class:`~jupyter_mlops.core.capture.session.Target`. Each time the
session resolves a new target: the settings are resolved and the store connected, plain
``mlflow.*`` calls are pointed at it, runs an earlier session could not finish are written
from their pending records, runs of dead kernels are marked KILLED, and each of these is told
once, on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyter_mlops.core.capture import session as _session
from jupyter_mlops.core.capture.notebook import discover_notebook
from jupyter_mlops.core.capture.session import Session, Target
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.store.active_run import point_fluent_api
from jupyter_mlops.core.store.orphans import reap_orphaned_runs
from jupyter_mlops.core.store.pending_records import resolve_pending_runs

__all__ = ["init_target", "session_notebook", "session_target", "warn"]


def init_target(
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    notebook: str | Path | None = None,
    namespace: Mapping[str, Any] | None = None,
    cell_source: str | None = None,
) -> Target:
    """Choose where the session's runs go (``%mlops init`` / ``jupyter_mlops.init()``).

    Each argument overrides the environment and pyproject.toml. ``namespace`` (the user's
    variables) and ``cell_source`` (the calling cell) help find the notebook.

    Raises:
        MlopsError: USAGE for a ``notebook`` that is not a notebook or script (nothing is
            changed); when the notebook does not exist or the store cannot be used. After
            such a failure nothing is recorded (no other store is used) until an ``init``
            succeeds.
    """
    session = _session.current()
    session.configure(
        tracking_uri=tracking_uri,
        experiment=experiment,
        notebook=None if notebook is None else str(notebook),
    )
    try:
        # "notebook not found" is said by the run cell that records without one: init
        # prints that the run cell looks again.
        return _resolve(session, namespace, cell_source, final=False)
    except BaseException as exc:
        session.fail(exc)
        raise


def session_target(
    *,
    namespace: Mapping[str, Any] | None = None,
    cell_source: str | None = None,
) -> Target:
    """Resolve (once) and return where the session's runs go; also points plain ``mlflow``
    calls there and creates the experiment.

    Raises:
        MlopsError: as :meth:`~jupyter_mlops.core.capture.session.Session.target`.
    """
    return _resolve(_session.current(), namespace, cell_source, final=True)


def session_notebook(
    explicit: str | None = None,
    *,
    namespace: Mapping[str, Any] | None = None,
    cell_source: str | None = None,
) -> Path:
    """The saved notebook (``.ipynb``) the session works in: ``explicit``, else the one the
    session found earlier, else the one discovered now.

    Raises:
        MlopsError: USAGE when it does not exist or cannot be told.
    """
    found = _session.current().found
    explicit = explicit or (str(found.path) if found is not None and found.path else None)
    try:
        location = discover_notebook(
            explicit=explicit, namespace=namespace, cell_source=cell_source
        )
    except FileNotFoundError as exc:
        raise MlopsError(str(exc), ErrorCode.USAGE) from exc
    if location.path is None or location.path.suffix != ".ipynb":
        raise MlopsError(
            "cannot tell which notebook this is; save it and pass --notebook PATH",
            ErrorCode.USAGE,
        )
    return location.path


def warn(message: str) -> None:
    """Print one warning line to stderr (shown in red by Jupyter)."""
    print(f"jupyter-mlops: warning: {message}", file=sys.stderr)


def _notice_once(session: Session, message: str) -> None:
    if message not in session.announced:
        session.announced.add(message)
        print(f"jupyter-mlops: {message}", file=sys.stderr)


def _resolve(
    session: Session,
    namespace: Mapping[str, Any] | None,
    cell_source: str | None,
    *,
    final: bool,
) -> Target:
    """``final`` False for ``init``: a target that a run cell may still replace (the notebook
    not found yet) then gets no experiment created and no "notebook not found" notice."""
    cached = session.resolved
    resolved = session.target(namespace=namespace, cell_source=cell_source)
    if resolved is cached and not (final and resolved is not session.settled):
        return resolved
    if final or not resolved.provisional:
        experiment_id: str | None = resolved.experiment_id  # created if missing
        session.settled = resolved
    else:
        experiment_id = resolved.existing_experiment_id()
    point_fluent_api(resolved.settings.tracking_uri, experiment_id)
    pending = resolve_pending_runs(resolved.client, resolved.settings.tracking_uri)
    if pending.failed:
        _notice_once(
            session,
            f"marked {len(pending.failed)} run(s) FAILED that an earlier session could not "
            "finish because the store failed (pending values written): "
            + ", ".join(pending.failed),
        )
    if pending.missing:
        _notice_once(
            session,
            f"removed {len(pending.missing)} pending record(s) of runs that are not in "
            f"{resolved.settings.display_uri} any more: " + ", ".join(pending.missing),
        )
    reaped = reap_orphaned_runs(resolved.client, experiment_id) if experiment_id else []
    if reaped:
        _notice_once(
            session,
            f"marked {len(reaped)} run(s) KILLED whose kernel died while they were RUNNING: "
            + ", ".join(reaped),
        )
    if resolved.notebook.path is None and final:
        _notice_once(
            session,
            "notebook not found (not started by Jupyter Server, VS Code or papermill); "
            "runs are recorded without notebook lineage. Name it with "
            "`%mlops init --notebook PATH` or jupyter_mlops.init(notebook=...).",
        )
    return resolved
