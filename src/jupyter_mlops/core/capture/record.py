"""Starting the recording of notebook code as one MLflow run, and its whole life cycle.

:func:`record_cell` is the one use case of the adapters that record code (``%%mlops run`` and
``jupyter_mlops.run()``): it resolves the session's target and records. :func:`start_capture`
creates the run with its lineage tags; :func:`recording` wraps the execution of a cell (or
``with`` block): the run is MLflow's active run while it executes, so plain ``mlflow.log_*``
calls and autologging land on it, and it is always ended afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

import mlflow

from jupyter_mlops.core.capture.autolog import sklearn_autolog
from jupyter_mlops.core.capture.hidden_state import CellExecution, assess_notebook
from jupyter_mlops.core.capture.identity import current_user
from jupyter_mlops.core.capture.job_context import current_job
from jupyter_mlops.core.capture.provenance import CellCode, lineage_tags, start_git_probe
from jupyter_mlops.core.capture.run_capture import RunCapture, RunResult, Warn
from jupyter_mlops.core.capture.session import Target
from jupyter_mlops.core.capture.target import session_target
from jupyter_mlops.core.capture.target import warn as console_warn
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.redaction import MASK, is_secret_name, looks_like_secret
from jupyter_mlops.core.store.deadline import StoreDeadline, StoreUnavailable
from jupyter_mlops.core.store.orphans import owner_tags
from jupyter_mlops.core.tags import TAG_PREFIX

__all__ = [
    "CellCode",
    "RunCapture",
    "RunResult",
    "record_cell",
    "recording",
    "start_capture",
    "validate_tags",
]

_RESERVED_TAG_PREFIXES = (
    TAG_PREFIX,
    "mlflow.source.",
    "mlflow.parentRunId",
    "mlflow.runName",
    "mlflow.user",
)


def validate_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Check user tags; return them with secret-looking values masked.

    Raises:
        MlopsError: (USAGE) for an empty key or one in a namespace jupyter-mlops owns.
    """
    checked: dict[str, str] = {}
    for key, value in tags.items():
        if not key or key != key.strip():
            raise MlopsError(
                f"tag key {key!r} must be non-empty without surrounding spaces", ErrorCode.USAGE
            )
        if key.startswith(_RESERVED_TAG_PREFIXES):
            raise MlopsError(
                f"tag key {key!r} is reserved for lineage; choose another key", ErrorCode.USAGE
            )
        checked[key] = MASK if is_secret_name(key) or looks_like_secret(value) else value
    return checked


def start_capture(
    target: Target,
    code: CellCode,
    *,
    name: str | None = None,
    tags: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
    system_tags: Mapping[str, str] | None = None,
    warn: Warn | None = None,
) -> RunCapture:
    """Create the run in ``target`` with its lineage, user and owner tags (not yet active).

    ``system_tags`` are jupyter-mlops' own tags from the adapters (e.g. the hidden-state
    guard), not checked as user tags are. Inside ``jupyter-mlops run`` the run is tagged with
    the job and becomes a child of the job's run.

    Raises:
        MlopsError: USAGE for reserved tag keys; TRACKING_UNAVAILABLE when the run cannot be
            created. Nothing is written in either case.
    """
    user_tags = validate_tags(tags or {})
    git = start_git_probe(target, code)
    lineage = lineage_tags(target, code)
    all_tags = {**user_tags, **lineage, **(system_tags or {})}
    all_tags["mlflow.user"] = current_user()
    all_tags.update(owner_tags())
    job = current_job()
    if job is not None:
        all_tags.update(job.tags())
        parent_run_id = parent_run_id or job.parent_run_id()
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    run_name = name or _default_name(target, code)
    deadline = StoreDeadline(
        target.settings.display_uri, target.settings.store_timeout, target.settings.tracking_uri
    )
    try:
        run = deadline.call(
            partial(
                target.client.create_run, target.experiment_id, tags=all_tags, run_name=run_name
            )
        )
    except StoreUnavailable as exc:
        cause = f"did not answer within {exc.seconds:g} s" if exc.timed_out else exc.cause
        raise MlopsError(
            f"cannot create a run in {target.settings.display_uri}: {cause}",
            ErrorCode.TRACKING_UNAVAILABLE,
        ) from exc
    return RunCapture(target, run, code, git, warn or (lambda _message: None))


