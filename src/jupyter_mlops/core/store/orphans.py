"""Runs whose kernel died while they were RUNNING, found and ended by the next session.

A run cannot end itself when its process is killed (kernel restart, ``os._exit``, OOM). Every
captured run records its owner (``mlops.host``, ``mlops.pid``, ``mlops.process.started``);
when a session connects, RUNNING runs of its experiment owned by a process of this host that
no longer exists are marked KILLED, with the reason in ``mlops.error.*``. Runs owned by other
hosts are left alone: we cannot tell whether their process is alive.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timezone
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import ViewType

from jupyter_mlops.core.store.active_run import terminate
from jupyter_mlops.core.store.processes import process_exists
from jupyter_mlops.core.store.queries import quoted
from jupyter_mlops.core.tags import (
    ERROR_MESSAGE_TAG,
    ERROR_TYPE_TAG,
    HOST_TAG,
    PID_TAG,
    PROCESS_STARTED_TAG,
)

__all__ = ["owner_tags", "reap_orphaned_runs"]

_LIMIT = 200


def owner_tags() -> dict[str, str]:
    """Tags naming the process that records a run."""
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
    started = _process_start(os.getpid())
    if started is not None:
        tags[PROCESS_STARTED_TAG] = started
    return tags


def reap_orphaned_runs(client: MlflowClient, experiment_id: str) -> list[str]:
    """Mark RUNNING runs of dead processes on this host KILLED; return their run ids."""
    host = socket.gethostname()
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = {quoted(host)}",
        run_view_type=ViewType.ACTIVE_ONLY,
        max_results=_LIMIT,
    )
    reaped = []
    for run in runs:
        tags = run.data.tags
        pid = tags.get(PID_TAG, "")
        if not pid.isdigit() or _alive(int(pid), tags.get(PROCESS_STARTED_TAG)):
            continue
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        client.set_tag(run.info.run_id, ERROR_TYPE_TAG, "KernelDied")
        client.set_tag(
            run.info.run_id,
            ERROR_MESSAGE_TAG,
            f"process {pid} on {host} ended while the run was RUNNING; "
            f"marked KILLED by jupyter-mlops at {when}",
        )
        terminate(client, run.info.run_id, "KILLED")
        reaped.append(run.info.run_id)
    return reaped


def _alive(pid: int, started: str | None) -> bool:
    if not process_exists(pid):
        return False
    # The pid may have been reused by a new process since: compare start times where known.
    return started is None or _process_start(pid) in (None, started)


def _process_start(pid: int) -> str | None:
    """The process start time in clock ticks since boot (Linux), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None
