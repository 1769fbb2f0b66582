"""The notebook-friendly API: a thin stateful facade over the explicit core.

>>> import jupyter_mlops
>>> jupyter_mlops.init(tracking_uri="sqlite:///mlflow.db")          # doctest: +SKIP
>>> with jupyter_mlops.run("baseline", params={"C": 1.0}) as run:   # doctest: +SKIP
...     model.fit(X, y)
...     run.log_metrics({"auc": 0.91})
...     run.log_data("X", X, context="training")

Implicit state (explicit choices, the connected store) lives in one resettable place,
:mod:`jupyter_mlops.core.capture.session`.
"""

from __future__ import annotations

import inspect
import linecache
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow

from jupyter_mlops.core.capture import session as _session
from jupyter_mlops.core.capture.notebook import discover_notebook, script_file
from jupyter_mlops.core.capture.record import CellCode, RunCapture, recording
from jupyter_mlops.core.capture.session import Target
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.jobs.contract import JobInit, init_job
from jupyter_mlops.core.registry.inventory import Inventory, build_inventory
from jupyter_mlops.core.registry.lineage.graph import LineageGraph, build_lineage
from jupyter_mlops.core.registry.refs import parse_model_ref
from jupyter_mlops.core.registry.register import (
    Registration,
    RegistrationRequest,
    TrainingData,
    register_from,
)
from jupyter_mlops.core.store.active_run import point_fluent_api
from jupyter_mlops.core.store.orphans import reap_orphaned_runs
from jupyter_mlops.core.store.pending_records import resolve_pending_runs
from jupyter_mlops.core.views.run_list import RunList, notebook_runs

__all__ = ["init", "inventory", "job", "lineage", "register", "reset", "run", "runs", "target"]

_announced: set[str] = set()
_settled: Target | None = None  # the target whose experiment exists and MLflow points at


def init(
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    notebook: str | Path | None = None,
    namespace: Mapping[str, Any] | None = None,
    cell_source: str | None = None,
) -> Target:
    """Choose where runs go (each argument overrides the environment and pyproject.toml).

    ``namespace`` (the user's variables) and ``cell_source`` (the calling cell) help find the
    notebook when nothing else names it.

    Returns:
        The resolved :class:`~jupyter_mlops.core.capture.session.Target` (store, experiment,
        notebook).

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
        # "notebook not found" is said by the run cell that records without one: this init
        # prints that the run cell looks again.
        return _resolve(namespace, cell_source, final=False)
    except BaseException as exc:
        session.fail(exc)
        raise


def target(
    *,
    namespace: Mapping[str, Any] | None = None,
    cell_source: str | None = None,
) -> Target:
    """Resolve (once) and return where runs go; also points plain ``mlflow`` calls there."""
    return _resolve(namespace, cell_source, final=True)


def _resolve(
    namespace: Mapping[str, Any] | None, cell_source: str | None, *, final: bool
) -> Target:
    """``final`` False for ``init``: a target that a run cell may still replace (the notebook
    not found yet) then gets no experiment created and no "notebook not found" notice."""
    global _settled
    session = _session.current()
    cached = session.resolved
    resolved = session.target(namespace=namespace, cell_source=cell_source)
    if resolved is not cached or (final and resolved is not _settled):
        if final or not resolved.provisional:
            experiment_id: str | None = resolved.experiment_id  # created if missing
            _settled = resolved
        else:
            experiment_id = resolved.existing_experiment_id()
        point_fluent_api(resolved.settings.tracking_uri, experiment_id)
        pending = resolve_pending_runs(resolved.client, resolved.settings.tracking_uri)
        if pending.failed:
            _notice_once(
                f"marked {len(pending.failed)} run(s) FAILED that an earlier session could not "
                "finish because the store failed (pending values written): "
                + ", ".join(pending.failed)
            )
        if pending.missing:
            _notice_once(
                f"removed {len(pending.missing)} pending record(s) of runs that are not in "
                f"{resolved.settings.display_uri} any more: " + ", ".join(pending.missing)
            )
        reaped = reap_orphaned_runs(resolved.client, experiment_id) if experiment_id else []
        if reaped:
            _notice_once(
                f"marked {len(reaped)} run(s) KILLED whose kernel died while they were RUNNING: "
                + ", ".join(reaped)
            )
        if resolved.notebook.path is None and final:
            _notice_once(
                "notebook not found (not started by Jupyter Server, VS Code or papermill); "
                "runs are recorded without notebook lineage. Name it with "
                "`%mlops init --notebook PATH` or jupyter_mlops.init(notebook=...)."
            )
    return resolved


def reset() -> None:
    """Forget explicit choices and the cached connection (e.g. between tests)."""
    global _settled
    _session.reset()
    _announced.clear()
    _settled = None


@contextmanager
def run(
    name: str | None = None,
    *,
    params: Mapping[str, Any] | Sequence[str] | None = None,
    metrics: Mapping[str, Any] | Sequence[str] | None = None,
    data: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    autolog: bool = True,
) -> Iterator[RunCapture]:
    """Record the ``with`` body as one MLflow run, like ``%%mlops run`` does for a cell.

    ``params`` and ``metrics`` are either values (a mapping) or names of variables read from
    the caller's namespace when the block ends. ``data`` maps names to DataFrames/Series to
    record as dataset inputs. The yielded object offers ``log_params``, ``log_metrics`` and
    ``log_data``; ``.result`` tells how the run ended.

    Raises:
        MlopsError: when the store cannot be used (the body does not run).
    """
    caller = inspect.currentframe()
    frame = caller.f_back.f_back if caller and caller.f_back else None  # skip contextmanager
    resolved = target(namespace=_variables(frame))
    param_names, param_values = _split(params)
    metric_names, metric_values = _split(metrics)
    with recording(
        resolved,
        _caller_code(frame),
        namespace=lambda: _variables(frame),
        params=param_names,
        metrics=metric_names,
        name=name,
        tags=tags,
        autolog=autolog,
        warn=warn,
    ) as capture:
        capture.log_params(param_values)
        capture.log_metrics(metric_values)
        for key, value in (data or {}).items():
            capture.log_data(key, value)
        yield capture


def runs(limit: int = 20) -> RunList:
    """Return this notebook's newest runs as a table (HTML in JupyterLab, text elsewhere)."""
    return notebook_runs(target(), limit)