@contextmanager
def record_cell(
    code: CellCode,
    *,
    namespace: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    cell_source: str | None = None,
    history: Sequence[CellExecution] | None = None,
    params: Sequence[str] = (),
    metrics: Sequence[str] = (),
    injected: Mapping[str, Any] | None = None,
    name: str | None = None,
    tags: Mapping[str, str] | None = None,
    autolog: bool = True,
    warn: Warn = console_warn,
) -> Iterator[RunCapture]:
    """Record the ``with`` body as one run of the session's target: ``%%mlops run`` and
    ``jupyter_mlops.run()`` both come here.

    The target is resolved once per session (see :mod:`~jupyter_mlops.core.capture.target`)
    from ``namespace`` (read now and again when the body has finished, see
    :func:`recording`) and ``cell_source`` (the notebook cell's source, which can locate the
    notebook). With the ``history`` of the cells run in this kernel, the run is tagged with
    the hidden-state guard's finding against the saved notebook, and a warning is shown when
    it found hidden state. ``capture.target`` is the target used.

    Raises:
        MlopsError: when the target cannot be resolved or the run cannot be created (then
            the body is not executed).
    """
    variables = namespace() if callable(namespace) else namespace
    target = session_target(namespace=variables, cell_source=cell_source)
    hidden = None if history is None else assess_notebook(history, target.notebook.path)
    with recording(
        target,
        code,
        namespace=namespace,
        params=params,
        metrics=metrics,
        injected=injected,
        name=name,
        tags=tags,
        autolog=autolog,
        system_tags=None if hidden is None else hidden.tags(),
        warn=warn,
    ) as capture:
        if hidden is not None and (warning := hidden.warning()) is not None:
            warn(warning)
        yield capture


@contextmanager
def recording(
    target: Target,
    code: CellCode,
    *,
    namespace: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    params: Sequence[str] = (),
    metrics: Sequence[str] = (),
    injected: Mapping[str, Any] | None = None,
    name: str | None = None,
    tags: Mapping[str, str] | None = None,
    autolog: bool = True,
    parent_run_id: str | None = None,
    system_tags: Mapping[str, str] | None = None,
    warn: Warn | None = None,
) -> Iterator[RunCapture]:
    """Record the ``with`` body as one run; the shared path of ``%%mlops run`` and ``run()``.

    The run is active while the body executes (with scikit-learn autologging unless
    ``autolog`` is False). Afterwards ``params``, ``metrics`` and referenced data are taken
    from ``namespace`` and the run is ended. An exception from the body is recorded and then
    re-raised unchanged. ``capture.result`` holds the :class:`RunResult` afterwards.
    ``namespace`` may be a callable, read once when the body has finished. Without an
    explicit ``parent_run_id`` a run the user left active becomes the parent.

    Raises:
        MlopsError: when the run cannot be created (then the body is not executed).
    """
    if parent_run_id is None and (active := mlflow.active_run()) is not None:
        parent_run_id = active.info.run_id
    capture = start_capture(
        target,
        code,
        name=name,
        tags=tags,
        parent_run_id=parent_run_id,
        system_tags=system_tags,
        warn=warn,
    )
    error: BaseException | None = None
    try:
        capture.activate()
        with sklearn_autolog(autolog):
            yield capture
    except BaseException as exc:
        error = exc
        if f"Run with UUID {capture.run_id} is already active" in str(exc):
            capture.warning(
                "this cell's run is already MLflow's active run: plain mlflow.log_* calls land "
                "on it; open a run of your own as its child with "
                "mlflow.start_run(nested=True)"
            )
        raise
    finally:
        try:
            variables = namespace() if callable(namespace) else namespace or {}
            capture.collect(
                variables, params=params, metrics=metrics, injected=injected, strict=error is None
            )
        except Exception as exc:  # a value we could not read must not cost the run
            capture.warning(f"could not read the cell's variables: {exc}")
        capture.result = capture.finish(error)


def _default_name(target: Target, code: CellCode) -> str:
    """``<notebook>-cell<n>``; ``<script>`` for a script; ``cell<n>`` when nothing is known."""
    origin = code.script or target.notebook.path
    count = f"cell{code.execution_count}" if code.execution_count is not None else ""
    if origin is None:
        return count or "run"
    return f"{origin.stem}-{count}" if count else origin.stem
