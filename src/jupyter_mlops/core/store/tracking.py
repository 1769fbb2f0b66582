"""Connecting to the MLflow tracking store and finding (or creating) the experiment.

All MLflow access in jupyter-mlops goes through an explicit :class:`mlflow.MlflowClient` bound
to a tracking URI; nothing here depends on MLflow's global fluent state.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.config import sqlite_database
from jupyter_mlops.core.errors import ErrorCode, MlopsError
from jupyter_mlops.core.paths import safe_file_name
from jupyter_mlops.core.redaction import mask_uri
from jupyter_mlops.core.store.causes import quiet_store_log, store_cause
from jupyter_mlops.core.store.check import FIX_HINT, check_store
from jupyter_mlops.core.store.creation import create_once

__all__ = ["connect", "ensure_experiment", "sqlite_database", "ui_command"]


def ui_command(uri: str, project_root: Path, *, program: str = "mlflow") -> str:
    """The ``mlflow ui`` command line that shows the runs of ``uri``.

    A database inside the project root is named relative to it (run the command there).
    ``program`` is how to type ``mlflow`` (see
    :func:`~jupyter_mlops.core.console_scripts.runnable`).
    """
    database = sqlite_database(uri)
    if database is not None:
        try:
            return f"{program} ui --backend-store-uri sqlite:///{database.relative_to(project_root).as_posix()}"
        except ValueError:
            return f"{program} ui --backend-store-uri sqlite:///{database}"
    if urlsplit(uri).scheme in ("http", "https"):
        return f"open {mask_uri(uri)} in a browser"
    return f"{program} ui --backend-store-uri '{mask_uri(uri)}'"


@contextmanager
def _quiet_store_creation() -> Iterator[None]:
    """Keep MLflow's and alembic's INFO lines about creating or migrating a store ("Creating
    initial MLflow database tables...", "Context impl SQLiteImpl.") out of the user's output:
    the first cell of a new project would show them. Warnings and errors still show."""
    loggers = [logging.getLogger(name) for name in _STORE_CREATION_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


_STORE_CREATION_LOGGERS = ("mlflow.store.db.utils", "alembic")


@_quiet_store_creation()  # the first query creates (or migrates) a SQL store
def connect(uri: str) -> MlflowClient:
    """Return a client for ``uri`` after checking that the store answers.

    Raises:
        MlopsError: CONFIG when the URI is malformed, names a folder that does not exist or
            needs a database driver that is not installed; TRACKING_UNAVAILABLE when the
            store cannot be reached or refuses the request. The message names the (masked)
            URI and says how to fix it.
    """
    shown = mask_uri(uri)
    check_store(uri)
    quiet_store_log()
    create_once(uri)  # a missing database store: one process at a time creates it
    try:
        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)
    except MlflowException as exc:
        raise MlopsError(
            f"tracking URI {shown} cannot be used: {store_cause(exc)}; {FIX_HINT}",
            ErrorCode.CONFIG,
        ) from exc
    except Exception as exc:  # store drivers raise their own types (sqlalchemy, requests, ...)
        raise MlopsError(
            f"tracking store {shown} did not answer: {store_cause(exc)}; {FIX_HINT}",
            ErrorCode.TRACKING_UNAVAILABLE,
        ) from exc
    return client


def ensure_experiment(client: MlflowClient, name: str, tracking_uri: str) -> str:
    """Return the id of experiment ``name``, creating it when missing.

    With a SQLite store, new experiments keep their artifacts in ``mlruns/`` beside the
    database instead of below whatever folder the kernel happened to start in.

    Raises:
        MlopsError: CONFLICT when an experiment of that name exists but is deleted.
    """
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return str(
                client.create_experiment(name, artifact_location=_artifact_root(tracking_uri, name))
            )
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                unavailable = exc.error_code == "TEMPORARILY_UNAVAILABLE"  # database failure
                raise MlopsError(
                    f"cannot create experiment {name!r} in {mask_uri(tracking_uri)}: "
                    f"{store_cause(exc)}",
                    ErrorCode.TRACKING_UNAVAILABLE if unavailable else ErrorCode.USAGE,
                ) from exc
            experiment = client.get_experiment_by_name(name)  # created concurrently
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        raise MlopsError(
            f"experiment {name!r} is deleted in {mask_uri(tracking_uri)}; restore it in MLflow "
            "or choose another name with `%mlops init --experiment NAME`",
            ErrorCode.CONFLICT,
        )
    return str(experiment.experiment_id)


def _artifact_root(tracking_uri: str, name: str) -> str | None:
    database = sqlite_database(tracking_uri)
    if database is None:
        return None
    slug = safe_file_name(name, "experiment")
    folder = database.parent / "mlruns" / f"{slug}-{uuid.uuid4().hex[:8]}"
    return folder.as_uri()