def register(
    model: Any,
    *,
    name: str,
    alias: str | None = None,
    owner: str | None = None,
    purpose: str | None = None,
    risk_tier: int | str | None = None,
    data: Any = None,
    reason: str | None = None,
    run_id: str | None = None,
) -> Registration:
    """Register a fitted scikit-learn model as a new version of ``name``, with its lineage.

    The model is logged into the run that produced it: ``run_id``; else the latest run of
    this notebook or script that assigned or fitted the variable holding ``model`` (the same
    object, when recorded in this process); else a new run, with a warning. Whatever MLflow
    run is active is never taken as the source (and one jupyter-mlops is still recording is
    refused: register after its block). ``data`` (a DataFrame) is the
    training data for the signature, input example and reference profile; by default the
    run's recorded training inputs are used. ``alias`` moves that alias (ledger entry written).

    Raises:
        MlopsError: USAGE for an unsupported or unfitted model, a bad name, alias or risk tier
            (nothing is written); TRACKING_UNAVAILABLE when the store fails.
    """
    caller = inspect.currentframe()
    frame = caller.f_back if caller else None
    namespace = _variables(frame)
    resolved = target(namespace=namespace)
    variable = _name_of(model, namespace)
    training = None
    if data is not None:
        training = TrainingData(_name_of(data, namespace) or "data", data)
    return register_from(
        resolved,
        model,
        RegistrationRequest(name, alias, owner, purpose, risk_tier, reason),
        variable=variable,
        code=_caller_code(frame),
        namespace=namespace,
        run_id=run_id,
        data=training,
        warn=warn,
        active_run_id=active_run_id(),  # refused if still being recorded, never the source
    )


def active_run_id() -> str | None:
    """The id of MLflow's active run in this process, if any."""
    active = mlflow.active_run()
    return None if active is None else str(active.info.run_id)


def lineage(ref: str) -> LineageGraph:
    """The lineage graph of ``MODEL``, ``MODEL@ALIAS`` or ``MODEL/VERSION`` (SVG in JupyterLab)."""
    return build_lineage(target().client, parse_model_ref(ref))


def inventory() -> Inventory:
    """Every registered model with its inventory fields (``.to_html()`` for reviewers)."""
    resolved = target()
    return build_inventory(resolved.client, resolved.settings.display_uri)


def job(
    *,
    name: str | None = None,
    params: Sequence[str] = (),
    model: str | None = None,
    experiment: str | None = None,
    notebook: str | None = None,
    namespace: Mapping[str, Any] | None = None,
    cell_source: str | None = None,
) -> JobInit:
    """Make this notebook a job (``%mlops job``): see ``jupyter-mlops job init``.

    ``params`` are ``NAME[:TYPE]=DEFAULT`` declarations. The notebook file is rewritten on
    disk: reload it in JupyterLab before saving again.

    Raises:
        MlopsError: USAGE when the notebook cannot be found or a declaration is invalid.
    """
    found = _session.current()._found
    explicit = notebook or (str(found.path) if found is not None and found.path else None)
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
    return init_job(
        location.path, name=name, declarations=params, model=model, experiment=experiment
    )


def warn(message: str) -> None:
    """Print one warning line to stderr (shown in red by Jupyter)."""
    print(f"jupyter-mlops: warning: {message}", file=sys.stderr)


def _notice_once(message: str) -> None:
    if message not in _announced:
        _announced.add(message)
        print(f"jupyter-mlops: {message}", file=sys.stderr)


def _split(values: Mapping[str, Any] | Sequence[str] | None) -> tuple[list[str], dict[str, Any]]:
    if values is None:
        return [], {}
    if isinstance(values, Mapping):
        return [], dict(values)
    if isinstance(values, str):
        return [v.strip() for v in values.split(",") if v.strip()], {}
    return list(values), {}


def _name_of(value: Any, namespace: Mapping[str, Any]) -> str | None:
    """The first public variable in ``namespace`` bound to ``value`` itself."""
    return next(
        (k for k, v in namespace.items() if v is value and not k.startswith("_")),
        None,
    )


def _variables(frame: Any) -> dict[str, Any]:
    return {} if frame is None else {**frame.f_globals, **frame.f_locals}


def _caller_code(frame: Any) -> CellCode:
    """The source of the file or notebook cell that called :func:`run`."""
    if frame is None:
        return CellCode(source="")
    filename = frame.f_code.co_filename
    source = "".join(linecache.getlines(filename, frame.f_globals))
    return CellCode(source=source, python=source, script=script_file(filename))
