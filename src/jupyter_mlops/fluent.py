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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jupyter_mlops.core.capture import session as _session
from jupyter_mlops.core.capture.notebook import script_file
from jupyter_mlops.core.capture.record import CellCode, RunCapture, record_cell
from jupyter_mlops.core.capture.session import Target
from jupyter_mlops.core.capture.target import (
    init_target,
    session_notebook,
    session_target,
    warn,
)
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
from jupyter_mlops.core.store.active_run import active_run_id
from jupyter_mlops.core.views.run_list import RunList, notebook_runs

__all__ = ["init", "inventory", "job", "lineage", "register", "reset", "run", "runs", "target"]


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
    return init_target(
        tracking_uri=tracking_uri,
        experiment=experiment,
        notebook=notebook,
        namespace=namespace,
        cell_source=cell_source,
    )


def target(
    *,
    namespace: Mapping[str, Any] | None = None,
    cell_source: str | None = None,
) -> Target:
    """Resolve (once) and return where runs go; also points plain ``mlflow`` calls there."""
    return session_target(namespace=namespace, cell_source=cell_source)


def reset() -> None:
    """Forget explicit choices and the cached connection (e.g. between tests)."""
    _session.reset()


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
    param_names, param_values = _split(params)
    metric_names, metric_values = _split(metrics)
    with record_cell(
        _caller_code(frame),
        namespace=lambda: _variables(frame),
        params=param_names,
        metrics=metric_names,
        name=name,
        tags=tags,
        autolog=autolog,
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
    path = session_notebook(notebook, namespace=namespace, cell_source=cell_source)
    return init_job(path, name=name, declarations=params, model=model, experiment=experiment)


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
