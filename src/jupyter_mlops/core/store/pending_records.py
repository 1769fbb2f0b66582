"""Runs whose end could not be written because the store failed, kept on local disk.

When the store fails or does not answer while a run is being ended, the run would stay
RUNNING. Instead a JSON record is left in ``$XDG_CACHE_HOME/jupyter-mlops/pending/`` (default
``~/.cache/jupyter-mlops/pending/``), one file per run: the run id, the store (password
masked), the status the run should have had, the cause, and the params, metrics and tags that
were not written. The next session on the same store (its first connection, where runs of
dead kernels are ended too) writes what is pending, marks the run FAILED with the cause in
``mlops.error.*`` and removes the record.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from jupyter_mlops.core.config import sqlite_database
from jupyter_mlops.core.redaction import mask_uri
from jupyter_mlops.core.store.active_run import terminate
from jupyter_mlops.core.store.deadline import StoreUnavailable
from jupyter_mlops.core.tags import ERROR_MESSAGE_TAG, ERROR_TYPE_TAG

__all__ = [
    "PendingRun",
    "ResolvedRuns",
    "pending_folder",
    "record_unfinished",
    "resolve_pending_runs",
    "save_pending",
    "store_key",
]

_ERROR_TYPE = "StoreUnavailable"
_BATCH = 100  # params/tags per log_batch call (MLflow's limit)


@dataclass(frozen=True)
class PendingRun:
    """What could not be written for one run (``status``: how the code itself ended)."""

    run_id: str
    experiment_id: str
    store: str  # store_key(): the tracking URI with secrets masked, SQLite paths absolute
    status: str
    cause: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    recorded_at: str = ""
    host: str = ""
    pid: int = 0


@dataclass(frozen=True)
class ResolvedRuns:
    """What a session did with the pending records of its store."""

    failed: tuple[str, ...] = ()  # were RUNNING: pending values written, marked FAILED
    already_ended: tuple[str, ...] = ()  # someone ended them meanwhile: record dropped
    missing: tuple[str, ...] = ()  # not in this store (it was replaced): record dropped


def store_key(tracking_uri: str) -> str:
    """How records name a store: SQLite by its absolute file, others by the masked URI."""
    database = sqlite_database(tracking_uri)
    return f"sqlite:///{database}" if database is not None else mask_uri(tracking_uri)


def pending_folder(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/jupyter-mlops/pending`` (default ``~/.cache/...``)."""
    environment = os.environ if env is None else env
    cache = environment.get("XDG_CACHE_HOME", "").strip()
    base = Path(cache) if cache else Path.home() / ".cache"
    return base / "jupyter-mlops" / "pending"


def save_pending(
    *,
    run_id: str,
    experiment_id: str,
    tracking_uri: str,
    status: str,
    cause: str,
    params: Mapping[str, str] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Path:
    """Write the record of ``run_id`` (replacing an older one) and return its path.

    Values are stored as given: params and tags are already masked by the capture.

    Raises:
        OSError: when the folder cannot be written.
    """
    record = PendingRun(
        run_id=run_id,
        experiment_id=experiment_id,
        store=store_key(tracking_uri),
        status=status,
        cause=cause,
        params=dict(params or {}),
        metrics=dict(metrics or {}),
        tags=dict(tags or {}),
        recorded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        host=socket.gethostname(),
        pid=os.getpid(),
    )
    folder = pending_folder()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{run_id}.json"
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{run_id}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(asdict(record), out, indent=1, sort_keys=True)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_pending(tracking_uri: str) -> list[tuple[Path, PendingRun]]:
    """The readable records of this store, oldest first (unreadable files are skipped)."""
    key = store_key(tracking_uri)
    found = []
    folder = pending_folder()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            record = PendingRun(**data)
        except (OSError, ValueError, TypeError):
            continue
        if record.store == key:
            found.append((path, record))
    return sorted(found, key=lambda item: item[1].recorded_at)


def resolve_pending_runs(client: MlflowClient, tracking_uri: str) -> ResolvedRuns:
    """Finish the pending records of this store: see the module docstring.

    A record whose run cannot be read or ended now (the store still fails) is kept for the
    next session; one whose run is not in this store any more is removed.
    """
    failed: list[str] = []
    ended: list[str] = []
    missing: list[str] = []
    for path, record in load_pending(tracking_uri):
        try:
            run = client.get_run(record.run_id)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                missing.append(record.run_id)
                path.unlink(missing_ok=True)
            continue
        except Exception:  # the store fails again: keep the record
            continue
        if run.info.status != "RUNNING":
            ended.append(record.run_id)
            path.unlink(missing_ok=True)
            continue
        try:
            _write_pending(client, record)
            terminate(client, record.run_id, "FAILED")
        except Exception:
            continue
        failed.append(record.run_id)
        path.unlink(missing_ok=True)
    return ResolvedRuns(tuple(failed), tuple(ended), tuple(missing))


def _write_pending(client: MlflowClient, record: PendingRun) -> None:
    """The values that were not written, then the reason the run is FAILED."""
    tags = dict(record.tags)
    if ERROR_TYPE_TAG not in tags:  # the code itself did not fail: the store did
        tags[ERROR_TYPE_TAG] = _ERROR_TYPE
        tags[ERROR_MESSAGE_TAG] = (
            f"the store failed while the run was ended ({record.cause}) at "
            f"{record.recorded_at}; the code had ended {record.status}. Marked FAILED by the "
            "next jupyter-mlops session; files of the run (code/, notebook) may be missing"
        )
    now = int(datetime.now(timezone.utc).timestamp() * 1000)
    metrics = [Metric(key, value, now, 0) for key, value in record.metrics.items()]
    params = [Param(key, value) for key, value in record.params.items()]
    items = [RunTag(key, value) for key, value in tags.items()]
    for start in range(0, max(len(metrics), len(params), len(items)), _BATCH):
        chunk = (metrics[start : start + _BATCH], items[start : start + _BATCH])
        try:
            client.log_batch(record.run_id, chunk[0], params[start : start + _BATCH], chunk[1])
        except MlflowException:  # e.g. a param written before the failure with another value
            client.log_batch(record.run_id, metrics=chunk[0], tags=chunk[1])


def record_unfinished(
    failure: StoreUnavailable,
    *,
    run_id: str,
    experiment_id: str,
    tracking_uri: str,
    status: str,
    params: Mapping[str, str] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
    kept: Sequence[str] = (),
) -> str:
    """Save the record of a run that could not be ended; return the one line telling the user.

    Never raises: when even the record cannot be written, the line says so.
    """
    where = f"{failure}: run {run_id} could not be finished"
    result = f"its result is kept in {', '.join(kept)}" if kept else "the cell's variables are kept"
    try:
        path = save_pending(
            run_id=run_id,
            experiment_id=experiment_id,
            tracking_uri=tracking_uri,
            status=status,
            cause=failure.cause or str(failure),
            params=params,
            metrics=metrics,
            tags=tags,
        )
    except OSError as exc:
        return (
            f"{where}; {result}; it stays RUNNING: the pending record could not be saved "
            f"({exc.strerror or exc})"
        )
    return f"{where}; {result}; the next session will mark it FAILED (pending record: {path})"
